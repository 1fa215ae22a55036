"""Checked AST -> Program: expand families, unroll `for`/`repeat`, resolve names, flatten
control flow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from verifier.ir import program as P
from verifier.ir.flat import BINOPS, LowerError, fold, resolve_next, source_text
from verifier.ir.limits import MAX_INSTRUCTIONS, too_big, unrolled_size
from verifier.ir.lower_atomic import lower_access, lower_page_atomic, lower_pte_atomic
from verifier.ir.lower_decls import (
    Tables,
    lower_spaces,
    lower_tables,
    lower_words,
    pte_regs,
    tables,
)
from verifier.ir.lower_hw import ad_settings
from verifier.ir.lower_litmus import attach_litmus
from verifier.ir.lower_riscv import lower_riscv
from verifier.ir.resume import fault_code
from verifier.ir.lower_tables import lower_slot_write, lower_table_read
from verifier.lang import ast
from verifier.lang.checked import DEFAULT_RANGE, CheckedSpec, CoreInstance, Ref
from verifier.lang.span import Span


class _NotOnThisCore(Exception):
    """A per-core word indexed by `self` on a core outside the word's family."""


@dataclass
class _CoreLowerer:
    t: Tables
    core: int
    family_index: int | None
    code: list[P.Instr] = field(default_factory=list)
    regs: list[str] = field(default_factory=list)
    hregs: list[str] = field(default_factory=list)
    in_handler: bool = False
    user: bool = False  # lowering user-mode code (`option mode = user`; not handlers)
    bound: dict[str, int] = field(default_factory=dict)  # for-variables -> core index
    loops: list[P.ForLoop] = field(default_factory=list)  # `for` over a whole family

    # -- names
    def reg(self, name: str) -> P.LReg:
        bank = self.hregs if self.in_handler else self.regs
        if name not in bank:
            bank.append(name)
        return P.LReg(bank.index(name), self.in_handler)

    def ref(self, node: ast.Node) -> Ref:
        """What the checker resolved ``node`` to (lowering never looks a name up itself)."""
        try:
            return self.t.spec.refs[id(node)]
        except KeyError:
            raise LowerError(f"the checker left {node} unresolved") from None

    def core_of(self, t: ast.Target | ast.Expr) -> int:
        match t:
            case ast.SelfRef():
                return self.core
            case ast.TargetName() | ast.Name():
                ref = self.ref(t)
                return self.bound[ref.name] if ref.kind == "loopvar" else self.t.cores[ref.name]
            case ast.TargetIndex(family=f, index=e):
                lo = {name: lo for name, lo, _ in self.t.spec.families}[f]
                return self.t.families[f][self.const(e) - lo]
        raise LowerError(f"not a single core: {t}")

    def targets(self, t: ast.Target) -> tuple[int, ...]:
        match t:
            case ast.TargetFamily(family=f):
                return self.t.families[f]
            case ast.TargetOthers():
                return tuple(c for c in range(len(self.t.spec.cores)) if c != self.core)
            case ast.TargetAll():
                return tuple(range(len(self.t.spec.cores)))
        return (self.core_of(t),)

    def word(self, name: str, index: ast.Expr | ast.Target | None) -> int:
        if index is None:
            return self.t.word_index[(name, None)]
        key = (name, self.core_of(index))
        if key not in self.t.word_index:
            core = self.t.spec.cores[self.core].name
            raise _NotOnThisCore(f"{name}[self] on core {core}, which is not in {name}'s family")
        return self.t.word_index[key]

    def const(self, e: ast.Expr) -> int:
        """A constant expression (the checker made sure it is one: integers, params)."""
        return fold(self.expr(e))

    def self_value(self) -> int:
        return self.family_index if self.family_index is not None else self.core

    # -- expressions
    def expr(self, e: ast.Expr) -> P.LExpr:
        match e:
            case ast.Num(value=v):
                return P.LConst(v)
            case ast.SelfRef():
                return P.LConst(self.self_value())
            case ast.Name() | ast.PageName():
                return self.name(self.ref(e))
            case ast.Index(name=n, index=i):
                return P.LWord(self.word(n, i))
            case ast.PteRead(page=ref, field=f):
                space, page = self.page(ref)
                self.t.whole = self.t.whole or not f
                return P.LPte(space, page, f)
            case ast.PteLit(value=v):
                self.t.whole = True
                return P.LConst(self.t.pte_number(v))
            case ast.PteFields(value=v, op=o, fields=fs):  # its table once all values are known
                self.t.whole = True
                self.t.updates.add((o, fs))
                return P.LFields(self.expr(v), o, fs)
            case ast.SlotRead() | ast.DirRead():
                return lower_table_read(self, e)
            case ast.Unary(op=o, operand=a):
                return P.LUn("neg" if o == "-" else "not", self.expr(a))
            case ast.Binary(op=o, left=a, right=b):
                return P.LBin(BINOPS[o], self.expr(a), self.expr(b))
        raise LowerError(f"unknown expression {e}")

    def name(self, ref: Ref) -> P.LExpr:
        match ref.kind:
            case "loopvar":
                c = self.t.spec.cores[self.bound[ref.name]]
                return P.LConst(c.index if c.index is not None else self.bound[ref.name])
            case "param":
                return P.LConst(ref.value)
            case "word":
                return P.LWord(self.t.word_index[(ref.name, None)])
            case "page":
                space = None if ref.space is None else self.t.spaces[ref.space]
                return P.LConst(P.page_arg(self.t.pages[ref.name], space, len(self.t.pages)))
            case "reg":
                return self.reg(ref.name)
        raise LowerError(f"a {ref.kind} is not a value: {ref}")

    def lvalue_word(self, target: ast.Name | ast.Index) -> int:
        if isinstance(target, ast.Index):
            return self.word(target.name, target.index)
        return self.word(self.ref(target).name, None)

    def is_word(self, target: ast.Name | ast.Index) -> bool:
        return isinstance(target, ast.Index) or self.ref(target).kind == "word"

    def page(self, node: ast.PageRef) -> tuple[int | None, P.PageOp]:
        ref = self.ref(node)
        if ref.kind == "reg":  # a handler's page parameter
            return None, self.reg(ref.name)
        space = self.t.spaces[ref.space] if ref.space is not None else None
        return space, self.t.pages[ref.name]

    # -- statements
    def emit(self, mk: Callable[[Span, str], P.Instr], span: Span) -> int:
        t = self.t
        t.emitted += 1
        if t.emitted > MAX_INSTRUCTIONS:
            raise too_big(span, t.spec.source, "this statement", t.emitted)
        if t.check is not None and t.emitted & 0x3FF == 0:
            t.check()
        self.code.append(mk(span, source_text(t.lines, span)))
        return len(self.code) - 1

    def block(self, stmts: tuple[ast.Stmt, ...]) -> None:
        for s in stmts:
            self.stmt(s)

    def patch(self, pc: int, target: int) -> None:
        old = self.code[pc]
        assert isinstance(old, P.IBranch | P.IJump)
        self.code[pc] = type(old)(**{**old.__dict__, "target": target})

    def bound_unrolling(self, s: ast.Repeat | ast.For, what: str) -> None:
        size = self.t.emitted + unrolled_size(
            (s,), lambda r: self.const(r.count), lambda f: len(self.targets(f.over))
        )
        if size > MAX_INSTRUCTIONS:
            raise too_big(s.span, self.t.spec.source, what, size)

    def stmt(self, s: ast.Stmt) -> None:
        try:
            self.stmt_on_core(s)
        except _NotOnThisCore as exc:
            msg = str(exc)
            self.emit(lambda a, b: P.IFail(a, b, msg), s.span)

    def stmt_on_core(self, s: ast.Stmt) -> None:
        if isinstance(s, _CONTROL):
            self.control(s)
        elif isinstance(s, _TRANSLATION):
            self.translation(s)
        elif isinstance(s, ast.RvFence | ast.Sfence):
            lower_riscv(self, s)
        else:
            self.instruction(s)

    def instruction(self, s: ast.Stmt) -> None:
        """Statements on data: PTE writes, words and registers, fences, IPIs, interrupts,
        checks."""
        sp = s.span
        match s:
            case ast.PteWrite(page=ref, value=ast.Name(name=n), order=o):
                space, page = self.page(ref)
                src = self.reg(n)  # its wids come once every PTE value is known (_pte_regs)
                self.t.whole = True
                self.emit(lambda a, b: P.IPte(a, b, space, page, -1, src, order=o), sp)
            case ast.PteWrite(page=ref, value=v, order=o):
                space, page = self.page(ref)
                wid = self.t.pte_value(v, source_text(self.t.lines, sp), sp)
                self.emit(lambda a, b: P.IPte(a, b, space, page, wid, None, (wid,), order=o), sp)
            case ast.SlotWrite():
                lower_slot_write(self, s)
            case ast.Assign(target=tgt, value=v):
                val = self.expr(v)
                if self.is_word(tgt):
                    addr = self.lvalue_word(tgt)
                    self.emit(lambda a, b: P.IStore(a, b, addr, val), sp)
                else:
                    r = self.reg(tgt.name)
                    self.emit(lambda a, b: P.IAssign(a, b, r, val), sp)
            case ast.Atomic(target=ast.PteRead()):
                lower_pte_atomic(self, s)
            case ast.Atomic(target=ast.Name() as tgt) if self.ref(tgt).kind != "word":
                lower_page_atomic(self, s)
            case ast.Atomic(dest=d, op=o, target=tgt, args=args, order=order):
                addr = self.lvalue_word(tgt)
                largs = tuple(self.expr(a) for a in args)
                dest = self.reg(d) if d is not None else None
                self.emit(lambda a, b: P.IAtomic(a, b, dest, o, addr, largs, order), sp)
            case ast.Fence(kind=fence_kind):
                self.emit(lambda a, b: P.IFence(a, b, fence_kind), sp)
            case ast.Barrier(kind=k, which=w):
                self.emit(lambda a, b: P.IBarrier(a, b, k, w), sp)
            case ast.Ipi(targets=ts, handler=h, args=args):
                cores = tuple(sorted({c for t in ts for c in self.targets(t)}))
                hi = [x.name for x in self.t.spec.handlers].index(h)
                largs = tuple(self.expr(a) for a in args)
                pages = tuple(
                    isinstance(a, ast.Name | ast.PageName) and self.ref(a).kind == "page"
                    for a in args
                )
                self.emit(lambda a, b: P.IIpi(a, b, cores, hi, largs, pages), sp)
            case ast.Await(cond=c):
                self.emit(lambda a, b: P.IAwait(a, b, self.expr(c)), sp)
            case ast.Irq(on=on):
                self.emit(lambda a, b: P.IIrq(a, b, on), sp)
            case ast.Assert(cond=c):
                self.emit(lambda a, b: P.IAssert(a, b, self.expr(c)), sp)
            case ast.Skip():
                self.emit(lambda a, b: P.ISkip(a, b), sp)
            case _:
                raise LowerError(f"unknown statement {s}")

    def translation(self, s: ast.Stmt) -> None:
        """Statements on translations: invalidations, accesses through the TLB, address-space
        switches, frees and completions."""
        sp = s.span
        match s:
            case ast.Invlpg(page=ref):
                space, page = self.page(ref)
                self.emit(lambda a, b: P.IInvlpg(a, b, space, page), sp)
            case ast.FlushAsid(space=name):
                asid = self.t.spec.spaces[self.t.spaces[name]].asid
                self.emit(lambda a, b: P.IFlushAsid(a, b, asid), sp)
            case ast.FlushAll():
                self.emit(lambda a, b: P.IFlushAll(a, b), sp)
            case ast.Access():
                lower_access(self, s)
            case ast.Tlbi(scope="page", broadcast=bc, page=ref, leaf=leaf, via=via) if ref:
                space, page = self.page(ref)
                deps = tuple(self.reg(n.name) for n in via)
                self.emit(lambda a, b: P.ITlbi(a, b, "page", bc, space, page, leaf=leaf, via=deps), sp)
            case ast.Tlbi(scope="asid", broadcast=bc, space=name) if name is not None:
                asid = self.t.spec.spaces[self.t.spaces[name]].asid
                self.emit(lambda a, b: P.ITlbi(a, b, "asid", bc, asid=asid), sp)
            case ast.Tlbi(scope="all", broadcast=bc):
                self.emit(lambda a, b: P.ITlbi(a, b, "all", bc), sp)
            case ast.Switch(space=name):
                self.emit(lambda a, b: P.ISwitch(a, b, self.t.spaces[name]), sp)
            case ast.Free(frame=f):
                self.emit(lambda a, b: P.IFree(a, b, self.t.frames[f]), sp)
            case ast.Complete(page=ref):
                space, page = self.page(ref)
                self.emit(lambda a, b: P.IComplete(a, b, space, page), sp)
            case ast.CopyFrame(src=x, dst=y):
                self.emit(lambda a, b: P.ICopy(a, b, self.t.frames[x], self.t.frames[y]), sp)
            case ast.ZeroFrame(frame=f):
                self.emit(lambda a, b: P.IZero(a, b, self.t.frames[f]), sp)
            case ast.DirWrite(dir=d, table=tbl):
                di = self.t.dirs[d]
                ti = -1 if tbl is None else self.t.spec.tables.index(tbl)
                self.emit(lambda a, b: P.IDir(a, b, di, ti), sp)
            case _:
                raise LowerError(f"unknown statement {s}")

    def control(self, s: ast.Stmt) -> None:
        """Control flow: branches and loops become jumps; `repeat` and `for` are unrolled."""
        sp = s.span
        match s:
            case ast.If(cond=c, then=then, orelse=orelse):
                br = self.emit(lambda a, b: P.IBranch(a, b, self.expr(c), -1), sp)
                self.block(then)
                if orelse:
                    jmp = self.emit(lambda a, b: P.IJump(a, b, -1), sp)
                    self.patch(br, len(self.code))
                    self.block(orelse)
                    self.patch(jmp, len(self.code))
                else:
                    self.patch(br, len(self.code))
            case ast.While(cond=c, body=body):
                top = len(self.code)
                br = self.emit(lambda a, b: P.IBranch(a, b, self.expr(c), -1), sp)
                self.block(body)
                self.emit(lambda a, b: P.IJump(a, b, top), sp)
                self.patch(br, len(self.code))
            case ast.Loop(body=body):
                top = len(self.code)
                self.block(body)
                self.emit(lambda a, b: P.IJump(a, b, top), sp)
            case ast.Repeat(count=k, body=body):
                self.bound_unrolling(s, f"`repeat {self.const(k)}`")
                for _ in range(self.const(k)):
                    self.block(body)
            case ast.For(var=var, over=over, body=body):
                self.bound_unrolling(s, f"`for {var}` over {len(self.targets(over))} cores")
                saved, starts = self.bound.get(var), []
                for core in self.targets(over):
                    self.bound[var] = core
                    starts.append(len(self.code))
                    self.block(body)
                if isinstance(over, ast.TargetFamily):
                    cores, end = self.targets(over), len(self.code)
                    self.loops.append(P.ForLoop(over.family, cores, tuple(starts), end, sp))
                if saved is None:
                    self.bound.pop(var, None)
                else:
                    self.bound[var] = saved
            case _:
                raise LowerError(f"unknown statement {s}")


