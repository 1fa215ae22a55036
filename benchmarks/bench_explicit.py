"""Explicit engine figures per example, N and model: states, transitions, states/s, peak memory.

    python benchmarks/bench_explicit.py [--max-n 4] [--max-states 3000000] [--examples DIR]

Each case runs in a fresh process so its peak RSS is its own.  Figures are for
comparing run to run on the same machine, not pass/fail thresholds.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _case(args: tuple[str, int | None, str, int]) -> tuple[str, ...]:
    from verifier.api import Model
    from verifier.engines.explicit import explore
    from verifier.lang.frontend import load

    path, n, model, max_states = args
    checked = load(path, [f"N={n}"] if n is not None else [])
    m = Model.of(checked, model)
    start = time.perf_counter()
    ex = explore(m.system, max_states=max_states)
    secs = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    status = "complete" if ex.complete else "limit"
    return (
        Path(path).stem,
        "-" if n is None else str(n),
        model,
        f"{len(ex.states)}",
        f"{ex.transitions}",
        f"{len(ex.states) / secs:,.0f}",
        f"{secs:.2f}",
        f"{rss_mb:,.0f}",
        status,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--max-n", type=int, default=4)
    ap.add_argument("--max-states", type=int, default=3_000_000)
    ap.add_argument("--examples", default=str(ROOT.parent / "shared" / "examples"))
    ap.add_argument("--only", default="", help="substring of example names to run")
    args = ap.parse_args()
    cases = []
    for f in sorted(Path(args.examples).glob("*.tlb")):
        if args.only not in f.stem:
            continue
        ns: list[int | None] = (
            list(range(1, args.max_n + 1)) if "param N" in f.read_text() else [None]
        )
        for n in ns:
            for model in ("sc", "tso", "pso"):
                cases.append((str(f), n, model, args.max_states))
    headers = (
        "example",
        "N",
        "model",
        "states",
        "transitions",
        "states/s",
        "seconds",
        "peak MB",
        "",
    )
    print(" | ".join(headers))
    print(" | ".join("---" for _ in headers))
    ctx = mp.get_context("spawn")
    with ctx.Pool(1, maxtasksperchild=1) as pool:
        for row in pool.imap(_case, cases):
            print(" | ".join(row), flush=True)


if __name__ == "__main__":
    main()
