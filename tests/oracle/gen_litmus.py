"""A seeded generator of small AArch64 `.litmus` tests (docs/arm64.md §4): data loads
and stores, loads of page-table entries and stores of descriptors or of loaded entries
(some by STLR, a release store), register arithmetic on both (docs/arm64.md §4),
barriers, broadcast TLBIs, labels, branches on loaded numbers (forward, or a spin loop),
and a final condition over registers (numbers and descriptors), data and typed faults;
some tests retry faults (`Variant=Handled`, docs/arm64.md section 3), some have a
fault handler of P1 that returns to its end (ADR, MSR ELR_EL1, ERET: `on fault resume`).  Two threads of two
to four instructions, so that
the oracle (with its `.litmus` rules, oracle/litmus.py) and tlbcheck both explore them
in about a second."""

from __future__ import annotations

import random

from verifier.lang.checked import CheckedSpec
from verifier.lang.diagnostics import SpecError
from verifier.lang.litmus_lower import load_litmus

AND = " /\\ "
DESCS = ("(oa:phy_a)", "(oa:phy_b)", "(oa:phy_a,db:0)", "(oa:phy_a,valid:0)", "(oa:phy_b,valid:0)")
DESCS += ("(oa:phy_a,af:0)", "(oa:phy_b,db:0,dbm:1)")  # flags kept whole, no TTHM


