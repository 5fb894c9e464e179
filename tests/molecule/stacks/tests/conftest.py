"""Helpers shared by the stacks scenario's tests."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # labtools, as the other scenarios do


def wait_for(predicate, timeout=30.0, interval=0.5, what="condition"):
    """Poll predicate() until it returns a truthy value; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def tokens(host):
    """Every token value of the QuantLab role's env files, read on the host: what no flow's output may hold."""
    out = host.check_output("grep -h '_TOKEN=' /etc/quantlab/*.env")
    values = set(line.split("=", 1)[1].strip().strip('"') for line in out.splitlines() if "=" in line)
    assert values and all(len(v) >= 8 for v in values), "no tokens found in /etc/quantlab/*.env"
    return values
