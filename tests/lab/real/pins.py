"""Print the real openclaw engine's runtime pins, one `name==version` a line, from its checkout's uv.lock:
the closure of the project's own dependencies (its dev group left out), with every dependency whose marker does not
hold on the lab hosts (Linux, CPython 3.11, x86_64: win32 and emscripten only ones) dropped.

usage: pins.py CHECKOUT
"""

import sys
import tomllib
from pathlib import Path

from packaging.markers import Marker

# Debian 12 lab hosts (and the controller): what the markers in uv.lock are evaluated against.
HOST = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
        "platform_python_implementation": "CPython", "python_version": "3.11", "python_full_version": "3.11.2",
        "platform_machine": "x86_64", "extra": ""}


def pins(checkout):
    root = Path(checkout)
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]["name"]
    lock = tomllib.loads((root / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    todo, seen = [project], {}
    while todo:
        package = packages[todo.pop()]
        for dep in package.get("dependencies", []):  # not dev-dependencies / optional-dependencies
            if "marker" in dep and not Marker(dep["marker"]).evaluate(HOST):
                continue
            if dep["name"] not in seen:
                seen[dep["name"]] = packages[dep["name"]]["version"]
                todo.append(dep["name"])
    return ["%s==%s" % item for item in sorted(seen.items())]


if __name__ == "__main__":
    print("\n".join(pins(sys.argv[1])))
