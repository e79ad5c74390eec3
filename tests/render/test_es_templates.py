"""Rendered ILM policies, templates and manifest: ECS 8.17/9.4 types, coverage of the mapper's output, limits."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import elastic_ingest
from integrations import __version__
from integrations.errors import MappingDefinitionError
from integrations.mapping import Mapper, load_definition
from integrations.mapping.reference import EcsReference
from integrations.render import all_artifacts
from integrations.render import es_templates as et
from tests.conftest import CORPUS, CORPUS_JSONL, REFERENCE, REPO
from tests.support.es_state import DataStream

ROOT = REPO / "elastic_ingest"
STREAMS = ("alert", "log")


@pytest.fixture(scope="module")
def defn():
    return load_definition()


@pytest.fixture(scope="module")
def ecs8() -> EcsReference:
    return EcsReference.load(REFERENCE / "ecs" / "ecs_flat-8.17.0.yml")


@pytest.fixture(scope="module")
def ecs9() -> EcsReference:
    return EcsReference.load(REFERENCE / "ecs" / "ecs_flat.yml")


def read(rel: str) -> Dict[str, Any]:
    return json.loads((ROOT / rel).read_text(encoding="utf-8"))


def component(stream: str) -> Dict[str, Any]:
    return read(f"component_templates/logs-accuknox.{stream}@package.json")


def leaves(props: Dict[str, Any], prefix: str = "") -> Iterator[Tuple[str, Dict[str, Any]]]:
    for name, spec in props.items():
        if "properties" in spec:
            yield from leaves(spec["properties"], f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", spec


def mapped(stream: str) -> Dict[str, Dict[str, Any]]:
    return dict(leaves(component(stream)["body"]["template"]["mappings"]["properties"]))


def doc_leaves(doc: Dict[str, Any], stop: set, prefix: str = "") -> Iterator[str]:
    for k, v in doc.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and name not in stop:
            yield from doc_leaves(v, stop, f"{name}.")
        else:
            yield name


@pytest.fixture(scope="module")
def corpus_docs(defn) -> List[Dict[str, Any]]:
    from integrations.events import iter_parse_path
    from integrations.model import ParsedEvent

    mapper = Mapper(defn, clock=lambda: ("2026-01-01T00:00:00.000000Z", 1767225600.0))
    docs = []
    for path in CORPUS_JSONL + sorted((CORPUS / "real").glob("*.txt")):
        for item in iter_parse_path(path):
            if isinstance(item, ParsedEvent):
                docs.append(mapper.to_ecs(item))
    assert len(docs) > 150
    return docs


# -- files -----------------------------------------------------------------------------


def test_rendered_files_are_current(defn) -> None:
    arts = {k: v for k, v in all_artifacts().items() if k.startswith("elastic_ingest/")
            and not k.startswith("elastic_ingest/ingest_pipelines/")}
    assert len(arts) == 8
    for rel, fn in arts.items():
        assert (REPO / rel).read_text(encoding="utf-8") == fn(defn), f"{rel} is stale: run accuknox-siem render"


@pytest.mark.parametrize("rel", sorted(p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.json")
                                       if p.name != "manifest.json"))
def test_asset_file_shape(rel: str) -> None:
    text = (ROOT / rel).read_text(encoding="utf-8")
    data = json.loads(text)
    assert set(data) == {"name", "body"}
    if not rel.startswith("ingest_pipelines/"):  # the pipeline renderer names its files without the version
        assert Path(rel).stem == data["name"]
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_no_synthetic_source_keep_anywhere() -> None:
    for path in ROOT.rglob("*.json"):
        assert "synthetic_source_keep" not in path.read_text(encoding="utf-8"), path


def test_manifest_and_load_order() -> None:
    manifest = read("manifest.json")
    assert manifest["version"] == __version__
    kinds = [a["kind"] for a in manifest["assets"]]
    assert kinds == sorted(kinds, key=elastic_ingest.KINDS.index)
    assert [a["name"] for a in manifest["assets"] if a["kind"] == "ingest_pipeline"] == [
        f"logs-accuknox.common-{__version__}", f"logs-accuknox.alert-{__version__}", f"logs-accuknox.log-{__version__}"]
    loaded = elastic_ingest.load_assets()
    assert [a.kind for a in loaded] == sorted((a.kind for a in loaded), key=elastic_ingest.KINDS.index)
    pipelines = [a for a in loaded if a.kind == "ingest_pipeline"]
    if pipelines:
        assert ".common-" in pipelines[0].name
    assert {a.name for a in loaded if a.kind != "ingest_pipeline"} == {
        a["name"] for a in manifest["assets"] if a["kind"] != "ingest_pipeline"}
    with pytest.raises(elastic_ingest.AssetError, match="version"):
        elastic_ingest.load_assets("0.0.0-other")


# -- settings, ILM, index templates ----------------------------------------------------------


@pytest.mark.parametrize("stream", STREAMS)
def test_component_template_settings(stream: str) -> None:
    body = component(stream)["body"]
    settings = body["template"]["settings"]["index"]
    assert settings["lifecycle"]["name"] == f"logs-accuknox.{stream}-default_policy"
    assert settings["default_pipeline"] == f"logs-accuknox.{stream}-{__version__}"
    assert settings["mapping"]["total_fields"]["limit"] == 2000
    assert settings["codec"] == "best_compression"
    mappings = body["template"]["mappings"]
    assert mappings["date_detection"] is False
    (dyn,) = mappings["dynamic_templates"]
    assert dyn["strings_as_keyword"] == {"match_mapping_type": "string",
                                         "mapping": {"type": "keyword", "ignore_above": 1024}}
    assert body["_meta"]["version"] == __version__ and body["_meta"]["managed_by"] == "accuknox-siem"


@pytest.mark.parametrize("stream, days", [("alert", 90), ("log", 30)])
def test_ilm_policy(stream: str, days: int) -> None:
    data = read(f"ilm/logs-accuknox.{stream}-default_policy.json")
    phases = data["body"]["policy"]["phases"]
    assert phases["hot"]["actions"]["rollover"] == {"max_primary_shard_size": "50gb", "max_age": "30d"}
    assert phases["delete"] == {"min_age": f"{days}d", "actions": {"delete": {}}}


@pytest.mark.parametrize("stream", STREAMS)
def test_index_template(stream: str) -> None:
    data = read(f"index_templates/logs-accuknox.{stream}.json")
    body = data["body"]
    assert data["name"] == f"logs-accuknox.{stream}"
    assert body["index_patterns"] == [f"logs-accuknox.{stream}-*"]
    assert body["data_stream"] == {} and body["priority"] == 200
    assert body["composed_of"] == [f"logs-accuknox.{stream}@package", f"logs-accuknox.{stream}@custom"]
    assert body["ignore_missing_component_templates"] == [f"logs-accuknox.{stream}@custom"]
    assert body["_meta"] == {"managed_by": "accuknox-siem", "version": __version__,
                             "description": f"accuknox.{stream} data streams"}


# -- mappings against ECS ---------------------------------------------------------------------


@pytest.mark.parametrize("stream", STREAMS)
def test_mapped_fields_are_ecs_8_and_9_with_the_same_type_or_vendor(stream: str, defn, ecs8, ecs9) -> None:
    vendor = defn.vendor_fields
    for name, spec in mapped(stream).items():
        if name in vendor:
            assert spec["type"] == vendor[name], name
            continue
        f8, f9 = ecs8.field(name), ecs9.field(name)
        assert f8 is not None, f"{name} is not an ECS 8.17.0 field"
        assert f9 is not None, f"{name} is not an ECS 9.4.0 field"
        assert spec["type"] == f8.type == f9.type, name


@pytest.mark.parametrize("stream", STREAMS)
def test_mappings_follow_ecs_composable_templates(stream: str, defn) -> None:
    """Where ECS ships a composable template for a field, ours is the same minus synthetic_source_keep."""
    theirs: Dict[str, Dict[str, Any]] = {}
    for path in (REFERENCE / "ecs" / "composable" / "component").glob("*.json"):
        props = json.loads(path.read_text(encoding="utf-8"))["template"]["mappings"].get("properties", {})
        theirs.update(leaves(props))
    ecs_fields = {n: s for n, s in mapped(stream).items() if n not in defn.vendor_fields}
    assert set(ecs_fields) <= set(theirs)  # every ECS field we map has a composable template entry
    for name, spec in ecs_fields.items():
        expected = copy.deepcopy(theirs[name])
        expected.pop("synthetic_source_keep", None)
        assert spec == expected, name


@pytest.mark.parametrize("stream", STREAMS)
def test_multi_fields_where_ecs_defines_them(stream: str) -> None:
    fields = mapped(stream)
    assert fields["process.command_line"] == {"type": "wildcard", "fields": {"text": {"type": "match_only_text"}}}
    assert fields["process.executable"]["fields"] == {"text": {"type": "match_only_text"}}
    assert fields["event.original"] == {"type": "keyword", "index": False, "doc_values": False}
    for name in ("data_stream.type", "data_stream.dataset", "data_stream.namespace"):
        assert fields[name] == {"type": "constant_keyword"}
    assert fields["kubearmor.event_data"] == fields["kubearmor.extra"] == {"type": "flattened"}


@pytest.mark.parametrize("stream", STREAMS)
def test_exactly_the_emitted_fields_are_mapped(stream: str, defn) -> None:
    expected = set(defn.ecs_targets()) | set(defn.vendor_fields) | set(et.MAPPER_FIELDS) | set(et.PIPELINE_FIELDS)
    assert set(mapped(stream)) == expected


@pytest.mark.parametrize("stream", STREAMS)
def test_field_count_is_below_the_limit(stream: str) -> None:
    props = component(stream)["body"]["template"]["mappings"]["properties"]
    count = et.count_mapped_fields(props)
    assert 150 < count < et.TOTAL_FIELDS_LIMIT


def test_the_mapping_covers_every_field_the_mapper_emits(defn, corpus_docs) -> None:
    """The whole corpus, mapped in Python: every leaf has an explicit mapping and every value fits it."""
    for stream in STREAMS:
        fields = mapped(stream)
        stop = {n for n, s in fields.items() if s["type"] == "flattened"}
        emitted = set()
        for doc in corpus_docs:
            emitted.update(doc_leaves(doc, stop))
        unmapped = emitted - set(fields)
        assert not unmapped, f"{stream}: unmapped {sorted(unmapped)}"
    body = component("alert")["body"]["template"]
    ds = DataStream("logs-accuknox.alert-default", "t", {"index.mapping.total_fields.limit": 2000},
                    body["mappings"])
    for doc in corpus_docs:
        ds.constants.clear()
        ds.check_document(doc)  # raises on a type mismatch
    assert ds.dynamic_fields == set()


# -- the renderer refuses what it cannot map ---------------------------------------------------


def test_a_non_ecs_target_fails_rendering(defn) -> None:
    broken = copy.deepcopy(defn)
    broken.rules[0].ecs = ["made.up_field"]
    with pytest.raises(MappingDefinitionError, match="made.up_field is neither an ECS 8.17.0 field"):
        et.field_mappings(broken, et.ecs_flat())


def test_an_unknown_vendor_type_fails_rendering(defn) -> None:
    broken = copy.deepcopy(defn)
    broken.vendor_fields["kubearmor.tty"] = "text_with_typo"
    with pytest.raises(MappingDefinitionError, match="kubearmor.tty"):
        et.field_mappings(broken, et.ecs_flat())


def test_renamed_streams_fail_rendering(defn) -> None:
    broken = copy.deepcopy(defn)
    for rule in broken.rules:
        if "data_stream.dataset" in rule.ecs:
            rule.transforms = [("format", {"template": "kubearmor.{0}"})]
    with pytest.raises(MappingDefinitionError, match="artifact paths"):
        et.render_manifest(broken)


def test_missing_reference_is_a_clear_error(monkeypatch, tmp_path) -> None:
    from integrations.errors import ConfigError

    monkeypatch.setenv("ACCUKNOX_REFERENCE_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="ACCUKNOX_REFERENCE_DIR"):
        et.ecs_flat()
