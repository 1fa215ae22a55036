"""A seeded generator of small specs with the Arm64 statements (docs/arm64.md): PTE
stores, words, data through pages, every barrier, local and broadcast `tlbi`, fences,
atomics, acquire/release accesses, `via` dependencies (of accesses and `tlbi`),
`on fault` handlers (half of them `resume`), `complete`/`free`, `if`/`await`/`assert` (some `if`s over an access),
user-mode code (`option mode = user for c1`, `user` entries; docs/arm64.md section 8).
Two or three cores, some with one IPI and its handler (gen_ipi.py; not with hardware
flags: the oracle's reading A1), so that both the oracle and tlbcheck explore them in
well under a second under `arm` (and sc/tso/pso).  Some specs (``spaces``) have two address spaces sharing one ASID, with
`switch` and `flush asid`, for `asid-reuse`."""

from __future__ import annotations

import random

from verifier.lang.checked import CheckedSpec
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load_text

from .gen_ipi import ARM_HANDLER, IpiDraw


class GenArm:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.regs = ["r", "s"]
        # two-level pages (docs/page-tables.md), drawn apart so older seeds keep their specs
        self.two = random.Random(seed * 7 + 1).random() < 0.35
        self.slots = random.Random(seed * 7 + 2)  # table slots and dir reads, drawn apart too
        # arm64 hardware flag management (docs/arm64.md section 7), drawn apart likewise
        hw = random.Random(seed * 11 + 3)
        self.hw = hw.random() < 0.35
        self.ad = hw.choice(["access", "hardware", "hardware for c0", "access for c1", "none"])
        self.spaces = seed % 4 == 3 and not self.two  # two spaces sharing ASID 1
        # whole PTE values (docs/arm64.md §1), drawn apart too
        self.vr = random.Random(seed * 13 + 5)
        self.whole = self.vr.random() < 0.35
        self.ipi = IpiDraw(seed, ARM_HANDLER, allowed=not self.hw)
        self.um = random.Random(seed * 17 + 7)  # user-mode code, drawn apart too
        self.user = self.um.random() < 0.3
        self.fr = random.Random(seed * 19 + 11)  # handlers that return, drawn apart too
        # atomics and exclusives (docs/arm64.md §1), drawn apart too
        self.at = random.Random(seed * 19 + 11)
        self.atomic = self.at.random() < 0.35
        self.dep = random.Random(seed * 23 + 13)  # `tlbi V via r`, `pte release`, apart too
        # fetch_set / fetch_clear on PTEs (docs/arm64.md §1), drawn apart too
        self.fb = random.Random(seed * 29 + 17)
        self.fields = self.fb.random() < 0.3
        self.br = random.Random(seed * 31 + 19)  # branches over accesses, apart too

    def pick(self, *xs: str) -> str:
        return self.r.choice(xs)

    def stmt(self, page: str) -> str:
        s = self.stmt_drawn(page)
        if self.two and self.slots.random() < 0.2:
            reg, t = self.slots.choice(self.regs), self.slots.choice(["T[0]", "T[1]", "U[0]"])
            s = self.slots.choice(
                [
                    f"pte {t} := {self.slots.choice(['A rw', 'C r', 'invalid'])}",
                    f"{reg} := pte({t}).present",
                    f"{reg} := dir(D).present",
                ]
            )
        if s.startswith("pte ") and "[" not in s and self.dep.random() < 0.3:
            s = "pte release " + s[4:]  # a release store of a PTE (drawn apart)
        return s

    def stmt_drawn(self, page: str) -> str:
        r, p = self.r, page
        reg = self.pick(*self.regs)
        return r.choice(
            [
                f"pte {p} := {self.pick('A', 'B', 'C')} {self.pick('rw', 'r')}",
                f"pte {p} := invalid",
                f"x := {r.randint(0, 2)}",
                f"{reg} := x",
                f"{reg} := read {p}",
                f"{reg} := read {self.pick('acquire', 'acquire_pc')} {p}",
                f"write release {p} := {r.randint(1, 2)}",
                f"{reg} := read {p} via {self.pick(*self.regs)}",
                f"write {p} via {self.pick(*self.regs)} := {reg}",
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
                *(
                    [self.pick("switch Q", "switch P"), self.pick("flush asid P", "flush asid Q")]
                    if self.spaces
                    else []
                ),
                f"free {self.pick('A', 'B')}",
                "skip",
                *self.levels(p),
                *self.values(p),
                *self.flags(p),
                *[f"pte {p} := {self.pick('A', 'C')} {self.pick('rw', 'r')} user"] * self.user,
                *self.atomics(p),
                *self.set_clear(p),
            ]
        )

    def user_stmt(self, page: str) -> str:
        """A statement user-mode code may run (no page tables, TLBs or interrupts)."""
        reg, p = self.um.choice(self.regs), page
        return self.um.choice(
            [
                f"{reg} := read {p}",
                f"write {p} := {self.um.randint(1, 2)}",
                self.um.choice(["read", "write", "exec"]) + f" {p}",
                f"{reg} := read acquire {p}",
                self.um.choice(["dmb", "dsb", "isb", "fence"]),
                f"x := {self.um.randint(0, 2)}",
                f"{reg} := x",
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
        reg, v = "q", self.vr  # a register only for PTE values (the checker keeps them apart)
        lit = v.choice(("(A rw)", "(C r)", "(invalid)", "(invalid A rw)", "(invalid C r)"))
        return [
            f"{reg} := pte({p})",
            f"{reg} := pte({p})",
            f"pte {p} := {reg}",
            f"pte {p} := invalid {v.choice(('A', 'C'))} {v.choice(('rw', 'r'))}",
            f"assert {reg} != {lit}",
        ]

    def atomics(self, p: str) -> list[str]:
        """Atomics with an ordering on words, through pages and on PTEs (with whole PTE
        values), exclusives."""
        if not self.atomic:
            return []
        a = self.at
        reg = a.choice(self.regs)
        order = a.choice(("", " relaxed", " acquire", " release", " acq_rel"))
        out = [
            f"{reg} := swap{order}({p}, {a.randint(0, 2)})",
            f"{reg} := fetch_add{order}({p}, 1)",
            f"{reg} := cas{order}({p}, {a.randint(0, 2)}, {a.randint(0, 2)})",
            f"fetch_add{order}({p}, 1)",
            f"{reg} := swap{order}(x, {a.randint(0, 2)})",
            f"{reg} := read{a.choice(('', ' acquire'))} exclusive {p}",
            f"s := write{a.choice(('', ' release'))} exclusive {p} := {a.randint(0, 2)}",
        ]
        if self.whole:
            lit = a.choice(("(A rw)", "(C r)", "(invalid)", "(B rw)"))
            out += [f"q := swap{order}(pte({p}), {lit})", f"q := cas{order}(pte({p}), {lit}, q)"]
        return out

    def set_clear(self, p: str) -> list[str]:
        """`fetch_set`/`fetch_clear` of PTE fields (the old value in a PTE register `q`),
        invalid values that keep a frame for `present` to revive, `pte_set`/`pte_clear`,
        exclusives on a PTE; `fetch_set`, `fetch_clear`, `fetch_xor` of data words."""
        if not self.fields:
            return []
        f = self.fb
        names = f.sample(("present", "write", "young", "dbm", "user"), f.randint(1, 2))
        order = f.choice(("", " relaxed", " acquire", " release", " acq_rel"))
        op = f.choice(("fetch_set", "fetch_clear"))
        call = f"{op}{order}(pte({p}), {', '.join(names)})"
        lit = f.choice(("(A rw)", "(C r)", "(invalid A rw)", "(A rw old)", "(C r dbm)"))
        bits = f.choice(("fetch_set", "fetch_clear", "fetch_xor")) + order
        reg = f.choice(self.regs)
        return [
            f"q := {call}",
            f"q := {call}",
            call,
            call,
            f"pte {p} := invalid {f.choice(('A', 'C'))} {f.choice(('rw', 'r'))}",
            f"assert q != {lit}",
            f"q := pte_{op[6:]}(q, {', '.join(names)})",  # of a PTE value in a register
            f"q := load_exclusive{f.choice(('', ' acquire'))}(pte({p}))",  # exclusives
            f"s := store_exclusive{f.choice(('', ' release'))}(pte({p}), {f.choice((lit, 'q'))})",
            f"{reg} := {bits}({p}, {f.randint(1, 3)})",  # bits of data words
            f"{bits}({f.choice((p, 'x'))}, {f.choice(('1', '2', reg))})",
        ]

    def flags(self, p: str) -> list[str]:
        """Hardware flag statements: `old`/`dbm` values, reads of the young and dirty bits."""
        if not self.hw:
            return []
        reg = self.pick(*self.regs)
        value = f"{self.pick('A', 'B')} {self.pick('rw', 'r')} {self.pick('old', 'dbm', 'old dbm')}"
        return [f"pte {p} := {value}", f"{reg} := pte({p}).{self.pick('young', 'dirty')}"]

    def body(self, user: bool = False) -> list[str]:
        r = self.r
        out = [self.stmt(self.pick("V", "V", "W")) for _ in range(r.randint(2, 5))]
        for k, st in enumerate(out):  # `tlbi V via r` on a register set before (drawn apart)
            regs = [x for x in self.regs if any(o.startswith(f"{x} :=") for o in out[:k])]
            if st.startswith("tlbi") and " all" not in st and regs and self.dep.random() < 0.6:
                out[k] = f"{st} via {self.dep.choice(regs)}"
        if user:  # the kernel's statements become user-mode ones
            out = [s if _user_ok(s) else self.user_stmt(self.pick("V", "W")) for s in out]
        if r.random() < 0.2:
            out.insert(r.randint(0, len(out)), "await x == 1")
        if r.random() < 0.2:
            k = r.randint(0, len(out))
            out.insert(k, f"if r == 1 {{ {self.stmt('V')} }}")
        if r.random() < 0.3:
            out.append(f"assert {self.pick('r', 's')} != {r.randint(0, 2)}")
        if self.br.random() < 0.3 and not user:  # an access past a branch (docs/arm64.md §3)
            b = self.br
            reg, p = b.choice(self.regs), b.choice(("V", "W"))
            acc = b.choice((f"{b.choice(self.regs)} := read {p}", f"write {p} := 1", f"read {p}"))
            out.insert(b.randint(0, len(out)), f"if {reg} == {b.randint(0, 1)} {{ {acc} }}")
        if self.spaces and not user:  # a read before and after a switch: asid-reuse shows
            k = r.randint(0, len(out))
            out[k:k] = ["read V", "switch Q", "read V"]
        return out

    def spec(self, family: bool = False) -> str:
        """``family``: the last core becomes a family of two instances of one body (for
        symmetry reduction under `arm`)."""
        r = self.r
        lines = ["frame A = 1, B = 2, C", "page V -> A rw", "page W -> C r", "var x : 0..3 = 0"]
        if self.two:
            lines[1:3] = [
                "table T, U",
                "dir D -> T",
                "page V at D[0] -> A rw",
                "page W at D[1] -> C r",
            ]
        if self.whole and self.vr.random() < 0.4 and not (self.two or self.spaces or self.hw):
            lines[2] = "page W invalid C rw"
        if self.spaces:
            lines[1:3] = [
                "space P asid 1 { page V -> A rw; page W -> C r }",
                "space Q asid 1 { page V -> B rw; page W -> C r }",
            ]
        if self.hw:
            flag = {" rw": " r dbm", " -> C r": " -> C r old"}
            for k, x in enumerate(lines):
                if x.startswith("page"):
                    lines[k] = next((x.replace(a, b) for a, b in flag.items() if a in x), x)
            lines.insert(0, f"option ad = {self.ad}")
        if self.user:  # c1 runs user-mode code; V is (sometimes) a user page
            lines.insert(0, "option mode = user for c1")
            lines = [x + " user" * self.um.choice([0, 1]) if x[:5] == "page " else x for x in lines]
        lines += self.ipi.declarations()
        n = r.randint(2, 3)
        for c in range(n):
            name = "u[1..2]" if family and c == n - 1 else f"c{c}"
            lines.append(f"core {name}{' in P' if self.spaces else ''} {{")
            body = self.body(user=self.user and c == 1 and name == "c1")
            lines += [f"    {s}" for s in (self.ipi.send(body) if c == 0 else body)]
            if r.random() < 0.3:  # a fault handler (docs/arm64.md §3)
                lines.append("} on fault resume {" if self.fr.random() < 0.5 else "} on fault {")
                lines += [f"    {self.stmt(self.pick('V', 'W'))}" for _ in range(r.randint(1, 2))]
            lines.append("}")
        return "\n".join(lines) + "\n"


KERNEL_ONLY = ("pte ", "tlbi", "switch", "flush", "free", "dir ", "complete", "sfence")


def _user_ok(s: str) -> bool:
    return not s.startswith(KERNEL_ONLY) and "pte(" not in s and "dir(" not in s


def gen_arm_checked(seed: int, family: bool = False) -> tuple[int, str, CheckedSpec]:
    """The first spec from ``seed`` on that checks (a few do not): (seed used, text, spec)."""
    while True:
        text = GenArm(seed).spec(family)
        try:
            return seed, text, load_text(text, f"arm{seed}.tlb", [])
        except SpecError:
            seed += 10_000
