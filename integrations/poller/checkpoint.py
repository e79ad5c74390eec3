"""Poller state: the high-water mark, the ids seen near it, the sink position.

Consumes/produces a JSON state file plus an append-only journal beside it.

* ``<state>`` — written atomically (temporary file, fsync, rename, fsync of the
  directory) when a window is complete: ``high_water`` (epoch seconds: every
  event up to it has been delivered), ``seen`` (id -> event time, only ids
  that a re-read of the overlap could return again), ``sink_position`` and
  ``start`` (where the very first run began, so a first run that is
  interrupted resumes from the same point instead of sliding its look-back
  forward). Temporary files left by a crash before the rename are never read
  and are removed by the next successful save.
* ``<state>.journal`` — one JSON line appended and fsynced after each batch the
  sink confirmed inside the current window: the ids delivered and the sink
  position after them. A torn last line (crash mid-append) is ignored: its
  batch counts as not delivered, and sinks that can (the file sink) roll back
  to the last recorded position before it is sent again. The next append first
  cuts that torn tail off, so later lines are never hidden behind it (and a
  line that cannot be decoded is skipped, never taken as the end of the journal).

  Sinks that confirm asynchronously (HEC with indexer acknowledgement) add two
  kinds of lines inside a batch (see ``Poller`` and ``sinks/base.py``):
  ``{"w", "pend": {id: time}, "tok": ...}`` – these ids were handed to the
  destination, ``tok`` (the sink's, e.g. ``{"channel", "ack"}``) lets the sink
  ask later whether they arrived – and ``{"w", "ids", "pos", "part": 1}`` –
  part of the batch confirmed early. ``load`` returns the in-flight entries in
  ``State.pending``: those journaled after the last batch line (a batch line
  without ``part`` closes every earlier entry) whose ids are not all confirmed.

  A row of the source that was dead-lettered (it cannot be parsed or mapped)
  is journaled at once, right after its dead-letter record was written, as
  ``{"w", "ids", "part": 1}`` (no ``pos``: the sink did not move): its id
  counts as seen even when the window is not completed afterwards, so a
  re-read of that window does not dead-letter the row again.

No secret is ever written here: the state holds ids, times and positions only.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from integrations.errors import CheckpointError

STATE_VERSION = 1


class State:
    """In-memory poller state; see the module docstring for the files."""

    __slots__ = ("high_water", "seen", "sink_position", "window", "start", "pending")

    def __init__(self) -> None:
        self.high_water: Optional[int] = None
        self.seen: Dict[str, int] = {}
        self.sink_position: Any = None
        self.window: Optional[Tuple[int, int]] = None
        #: start of the first run's first window (used only while high_water is None)
        self.start: Optional[int] = None
        #: journal only (never in the state file): batches handed to the sink and not yet
        #: confirmed, ``{"w": (start, end), "ids": {id: time}, "tok": <sink token>}``
        self.pending: List[Dict[str, Any]] = []

    def to_json(self) -> Dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "high_water": self.high_water,
            "seen": self.seen,
            "sink_position": self.sink_position,
            "start": self.start,
        }


class CheckpointStore:
    """Loads and saves :class:`State` at ``path`` (and its journal)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self._journal: Any = None

    # ------------------------------------------------------------------ load
    def load(self) -> State:
        """The saved state with the journal replayed; an empty state on first run."""
        state = State()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raw = None
        except OSError as exc:
            raise CheckpointError(
                f"cannot read the state file {self.path}: {exc.strerror or exc}; fix its permissions or "
                "point --state at a readable file"
            ) from None
        if raw is not None:
            try:
                data = json.loads(raw)
                if not isinstance(data, dict):
                    raise ValueError(f"expected a JSON object, got {type(data).__name__}")
                if data.get("version") != STATE_VERSION:
                    raise ValueError(f"unsupported state version {data.get('version')!r}")
                hw = data.get("high_water")
                state.high_water = int(hw) if hw is not None else None
                state.seen = {str(k): int(v) for k, v in (data.get("seen") or {}).items()}
                state.sink_position = data.get("sink_position")
                start = data.get("start")
                state.start = int(start) if start is not None else None
            except (ValueError, TypeError, AttributeError) as exc:
                raise CheckpointError(
                    f"the state file {self.path} is unreadable ({exc}); move it away to start over "
                    "(the next run then re-reads the look-back period)"
                ) from None
        pending: List[Dict[str, Any]] = []
        for entry in self._journal_entries():
            w = entry.get("w")
            window = (int(w[0]), int(w[1])) if isinstance(w, list) and len(w) == 2 else None
            pend = entry.get("pend")
            if isinstance(pend, dict):
                pending.append({"w": window, "ids": {str(k): int(v) for k, v in pend.items()},
                                "tok": entry.get("tok")})
                continue
            for k, v in (entry.get("ids") or {}).items():
                state.seen[str(k)] = int(v)
            if "pos" in entry:
                state.sink_position = entry["pos"]
            if not entry.get("part"):
                pending = []  # the batch is settled: nothing of it is in flight any more
            if window is not None:
                state.window = window
        seen = state.seen
        state.pending = [p for p in pending if not all(k in seen for k in p["ids"])]
        return state

    def _journal_entries(self) -> List[Dict[str, Any]]:
        try:
            data = self.journal_path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise CheckpointError(
                f"cannot read the journal {self.journal_path}: {exc.strerror or exc}; fix its permissions "
                "(moving it away makes the next run deliver its batches again)"
            ) from None
        out = []
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                # Torn line of a crashed append: that batch was not recorded. Skip
                # it (never stop here): a journal written before torn tails were
                # cut on open may hold confirmed batches after it.
                continue
            if isinstance(entry, dict):
                out.append(entry)
        return out

    # ------------------------------------------------------------------ save
    def record_batch(self, window: Tuple[int, int], ids: Dict[str, int], position: Any) -> None:
        """Append one confirmed batch to the journal and fsync it (``CheckpointError`` when that fails).

        Closes every in-flight entry journaled before it (:meth:`record_pending`).
        """
        self._append({"w": list(window), "ids": ids, "pos": position})

    def record_confirmed(self, window: Tuple[int, int], ids: Dict[str, int], position: Any) -> None:
        """Append ids confirmed ahead of the rest of their batch (in-flight entries stay open)."""
        self._append({"w": list(window), "ids": ids, "pos": position, "part": 1})

    def record_rejected(self, window: Tuple[int, int], ids: Dict[str, int]) -> None:
        """Append ids of rows already written to the dead-letter output (seen; sink position and
        in-flight entries unchanged)."""
        self._append({"w": list(window), "ids": ids, "part": 1})

    def record_pending(self, window: Tuple[int, int], ids: Dict[str, int], token: Any) -> None:
        """Append ids handed to the sink but not confirmed yet, with the sink's ``token`` to ask about them."""
        self._append({"w": list(window), "pend": ids, "tok": token})

    def _append(self, entry: Dict[str, Any]) -> None:
        line = json.dumps(entry, separators=(",", ":"))
        try:
            if self._journal is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._journal = open(self.journal_path, "a+b")  # noqa: SIM115 - kept open across batches
                _cut_torn_tail(self._journal)
            self._journal.write(line.encode("utf-8") + b"\n")
            self._journal.flush()
            os.fsync(self._journal.fileno())
        except OSError as exc:
            self.close()
            raise CheckpointError(
                f"cannot append to the journal {self.journal_path}: {exc.strerror or exc}; the last batch "
                "will be delivered again by the next run"
            ) from None

    def save(self, state: State) -> None:
        """Write the state atomically, then clear the journal (its content is now in the state)."""
        data = json.dumps(state.to_json(), separators=(",", ":"), sort_keys=True).encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=str(self.path.parent))
        except OSError as exc:
            raise CheckpointError(f"cannot write the state file {self.path}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise CheckpointError(f"cannot write the state file {self.path}: {exc.strerror or exc}") from None
        self._truncate_journal()
        self._remove_stale_temporaries()

    def _remove_stale_temporaries(self) -> None:
        """Delete temporary state files a crash left between write and rename."""
        pattern = re.compile(re.escape(self.path.name) + r"\.[A-Za-z0-9_]{8}\.tmp")
        try:
            names = [e.name for e in os.scandir(self.path.parent) if pattern.fullmatch(e.name)]
        except OSError:
            return
        for name in names:
            try:
                os.unlink(self.path.parent / name)
            except OSError:
                pass

    def _truncate_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        try:
            os.unlink(self.journal_path)
            _fsync_dir(self.path.parent)
        except FileNotFoundError:
            pass

    def close(self) -> None:
        """Close the journal handle."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def _cut_torn_tail(fh: Any) -> None:
    """Truncate ``fh`` (opened ``a+b``) after its last newline: drop the torn line of a crashed append."""
    fd = fh.fileno()
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    keep = 0
    end = size
    while end > 0:
        start = max(0, end - 65536)
        nl = os.pread(fd, end - start, start).rfind(b"\n")
        if nl >= 0:
            keep = start + nl + 1
            break
        end = start
    os.ftruncate(fd, keep)
    os.fsync(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
