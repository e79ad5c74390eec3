"""Exceptions of the simulator, rendered the way Elasticsearch renders its exceptions.

Elasticsearch turns a Java exception into ``{"type": ..., "reason": ..., <metadata>...,
"caused_by": {...}}`` where ``type`` is the snake-cased class name
(``IllegalArgumentException`` -> ``illegal_argument_exception``) and the ``es.*``
metadata keys appear without their prefix (``processor_type``, ``processor_tag``,
``property_name``). Wrapper exceptions (``IngestProcessorException``) are unwrapped
before rendering; their headers (``processor_type`` ...) drive the
``_ingest.on_failure_*`` metadata.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

#: HTTP status of the exception types the simulator raises (ExceptionsHelper.status)
_STATUS = {
    "illegal_argument_exception": 400,
    "parse_exception": 400,
    "x_content_parse_exception": 400,
    "json_parse_exception": 400,
    "resource_not_found_exception": 404,
    "index_not_found_exception": 404,
    "version_conflict_engine_exception": 409,
    "illegal_state_exception": 500,
    "graph_structure_exception": 500,
    "fail_processor_exception": 500,
    "script_exception": 400,
    "null_pointer_exception": 500,
    "class_cast_exception": 500,
}


class IngestError(Exception):
    """A Java exception: ``es_type`` is the rendered type, ``reason`` the message."""

    def __init__(
        self,
        es_type: str,
        reason: Optional[str],
        *,
        cause: Optional[BaseException] = None,
        metadata: Optional[Dict[str, str]] = None,
        status: Optional[int] = None,
    ) -> None:
        super().__init__(reason)
        self.es_type = es_type
        self.reason = reason
        self.cause = cause
        self.metadata: Dict[str, str] = dict(metadata or {})
        self._status = status

    @property
    def status(self) -> int:
        if self._status is not None:
            return self._status
        root = self.root_cause()
        if isinstance(root, IngestError) and root is not self and root._status is not None:
            return root._status
        return _STATUS.get(root.es_type if isinstance(root, IngestError) else "", 500)

    def root_cause(self) -> BaseException:
        """``ElasticsearchException#getRootCause``: the innermost cause."""
        cur: BaseException = self
        while isinstance(cur, IngestError) and cur.cause is not None:
            cur = cur.cause
        return cur

    def add_metadata(self, key: str, value: Optional[str]) -> None:
        if value is not None:
            self.metadata[key] = value

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self.es_type!r}, {self.reason!r})"


class ParseError(IngestError):
    """``ElasticsearchParseException`` (configuration errors, HTTP 400)."""

    def __init__(self, reason: str, **kw: Any) -> None:
        super().__init__("parse_exception", reason, **kw)


def config_error(
    processor_type: Optional[str],
    tag: Optional[str],
    property_name: Optional[str],
    reason: str,
) -> ParseError:
    """``ConfigurationUtils#newConfigurationException(type, tag, property, reason)``."""
    msg = reason if property_name is None else f"[{property_name}] {reason}"
    err = ParseError(msg)
    err.add_metadata("processor_type", processor_type)
    err.add_metadata("processor_tag", tag)
    err.add_metadata("property_name", property_name)
    return err


def illegal_argument(reason: str, cause: Optional[BaseException] = None) -> IngestError:
    return IngestError("illegal_argument_exception", reason, cause=cause)


def illegal_state(reason: str) -> IngestError:
    return IngestError("illegal_state_exception", reason)


class UnsupportedBySimulator(ParseError):
    """A construct Elasticsearch accepts but this simulator does not implement.

    Raised at pipeline load time so a pipeline never relies on something the
    simulator would evaluate wrongly.
    """


class IngestProcessorException(IngestError):
    """Wrapper added by a compound processor; carries processor type/tag headers."""

    def __init__(self, cause: BaseException) -> None:
        reason = cause.reason if isinstance(cause, IngestError) else str(cause)
        super().__init__("exception", reason, cause=cause)
        self.headers: Dict[str, List[str]] = {}


def unwrap(exc: BaseException) -> BaseException:
    """``ExceptionsHelper#unwrapCause`` for our wrapper type."""
    cur = exc
    while isinstance(cur, IngestProcessorException) and cur.cause is not None:
        cur = cur.cause
    return cur


def _render_one(exc: BaseException, with_cause: bool = True) -> Dict[str, Any]:
    exc = unwrap(exc)
    if isinstance(exc, IngestError):
        out: Dict[str, Any] = {"type": exc.es_type, "reason": exc.reason}
        out.update(exc.metadata)
        if with_cause and exc.cause is not None:
            out["caused_by"] = _render_one(exc.cause)
        return out
    return {"type": "exception", "reason": str(exc)}


def _root_causes(exc: BaseException) -> List[Dict[str, Any]]:
    """``ElasticsearchException#guessRootCauses`` for a single (unwrapped) exception."""
    exc = unwrap(exc)
    return [_render_one(exc, with_cause=False)]


def render_failure(exc: BaseException) -> Dict[str, Any]:
    """``ElasticsearchException#generateFailureXContent``: the value of the ``error`` key."""
    body: Dict[str, Any] = {"root_cause": _root_causes(exc)}
    body.update(_render_one(exc))
    return body


def error_response(exc: BaseException) -> Dict[str, Any]:
    status = exc.status if isinstance(exc, IngestError) else 500
    return {"error": render_failure(exc), "status": status}
