"""The Elasticsearch ingest pipelines rendered from the mapping definition.

The pipelines must produce exactly the document the Python mapper produces for
the same raw event (``integrations/render/ecs_pipeline.py``). Checked here:

1. parity on every corpus event, sent as shippers send it (``{"message": <raw JSON>}``);
2. every processor has a unique tag that starts with a rule/fact id (or a documented
   infrastructure prefix);
3. every ``if`` loads in the simulator (the documented Painless subset) and there is no
   ``script`` processor;
4. ``event.id`` equals ``integrations.identity.event_id`` (HashID or the fingerprint);
5. a malformed ``message`` ends as ``event.kind: pipeline_error`` with ``error.message``;

plus the artifact shape, the committed files, the root-object input, ``event.original``
rules, a definition changed in memory (proof that nothing is hand-typed) and a seeded
mutation run over the corpus.
"""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import integrations
from integrations.errors import ParseError
from integrations.identity import event_id
from integrations.jsoncodec import dumps_str
from integrations.mapping.definition import DEFAULT_PATH, parse_definition
from integrations.model import CANONICAL_FIELDS
from integrations.render import all_artifacts
from integrations.render.ecs_pipeline import INFRA_TAGS, pipeline_ids
from tests.support.ecs_pipeline_harness import (
    CLOCK_ISO,
    Pipelines,
    corpus_events,
    definition,
    diff,
    mapper,
    mask,
    pipelines,
    python_event,
)
from tests.support.ingest_sim import IngestDocument, PipelineStore, Runtime, compile_condition, fixed_clock
from tests.support.ingest_sim.document import to_json_value

REPO = Path(__file__).resolve().parents[2]
ARTIFACT_DIR = "elastic_ingest/ingest_pipelines"
ARTIFACTS = {
    "common": f"{ARTIFACT_DIR}/logs-accuknox.common.json",
    "alert": f"{ARTIFACT_DIR}/logs-accuknox.alert.json",
    "log": f"{ARTIFACT_DIR}/logs-accuknox.log.json",
}
CORPUS = corpus_events()


def _walk(processors: List[Dict[str, Any]]) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """Every processor, nested ones (foreach, on_failure) included."""
    for proc in processors:
        (ptype, body), = proc.items()
        yield ptype, body
        if ptype == "foreach":
            yield from _walk([body["processor"]])
        yield from _walk(body.get("on_failure") or [])


def _all_processors(body: Dict[str, Any]) -> List[Tuple[str, Dict[str, Any]]]:
    return list(_walk(body["processors"])) + list(_walk(body.get("on_failure") or []))


def _stream(x: Dict[str, Any]) -> str:
    return mapper().facts(python_event(x).fields)["stream"]


_RESULTS: Dict[str, Dict[str, Any]] = {}


def _pipeline_doc(location: str, x: Dict[str, Any]) -> Dict[str, Any]:
    """The pipeline's document for a corpus event (computed once, shared by the parity and identity tests)."""
    if location not in _RESULTS:
        _RESULTS[location] = pipelines().run_message(x, _stream(x))
    return copy.deepcopy(_RESULTS[location])


# --------------------------------------------------------------------------- artifacts


def test_artifacts_are_registered_with_versioned_ids() -> None:
    registered = all_artifacts()
    defn = definition()
    ids = pipeline_ids(defn)
    version = integrations.__version__
    assert ids == {"common": f"logs-accuknox.common-{version}", "alert": f"logs-accuknox.alert-{version}",
                   "log": f"logs-accuknox.log-{version}"}
    for key, path in ARTIFACTS.items():
        assert path in registered
        text = registered[path](defn)
        assert text.endswith("}\n") and not text.endswith("\n\n")
        data = json.loads(text)
        assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert set(data) == {"name", "body"} and data["name"] == ids[key]
        assert data["body"]["processors"] and data["body"]["on_failure"]


@pytest.mark.parametrize("stream", ["alert", "log"])
def test_dataset_pipelines_call_common_then_the_custom_hook(stream: str) -> None:
    body = pipelines().rendered[stream]["body"]
    first, second = body["processors"]
    assert first["pipeline"]["name"] == pipeline_ids(definition())["common"]
    assert second["pipeline"] == {**second["pipeline"], "name": f"logs-accuknox.{stream}@custom",
                                  "ignore_missing_pipeline": True}