class GenLitmus:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.labels: list[tuple[int, str, str]] = []  # (thread, label, page)
        self.loaded: list[tuple[int, str]] = []  # (thread, register holding an entry)
        self.data: list[tuple[int, str]] = []
        self.release = random.Random(seed * 7 + 3)  # STLR to an entry, drawn apart
        self.eret = random.Random(seed * 23 + 13)  # a P1.F handler that returns, apart too
        v = random.Random(seed * 11 + 5)  # Variant=Handled or imprecise (retried faults), apart
        self.variant = [v.choice(("Variant=Handled", "Variant=imprecise"))] * (v.random() < 0.4)
        self.branches = random.Random(seed * 13 + 7)  # CBZ/CBNZ over the rest, apart too
        self.bits = random.Random(seed * 17 + 9)  # set/clear descriptor bits, exclusives, apart

    def rel(self) -> str:
        """STR, or STLR (`pte release`) for some page-table stores."""
        return "STLR" if self.release.random() < 0.3 else "STR"

    def instr(self, t: int, k: int, has_lsr: bool) -> list[str]:
        r = self.r
        page, preg, pte = r.choice([("a", "X1", "X3"), ("b", "X2", "X4")])
        label = f"L{k}"
        choices = [
            ("load", f"LDR W{7 + k},[{preg}]"),
            ("store", f"STR W0,[{preg}]"),
            ("pteload", f"LDR X{10 + k},[{pte}]"),
            ("ptestore", f"{self.rel()} X{r.choice((5, 6))},[{pte}]"),
            ("barrier", r.choice(("DSB ISH", "DSB ST", "DSB LD", "ISB", "DMB SY", "DMB ST"))),
        ]
        if has_lsr:
            choices.append(("tlbi", r.choice(("TLBI VAE1IS,X9", "TLBI VMALLE1IS"))))
        mine = [reg for th, reg in self.loaded if th == t]
        if mine:
            choices.append(("copy", f"STR {r.choice(mine)},[{r.choice(('X3', 'X4'))}]"))
        kind, text = r.choice(choices)
        if self.bits.random() < 0.3:
            return self.bit_instr(t, k, pte)
        if kind in ("load", "store"):
            self.labels.append((t, label, page))
            text = f"{label}: {text}"
        if kind == "load":
            self.data.append((t, f"X{7 + k}"))
        if kind == "pteload":
            self.loaded.append((t, f"X{10 + k}"))
        return [text, *self.regs(t, k, kind, f"X{7 + k}" if kind == "load" else "", preg)]

    def bit_instr(self, t: int, k: int, pte: str) -> list[str]:
        """An atomic that sets or clears descriptor bits (its mask from `MOV`/`LSL`), an
        `ORR`/`BIC` of a loaded entry, or an exclusive pair on an entry (docs/arm64.md §4)."""
        b = self.bits
        bit = b.choice((0, 7, 10))
        mask = [f"MOV X8,#{1 << bit}"] if b.random() < 0.5 else ["MOV X8,#1", f"LSL X8,X8,#{bit}"]
        dst = f"X{10 + k}"
        kind = b.choice(("ld", "st", "orr", "llsc"))
        if kind == "ld":
            self.loaded.append((t, dst))
            op = b.choice(("LDSET", "LDCLR")) + b.choice(("", "A", "L", "AL"))
            return [*mask, f"{op} X8,{dst},[{pte}]"]
        if kind == "st":
            return [*mask, f"{b.choice(('STSET', 'STCLR'))}{b.choice(('', 'L'))} X8,[{pte}]"]
        if kind == "orr":
            return [f"LDR {dst},[{pte}]", *mask, f"{b.choice(('ORR', 'BIC'))} X13,{dst},X8",
                    f"STR X13,[{pte}]"]  # fmt: skip
        self.loaded.append((t, dst))
        self.data.append((t, "X15"))
        return [f"LDXR {dst},[{pte}]", f"STXR W15,X{b.choice((5, 6))},[{pte}]"]

    def regs(self, t: int, k: int, kind: str, data: str, preg: str) -> list[str]:
        """Register arithmetic after a load (docs/arm64.md §4): a loaded entry compared
        with a descriptor (CSET) or made an address dependency (EOR with itself); a
        loaded number (0 or 1: every store stores 1) ANDed with 2 as a zero offset, or
        ORed with an immediate and stored."""
        r, out = self.r, []
        w = f"W{14 + k}"
        if kind == "pteload" and r.random() < 0.6:
            reg = f"X{10 + k}"
            if r.random() < 0.5:
                out = [f"CMP {reg},X{r.choice((5, 6))}", f"CSET {w},EQ"]
                self.data.append((t, f"X{14 + k}"))
            else:
                out = [f"EOR X{14 + k},{reg},{reg}", f"LDR W{12 + k},[{preg},X{14 + k}]"]
                self.data.append((t, f"X{12 + k}"))
        elif data and r.random() < 0.5:
            w0 = "W" + data[1:]
            if r.random() < 0.5:
                out = [f"AND {w},{w0},#2", f"LDR W{12 + k},[{preg},{w},SXTW]"]
                self.data.append((t, f"X{12 + k}"))
            else:
                out = [f"ORR {w},{w0},#{r.choice((1, 4))}", f"STR {w},[{preg}]"]
        return out

    def thread(self, t: int) -> list[str]:
        r = self.r
        out = ["MOV W0,#1"] if r.random() < 0.5 else []
        lsr = r.random() < 0.4
        if lsr:
            out.append("LSR X9,X1,#12")
        for k in range(r.randint(1, 2)):
            out += self.instr(t, k, lsr)
        return self.branch(t, out)

    def branch(self, t: int, out: list[str]) -> list[str]:
        """Sometimes a `CBZ`/`CBNZ` on a loaded number right after its load: forward over
        the rest of the thread, or back to the load (a spin loop); what follows may be
        performed or fault before the branch is taken (docs/arm64.md §3)."""
        b = self.branches
        loads = [j for j, x in enumerate(out[:-1]) if ": LDR W" in x]
        if not loads or b.random() < 0.55:
            return out
        j = loads[0]
        label, reg = out[j].split(": LDR ")[0], out[j].split("LDR ")[1].split(",")[0]
        op = b.choice(("CBZ", "CBNZ"))
        if b.random() < 0.25:  # a spin loop on the load
            return [*out[: j + 1], f"{op} {reg},{label}", *out[j + 1 :]]
        return [*out[: j + 1], f"{op} {reg},E{t}", *out[j + 1 :], f"E{t}:"]

    def atom(self) -> str:
        r = self.r
        kinds = ["data"]
        if self.data:
            kinds.append("reg")
        if self.loaded:
            kinds += ["pte", "pte"]
        if self.labels:
            kinds += ["fault", "fault"]
        kind = r.choice(kinds)
        if kind == "data":
            return f"{r.choice('ab')}={r.randint(0, 1)}"
        if kind == "reg":
            t, reg = r.choice(self.data)
            return f"{t}:{reg}={r.randint(0, 1)}"
        if kind == "pte":
            t, reg = r.choice(self.loaded)
            return f"{t}:{reg}={r.choice(DESCS)}"
        t, label, page = r.choice(self.labels)
        ftype = r.choice(("", "", ",MMU:Translation", ",MMU:Permission"))
        atom = f"fault(P{t}:{label},{page}{ftype})"
        return f"~{atom}" if r.random() < 0.3 else atom

    def test(self, seed: int) -> str:
        r = self.r
        init = [
            f"pte_a={r.choice(('(oa:phy_a)', '(oa:phy_a,db:0)', '(oa:phy_a,valid:0)'))};",
            "a=0; b=0;",
        ]
        for t in (0, 1):
            init.append(f"{t}:X1=a; {t}:X2=b; {t}:X3=pte_a; {t}:X4=pte_b;")
            init.append(f"{t}:X5={r.choice(DESCS)}; {t}:X6={r.choice(DESCS)};")
        threads = [self.thread(0), self.thread(1)]
        head = " P0 | P1 ;"
        returns = self.eret.random() < 0.3 and not self.variant  # docs/arm64.md §4: `on fault resume`
        if returns:
            body = ["LDR W20,[X2]"] if self.eret.random() < 0.5 else []
            threads += [["ADR X21,LR", "MSR ELR_EL1,X21", *body, "ERET"]]
            threads[1].append("LR:")
            head = " P0 | P1 | P1.F ;"
        rows = max(len(x) for x in threads)
        lines = [f"AArch64 gen{seed}", *self.variant, "{", *init, "}", head]
        for k in range(rows):
            cells = [x[k] if k < len(x) else "" for x in threads]
            lines.append(" " + " | ".join(cells) + " ;")
        atoms = [self.atom() for _ in range(r.randint(1, 2))]
        if returns:
            atoms.append(self.eret.choice(('1:X21=label:"P1:LR"', "1:X21=0", "1:X20=0")))
        quant = r.choice(("exists", "exists", "~exists", "forall"))
        lines.append(f"{quant} ({AND.join(atoms)})")
        return "\n".join(lines) + "\n"


def gen_litmus_checked(seed: int) -> tuple[int, str, CheckedSpec]:
    """The first test from ``seed`` on that tlbcheck states (a few draws name nothing)."""
    for s in range(seed, seed + 50):
        text = GenLitmus(s).test(s)
        try:
            return s, text, load_litmus(f"gen{s}.litmus", text)
        except SpecError:
            continue
    raise AssertionError(f"no statable test from seed {seed}")
