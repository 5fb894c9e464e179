"""The real scenario's tests run the collection's playbooks the way an operator does (tests/molecule/labtools.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
