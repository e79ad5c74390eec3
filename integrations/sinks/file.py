"""``file:DIR`` – NDJSON files, one ``Delivery.body`` per line, fsynced per batch.

Consumes batches of :class:`~integrations.model.Delivery`; produces files

    DIR/accuknox-<stream>-<YYYY-MM-DD>-<seq>.ndjson

``stream`` is ``alert`` or ``log``, the date is the UTC date at write time (not
the event time), ``seq`` a six-digit counter per stream and date starting at
``000001``. A file is closed and the next ``seq`` started when the next lines
would take it past ``max_bytes`` (default 100 MiB; a single line longer than
that gets a file of its own) or when the UTC date changes. Names sort by
stream, date and sequence, so ``ls`` shows the order of writing.

Confirmation: ``send`` writes the batch with ``os.write``, then ``fdatasync``;
when it returns the lines are on disk (new files also fsync the directory so
their names survive a crash).

Crash safety: a SIGKILL or power loss in the middle of a write can leave the
newest file ending in a partial line. Whenever the sink opens a file to append
(and, at start-up, for the newest file of every stream) it truncates anything
after the last newline, so the re-sent batch starts on a clean line. A failed
write is truncated back at once.

Idempotence: the sink does not de-duplicate. The poller's checkpoint remembers
the ids already delivered, so only a batch whose confirmation was not journaled
is written again. To keep even that batch from appearing twice, the sink offers
``position()`` (JSON-ready ``{stream: [file name, size]}`` of the newest file of
each stream) and ``rollback(position)`` (truncate that file back to that size and
delete the stream's files named after it); the poller journals the position
with each confirmed batch and rolls back before resending. Without that (another
caller, or a position that no longer matches the files) delivery is
at-least-once, and every body carries its event id (``event.id`` / ``id``) so
readers can de-duplicate. Use one checkpoint per output directory: a rollback
to another checkpoint's position would cut that checkpoint's output.

One writer per directory: the sink holds an exclusive ``flock`` on
``DIR/.accuknox-file-sink.lock`` (POSIX) and refuses to start when another
process holds it.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from integrations import jsoncodec
from integrations.errors import ConfigError, SinkError
from integrations.model import Delivery
from integrations.sinks.base import SendResult, Sink, tune_allocator

try:  # POSIX only; elsewhere the single-writer lock is skipped
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
LOCK_NAME = ".accuknox-file-sink.lock"
FILE_RE = re.compile(r"^accuknox-(?P<stream>[a-z0-9.]+)-(?P<date>\d{4}-\d{2}-\d{2})-(?P<seq>\d{6})\.ndjson$")
_STREAM_RE = re.compile(r"^[a-z0-9.]+$")
_SCAN_BLOCK = 64 * 1024

#: errno values worth retrying later (disk full may be cleaned up, I/O may recover).
RETRYABLE_ERRNOS = frozenset(
    e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EIO, errno.EINTR, errno.EAGAIN) if e
)

_sync = getattr(os, "fdatasync", os.fsync)


def file_name(stream: str, date: str, seq: int) -> str:
    """``accuknox-<stream>-<YYYY-MM-DD>-<seq:06d>.ndjson``."""
    return f"accuknox-{stream}-{date}-{seq:06d}.ndjson"


def truncate_partial_line(fd: int, size: int) -> int:
    """Cut anything after the last ``\\n`` of the open file ``fd``; return the new size."""
    if size <= 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    end = size
    while end > 0:
        start = max(0, end - _SCAN_BLOCK)
        block = os.pread(fd, end - start, start)
        nl = block.rfind(b"\n")
        if nl >= 0:
            keep = start + nl + 1
            break
        end = start
    else:
        keep = 0
    os.ftruncate(fd, keep)
    _sync(fd)
    return keep


class _OpenFile:
    __slots__ = ("fd", "path", "date", "seq", "size")

    def __init__(self, fd: int, path: Path, date: str, seq: int, size: int) -> None:
        self.fd = fd
        self.path = path
        self.date = date
        self.seq = seq
        self.size = size


class FileSink(Sink):
    """NDJSON files in a directory; see the module docstring."""

    name = "file"

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        tune_allocator()
        if not str(directory):
            raise ConfigError("file sink: a directory is required (file:DIR)")
        if int(max_bytes) <= 0:
            raise ConfigError(f"file sink: max_bytes must be positive, got {max_bytes!r}")
        self.directory = Path(directory)
        self.max_bytes = int(max_bytes)
        self._clock = clock
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"file sink: cannot create directory {self.directory}: {e.strerror}") from e
        self._closed = False
        self._lock_fd: Optional[int] = None
        self._lock()
        self._files: Dict[str, _OpenFile] = {}
        #: newest existing (date, seq) per stream, from the start-up scan
        self._latest: Dict[str, Tuple[str, int]] = {}
        self._recover()

    # -- start-up -------------------------------------------------------------

    def _lock(self) -> None:
        if fcntl is None:  # pragma: no cover
            return
        path = self.directory / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            raise ConfigError(
                f"file sink: {self.directory} is in use by another writer (lock {path} is held)"
            ) from e
        self._lock_fd = fd

    def _recover(self) -> None:
        """Find the newest file of each stream and cut a trailing partial line."""
        for entry in os.scandir(self.directory):
            m = FILE_RE.match(entry.name)
            if not m:
                continue
            key = (m["date"], int(m["seq"]))
            if key > self._latest.get(m["stream"], ("", 0)):
                self._latest[m["stream"]] = key
        for stream, (date, seq) in self._latest.items():
            path = self.directory / file_name(stream, date, seq)
            fd = os.open(path, os.O_RDWR)
            try:
                self._repair(fd, path)
            finally:
                os.close(fd)

    @staticmethod
    def _repair(fd: int, path: Path) -> int:
        size = os.fstat(fd).st_size
        kept = truncate_partial_line(fd, size)
        if kept != size:
            log.warning("file sink: cut a partial last line (%d bytes) from %s", size - kept, path)
        return kept

    # -- writing --------------------------------------------------------------

    def _today(self) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(self._clock()))

    def _open(self, stream: str, date: str, seq: int) -> _OpenFile:
        path = self.directory / file_name(stream, date, seq)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
        size = self._repair(fd, path)
        if (date, seq) > self._latest.get(stream, ("", 0)):
            self._latest[stream] = (date, seq)
        if size == 0:
            # make the new name durable, not only its content
            dfd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            except OSError:  # pragma: no cover - some filesystems refuse directory fsync
                pass
            finally:
                os.close(dfd)
        return _OpenFile(fd, path, date, seq, size)

    def _file_for(self, stream: str, nbytes: int) -> _OpenFile:
        """The file the next ``nbytes`` of ``stream`` go to, rotating as needed."""
        today = self._today()
        f = self._files.get(stream)
        if f is not None and f.date == today and (f.size == 0 or f.size + nbytes <= self.max_bytes):
            return f
        seq = 1
        if f is not None:
            seq = f.seq + 1 if f.date == today else 1
            os.close(f.fd)
            del self._files[stream]
        latest_date, latest_seq = self._latest.get(stream, ("", 0))
        if latest_date == today:
            seq = max(seq, latest_seq)
        while True:
            f = self._open(stream, today, seq)
            if f.size == 0 or f.size + nbytes <= self.max_bytes:
                break
            os.close(f.fd)
            seq += 1
        self._files[stream] = f
        return f

    def _write(self, stream: str, f: _OpenFile, data: bytes) -> None:
        before = f.size
        try:
            view = memoryview(data)
            while view:
                n = os.write(f.fd, view)
                view = view[n:]
            _sync(f.fd)
        except OSError as e:
            try:  # do not leave a partial batch behind
                os.ftruncate(f.fd, before)
            except OSError:  # pragma: no cover
                pass
            os.close(f.fd)
            del self._files[stream]
            raise SinkError(
                f"file sink: writing {f.path} failed: {e.strerror or e}",
                retryable=e.errno in RETRYABLE_ERRNOS,
            ) from e
        f.size = before + len(data)

    def _write_stream(self, stream: str, lines: List[bytes]) -> None:
        total = sum(map(len, lines))
        f = self._file_for(stream, len(lines[0]))  # fill the current file before rotating
        if f.size + total <= self.max_bytes or len(lines) == 1:
            self._write(stream, f, b"".join(lines))
            return
        # split at line boundaries so that no file passes max_bytes
        chunk: List[bytes] = []
        size = 0
        for line in lines:
            if chunk and f.size + size + len(line) > self.max_bytes:
                self._write(stream, f, b"".join(chunk))
                chunk, size = [], 0
                f = self._file_for(stream, len(line))
            chunk.append(line)
            size += len(line)
        if chunk:
            self._write(stream, f, b"".join(chunk))

    # -- position / rollback (used by the poller for exactly-once files) -----------

    def position(self) -> Dict[str, List[Any]]:
        """Where each stream's output ends now: ``{stream: [file name, size]}``."""
        pos: Dict[str, List[Any]] = {}
        for stream, (date, seq) in self._latest.items():
            f = self._files.get(stream)
            if f is not None and (f.date, f.seq) == (date, seq):
                pos[stream] = [f.path.name, f.size]
                continue
            name = file_name(stream, date, seq)
            try:
                size = os.stat(self.directory / name).st_size
            except FileNotFoundError:
                size = 0
            pos[stream] = [name, size]
        return pos

    def rollback(self, position: Any) -> None:
        """Cut everything written after ``position`` (from :meth:`position`).

        Per stream: the position's file is truncated to the recorded size and
        the stream's files named after it are deleted; a stream missing from
        the position loses all its files. A file already shorter than recorded
        (consumed or rotated away by someone else) is left alone.
        """
        if not isinstance(position, dict) or not all(isinstance(v, list) for v in position.values()):
            # e.g. another sink's position ({"channel": ...} of HEC) in a reused state file
            log.warning("file sink: ignoring a rollback position of unknown form")
            return
        for f in self._files.values():
            os.close(f.fd)
        self._files.clear()
        by_stream: Dict[str, List[Tuple[Tuple[str, int], str]]] = {}
        for entry in os.scandir(self.directory):
            m = FILE_RE.match(entry.name)
            if m:
                by_stream.setdefault(m["stream"], []).append(((m["date"], int(m["seq"])), entry.name))
        cut = 0
        for stream, files in by_stream.items():
            keep = position.get(stream)
            keep_key: Tuple[str, int] = ("", 0)
            m = FILE_RE.match(str(keep[0])) if isinstance(keep, list) and len(keep) == 2 else None
            if m is not None and m["stream"] == stream and isinstance(keep[1], int):
                keep_key = (m["date"], int(m["seq"]))
                path = self.directory / m.string
                try:
                    size = path.stat().st_size
                    if size > keep[1]:
                        with open(path, "r+b") as fh:
                            fh.truncate(keep[1])
                            os.fsync(fh.fileno())
                        cut += size - keep[1]
                except FileNotFoundError:
                    pass
            for key, name in files:
                if key > keep_key:
                    path = self.directory / name
                    cut += path.stat().st_size
                    path.unlink()
            remaining = [key for key, _name in files if key <= keep_key]
            if remaining:
                self._latest[stream] = max(remaining)
            else:
                self._latest.pop(stream, None)
        if cut:
            log.warning("file sink: rolled back %d unconfirmed bytes in %s", cut, self.directory)

    def send(self, batch: Sequence[Delivery]) -> SendResult:
        if self._closed:
            raise SinkError("file sink: send() after close()", retryable=False)
        dumps_line = jsoncodec.dumps_line  # the newline is written by the encoder: no copy per line
        groups: Dict[str, List[bytes]] = {}
        for d in batch:
            lines = groups.get(d.stream)
            if lines is None:
                if not _STREAM_RE.match(d.stream or ""):
                    raise SinkError(f"file sink: stream name {d.stream!r} is not usable in a file name")
                lines = groups[d.stream] = []
            lines.append(dumps_line(d.body))
        for stream, lines in groups.items():
            self._write_stream(stream, lines)
        return SendResult(delivered=len(batch))

    def close(self) -> None:
        self._closed = True
        for f in self._files.values():
            try:
                os.close(f.fd)
            except OSError:  # pragma: no cover
                pass
        self._files.clear()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def __repr__(self) -> str:
        return f"FileSink({str(self.directory)!r}, max_bytes={self.max_bytes})"
