"""The ingest simulator runs Elasticsearch's own REST YAML tests (testing-offline.md 3.1).

Every test case of ``reference/elasticsearch/ingest-rest-tests/`` is a parameter
(``file::test name``). Applicable cases must pass. Cases the simulator does not
cover are "not applicable" entries of ``yaml_runner.NOT_APPLICABLE`` (id -> reason),
whose ids are frozen in :data:`EXPECTED_NOT_APPLICABLE_IDS`; each of them is still
executed and must fail - a listed case that passes means the table is stale.
"""

from __future__ import annotations

from functools import cache
from typing import Dict, List

import pytest

from tests.conftest import REFERENCE
from tests.support.ingest_sim import yaml_runner

YAML_DIR = REFERENCE / "elasticsearch" / "ingest-rest-tests"

EXPECTED_TOTAL = 67

#: The not-applicable ids, frozen here so the table in ``yaml_runner.NOT_APPLICABLE`` (id -> reason,
#: imported rather than repeated) can only shrink: a new entry needs a matching edit of this set.
EXPECTED_NOT_APPLICABLE_IDS = frozenset({
    "200_dissect_processor.yml::Test dissect processor match",
    "200_dissect_processor.yml::Test dissect processor mismatch",
    "200_dissect_processor.yml::Test fail to create dissect processor",
    "40_mutate.yml::Test mutate processors",
    "270_set_processor.yml::Test set processor with index change and require_alias",
    "280_rename.yml::Test Rename Processor with template snippets",
    "280_rename.yml::Test Rename Processor with template snippets and override",
    "90_simulate.yml::Test verbose simulate with ignore_failure and no exception thrown",
    "90_simulate.yml::Test verbose simulate with Pipeline Processor with Multiple Pipelines",
})
EXPECTED_NOT_APPLICABLE = yaml_runner.NOT_APPLICABLE


@cache
def _results() -> Dict[str, yaml_runner.CaseResult]:
    return {r.case_id: r for r in yaml_runner.run_directory(YAML_DIR)}


def _case_ids() -> List[str]:
    return list(yaml_runner.iter_ids(YAML_DIR))


@pytest.mark.parametrize("case_id", _case_ids())
def test_yaml_case(case_id: str) -> None:
    result = _results()[case_id]
    if case_id in EXPECTED_NOT_APPLICABLE:
        assert result.status == "not_applicable", f"{case_id} is listed as not applicable but {result.status}"
        assert result.message == EXPECTED_NOT_APPLICABLE[case_id]
        assert not result.would_pass, f"{case_id} passes now: remove it from the not-applicable table"
    else:
        assert result.status == "passed", f"{case_id}: {result.message}"


def test_not_applicable_table_is_exact() -> None:
    reported = {cid: r.message for cid, r in _results().items() if r.status == "not_applicable"}
    assert reported == EXPECTED_NOT_APPLICABLE
    assert set(EXPECTED_NOT_APPLICABLE) == EXPECTED_NOT_APPLICABLE_IDS
    assert all(reason.strip() for reason in EXPECTED_NOT_APPLICABLE.values())


def test_summary_counts() -> None:
    counts = yaml_runner.summary(list(_results().values()))
    print(f"\ningest simulator vs ES REST YAML tests: run={counts['run']} passed={counts['passed']} "
          f"not_applicable={counts['not_applicable']} failed={counts['failed']}")
    for cid, reason in sorted(EXPECTED_NOT_APPLICABLE.items()):
        print(f"  n/a {cid}: {reason}")
    assert counts["run"] == EXPECTED_TOTAL
    assert counts["failed"] == 0
    assert counts["not_applicable"] == len(EXPECTED_NOT_APPLICABLE)
    assert counts["passed"] == EXPECTED_TOTAL - len(EXPECTED_NOT_APPLICABLE)
