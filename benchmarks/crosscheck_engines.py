"""Run both engines on every spec under every model its `expect` lines name and compare.

    python benchmarks/crosscheck_engines.py [PATH...] [--jobs N] [--timeout S]

The smt engine runs with --prove, so a safe spec must be proved safe to agree.
`hang` is left out of the comparison (the smt engine does not check it).  Prints
one row per (spec, model) and a last line `N agree, N differ, N undecided`.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _one(job: tuple[str, str, float]) -> tuple[str, str, str, str, str, float]:
    from verifier.api import check_spec
    from verifier.lang.frontend import load

    path, model, timeout = job
    checked = load(path, [])
    ex = check_spec(checked, model)
    start = time.monotonic()
    sm = check_spec(checked, model, engine="smt", prove=True, timeout=timeout)
    secs = time.monotonic() - start
    want = set(ex.kinds) - {"hang"}
    got = set(sm.kinds)
    if sm.verdict == "inconclusive" and got != want:
        status = "undecided"
    elif got == want and (sm.verdict != "safe" or not want):
        status = "agree"
    else:
        status = "DIFFER"
    return (
        path,
        model,
        ",".join(sorted(want)) or "-",
        ",".join(sorted(got)) or "-",
        f"{status} ({sm.verdict})",
        secs,
    )


def _short(path: str) -> str:
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else f"{p.parent.name}/{p.name}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*", default=[str(ROOT / "specs")])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()
    from verifier.api import expected_models
    from verifier.lang.frontend import load

    files = sorted(
        f for p in args.paths for f in ([Path(p)] if p.endswith(".tlb") else Path(p).rglob("*.tlb"))
    )
    jobs = [(str(f), m, args.timeout) for f in files for m in expected_models(load(str(f), []))]
    counts = {"agree": 0, "DIFFER": 0, "undecided": 0}
    with ProcessPoolExecutor(args.jobs) as pool:
        for path, model, want, got, status, secs in pool.map(_one, jobs):
            counts[status.split()[0]] += 1
            rel = _short(path)
            print(
                f"{rel!s:50} {model:4} explicit={want:40} smt={got:40} {status:24} {secs:6.1f}s",
                flush=True,
            )
    print(f"{counts['agree']} agree, {counts['DIFFER']} differ, {counts['undecided']} undecided")


if __name__ == "__main__":
    main()