def test_committed_files_are_current() -> None:
    registered = all_artifacts()
    for path in ARTIFACTS.values():
        committed = REPO / path
        assert committed.exists(), f"{path} missing: run `python -m integrations.cli render`"
        assert committed.read_text(encoding="utf-8") == registered[path](definition()), \
            f"{path} is stale: run `python -m integrations.cli render`"


# --------------------------------------------------------------------------- (1) parity


def test_parity_covers_the_whole_corpus() -> None:
    # 138 real JSON events, 20 synthetic ones, 51 karmor text blocks (one is rejected: 52 in the file)
    assert len(CORPUS) == 209, len(CORPUS)


@pytest.mark.parametrize("location,x", CORPUS, ids=[loc for loc, _ in CORPUS])
def test_parity_with_the_python_mapper(location: str, x: Dict[str, Any]) -> None:
    event = python_event(x, location)
    expected = mask(mapper().to_ecs(event))
    got = mask(_pipeline_doc(location, x))
    problems = diff(expected, got)
    assert not problems, f"{location}:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- (2) tags


def test_every_processor_has_a_unique_tag_naming_its_rule_or_fact() -> None:
    defn = definition()
    ids = {f.id for f in defn.facts} | {r.id for r in defn.rules}
    for item in pipelines().rendered.values():
        tags = []
        for ptype, body in _all_processors(item["body"]):
            tag = body.get("tag")
            assert tag, f"{item['name']}: a {ptype} processor has no tag"
            prefix = tag.split(":", 1)[0]
            assert prefix in ids or prefix in INFRA_TAGS, f"{item['name']}: tag {tag!r} names no rule or fact"
            tags.append(tag)
        dupes = sorted({t for t in tags if tags.count(t) > 1})
        assert not dupes, f"{item['name']}: duplicate tags {dupes}"


def test_every_ecs_rule_and_the_facts_it_reads_have_processors() -> None:
    defn = definition()
    prefixes = {body["tag"].split(":", 1)[0] for _t, body in _all_processors(pipelines().rendered["common"]["body"])}
    fact_ids = {f.name: f.id for f in defn.facts}
    for rule in defn.rules:
        if not (rule.ecs or rule.ecs_append):
            continue
        assert rule.id in prefixes, f"rule {rule.id} has no processor"
        refs = list(rule.sources) + list(rule.inputs) + [r for c in rule.when + rule.unless for r in c.refs]
        for src in refs:
            if src.kind == "fact":
                assert fact_ids[src.path[0]] in prefixes, f"rule {rule.id} reads ${src.path[0]}, never computed"


# --------------------------------------------------------------------------- (3) conditions


def test_conditions_are_in_the_supported_subset_and_there_is_no_script() -> None:
    store = PipelineStore()
    n = 0
    for item in pipelines().rendered.values():
        store.put(item["name"], item["body"])  # rejects unsupported processors and `if` syntax
        for ptype, body in _all_processors(item["body"]):
            assert ptype != "script"
            if "if" in body:
                compile_condition(body["if"])
                n += 1
    assert n > 100


def test_processor_counts() -> None:
    counts = {k: len(list(_all_processors(v["body"]))) for k, v in pipelines().rendered.items()}
    top = {k: len(v["body"]["processors"]) for k, v in pipelines().rendered.items()}
    assert top["alert"] == top["log"] == 2
    assert top["common"] < 1500, counts


# --------------------------------------------------------------------------- (4) identity


@pytest.mark.parametrize("location,x", CORPUS, ids=[loc for loc, _ in CORPUS])
def test_event_id_matches_identity(location: str, x: Dict[str, Any]) -> None:
    fields = python_event(x, location).fields
    got = _pipeline_doc(location, x)["event"]["id"]
    assert got == event_id(fields)
    if not fields.get("HashID"):
        # the fingerprint path: SHA-256 over the string values of the stable fields
        assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", got)


def test_fingerprint_processor_configuration() -> None:
    defn = definition()
    procs = [b for t, b in _all_processors(pipelines().rendered["common"]["body"]) if t == "fingerprint"]
    assert len(procs) == 1
    fp = procs[0]
    assert fp["method"] == defn.identity["fingerprint_method"] == "SHA-256"
    assert fp["ignore_missing"] is True
    assert [f.rsplit(".", 1)[1] for f in fp["fields"]] == list(defn.identity["fingerprint_fields"])


