"""Arm64 statements in every model, and the `arm` model's out-of-order window and
translation reads (docs/arm64.md).

- `dmb`/`dsb`/`isb`: under sc/tso/pso `dmb` and `dsb` wait for an empty store buffer,
  `isb` does nothing; under `arm` they order through the window (`window.Window`) and
  a full `dsb` also waits until the in-flight accesses its core's broadcast `tlbi`s
  covered are performed.
- `tlbi`: drops the entries it names on its own core, or on every core (`is`); under
  `arm` a broadcast one also marks the translation reads it covers on other cores.
- Under `arm`, an instruction is performed at ``pc`` (`InOrder`) or early (`Early`),
  and an access through translation is a translation read (`translation_reads`) and
  the access that uses it (`access`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache

from verifier.ir import program as P
from verifier.ir.system import (
    FALSE,
    TRUE,
    Check,
    Expr,
    Field,
    conj,
    conj_tree,
    disj,
    eq,
    ite,
    ne,
    op,
)
from verifier.lang.checked import WEAK_MODELS
from verifier.machine import rules_walk
from verifier.machine.context import Ctx, Rule, Site, cacheable
from verifier.machine.layout import C, pte_wid
from verifier.machine.layout_arm import ArmCore
from verifier.machine.window import Effects, Window


@cache
def window(prog: P.Program) -> Window:
    return Window(prog)


def arm(ctx: Ctx, c: int) -> ArmCore:
    a: ArmCore = ctx.lay.arm[c]
    return a


# ---------------------------------------------------------------- sites


class InOrder(Site):
    """An instruction performed at ``pc`` under `arm`: ``pc`` then moves past every
    later instruction already performed early."""

    def rule(self, **info: object) -> Rule:
        r = super().rule(**info)
        advance(self.ctx, self.c, r, self.nxt)
        return r


class Early(Site):
    """An instruction performed before the one at ``pc``: its run holds ``pc`` and no
    earlier instruction still pending orders it."""

    def rule(self, **info: object) -> Rule:
        ctx, c, i = self.ctx, self.c, self.pc
        a = arm(ctx, c)
        pc = Field(ctx.lay.cores[c].pc)
        start = window(ctx.prog).run_start(c, i)
        r = Rule([op("ge", pc, C(start)), op("lt", pc, C(i)), eq(Field(a.done[i]), 0)])
        located = info.get("how") != "fault"  # a fault touches no memory: no location order
        for k in range(start, i):
            free = relief(ctx, c, k, i, located)
            r.guard.append(disj(op("gt", pc, C(k)), performed(ctx, c, k), free))
        r.guard += undo_apart(ctx, c, i)
        r.upd.set(a.done[i], 1)
        r.info.update(info)
        return r

    def emit(self, rule: Rule, action: str, variant: str = "") -> None:
        """Early commands are not at ``pc``: they go with the core's machine commands
        (``site`` None), naming their instruction in ``info['at']``."""
        rule.info["at"] = self.pc
        name = self.ctx.prog.cores[self.c].name
        key = f"{name}@{self.pc}:early" + (f".{variant}" if variant else "")
        self.ctx.emit(self.c, None, rule, action, key, self.ins.text, self.ins.span)


class Handled(Early):
    """An instruction of the `on fault` code performed once the fault is taken but
    before ``pc`` gets to it: instructions before the fault may still be pending.  The
    exception entry is context synchronizing, so it waits for what an `isb` would."""

    def rule(self, **info: object) -> Rule:
        ctx, c, h = self.ctx, self.c, self.pc
        a = arm(ctx, c)
        core = ctx.prog.cores[c]
        pc = Field(ctx.lay.cores[c].pc)
        r = Rule([op("lt", pc, C(core.fault_entry)), eq(Field(a.done[h]), 0)])

        def free(k: int) -> Expr:
            return conj(relief(ctx, c, k, h), entry_relief(ctx, c, k))

        win = window(ctx.prog)
        r.guard.append(fault_taken(ctx, c, free, win.fault_site(c, h)))
        for k in range(win.fault_start(c, h), h):  # type: ignore[arg-type]
            r.guard.append(disj(performed(ctx, c, k), relief(ctx, c, k, h)))
        r.guard += undo_apart(ctx, c, h)
        r.upd.set(a.done[h], 1)
        r.info.update(info)
        return r

    def emit(self, rule: Rule, action: str, variant: str = "") -> None:
        super().emit(rule, action, "handled" + (f".{variant}" if variant else ""))


def undo_apart(ctx: Ctx, c: int, i: int) -> list[Expr]:
    """A fault undoes the registers of the program's instructions performed early after
    it (`stop_updates`): the `on fault` code performed early (``i`` in it) writes none
    of those registers while such an instruction is done, and such an instruction (``i``
    in the program) is not performed while `on fault` code writing its registers is."""
    core = ctx.prog.cores[c]
    if core.fault_entry < 0:
        return []
    win = window(ctx.prog)
    mine = win.effects(core.code[i]).wregs
    here = i < core.program_end
    return [
        eq(Field(f), 0)
        for j, f in sorted(arm(ctx, c).done.items())
        if (j >= core.fault_entry if here else j < core.program_end)
        and win.effects(core.code[j]).wregs & mine
    ]


def fault_taken(ctx: Ctx, c: int, free: Callable[[int], Expr], site: int | None = None) -> Expr:
    """Core ``c`` takes a fault at some access ``i`` (at ``site`` if given: the handler
    block of that access) (its fault performed, or its held translation read faults: it
    will) and every instruction before ``i`` still pending is ``free`` (does not hold
    back what comes after the exception entry)."""
    a, core = arm(ctx, c), ctx.prog.cores[c]
    pc, fault = Field(ctx.lay.cores[c].pc), Field(a.fault)  # type: ignore[arg-type]
    out = []
    for i, ins in enumerate(core.code[: core.program_end]):
        if not isinstance(ins, P.IAccess) or site not in (None, i):
            continue
        start = window(ctx.prog).run_start(c, i)  # not a read a branch may still skip
        run = conj(op("le", pc, C(i)), op("ge", pc, C(start)))  # a fault past a branch may go
        faults = op("not", ctx.lay.allows(pte_wid(Field(a.tr[i])), ins.bit))
        known = conj(run, disj(eq(fault, i + 1), conj(ne(Field(a.ts[i]), 0), faults)))
        pending = [disj(op("gt", pc, C(k)), performed(ctx, c, k), free(k)) for k in range(i)]
        out.append(conj(known, *pending))
    return disj(*out)


def skip_held(ctx: Ctx, c: int, r: Rule, lo: int, hi: int, when: Expr) -> None:
    """A branch or jump that skips the instructions in (``lo``, ``hi``) ``when``: the
    translation reads held for them (speculated past the branch) go, with their marks
    and the walker's pending updates (docs/arm64.md section 7)."""
    if ctx.model not in WEAK_MODELS:
        return
    a = arm(ctx, c)
    for j in range(lo + 1, hi):
        if j in a.ts:
            marks = (f for (p, _), f in a.mark.items() if p == j)
            for f in (a.tr[j], a.ts[j], a.tv[j], *marks, *a.hu.get(j, ())):
                r.upd.set(f, ite(when, C(0), Field(f)))


