"""Fuzz entry points: each takes bytes and returns an outcome, or raises.

Outcome: ``("mapped", n)`` – ``n`` events parsed *and* mapped (ECS and CIM);
``("rejected", reason)`` – the input was refused the documented way (a
:class:`~integrations.model.Rejected` with a reason, or one of the typed errors
below), ``reason`` a short class of the message. Anything else raised is a
*crash*. The documented typed errors per entry point:

* parser (``iter_parse``), page decoder (``parse_object``), karmor text:
  ``Rejected`` results; ``ParseError`` only for I/O errors of the stream;
* mapper (``Mapper.to_ecs``/``to_cim``/``event_id``/``stream`` and the views):
  ``MappingError``;
* config (``load_toml``, ``resolve``, ``check_url``, ``proxies_for``,
  ``parse_duration``, ``parse_filter``): ``ConfigError``.

A result that breaks the output contract (a ``Rejected`` without a reason, an
event whose fields are not the canonical ones, a non-JSON-serialisable mapped
document) raises :class:`ContractError`, counted as a crash.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from integrations import jsoncodec
from integrations.config import parse_duration, parse_filter, proxies_for, resolve
from integrations.errors import ConfigError, MappingError, ParseError
from integrations.events import iter_parse, parse_object
from integrations.events.karmor_text import iter_text
from integrations.mapping import Mapper
from integrations.model import ParsedEvent, Rejected
from integrations.poller.urlpolicy import check_url, is_loopback_host

Outcome = Tuple[str, Any]
_WORDS = re.compile(r"[0-9]+|0x[0-9a-f]+|'[^']*'|\"[^\"]*\"")


class ContractError(AssertionError):
    """A result that breaks the documented output contract (counted as a crash)."""


def reason_class(text: str) -> str:
    """A short, stable class of a rejection message (numbers and quoted parts removed)."""
    head = str(text).split(":", 1)[0] if ":" in str(text)[:40] else str(text)
    return _WORDS.sub("#", head.strip())[:60] or "(empty)"


_MAPPERS: Dict[bool, Mapper] = {}


def mapper(compiled: bool = False) -> Mapper:
    """The interpreted mapper by default: the compiled one generates code per new key shape
    (about 0.1 s each), and mutated inputs have a new shape almost every time."""
    if compiled not in _MAPPERS:
        _MAPPERS[compiled] = Mapper(clock=lambda: ("2026-01-01T00:00:00.000000Z", 1767225600.0), compiled=compiled)
    return _MAPPERS[compiled]


def _check_rejected(r: Rejected) -> None:
    if not isinstance(r.reason, str) or not r.reason:
        raise ContractError(f"Rejected without a reason: {r!r}")


_COUNT = [0]


def _map(ev: ParsedEvent) -> None:
    """Map one parsed event both ways; the documents must be JSON-serialisable."""
    # canonical fields use their canonical names; any other key is kept as it came (model.py)
    if not isinstance(ev.fields, dict) or not all(isinstance(k, str) for k in ev.fields):
        raise ContractError(f"parsed event fields are not a dict with string keys: {type(ev.fields).__name__}")
    m = mapper()
    _COUNT[0] += 1
    jsoncodec.dumps(m.to_ecs(ev))
    if _COUNT[0] % 8 == 0:  # CIM on a share of the events (for speed)
        jsoncodec.dumps(m.to_cim(ev))
    m.event_id(ev.fields)
    m.stream(ev.fields)


def _consume(results: Any) -> Outcome:
    mapped = 0
    first_reject: Optional[str] = None
    for r in results:
        if isinstance(r, Rejected):
            _check_rejected(r)
            first_reject = first_reject or r.reason
        elif isinstance(r, ParsedEvent):
            if mapped < 2:  # the first events of an input are mapped; the rest only parsed (speed)
                try:
                    _map(r)
                except MappingError as exc:
                    first_reject = first_reject or f"mapping: {exc.reason}"
                    continue
            mapped += 1
        else:
            raise ContractError(f"unexpected result type {type(r).__name__}")
    if mapped:
        return ("mapped", mapped)
    return ("rejected", reason_class(first_reject or "no events in the input"))


# --------------------------------------------------------------------------- entry points

def fuzz_parser(data: bytes) -> Outcome:
    """``iter_parse`` over the bytes (form auto-detected), small chunks so chunk boundaries are exercised."""
    chunk = 64 + (len(data) % 4096) if len(data) < 1 << 16 else 1 << 20
    try:
        return _consume(iter_parse(io.BytesIO(data), "fuzz", chunk_size=chunk))
    except ParseError as exc:  # documented: only I/O errors of the stream
        raise ContractError(f"ParseError from an in-memory stream: {exc}") from exc


def fuzz_page(data: bytes) -> Outcome:
    """The API page decoder: decode the body like the client does, then ``parse_object`` it."""
    try:
        obj = jsoncodec.loads(data)
    except ValueError as exc:
        return ("rejected", "undecodable JSON body: " + type(exc).__name__)
    if isinstance(obj, dict) and isinstance(obj.get("response"), list):
        results: List[Any] = []
        for n, row in enumerate(obj["response"]):
            results.extend(parse_object(row, f"api:page1:row{n + 1}"))
        return _consume(results)
    return _consume(parse_object(obj, "api:page1"))


def fuzz_karmor(data: bytes) -> Outcome:
    """The karmor text reader directly (lines as the stream reader gives them)."""
    lines = [(n + 1, line) for n, line in enumerate(data.split(b"\n"))]
    return _consume(iter_text(iter(lines), "fuzz"))


def fuzz_mapper(data: bytes) -> Outcome:
    """The mapper on whatever the lenient JSON decode gives (a dict is mapped as canonical fields)."""
    try:
        obj = jsoncodec.loads(data)
    except ValueError:
        return ("rejected", "undecodable JSON")
    if not isinstance(obj, dict):
        return ("rejected", "not an object")
    m = mapper(compiled=len(data) % 16 == 0)  # the compiled path too, on a share of the inputs
    try:
        # raw dicts straight into the mapper (as a view would after a lenient caller) ...
        jsoncodec.dumps(m.to_ecs(obj))
        jsoncodec.dumps(m.to_cim(obj))
        m.event_id(obj)
        m.stream(obj)
    except MappingError as exc:
        return ("rejected", "mapping: " + reason_class(exc.reason))
    # ... and the normalised event through parse_object
    out = _consume(parse_object(obj, "fuzz"))
    return out if out[0] == "rejected" else ("mapped", 1)


_CONFIG_KEYS = ("url", "tenant_id", "token_env", "sink", "state", "interval", "lookback", "overlap", "lag",
                "max_window", "page_size", "batch_size", "cluster_id", "filter", "log_type", "map", "dead_letter",
                "ca_bundle", "proxy", "insecure", "rate_limit", "max_pages", "severity_preset", "hec_ack",
                "hec_ack_timeout", "es_api_key_env", "es_mode", "hec_token_env")
_TMP: Dict[str, str] = {}


def _toml_path() -> str:
    if "path" not in _TMP:
        fd, path = tempfile.mkstemp(prefix="fuzz-config-", suffix=".toml")
        os.close(fd)
        _TMP["path"] = path
    return _TMP["path"]


def fuzz_config(data: bytes) -> Outcome:
    """The config loader: bytes as a TOML file (``load_toml`` + ``resolve``) or as ``ACCUKNOX_*`` values.

    Mapped means "a config came out"; then its URL and proxy must pass the URL
    policy (https, or http only to a loopback host) or be refused with ConfigError.
    """
    try:
        if data[:1] == b"#" or b"=" in data[:64] and data[:1] != b"!":
            path = _toml_path()
            with open(path, "wb") as fh:
                fh.write(data)
            cfg = resolve({}, environ={}, config_path=path)
        else:
            text = data.decode("utf-8", "replace").replace("\x00", "")
            parts = text.split("\n")
            env = {f"ACCUKNOX_{k.upper()}": parts[i] for i, k in enumerate(_CONFIG_KEYS) if i < len(parts)}
            cfg = resolve({}, environ=env)
        url = check_url(cfg.url, setting="url")
        if not (url.startswith("https://") or is_loopback_host(urlsplit(url).hostname or "")):
            raise ContractError(f"check_url accepted a non-https, non-loopback URL: {cfg.url!r} -> {url!r}")
        proxies_for(cfg.proxy)
        for value in (cfg.lookback, cfg.overlap, cfg.lag, cfg.max_window):
            if not isinstance(value, int) or value < 0:
                raise ContractError(f"duration setting resolved to {value!r}")
        for f in cfg.filters:
            if not (f["field"] and f["value"] and f["op"] in ("match", "ne", "pattern")):
                raise ContractError(f"bad filter {f!r}")
        return ("mapped", 1)
    except ConfigError as exc:
        return ("rejected", reason_class(str(exc)))


def fuzz_config_values(data: bytes) -> Outcome:
    """The small parsers on their own: durations, filters, URLs, proxies."""
    text = data.decode("utf-8", "replace")
    try:
        kind = data[:1]
        if kind in (b"d", b"D"):
            v = parse_duration(text[1:], "fuzz")
            if not isinstance(v, int) or v < 0:
                raise ContractError(f"parse_duration({text[1:]!r}) -> {v!r}")
        elif kind in (b"f", b"F"):
            parse_filter(text[1:])
        elif kind in (b"p", b"P"):
            proxies_for(text[1:])
        else:
            url = check_url(text, setting="fuzz")
            scheme = url.split("://", 1)[0]
            if scheme not in ("https", "http"):
                raise ContractError(f"check_url accepted scheme {scheme!r}: {text!r}")
        return ("mapped", 1)
    except ConfigError as exc:
        return ("rejected", reason_class(str(exc)))


TARGETS: Dict[str, Callable[[bytes], Outcome]] = {
    "parser": fuzz_parser,
    "page": fuzz_page,
    "karmor_text": fuzz_karmor,
    "mapper": fuzz_mapper,
    "config": fuzz_config,
    "config_values": fuzz_config_values,
}
