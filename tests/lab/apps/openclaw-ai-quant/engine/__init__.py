"""Stand-in of the real engine package: run `python3 -u -m engine.daemon` from the repo root."""