def entry_relief(ctx: Ctx, c: int, k: int) -> Expr:
    """Pending instruction ``k`` does not hold back the exception entry (an `isb`)."""
    kins = ctx.prog.cores[c].code[k]
    if isinstance(kins, P.ICtrl) or (isinstance(kins, P.IBarrier) and kins.kind == "dsb"):
        return FALSE
    return ne(Field(arm(ctx, c).ts[k]), 0) if isinstance(kins, P.IAccess) else TRUE


def sites(ctx: Ctx, c: int, pc: int, ins: P.Instr, nxt: int) -> Iterator[Site]:
    """The sites an instruction is translated at: one under sc/tso/pso; under `arm`,
    at ``pc`` and, where the window allows, early."""
    if ctx.model not in WEAK_MODELS:
        yield Site(ctx, c, pc, nxt, ins)
        return
    yield InOrder(ctx, c, pc, nxt, ins)
    if pc in arm(ctx, c).done:
        yield Early(ctx, c, pc, nxt, ins)
    if window(ctx.prog).handled(c, pc):
        yield Handled(ctx, c, pc, nxt, ins)


def performed(ctx: Ctx, c: int, k: int) -> Expr:
    f = arm(ctx, c).done.get(k)
    return FALSE if f is None else eq(Field(f), 1)


