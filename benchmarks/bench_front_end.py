"""Time of each front-end phase on one long handler, at doubling sizes.

    python3 benchmarks/bench_front_end.py [--sizes 750,1500,3000,6000]

A spec whose handler has N random statements (loads, stores, accesses, invlpg,
fences, ifs) goes through check, lower, build (tso) and compile; the table prints
seconds per phase and the ratio to the previous size. Each phase should stay near
x2 per doubling (lowering once split the whole source per statement: x4).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verifier.ir.lower import lower  # noqa: E402
from verifier.lang.frontend import load_text  # noqa: E402
from verifier.machine.semantics import build  # noqa: E402
from verifier.run.compile import compile_system  # noqa: E402

STATEMENTS = ("r := x", "x := 1", "read V", "invlpg V", "fence", "if r == 1 { skip }", "r := r % 3")


def spec(n: int) -> str:
    rng = random.Random(1)
    body = "\n".join("    " + rng.choice(STATEMENTS) for _ in range(n))
    return f"frame A\npage V -> A rw\nvar x = 0\ncore c {{ ipi c h }}\nhandler h {{\n{body}\n}}\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="750,1500,3000,6000")
    sizes = [int(x) for x in ap.parse_args().sizes.split(",")]
    load_text(spec(1), "warm.tlb", [])  # build the parser once, outside the timings
    print(f"{'N':>6} {'bytes':>7} {'check':>7} {'lower':>7} {'build':>7} {'compile':>8}")
    for n in sizes:
        text = spec(n)
        t0 = time.perf_counter()
        checked = load_text(text, "big.tlb", [])
        t1 = time.perf_counter()
        prog = lower(checked)
        t2 = time.perf_counter()
        system = build(prog, "tso")
        t3 = time.perf_counter()
        compile_system(system)
        t4 = time.perf_counter()
        print(
            f"{n:>6} {len(text):>7} {t1 - t0:>7.2f} {t2 - t1:>7.2f} {t3 - t2:>7.2f} {t4 - t3:>8.2f}"
        )


if __name__ == "__main__":
    main()
