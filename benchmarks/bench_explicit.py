"""Explicit engine figures, old engine against new in one run: states, transitions,
CPU seconds, states/s, bytes per state (peak RSS growth during the search and hang
analysis / states) and, for the flat store, the bytes its buffers, table and the
parent, command and edge arrays hold per state.

    python benchmarks/bench_explicit.py [--against main] [--only eager_fenced]
        [--n 2,3,4] [--models pso] [--repeat 3] [--max-states 3000000]

For each example, N and model, three engines run in fresh processes, ``--repeat``
times each, interleaved (so a busy machine slows them alike): ``old`` (the engine of
git revision ``--against``, exported with `git archive`), ``new`` without symmetry
reduction, ``new+sym``.  Seconds are medians; ratios compare medians of the same run.
Figures are for comparing engines on one machine, not pass/fail thresholds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = r"""
import gc, inspect, json, resource, sys, time
from verifier.api import Model
from verifier.search.explicit import explore
from verifier.lang.frontend import load
path, n, model, max_states, sym = sys.argv[1:6]
m = Model.of(load(path, [f"N={n}"] if n != "-" else []), model)
opts = {}
if sym == "1":
    from verifier.search.symmetry import canon
    opts["canon"] = canon(m.system, m.program).fn
gc.collect()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.process_time()
ex = explore(m.system, max_states=int(max_states), **opts)
secs = time.process_time() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
held = None
if hasattr(ex.states, "nbytes"):  # the flat store: what the search's structures hold
    arrays = (ex.parent, ex.via, ex.succ, ex.succ_off)
    held = ex.states.nbytes() + sum(a.itemsize * len(a) for a in arrays)
print(json.dumps({"states": len(ex.states), "transitions": ex.transitions, "seconds": secs,
                  "bytes": (peak - base) * 1024 / max(1, len(ex.states)),
                  "held": held and held / len(ex.states),
                  "complete": ex.complete, "kinds": sorted(ex.found)}))
"""


def export(rev: str) -> Path:
    """The ``verifier`` package of git revision ``rev``, in a temporary directory."""
    out = Path(tempfile.mkdtemp(prefix="tlbcheck-old-"))
    EXPORTED.append(out)
    data = subprocess.run(
        ["git", "archive", rev, "verifier"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(out, filter="data")
    return out


def run(tree: Path, path: str, n: str, model: str, max_states: int, sym: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    args = [path, n, model, str(max_states), "1" if sym else "0"]
    # in ``tree``: with ``-c`` the current directory comes first on sys.path, and
    # from the repository root every engine would be this checkout's
    p = subprocess.run(
        [sys.executable, "-c", WORKER, *args], env=env, cwd=tree, capture_output=True, text=True
    )
    if p.returncode != 0:
        raise SystemExit(p.stderr)
    return json.loads(p.stdout)


def main() -> None:
    try:
        table(parse())
    finally:
        for tree in EXPORTED:
            shutil.rmtree(tree, ignore_errors=True)


EXPORTED: list[Path] = []  # the old engines' temporary trees, removed at the end


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--against", default="main", help="git revision of the old engine")
    ap.add_argument("--examples", type=Path, default=ROOT / "examples")
    ap.add_argument("--only", default="eager_fenced", help="substring of example names")
    ap.add_argument("--n", default="2,3,4")
    ap.add_argument("--models", default="pso")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--max-states", type=int, default=3_000_000)
    ap.add_argument("--no-old", action="store_true", help="skip the old engine")
    return ap.parse_args()


def table(args: argparse.Namespace) -> None:
    old = None if args.no_old else export(args.against)
    engines = ([("old", old, False)] if old else []) + [
        ("new", ROOT, False),
        ("new+sym", ROOT, True),
    ]
    cols = (
        "example",
        "N",
        "model",
        "engine",
        "states",
        "transitions",
        "s (median)",
        "states/s",
        "B/state",
        "held B/state",
    )
    print(" | ".join(cols))
    print(" | ".join("---" for _ in cols))
    for f in sorted(args.examples.resolve().glob("*.tlb")):
        if args.only not in f.stem:
            continue
        ns = args.n.split(",") if "param N" in f.read_text() else ["-"]
        for n in ns:
            for model in args.models.split(","):
                runs: dict[str, list[dict]] = {name: [] for name, _, _ in engines}
                for _ in range(args.repeat):
                    for name, tree, sym in engines:
                        runs[name].append(run(tree, str(f), n, model, args.max_states, sym))
                med = {}
                for name, rs in runs.items():
                    secs = statistics.median(r["seconds"] for r in rs)
                    b = statistics.median(r["bytes"] for r in rs)
                    r = rs[0]
                    med[name] = (secs, r["states"], b)
                    flag = "" if r["complete"] else " (limit)"
                    held = f"{r['held']:,.0f}" if r.get("held") else "-"
                    print(
                        f"{f.stem} | {n} | {model} | {name} | {r['states']}{flag} | "
                        f"{r['transitions']} | {secs:.2f} | {r['states'] / secs:,.0f} | {b:,.0f}"
                        f" | {held}"
                    )
                if "old" in med:
                    so, _, bo = med["old"]
                    sn, st, bn = med["new"]
                    ss, sts, _ = med["new+sym"]
                    print(
                        f"{f.stem} | {n} | {model} | ratios | new/old states/s "
                        f"{so / sn:.2f}x, B/state {bn / max(bo, 1):.2f}x | sym states "
                        f"{st / sts:.1f}x fewer, sym/old time {ss / so:.2f}x | | | | |"
                    )
                sys.stdout.flush()


if __name__ == "__main__":
    main()
