"""The parameterised proof (`--engine smt --prove`) as the family grows.

    python benchmarks/bench_param.py [--sizes 4,8,12,16] [--models pso,tso] [--timeout 120]

For each N and model, one `tlbcheck check` of `specs/eager/eager_fenced_any_n.tlb`
(`eager_fenced` with `acks : 0..N`) with `--engine smt --prove`, in a child process:
its verdict, CPU seconds (the child's), wall seconds and peak RSS, and whether the
parameterised invariant decided it.  Then `examples/eager_fenced.tlb` at N=16 (its
`acks` in the default range 0..15, so `range` stays open there) within the timeout.
One run each; not part of CI.  Figures depend on the machine's load (CPU seconds less so).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(spec: str, n: int, model: str, timeout: float) -> tuple[str, float, float, float, str]:
    """(verdict, CPU s, wall s, peak MB, reason) of one check in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    cmd = [sys.executable, "-m", "verifier", "check", spec, "--model", model, "-D", f"N={n}"]
    cmd += ["--engine", "smt", "--prove", "--timeout", str(timeout)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False).stdout
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    line = out.splitlines()[0] if out else ""
    verdict = line.split()[2] if len(line.split()) > 2 else "?"
    reason = line[line.find("(") + 1 :] if "(" in line else line
    return verdict, cpu, wall, after.ru_maxrss / 1024, reason


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="4,8,12,16")
    ap.add_argument("--models", default="pso,tso")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()
    print("| spec | model | N | verdict | CPU s | wall s | peak MB | by the parameterised proof |")
    print("|---|---|---|---|---|---|---|---|")
    cases = [
        ("specs/eager/eager_fenced_any_n.tlb", int(n), model)
        for model in args.models.split(",")
        for n in args.sizes.split(",")
    ]
    cases.append(("examples/eager_fenced.tlb", 16, "pso"))
    for spec, n, model in cases:
        verdict, cpu, wall, mb, reason = run(spec, n, model, args.timeout)
        by = "yes" if "inferred at sizes" in reason else "no"
        print(f"| {spec} | {model} | {n} | {verdict} | {cpu:.1f} | {wall:.1f} | {mb:.0f} | {by} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
