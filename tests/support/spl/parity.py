"""Run rendered Splunk knowledge objects next to the Python mapper (test support).

:func:`rendered_app` renders props/transforms/lookups/eventtypes/tags from a
definition *in memory* (the files on disk are checked separately against the
same renderers) and loads them into the offline evaluator; :func:`compare`
lists where the evaluated Splunk record and ``Mapper.to_cim`` disagree, with
Splunk's typing applied (every value is text; a list is a multivalue field;
``eventtype``/``tag`` compared as sets because Splunk does not keep the
definition's order).
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Mapping, Optional

from integrations.mapping.definition import Definition
from integrations.model import ParsedEvent

from .searchtime import SearchTimeApp

SOURCETYPE_PREFIX = "accuknox:kubearmor:"


def rendered_app(defn: Definition) -> SearchTimeApp:
    """The evaluator loaded with what the renderers produce for ``defn``."""
    from integrations.render.splunk_knowledge import eventtypes_conf, tags_conf
    from integrations.render.splunk_props import SEVERITY_CSV, props_conf, severity_csv, transforms_conf

    return SearchTimeApp(props_conf(defn), transforms_conf(defn), eventtypes_conf(defn), tags_conf(defn),
                         {SEVERITY_CSV: severity_csv(defn)})


def corpus_events(paths: Iterable[Any]) -> List[ParsedEvent]:
    """Parsed events of the JSON-lines corpus (``integrations.events``)."""
    from integrations.events import iter_parse_path

    out: List[ParsedEvent] = []
    for path in paths:
        for item in iter_parse_path(path):
            assert isinstance(item, ParsedEvent), f"{item!r} was rejected"
            out.append(item)
    return out


def as_splunk(value: Any) -> Any:
    """A mapper value as Splunk would show it: text, or a list of texts for a multivalue field."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        vals = [as_splunk(v) for v in value]
        return vals[0] if len(vals) == 1 else vals
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def raw_event(fields: Mapping[str, Any]) -> str:
    """What Splunk receives: the canonical event as one JSON line."""
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def compare(expected: Mapping[str, Any], got: Mapping[str, Any], targets: Iterable[str]) -> List[str]:
    """Differences between a mapper CIM record and an evaluated Splunk record."""
    problems: List[str] = []
    for field in targets:
        want, have = as_splunk(expected.get(field)), got.get(field)
        if want != have:
            problems.append(f"{field}: mapper {want!r} != splunk {have!r}")
    for field in ("eventtype", "tag"):
        want_set = sorted(expected.get(field) or [])
        have_raw: Optional[Any] = got.get(field)
        have_set = sorted(have_raw if isinstance(have_raw, list) else ([have_raw] if have_raw else []))
        if want_set != have_set:
            problems.append(f"{field}: mapper {want_set} != splunk {have_set}")
    return problems


def splunk_record(got: Mapping[str, Any], targets: Iterable[str]) -> Dict[str, Any]:
    """The CIM fields of an evaluated event (what the data model sees)."""
    return {t: got[t] for t in targets if t in got}
