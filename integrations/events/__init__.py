"""Raw input -> canonical KubeArmor events.

Public API (others build on these names):

* :func:`iter_parse` - any supported form from a binary stream (JSON object,
  JSON array, NDJSON, concatenated pretty-printed objects, ``karmor`` text),
  auto-detected, read incrementally; yields :class:`ParsedEvent` /
  :class:`Rejected` in input order with ``location = f"{name}:{line}"``;
* :func:`iter_parse_path` - the same for a file path (``ParseError`` when the file
  cannot be opened);
* :func:`parse_object` - already-decoded JSON (API rows, whole pages, envelopes);
* :func:`normalize` - one event dict -> canonical event (raises ``ParseError``);
* :func:`event_time` - event time in epoch seconds, or ``None``;
* :func:`is_alert` - Alert stream (policy matches, ``SystemEvent``) or Log stream.

Module map: :mod:`.normalize` (keys, types, time), :mod:`.envelopes` (API pages,
Elasticsearch hits, sidekick, OTLP), :mod:`.json_stream` (streaming readers and
form detection), :mod:`.karmor_text` (text rendering). The canonical event itself
is documented in :mod:`integrations.model`.
"""

from ..errors import ParseError
from ..model import ParsedEvent, ParseResult, Rejected
from .envelopes import parse_object
from .json_stream import iter_parse, iter_parse_path
from .normalize import event_time, is_alert, normalize

__all__ = [
    "iter_parse",
    "iter_parse_path",
    "parse_object",
    "normalize",
    "event_time",
    "is_alert",
    "ParsedEvent",
    "Rejected",
    "ParseResult",
    "ParseError",
]
