"""Issue 11's bad-input table, run: every module refuses every bad argument set of bad_inputs.CASES with a clear
message naming the option, within a couple of seconds, without a traceback, without running systemctl or
journalctl, and without changing a byte under the case's directory. docs/bad-inputs.md is rendered from the same
cases by tests/render_bad_inputs.py."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import bad_inputs  # noqa: E402  pylint: disable=wrong-import-position


def _param(case):
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return str(tmp_path_factory.mktemp("bad-inputs"))


@pytest.mark.parametrize("case", [_param(c) for c in bad_inputs.CASES])
def test_bad_input_is_refused_cleanly(case, tmp_path):
    tmp = str(tmp_path / "t")
    os.mkdir(tmp)
    bad_inputs.make_fixtures(tmp)
    outcome = bad_inputs.run_case(case, tmp)
    assert bad_inputs.problems(case, outcome) == []


def test_every_module_has_at_least_ten_cases():
    counts = dict((name, 0) for name in bad_inputs.MODULES)
    for case in bad_inputs.CASES:
        counts[case.module] += 1
    assert min(counts.values()) >= 10, counts
    assert len(set(c.id for c in bad_inputs.CASES)) == len(bad_inputs.CASES)  # unique ids