# --------------------------------------------------------------------------- (5) failures


@pytest.mark.parametrize("message,reason", [
    ('{"Type": "ContainerLog", "Opera', "Unterminated string"),
    ("not json", "Expecting value"),
    ("[1, 2]", "message is not a JSON object"),
    ('"a string"', "message is not a JSON object"),
    ("{}", "no KubeArmor field with a value"),
    ('{"foo": 1}', "no KubeArmor field with a value"),
    ('{"Type": "ContainerLog", "Operation": "File", "Resource": {"a": 1}}', "JSON object or array"),
])
@pytest.mark.parametrize("stream", ["alert", "log"])
def test_malformed_message_is_a_pipeline_error(message: str, reason: str, stream: str) -> None:
    doc = pipelines().run({"message": message}, stream)
    assert doc["event"]["kind"] == "pipeline_error"
    assert doc["event"]["original"] == message
    assert doc["tags"] == ["preserve_original_event"]
    assert doc["@timestamp"] == CLOCK_ISO
    assert "_tmp" not in doc
    (text,) = doc["error"]["message"]
    m = re.fullmatch(r"Processor (\S+) with tag (\S+) in pipeline (\S+) failed with message: (.*)", text, re.S)
    assert m, text
    assert m.group(2).split(":")[0] in INFRA_TAGS
    assert m.group(3) == pipeline_ids(definition())["common"]
    assert reason in m.group(4)
    with pytest.raises((ParseError, ValueError)):
        python_event(json.loads(message))


def test_custom_hook_failure_is_caught_by_the_dataset_pipeline() -> None:
    p = Pipelines()
    p.store.put("logs-accuknox.log@custom", {"processors": [{"fail": {"tag": "user", "message": "boom"}}]})
    x = next(x for _loc, x in CORPUS if _stream(x) == "log")
    doc = p.run_message(x, "log")
    assert doc["event"]["kind"] == "pipeline_error"
    assert doc["error"]["message"] == [
        "Processor fail with tag user in pipeline logs-accuknox.log@custom failed with message: boom"]


# --------------------------------------------------------------------------- input forms, event.original


def test_relay_documents_at_the_root() -> None:
    """relay -> Elasticsearch: the event is the document itself (PascalCase keys)."""
    n = 0
    for location, x in CORPUS:
        if any(k not in CANONICAL_FIELDS for k in x):
            continue  # unknown root keys stay where they are in this mode
        expected = mask(mapper().to_ecs(python_event(x, location)))
        expected["event"].pop("original", None)  # no string to keep
        got = mask(pipelines().run(x, _stream(x)))
        assert not diff(expected, got), (location, diff(expected, got))
        n += 1
    assert n > 100


def test_event_original_rules() -> None:
    alert = next(x for _loc, x in CORPUS if _stream(x) == "alert")
    log = next(x for _loc, x in CORPUS if _stream(x) == "log")
    assert pipelines().run_message(alert, "alert")["event"]["original"] == dumps_str(alert)
    assert "original" not in pipelines().run_message(log, "log")["event"]
    tagged = pipelines().run({"message": dumps_str(log), "tags": ["preserve_original_event"]}, "log")
    assert tagged["event"]["original"] == dumps_str(log)
    assert tagged["tags"] == ["preserve_original_event"]
    shipped = pipelines().run({"message": dumps_str(alert), "event": {"original": "as shipped"}}, "alert")
    assert shipped["event"]["original"] == "as shipped"


def test_a_repeated_key_takes_the_last_value_like_python() -> None:
    message = '{"Type": "ContainerLog", "Operation": "File", "Resource": "/a", "Resource": "/etc/passwd"}'
    expected = mask(mapper().to_ecs(python_event(json.loads(message))))
    got = mask(pipelines().run({"message": message}, "log"))
    assert got["file"]["path"] == "/etc/passwd"
    assert not diff(expected, got)