_CONTROL = (ast.If, ast.While, ast.Loop, ast.Repeat, ast.For)
_TRANSLATION = (
    ast.Invlpg, ast.FlushAsid, ast.FlushAll, ast.Tlbi, ast.Access, ast.Switch, ast.Free,
    ast.Complete, ast.DirWrite, ast.CopyFrame, ast.ZeroFrame,
)  # fmt: skip


def lower(spec: CheckedSpec, check: Callable[[], None] | None = None) -> P.Program:
    """``check`` is called now and then; it raises to stop a run (a time or memory limit)."""
    t = tables(spec, check)
    lower_words(t)
    spaces = lower_spaces(t)
    lcores = [_lower_core(t, ci, inst) for ci, inst in enumerate(spec.cores)]
    handlers = tuple(P.Handler(h.name, h.params, h.param_kinds, h.span) for h in spec.handlers)
    levels = lower_tables(t)  # table slots and walker-made values are numbered too
    lcores = pte_regs(t, lcores)
    prog = P.Program(
        spec.title, spec.file, spec.source, spec.params, spec.walker, spec.ipi, spec.buffer,
        spec.frames, spec.pages, tuple(spaces), tuple(t.words), tuple(lcores), handlers,
        tuple(t.pte_values), spec.flushes, *levels, frame_data=spec.frame_data,
        pte_keys=tuple(t.pte_keys), **ad_settings(spec),
    )  # fmt: skip
    return attach_litmus(prog, spec)


