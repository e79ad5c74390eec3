"""``es:URL`` – Elasticsearch data streams through the official client's bulk helper.

Consumes batches of :class:`~integrations.model.Delivery`; produces ``create``
bulk operations into ``logs-accuknox.<stream>-<namespace>`` (``ecs-mapping.md``
§8) with ``_id = Delivery.event_id``, sent with
``elasticsearch.helpers.streaming_bulk`` (``ecs-mapping.md`` §9):
``raise_on_error=False, raise_on_exception=False`` (otherwise a per-item 429
raises before any retry), ``max_retries=5``, ``initial_backoff=1``,
``max_backoff=60``, ``chunk_size=500``, ``max_chunk_bytes=10 MiB``, per-item
retries on 429/5xx (``retry.RETRY_STATUSES``).

Modes (option ``mode``):

* ``pipeline`` (default): ``_source = {"message": "<raw event JSON>"}``, the way
  Elastic's own integrations ship. The data stream's ``index.default_pipeline``
  (installed by the setup command) parses it, maps ECS and sets
  ``@timestamp``. No ``@timestamp`` is sent: the pipeline derives it from the
  event's own time; a document that arrives without it (setup not run, or the
  pipeline failed before setting it) is refused by the data stream with a 400,
  dead-lettered, and a warning points at the setup command.
* ``ecs``: ``_source = Delivery.body``, the ECS document mapped in Python. The
  request carries ``pipeline=_none`` so the default pipeline – which expects a
  raw ``message`` – does not run on an already-mapped document and damage it
  (a ``final_pipeline`` still runs; ours installs none). ECS mode needs the
  index template (mappings) but not the ingest pipelines.

Idempotence: ``_op_type: create`` with a deterministic ``_id``, so a re-sent
batch yields 409 for documents already indexed, counted as ``duplicates``.
(De-duplication holds within one backing index; a rollover between two sends
of the same event lets a duplicate through – see ``ecs-mapping.md`` §7.)

Item outcomes (shared table in ``retry.py``): 2xx delivered; 409 duplicate;
400/422 dead letter with Elasticsearch's ``type: reason``; 429/5xx still failing
after the helper's retries, or no connection → ``SinkError(retryable=True)``;
401/403/404, a TLS verification failure and a server that is not Elasticsearch →
``SinkError(retryable=False)``.

Credentials come from environment variables named in the options
(``api_key_env``, or ``user`` + ``password_env``) and are never logged (the
transport's debug log hides ``Authorization``). TLS: ``verify_certs`` (default
True), ``ca_certs``; URL policy: ``https://``, or ``http://`` to loopback only.

Compression: off by default (a shipper usually sits next to the cluster). The
client's own ``http_compress`` is never used – it gzips at level 9, which costs
about 9 ms per MB and caps throughput; ``compress=True`` gzips request bodies
at level 1 instead (``compression.py``), for slow or metered links.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from elastic_transport import NdjsonSerializer, TlsError, TransportError, Urllib3HttpNode
from elasticsearch import Elasticsearch, UnsupportedProductError
from elasticsearch.helpers import streaming_bulk

from integrations import jsoncodec
from integrations.errors import ConfigError, SinkError
from integrations.model import Delivery
from integrations.poller.urlpolicy import check_url
from integrations.sinks.base import STREAMS, SendResult, Sink, tune_allocator
from integrations.sinks.compression import gzip_compress
from integrations.sinks.retry import RETRY_STATUSES, Disposition, classify

try:
    from elasticsearch.serializer import OrjsonSerializer as _OrjsonSerializer
except ImportError:  # pragma: no cover - orjson missing
    _OrjsonSerializer = None

log = logging.getLogger(__name__)

MODES = ("pipeline", "ecs")

#: Only what the item classification reads: a bulk response without ``_version``,
#: ``_shards``, ``result`` ... is several times smaller to send and to parse.
BULK_FILTER_PATH = "errors,items.*._id,items.*.status,items.*.error"
_OK = frozenset((200, 201))
_NAMESPACE_RE = re.compile(r"^[a-z0-9_.]{1,100}$")
_REASON_LIMIT = 1000


def data_stream_name(stream: str, namespace: str = "default") -> str:
    """``logs-accuknox.<stream>-<namespace>``."""
    return f"logs-accuknox.{stream}-{namespace}"


class Gzip1Urllib3Node(Urllib3HttpNode):
    """Urllib3 node that gzips request bodies at level 1 (not the transport's level 9)."""

    def perform_request(self, method: str, target: str, body: Optional[bytes] = None, headers: Any = None, **kw: Any):
        if body:
            body = gzip_compress(body)
            headers = dict(headers or {})
            headers["content-encoding"] = "gzip"
        return super().perform_request(method, target, body=body, headers=headers, **kw)


class JoinNdjsonSerializer(NdjsonSerializer):
    """NDJSON body as one ``bytes.join``.

    The bulk helper hands over a list of already-serialised lines (compact
    JSON: no newline inside or at the end); the stock serializer appends them
    one by one in a Python loop, a visible share of the CPU per document.
    Anything else falls back to the stock behaviour.
    """

    def dumps(self, data: Any) -> bytes:
        if isinstance(data, list):
            try:
                return b"\n".join(data) + b"\n"
            except TypeError:
                pass
        return super().dumps(data)


if _OrjsonSerializer is not None:

    class KeptOrjsonSerializer(_OrjsonSerializer):  # type: ignore[misc,valid-type]
        """The client's orjson serializer, with exact-size results.

        The bulk helper keeps every serialised action header of a chunk until
        it sends it; orjson's result sits in its growth buffer (a 124-byte
        header in a 4.5 KB block), which for 1000 actions is 4.5 MB held
        instead of 0.1 MB.
        """

        def json_dumps(self, data: Any) -> bytes:
            return jsoncodec.owned(super().json_dumps(data))

    _FastSerializer: Any = KeptOrjsonSerializer
else:  # pragma: no cover
    _FastSerializer = None


def item_reason(status: Any, error: Any) -> str:
    """``"<status> <type>: <reason> (caused by <type>: <reason>)"`` from a bulk item error."""
    if isinstance(error, dict):
        text = f"{status} {error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            text += f" (caused by {cause.get('type', '?')}: {cause.get('reason', '')})"
    else:
        text = f"{status} {error}"
    return text if len(text) <= _REASON_LIMIT else text[:_REASON_LIMIT] + "..."


class ElasticsearchSink(Sink):
    """Bulk ``create`` into Elasticsearch data streams; see the module docstring."""

    name = "elasticsearch"

    def __init__(
        self,
        url: str,
        *,
        mode: str = "pipeline",
        namespace: str = "default",
        api_key_env: Optional[str] = None,
        user: Optional[str] = None,
        password_env: str = "ELASTICSEARCH_PASSWORD",  # noqa: S107 - a variable name, not a secret
        ca_certs: Optional[str] = None,
        verify_certs: bool = True,
        compress: bool = False,
        chunk_size: int = 500,
        max_chunk_bytes: int = 10 * 1024 * 1024,
        max_retries: int = 5,
        initial_backoff: float = 1.0,
        max_backoff: float = 60.0,
        request_timeout: float = 30.0,
        environ: Optional[Mapping[str, str]] = None,
        client: Optional[Elasticsearch] = None,
    ) -> None:
        tune_allocator()
        if mode not in MODES:
            raise ConfigError(f"es sink: mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not _NAMESPACE_RE.match(namespace or ""):
            raise ConfigError(
                f"es sink: namespace {namespace!r} must be lower case letters, digits, '_' or '.' (no '-')"
            )
        self.url = check_url(url, setting="es url")
        self.mode = mode
        self.namespace = namespace
        self._indices = {s: data_stream_name(s, namespace) for s in STREAMS}
        self.chunk_size = int(chunk_size)
        self.max_chunk_bytes = int(max_chunk_bytes)
        self.max_retries = int(max_retries)
        self.initial_backoff = float(initial_backoff)
        self.max_backoff = float(max_backoff)
        self._credential = "no credentials"
        self._bulk_params: Dict[str, Any] = {"filter_path": BULK_FILTER_PATH}
        if mode == "ecs":
            self._bulk_params["pipeline"] = "_none"
        self._expand = self._expand_ecs if mode == "ecs" else self._expand_pipeline
        self.needs_body = mode == "ecs"  # pipeline mode ships Delivery.raw only
        if client is None:
            client = self._make_client(
                environ if environ is not None else os.environ,
                api_key_env, user, password_env, ca_certs, verify_certs, compress, request_timeout,
            )
        self._client: Optional[Elasticsearch] = client

    def _make_client(
        self,
        env: Mapping[str, str],
        api_key_env: Optional[str],
        user: Optional[str],
        password_env: str,
        ca_certs: Optional[str],
        verify_certs: bool,
        compress: bool,
        request_timeout: float,
    ) -> Elasticsearch:
        kw: Dict[str, Any] = {"request_timeout": request_timeout, "http_compress": False}
        if api_key_env:
            key = (env.get(api_key_env) or "").strip()
            if not key:
                raise ConfigError(f"es sink: environment variable {api_key_env} with the API key is not set")
            kw["api_key"] = key
            self._credential = f"the API key from environment variable {api_key_env}"
        elif user:
            password = env.get(password_env) or ""
            if not password:
                raise ConfigError(f"es sink: environment variable {password_env} with the password is not set")
            kw["basic_auth"] = (user, password)
            self._credential = f"user {user!r} with the password from environment variable {password_env}"
        if self.url.startswith("https://"):
            kw["verify_certs"] = bool(verify_certs)
            if ca_certs:
                kw["ca_certs"] = ca_certs
            if not verify_certs:
                kw["ssl_show_warn"] = False
                log.warning("es sink: TLS certificate verification is OFF for %s", self.url)
        serializers: Dict[str, Any] = {"application/x-ndjson": JoinNdjsonSerializer()}
        if _FastSerializer is not None:
            serializers["application/json"] = _FastSerializer()
        kw["serializers"] = serializers
        if compress:
            kw["node_class"] = Gzip1Urllib3Node
        return Elasticsearch(self.url, **kw)

    # -- shaping --------------------------------------------------------------

    def _index(self, d: Delivery) -> str:
        index = self._indices.get(d.stream)
        if index is None:
            raise SinkError(f"es sink: unknown stream {d.stream!r} (known: {', '.join(STREAMS)})")
        return index

    def _expand_pipeline(self, d: Delivery) -> Tuple[Dict[str, Any], bytes]:
        raw = d.raw
        if isinstance(raw, bytes):
            message = raw.decode("utf-8", "replace")
        elif isinstance(raw, str):
            message = raw
        elif raw is None:
            raise SinkError(f"es sink: pipeline mode needs the raw event, {d!r} has none")
        else:
            message = jsoncodec.dumps_str(raw)
        return {"create": {"_index": self._index(d), "_id": d.event_id}}, jsoncodec.dumps_kept({"message": message})

    def _expand_ecs(self, d: Delivery) -> Tuple[Dict[str, Any], bytes]:
        return {"create": {"_index": self._index(d), "_id": d.event_id}}, jsoncodec.dumps_kept(d.body)

    def action(self, d: Delivery) -> Dict[str, Any]:
        """The bulk action for ``d`` in the helper's dict form (for tests and docs)."""
        header, body = self._expand(d)
        meta = header["create"]
        return {"_op_type": "create", "_index": meta["_index"], "_id": meta["_id"], "_source": jsoncodec.loads(body)}

    # -- sending --------------------------------------------------------------

    def send(self, batch: Sequence[Delivery]) -> SendResult:
        result = SendResult()
        if not batch:
            return result
        if self._client is None:
            raise SinkError("es sink: send() after close()", retryable=False)
        by_id: Optional[Dict[str, List[Delivery]]] = None  # built on the first failure only
        retry_left: List[str] = []
        fatal: List[Tuple[Disposition, str]] = []
        seen = 0
        try:
            for _ok, item in streaming_bulk(
                self._client,
                batch,
                expand_action_callback=self._expand,
                chunk_size=self.chunk_size,
                max_chunk_bytes=self.max_chunk_bytes,
                raise_on_error=False,
                raise_on_exception=False,
                max_retries=self.max_retries,
                initial_backoff=self.initial_backoff,
                max_backoff=self.max_backoff,
                retry_on_status=RETRY_STATUSES,
                **self._bulk_params,
            ):
                seen += 1
                (info,) = item.values()
                status = info.get("status")
                exc = info.get("exception")  # set when the whole request failed
                if exc is None and status in _OK:  # the hot path
                    result.delivered += 1
                    continue
                if isinstance(exc, UnsupportedProductError):
                    fatal.append((Disposition.FATAL, "the server at this URL is not Elasticsearch"))
                    continue
                disp = classify(status)
                if disp is Disposition.OK:
                    result.delivered += 1
                elif disp is Disposition.CONFLICT:
                    result.duplicates += 1
                elif disp is Disposition.INVALID:
                    if by_id is None:
                        by_id = {}
                        for d in batch:
                            by_id.setdefault(d.event_id, []).append(d)
                    same = by_id.get(info.get("_id"))
                    if same:
                        result.dead_letters.append((same.pop(0), item_reason(status, info.get("error"))))
                    else:  # cannot tell which event: let the whole batch go again
                        retry_left.append(item_reason(status, info.get("error")))
                elif disp is Disposition.RETRY:
                    retry_left.append(item_reason(status, info.get("error")))
                else:
                    fatal.append((disp, item_reason(status, info.get("error"))))
        except SinkError:
            raise
        except TlsError as e:  # a certificate problem does not go away by retrying
            raise SinkError(f"es sink: TLS handshake with {self.url} failed: {e}", retryable=False) from e
        except TransportError as e:
            raise SinkError(f"es sink: cannot reach {self.url}: {type(e).__name__}: {e}", retryable=True) from e
        self._warn_missing_timestamp(result)
        if fatal:
            disp, reason = fatal[0]
            if disp is Disposition.AUTH:
                raise SinkError(f"es sink: Elasticsearch refused {self._credential}: {reason}", retryable=False)
            raise SinkError(f"es sink: {len(fatal)} document(s) refused by {self.url}: {reason}", retryable=False)
        if retry_left:
            raise SinkError(
                f"es sink: {len(retry_left)} of {len(batch)} document(s) not indexed after "
                f"{self.max_retries} retries ({retry_left[0]}); the batch will be resent",
                retryable=True,
            )
        if seen != len(batch):
            raise SinkError(
                f"es sink: {seen} bulk results for {len(batch)} documents; the batch will be resent", retryable=True
            )
        log.debug(
            "es sink: %d documents: %d created, %d already present, %d dead-lettered",
            len(batch), result.delivered, result.duplicates, len(result.dead_letters),
        )
        return result

    def _warn_missing_timestamp(self, result: SendResult) -> None:
        if result.dead_letters:
            log.warning("es sink: %d document(s) rejected by Elasticsearch and dead-lettered", len(result.dead_letters))
            if any("@timestamp" in reason for _d, reason in result.dead_letters):
                log.warning(
                    "es sink: documents reached the data stream without @timestamp: are the index "
                    "templates and ingest pipelines installed (run the Elasticsearch setup command)?"
                )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __repr__(self) -> str:
        return f"ElasticsearchSink({self.url!r}, mode={self.mode!r}, namespace={self.namespace!r})"
