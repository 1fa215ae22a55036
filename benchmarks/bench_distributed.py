"""The distributed search (`--cluster`) against the one-process search, in one run.

    python3 benchmarks/bench_distributed.py                      # starts a 2-node cluster
    python3 benchmarks/bench_distributed.py --cluster 127.0.0.1:6379 \
        specs/lazy/generation.tlb -D N=3

For each search: states, seconds, states per second, and per worker the states it
held, the bytes of its store and its process's resident memory; the one-process
search's resident memory beside them (the Python search, `--engine explicit`, and the
default, `auto`, which hands a large search to the native one).  Without --cluster it starts
a two-node Ray cluster on 127.0.0.1 (each node one CPU, an 80 MB object store, no
dashboard) and stops it at the end.  Figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verifier import api  # noqa: E402
from verifier.lang.frontend import load  # noqa: E402
from verifier.run.budget import rss_mb  # noqa: E402


def start_cluster() -> tuple[str, subprocess.Popen[bytes]]:
    """A two-node cluster on 127.0.0.1 (the tests' `tests/ray_cluster.py`)."""
    out = Path(tempfile.mkdtemp(prefix="tlbcheck-bench")) / "cluster.json"
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "ray_cluster.py"), str(out)])
    while not out.exists():
        if proc.poll() is not None:
            sys.exit("the Ray cluster did not start")
        time.sleep(0.2)
    os.environ["TLBCHECK_RAY_SHIP"] = "0"  # its workers import this tree (PYTHONPATH)
    return json.loads(out.read_text())["address"], proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec", nargs="?", default=str(ROOT / "specs/lazy/generation.tlb"))
    ap.add_argument("-D", dest="define", action="append", default=None)
    ap.add_argument("--model", default="pso")
    ap.add_argument("--cluster", help="a running Ray cluster's address (default: start one)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    defines = args.define if args.define is not None else ["N=3"]
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    proc = None
    address = args.cluster
    if address is None:
        address, proc = start_cluster()
    try:
        checked = load(args.spec, defines)
        print(f"{Path(args.spec).name} {' '.join('-D ' + d for d in defines)} {args.model}")
        for engine in ("explicit", "auto"):  # the Python search; the default (native when big)
            before = rss_mb()
            local = api.check_spec(checked, args.model, engine=engine)
            print(
                f"  {local.engine:<9}  {local.states:>9,} states  {local.seconds:7.2f} s  "
                f"{local.states / local.seconds:>9,.0f} states/s  "
                f"process {rss_mb():.0f} MB (+{rss_mb() - before:.0f} MB for the search)"
            )
        for n in args.workers:
            api.check_spec(checked, args.model, cluster=address, workers=n, max_states=10)  # warm
            r = api.check_spec(checked, args.model, cluster=address, workers=n)
            assert (r.verdict, r.kinds, r.states) == (local.verdict, local.kinds, local.states)
            note = next(x for x in r.reductions if x.startswith("cluster:"))
            print(
                f"  {n} worker{'s' if n > 1 else ' '}  {r.states:>9,} states  {r.seconds:7.2f} s  "
                f"{r.states / r.seconds:>9,.0f} states/s  {note}"
            )
    finally:
        if proc is not None:
            proc.terminate()


if __name__ == "__main__":
    main()