def test_fields_written_by_the_mapping_replace_a_shippers_copies() -> None:
    x = next(x for _loc, x in CORPUS if x.get("HostName") and x.get("UpdatedTime"))
    doc = pipelines().run({"message": dumps_str(x), "@timestamp": "2000-01-01T00:00:00Z",
                           "host": {"name": "filebeat-host"}, "agent": {"type": "filebeat"}}, _stream(x))
    expected = mapper().to_ecs(python_event(x))
    assert doc["@timestamp"] == expected["@timestamp"]
    assert doc["host"]["name"] == x["HostName"]
    assert doc["agent"] == {"type": "filebeat"}


# --------------------------------------------------------------------------- generated, not hand-typed


def _changed_definition() -> Any:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    replacements = [
        ("severity_preset: higher_is_worse", "severity_preset: accuknox_ui"),
        ("      Passed: success", "      Passed: all-good"),
        ("{id: ecs-container-name, from: ContainerName, ecs: container.name}",
         "{id: ecs-container-name, from: ContainerName, ecs: [container.name, container.runtime]}"),
        ("      File/open/creation: {category: [file], type: [creation]}",
         "      File/open/creation: {category: [file, configuration], type: [creation]}"),
        ("    observer.vendor: AccuKnox", "    observer.vendor: Example Vendor"),
        ("  fingerprint_method: SHA-256", "  fingerprint_method: SHA-256"),
    ]
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return parse_definition(text, "changed-definition")


def test_a_changed_definition_changes_the_pipeline_the_same_way() -> None:
    defn = _changed_definition()
    p = Pipelines(defn)
    m = mapper(defn)
    checked = 0
    for location, x in CORPUS[::3]:
        event = python_event(x, location)
        stream = m.facts(event.fields)["stream"]
        expected = mask(m.to_ecs(event))
        got = mask(p.run_message(x, stream))
        assert not diff(expected, got), (location, diff(expected, got))
        checked += 1
    assert checked > 60
    assert "'accuknox_ui'" in p.rendered["common"]["body"]["description"]


# --------------------------------------------------------------------------- seeded mutations


def _mutate(x: Dict[str, Any], rnd: random.Random) -> Dict[str, Any]:
    """Spellings and value forms the parser accepts (event-schema.md sections 2 and 11)."""
    x = copy.deepcopy(x)
    for op in rnd.sample(range(14), rnd.randint(1, 4)):
        if op == 0:
            x = {k.lower(): v for k, v in x.items()}
        elif op == 1:
            x = {k[:1].lower() + k[1:]: v for k, v in x.items()}
        elif op == 2:
            for k in list(x):
                if type(x[k]) is int and abs(x[k]) < 2**31:
                    x[k] = rnd.choice([f" {x[k]} ", str(x[k]), f"+{x[k]}", f"{x[k]}.0"])
        elif op == 3:
            for k in list(x):
                if k.lower() == "timestamp" and type(x[k]) is int:
                    x[k] = rnd.choice([x[k] * 1000, x[k] * 1000000 + 123456, str(x[k] * 1000), f"{x[k]}.75"])
        elif op == 4:
            x["Severity"] = rnd.choice([" 5", "5.0", 5.0, "Medium", "", 11, "7", 3, "-2", "0x5", True, None])
        elif op == 5:
            x["ATags"] = rnd.choice(["MITRE_T1036_masquerading, NIST ,,MITRE_TA0010_exfil_tration",
                                     '["MITRE-T1602", "FGT1046"]', ["", None, "MITRE_T1036.001_sub_tech", 5],
                                     [], None, "[a, b]"])
        elif op == 6:
            for k in ("Type", "Operation"):
                if isinstance(x.get(k), str):
                    x[k] = rnd.choice([x[k].lower(), f"  {x[k].upper()} ", x[k]])
        elif op == 7:
            for k in list(x):
                if k.lower() == "updatedtime" and isinstance(x[k], str):
                    x[k] = rnd.choice([x[k].replace("T", " ").rstrip("Z"), x[k].lower(), "", "garbage",
                                       x[k][:23] + "Z", x[k].replace("Z", "+05:30")])
        elif op == 8:
            owner = x.pop("Owner", None)
            if isinstance(owner, dict):
                x.update({"Owner" + k: v for k, v in owner.items()})
        elif op == 9:
            x["Labels"] = rnd.choice(["app=nginx tier=web", "app=x,b=y,...", "  a=1,,=bad,nokey,c=d=e ", "k=v..."])
            x["Tags"] = rnd.choice(["NIST, CIS ,MITRE_TA0001...", "a,a,b", "..."])
        elif op == 10 and isinstance(x.get("Resource"), str):
            x["Resource"] = rnd.choice(["\u2003" + x["Resource"] + " \n", x["Resource"] + "/", "  ", "/etc/.bashrc",
                                        "/a/b.tar.gz\n", "rel/dir/", "/x.verylongextension1234567"])
        elif op == 11 and isinstance(x.get("Data"), str):
            x["Data"] = rnd.choice(["  " + x["Data"] + " junk =x flags= flags=O_RDWR", x["Data"].replace(" ", ","),
                                    "lsm=CAPABLE CAP_NET_RAW", "syscall=sys_openat flags=o_creat"])
        elif op == 12:
            x[rnd.choice(["Secret_Key", "password", "weird key", "API_KEY"])] = "s3cr3t"
            x["ContainerImage"] = rnd.choice(["registry:5000/app", "nginx", "a/b:c@sha256:xx", "x@", "repo/img:"])
        elif op == 13:
            x["Operation"] = rnd.choice(["Network", "NetworkFirewall"])
            x["Resource"] = rnd.choice(["sa_family=AF_INET6 sin_port=443 sin_addr=[::1]", "INGRESS",
                                        "domain=AF_INET type=SOCK_DGRAM|SOCK_CLOEXEC protocol=0",
                                        "remoteip=10.1.1.1 port=99999 protocol=TCPv6 remotehost=pod/a/b",
                                        "sin_port=080 sin_addr= 1.2.3.4 sa_family=AF_INET"])
            x["Data"] = rnd.choice(["syscall=SYS_CONNECT fd=3", "syscall=SYS_SOCKET", "syscall=SYS_BIND",
                                    "kprobe=tcp_accept domain=AF_INET6",
                                    "kfunc=UDP_SENDMSG,domain=a.b,daddr=10.0.0.1,qtype=AAAA",
                                    "SourceIP=192.168.29.42 SourcePort=53262 DestinationIP=fe80::1 "
                                    "DestinationPort=22 Protocol=TCP",
                                    "SourceIP=bad SourcePort=x DestinationIP=1.1.1.1 DestinationPort=65536 Protocol=GRE"])
    return x


