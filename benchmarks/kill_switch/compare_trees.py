"""Two checkouts of the collection side by side on a lab that bench.py left up (--keep): the verified and the
engage-only emergency stop, warm and cold, alternating the order every round, medians.

    python benchmarks/kill_switch/compare_trees.py WORKDIR TREE_A TREE_B [--hosts 20] [--repeats 3]

WORKDIR is bench.py's work directory (its lab inventory and bench inventory); each TREE is a checkout whose
.collections holds quantops.runbooks. For a change measured against the commit that bench.py measured in full."""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("work")
    parser.add_argument("trees", nargs=2)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(args.work)
    b = bench.Bench(work, work / "lab-hosts.yml")  # the deployed lab as bench.py left it: no new inventory, no deploy
    hosts = ["h%d" % i for i in range(1, args.hosts + 1)]
    envs = {t: dict(b.env, ANSIBLE_COLLECTIONS_PATH=str(Path(t) / ".collections"), ANSIBLE_CONFIG=str(Path(t) / "ansible.cfg"))
            for t in args.trees}
    samples = {}
    b.clear(hosts)
    for r in range(args.repeats):
        trees = args.trees if r % 2 == 0 else args.trees[::-1]
        for temp in (bench.TEMPS if r % 2 == 0 else bench.TEMPS[::-1]):
            for tree in trees:
                for key in ("fast_a", "fast_b"):
                    b.env = envs[tree]
                    elapsed, proofs = b.timed(key, temp, hosts)
                    samples.setdefault((tree, temp, key), []).append(elapsed)
                    bench.log("%s %s %s %.2f s%s" % (tree, temp, key, elapsed, " proofs median %.2f" % statistics.median(proofs) if proofs else ""))
    print("| tree | connections | (a) engage | (b) engage + verified |")
    print("| --- | --- | ---: | ---: |")
    for tree in args.trees:
        for temp in bench.TEMPS:
            a, b = (statistics.median(samples[(tree, temp, key)]) for key in ("fast_a", "fast_b"))
            print("| %s | %s | %.2f s | %.2f s |" % (tree, temp, a, b))
    print("(%d hosts, medians of %d, %s)" % (args.hosts, args.repeats, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))


if __name__ == "__main__":
    main()
