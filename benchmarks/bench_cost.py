"""Time of one timed run (`tlbcheck cost`) against the core count.

    python3 benchmarks/bench_cost.py [--cores 2,16,64,128,256] [--repeat 5] [FILE...]

For each spec (default: the eager, lazy and cpumask-style specs of docs/cost.md)
and each core count, the run is repeated and the median wall time and process
CPU time are printed, split into load (parse, check), and the run itself
(lowering, building the commands it needs, the event loop).  The machine is
shared: compare CPU seconds, and medians, not single wall times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verifier.cost.table import load_table  # noqa: E402
from verifier.cost.timing import timed_run  # noqa: E402
from verifier.lang.frontend import load  # noqa: E402

DEFAULT = ["specs/eager/full_fence.tlb", "specs/lazy/generation.tlb", "specs/eager/range_flush.tlb"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*", default=DEFAULT)
    ap.add_argument("--cores", default="2,16,64,128,256")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    table = load_table(None)
    head = f"{'spec':34} {'cores':>5} {'steps':>6} {'load s':>7}"
    print(f"{head} {'run wall s':>10} {'run cpu s':>9}")
    for f in args.files:
        for k in (int(x) for x in args.cores.split(",")):
            path = str(ROOT / f)
            loads, walls, cpus, steps = [], [], [], 0
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                checked = load(path, [f"N={k - 1}"], max_cores=1024)
                t1, c1 = time.perf_counter(), time.process_time()
                r = timed_run(checked, table)
                walls.append(time.perf_counter() - t1)
                cpus.append(time.process_time() - c1)
                loads.append(t1 - t0)
                steps = r.steps
            print(
                f"{Path(f).stem:34} {k:5d} {steps:6d} {statistics.median(loads):7.3f} "
                f"{statistics.median(walls):10.3f} {statistics.median(cpus):9.3f}"
            )


if __name__ == "__main__":
    main()
