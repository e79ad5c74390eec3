"""Every corpus event parses and maps; every ECS document and CIM record conforms.

Runs over all of ../shared/corpus (JSON files and karmor text blocks):
ECS documents are validated field by field against ECS 8.17.0 and 9.4.0,
CIM records against the data-model JSON of each dataset the event is routed to.
"""

from __future__ import annotations

from collections import Counter
from typing import Dict, List, Tuple

import pytest

from integrations.events import iter_parse_path
from integrations.mapping import load_definition
from integrations.mapping.reference import CimReference, EcsReference
from integrations.model import ParsedEvent
from tests.conftest import CORPUS, CORPUS_JSONL, REFERENCE
from tests.support.cim_validator import validate_cim_record
from tests.support.ecs_validator import validate_ecs_document

TEXT = CORPUS / "real" / "karmor-text-samples.txt"

#: CIM fields KubeArmor cannot provide, per dataset (asserted exact below, so it cannot grow silently).
#: file_size / file_create_time: KubeArmor never reports file metadata; file_hash only with hash-enabled
#: KubeArmor (ResourceHash); src_port: tcp_connect/DNS events carry no local (ephemeral) port.
#: user: events without UID/UserName (documentation samples, partial text blocks) have no user;
#: icmp_type/icmp_code: NetworkFirewall ICMP alerts carry neither.
KNOWN_GAPS: Dict[str, Tuple[str, ...]] = {
    "Alerts.Alerts": ("user",),
    "Endpoint.Filesystem": ("file_size", "file_hash", "file_create_time", "user"),
    "Intrusion_Detection.IDS_Attacks": ("file_hash",),
    "Network_Traffic.All_Traffic": ("src_port", "icmp_type", "icmp_code"),
}


def _all_events() -> List[ParsedEvent]:
    out = []
    for path in [*CORPUS_JSONL, TEXT]:
        out.extend(item for item in iter_parse_path(path) if isinstance(item, ParsedEvent))
    return out


@pytest.fixture(scope="module")
def events() -> List[ParsedEvent]:
    return _all_events()


@pytest.fixture(scope="module")
def ecs_refs() -> Tuple[EcsReference, EcsReference]:
    return (EcsReference.load(REFERENCE / "ecs" / "ecs_flat-8.17.0.yml"),
            EcsReference.load(REFERENCE / "ecs" / "ecs_flat.yml"))


@pytest.fixture(scope="module")
def cim() -> CimReference:
    return CimReference.load(REFERENCE / "splunk-cim")


def test_every_json_corpus_line_is_an_event(events: List[ParsedEvent]) -> None:
    from integrations.model import Rejected

    rejected = [item for path in CORPUS_JSONL for item in iter_parse_path(path) if isinstance(item, Rejected)]
    assert rejected == [], [(r.location, r.reason) for r in rejected]
    lines = sum(1 for p in CORPUS_JSONL for line in p.read_bytes().splitlines() if line.strip())
    json_events = [e for e in events if not e.location.startswith(str(TEXT))]
    assert len(json_events) == lines == 158


def test_definition_matches_the_reference(ecs_refs: Tuple[EcsReference, EcsReference], cim: CimReference) -> None:
    from integrations.mapping import check_references

    defn = load_definition()
    assert check_references(defn, ecs_refs[0], cim) == []
    assert check_references(defn, ecs_refs[1], cim) == []


def test_ecs_documents_conform(events: List[ParsedEvent], mapper, ecs_refs) -> None:  # type: ignore[no-untyped-def]
    vendor = load_definition().vendor_fields
    problems = []
    kinds: Counter = Counter()
    for ev in events:
        doc = mapper.to_ecs(ev)
        kinds[doc["event"]["kind"]] += 1
        assert doc["@timestamp"] and doc["event"]["id"] and doc["ecs"]["version"] == "8.17.0"
        assert doc["event"]["category"] and doc["event"]["type"], ev.location
        for p in validate_ecs_document(doc, ecs_refs[0], vendor, ecs9=ecs_refs[1]):
            problems.append(f"{ev.location}: {p}")
    assert problems == []
    assert kinds["alert"] > 50 and kinds["event"] > 50


def test_cim_records_conform(events: List[ParsedEvent], mapper, cim: CimReference) -> None:  # type: ignore[no-untyped-def]
    problems = []
    routed: Counter = Counter()
    for ev in events:
        rec = dict(mapper.to_cim(ev))
        rec.pop("eventtype")
        rec.pop("tag")  # Splunk's own fields, not extractions
        for route in mapper.routes(ev.fields):
            routed[route.dataset] += 1
            for p in validate_cim_record(rec, route.dataset, cim, allow_missing=KNOWN_GAPS.get(route.dataset, ())):
                problems.append(f"{ev.location} [{route.dataset}]: {p}")
    assert problems == []
    assert set(routed) == {r.dataset for r in load_definition().routes}


def test_known_gaps_are_real(events: List[ParsedEvent], mapper, cim: CimReference) -> None:  # type: ignore[no-untyped-def]
    """Each declared gap is actually missing somewhere (the table must not keep stale entries)."""
    missing: Dict[str, set] = {ds: set() for ds in KNOWN_GAPS}
    for ev in events:
        rec = mapper.to_cim(ev)
        for route in mapper.routes(ev.fields):
            for field in KNOWN_GAPS.get(route.dataset, ()):
                if field not in rec:
                    missing[route.dataset].add(field)
    assert {k: tuple(sorted(v)) for k, v in missing.items()} == {k: tuple(sorted(v)) for k, v in KNOWN_GAPS.items()}


def test_cim_values_within_expected_sets(events: List[ParsedEvent], mapper) -> None:  # type: ignore[no-untyped-def]
    for ev in events:
        rec = mapper.to_cim(ev)
        assert rec.get("action") in ("allowed", "blocked", "created", "deleted", "modified", "read", "acl_modified")
        if "severity" in rec:
            assert rec["severity"] in ("critical", "high", "medium", "low", "informational")
        for key in ("process_name", "parent_process_name"):
            if key in rec:
                assert "/" not in rec[key] and "\\" not in rec[key], (ev.location, rec[key])


def test_alert_and_blocked_semantics(events: List[ParsedEvent], mapper) -> None:  # type: ignore[no-untyped-def]
    """One rule for ECS denied/allowed and CIM blocked/allowed (ecs-mapping.md section 4)."""
    for ev in events:
        doc, rec = mapper.to_ecs(ev), mapper.to_cim(ev)
        blocked = str(ev.fields.get("Result", "")).lower() in ("permission denied", "operation not permitted")
        if doc["event"]["kind"] == "alert":
            assert ("denied" in doc["event"]["type"]) == blocked, ev.location
            assert "intrusion_detection" in doc["event"]["category"]
            assert rec["action"] == ("blocked" if blocked else "allowed")
