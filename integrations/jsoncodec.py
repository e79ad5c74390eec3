"""JSON encode/decode on the hot path: orjson when installed, else the stdlib.

Splunk's bundled Python may lack orjson (a compiled wheel); the stdlib fallback
keeps the package importable there with identical output semantics (compact
separators, UTF-8, no ASCII escaping).
"""

from __future__ import annotations

import json
from typing import Any

try:  # pragma: no cover - exercised by whichever interpreter runs the tests
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None

HAVE_ORJSON = _orjson is not None

if _orjson is not None:
    _dumps = _orjson.dumps
    _OPT_SORT = _orjson.OPT_SORT_KEYS

    def loads(data: bytes | str) -> Any:
        """Decode JSON text (bytes or str)."""
        return _orjson.loads(data)

    def dumps(obj: Any, sort_keys: bool = False) -> bytes:
        """Encode to compact UTF-8 JSON bytes."""
        return _dumps(obj, option=_OPT_SORT) if sort_keys else _dumps(obj)

else:  # pragma: no cover

    def loads(data: bytes | str) -> Any:
        """Decode JSON text (bytes or str)."""
        return json.loads(data)

    def dumps(obj: Any, sort_keys: bool = False) -> bytes:
        """Encode to compact UTF-8 JSON bytes."""
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys).encode("utf-8")


def dumps_str(obj: Any, sort_keys: bool = False) -> str:
    """Encode to a compact JSON ``str``."""
    return dumps(obj, sort_keys=sort_keys).decode("utf-8")
