"""A strict reader for Splunk ``.conf`` files (test support).

Splunk's rules as far as our generated files use them: ``[stanza]`` headers,
``key = value`` lines (whitespace around ``=`` and at the ends is dropped),
comment lines starting with ``#`` (after optional whitespace), blank lines, and
a trailing backslash continuing the value on the next line (kept as a newline).
Keys before the first stanza belong to ``default``. Unlike Splunk, which lets a
later duplicate key win silently, this reader raises :class:`SplError` on a
duplicate key or stanza, because a generator that writes one has a bug.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from . import SplError

Stanzas = Dict[str, Dict[str, str]]


def parse_conf(text: str, where: str = "<conf>") -> Stanzas:
    """``{stanza: {key: value}}`` in file order."""
    out: Stanzas = {}
    current = "default"
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        i += 1
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise SplError(f"{where}:{lineno}: malformed stanza header {raw!r}")
            current = line[1:-1]
            if current in out:
                raise SplError(f"{where}:{lineno}: duplicate stanza [{current}]")
            out[current] = {}
            continue
        if "=" not in line:
            raise SplError(f"{where}:{lineno}: expected `key = value`, got {raw!r}")
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        while value.endswith("\\") and i < len(lines):
            value = value[:-1] + "\n" + lines[i].strip()
            i += 1
        stanza = out.setdefault(current, {})
        if key in stanza:
            raise SplError(f"{where}:{lineno}: duplicate key {key!r} in [{current}]")
        stanza[key] = value
    return out


def comments_before_keys(text: str) -> List[Tuple[str, str, List[str]]]:
    """``(stanza, key, [comment lines directly above it])`` for every key (to check traceability)."""
    out: List[Tuple[str, str, List[str]]] = []
    current = "default"
    pending: List[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            pending = []
            continue
        if line.startswith("#"):
            pending.append(line[1:].strip())
            continue
        if line.startswith("["):
            current = line[1:-1]
            pending = []
            continue
        key = line.partition("=")[0].strip()
        out.append((current, key, pending))
        pending = []
    return out
