"""Run both engines on every spec under every model its `expect` lines name and compare.

    python benchmarks/crosscheck_engines.py [PATH...] [--jobs N] [--timeout S] [--budget S]

The smt engine runs with --prove, so it must decide every kind (hang included) to
agree.  Prints one row per (spec, model): the explicit kinds, the smt kinds and
verdict, the smt seconds; then the worst smt times, the median, and a last line
`N agree, N differ, N undecided, N over budget` (over budget: decided, but slower
than --budget seconds).  An exception from the smt engine is counted as `ERROR`.
The machine may be shared: note the load when quoting figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _one(job: tuple[str, str, float | None]) -> tuple[str, str, str, str, str, float, float]:
    from verifier.api import check_spec
    from verifier.lang.frontend import load

    path, model, timeout = job
    checked = load(path, [])
    start = time.monotonic()
    ex = check_spec(checked, model)
    ex_secs = time.monotonic() - start
    want = set(ex.kinds)
    start = time.monotonic()
    try:
        sm = check_spec(checked, model, engine="smt", prove=True, timeout=timeout)
    except Exception:  # an internal error: what this benchmark exists to find
        tb = traceback.format_exc().strip().splitlines()[-1]
        return path, model, _kinds(want), tb, "ERROR", time.monotonic() - start, ex_secs
    secs = time.monotonic() - start
    got = set(sm.kinds)
    if "not decided" in sm.reason:
        status = "undecided"
    elif got == want:
        status = "agree"
    else:
        status = "DIFFER"
    return path, model, _kinds(want), _kinds(got), f"{status} ({sm.verdict})", secs, ex_secs


def _kinds(kinds: set[str]) -> str:
    return ",".join(sorted(kinds)) or "-"


def _short(path: str) -> str:
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else f"{p.parent.name}/{p.name}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*", default=[str(ROOT / "specs")])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=None, help="smt --timeout (default none)")
    ap.add_argument("--budget", type=float, default=60.0, help="seconds a decision may take")
    ap.add_argument("--worst", type=int, default=8, help="slowest rows to list at the end")
    args = ap.parse_args()
    from verifier.api import expected_models
    from verifier.lang.frontend import load

    files = sorted(
        f for p in args.paths for f in ([Path(p)] if p.endswith(".tlb") else Path(p).rglob("*.tlb"))
    )
    jobs = [(str(f), m, args.timeout) for f in files for m in expected_models(load(str(f), []))]
    counts = {"agree": 0, "DIFFER": 0, "undecided": 0, "ERROR": 0, "over budget": 0}
    rows = []
    start = time.monotonic()
    with ProcessPoolExecutor(args.jobs) as pool:
        for path, model, want, got, status, secs, ex_secs in pool.map(_one, jobs):
            counts[status.split()[0]] += 1
            if status.startswith("agree") and secs > args.budget:
                counts["over budget"] += 1
            rows.append((secs, f"{_short(path)} {model}", ex_secs))
            print(
                f"{_short(path):50} {model:4} explicit={want:40} smt={got:40} {status:24} "
                f"{secs:6.1f}s",
                flush=True,
            )
    rows.sort(reverse=True)
    print(f"\nslowest smt --prove runs (explicit seconds in brackets), of {len(rows)}:")
    for secs, name, ex_secs in rows[: args.worst]:
        print(f"  {secs:7.1f}s  [{ex_secs:5.1f}s]  {name}")
    times = [r[0] for r in rows]
    if times:
        print(f"median {statistics.median(times):.1f}s, total {sum(times):.0f}s", end="")
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f", wall {time.monotonic() - start:.0f}s, load average at the end {load1:.1f}")
    print(", ".join(f"{n} {k}" for k, n in counts.items()))


if __name__ == "__main__":
    main()