def relief(ctx: Ctx, c: int, k: int, i: int, located: bool = True) -> Expr:
    """When pending instruction ``k`` does not hold later instruction ``i`` back
    (``located`` False: ``i`` is a fault, which no access to a location orders)."""
    code = ctx.prog.cores[c].code
    kins, iins = code[k], code[i]
    if window(ctx.prog).orders(kins, iins, located):
        return FALSE
    out: Expr = TRUE
    if isinstance(kins, P.IAccess):
        a = arm(ctx, c)
        win = window(ctx.prog)
        if isinstance(iins, P.IBarrier) and iins.kind == "isb":
            out = ne(Field(a.ts[k]), 0)  # an isb waits for earlier translation reads
        elif isinstance(iins, P.IPte) and set(win.pages(iins.page)) & set(win.pages(kins.page)):
            out = ne(Field(a.ts[k]), 0)  # no translation read from a later PTE store
        eff = window(ctx.prog).effects(iins)
        if win.fatal(c) and located and (eff.writes or eff.invalidates or undone(ctx, c, k, eff)):
            out = conj(out, tr_ok(ctx, c, k))  # nothing visible passes a possible fault
    return out


def undone(ctx: Ctx, c: int, k: int, eff: Effects) -> bool:
    """Would a fault at ``k`` fail to undo an instruction with effects ``eff`` performed
    early? Its registers go back to 0 (`stop_updates`), wrong for one written before."""
    code = ctx.prog.cores[c].code
    return any(eff.wregs & window(ctx.prog).effects(x).wregs for x in code[: k + 1])


def tr_ok(ctx: Ctx, c: int, k: int) -> Expr:
    """Access ``k``'s translation read is held and will not fault."""
    ins = ctx.prog.cores[c].code[k]
    assert isinstance(ins, P.IAccess)
    a = arm(ctx, c)
    held = ne(Field(a.ts[k]), 0)
    return conj(held, ctx.lay.allows(pte_wid(Field(a.tr[k])), ins.bit))


def advance(ctx: Ctx, c: int, r: Rule, nxt: int) -> None:
    a = arm(ctx, c)
    chain = []
    n = nxt
    while n in a.done:
        chain.append(n)
        n += 1
    if not chain:
        return
    new: Expr = C(n)
    for k in reversed(chain):
        new = ite(eq(Field(a.done[k]), 0), C(k), new)
    r.upd.set(ctx.lay.cores[c].pc, new)
    for j, k in enumerate(chain):
        before = conj(*(eq(Field(a.done[m]), 1) for m in chain[:j]))
        r.upd.set(a.done[k], ite(before, C(0), Field(a.done[k])))


def quiet(ctx: Ctx, c: int) -> Expr:
    """No instruction performed early and no translation read held: an interrupt may be
    taken (interrupt entry is context synchronizing)."""
    if ctx.model not in WEAK_MODELS:
        return TRUE
    a = arm(ctx, c)
    return conj(*(eq(Field(f), 0) for f in (*a.done.values(), *a.ts.values())))


# ---------------------------------------------------------------- barriers


def barrier(site: Site, ins: P.IBarrier) -> None:
    ctx, c = site.ctx, site.c
    r = site.rule(kind=ins.kind, which=ins.which)
    if ctx.model not in WEAK_MODELS:
        if ins.kind != "isb":
            r.guard.append(ctx.lay.buffer_empty(c))
    elif ins.kind == "dsb" and ins.which == "full":
        r.guard.append(conj_tree([eq(Field(f), 0) for f in marks_of(ctx, c)]))
        # and for the walker's pending updates of earlier accesses (docs/arm64.md 7)
        r.guard += [eq(Field(v), 0) for i, (v, _) in arm(ctx, c).hu.items() if i < site.pc]
    site.emit(r, "fence")


def marks_of(ctx: Ctx, issuer: int) -> list[int]:
    return [f for a in ctx.lay.arm for (_, i), f in sorted(a.mark.items()) if i == issuer]


def ctrl(site: Site, ins: P.ICtrl) -> None:
    site.emit(site.rule(), "skip")


# ---------------------------------------------------------------- tlbi


def tlbi(site: Site, ins: P.ITlbi) -> None:
    """What a `tlbi` drops (docs/arm64.md §1, docs/page-tables.md): the named TLB entries
    and, unless it is a last-level-only (`leaf`) form, the paging-structure cache
    entries on the path of the page (by page), of the ASID's spaces, or all."""
    ctx, c = site.ctx, site.c
    lay, prog = ctx.lay, ctx.prog
    reached = range(len(prog.cores)) if ins.broadcast else (c,)
    npages = len(prog.pages)
    if ins.scope == "page":
        for v, s, guards in ctx.entries_of(c, ins.page, ins.space):
            r = site.rule(page=v, space=s, broadcast=ins.broadcast)
            r.guard += guards
            tag = lay.tag_of_space(s)
            at = prog.walk(s, v)
            for d in reached:
                clear(ctx, r, d, v, tag)
                clear(ctx, r, d, v, lay.gtag)
                if at is not None and not ins.leaf:
                    rules_walk.drop_psc(ctx, r, d, iter((at[0],)))
            mark(ctx, r, c, reached, tag, v)
            bbm_cleared(ctx, r, tag, v)
            site.emit(r, "invlpg", f"{v}.{s}")
        return
    r = site.rule(broadcast=ins.broadcast)
    tags = lay.tags if ins.scope == "all" else (lay.tag_of_asid(ins.asid),)
    dirs = [
        k for k, dr in enumerate(prog.dirs)
        if ins.scope == "all" or prog.spaces[dr.space].asid == ins.asid
    ]  # fmt: skip
    for d in reached:
        for v in range(npages):
            for t in tags:
                clear(ctx, r, d, v, t)
        rules_walk.drop_psc(ctx, r, d, iter(dirs))
    mark(ctx, r, c, reached, None if ins.scope == "all" else tags[0], None)
    bbm_cleared(ctx, r, None if ins.scope == "all" else tags[0], None)
    site.emit(r, "flush")


