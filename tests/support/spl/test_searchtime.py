"""KV_MODE=json extraction and Splunk's search-time order of operations in the offline evaluator."""

from __future__ import annotations

import pytest

from tests.support.spl import SplError
from tests.support.spl.searchtime import SearchTimeApp, json_fields

PROPS = """
[st]
KV_MODE = json
FIELDALIAS-a = HostName AS dvc
FIELDALIAS-b = HostName ASNEW keep
EVAL-from_alias = dvc . "!"
EVAL-sees_raw_not_eval = from_alias
EVAL-key = lower(Type)
LOOKUP-lvl = lvl key OUTPUT level
"""
TRANSFORMS = "[lvl]\nfilename = lvl.csv\ncase_sensitive_match = false\n"
LOOKUP = "key,level\nalert,high\n"
EVENTTYPES = '[et_high]\nsearch = sourcetype=st level="high"\n\n[et_any]\nsearch = from_alias=*\n'
TAGS = "[eventtype=et_high]\nalert = enabled\nnoisy = disabled\n"


@pytest.fixture()
def app() -> SearchTimeApp:
    return SearchTimeApp(PROPS, TRANSFORMS, EVENTTYPES, TAGS, {"lvl.csv": LOOKUP})


def test_json_flattening_as_kv_mode_json() -> None:
    raw = '{"A": {"B": "x", "C": [1, 2]}, "N": 1.50, "T": true, "Z": null, "E": "", "L": [{"k": "v"}]}'
    assert json_fields(raw) == {"A.B": "x", "A.C{}": ["1", "2"], "N": "1.50", "T": "true", "E": "", "L{}.k": "v"}


def test_default_field_collisions_are_renamed() -> None:
    raw = '{"Source": "/bin/ls", "source": "x", "Host": "h"}'
    assert json_fields(raw) == {"extracted_Source": "/bin/ls", "extracted_source": "x", "extracted_Host": "h"}
    assert json_fields(raw, collisions="keep")["Source"] == "/bin/ls"


def test_order_of_operations(app: SearchTimeApp) -> None:
    out = app.process('{"HostName": "n1", "Type": "Alert", "keep": "mine", "from_alias": "raw"}', "st")
    assert out["dvc"] == "n1"                      # FIELDALIAS ... AS overwrites
    assert out["keep"] == "mine"                   # ASNEW does not
    assert out["from_alias"] == "n1!"              # EVAL sees aliases
    assert out["sees_raw_not_eval"] == "raw"       # ... but not other EVALs
    assert out["level"] == "high"                  # LOOKUP sees EVAL output
    assert out["eventtype"] == ["et_high", "et_any"]  # eventtypes see lookups
    assert out["tag"] == ["alert"]                 # only enabled tags


def test_lookup_without_a_key_does_nothing(app: SearchTimeApp) -> None:
    out = app.process('{"HostName": "n1"}', "st")
    assert "level" not in out and out["eventtype"] == ["et_any"] and "tag" not in out


def test_lookup_miss_is_reported(app: SearchTimeApp) -> None:
    with pytest.raises(SplError, match="no row"):
        app.process('{"Type": "other"}', "st")


def test_unmodelled_configuration_is_refused() -> None:
    for props in ("[st]\nKV_MODE = json\nREPORT-x = t\n", "[st]\nKV_MODE = auto\n", "[st]\nKV_MODE = json\nFOO = 1\n"):
        with pytest.raises(SplError):
            SearchTimeApp(props, "", "", "", {})
