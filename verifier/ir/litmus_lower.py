"""A herd `.litmus` test -> the same `Program` a `.tlb` spec lowers to, plus its final
condition over the machine's observables (docs/arm64.md §4).

Virtual addresses `x`, `y`... become pages, their physical pages `phy_x`... frames
with a data word each, `pte_x` the PTE of page x.  Registers holding addresses,
descriptors or constants (`MOV`, `LSR #12`, the initial state) are resolved here;
registers written by loads stay registers of the core.  A construct outside the
subset is an `Unsupported` error naming it and where it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from verifier.ir import program as P
from verifier.ir.litmus_cond import (
    CondLowerer,
    LCond,
    LitmusCore,
    Unsupported,
    canon_reg,
)
from verifier.lang.litmus import Desc, Init, Instr, Litmus
from verifier.lang.span import Span

RW, R = 3, 1  # permission bits: db:1 -> read/write, db:0 -> read only
FULL = {"SY", "ISH", "OSH", "NSH", ""}
LOAD = {"LD", "ISHLD", "OSHLD", "NSHLD"}
STORE = {"ST", "ISHST", "OSHST", "NSHST"}
TLBI_PAGE = {"VAE1", "VAAE1", "VALE1", "VAALE1", "ASIDE1"}
TLBI_ALL = {"VMALLE1", "ALLE1", "VMALLS12E1", "ALLE2", "VMALLE1OS", "ALLE1OS"}


@dataclass
class Lowered:
    prog: P.Program
    quantifier: str
    cond: LCond


def lower_litmus(t: Litmus) -> Lowered:
    return _Lowerer(t).run()


class _Lowerer:
    def __init__(self, t: Litmus) -> None:
        self.t = t
        self.pages: list[str] = []
        self.values: list[P.PteValue] = []
        self.value_key: dict[tuple[int, int], int] = {}
        self.data: dict[str, int] = {}
        self.initial: dict[str, Desc] = {}

    # ------------------------------------------------------------ names

    def page(self, v: str) -> int:
        if v not in self.pages:
            self.pages.append(v)
        return self.pages.index(v)

    def frame(self, v: str) -> int:
        self.page(v)  # every physical page is some address's
        return self.pages.index(v)

    def wid(self, d: Desc, page: str) -> int:
        """The PTE value of descriptor ``d`` (of page ``page`` when it names no oa)."""
        for key, _ in d.fields:
            if key not in ("valid", "db", "af"):
                raise Unsupported(f"descriptor field `{key}` (hardware-managed flags)", d.span)
        valid = d.get("valid", 1) and d.get("af", 1)
        frame = self.frame(d.oa or page) if valid else -1
        perms = RW if d.get("db", 1) else R
        key = (frame, perms)
        if key not in self.value_key:
            self.value_key[key] = len(self.values)
            text = (
                "invalid" if frame < 0 else f"phy_{d.oa or page}" + ("" if perms == RW else " ro")
            )
            self.values.append(P.PteValue(frame, perms, False, text, d.span))
        return self.value_key[key]

    # ------------------------------------------------------------ whole test

    def run(self) -> Lowered:
        t = self.t
        for key in ("TTHM",):
            if key in t.meta:
                raise Unsupported(
                    f"hardware access/dirty flag management ({key}={t.meta[key]})", None
                )
        if any(n.endswith(".F") for n in t.thread_names):
            raise Unsupported("fault handler threads (P<n>.F)", None)
        regs0: list[dict[str, object]] = [{} for _ in t.threads]
        for i in t.inits:
            self.init(i, regs0)
        cores = [_Thread(self, k, regs0[k]).lower() for k in range(len(t.threads))]
        entries = [self.wid(self.initial.get(v) or _plain(v), v) for v in list(self.pages)]
        while len(entries) < len(self.pages):  # descriptors naming more pages
            v = self.pages[len(entries)]
            entries.append(self.wid(self.initial.get(v) or _plain(v), v))
        cond = CondLowerer(self, cores).lower(t.cond)
        hi = max(15, 4 * len(self.values) + 3)  # a register may hold a PTE value
        cores = [replace(c, core=replace(c.core, reg_range=(0, hi))) for c in cores]
        names = tuple(f"phy_{v}" for v in self.pages)
        prog = P.Program(
            t.name, t.file, t.source, (), "speculative", "unordered", 0, names,
            tuple(self.pages), (P.Space("default", 0, tuple(entries)),), (),
            tuple(c.core for c in cores), (), tuple(self.values),
            frame_data=tuple(self.data.get(v, 0) for v in self.pages), fatal=True,
        )  # fmt: skip
        return Lowered(prog, t.quantifier, cond)

    def init(self, i: Init, regs0: list[dict[str, object]]) -> None:
        if i.thread is not None:
            r = canon_reg(i.name)
            if r is None or i.thread >= len(regs0):
                raise Unsupported(f"initial value of `{i.thread}:{i.name}`", i.span)
            regs0[i.thread][r] = i.value
        elif i.name.startswith("pte_"):
            if not isinstance(i.value, Desc):
                raise Unsupported("a PTE initialised to a number", i.span)
            self.initial[i.name[4:]] = i.value
            self.page(i.name[4:])
        elif isinstance(i.value, int):
            v = i.name[4:] if i.name.startswith("phy_") else i.name
            self.page(v)
            self.data[v] = i.value
        else:
            raise Unsupported(f"a location holding an address (`{i.name}`)", i.span)


def _plain(v: str) -> Desc:
    return Desc(v, (), Span("<litmus>", 1, 1, 1, 1))


class _Thread:
    """One thread: static register values resolved, loads kept as registers."""

    def __init__(self, lw: _Lowerer, k: int, regs: dict[str, object]) -> None:
        self.lw, self.k = lw, k
        self.env: dict[str, object] = dict(regs)  # reg -> int | (kind, name) | Desc | "dyn"
        self.dyn: list[str] = []
        self.ptes: set[str] = set()  # registers holding a PTE value loaded at run time
        self.code: list[P.Instr] = []
        self.labels: dict[str, int] = {}
        self.accesses: dict[int, str] = {}  # pc -> virtual address accessed

    def reg(self, r: str) -> P.LReg:
        if r not in self.dyn:
            self.dyn.append(r)
        return P.LReg(self.dyn.index(r), False)

    def value(self, r: str, ins: Instr) -> object:
        c = canon_reg(r)
        if c is None:
            raise Unsupported(f"operand `{r}` of {ins.op}", ins.span)
        if c == "ZR":
            return 0
        return self.env.get(c, 0)

    def emit(self, ins: Instr, make: object) -> None:
        if ins.label is not None:
            self.labels[ins.label] = len(self.code)
        self.code.append(make(ins.span, f"{ins.op} {','.join(ins.args)}".strip()))  # type: ignore[operator]

    def lower(self) -> LitmusCore:
        for ins in self.lw.t.threads[self.k]:
            self.instr(ins)
        end = len(self.code)
        self.code.append(P.IEnd(Span(self.lw.t.file, 1, 1, 1, 1), "end of program"))
        hi = max([15, *(v for v in self.env.values() if isinstance(v, int))])
        core = P.Core(
            f"P{self.k}", 0, tuple(self.code), tuple(range(1, end + 2)), (), end,
            tuple(self.dyn), (), (0, hi),
        )  # fmt: skip
        return LitmusCore(core, self.env, self.dyn, self.labels, self.accesses, self.ptes)

    def address(self, a: str, ins: Instr) -> tuple[str, str]:
        m = re.fullmatch(r"\[(\w+)\]", a)
        if not m:
            raise Unsupported(f"addressing mode `{a}` (address dependency or offset)", ins.span)
        v = self.value(m.group(1), ins)
        if v == "dyn":
            raise Unsupported("an address computed at run time (address dependency)", ins.span)
        if not (isinstance(v, tuple) and v[0] in ("addr", "pte")):
            raise Unsupported(f"`{m.group(1)}` does not hold an address", ins.span)
        return v  # type: ignore[return-value]

    def instr(self, ins: Instr) -> None:
        op, args = ins.op, ins.args
        if op in ("DMB", "DSB"):
            opt = args[0].upper() if args else ""
            which = (
                "full" if opt in FULL else "ld" if opt in LOAD else "st" if opt in STORE else None
            )
            if which is None:
                raise Unsupported(f"{op} {opt}", ins.span)
            self.emit(ins, lambda s, x: P.IBarrier(s, x, op.lower(), which))
        elif op == "ISB":
            self.emit(ins, lambda s, x: P.IBarrier(s, x, "isb"))
        elif op == "TLBI":
            self.tlbi(ins)
        elif op == "MOV" and len(args) == 2:
            self.mov(ins)
        elif op == "LSR" and len(args) == 3 and args[2].lstrip("#") == "12":
            v = self.value(args[1], ins)
            if not (isinstance(v, tuple) and v[0] in ("addr", "pte")):
                raise Unsupported("LSR of a value that is no address", ins.span)
            self.env[canon_reg(args[0]) or ""] = (
                "vpage",
                v[1] if v[0] == "addr" else "pte_" + v[1],
            )
            self.emit(ins, lambda s, x: P.ISkip(s, x))
        elif op == "LDR" and len(args) == 2:
            self.load(ins)
        elif op == "STR" and len(args) == 2:
            self.store(ins)
        elif op in ("CBZ", "CBNZ") and len(args) == 2:
            self.ctrl(ins)
        else:
            raise Unsupported(f"instruction {op}", ins.span)

    def mov(self, ins: Instr) -> None:
        d, s = canon_reg(ins.args[0]), ins.args[1]
        if d is None:
            raise Unsupported(f"operand `{ins.args[0]}`", ins.span)
        if re.fullmatch(r"#?-?(0x[0-9a-fA-F]+|\d+)", s):
            self.env[d] = int(s.lstrip("#"), 0)
            self.emit(ins, lambda sp, x: P.ISkip(sp, x))
            return
        v = self.value(s, ins)
        if v == "dyn":
            src = self.reg(canon_reg(s) or "")
            self.env[d] = "dyn"
            dst = self.reg(d)
            self.emit(ins, lambda sp, x: P.IAssign(sp, x, dst, src))
        else:
            self.env[d] = v
            self.emit(ins, lambda sp, x: P.ISkip(sp, x))

    def load(self, ins: Instr) -> None:
        kind, v = self.address(ins.args[1], ins)
        d = canon_reg(ins.args[0])
        if d is None or d == "ZR":
            raise Unsupported(f"destination `{ins.args[0]}`", ins.span)
        page = self.lw.page(v)
        if kind == "pte":  # an ordinary load of the PTE: the register holds a PTE value
            dest = self.reg(d)
            self.env[d] = "dyn"
            self.ptes.add(d)
            self.emit(ins, lambda s, x: P.IAssign(s, x, dest, P.LWord(page)))
            return
        self.accesses[len(self.code)] = v
        dest = self.reg(d)
        self.env[d] = "dyn"
        self.emit(ins, lambda s, x: P.IAccess(s, x, "read", page, dest))

    def store(self, ins: Instr) -> None:
        kind, v = self.address(ins.args[1], ins)
        val = self.value(ins.args[0], ins)
        page = self.lw.page(v)
        if kind == "pte":
            if not isinstance(val, Desc):
                what = "read at run time" if val == "dyn" else "that is no descriptor"
                raise Unsupported(f"a store to a PTE of a value {what}", ins.span)
            wid = self.lw.wid(val, v)
            self.emit(ins, lambda s, x: P.IPte(s, x, None, page, wid))
            return
        if val == "dyn":
            value: P.LExpr = self.reg(canon_reg(ins.args[0]) or "")
        elif isinstance(val, int):
            value = P.LConst(val)
        else:
            raise Unsupported("a store of an address or descriptor to memory", ins.span)
        self.accesses[len(self.code)] = v
        self.emit(ins, lambda s, x: P.IAccess(s, x, "write", page, None, value))

    def tlbi(self, ins: Instr) -> None:
        op = ins.args[0].upper() if ins.args else ""
        broadcast = op.endswith("IS")
        base = op[:-2] if broadcast else op
        if base in TLBI_ALL:
            self.emit(ins, lambda s, x: P.ITlbi(s, x, "all", broadcast))
            return
        if base not in TLBI_PAGE or len(ins.args) != 2:
            raise Unsupported(f"TLBI {op}", ins.span)
        v = self.value(ins.args[1], ins)
        if not (isinstance(v, tuple) and v[0] == "vpage"):
            raise Unsupported(
                "a TLBI operand that is no page number (LSR #12 of an address)", ins.span
            )
        page = self.lw.page(str(v[1]))
        self.emit(ins, lambda s, x: P.ITlbi(s, x, "page", broadcast, None, page))

    def ctrl(self, ins: Instr) -> None:
        """`CBNZ Xn,L` where L labels the next instruction: a control dependency only."""
        nxt = self._next_label(ins)
        if nxt != ins.args[1]:
            raise Unsupported(f"a branch ({ins.op} to {ins.args[1]}) that skips code", ins.span)
        r = canon_reg(ins.args[0]) or ""
        regs = (self.reg(r),) if self.env.get(r) == "dyn" else ()
        self.emit(ins, lambda s, x: P.ICtrl(s, x, regs))

    def _next_label(self, ins: Instr) -> str | None:
        code = self.lw.t.threads[self.k]
        i = code.index(ins)
        return code[i + 1].label if i + 1 < len(code) else None
