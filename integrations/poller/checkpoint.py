"""Poller state: the high-water mark, the ids seen near it, the sink position.

Consumes/produces a JSON state file plus an append-only journal beside it.

* ``<state>`` — written atomically (temporary file, fsync, rename, fsync of the
  directory) when a window is complete: ``high_water`` (epoch seconds: every
  event up to it has been delivered), ``seen`` (id -> event time, only ids
  that a re-read of the overlap could return again) and ``sink_position``.
* ``<state>.journal`` — one JSON line appended and fsynced after each batch the
  sink confirmed inside the current window: the ids delivered and the sink
  position after them. A torn last line (crash mid-append) is ignored: its
  batch counts as not delivered, and sinks that can (the file sink) roll back
  to the last recorded position before it is sent again.

No secret is ever written here: the state holds ids, times and positions only.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from integrations.errors import CheckpointError

STATE_VERSION = 1


class State:
    """In-memory poller state; see the module docstring for the files."""

    __slots__ = ("high_water", "seen", "sink_position", "window")

    def __init__(self) -> None:
        self.high_water: Optional[int] = None
        self.seen: Dict[str, int] = {}
        self.sink_position: Any = None
        self.window: Optional[Tuple[int, int]] = None

    def to_json(self) -> Dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "high_water": self.high_water,
            "seen": self.seen,
            "sink_position": self.sink_position,
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
            raise CheckpointError(f"cannot read the state file {self.path}: {exc.strerror or exc}") from None
        if raw is not None:
            try:
                data = json.loads(raw)
                if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
                    raise ValueError(f"unsupported state version {data.get('version') if isinstance(data, dict) else '?'}")
                hw = data.get("high_water")
                state.high_water = int(hw) if hw is not None else None
                state.seen = {str(k): int(v) for k, v in (data.get("seen") or {}).items()}
                state.sink_position = data.get("sink_position")
            except (ValueError, TypeError, AttributeError) as exc:
                raise CheckpointError(
                    f"the state file {self.path} is unreadable ({exc}); move it away to start over "
                    "(the next run then re-reads the look-back period)"
                ) from None
        for entry in self._journal_entries():
            for k, v in (entry.get("ids") or {}).items():
                state.seen[str(k)] = int(v)
            if "pos" in entry:
                state.sink_position = entry["pos"]
            w = entry.get("w")
            if isinstance(w, list) and len(w) == 2:
                state.window = (int(w[0]), int(w[1]))
        return state

    def _journal_entries(self) -> List[Dict[str, Any]]:
        try:
            data = self.journal_path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise CheckpointError(f"cannot read the journal {self.journal_path}: {exc.strerror or exc}") from None
        out = []
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                break  # torn tail of a crashed append: that batch was not recorded
            if isinstance(entry, dict):
                out.append(entry)
        return out

    # ------------------------------------------------------------------ save
    def record_batch(self, window: Tuple[int, int], ids: Dict[str, int], position: Any) -> None:
        """Append one confirmed batch to the journal and fsync it."""
        if self._journal is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._journal = open(self.journal_path, "ab")  # noqa: SIM115 - kept open across batches
            self._journal.seek(0, os.SEEK_END)
            if self._journal.tell() > 0:
                # A torn tail would swallow the next line: start on a fresh line.
                self._journal.write(b"\n")
        line = json.dumps({"w": list(window), "ids": ids, "pos": position}, separators=(",", ":"))
        self._journal.write(line.encode("utf-8") + b"\n")
        self._journal.flush()
        os.fsync(self._journal.fileno())

    def save(self, state: State) -> None:
        """Write the state atomically, then clear the journal (its content is now in the state)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(state.to_json(), separators=(",", ":"), sort_keys=True).encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=str(self.path.parent))
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
