"""tlbcheck's `riscv` model against herd7's RVWMO model (riscv.cat) on the memory-order
rule tests of tests/riscv/ (docs/riscv.md §2).

    python3 benchmarks/herd_riscv.py --herd PATH/herd7 [--cat riscv.cat]

Each ``tests/riscv/litmus/NAME.litmus`` (RISC-V assembly, written for this comparison)
states the outcome ``tests/riscv/NAME.tlb`` asserts against: herd7's observation
(Never, or Sometimes/Always) is compared with tlbcheck's verdict under `riscv` (safe, or
an `assertion`).  Printed: one line per test and the count that agree.  Exit status 0
when all agree, 1 when one differs, 2 on bad arguments.  The translation rules
(`sfence.vma`, invalid entries) have no herd7 counterpart and are not compared.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verifier.api import check_spec  # noqa: E402
from verifier.lang.frontend import load  # noqa: E402


def herd(binary: str, cat: str, test: Path) -> str:
    out = subprocess.run(
        [binary, "-model", cat, str(test)], capture_output=True, text=True, timeout=120
    ).stdout
    m = re.search(r"^Observation \S+ (\w+)", out, re.M)
    return m.group(1) if m else "?"


def tlbcheck(spec: Path) -> str:
    r = check_spec(load(str(spec), {}), "riscv")
    if r.verdict == "safe":
        return "Never"
    return "Sometimes" if r.kinds == ("assertion",) else f"{r.verdict} {','.join(r.kinds)}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--herd", required=True, help="the herd7 binary")
    p.add_argument("--cat", default="riscv.cat", help="herd7's model (default riscv.cat)")
    a = p.parse_args()
    tests = sorted((ROOT / "tests" / "riscv" / "litmus").glob("*.litmus"))
    agree = 0
    for t in tests:
        h = herd(a.herd, a.cat, t)
        ours = tlbcheck(ROOT / "tests" / "riscv" / f"{t.stem}.tlb")
        same = ours == "Never" if h == "Never" else ours == "Sometimes" and h != "?"
        agree += same
        print(f"{t.stem:24} herd7 {h:10} tlbcheck {ours:10} {'agree' if same else 'DIFFER'}")
    print(f"{agree} of {len(tests)} agree (herd7 -model {a.cat})")
    return 0 if agree == len(tests) else 1


if __name__ == "__main__":
    sys.exit(main())
