"""What every machine rule shares: the command under construction and the build context.

``Ctx`` holds the program, the memory model, the state layout and the commands
emitted so far, with the small helpers every rule module needs (lowering an
instruction expression, range checks, the pages and spaces an operand can name).
``Site`` is one instruction being translated: its pc, successor and how its
commands are keyed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from verifier.ir import program as P
from verifier.ir.program_decls import fields_table
from verifier.ir.resume import fault_target
from verifier.ir.system import (
    FALSE,
    TRUE,
    Check,
    Command,
    Expr,
    Field,
    Table,
    conj,
    disj,
    eq,
    ite,
    judged_in_order,
    op,
)
from verifier.lang.checked import WEAK_MODELS
from verifier.machine.layout import C, Layout, build_layout, pte_wid
from verifier.machine.layout_arm import add_arm_fields


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


class Ctx:
    """The program, memory model and layout being translated, and the commands so far."""

    def __init__(self, prog: P.Program, model: str, lay: Layout | None = None) -> None:
        self.prog = prog
        self.model = model
        self.lay: Layout = lay if lay is not None else build_layout(prog, model)
        if not hasattr(self.lay.arm, "data"):  # a layout of its own, not one shared
            add_arm_fields(self.lay)
        self.commands: list[Command] = []

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
                judged_in_order(rule.checks),
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
            case P.LPte():
                return self.pte_field(c, e)
            case P.LSlot(table=k, slot=i, field=f):
                frame = self.prog.tables[k]
                info = (("table", frame), ("slot", i), ("via", "software"), ("tindex", k))
                rule.checks.append(Check("freed-table", eq(Field(self.lay.freed[frame]), 1),
                                         False, info))  # fmt: skip
                return _pte_field(self.lay, c, f, self.lay.leaf_addr(k, i))
            case P.LDir(dir=d):
                return op("ne", self.lay.load(c, self.lay.dir_addr(d)), C(0))
            case P.LFields(value=v, op=o, fields=fs):  # `pte_set(v, F...)`: by value number
                return Table(fields_table(self.prog.pte_keys, o, fs), self.expr(c, v, rule))
            case P.LBin(op=o, left=a, right=b):
                x, y = self.expr(c, a, rule), self.expr(c, b, rule)
                if o in ("div", "mod"):
                    rule.checks.append(
                        Check("range", eq(y, 0), True, (("what", "division by zero"),))
                    )
                return op(o, x, y)
        raise TypeError(e)

    def pte_field(self, c: int, e: P.LPte) -> Expr:
        """`pte(V).field` in core ``c``'s view: its youngest buffered store to the entry,
        else memory; a two-level page reads its dir the same way, then the leaf of that
        table (an invalid dir reads as a non-present PTE)."""
        lay = self.lay
        out: Expr = C(0)
        for v, s, guards in reversed(list(self.entries_of(c, e.page, e.space))):
            at = self.prog.walk(s, v)
            if at is None:
                value = _pte_field(lay, c, e.field, lay.pte_addr(s, v))
            else:
                value = C(0)
                for k, cond in lay.tables_seen(c, at[0]):
                    if k >= 0:
                        leaf = _pte_field(lay, c, e.field, lay.leaf_addr(k, at[1]))
                        value = ite(cond, leaf, value)
            g = conj(*guards)
            out = value if g == TRUE else ite(g, value, out)
        return out

    def range_check(self, rule: Rule, value: Expr, lo: int, hi: int, what: str) -> None:
        cond = disj(op("lt", value, C(lo)), op("gt", value, C(hi)))
        if cond != FALSE:
            rule.checks.append(Check("range", cond, True, (("what", what),)))

    def room(self, c: int, rule: Rule, when: Expr = TRUE) -> None:
        """The command adds an entry to core ``c``'s buffer (where ``when`` holds): a
        capacity sized from the program or set by `option buffer` waits for room; one
        used where no bound exists ends the path with a `capacity` check instead, which
        makes the run inconclusive (run/capacity.py)."""
        full = conj(when, self.lay.buffer_full(c))
        b = self.lay.bound
        if b.how == "capped":
            what = f"store buffer full ({b.capacity} entries) and no bound exists"
            rule.checks.append(Check("capacity", full, True, (("what", what),)))
        else:
            rule.guard.append(op("not", full))

    def reg_field(self, c: int, r: P.LReg) -> int:
        cf = self.lay.cores[c]
        return cf.hregs[r.index] if r.handler else cf.regs[r.index]

    def pages_of(self, c: int, page: P.PageOp) -> Iterator[tuple[int, int | None, Expr]]:
        """Concrete pages a page operand can name, each with the space a `P.V` argument
        names (None: the current one) and its guard."""
        if isinstance(page, int):
            yield page, None, TRUE
        else:
            f = Field(self.reg_field(c, page))
            for x in range(self.lay.page_values):
                v, space = P.page_of_arg(x, len(self.prog.pages))
                yield v, space, eq(f, x)

    def spaces_of(self, c: int, space: int | None) -> Iterator[tuple[int, Expr]]:
        if space is not None:
            yield space, TRUE
        elif len(self.prog.spaces) == 1:
            yield 0, TRUE
        else:
            for s in range(len(self.prog.spaces)):
                yield s, eq(Field(self.lay.cores[c].space), s)

    def entries_of(
        self, c: int, page: P.PageOp, space: int | None, *, current: bool = False
    ) -> Iterator[tuple[int, int, list[Expr]]]:
        """Every (page, space) an instruction's operands can name, with its guards.
        ``current``: always in the core's current space (a user access translates there,
        whatever space a `P.V` argument names)."""
        for v, named, gv in self.pages_of(c, page):
            for s, gs in self.spaces_of(c, space if named is None or current else named):
                yield v, s, [gv, gs]

    def pte_entries(self, c: int, ins: P.IPte) -> set[tuple[int, int]]:
        """The (space, page) entries a `pte` statement of core ``c`` can write."""
        return {(s, v) for v, s, _ in self.entries_of(c, ins.page, ins.space)}


PERM_BIT = {"read": 1, "write": 2, "exec": 4, "user": P.USER}


def pte_number(lay: Layout, c: int, addr: int) -> Expr:
    """The whole PTE value at ``addr`` as core ``c`` sees it, as a register holds it."""
    return _pte_field(lay, c, "", addr)


def _pte_field(lay: Layout, c: int, name: str, addr: int) -> Expr:
    """One field of the PTE entry at ``addr`` as core ``c`` sees it."""
    w = pte_wid(lay.load(c, addr))
    if name in ("young", "dirty") and addr in lay.ad:
        bits = lay.ad_view(c, addr)
        return op("mod", bits, C(2)) if name == "young" else op("div", bits, C(2))
    if name == "":  # the whole value, as the number a register holds (docs/arm64.md §1)
        return lay.table(lambda v: lay.prog.pte_keys.index(v.key) + 1, w)
    if name == "present":
        return lay.valid(w)
    if name in PERM_BIT:  # the descriptor's bits (an `old` entry keeps them)
        return lay.table(lambda v: int(v.frame >= 0 and bool(v.perms & PERM_BIT[name])), w)
    if name == "global":
        return lay.table(lambda v: int(v.frame >= 0 and v.global_), w)
    if name in ("young", "dirty") and lay.model == "arm":  # docs/arm64.md section 7
        dirty = lambda v: v.frame >= 0 and (v.af if name == "young" else v.dbm and v.perms & 2)  # noqa: E731
        return lay.table(lambda v: int(bool(dirty(v))), w)
    return C(0)  # young, dirty without `option ad = hardware`


def cacheable(ctx: Ctx, wid: Expr) -> Expr:
    """A walk may fill a TLB entry from this value: valid, and under `arm` the access
    flag set (an access-flag fault is never cached)."""
    lay = ctx.lay
    if ctx.model == "arm" and any(not v.af for v in ctx.prog.pte_values):
        return lay.table(lambda v: int(v.frame >= 0 and v.af), wid)
    return lay.valid(wid)


@dataclass
class Site:
    """One instruction being translated: every command it yields starts at ``pc`` and by
    default moves to ``nxt``; its key is ``core@pc`` plus a variant."""

    ctx: Ctx
    c: int
    pc: int
    nxt: int
    ins: P.Instr

    def rule(self, **info: Any) -> Rule:
        cf = self.ctx.lay.cores[self.c]
        r = Rule([eq(Field(cf.pc), self.pc)])
        r.upd.set(cf.pc, self.nxt)
        r.info.update(info)
        return r

    def fault_exit(self, rule: Rule, allowed: Expr) -> None:
        """An access that faults unless ``allowed`` goes to the `on fault` code instead of
        ``nxt`` (sc/tso/pso; under arm `rules_translate` does it)."""
        core = self.ctx.prog.cores[self.c]
        target = fault_target(core, self.pc)
        if target >= 0:
            rule.upd.set(self.ctx.lay.cores[self.c].pc, ite(allowed, C(self.nxt), C(target)))

    def emit(self, rule: Rule, action: str, variant: str = "") -> None:
        name = self.ctx.prog.cores[self.c].name
        core = self.ctx.prog.cores[self.c]
        weak = self.ctx.model in WEAK_MODELS  # there `rules_translate` goes to the handler
        target = fault_target(core, self.pc)
        if action == "fault" and target >= 0 and not weak:
            rule.upd.set(self.ctx.lay.cores[self.c].pc, target)  # `on fault`
        key = f"{name}@{self.pc}" + (f":{variant}" if variant else "")
        self.ctx.emit(self.c, self.pc, rule, action, key, self.ins.text, self.ins.span)
