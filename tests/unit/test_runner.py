"""The summary line of `make test` sums the tests of every step: check how each kind of step is counted."""

import importlib.util
import sys
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location("runner", Path(__file__).resolve().parents[1] / "runner.py")
runner = importlib.util.module_from_spec(SPEC)
sys.modules["runner"] = runner
SPEC.loader.exec_module(runner)

PYTEST_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="2" skipped="3" tests="20" time="1.0">
</testsuite></testsuites>"""
BARE_SUITE = '<testsuite name="x" tests="4" failures="0" errors="0" skipped="0"></testsuite>'


def test_junit_counts_sum_every_file(tmp_path):
    (tmp_path / "a.xml").write_text(PYTEST_JUNIT)
    (tmp_path / "b.xml").write_text(BARE_SUITE)
    counts = runner.junit_counts(tmp_path)
    assert (counts.passed, counts.failed, counts.skipped) == (14 + 4, 3, 3)


def test_junit_counts_none_without_files(tmp_path):
    assert runner.junit_counts(tmp_path) is None
    assert runner.junit_counts(tmp_path / "missing") is None


def test_sanity_counts_tests_and_named_failures():
    output = ['Running sanity test "pep8"', 'Running sanity test "pylint"', 'Running sanity test "shebang"',
              "ERROR: Found 2 pylint issue(s) which need to be resolved:", "ERROR: tests/x.py:1:1: something"]
    counts = runner.sanity_counts(output, rc=1)
    assert (counts.passed, counts.failed) == (2, 1)


def test_sanity_counts_a_failure_it_cannot_name():
    counts = runner.sanity_counts(["Running sanity test 'pep8'", "FATAL: something else"], rc=1)
    assert (counts.passed, counts.failed) == (0, 1)


@pytest.mark.parametrize(("rc", "expected"), [(0, (1, 0)), (2, (0, 1))])
def test_a_step_without_tests_counts_as_one(tmp_path, rc, expected):
    counts = runner.step_counts("ruff", rc, ["All checks passed!"], tmp_path)
    assert (counts.passed, counts.failed) == expected


def test_a_failing_step_whose_tests_passed_still_fails(tmp_path):
    """molecule can fail in create or destroy after its testinfra tests all passed."""
    (tmp_path / "m.xml").write_text(BARE_SUITE)
    counts = runner.step_counts("molecule", 1, [], tmp_path)
    assert (counts.passed, counts.failed) == (4, 1)


def test_each_scenario_gets_its_line_with_tests_and_time(tmp_path):
    (tmp_path / "scenario-times.txt").write_text("databases 95 0\nemergency 610 2\n")
    (tmp_path / "molecule-databases.xml").write_text('<testsuites><testsuite tests="7" failures="0" errors="0" skipped="0"/></testsuites>')
    lines = runner.scenario_times(tmp_path)
    assert [line.split() for line in lines] == [["databases", "7", "tests", "ok", "95", "s"], ["emergency", "-", "tests", "FAILED", "610", "s"]]


class ShellSuite(runner.Suite):
    """A suite whose steps are shell lines instead of make targets."""

    @staticmethod
    def command(target):
        return ["sh", "-c", target]


def test_a_failing_check_stops_the_lab_running_beside_it(tmp_path):
    suite = ShellSuite({}, tmp_path, steps=[("ruff", "exit 3"), ("yamllint", "true"), ("molecule", "sleep 600")])
    suite.run(serial=False)
    assert suite.failed == ["ruff"]
    assert "yamllint" not in suite.results  # the checks after the failed one do not run
    assert suite.results["molecule"][0].failed == 1  # stopped by SIGTERM, counted as failed


def test_a_failing_lab_stops_the_checks(tmp_path):
    suite = ShellSuite({}, tmp_path, steps=[("ruff", "sleep 600"), ("molecule", "exit 2")])
    suite.run(serial=False)
    assert suite.failed == ["molecule"]
    assert suite.results["ruff"][0].failed == 1


def test_serial_runs_the_steps_in_turn_and_stops_at_the_first_failure(tmp_path):
    out = tmp_path / "order"
    steps = [("ruff", "echo ruff >> %s" % out), ("molecule", "echo molecule >> %s; exit 1" % out), ("unit", "echo unit >> %s" % out)]
    suite = ShellSuite({}, tmp_path, steps=steps)
    suite.run(serial=True)
    assert out.read_text().split() == ["ruff", "molecule"]
    assert suite.failed == ["molecule"] and "unit" not in suite.results
