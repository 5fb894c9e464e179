"""The bot scenario's tests drive the modules and the playbook through labtools."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
