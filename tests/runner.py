"""Run every check of the collection, stop at the first failure, and end with one line ``N passed, N failed`` that
sums the tests of all steps. The checks run one after another beside the lab scenarios (TEST_SERIAL=1: every step
in turn); a failure in either stops the other.

A step that writes JUnit XML (pytest, testinfra under molecule) counts the test cases in it; ansible-test
sanity counts the sanity tests it ran; any other step (a linter, a build) counts as one test. Whatever
happens, the lab is torn down at the end and the last step checks that nothing of it is left.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAB = REPO / "tests" / "lab" / "lab.sh"

# (name, make target). The targets are the Makefile's, so each step can also be run on its own.
STEPS = [
    ("ruff", "ruff"),
    ("yamllint", "yamllint"),
    ("ansible-lint", "ansible-lint"),
    ("sanity", "sanity"),
    ("unit", "unit"),
    ("build", "build"),
    ("docs-lint", "docs-lint"),
    ("molecule", "molecule"),
]
# The steps that use the lab; the others are checks run beside them (unless TEST_SERIAL=1).
LAB_STEPS = ("molecule",)

SANITY_RUN = re.compile(r"""^Running sanity test ["']([^"']+)["']""")
SANITY_FAIL = re.compile(r"^ERROR: The (\d+ )?sanity test(s)? failed:|^ERROR: Found \d+ (\S+) issue")


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, other: "Counts") -> None:
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped


def junit_counts(directory: Path) -> Counts | None:
    """Sum the test cases of every JUnit XML file in ``directory``; None when there is none."""
    files = sorted(directory.glob("*.xml")) if directory.is_dir() else []
    return junit_counts_files(files) if files else None


def junit_counts_files(files: list[Path]) -> Counts:
    total = Counts()
    for path in files:
        root = ET.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        for suite in suites:
            tests = int(suite.get("tests", 0))
            bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped = int(suite.get("skipped", 0))
            total.add(Counts(passed=tests - bad - skipped, failed=bad, skipped=skipped))
    return total


def scenario_times(directory: Path) -> list[str]:
    """One line per molecule scenario (tests/molecule.sh writes "name seconds rc"), its tests and its wall time."""
    path = directory / "scenario-times.txt"
    if not path.is_file():
        return []
    lines = []
    for entry in path.read_text().split("\n"):
        parts = entry.split()
        if len(parts) != 3:
            continue
        name, seconds, rc = parts[0], int(parts[1]), int(parts[2])
        counts = junit_counts_of(directory / ("molecule-%s.xml" % name))
        tests = "%4d tests" % (counts.passed + counts.failed + counts.skipped) if counts else "   - tests"
        lines.append(f"  {name:<11} {tests} {'ok' if rc == 0 else 'FAILED':>6} {seconds:14d} s")
    return lines


def junit_counts_of(path: Path) -> Counts | None:
    return junit_counts_files([path]) if path.is_file() else None


def sanity_counts(output: list[str], rc: int) -> Counts | None:
    """Count the sanity tests ansible-test ran; the failed ones are those it names in ERROR lines."""
    ran = [m.group(1) for m in map(SANITY_RUN.match, output) if m]
    if not ran:
        return None
    failed = {m.group(3) for m in map(SANITY_FAIL.match, output) if m and m.group(3)}
    nfailed = len(failed) or (1 if rc else 0)
    return Counts(passed=len(ran) - nfailed, failed=nfailed)


def step_counts(name: str, rc: int, output: list[str], junit_dir: Path) -> Counts:
    counts = junit_counts(junit_dir)
    if counts is None and name == "sanity":
        counts = sanity_counts(output, rc)
    if counts is None:
        counts = Counts(passed=0 if rc else 1, failed=1 if rc else 0)
    elif rc and counts.failed == 0:
        counts.failed = 1  # the step failed outside its tests (set-up, teardown): that is a failure too
    return counts


OUT = threading.Lock()  # one writer at a time: the lab's streamed lines and the checks' finished blocks


class Runner:
    """The running steps' processes (each in its own process group), so that a failure elsewhere stops them."""

    def __init__(self) -> None:
        self.procs: set[subprocess.Popen] = set()
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def run(self, argv: list[str], env: dict[str, str], stream: bool = True) -> tuple[int, list[str]]:
        """Run argv; its output streamed line by line (stream) or kept and returned only."""
        lines: list[str] = []
        with subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                              start_new_session=True) as proc:
            with self.lock:
                self.procs.add(proc)
            if self.stopping.is_set():
                self._signal(proc)
            assert proc.stdout is not None
            for line in proc.stdout:
                if stream:
                    with OUT:
                        sys.stdout.write(line)
                        sys.stdout.flush()
                lines.append(line.rstrip("\n"))
            rc = proc.wait()
            with self.lock:
                self.procs.discard(proc)
            return rc, lines

    @staticmethod
    def _signal(proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Stop every running step (SIGTERM to its process group): the first failure ends the run."""
        self.stopping.set()
        with self.lock:
            for proc in list(self.procs):
                self._signal(proc)


def run(argv: list[str], env: dict[str, str]) -> tuple[int, list[str]]:
    """Run argv, streaming its output and keeping a copy of it."""
    return Runner().run(argv, env)


def lab_cleanup(env: dict[str, str]) -> None:
    subprocess.run([str(LAB), "destroy"], cwd=REPO, env=env, check=False)


class Suite:
    """The steps of one `make test`: their results, and the first failure that stops the others."""

    def __init__(self, env: dict[str, str], junit_root: Path, steps: list[tuple[str, str]] | None = None) -> None:
        self.env = env
        self.junit_root = junit_root
        self.steps = STEPS if steps is None else steps
        self.runner = Runner()
        self.results: dict[str, tuple[Counts, float]] = {}
        self.failed: list[str] = []

    def run_step(self, name: str, target: str, stream: bool) -> None:
        junit_dir = self.junit_root / name
        junit_dir.mkdir(parents=True)
        header = f"\n===== step {name}: make {target} ====="
        if stream:
            with OUT:
                print(header, flush=True)
        t0 = time.monotonic()
        rc, output = self.runner.run(self.command(target), dict(self.env, JUNIT_DIR=str(junit_dir)), stream=stream)
        if not stream:  # a check run beside the lab: its output in one block once it is done
            with OUT:
                print("\n".join([header, *output]), flush=True)
        self.results[name] = (step_counts(name, rc, output, junit_dir), time.monotonic() - t0)
        if rc and not self.runner.stopping.is_set():
            self.failed.append(name)
            with OUT:
                print(f"===== step {name} FAILED (exit {rc}); stopping =====", flush=True)
            self.runner.stop()

    @staticmethod
    def command(target: str) -> list[str]:
        return ["make", "--no-print-directory", target]

    def run_all(self, steps: list[tuple[str, str]], stream: bool) -> None:
        for name, target in steps:
            if self.runner.stopping.is_set():
                return
            self.run_step(name, target, stream)

    def run(self, serial: bool) -> None:
        """The checks (linters, sanity, unit tests, build) one after another beside the lab scenarios, which mostly
        wait on their hosts, so the suite takes the lab's time rather than the sum; or every step in turn (serial)."""
        if serial:
            self.run_all(self.steps, stream=True)
            return
        checks = [s for s in self.steps if s[0] not in LAB_STEPS]
        lab = [s for s in self.steps if s[0] in LAB_STEPS]
        beside = threading.Thread(target=self.run_all, args=(checks, False), name="checks", daemon=True)
        beside.start()
        self.run_all(lab, stream=True)
        while beside.is_alive():
            beside.join(0.5)

    def summary(self, total: Counts, started: float) -> None:
        print("\n===== summary =====")
        for name in [n for n, _t in self.steps] + ["leftovers"]:
            if name not in self.results:
                print(f"{name:<13} not run (an earlier failure stopped the suite)")
                continue
            counts, seconds = self.results[name]
            print(f"{name:<13} {counts.passed:>4} passed {counts.failed:>3} failed {counts.skipped:>3} skipped {seconds:7.1f} s")
            for line in scenario_times(self.junit_root / name):
                print(line)
        print(f"wall time {time.monotonic() - started:.0f} s")
        print(f"{total.passed} passed, {total.failed} failed")


def main() -> int:
    junit_root = REPO / "build" / "junit"
    shutil.rmtree(junit_root, ignore_errors=True)
    env = dict(os.environ)
    suite = Suite(env, junit_root)
    total = Counts()
    interrupted = False

    def on_signal(signum, frame):  # pylint: disable=unused-argument
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    try:
        suite.run(serial=os.environ.get("TEST_SERIAL") == "1")
    except KeyboardInterrupt:
        interrupted = True
        suite.runner.stop()
        print("\n===== interrupted; tearing the lab down =====", flush=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for counts, _seconds in suite.results.values():
            total.add(counts)
        if interrupted or total.failed or suite.failed:
            lab_cleanup(env)
        print("\n===== step leftovers: nothing of the lab may remain =====", flush=True)
        rc = run([str(LAB), "leftovers"], env)[0]
        leftovers = Counts(passed=0 if rc else 1, failed=1 if rc else 0)
        total.add(leftovers)
        suite.results["leftovers"] = (leftovers, 0.0)
        if interrupted or (suite.failed and total.failed == 0):
            total.failed += 1

    suite.summary(total, started)
    return 1 if total.failed else 0


if __name__ == "__main__":
    sys.exit(main())
