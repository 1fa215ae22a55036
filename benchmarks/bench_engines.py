"""Time and peak memory of the explicit and smt engines on the examples.

    python3 benchmarks/bench_engines.py [--budget S] [--ns 2,3,4,5,6] [--model pso] [FILE...]

For each example and each N (-D N=k; specs without a param N run once), the
explicit engine explores the whole state space (or stops at the budget) and the
smt engine deepens its bound until the budget runs out.  Each run happens in its
own forked process so that the peak resident memory (ru_maxrss, which includes
z3's own allocations) belongs to that run alone.  The table is plain aligned
text, to diff run against run.

Columns: `explicit` verdict/kinds/states/seconds/MB; `smt` kinds, the depth it
completed within the budget (`depth`), seconds and MB.  Kinds are abbreviated
(uaf = use-after-free, st = stale-translation, sp = stale-permission, ...).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXAMPLES = ROOT / "examples"
SHORT = {
    "use-after-free": "uaf",
    "stale-translation": "st",
    "stale-permission": "sp",
    "asid-reuse": "asid",
    "assertion": "assert",
    "range": "range",
    "hang": "hang",
}


def _run(conn: Any, path: str, defines: list[str], model: str, engine: str, budget: float) -> None:
    from verifier.api import check_spec
    from verifier.lang.frontend import load

    checked = load(path, defines)
    start = time.monotonic()
    if engine == "smt":
        r = check_spec(checked, model, engine="smt", depth=10_000, timeout=budget)
    else:
        r = check_spec(checked, model, timeout=budget)
    seconds = time.monotonic() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    conn.send((r.verdict, [SHORT.get(k, k) for k in r.kinds], r.states, seconds, rss_mb))
    conn.close()


def measure(
    path: str, defines: list[str], model: str, engine: str, budget: float
) -> tuple[str, list[str], int, float, float]:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_run, args=(child, path, defines, model, engine, budget))
    p.start()
    child.close()
    try:
        out = parent.recv()
    except EOFError:
        out = ("crash", [], 0, 0.0, 0.0)
    p.join()
    return out  # type: ignore[no-any-return]


def has_param_n(path: Path) -> bool:
    return any(line.strip().startswith("param N") for line in path.read_text().splitlines())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", help="specs (default: the examples)")
    ap.add_argument(
        "--budget",
        type=float,
        default=3.0,
        metavar="S",
        help="seconds per engine run (default 3; the smt depth is what it reaches in this time)",
    )
    ap.add_argument("--ns", default="2,3,4,5,6", help="values of N (default 2..6)")
    ap.add_argument("--model", default="pso")
    args = ap.parse_args(argv)
    files = [Path(f) for f in args.files] or sorted(EXAMPLES.glob("*.tlb"))
    ns = [int(n) for n in args.ns.split(",")]
    head = (
        f"{'spec':<30} {'N':>2}  {'explicit':<14} {'states':>8} {'s':>7} {'MB':>6}  "
        f"{'smt':<14} {'depth':>5} {'s':>7} {'MB':>6}"
    )
    print(f"model {args.model}, budget {args.budget:g} s per run")
    print(head)
    print("-" * len(head))
    for f in files:
        for n in ns if has_param_n(f) else [None]:
            defines = [f"N={n}"] if n is not None else []
            ev, ek, es, et, em = measure(str(f), defines, args.model, "explicit", args.budget)
            _sv, sk, sd, st, sm = measure(str(f), defines, args.model, "smt", args.budget)
            ekinds = ",".join(ek) if ek else ev
            if ev == "inconclusive":
                ekinds = "timeout"
            skinds = ",".join(sk) if sk else "-"
            print(
                f"{f.stem:<30} {n if n is not None else '-':>2}  {ekinds:<14} {es:>8} "
                f"{et:>7.2f} {em:>6.0f}  {skinds:<14} {sd:>5} {st:>7.2f} {sm:>6.0f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
