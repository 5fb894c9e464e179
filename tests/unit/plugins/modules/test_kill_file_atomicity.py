"""A reader polling the kill file in a tight loop, as the trader's RiskManager does, while it is rewritten
thousands of times, only ever sees a whole mode word or no file. The naive `open(..., "w")` writer, checked the
same way, is caught showing torn (empty) content, so the check can fail."""

import multiprocessing
import os

from ansible_collections.quantops.runbooks.plugins.modules import kill_switch

VALID = {b"close_only\n", b"halt_all\n"}
REWRITES = 3000


def reader(path, stop, seen):
    bad, reads = set(), 0
    while not stop.is_set():
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            data = None
        reads += 1
        if data is not None and data not in VALID:
            bad.add(data)
    seen.put((reads, sorted(bad)))


def hammer(path, write):
    stop, seen = multiprocessing.Event(), multiprocessing.Queue()
    proc = multiprocessing.Process(target=reader, args=(path, stop, seen))
    proc.start()
    try:
        for i in range(REWRITES):
            write(path, b"close_only\n" if i % 2 else b"halt_all\n")
            if i % 500 == 499:
                os.unlink(path)  # `mode: off` between engagements
    finally:
        stop.set()
        reads, bad = seen.get(timeout=30)
        proc.join(timeout=30)
    return reads, bad


def test_module_writes_are_never_seen_partial(tmp_path):
    reads, bad = hammer(str(tmp_path / "ai-quant-kill"), kill_switch.write_kill_file)
    assert reads > 1000
    assert bad == []
    assert [p.name for p in tmp_path.iterdir()] in ([], ["ai-quant-kill"])  # no temporary files left


def test_naive_writes_are_seen_torn(tmp_path):
    def naive(path, data):
        with open(path, "wb") as f:
            f.write(data)

    for _attempt in range(5):  # the race is probabilistic; it shows within a few runs
        reads, bad = hammer(str(tmp_path / "ai-quant-kill"), naive)
        if bad:
            break
    assert b"" in bad, "a truncate-then-write writer should have been caught mid-write (reads=%d)" % reads
