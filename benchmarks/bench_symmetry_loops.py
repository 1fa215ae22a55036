"""States with and without symmetry through a loop over a family (docs/engines.md,
"Symmetry through loops over a family"), on the protocols whose initiator loops over
the responders: the lazy examples (`for c in cpu[*] { await seen[c] == 1 }`) and the
eager ones written with `for c in cpu[*] { ipi c flush(V) }` (benchmarks/spin/).

    python benchmarks/bench_symmetry_loops.py [--max-n 5] [--max-states 3000000]
        [--timeout 300] [--engine native] [--only lazy_generation] [--after-only]

Each run is one `check_spec` with partial-order reduction on (the default), symmetry
off ("before": what these specs got until the loop was reduced) and on ("after");
printed: states, transitions, CPU seconds of the search process, verdict, the
shortest trace length per kind.  Runs past the state limit or the timeout are shown
as `> limit`.  Not part of CI.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verifier.api import check_spec  # noqa: E402
from verifier.lang.frontend import load  # noqa: E402

SPIN = ROOT / "benchmarks" / "spin"
PROTOCOLS = [
    ("lazy_generation", ROOT / "examples" / "lazy_generation.tlb", "pso"),
    ("lazy_missing_fence", ROOT / "examples" / "lazy_missing_fence.tlb", "pso"),
    ("eager_fenced_loop", SPIN / "eager_fenced_loop.tlb", "tso"),
    ("eager_missing_fence_loop", SPIN / "eager_missing_fence_loop.tlb", "tso"),
]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime + _children()


def _children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(path: Path, model: str, n: int, symmetry: bool, args: argparse.Namespace) -> str:
    checked = load(str(path), [f"N={n}"])
    t = _cpu()
    r = check_spec(
        checked, model, symmetry=symmetry, engine=args.engine,
        max_states=args.max_states, timeout=args.timeout,
    )  # fmt: skip
    secs = _cpu() - t
    if r.verdict == "inconclusive":
        return f"> {r.states:,} | {secs:.1f} | inconclusive | -"
    lengths = ", ".join(f"{t.kind} {len(t.steps)}" for t in r.traces) or "-"
    return f"{r.states:,} | {secs:.1f} | {r.verdict} | {lengths}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-n", type=int, default=5)
    ap.add_argument("--max-states", type=int, default=3_000_000)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--engine", default="native")
    ap.add_argument("--only", default=None)
    ap.add_argument("--after-only", action="store_true", help="skip the runs without symmetry")
    args = ap.parse_args()
    print("protocol (model) | N | states before | CPU s | verdict | trace | states after "
          "| CPU s | verdict | trace | ratio")  # fmt: skip
    print("--- | --- | --- | --- | --- | --- | --- | --- | --- | --- | ---")
    for name, path, model in PROTOCOLS:
        if args.only and args.only != name:
            continue
        for n in range(2, args.max_n + 1):
            start = time.monotonic()
            before = "- | - | - | -" if args.after_only else run(path, model, n, False, args)
            after = run(path, model, n, True, args)
            a, b = before.split(" | ")[0], after.split(" | ")[0]
            ratio = "-"
            if "-" not in (a, b) and not a.startswith(">") and not b.startswith(">"):
                ratio = f"{int(a.replace(',', '')) / int(b.replace(',', '')):.1f}x"
            print(f"{name} ({model}) | {n} | {before} | {after} | {ratio}", flush=True)
            if time.monotonic() - start > 4 * args.timeout:
                break


if __name__ == "__main__":
    main()
