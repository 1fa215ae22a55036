"""What an unsafe spec costs per reported state, against a safe one (POR on).

    python benchmarks/bench_unsafe_cost.py [--runs 3] [--engine native] [--only lazy]

With partial-order reduction on, an unsafe spec runs two searches: the reduced one
(whose states are reported) and one without the reduction that rebuilds shortest
traces (`engine.shortest`).  For each (spec, model, N) this prints, in one run, the
CPU seconds of each search (this process and its children: the native search is one),
the states of each, and CPU microseconds per reported state, for the second search
without sleep sets ("old") and with them ("new", `verifier/search/commute.py`), each
the median of ``--runs`` runs.  Safe specs have no second search: their figure is the
reference.  The compiled native program is cached, so compiling is not counted after
the first run.  Not part of CI; figures depend on the machine's load (CPU seconds less so).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verifier import engine  # noqa: E402
from verifier.engine import Search, explore_model, searched, shortest  # noqa: E402
from verifier.lang.frontend import load  # noqa: E402
from verifier.run.budget import Budget  # noqa: E402
from verifier.run.model import Model  # noqa: E402
from verifier.search.por import reduction  # noqa: E402
from verifier.search.symmetry import canon  # noqa: E402

# (spec, model, N): pairs of a safe protocol and its unsafe variant
PAIRS = [
    ("examples/lazy_generation.tlb", "pso", 4),
    ("examples/lazy_missing_fence.tlb", "pso", 4),
    ("benchmarks/spin/lazy_publish_early.tlb", "pso", 4),
    ("examples/eager_fenced.tlb", "tso", 5),
    ("examples/eager_missing_fence.tlb", "tso", 5),
    ("examples/invalidate_before_update.tlb", "tso", 8),
    ("benchmarks/spin/eager_fenced_loop.tlb", "tso", 5),
    ("benchmarks/spin/eager_missing_fence_loop.tlb", "tso", 5),
    ("specs/reclaim/batched_flag_cleared_lost.tlb", "pso", None),
    ("specs/arm64/asid_rollover_xchg_racy.tlb", "pso", None),
]


def cpu() -> float:
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def one(path: str, model: str, n: int | None, eng: str, sleep: bool) -> tuple:
    """(CPU s and states of the reduced search, of the second one or None, its kinds)."""
    checked = load(str(ROOT / path), [f"N={n}"] if n else [])
    m = Model.of(checked, model)
    sym = canon(m.system, m.program)
    red = reduction(searched(m, sym))
    search = Search(engine=eng)
    t0 = cpu()
    ex = explore_model(m, Budget(10**8), search, sym, red, [])
    t1 = cpu()
    if not ex.found:
        return t1 - t0, len(ex.states), None, None, ()
    engine.SLEEP = sleep
    full = shortest(m, ex, sym, red, Budget(10**8), search, [])
    t2 = cpu()
    lengths = tuple(len(full.path(f.state)) + 1 for k, f in sorted(full.found.items()))
    return t1 - t0, len(ex.states), t2 - t1, len(full.states), lengths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--engine", default="native", choices=("native", "explicit"))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    print(f"engine {args.engine}, medians of {args.runs} runs; CPU s of this process and children")
    print()
    cols = (
        "spec (model, N)", "reported states", "CPU s reduced", "second search states",
        "CPU s second old / new", "µs per reported state: safe-like / old / new",
        "µs per state stored by both searches (new)", "trace lengths",
    )  # fmt: skip
    print(" | ".join(cols))
    print(" | ".join("---" for _ in cols))
    for path, model, n in PAIRS:
        if args.only not in path:
            continue
        one(path, model, n, args.engine, True)  # compile (cached) and warm up
        rows = {
            s: [one(path, model, n, args.engine, s) for _ in range(args.runs)]
            for s in (False, True)
        }
        red_s = statistics.median(r[0] for r in rows[False] + rows[True])
        states = rows[True][0][1]
        name = f"{path.split('/')[-1]} ({model}, N={n or '-'})"
        if rows[True][0][2] is None:
            per_one = 1e6 * red_s / states
            print(
                f"{name} | {states:,} | {red_s:.2f} | - | - | {per_one:.2f} | {per_one:.2f} | safe"
            )
            continue
        old = statistics.median(r[2] for r in rows[False])
        new = statistics.median(r[2] for r in rows[True])
        assert rows[False][0][3:] == rows[True][0][3:], "sleep sets changed the second search"
        per = [1e6 * x / states for x in (red_s, red_s + old, red_s + new)]
        stored = 1e6 * (red_s + new) / (states + rows[True][0][3])
        print(
            f"{name} | {states:,} | {red_s:.2f} | {rows[True][0][3]:,} | {old:.2f} / {new:.2f} | "
            f"{per[0]:.2f} / {per[1]:.2f} / {per[2]:.2f} | {stored:.2f} | {rows[True][0][4]}"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