def _ambiguous(x: Dict[str, Any]) -> bool:
    """Two non-canonical spellings of one field: the parser takes the first, Elasticsearch's decoded object has
    hash order (a documented difference)."""
    lows = [k.lower().replace(" ", "") for k in x if k not in CANONICAL_FIELDS]
    return len(lows) != len(set(lows))


def test_seeded_mutations_of_the_corpus() -> None:
    rnd = random.Random(20240102)
    json_events = [(loc, x) for loc, x in CORPUS if not loc.startswith("karmor-text")]
    checked = rejected = 0
    for _ in range(200):
        location, x0 = rnd.choice(json_events)
        x = _mutate(x0, rnd)
        if _ambiguous(x):
            continue
        message = dumps_str(x)
        got = pipelines().run({"message": message}, "alert")
        try:
            event = python_event(json.loads(message), location)
        except ParseError:
            assert got["event"]["kind"] == "pipeline_error"
            rejected += 1
            continue
        problems = diff(mask(mapper().to_ecs(event)), mask(got))
        assert not problems, f"{location} mutated to {message[:300]}:\n" + "\n".join(problems)
        checked += 1
    assert checked > 160


# --------------------------------------------------------------------------- simulator extension


def test_simulator_foreach_drops_map_entries_with_a_blank_key() -> None:
    """ForEachProcessor#innerExecuteMap keeps an entry only `if (Strings.hasText(newKey))` (elastic/elasticsearch,
    modules/ingest-common; documented in PR #64062: "setting the key to a null or empty string value")."""
    body = {"processors": [{"foreach": {"field": "m", "processor": {
        "set": {"if": "true", "field": "_ingest._key", "value": "{{{_ingest._value}}}"}}}}]}
    store = PipelineStore()
    store.put("p", body)
    doc = IngestDocument({"m": {"a": "x", "b": "", "c": " ", "d": "y"}}, clock=fixed_clock(CLOCK_ISO))
    out = to_json_value(Runtime(store).run_pipeline(store.get("p"), doc).source)
    assert out == {"m": {"x": "x", "y": "y"}}
