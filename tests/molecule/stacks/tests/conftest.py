"""Helpers shared by the stacks scenario's tests."""

import re
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


def token_values(text):
    """The token values in the text of env files (`cat /etc/quantlab/*.env`): what no flow's output may hold."""
    values = set(m.group(1).strip().strip('"') for m in re.finditer(r"^[A-Z_]*_TOKEN=(.+)$", text, re.M))
    assert values and all(len(v) >= 8 for v in values), "no tokens found in the env files"
    return values


def tokens(host):
    """Every token value of the QuantLab role's env files, read on the host."""
    return token_values(host.check_output("cat /etc/quantlab/*.env"))
