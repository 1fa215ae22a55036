"""One litmus thread -> `.tlb` statements (docs/arm64.md §4).

Registers are followed through the thread: one holding an address (``x``), a
page-table entry's address (``pte_x``), a page number (``LSR X9,X3,#12``) or a
descriptor is *static* and names what an instruction acts on; one holding data is a
register of the spec.  What cannot be stated raises the lowering's error with the
instruction's span and a message naming the construct.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.lang import ast
from verifier.lang import litmus_ast as L
from verifier.lang.check_ptevalues import on_pte
from verifier.lang.litmus_arith import (
    ARITH_OPS,
    Env,
    Static,
    data_of,
    lower_arith,
    offset,
    reg_name,
)
from verifier.lang.litmus_atomic import is_atomic, lower_atomic
from verifier.lang.litmus_desc import pte_of
from verifier.lang.litmus_eret import ERET_OPS, lower_eret
from verifier.lang.litmus_flow import lower_code
from verifier.lang.litmus_vals import Vals, union, value_set
from verifier.lang.span import Span

FULL = {"SY", "ISH", "OSH", "NSH"}
BY_PAGE = {"VAE1", "VAAE1", "VALE1", "VAALE1"}
ALL = {"VMALLE1", "ALLE1", "VMALLS12E1"}
LOADS = {"LDR": "", "LDAR": "acquire", "LDAPR": "acquire_pc"}
ACQ_REL = {"LDAR", "LDAPR", "STLR", "LDARB", "STLRB", "LDAXR", "STLXR"}
ARITH = {"EOR", "ADD", "SUB", "AND", "ORR", "BIC", "CMP", "CSEL", "CSET", "ADR"}


@dataclass
class Symbols:
    """The pages (virtual addresses) and frames (``phy_x``) a test names, in order."""

    pages: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    descs: dict[str, list[L.Desc | None]] = field(default_factory=dict)  # values each PTE takes
    pte_loads: bool = False  # an LDR of a page-table entry
    af0: bool = False  # some descriptor has af:0 (an access-flag fault: a translation one here)
    reg_stores: bool = False  # an STR of a loaded PTE value to a page-table entry
    mem: Vals = frozenset({0})  # the values a data load may return (litmus_vals)
    pointers: dict[str, L.Sym] = field(default_factory=dict)  # `[z]=y`: words holding addresses
    oas: set[str] = field(default_factory=set)  # the pages whose frames descriptors name
    stored: Vals = frozenset()  # the values the threads store to data words
    labels: list[str] = field(default_factory=list)  # `P1:L0` held by ADR: 1, 2... (litmus_eret)

    def store(self, vals: Vals) -> None:
        self.stored = union(self.stored, vals)
    tthm: dict[int, str] = field(default_factory=dict)  # TTHM=: thread -> access | hardware
    el0: frozenset[int] = frozenset()  # EL0=: the threads running at EL0 (user mode)
    el0_bits: bool = False  # descriptors carry herd7's el0 field (EL0 threads or el0:)
    kernel_pages: dict[str, str] = field(default_factory=dict)  # pte_x as an EL0 thread sees it

    def fault_types(self, page: str, kind: str, proc: int | None = None) -> set[str]:
        """The fault types (herd7's MMU:...) an access of ``kind`` to ``page`` can take, on
        thread ``proc`` (its hardware flag management, docs/arm64.md section 7)."""
        out = set()
        mode = self.tthm.get(proc, "none") if proc is not None else "none"
        if page in self.kernel_pages.values():  # a page-table entry read from EL0
            return {"MMU:Permission"}
        for d in self.descs.get(page, [None]):
            flag = {k: v.value for k, v in (d.fields if d else ()) if isinstance(v, L.Int)}
            dirty = mode == "hardware" and flag.get("dbm", 0)
            if not flag.get("valid", 1):
                out.add("MMU:Translation")
            elif proc in self.el0 and not flag.get("el0", 1):
                out.add("MMU:Permission")
            elif not flag.get("af", 1) and mode == "none":
                out.add("MMU:AccessFlag")
            elif not flag.get("db", 1) and kind == "write" and not dirty:
                out.add("MMU:Permission")
        return out

    def page(self, name: str) -> str:
        if name not in self.pages:
            self.pages.append(name)
        self.frame(name)
        return name

    def kernel_page(self, name: str) -> str:
        """The page through which an EL0 thread's access to ``pte_name`` goes: mapped
        without the `user` permission, so that the access is a permission fault (herd7:
        page tables are not accessible from EL0)."""
        if name not in self.kernel_pages:
            self.kernel_pages[name] = self.page(f"pte_{name}")
        return self.kernel_pages[name]

    def frame(self, name: str) -> str:
        f = "phy_" + name
        if f not in self.frames:
            self.frames.append(f)
        return f


# statements that store no data word (any other may: the loads' values become unknown)
QUIET = (ast.Assign, ast.Access, ast.PteWrite, ast.Barrier, ast.Tlbi, ast.Skip, ast.If, ast.While)


@dataclass
class ThreadOut:
    th: L.Thread
    env: Env
    syms: Symbols
    err: type[Exception]
    out: list[ast.Stmt] = field(default_factory=list)
    labels: dict[str, tuple[Span, str | None, str]] = field(default_factory=dict)
    accesses: list[tuple[Span, str, str]] = field(default_factory=list)  # span, page, kind
    ctrl: list[tuple[Span, tuple[str, ...]]] = field(default_factory=list)
    flags: tuple[ast.Expr, ast.Expr] | None = None  # the last CMP's operands
    user: bool = False  # an EL0 thread's code (its P.F handler runs at EL1)
    elr: str | None = None  # the label `MSR ELR_EL1` set (litmus_eret)
    eret: str | None = None  # a handler's `ERET`: the label it returns to
    resumes: bool = False  # a thread whose handler returns

    def fail(self, node: L.LNode, message: str) -> Exception:
        return self.err(node.span, message)

    def args(self, i: L.Instr, kinds: str) -> tuple[L.Operand, ...]:
        """The operands of ``i``, which must be of ``kinds`` (r: register, i: immediate,
        m: memory, n: name), else an error naming the instruction's form."""
        if len(i.args) != len(kinds) or any(
            a.kind[0] != k for a, k in zip(i.args, kinds, strict=False)
        ):
            raise self.fail(i, f"this form of {i.op} is outside the litmus subset ({i.text})")
        return i.args

    def address(self, i: L.Instr, m: L.Operand) -> Static:
        if len(m.parts) == 2 and m.parts[1].kind == "imm" and int(m.parts[1].text[1:], 0) == 0:
            pass
        elif (
            not 1 <= len(m.parts) <= 3
            or m.parts[0].kind != "reg"
            or (len(m.parts) > 1 and m.parts[1].kind != "reg")
        ):
            raise self.fail(m, f"an address with an offset ({m.text}) is outside the litmus subset")
        s = self.env.get(reg_name(m.parts[0]))
        if s.kind not in ("va", "pte"):
            raise self.fail(m, f"{m.parts[0].text} holds no known address when {i.op} runs")
        return s

    def descriptor(self, r: L.Operand) -> ast.PteValue:
        """The PTE value of the descriptor register ``r`` holds (it names its ``oa``)."""
        d = self.env.get(reg_name(r)).desc
        if d is None or d.get("oa") is None:
            raise self.fail(r, f"{r.text} holds a descriptor without an oa")
        return pte_of(d, "", self.syms)

    def assign(
        self,
        i: L.Instr,
        dst: L.Operand,
        expr: ast.Expr,
        kind: str = "data",
        pick: bool = False,
        vals: Vals = None,
        fixed: bool = False,
    ) -> None:
        """``dst := expr`` for ``i``: ``dst`` now holds data (or a PTE value: ``kind``
        'ptev') with the values ``vals`` (default: those ``expr`` may take)."""
        name = reg_name(dst)
        if kind == "data" and vals is None:
            vals = value_set(expr, self.env.vals)
        self.env.regs[name] = Static(kind, vals=vals, pick=pick, fixed=fixed)
        self.emit(i, ast.Assign(ast.Name(name, span=dst.span), expr, span=i.span))

    def pte_of(self, d: L.Desc, page: str) -> ast.PteValue:
        return pte_of(d, page, self.syms)

    def emit(self, i: L.Instr, stmt: ast.Stmt, page: str | None = None) -> None:
        """Add ``stmt`` for ``i``; ``page``: the page ``i`` accesses through translation."""
        self.out.append(stmt)
        if isinstance(stmt, ast.Access) and stmt.kind == "write":
            self.syms.store(value_set(stmt.value, self.env.vals) if stmt.value else None)
        elif not isinstance(stmt, QUIET) and not on_pte(stmt):  # may store data of its own
            self.syms.store(None)
        kind = stmt.kind if isinstance(stmt, ast.Access) else "write" * isinstance(stmt, ast.Atomic)
        if page is not None:
            self.accesses.append((i.span, page, kind))
        for label in i.labels:
            self.labels[label] = (i.span, page, kind)


def lower_thread(
    th: L.Thread, env: Env, syms: Symbols, err: type[Exception], setup: bool = True
) -> ThreadOut:
    """Thread ``th`` lowered: its statements (``out``), its labels (span of the
    instruction, page it accesses), its accesses, its control dependencies."""
    t = ThreadOut(th, env, syms, err, user=setup and th.proc in syms.el0)
    for reg, s in sorted(env.regs.items(), key=lambda kv: int(kv[0][1:])) if setup else ():
        if s.kind == "int" and s.value != 0:
            t.out.append(
                ast.Assign(ast.Name(reg, span=s.span), ast.Num(s.value, span=s.span), span=s.span)
            )
            env.regs[reg] = Static("data", vals=s.vals, fixed=True)
    lower_code(t, th.code, th.end_labels, _instr)
    return t


def _instr(t: ThreadOut, i: L.Instr, next_labels: tuple[str, ...]) -> None:
    sp = i.span
    op = i.op
    if op in LOADS:
        dst, m = t.args(i, "rm")
        s = t.address(i, m)
        via = offset(t, i, m) + s.via()
        if s.kind == "pte" and (via or op != "LDR"):
            raise t.fail(
                i, f"this load of a page-table entry is outside the litmus subset ({i.text})"
            )
        d = reg_name(dst)
        if s.kind == "pte" and t.user:  # a permission fault (docs/arm64.md section 8)
            t.env.regs[d] = Static("data")
            page = t.syms.kernel_page(s.page)
            t.emit(i, ast.Access("read", ast.PageRef(None, page, span=sp), span=sp), page)
            return
        if s.kind == "pte":  # the whole entry as a PTE value (docs/arm64.md §1)
            t.syms.pte_loads = True
            t.assign(i, dst, ast.PteRead(ast.PageRef(None, s.page, span=sp), "", span=sp), "ptev")
            return
        t.env.regs[d] = Static("data", vals=t.syms.mem)
        ref, name = ast.PageRef(None, s.page, span=sp), ast.Name(d, span=dst.span)
        t.emit(i, ast.Access("read", ref, name, order=LOADS[op], via=via, span=sp), s.page)
    elif op in ("STR", "STLR"):
        _store(t, i)
    elif op in ARITH_OPS:
        lower_arith(t, i)
    elif op == "MOV":
        _mov(t, i)
    elif op == "LSR":
        d, n, imm = t.args(i, "rri")
        s = t.env.get(reg_name(n))
        if s.kind in ("int", "data"):  # data: a shift right is a division
            shift = ast.Num(1 << int(imm.text[1:], 0), span=imm.span)
            t.assign(i, d, ast.Binary("/", data_of(t, n), shift, span=sp))
            return
        if s.kind not in ("va", "pte") or int(imm.text[1:], 0) != 12:
            raise t.fail(i, f"only LSR Xd,Xn,#12 of an address (a page number) is read ({i.text})")
        # the page number of a PTE's address names no page of the test (a TLBI of it: skip)
        kind = "page" if s.kind == "va" else "nopage"
        t.env.regs[reg_name(d)] = Static(kind, s.page, deps=s.deps)
        _label_only(t, i)
    elif op in ("DMB", "DSB"):
        (opt,) = t.args(i, "n")
        which = _which(t, i, opt)
        t.emit(i, ast.Barrier(op.lower(), which, span=sp))
    elif op == "ISB":
        t.args(i, "")
        t.emit(i, ast.Barrier("isb", span=sp))
    elif op == "TLBI":
        _tlbi(t, i)
    elif op == "NOP":
        _label_only(t, i)
    elif is_atomic(op):
        lower_atomic(t, i)
    elif op in ERET_OPS:
        lower_eret(t, i)
    else:
        raise t.fail(i, _outside(op, i.text))


def _outside(op: str, text: str) -> str:
    if op in ACQ_REL:
        what = "acquire/release accesses"
    elif op in ARITH:
        what = "register arithmetic for dependencies"
    elif op == "B" or op.startswith("B."):
        what = "branches"
    else:
        what = f"`{op}`"
    return f"{what} ({text}) are outside the litmus subset tlbcheck reads (docs/arm64.md §4)"


def _label_only(t: ThreadOut, i: L.Instr) -> None:
    if i.labels:
        t.emit(i, ast.Skip(span=i.span))


def _store(t: ThreadOut, i: L.Instr) -> None:
    src, m = t.args(i, "rm")
    s = t.address(i, m)
    v = t.env.get(reg_name(src))
    sp = i.span
    ref = ast.PageRef(None, s.page, span=sp)
    via = offset(t, i, m) + s.via()
    if s.kind == "pte" and t.user:  # a permission fault (docs/arm64.md section 8)
        page = t.syms.kernel_page(s.page)
        t.emit(i, ast.Access("write", ast.PageRef(None, page, span=sp), span=sp), page)
        return
    order = "release" if i.op == "STLR" else ""  # STLR: `pte release x := ...`
    if s.kind == "pte" and v.kind == "ptev" and not via:  # a PTE value loaded
        t.syms.reg_stores = True
        t.emit(i, ast.PteWrite(ref, ast.Name(reg_name(src), span=src.span), order, span=sp))
        return
    if s.kind == "pte":
        if via:
            what = "a page-table store with an offset register"
            raise t.fail(i, f"{what} is outside the litmus subset ({i.text})")
        if v.kind != "desc" or v.desc is None:
            raise t.fail(
                i, f"{src.text} holds no known descriptor for the page-table store ({i.text})"
            )
        t.syms.descs.setdefault(s.page, [None]).append(v.desc)
        t.emit(i, ast.PteWrite(ref, pte_of(v.desc, s.page, t.syms), order, span=sp))
        return
    if v.kind not in ("int", "data"):
        raise t.fail(i, f"{src.text} holds an address or a descriptor, stored as data ({i.text})")
    value_expr = data_of(t, src)
    t.emit(i, ast.Access("write", ref, None, value_expr, order, via, span=sp), s.page)


def _mov(t: ThreadOut, i: L.Instr) -> None:
    if len(i.args) == 2 and i.args[1].kind == "imm":
        d, imm = i.args
        t.assign(i, d, ast.Num(int(imm.text[1:], 0), span=imm.span), fixed=True)
        return
    d, s = t.args(i, "rr")
    src = t.env.get(reg_name(s))
    if src.kind in ("int", "data", "ptev"):
        t.assign(i, d, data_of(t, s), "ptev" if src.kind == "ptev" else "data")
    else:
        t.env.regs[reg_name(d)] = src
        _label_only(t, i)


def _which(t: ThreadOut, i: L.Instr, opt: L.Operand) -> str:
    o = opt.text.upper()
    if o in FULL:
        return "full"
    if o in {"LD", "ISHLD", "OSHLD", "NSHLD"}:
        return "ld"
    if o in {"ST", "ISHST", "OSHST", "NSHST"}:
        return "st"
    raise t.fail(opt, f"unknown barrier option {opt.text} ({i.text})")


def _tlbi(t: ThreadOut, i: L.Instr) -> None:
    if not i.args or i.args[0].kind != "name":
        raise t.fail(i, f"expected a TLBI operation ({i.text})")
    name = i.args[0].text.upper()
    broadcast = name.endswith("IS") or name.endswith("OS")
    base = name[:-2] if broadcast else name
    sp = i.span
    if base in ALL:
        t.args(i, "n")
        t.emit(i, ast.Tlbi("all", broadcast, span=sp))
        return
    if base not in BY_PAGE:
        what = "ASID-wide TLBI (herd7 has no ASIDs)" if base.startswith("ASID") else f"TLBI {name}"
        raise t.fail(i.args[0], f"{what} is outside the litmus subset ({i.text})")
    _, reg = t.args(i, "nr")
    s = t.env.get(reg_name(reg))
    if s.kind != "page":
        # herd7 reads the register as a page number: it names no page of the test
        t.emit(i, ast.Skip(span=sp))
        return
    leaf = base in ("VALE1", "VAALE1")  # last level only (herd7: no walk caches, no difference)
    ref = ast.PageRef(None, s.page, span=sp)
    t.emit(i, ast.Tlbi("page", broadcast, ref, leaf=leaf, via=s.via(), span=sp))
