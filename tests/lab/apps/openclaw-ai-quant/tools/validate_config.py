#!/usr/bin/env python3
"""Check that config/strategy_overrides.yaml is "fully explicit" for the stand-in's key set, like the real
tools/validate_config.py: reads <this script's dir>/../config/strategy_overrides.yaml (never the cwd; no arguments),
prints a table of the keys that are not OK and a summary, exits 1 only when keys are missing from the YAML.
Python/Rust columns both show the stand-in defaults (openclaw_standin.config.DEFAULTS; the real defaults for these keys).
A YAML that fails to parse, is empty, or is not a mapping fails with a traceback and exit 1, as the real tool does.
"""

import sys
from pathlib import Path

import yaml

_PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(_PROJECT_DIR))

from openclaw_standin.config import DEFAULTS, flatten  # noqa: E402


def load_yaml_global(path):
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return data.get("global", {})


def main():
    yaml_global = load_yaml_global(_PROJECT_DIR / "config" / "strategy_overrides.yaml")
    py_flat = rust_flat = flatten(DEFAULTS)
    yaml_flat = flatten(yaml_global)
    all_keys = sorted(set(py_flat) | set(rust_flat) | set(yaml_flat))
    missing, ok = [], 0
    print(f"{'Key':<50} {'Python':>12} {'Rust':>12} {'YAML':>12} {'Status':>10}")
    print("=" * 100)
    for key in all_keys:
        if key.startswith(("watchlist_exclude", "engine.")):
            continue
        py_val, rust_val, yaml_val = py_flat.get(key), rust_flat.get(key), yaml_flat.get(key)
        status = "OK"
        if yaml_val is None:
            status = "YAML_MISS"
            missing.append(key)
        if status == "OK":
            ok += 1
        else:
            show = [str(v) if v is not None else "-" for v in (py_val, rust_val, yaml_val)]
            print(f"{key:<50} {show[0]:>12} {show[1]:>12} {show[2]:>12} {status:>10}")
    print("\n--- Summary ---")
    print(f"  Total keys:    {len(all_keys)}")
    print(f"  OK:            {ok}")
    print("  PY!=RUST:      0 (defaults differ — YAML overrides both)")
    print(f"  YAML missing:  {len(missing)}")
    if missing:
        print("\n--- Keys missing from YAML (relying on code defaults) ---")
        for key in missing:
            print(f"  {key}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
