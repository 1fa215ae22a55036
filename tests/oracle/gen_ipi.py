"""One IPI and its handler for the generated Arm64 and RISC-V specs (gen_arm.py,
gen_riscv.py): a handler `h(p)` of one or two statements on its page parameter and an
acknowledgement (`done += 1` or `done := 1`), and `ipi c1 h(V)` (or `W`) in core c0's
body, often followed by `await done == 1` (the SBI remote-fence pattern: send, wait for
the acknowledgement).  Drawn from a generator of its own so that the other draws of a
seed, and the specs of seeds without an IPI, stay as they were."""

from __future__ import annotations

import random


class IpiDraw:
    def __init__(self, seed: int, stmts: tuple[str, ...], allowed: bool = True) -> None:
        self.r = random.Random(seed * 17 + 7)
        self.on = allowed and self.r.random() < 0.4
        self.stmts = stmts

    def declarations(self) -> list[str]:
        """The acknowledgement word and the handler."""
        if not self.on:
            return []
        body = [self.r.choice(self.stmts) for _ in range(self.r.randint(1, 2))]
        ack = self.r.choice(["done += 1", "done := 1"])
        lines = ["var done : 0..3 = 0", "handler h(p) {"]
        return lines + [f"    {s}" for s in (*body, ack)] + ["}"]

    def send(self, body: list[str]) -> list[str]:
        """Core c0's body with the `ipi` (and maybe the wait) inserted."""
        if not self.on:
            return body
        k = self.r.randint(0, len(body))
        sent = [f"ipi c1 h({self.r.choice(['V', 'W'])})"]
        if self.r.random() < 0.6:
            sent.append("await done == 1")
        return body[:k] + sent + body[k:]


ARM_HANDLER = ("read p", "r := read p", "write p := 1", "tlbi p", "tlbi is p", "dsb", "isb",
               "dmb", "x := 1", "pte V := invalid")  # fmt: skip
RISCV_HANDLER = ("sfence.vma p", "sfence.vma p", "sfence.vma", "sfence.vma asid mm", "read p",
                 "r := read p", "write p := 1", "fence rw,rw", "x := 1")  # fmt: skip
