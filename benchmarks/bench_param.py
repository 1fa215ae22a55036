"""The parameterised proof (`--engine smt --prove`) as the family grows.

    python benchmarks/bench_param.py [--sizes 4,8,12,16] [--models pso,tso] [--timeout 120]

For each N and model, one `tlbcheck check` of `specs/eager/eager_fenced_any_n.tlb`
(`eager_fenced` with `acks : 0..N`) with `--engine smt --prove`, in a child process:
its verdict, CPU seconds (the child's), wall seconds and peak RSS, and whether the
parameterised invariant took part (`param`).  Then `examples/eager_fenced.tlb` at N=16 (its
`acks` in the default range 0..15: unsafe, the wait for 16 acknowledgements never
passed and the sixteenth overflowing, found by random walks) within the timeout.
One run each; not part of CI.  Figures depend on the machine's load (CPU seconds less so).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(spec: str, n: int, model: str, timeout: float) -> tuple[str, str, float, float, float, str]:
    """(verdict, kinds, CPU s, wall s, peak MB, reason) of one check in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    cmd = [sys.executable, "-m", "verifier", "check", spec, "--model", model, "-D", f"N={n}"]
    cmd += ["--engine", "smt", "--prove", "--timeout", str(timeout), "--json"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False).stdout
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    res = json.loads(out)[0] if out.strip() else {"verdict": "?", "kinds": [], "reason": ""}
    verdict, kinds, reason = res["verdict"], ", ".join(res["kinds"]) or "-", res["reason"]
    return verdict, kinds, cpu, wall, after.ru_maxrss / 1024, reason


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="4,8,12,16")
    ap.add_argument("--models", default="pso,tso")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()
    cols = ("spec", "model", "N", "verdict", "kinds", "CPU s", "wall s", "peak MB", "param")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    cases = [
        ("specs/eager/eager_fenced_any_n.tlb", int(n), model)
        for model in args.models.split(",")
        for n in args.sizes.split(",")
    ]
    cases.append(("examples/eager_fenced.tlb", 16, "pso"))
    for spec, n, model in cases:
        verdict, kinds, cpu, wall, mb, reason = run(spec, n, model, args.timeout)
        by = "yes" if "inferred at sizes" in reason else "no"
        row = (spec, model, n, verdict, kinds, f"{cpu:.1f}", f"{wall:.1f}", f"{mb:.0f}", by)
        print("| " + " | ".join(map(str, row)) + " |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
