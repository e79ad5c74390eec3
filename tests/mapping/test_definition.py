"""The mapping definition loader: the bundled file is valid, and bad definitions fail with located messages."""

from __future__ import annotations

import re

import pytest
import yaml

from integrations.errors import MappingDefinitionError
from integrations.mapping.definition import DEFAULT_PATH, load_definition, parse_definition
from integrations.mapping.vocabulary import TRANSFORMS

MINIMAL = {
    "version": 1,
    "ecs_version": "8.17.0",
    "settings": {"data_stream_namespace": "default"},
    "tables": {"kinds": {"rows": {"MatchedPolicy": "alert"}, "default": "event"}},
    "facts": [{"id": "fact-a", "name": "a", "from": "Type"}],
    "rules": [{"id": "r1", "from": "Type", "transform": [{"lookup": {"table": "kinds"}}], "ecs": "event.kind"}],
}


def _load(mutate) -> None:  # type: ignore[no-untyped-def]
    raw = yaml.safe_load(yaml.safe_dump(MINIMAL))
    mutate(raw)
    parse_definition(yaml.safe_dump(raw), "test.yaml")


def test_bundled_definition_loads() -> None:
    d = load_definition()
    assert d.path == DEFAULT_PATH
    assert len(d.rules) > 80 and len(d.facts) > 10
    ids = [s.id for s in d.facts + d.rules] + [r.id for r in d.routes]
    assert len(ids) == len(set(ids))


def test_minimal_definition_loads() -> None:
    _load(lambda raw: None)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.update(extra=1), r"unknown top-level key\(s\) \['extra'\]"),
        (lambda r: r["rules"][0].update(typo=1), r"rule r1: unknown key\(s\) \['typo'\]"),
        (lambda r: r["rules"][0].update(transform=["nope"]), r"rule r1: unknown transform 'nope'"),
        (lambda r: r["rules"][0].update(transform=[{"lookup": {"table": "missing"}}]), r"rule r1: .*unknown table 'missing'"),
        (lambda r: r["rules"][0].update(transform=[{"lookup": {"tabel": "kinds"}}]), r"unknown parameter\(s\) \['tabel'\]"),
        (lambda r: r["rules"][0].update(transform=[{"regex": {}}]), r"missing parameter\(s\) \['pattern'\]"),
        (lambda r: r["rules"][0].update({"from": "$nofact"}), r"rule r1: unknown fact '\$nofact'"),
        (lambda r: r["rules"][0].update({"from": "NotAField"}), r"'NotAField' is not a canonical event field"),
        (lambda r: r["rules"][0].update({"from": "Owner.Nope"}), r"not a sub-field"),
        (lambda r: r["rules"].append(dict(r["rules"][0])), r"rule r1: duplicate id"),
        (lambda r: r["rules"][0].pop("ecs"), r"rule r1: a rule needs at least one target"),
        (lambda r: r["facts"][0].update(name="bad name"), r"fact fact-a: a fact needs a `name`"),
        (lambda r: r["rules"][0].update(inputs=["Type"]), r"exactly one of `from`"),
        (lambda r: r.update(version=2), r"unsupported definition version 2"),
        (lambda r: r["settings"].update(colour="red"), r"settings: unknown key"),
        (lambda r: r["tables"]["kinds"].update(rowz={}), r"tables.kinds: unknown key"),
        (lambda r: r["rules"][0].update(when={"$a": "x", "present_any": ["Nope"]}), r"'Nope' is not a canonical"),
        (lambda r: r.update(vendor_fields={"my.field": "keyword"}), r"vendor fields live under"),
        (lambda r: r["rules"][0].update({"from": {"constant": 1, "setting": "x"}}), r"exactly one of"),
        (lambda r: r["rules"][0].update({"from": {"setting": "nope"}}), r"unknown setting 'nope'"),
    ],
)
def test_bad_definitions_are_rejected_with_location(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MappingDefinitionError, match=message) as info:
        _load(mutate)
    assert str(info.value).startswith("test.yaml")


def test_invalid_yaml_is_reported() -> None:
    with pytest.raises(MappingDefinitionError, match="not valid YAML"):
        parse_definition("rules: [", "bad.yaml")


def test_unreadable_file_is_reported(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MappingDefinitionError, match="cannot read the mapping definition"):
        load_definition(tmp_path / "missing.yaml")


def test_every_transform_used_by_the_bundled_definition_is_registered() -> None:
    d = load_definition()
    used = {name for step in d.facts + d.rules for name, _ in step.transforms}
    assert used <= set(TRANSFORMS)
    # the vocabulary the issue names is present
    for name in ("copy", "basename", "integer", "lowercase", "kv", "network", "image", "lookup", "date"):
        assert name in TRANSFORMS


def test_every_rule_id_is_a_stable_slug() -> None:
    d = load_definition()
    for step in d.facts + d.rules:
        assert re.fullmatch(r"[a-z][a-z0-9-]+", step.id), step.id
