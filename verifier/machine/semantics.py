"""The rules of the machine, written once: Program + model -> System of guarded commands.

Every behaviour the memory model allows is one of these commands: executing an
instruction, a buffered store or held IPI leaving a store buffer, a pending
IPI entering its handler, or a speculative walker filling a TLB.  The explicit
engine and the z3 engine both run exactly this list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from verifier.ir import program as P
from verifier.ir.system import (
    FALSE,
    TRUE,
    Check,
    Command,
    CoreLayout,
    Expr,
    Field,
    System,
    conj,
    disj,
    eq,
    ite,
    ne,
    op,
)
from verifier.machine.layout import (
    QUEUE,
    C,
    Layout,
    build_layout,
    fresh_pte,
    pte_clear_latest,
    pte_mark_stale,
    pte_stale,
    pte_wid,
)

ACCESS_BIT = {"read": 1, "write": 2, "exec": 4}


def replace_if(cond: Expr, new: Expr) -> Callable[[Expr], Expr]:
    """An update that sets a field to ``new`` where ``cond`` holds."""
    return lambda old: ite(cond, new, old)


def apply_if(cond: Expr, fn: Callable[[Expr], Expr]) -> Callable[[Expr], Expr]:
    """An update that applies ``fn`` to a field where ``cond`` holds."""
    return lambda old: ite(cond, fn(old), old)


@dataclass
class Upd:
    """Simultaneous updates under construction; every expression reads the pre-state."""

    exprs: dict[int, Expr] = field(default_factory=dict)

    def set(self, f: int, e: Expr | int) -> None:
        self.exprs[f] = C(e) if isinstance(e, int) else e

    def modify(self, f: int, fn: Callable[[Expr], Expr]) -> None:
        self.exprs[f] = fn(self.exprs.get(f, Field(f)))

    def items(self) -> tuple[tuple[int, Expr], ...]:
        return tuple(sorted((f, e) for f, e in self.exprs.items() if e != Field(f)))


@dataclass
class Rule:
    """One command being built."""

    guard: list[Expr] = field(default_factory=list)
    upd: Upd = field(default_factory=Upd)
    checks: list[Check] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


class Builder:
    def __init__(self, prog: P.Program, model: str) -> None:
        self.prog = prog
        self.model = model
        self.lay: Layout = build_layout(prog, model)
        self.commands: list[Command] = []

    # ------------------------------------------------------------ helpers
    def emit(
        self,
        c: int,
        site: int | None,
        rule: Rule,
        action: str,
        key: str,
        text: str,
        span: Any = None,
    ) -> None:
        self.commands.append(
            Command(
                len(self.commands),
                c,
                site,
                conj(*rule.guard),
                rule.upd.items(),
                tuple(rule.checks),
                action,
                key,
                text,
                span,
                tuple(sorted(rule.info.items())),
            )
        )

    def expr(self, c: int, e: P.LExpr, rule: Rule) -> Expr:
        """Lower an instruction expression; division by zero becomes a `range` check."""
        cf = self.lay.cores[c]
        match e:
            case P.LConst(value=v):
                return C(v)
            case P.LReg(index=i, handler=h):
                return Field(cf.hregs[i] if h else cf.regs[i])
            case P.LWord(addr=a):
                rule.info["reads"] = a
                return self.lay.load(c, a)
            case P.LUn(op=o, arg=a):
                return op(o, self.expr(c, a, rule))
            case P.LBin(op=o, left=a, right=b):
                x, y = self.expr(c, a, rule), self.expr(c, b, rule)
                if o in ("div", "mod"):
                    rule.checks.append(
                        Check("range", eq(y, 0), True, (("what", "division by zero"),))
                    )
                return op(o, x, y)
        raise TypeError(e)

    def range_check(self, rule: Rule, value: Expr, lo: int, hi: int, what: str) -> None:
        cond = disj(op("lt", value, C(lo)), op("gt", value, C(hi)))
        if cond != FALSE:
            rule.checks.append(Check("range", cond, True, (("what", what),)))

    def reg_field(self, c: int, r: P.LReg) -> int:
        cf = self.lay.cores[c]
        return cf.hregs[r.index] if r.handler else cf.regs[r.index]

    def pages_of(self, c: int, page: P.PageOp) -> Iterator[tuple[int, Expr]]:
        """Concrete pages a page operand can name, each with its guard."""
        if isinstance(page, int):
            yield page, TRUE
        else:
            f = Field(self.reg_field(c, page))
            for v in range(len(self.prog.pages)):
                yield v, eq(f, v)

    def spaces_of(self, c: int, space: int | None) -> Iterator[tuple[int, Expr]]:
        if space is not None:
            yield space, TRUE
        elif len(self.prog.spaces) == 1:
            yield 0, TRUE
        else:
            for s in range(len(self.prog.spaces)):
                yield s, eq(Field(self.lay.cores[c].space), s)

    def append_pos(self, slots: list[int], k: int) -> Expr:
        free = eq(Field(slots[k]), 0)
        return free if k == 0 else conj(free, ne(Field(slots[k - 1]), 0))

    def buffer_append(
        self, c: int, rule: Rule, kind: int, values: list[Expr], when: Expr = TRUE
    ) -> None:
        cf = self.lay.cores[c]
        for k in range(len(cf.sba)):
            at = conj(when, self.append_pos(cf.sba, k))
            rule.upd.modify(cf.sba[k], replace_if(at, C(kind)))
            for j, f in enumerate(cf.sbv[k]):
                v = values[j] if j < len(values) else C(0)
                rule.upd.modify(f, replace_if(at, v))

    def shift_out(self, rule: Rule, heads: list[int], vals: list[list[int]], i: int) -> None:
        """Remove slot ``i`` of a buffer or queue; later slots move up."""
        for k in range(i, len(heads)):
            nxt = k + 1 < len(heads)
            rule.upd.set(heads[k], Field(heads[k + 1]) if nxt else C(0))
            for j, f in enumerate(vals[k]):
                rule.upd.set(f, Field(vals[k + 1][j]) if nxt else C(0))

    def enqueue_ipi(
        self, rule: Rule, targets: tuple[int, ...], handler: int, args: list[Expr]
    ) -> None:
        for t in targets:
            tf = self.lay.cores[t]
            rule.checks.append(
                Check(
                    "range",
                    ne(Field(tf.qh[-1]), 0),
                    True,
                    (("what", f"more than {QUEUE} pending IPIs at {self.prog.cores[t].name}"),),
                )
            )
            for k in range(QUEUE):
                at = self.append_pos(tf.qh, k)
                rule.upd.modify(tf.qh[k], replace_if(at, C(handler + 1)))
                for j, f in enumerate(tf.qa[k]):
                    v = args[j] if j < len(args) else C(0)
                    rule.upd.modify(f, replace_if(at, v))

    def pte_copies(self, s: int, v: int) -> Iterator[tuple[int, Expr]]:
        """Every field that may hold a value of PTE entry (s, v), with the condition that
        it does."""
        lay = self.lay
        a = lay.pte_addr(s, v)
        yield lay.mem[a], TRUE
        for cf in lay.cores:
            for k, kind in enumerate(cf.sba):
                yield cf.sbv[k][0], eq(Field(kind), a + 1)
            for t in (lay.tag_of_space(s), lay.gtag):
                yield cf.tw[(v, t)], eq(Field(cf.te[(v, t)]), s + 1)

    def on_pte_copies(self, rule: Rule, s: int, v: int, fn: Callable[[Expr], Expr]) -> None:
        for f, cond in self.pte_copies(s, v):
            rule.upd.modify(f, apply_if(cond, fn))

    def tlb_clear(self, rule: Rule, c: int, v: int, t: int) -> None:
        cf = self.lay.cores[c]
        rule.upd.set(cf.te[(v, t)], 0)
        rule.upd.set(cf.tw[(v, t)], 0)

    # ------------------------------------------------------------ build
    def build(self) -> System:
        for c, core in enumerate(self.prog.cores):
            for pc, ins in enumerate(core.code):
                self.instruction(c, pc, ins, core.next[pc])
            self.deliveries(c)
            self.drains(c)
            if self.prog.walker == "speculative":
                self.fills(c)
        return self.system()

    def system(self) -> System:
        cores = []
        for c, core in enumerate(self.prog.cores):
            cf = self.lay.cores[c]
            awaits = [(pc, ins) for pc, ins in enumerate(core.code) if isinstance(ins, P.IAwait)]
            cores.append(
                CoreLayout(
                    core.name,
                    cf.pc,
                    cf.spc,
                    cf.inh,
                    frozenset(pc for pc, _ in awaits if pc < core.program_end),
                    frozenset(pc for pc, _ in awaits if pc > core.program_end),
                    tuple((pc, ins.text, ins.span) for pc, ins in awaits),
                )
            )
        init = tuple(f.init for f in self.lay.fields)
        return System(
            self.model,
            tuple(self.lay.fields),
            init,
            tuple(self.commands),
            tuple(cores),
            self.prog.pte_values,
            self.lay.groups(),
            {"layout": self.lay},
        )

    # ------------------------------------------------------------ instructions
    def instruction(self, c: int, pc: int, ins: P.Instr, nxt: int) -> None:
        cf = self.lay.cores[c]
        name = self.prog.cores[c].name

        def base(**info: Any) -> Rule:
            r = Rule([eq(Field(cf.pc), pc)])
            r.upd.set(cf.pc, nxt)
            r.info.update(info)
            return r

        def emit(rule: Rule, action: str, variant: str = "") -> None:
            key = f"{name}@{pc}" + (f":{variant}" if variant else "")
            self.emit(c, pc, rule, action, key, ins.text, ins.span)

        match ins:
            case P.IPte(space=sp, page=page, wid=wid):
                for v, gv in self.pages_of(c, page):
                    for s, gs in self.spaces_of(c, sp):
                        r = base(page=v, space=s, wid=wid)
                        r.guard += [gv, gs]
                        self.pte_write(c, r, s, v, wid)
                        emit(r, "store" if self.model == "sc" else "store-buffered", f"{v}.{s}")
            case P.IStore(addr=a, value=e):
                r = base(addr=a)
                val = self.expr(c, e, r)
                w = self.prog.words[a]
                self.range_check(r, val, w.lo, w.hi, f"{w.name} := value outside {w.lo}..{w.hi}")
                if self.model == "sc":
                    r.upd.set(self.lay.mem[a], val)
                    emit(r, "store")
                else:
                    r.guard.append(op("not", self.lay.buffer_full(c)))
                    self.buffer_append(c, r, a + 1, [val])
                    emit(r, "store-buffered")
            case P.IAssign(reg=reg, value=e):
                r = base()
                val = self.expr(c, e, r)
                lo, hi = (
                    self.lay.fields[self.reg_field(c, reg)].lo,
                    self.lay.fields[self.reg_field(c, reg)].hi,
                )
                self.range_check(r, val, lo, hi, f"register value outside {lo}..{hi}")
                r.upd.set(self.reg_field(c, reg), val)
                emit(r, "load" if _has_load(e) else "assign")
            case P.IAtomic(dest=dest, op=o, addr=a, args=args):
                r = base(addr=a)
                r.guard.append(self.lay.buffer_empty(c))
                old = Field(self.lay.mem[a])
                xs = [self.expr(c, x, r) for x in args]
                new = {
                    "fetch_add": lambda: op("add", old, xs[0]),
                    "+=": lambda: op("add", old, xs[0]),
                    "swap": lambda: xs[0],
                    "cas": lambda: ite(eq(old, xs[0]), xs[1], old),
                }[o]()
                w = self.prog.words[a]
                self.range_check(r, new, w.lo, w.hi, f"{w.name} value outside {w.lo}..{w.hi}")
                r.upd.set(self.lay.mem[a], new)
                if dest is not None:
                    f = self.reg_field(c, dest)
                    self.range_check(
                        r,
                        old,
                        self.lay.fields[f].lo,
                        self.lay.fields[f].hi,
                        "register value out of range",
                    )
                    r.upd.set(f, old)
                emit(r, "rmw")
            case P.IFence(kind=k):
                r = base(kind=k)
                if k == "full":
                    r.guard.append(self.lay.buffer_empty(c))
                elif k == "release" and self.model != "sc":
                    has_store = self.lay.buffer_any(c, self.lay.is_store)
                    r.guard.append(disj(op("not", has_store), op("not", self.lay.buffer_full(c))))
                    self.buffer_append(c, r, self.lay.barrier, [], when=has_store)
                emit(r, "fence")
            case P.IIpi():
                self.ipi_send(c, pc, ins, base, emit)
            case P.IInvlpg(space=sp, page=page):
                for v, gv in self.pages_of(c, page):
                    for s, gs in self.spaces_of(c, sp):
                        r = base(page=v, space=s)
                        r.guard += [gv, gs]
                        self.tlb_clear(r, c, v, self.lay.tag_of_space(s))
                        self.tlb_clear(r, c, v, self.lay.gtag)
                        emit(r, "invlpg", f"{v}.{s}")
            case P.IFlushAsid(asid=asid):
                r = base(asid=asid)
                for v in range(len(self.prog.pages)):
                    self.tlb_clear(r, c, v, self.lay.tag_of_asid(asid))
                emit(r, "flush")
            case P.IFlushAll():
                r = base()
                for v in range(len(self.prog.pages)):
                    for t in self.lay.tags:
                        self.tlb_clear(r, c, v, t)
                emit(r, "flush")
            case P.IAccess(kind=k, page=page):
                for v, gv in self.pages_of(c, page):
                    for s, gs in self.spaces_of(c, None):
                        self.access(c, k, v, s, [gv, gs], base, emit)
            case P.ISwitch(space=s):
                r = base(space=s)
                r.upd.set(cf.space, s)
                emit(r, "switch")
            case P.IFree(frame=f):
                r = base(frame=f)
                r.upd.set(self.lay.freed[f], 1)
                emit(r, "free")
            case P.IComplete(space=sp, page=page):
                for v, gv in self.pages_of(c, page):
                    for s, gs in self.spaces_of(c, sp):
                        r = base(page=v, space=s)
                        r.guard += [gv, gs]
                        i = self.lay.pte_addr(s, v) - self.lay.nwords
                        r.upd.set(self.lay.rec[i], op("add", Field(self.lay.last[i]), C(1)))
                        self.on_pte_copies(r, s, v, pte_mark_stale)
                        emit(r, "complete", f"{v}.{s}")
            case P.IAwait(cond=e):
                r = base()
                cond = self.expr(c, e, r)
                r.guard.append(disj(cond, *(ch.cond for ch in r.checks)))
                emit(r, "await")
            case P.IBranch(cond=e, target=target):
                r = base()
                r.upd.set(cf.pc, ite(self.expr(c, e, r), C(nxt), C(target)))
                emit(r, "branch")
            case P.IJump(target=target):
                r = base()
                r.upd.set(cf.pc, target)
                emit(r, "branch")
            case P.IIrq(on=on):
                r = base()
                r.upd.set(cf.irq, int(on))
                emit(r, "irq")
            case P.IAssert(cond=e):
                r = base()
                cond = self.expr(c, e, r)
                r.checks.append(Check("assertion", op("not", cond), True))
                emit(r, "assert")
            case P.ISkip():
                emit(base(), "skip")
            case P.IFail(message=msg):
                r = base()
                r.checks.append(Check("range", TRUE, True, (("what", msg),)))
                emit(r, "assert")
            case P.IReturn():
                r = base()
                r.upd.set(cf.pc, Field(cf.spc))
                r.upd.set(cf.spc, 0)
                r.upd.set(cf.inh, 0)
                r.upd.set(cf.irq, 1)
                for f in cf.hregs:
                    r.upd.set(f, 0)
                emit(r, "handler-returned")
            case P.IEnd():
                pass
            case _:
                raise TypeError(ins)

    def pte_write(self, c: int, r: Rule, s: int, v: int, wid: int) -> None:
        lay = self.lay
        a = lay.pte_addr(s, v)
        self.on_pte_copies(r, s, v, pte_clear_latest)
        r.upd.set(lay.last[a - lay.nwords], wid)
        if self.model == "sc":
            r.upd.set(lay.mem[a], fresh_pte(wid))
        else:
            r.guard.append(op("not", lay.buffer_full(c)))
            self.buffer_append(c, r, a + 1, [C(fresh_pte(wid))])

    def ipi_send(
        self,
        c: int,
        pc: int,
        ins: P.IIpi,
        base: Callable[..., Rule],
        emit: Callable[[Rule, str, str], None],
    ) -> None:
        lay = self.lay
        direct = base(targets=ins.targets, handler=ins.handler)
        args = self.ipi_args(c, ins, direct)
        if self.model == "sc":
            self.enqueue_ipi(direct, ins.targets, ins.handler, args)
            emit(direct, "ipi-sent", "")
            return
        if self.prog.ipi == "ordered":
            hold = op("not", lay.buffer_empty(c))
        else:
            hold = lay.buffer_any(c, lambda k: disj(eq(k, lay.barrier), lay.is_ipi(k)))
        direct.guard.append(op("not", hold))
        self.enqueue_ipi(direct, ins.targets, ins.handler, args)
        emit(direct, "ipi-sent", "direct")
        held = base(targets=ins.targets, handler=ins.handler)
        hargs = self.ipi_args(c, ins, held)
        held.guard += [hold, op("not", lay.buffer_full(c))]
        self.buffer_append(c, held, lay.ipi_codes[(c, pc)], hargs)
        emit(held, "ipi-buffered", "held")

    def ipi_args(self, c: int, ins: P.IIpi, rule: Rule) -> list[Expr]:
        """Arguments are evaluated by the sender; each must fit the handler's registers."""
        args = [self.expr(c, a, rule) for a in ins.args]
        handler = self.prog.handlers[ins.handler]
        for t in ins.targets:
            tf, core = self.lay.cores[t], self.prog.cores[t]
            for p, a in zip(handler.params, args, strict=True):
                f = self.lay.fields[tf.hregs[core.hregs.index(p)]]
                self.range_check(
                    rule, a, f.lo, f.hi, f"argument {p} of {handler.name} outside {f.lo}..{f.hi}"
                )
        return args

    def access(
        self,
        c: int,
        kind: str,
        v: int,
        s: int,
        guards: list[Expr],
        base: Callable[..., Rule],
        emit: Callable[[Rule, str, str], None],
    ) -> None:
        lay = self.lay
        cf = lay.cores[c]
        t, g = lay.tag_of_space(s), lay.gtag
        te_t, te_g = Field(cf.te[(v, t)]), Field(cf.te[(v, g)])
        bit = ACCESS_BIT[kind]
        shared_tag = any(
            o != s and sp.asid == self.prog.spaces[s].asid for o, sp in enumerate(self.prog.spaces)
        )

        def races(r: Rule, entry: Expr, src: Expr, slot: int | None) -> None:
            w = pte_wid(entry)
            ok = lay.allows(w, bit)
            info = (("entry", slot), ("pte", entry))
            r.checks.append(
                Check("use-after-free", conj(ok, lay.freed_at(lay.frame(w))), False, info)
            )
            recs = [
                (so, Field(lay.rec[lay.pte_addr(so, v) - lay.nwords]))
                for so in range(len(self.prog.spaces))
            ]
            rec: Expr = C(0)
            for so, f in recs:
                rec = ite(eq(src, so + 1), f, rec) if len(recs) > 1 else f
            rw = op("sub", rec, C(1))
            stale = conj(ok, eq(pte_stale(entry), 1))
            moved = disj(op("not", lay.valid(rw)), ne(lay.frame(rw), lay.frame(w)))
            r.checks.append(Check("stale-translation", conj(stale, moved), False, info))
            r.checks.append(
                Check(
                    "stale-permission",
                    conj(stale, op("not", moved), op("not", lay.allows(rw, bit))),
                    False,
                    info,
                )
            )

        # hit on a global entry
        r = base(page=v, space=s, slot=cf.te[(v, g)], how="hit-global", bit=bit)
        r.guard += [*guards, ne(te_g, 0)]
        races(r, Field(cf.tw[(v, g)]), te_g, cf.tw[(v, g)])
        emit(r, "access", f"{v}.{s}.hg")
        # hit on an entry tagged with the current ASID
        r = base(page=v, space=s, slot=cf.te[(v, t)], how="hit", bit=bit)
        r.guard += [*guards, eq(te_g, 0), ne(te_t, 0)]
        races(r, Field(cf.tw[(v, t)]), te_t, cf.tw[(v, t)])
        if shared_tag:
            r.checks.append(
                Check(
                    "asid-reuse",
                    ne(te_t, s + 1),
                    False,
                    (("entry", cf.tw[(v, t)]), ("pte", Field(cf.tw[(v, t)]))),
                )
            )
        emit(r, "access", f"{v}.{s}.ht")
        # miss: walk the page table in memory
        mem = Field(lay.mem[lay.pte_addr(s, v)])
        miss = [*guards, eq(te_g, 0), eq(te_t, 0)]
        r = base(page=v, space=s, how="miss-invalid", bit=bit)
        r.guard += [*miss, op("not", lay.valid(pte_wid(mem)))]
        emit(r, "fault", f"{v}.{s}.mi")
        for glob, tag in ((1, g), (0, t)):
            r = base(page=v, space=s, slot=cf.te[(v, tag)], how="miss-fill", bit=bit)
            r.guard += [*miss, lay.valid(pte_wid(mem)), eq(lay.is_global(pte_wid(mem)), glob)]
            r.upd.set(cf.te[(v, tag)], s + 1)
            r.upd.set(cf.tw[(v, tag)], mem)
            races(r, mem, C(s + 1), cf.tw[(v, tag)])
            emit(r, "access", f"{v}.{s}.m{glob}")

    # ------------------------------------------------------------ machine steps
    def deliveries(self, c: int) -> None:
        cf = self.lay.cores[c]
        core = self.prog.cores[c]
        for h, handler in enumerate(self.prog.handlers):
            r = Rule([eq(Field(cf.irq), 1), eq(Field(cf.inh), 0), eq(Field(cf.qh[0]), h + 1)])
            r.upd.set(cf.spc, Field(cf.pc))
            r.upd.set(cf.pc, core.handler_entry[h])
            r.upd.set(cf.irq, 0)
            r.upd.set(cf.inh, 1)
            for j in range(len(handler.params)):
                r.upd.set(cf.hregs[core.hregs.index(handler.params[j])], Field(cf.qa[0][j]))
            self.shift_out(r, cf.qh, cf.qa, 0)
            r.info["handler"] = h
            self.emit(
                c,
                None,
                r,
                "handler-entered",
                f"{core.name}:deliver:{handler.name}",
                f"handler {handler.name}",
                handler.span,
            )

    def drains(self, c: int) -> None:
        lay = self.lay
        if self.model == "sc":
            return
        cf = lay.cores[c]
        core = self.prog.cores[c]
        kinds = [Field(k) for k in cf.sba]
        targets = sorted(self.store_targets(c))
        for i in range(len(cf.sba)):
            me = kinds[i]
            if self.model == "tso":
                # FIFO: only IPIs held behind a release fence may be overtaken
                older_ok = conj(*(self.held_unordered(kinds[j]) for j in range(i)))
            else:
                older_ok = conj(
                    *(conj(ne(kinds[j], lay.barrier), ne(kinds[j], me)) for j in range(i))
                )
            if older_ok == FALSE or not targets:
                continue
            r = Rule([lay.is_store(me), older_ok])
            for a in targets:
                r.upd.set(lay.mem[a], ite(eq(me, a + 1), Field(cf.sbv[i][0]), Field(lay.mem[a])))
            self.shift_out(r, cf.sba, cf.sbv, i)
            r.info["slot"] = i
            self.emit(c, None, r, "drain", f"{core.name}:drain:{i}", "store reaches memory")
        if cf.sba:
            r = Rule([eq(kinds[0], lay.barrier)])
            self.shift_out(r, cf.sba, cf.sbv, 0)
            self.emit(c, None, r, "barrier", f"{core.name}:barrier", "release fence retires")
        for (sender, pc), code in sorted(lay.ipi_codes.items()):
            if sender != c:
                continue
            ins = core.code[pc]
            assert isinstance(ins, P.IIpi)
            for i in range(len(cf.sba)):
                if self.prog.ipi == "ordered":
                    older_ok = TRUE if i == 0 else FALSE
                else:
                    older_ok = conj(
                        *(
                            conj(ne(kinds[j], lay.barrier), op("not", lay.is_ipi(kinds[j])))
                            for j in range(i)
                        )
                    )
                if older_ok == FALSE:
                    continue
                r = Rule([eq(kinds[i], code), older_ok])
                self.enqueue_ipi(
                    r, ins.targets, ins.handler, [Field(f) for f in cf.sbv[i][: len(ins.args)]]
                )
                self.shift_out(r, cf.sba, cf.sbv, i)
                r.info.update(slot=i, targets=ins.targets, handler=ins.handler)
                self.emit(c, None, r, "ipi-queued", f"{core.name}:ipi@{pc}:{i}", ins.text, ins.span)

    def held_unordered(self, kind: Expr) -> Expr:
        if self.prog.ipi == "ordered":
            return FALSE
        return self.lay.is_ipi(kind)

    def store_targets(self, c: int) -> set[int]:
        """Addresses this core's buffered stores can name."""
        out: set[int] = set()
        for ins in self.prog.cores[c].code:
            if isinstance(ins, P.IStore):
                out.add(ins.addr)
            elif isinstance(ins, P.IPte):
                out.update(self.lay.pte_addr(s, v) for s, v in self.pte_entries(c, ins))
        return out

    def pte_entries(self, c: int, ins: P.IPte) -> set[tuple[int, int]]:
        """The (space, page) entries a `pte` statement of core ``c`` can write."""
        return {
            (s, v) for v, _ in self.pages_of(c, ins.page) for s, _ in self.spaces_of(c, ins.space)
        }

    def fills(self, c: int) -> None:
        lay = self.lay
        cf = lay.cores[c]
        core = self.prog.cores[c]
        used = self.accessed_pages(c)
        for s in range(len(self.prog.spaces)):
            for v in range(len(self.prog.pages)):
                if v not in used or not self.may_be_valid(s, v):
                    continue
                t, g = lay.tag_of_space(s), lay.gtag
                mem = Field(lay.mem[lay.pte_addr(s, v)])
                for glob, tag in ((1, g), (0, t)):
                    r = Rule(
                        [
                            eq(Field(cf.space), s) if len(self.prog.spaces) > 1 else TRUE,
                            eq(Field(cf.te[(v, g)]), 0),
                            eq(Field(cf.te[(v, t)]), 0),
                            lay.valid(pte_wid(mem)),
                            eq(lay.is_global(pte_wid(mem)), glob),
                        ]
                    )
                    r.upd.set(cf.te[(v, tag)], s + 1)
                    r.upd.set(cf.tw[(v, tag)], mem)
                    r.info.update(page=v, space=s, slot=cf.te[(v, tag)])
                    self.emit(c, None, r, "fill", f"{core.name}:fill:{v}.{s}.{glob}", "walker fill")

    def accessed_pages(self, c: int) -> set[int]:
        """Pages the core's code (program and handlers) can access.  A TLB entry of another
        page is never used by this core: it changes no check and no other field, so the
        walker need not fill it (a sound reduction of the state space)."""
        out: set[int] = set()
        for ins in self.prog.cores[c].code:
            if isinstance(ins, P.IAccess):
                out.update(v for v, _ in self.pages_of(c, ins.page))
        return out

    def may_be_valid(self, s: int, v: int) -> bool:
        """False when no value that can reach PTE (s, v) is valid: no fill rule needed."""
        wids = {self.prog.spaces[s].entries[v]}
        for c, core in enumerate(self.prog.cores):
            for ins in core.code:
                if isinstance(ins, P.IPte) and (s, v) in self.pte_entries(c, ins):
                    wids.add(ins.wid)
        return any(self.prog.pte_values[w].frame >= 0 for w in wids)


def _has_load(e: P.LExpr) -> bool:
    match e:
        case P.LWord():
            return True
        case P.LUn(arg=a):
            return _has_load(a)
        case P.LBin(left=a, right=b):
            return _has_load(a) or _has_load(b)
    return False


def build(prog: P.Program, model: str) -> System:
    """The transition system of ``prog`` under memory model ``model``."""
    return Builder(prog, model).build()
