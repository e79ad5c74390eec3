"""Shared helpers of the Splunk app tests: tokens, emulated rows, expected events, XML streams."""

from __future__ import annotations

import base64
import json
import secrets
import time
import xml.etree.ElementTree as ET
from typing import Any, Dict, List, Optional

from integrations.emulator import generate_events, generate_logs
from integrations.events import is_alert, parse_object
from integrations.identity import event_id
from integrations.mapping.mapper import event_timestamp
from integrations.model import ParsedEvent

TENANT = "167"
SOURCETYPES = {"alert": "accuknox:kubearmor:alert", "log": "accuknox:kubearmor:log"}


def make_token(tenant: str = TENANT, *, extra: int = 300) -> str:
    """A JWT-shaped access token, random and longer than 255 characters (UCC splits such secrets)."""

    def b64(obj: Dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    claims = {"tenant-id": tenant, "exp": int(time.time()) + 86400, "jti": secrets.token_hex(extra // 2)}
    return f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}.{secrets.token_urlsafe(32)}"


def make_rows(now: float, *, alerts: int = 40, logs: int = 6, seed: int = 7) -> List[Dict[str, Any]]:
    """Alert rows (and a few telemetry rows), evenly spaced, with event times in ``[now - 3000, now - 400]``."""
    rows = list(generate_events(alerts, seed=seed, start=now - 3000, rate=alerts / 2600.0, tenant_id=TENANT,
                                regular=True))
    rows += list(generate_logs(logs, seed=seed, start=now - 2000, rate=logs / 1500.0, regular=True))
    assert all(now - 3001 <= r["Timestamp"] <= now - 400 for r in rows)
    return rows


def expected_events(rows: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """event id -> {time, host, sourcetype, raw} as the input must write them."""
    out = {}
    for n, row in enumerate(rows):
        for item in parse_object(row, f"row{n}"):
            assert isinstance(item, ParsedEvent), item
            ts = event_timestamp(item.fields)
            assert ts is not None
            out[event_id(item.fields)] = {
                "time": f"{ts[1]:.3f}",
                "host": item.fields.get("HostName"),
                "sourcetype": SOURCETYPES["alert" if is_alert(item.fields) else "log"],
                "raw": row,
            }
    return out


def parse_stream(text: str) -> List[Dict[str, Any]]:
    """The ``<event>`` elements of a modular input's stdout as dicts (empty output -> [])."""
    if not text.strip():
        return []
    root = ET.fromstring(text)  # noqa: S314 - our own script's output
    assert root.tag == "stream", root.tag
    events = []
    for ev in root.findall("event"):
        item: Dict[str, Any] = {"stanza": ev.get("stanza"), "unbroken": ev.get("unbroken"),
                                "done": ev.find("done") is not None}
        for child in ev:
            if child.tag != "done":
                item[child.tag] = child.text
        events.append(item)
    return events


def row_id(data: str) -> str:
    """The event id of one written event (its ``<data>`` JSON)."""
    items = parse_object(json.loads(data), "written")
    assert len(items) == 1 and isinstance(items[0], ParsedEvent)
    return event_id(items[0].fields)


def input_xml(*, server_uri: str, session_key: str, checkpoint_dir: str, name: str = "prod",
              params: Optional[Dict[str, str]] = None) -> str:
    """The ``<input>`` document splunkd writes to a modular input's stdin."""
    from xml.sax.saxutils import escape

    p = {"account": "prod", "index": "main", "interval": "300", "lookback": "3600", "overlap": "600", "lag": "60",
         "page_size": "10", "log_type": "active", "host": "$decideOnStartup", "python.version": "python3"}
    p.update(params or {})
    body = "".join(f'<param name="{escape(k)}">{escape(v)}</param>' for k, v in p.items())
    return (f"<input><server_host>sh1</server_host><server_uri>{escape(server_uri)}</server_uri>"
            f"<session_key>{escape(session_key)}</session_key><checkpoint_dir>{escape(checkpoint_dir)}</checkpoint_dir>"
            f'<configuration><stanza name="accuknox_alerts://{escape(name)}">{body}</stanza></configuration></input>')


def validation_xml(*, server_uri: str, session_key: str, checkpoint_dir: str, name: str = "prod",
                   params: Optional[Dict[str, str]] = None) -> str:
    """The ``<items>`` document of ``--validate-arguments``."""
    from xml.sax.saxutils import escape

    p = {"account": "prod", "index": "main", "interval": "300", "lookback": "3600", "page_size": "100"}
    p.update(params or {})
    body = "".join(f'<param name="{escape(k)}">{escape(v)}</param>' for k, v in p.items())
    return (f"<items><server_host>sh1</server_host><server_uri>{escape(server_uri)}</server_uri>"
            f"<session_key>{escape(session_key)}</session_key><checkpoint_dir>{escape(checkpoint_dir)}</checkpoint_dir>"
            f'<item name="{escape(name)}">{body}</item></items>')


def read_conf(path: Any) -> Dict[str, Dict[str, str]]:
    """A Splunk .conf file as {stanza: {key: value}} (comments skipped, ``\\`` continuations joined)."""
    from pathlib import Path as _Path

    out: Dict[str, Dict[str, str]] = {}
    stanza = "default"
    pending = ""
    for raw in _Path(path).read_text(encoding="utf-8").splitlines():
        line = pending + raw
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + "\n"
            continue
        pending = ""
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            stanza = stripped[1:-1]
            out.setdefault(stanza, {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not key = value: {line!r}"
        out.setdefault(stanza, {})[key.strip()] = value.strip()
    return out


def secret_fragments(token: str, size: int = 24) -> List[str]:
    """Overlapping pieces of the token's secret parts (claims and signature), so a leaked part of
    a token (e.g. one of the 255-character chunks UCC stores) is caught, not only the whole token."""
    start = token.index(".") + 1  # the JWT header is the same for every token: not secret
    return [token[i:i + size] for i in range(start, len(token) - size + 1, size // 2)]
