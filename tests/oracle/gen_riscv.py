"""A seeded generator of small specs with the RISC-V statements (docs/riscv.md): every
`fence PRED, SUCC` and `fence.tso`, the four forms of `sfence.vma`, PTE stores (valid
and invalid, pages that start invalid), words, data through pages, atomics,
`complete`/`free`, `if`/`await`/`assert`.  Two or three cores in one named address
space, some with one IPI whose handler fences (gen_ipi.py), small enough for the oracle
under `riscv`, `arm` and sc/tso/pso."""

from __future__ import annotations

import random
from typing import Any

from verifier.lang.checked import CheckedSpec
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load_text

from .gen_ipi import RISCV_HANDLER, IpiDraw

SETS = ("r", "w", "rw")


class GenRiscv:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.regs = ["r", "s"]
        self.ipi = IpiDraw(seed, RISCV_HANDLER)

    def pick(self, *xs: Any) -> Any:
        return self.r.choice(xs)

    def fence(self) -> str:
        if self.r.random() < 0.2:
            return "fence.tso"
        return f"fence {self.pick(*SETS)},{self.pick(*SETS)}"

    def stmt(self, page: str) -> str:
        r, p = self.r, page
        reg = self.pick(*self.regs)
        return r.choice(
            [
                f"pte {p} := {self.pick('A', 'B', 'C')} {self.pick('rw', 'r')}",
                f"pte {p} := invalid",
                f"x := {r.randint(0, 2)}",
                f"{reg} := x",
                f"{reg} := read {p}",
                f"write {p} := {r.randint(1, 2)}",
                self.pick("read", "write") + f" {p}",
                self.fence(),
                self.fence(),
                self.pick(
                    f"sfence.vma {p}", f"sfence.vma mm.{p}", "sfence.vma asid mm", "sfence.vma"
                ),
                f"sfence.vma {p}",
                self.pick("fence", "fence release", "fence acquire"),
                f"{reg} := fetch_add(x, 1)",
                f"complete {p}",
                f"free {self.pick('A', 'B')}",
            ]
        )

    def body(self) -> list[str]:
        r = self.r
        out = [self.stmt(self.pick("V", "V", "W")) for _ in range(r.randint(2, 4))]
        if r.random() < 0.2:
            out.insert(r.randint(0, len(out)), "await x == 1")
        if r.random() < 0.2:
            out.insert(r.randint(0, len(out)), f"if r == 1 {{ {self.stmt('V')} }}")
        if r.random() < 0.3:
            out.append(f"assert {self.pick('r', 's')} != {r.randint(0, 2)}")
        return out

    def spec(self) -> str:
        r = self.r
        v = self.pick("V -> A rw", "V invalid")
        lines = ["frame A = 1, B = 2, C", "space mm asid 1 {", f"    page {v}", "    page W -> C r",
                 "}", "var x : 0..3 = 0", *self.ipi.declarations()]  # fmt: skip
        for c in range(self.pick(2, 2, 3)):
            body = self.body()
            if c == 0 and r.random() < 0.5:  # an update that ends: the races are judged
                body += ["complete V", "free A"]
            if c == 0:
                body = self.ipi.send(body)
            lines.append(f"core c{c} in mm {{")
            lines += [f"    {s}" for s in body]
            lines.append("}")
        return "\n".join(lines) + "\n"


def gen_riscv_checked(seed: int) -> tuple[int, str, CheckedSpec]:
    """The first spec from ``seed`` on that checks (a few do not): (seed used, text, spec)."""
    while True:
        text = GenRiscv(seed).spec()
        try:
            return seed, text, load_text(text, f"riscv{seed}.tlb", [])
        except SpecError:
            seed += 10_000
