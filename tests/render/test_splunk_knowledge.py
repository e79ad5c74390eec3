"""eventtypes.conf / tags.conf: one eventtype per data model, searches equal to the mapper's routing."""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest
import yaml

from integrations.mapping import Mapper, load_definition
from integrations.mapping.definition import DEFAULT_PATH, parse_definition
from integrations.mapping.reference import CimReference
from integrations.render.splunk_knowledge import (
    HELPER_PREFIX,
    SOURCETYPE_SCOPE,
    eventtypes_conf,
    route_helpers,
    route_search,
    tags_conf,
)
from integrations.render.splunk_translate import UntranslatableError
from tests.conftest import REFERENCE, REPO
from tests.support.spl.conf import parse_conf
from tests.support.spl.parity import SOURCETYPE_PREFIX, rendered_app
from tests.support.spl.search import parse_search

DEFN = load_definition()
APP = REPO / "splunk_app" / "package" / "default"


@pytest.fixture(scope="module")
def cim() -> CimReference:
    return CimReference.load(REFERENCE / "splunk-cim")


@pytest.mark.parametrize("name,render", [("eventtypes.conf", eventtypes_conf), ("tags.conf", tags_conf)])
def test_committed_files_are_current(name: str, render: Any) -> None:
    assert (APP / name).read_text(encoding="utf-8") == render(DEFN), f"run `accuknox-siem render` ({name})"


def test_one_eventtype_per_route_and_data_model(cim: CimReference) -> None:
    eventtypes = parse_conf(eventtypes_conf(DEFN))
    tags = parse_conf(tags_conf(DEFN))
    assert list(eventtypes) == [r.eventtype for r in DEFN.routes]
    selections = []
    for route in DEFN.routes:
        stanza_tags = tags[f"eventtype={route.eventtype}"]
        assert stanza_tags == {t: "enabled" for t in route.tags}
        # pytest-splunk-addon's test_eventtype_mapped_multiple_cim_datamodel: the tags select one model ...
        selected = cim.datamodel_for_tags(stanza_tags)
        assert len(selected) == 1, (route.eventtype, selected)
        selections.append(selected[0])
        # ... and they are exactly the tags of the route's dataset (CIM 5.3.2)
        ds = cim.dataset(route.dataset)
        assert frozenset(route.tags) in ds.tags, route.id
        assert selected[0] in (ds.model, f"{ds.model}_{ds.name}"), (route.id, selected)
    assert len(set(selections)) == len(selections), "two eventtypes for one data model"


def test_searches_are_scoped_by_sourcetype_and_parse() -> None:
    for name, stanza in parse_conf(eventtypes_conf(DEFN)).items():
        search = stanza["search"]
        assert search.startswith(SOURCETYPE_SCOPE + " "), name
        assert "index=" not in search, name  # admins scope indexes through the CIM macros
        parse_search(search)


def test_stream_routes_are_plain_field_searches() -> None:
    """$stream is a lookup of Type with a fallback: it becomes Type terms, not a helper field."""
    alerts = next(r for r in DEFN.routes if r.id == "cim-route-alerts")
    search = route_search(DEFN, alerts)
    assert HELPER_PREFIX not in search
    assert 'Type IN ("MatchedPolicy"' in search and "PolicyName=*" in search


def test_peer_route_uses_the_eval_helper() -> None:
    network = next(r for r in DEFN.routes if r.id == "cim-route-network")
    assert f'{HELPER_PREFIX}peer="true"' in route_search(DEFN, network)
    helpers = route_helpers(DEFN)
    assert [(f, ids) for f, _e, ids in helpers] == [(f"{HELPER_PREFIX}peer", ["fact-net-peer"])]


@pytest.mark.parametrize("fields", [
    {},
    {"Type": "matchedpolicy"},
    {"Type": "CONTAINERLOG", "Operation": "file"},
    {"Type": "Unknown", "PolicyName": "p"},
    {"Type": "Unknown", "Operation": "File"},
    {"Operation": "File", "Severity": "Medium"},
    {"Operation": "File", "Enforcer": "BPFLSM", "Type": "HostLog"},
    {"Type": "SystemEvent", "Operation": "AlertThreshold"},
    {"Type": "MatchedNativePolicy", "Operation": "Process"},
    {"Type": "PolicyMatched", "Operation": "process"},
])
def test_routing_matches_the_mapper_case_by_case(fields: Dict[str, Any]) -> None:
    app = rendered_app(DEFN)
    mapper = Mapper(DEFN)
    want = sorted(r.eventtype for r in mapper.routes(fields))
    for st in ("alert", "log"):
        got = app.process(json.dumps(fields), SOURCETYPE_PREFIX + st)
        assert sorted(got.get("eventtype", [])) == want, (fields, st)


def test_events_outside_our_sourcetypes_get_no_eventtype() -> None:
    app = rendered_app(DEFN)
    # the props stanza exists only for our sourcetypes; the eventtype scope is checked on the field value
    got = app.process(json.dumps({"Type": "MatchedPolicy"}), SOURCETYPE_PREFIX + "alert")
    assert "accuknox_kubearmor_alert" in got["eventtype"]
    pred = parse_search(parse_conf(eventtypes_conf(DEFN))["accuknox_kubearmor_alert"]["search"])
    assert not pred({**got, "sourcetype": "_json"})


def _variant(route_when: Dict[str, Any]) -> Any:
    raw = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    raw["cim_datasets"][0]["when"] = route_when
    return parse_definition(yaml.safe_dump(raw, sort_keys=False))


def test_untranslatable_route_conditions_fail_with_the_route_id() -> None:
    defn = _variant({"Operation": "Process*"})  # a wildcard would change the meaning of the search
    with pytest.raises(UntranslatableError, match="route cim-route-alerts"):
        eventtypes_conf(defn)


def test_other_fact_conditions_become_helpers() -> None:
    defn = _variant({"$action": "execve"})
    assert f'{HELPER_PREFIX}action="execve"' in eventtypes_conf(defn)
    assert [f for f, _e, _i in route_helpers(defn)] == [f"{HELPER_PREFIX}action", f"{HELPER_PREFIX}peer"]
    app, mapper = rendered_app(defn), Mapper(defn)
    for data in ("syscall=SYS_EXECVE", "syscall=SYS_OPEN", "kprobe=tcp_connect"):
        fields = {"Operation": "Process", "Data": data}
        got = app.process(json.dumps(fields), SOURCETYPE_PREFIX + "log")
        assert sorted(got.get("eventtype", [])) == sorted(r.eventtype for r in mapper.routes(fields))