def _lower_core(t: Tables, ci: int, inst: CoreInstance) -> P.Core:
    """A core's program, then every handler's code on that core, as one flat code list."""
    lc = _CoreLowerer(t, ci, inst.index, user=t.spec.user_mode(inst))
    lc.block(inst.body)
    lc.user = False  # IPI and fault handlers run in kernel mode
    end = lc.emit(lambda a, b: P.IEnd(a, b), inst.span)
    lc.code[end] = P.IEnd(inst.span, "end of program")
    entries = []
    lc.in_handler = True
    for h in t.spec.handlers:
        entries.append(len(lc.code))
        for p in h.params:
            lc.reg(p)
        lc.block(h.body)
        ret = lc.emit(lambda a, b: P.IReturn(a, b), h.span)
        lc.code[ret] = P.IReturn(h.span, f"return from {h.name}")
    lc.in_handler = False
    fault = (len(lc.code), *fault_code(lc, inst, end)) if inst.fault is not None else (-1, -1, ())
    code, nexts = resolve_next(lc.code)
    return P.Core(
        inst.name, t.spaces[inst.space], tuple(code), nexts, tuple(entries), end,
        tuple(lc.regs), tuple(lc.hregs), DEFAULT_RANGE, *fault, loops=tuple(lc.loops),
    )  # fmt: skip

