#!/usr/bin/env python3
"""Validate config/strategy_overrides.yaml (or --config PATH).

Exit 0 and print "config OK" when valid; exit 1 with a one-line reason on stderr when invalid (YAML parse error, missing
or unknown keys, engine.interval not a Hyperliquid interval, wrong types, out-of-range numbers).
Run from the repo root: python3 tools/validate_config.py  (the runbook's "uv run python tools/validate_config.py").
"""

import argparse
import os
import sys

if not __package__:  # run as a script: make the repo-root package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openclaw_standin import config
from openclaw_standin.common import DEFAULT_CONFIG


def main():
    parser = argparse.ArgumentParser(description="Validate the strategy config.")
    parser.add_argument("--config", default=DEFAULT_CONFIG, help=f"config file (default: {DEFAULT_CONFIG})")
    args = parser.parse_args()
    try:
        config.load(args.config)
    except config.ConfigError as exc:
        print(f"config invalid: {args.config}: {exc}", file=sys.stderr)
        return 1
    print("config OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
