"""States before and after each reduction: for each protocol, N and model, the
explicit search runs four times in one process each (none, symmetry, partial-order
reduction, both) and one table gives states, transitions and CPU seconds, with the
share of states each reduction removes.

    python benchmarks/bench_reductions.py [--only lazy] [--n 2,3,4] [--models pso]
        [--max-states 3000000]

Protocols: the five examples (`examples/`) the SPIN benchmark has a Promela model
of (`benchmarks/spin/*.pml`).  A run that reaches
``--max-states`` is shown with ``>``; the next N of that protocol is skipped for the
reductions that already did not finish.  Figures for comparing reductions on one
machine, not thresholds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

WORKER = r"""
import json, sys, time
from verifier.api import Model
from verifier.search.explicit import explore
from verifier.search.por import reduction
from verifier.search.symmetry import canon
from verifier.lang.frontend import load
path, n, model, max_states, sym, por = sys.argv[1:7]
m = Model.of(load(path, [f"N={n}"]), model)
opts = {}
if sym == "1":
    opts["canon"] = canon(m.system, m.program).fn
if por == "1":
    opts["ample"] = reduction(m.system).ample
start = time.process_time()
ex = explore(m.system, max_states=int(max_states), **opts)
print(json.dumps({"states": len(ex.states), "transitions": ex.transitions,
                  "seconds": time.process_time() - start, "complete": ex.complete,
                  "kinds": sorted(ex.found)}))
"""

MODES = (("none", "0", "0"), ("sym", "1", "0"), ("por", "0", "1"), ("sym+por", "1", "1"))


def protocols() -> list[Path]:
    spin = sorted((ROOT / "benchmarks" / "spin").glob("*.pml"))
    return [EXAMPLES / f"{p.stem}.tlb" for p in spin]


def run(path: Path, n: int, model: str, max_states: int, sym: str, por: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    args = [str(path), str(n), model, str(max_states), sym, por]
    p = subprocess.run(
        [sys.executable, "-c", WORKER, *args], env=env, capture_output=True, text=True
    )
    if p.returncode != 0:
        raise SystemExit(f"{path.name} N={n} {model}: {p.stderr.strip().splitlines()[-1]}")
    return json.loads(p.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="protocols whose file name contains this")
    ap.add_argument("--n", default="2,3,4", help="values of N (comma-separated)")
    ap.add_argument("--models", default="pso", help="memory models (comma-separated)")
    ap.add_argument("--max-states", type=int, default=3_000_000)
    args = ap.parse_args()
    head = "protocol | N | model | reduction | states | transitions | CPU s | states removed"
    head += " | kinds"
    print(f"| {head} |")
    print("|---|---|---|---|---:|---:|---:|---:|---|")
    for path in protocols():
        if args.only not in path.name:
            continue
        where = "spin/" if path.parent.name == "spin" else ""
        for model in args.models.split(","):
            gave_up: set[str] = set()
            for n in (int(x) for x in args.n.split(",")):
                base = None
                for name, sym, por in MODES:
                    if name in gave_up:
                        continue
                    r = run(path, n, model, args.max_states, sym, por)
                    states = f"{r['states']:,}" if r["complete"] else f"> {r['states']:,}"
                    if not r["complete"]:
                        gave_up.add(name)
                    if name == "none":
                        base = r if r["complete"] else None
                    removed = (
                        f"{1 - r['states'] / base['states']:.0%}"
                        if base is not None and r["complete"] and name != "none"
                        else ""
                    )
                    print(
                        f"| {where}{path.stem} | {n} | {model} | {name} | {states} | "
                        f"{r['transitions']:,} | {r['seconds']:.1f} | {removed} | "
                        f"{', '.join(r['kinds']) or '-'} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