def bbm_store(ctx: Ctx, r: Rule, s: int, v: int, wid: int) -> None:
    """Break-before-make (docs/arm64.md §5): storing a valid value that maps another
    frame, or other permissions, than the entry's last valid value is a `bbm` problem
    unless an invalid value was stored since and a covering `tlbi` was performed while
    it was in memory."""
    fields = ctx.lay.arm.bbm.get((s, v))
    if fields is None:
        return
    last, cleared = fields
    pv = ctx.prog.pte_values[wid]
    r.upd.set(cleared, 0)
    if pv.frame < 0 or not pv.af:  # invalid or access flag clear: never cached, a break
        return
    lay = ctx.lay
    prev = ite(eq(Field(last), 0), C(0), op("sub", Field(last), C(1)))
    perms = lay.table(lambda x: x.perms, prev)
    moved = disj(ne(lay.frame(prev), C(pv.frame)), ne(perms, C(pv.perms)))
    name = lay.addr_name(lay.pte_addr(s, v))
    what = f"PTE {name} changed between two valid values without break-before-make"
    cond = conj(ne(Field(last), 0), moved, eq(Field(cleared), 0))
    r.checks.append(Check("bbm", cond, False, (("what", what),)))
    r.upd.set(last, wid + 1)


def bbm_cleared(ctx: Ctx, r: Rule, tag: int | None, v: int | None) -> None:
    """A `tlbi` covering an entry that is invalid in memory completes its break."""
    lay = ctx.lay
    for (s, page), (_, cleared) in sorted(lay.arm.bbm.items()):
        if (v is None or page == v) and (tag is None or lay.tag_of_space(s) == tag):
            invalid = op("not", cacheable(ctx, pte_wid(Field(lay.mem[lay.pte_addr(s, page)]))))
            r.upd.set(cleared, ite(invalid, C(1), Field(cleared)))


def clear(ctx: Ctx, rule: Rule, c: int, v: int, t: int) -> None:
    cf = ctx.lay.cores[c]
    rule.upd.set(cf.te[(v, t)], 0)
    rule.upd.set(cf.tw[(v, t)], 0)
    if cf.td:
        rule.upd.set(cf.td[(v, t)], 0)


def covers(ctx: Ctx, a: ArmCore, j: int, tag: int, v: int | None) -> Expr:
    """The translation read held for access ``j`` is for page ``v`` (any page: None)
    and tagged ``tag`` or global."""
    lay = ctx.lay
    glob = lay.is_global(pte_wid(Field(a.tr[j])))
    space = lay.src_space(Field(a.ts[j]))
    same = [eq(space, s + 1) for s in range(len(ctx.prog.spaces))
            if lay.tag_of_space(s) == tag]  # fmt: skip
    tagged = conj(op("not", glob), disj(*same))
    page = TRUE if v is None else eq(Field(a.tv[j]), v + 1)
    return conj(page, tagged if v is None else disj(glob, tagged))


def mark(
    ctx: Ctx, r: Rule, c: int, reached: range | tuple[int], tag: int | None, v: int | None
) -> None:
    """Core ``c``'s `tlbi` marks the translation reads it covers (``tag`` None: all) held
    on the other cores it reaches."""
    if ctx.model not in WEAK_MODELS:
        return
    for d in reached:
        a = arm(ctx, d)
        for (j, issuer), f in sorted(a.mark.items()):
            if issuer == c:
                cover = TRUE if tag is None else covers(ctx, a, j, tag, v)
                held = conj(ne(Field(a.ts[j]), 0), cover)
                r.upd.set(f, ite(held, C(1), Field(f)))
