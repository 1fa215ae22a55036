"""A seeded generator of small specs with the Arm64 statements (docs/arm64.md): PTE
stores, words, data through pages, every barrier, local and broadcast `tlbi`, fences,
atomics, `complete`/`free`, `if`/`await`/`assert`.  Two or three cores, one address
space, no handlers (the oracle's reading A1), so that both the oracle and tlbcheck
explore them in well under a second under `arm` (and sc/tso/pso)."""

from __future__ import annotations

import random

from verifier.lang.checked import CheckedSpec
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load_text


class GenArm:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.regs = ["r", "s"]
        # two-level pages (docs/page-tables.md), drawn apart so older seeds keep their specs
        self.two = random.Random(seed * 7 + 1).random() < 0.35
        # whole PTE values (docs/arm64.md §1), drawn apart too
        self.vr = random.Random(seed * 11 + 3)
        self.whole = self.vr.random() < 0.35

    def pick(self, *xs: str) -> str:
        return self.r.choice(xs)

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
                f"write {p} := {reg}",
                self.pick("read", "write", "exec") + f" {p}",
                self.pick("dmb", "dmb ld", "dmb st", "dsb", "dsb ld", "dsb st", "isb"),
                self.pick("dsb", "isb", "dmb"),
                self.pick(f"tlbi {p}", f"tlbi is {p}", "tlbi is all", "tlbi all"),
                f"tlbi is {p}",
                self.pick("fence", "fence release", "fence acquire"),
                f"{reg} := fetch_add(x, 1)",
                f"complete {p}",
                f"free {self.pick('A', 'B')}",
                "skip",
                *self.levels(p),
                *self.values(p),
            ]
        )

    def levels(self, p: str) -> list[str]:
        """Two-level statements: dir stores, freeing a table, leaf-only `tlbi`."""
        if not self.two:
            return []
        return [
            f"dir D := {self.pick('T', 'U', 'invalid')}",
            f"free {self.pick('T', 'U')}",
            self.pick(f"tlbi {p} leaf", f"tlbi is {p} leaf"),
            f"tlbi is {p} leaf",
        ]

    def values(self, p: str) -> list[str]:
        """Whole PTE values: loads into registers, stores from them, kept invalid values,
        comparisons with literals."""
        if not self.whole:
            return []
        reg, v = self.pick(*self.regs), self.vr
        lit = v.choice(("(A rw)", "(C r)", "(invalid)", "(invalid A rw)", "(invalid C r)"))
        return [
            f"{reg} := pte({p})",
            f"{reg} := pte({p})",
            f"pte {p} := {reg}",
            f"pte {p} := invalid {v.choice(('A', 'C'))} {v.choice(('rw', 'r'))}",
            f"assert {reg} != {lit}",
        ]

    def body(self) -> list[str]:
        r = self.r
        out = [self.stmt(self.pick("V", "V", "W")) for _ in range(r.randint(2, 5))]
        if r.random() < 0.2:
            out.insert(r.randint(0, len(out)), "await x == 1")
        if r.random() < 0.2:
            k = r.randint(0, len(out))
            out.insert(k, f"if r == 1 {{ {self.stmt('V')} }}")
        if r.random() < 0.3:
            out.append(f"assert {self.pick('r', 's')} != {r.randint(0, 2)}")
        return out

    def spec(self) -> str:
        r = self.r
        lines = ["frame A = 1, B = 2, C", "page V -> A rw", "page W -> C r", "var x : 0..3 = 0"]
        if self.two:
            lines[1:3] = [
                "table T, U",
                "dir D -> T",
                "page V at D[0] -> A rw",
                "page W at D[1] -> C r",
            ]
        if self.whole and self.vr.random() < 0.4 and not self.two:
            lines[2] = "page W invalid C rw"
        for c in range(r.randint(2, 3)):
            lines.append(f"core c{c} {{")
            lines += [f"    {s}" for s in self.body()]
            lines.append("}")
        return "\n".join(lines) + "\n"


def gen_arm_checked(seed: int) -> tuple[int, str, CheckedSpec]:
    """The first spec from ``seed`` on that checks (a few do not): (seed used, text, spec)."""
    while True:
        text = GenArm(seed).spec()
        try:
            return seed, text, load_text(text, f"arm{seed}.tlb", [])
        except SpecError:
            seed += 10_000
