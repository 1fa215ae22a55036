"""Translation under `arm` (docs/arm64.md §3): an access through a page is a translation
read (a TLB entry or a walk, held until used) and then the access itself, which uses it:
it reaches the frame (race checks, data) or faults; a fatal fault stops the core, a
retried one (`Variant=Handled`) undoes what came after and runs the access again."""

from __future__ import annotations

from collections.abc import Iterator

from verifier.ir import program as P
from verifier.ir.resume import fault_block
from verifier.ir.system import FALSE, Expr, Field, conj, disj, eq, ite, ne, op
from verifier.machine import rules_hafdbs, rules_walk
from verifier.machine.context import Ctx, Rule, Site, Upd, cacheable
from verifier.machine.layout import C, pte_wid
from verifier.machine.layout_arm import ArmCore
from verifier.machine.rules_arm import (
    InOrder,
    advance,
    arm,
    entry_relief,
    fault_taken,
    performed,
    window,
)  # fmt: skip
from verifier.machine.rules_data import data, exclusive_failure
from verifier.machine.rules_race import asid_reuse, races
from verifier.machine.speculate import speculative


def translation_reads(ctx: Ctx, c: int, i: int, ins: P.IAccess) -> None:
    """The translation read of access ``i``: a TLB entry, or a walk of the table in
    memory (a valid entry found is cached, an invalid one never), at any moment from
    when its run is reached (or a run before it, past branches), but after every
    earlier `isb`."""
    lay = ctx.lay
    a, cf = arm(ctx, c), lay.cores[c]
    core = ctx.prog.cores[c]
    pc = Field(cf.pc)
    win = window(ctx.prog)
    start = win.tr_start(c, i)  # its run, or earlier past branches (docs/arm64.md §3)
    base = [op("le", pc, C(i)), eq(Field(a.ts[i]), 0)]
    if i in a.done:
        base.append(eq(Field(a.done[i]), 0))
    if win.fault_start(c, i) is not None:  # `on fault` code (after the handlers'): from the fault on
        base.append(handler_started(ctx, c, i, ins))
    else:
        base.append(op("ge", pc, C(start)))
        if a.fault is not None:  # nothing after a fault taken early (retried: until the entry)
            after = disj(eq(Field(a.fault), 0), op("gt", Field(a.fault), C(i + 1)))
            base.append(after if a.entry is None else disj(after, eq(Field(a.entry), 0)))
    for k in range(start, i):
        if win.tr_orders(core.code[k], ins):
            base.append(disj(op("gt", pc, C(k)), performed(ctx, c, k)))

    def emit(r: Rule, variant: str) -> None:
        r.info["at"] = i
        ctx.emit(c, None, r, "translate", f"{core.name}@{i}:tr.{variant}", ins.text, ins.span)

    bit = ins.bit
    for v, s, guards in ctx.entries_of(c, ins.page, None, current=True):
        at = [*base, *guards]
        for tag, how, key in ((lay.gtag, "hit-global", "hg"), (lay.tag_of_space(s), "hit", "ht")):
            r = _tr_rule(a, i, at, v, s, how=how, slot=cf.te[(v, tag)])
            r.guard.append(ne(Field(cf.te[(v, tag)]), 0))
            clean = rules_hafdbs.must_walk(ctx, c, Field(cf.tw[(v, tag)]), bit)
            if clean != FALSE:  # a write with HD re-walks a writable-clean entry
                r.guard.append(op("not", clean))
            r.upd.set(a.tr[i], Field(cf.tw[(v, tag)]))
            r.upd.set(a.ts[i], Field(cf.te[(v, tag)]))
            emit(r, f"{v}.{s}.{key}")
        if ctx.prog.walk(s, v) is None:
            a_pte = lay.pte_addr(s, v)
            leaves = iter([(Rule([]), Field(lay.mem[a_pte]), a_pte, C(s + 1), "")])
        else:
            leaves = rules_walk.translation_walks(ctx, c, v, s)
        for r0, leaf, addr, src, key in leaves:
            for r, entry, variant in _walk_variants(ctx, c, i, r0, leaf, addr, v, s, bit):
                r.guard[:0] = at
                r.info.update(page=v, space=s)
                r.upd.set(a.tv[i], v + 1)
                r.upd.set(a.tr[i], entry)
                r.upd.set(a.ts[i], src)
                emit(r, f"{v}.{s}.{key}{variant}")


def _walk_variants(
    ctx: Ctx, c: int, i: int, r0: Rule, leaf: Expr | None, addr: int, v: int, s: int, bit: int
) -> Iterator[tuple[Rule, Expr, str]]:
    """A walk that read ``leaf`` at ``addr`` (None: no leaf, an invalid entry is held):
    held as it is (an invalid one never cached, a valid one with or without filling the
    TLB), or, where the core's walker must set the access flag or dirty state first
    (docs/arm64.md section 7), updated in memory in the same step and held updated."""
    lay = ctx.lay
    cf = lay.cores[c]
    if leaf is None:
        yield r0, C(4 * next(w for w, x in enumerate(ctx.prog.pte_values) if x.frame < 0)), ""
        return
    wid = pte_wid(leaf)
    need, new = rules_hafdbs.update(ctx, c, wid, bit)
    upd = rules_hafdbs.with_wid(leaf, new)
    pend = arm(ctx, c).hu.get(i)
    for how, cond in (("walk-invalid", op("not", lay.valid(wid))), ("walk", lay.valid(wid))):
        r = _copy(r0, how, cond, op("not", need))
        yield r, leaf, "wi" if how == "walk-invalid" else "wv"
    if need != FALSE and pend is not None:
        r = _copy(r0, "walk-update", need, eq(Field(pend[0]), 0))
        rules_hafdbs.pending(ctx, r, pend, leaf, addr)
        yield r, upd, "wu"
    for glob, tag in ((1, lay.gtag), (0, lay.tag_of_space(s))):
        g = eq(lay.is_global(wid), glob)
        r = _copy(r0, "walk-fill", cacheable(ctx, wid), g, op("not", need))
        r.info["slot"] = cf.te[(v, tag)]
        r.upd.set(cf.te[(v, tag)], _src(ctx, s, addr))
        r.upd.set(cf.tw[(v, tag)], leaf)
        yield r, leaf, f"w{glob}"
        if need != FALSE and pend is not None:
            r = _copy(r0, "walk-update-fill", need, g, eq(Field(pend[0]), 0))
            r.guard += rules_hafdbs.branches_resolved(ctx, c, i)
            r.info["slot"] = cf.te[(v, tag)]
            rules_hafdbs.pending(ctx, r, pend, leaf, addr)
            r.upd.set(cf.te[(v, tag)], _src(ctx, s, addr))
            r.upd.set(cf.tw[(v, tag)], upd)
            yield r, upd, f"wu{glob}"


def _src(ctx: Ctx, s: int, addr: int) -> int:
    """The TLB source of an entry filled from ``addr`` (Layout.src)."""
    lay = ctx.lay
    if addr < lay.nwords + lay.nentries:
        return s + 1
    return lay.src(s, (addr - lay.nwords - lay.nentries) // ctx.prog.slots)


def _copy(r0: Rule, how: str, *guard: Expr) -> Rule:
    r = Rule([*r0.guard, *guard], Upd(dict(r0.upd.exprs)), list(r0.checks), dict(r0.info))
    r.info["how"] = how
    return r


def handler_started(ctx: Ctx, c: int, i: int, ins: P.IAccess) -> Expr:
    """The translation read of `on fault` access ``i`` may run once ``pc`` is in that
    code, or once the fault is taken and nothing pending before it orders the read."""
    core = ctx.prog.cores[c]
    pc = Field(ctx.lay.cores[c].pc)
    win = window(ctx.prog)

    def free(k: int) -> Expr:
        return FALSE if win.tr_orders(core.code[k], ins) else entry_relief(ctx, c, k)

    early = conj(op("lt", pc, C(core.fault_entry)), fault_taken(ctx, c, free, win.fault_site(c, i)))
    return disj(op("ge", pc, C(win.fault_start(c, i))), early)  # type: ignore[arg-type]


def _tr_rule(a: ArmCore, i: int, guard: list[Expr], v: int, s: int, **info: object) -> Rule:
    r = Rule(list(guard))
    r.upd.set(a.tv[i], v + 1)
    r.info.update(page=v, space=s, **info)
    return r


def access(site: Site, ins: P.IAccess) -> None:
    """The access that uses the held translation read (docs/arm64.md §3)."""
    ctx, c, i = site.ctx, site.c, site.pc
    lay = ctx.lay
    a = arm(ctx, c)
    retry = window(ctx.prog).retries(c)
    if isinstance(site, InOrder):
        translation_reads(ctx, c, i, ins)
        if a.fault is not None and not retry:
            stop(ctx, c, i, ins)
        spec = speculative(ctx, c, i, site.nxt, ins)
        for v in window(ctx.prog).pages(ins.page) if spec is not None else ():
            fault(spec, ins, v)  # taken past branches not yet taken
    bit = ins.bit
    entry, ts, tv = Field(a.tr[i]), Field(a.ts[i]), Field(a.tv[i])
    ok = lay.allows(pte_wid(entry), bit)
    for v in window(ctx.prog).pages(ins.page):
        r = site.rule(page=v, bit=bit, how="translated", slot=a.ts[i])
        r.guard += [ne(ts, 0), eq(tv, v + 1), ok]
        if a.fault is not None and not retry:
            r.guard.append(ne(Field(a.fault), i + 1))
        races(ctx, r, v, bit, entry, ts, a.tr[i])
        tagged = op("not", lay.is_global(pte_wid(entry)))
        for s in range(len(ctx.prog.spaces)):
            here = conj(eq(Field(lay.cores[c].space), s), tagged)
            asid_reuse(ctx, r, s, bit, entry, ts, a.tr[i], here)
        if ins.exclusive and ins.kind == "write":  # a store-exclusive may always fail
            fail = site.rule(page=v, bit=bit, how="exclusive-failed", slot=a.ts[i])
            fail.guard += r.guard[len(fail.guard) :]
            exclusive_failure(ctx, c, fail, ins)
            release(ctx, c, fail, i)
            site.emit(fail, "access", f"{v}.xfail")
        data(ctx, c, r, ins, entry)
        release(ctx, c, r, i)
        site.emit(r, "access", f"{v}")
        fault(site, ins, v)


def fault(site: Site, ins: P.IAccess, v: int) -> None:
    """The fault of the access through page ``v``: its held translation read lacks the
    permission."""
    ctx, c, i = site.ctx, site.c, site.pc
    a = arm(ctx, c)
    entry, ts, tv = Field(a.tr[i]), Field(a.ts[i]), Field(a.tv[i])
    ok = ctx.lay.allows(pte_wid(entry), ins.bit)
    r = site.rule(page=v, bit=ins.bit, how="fault")
    r.guard += [ne(ts, 0), eq(tv, v + 1), op("not", ok)]
    if a.fault is None:
        release(ctx, c, r, i)
    elif window(ctx.prog).retries(c):  # the first fault is taken, the access runs again
        retried(site, r, entry)
        site.emit(r, "fault", f"retry.{v}")
        return
    else:  # fatal: the core stops once every earlier instruction is performed
        r.guard.append(ne(Field(a.fault), i + 1))
        record(ctx, c, r, i, entry)
        for f in mark_fields(a, i):
            r.upd.set(f, 0)
        if isinstance(site, InOrder):
            stop_updates(ctx, c, r, i)
        elif i in a.done:  # not performed: `stop` ends the core when pc gets here
            r.upd.set(a.done[i], Field(a.done[i]))
    site.emit(r, "fault", f"{v}")


def record(ctx: Ctx, c: int, r: Rule, i: int, entry: Expr) -> None:
    """The fault of access ``i`` with held translation read ``entry`` is recorded, with its
    type: translation (an invalid entry) or permission."""
    a = arm(ctx, c)
    r.upd.set(a.fault, i + 1)  # type: ignore[arg-type]
    if a.ftype is not None:
        r.upd.set(a.ftype, ite(ctx.lay.valid(pte_wid(entry)), C(2), C(1)))


def retried(site: Site, r: Rule, entry: Expr) -> None:
    """Core ``c`` takes its first fault, at ``i`` (retried faults, docs/arm64.md section
    3): the fault is recorded, the read and its marks go, ``i`` is not performed (``pc``
    stays) and waits for the exception entry (`rules_retry`). A second fault has no
    step: that execution never reaches a final state."""
    ctx, c, i = site.ctx, site.c, site.pc
    a = arm(ctx, c)
    assert a.entry is not None
    r.guard.append(eq(Field(a.fault), 0))  # type: ignore[arg-type]
    record(ctx, c, r, i, entry)
    release(ctx, c, r, i)
    r.upd.set(a.entry, 1)
    if isinstance(site, InOrder):  # `pc` stays, nothing after it moves it on
        r.upd.set(ctx.lay.cores[c].pc, C(i))
        for j, f in a.done.items():
            if j > i:
                r.upd.set(f, Field(f))
    elif i in a.done:
        r.upd.set(a.done[i], 0)
    r.info["how"] = "retry"


def mark_fields(a: ArmCore, i: int) -> list[int]:
    return [f for (j, _), f in a.mark.items() if j == i]


def release(ctx: Ctx, c: int, r: Rule, i: int) -> None:
    """The access is performed: its translation read and the marks on it go."""
    a = arm(ctx, c)
    for f in (a.tr[i], a.ts[i], a.tv[i], *mark_fields(a, i)):
        r.upd.set(f, 0)


def undo_after(ctx: Ctx, c: int, r: Rule, at: int, lo: int, hi: int) -> None:
    """Instructions after a fault at ``at`` performed early never happened: a register
    only they write is back at 0 (stores and `tlbi`s after a pending access wait until
    it cannot fault). What the core holds of the code in [``lo``, ``hi``) goes:
    performed marks and translation reads with their marks."""
    a = arm(ctx, c)
    code = ctx.prog.cores[c].code
    win = window(ctx.prog)
    before = {reg for ins in code[: at + 1] for reg in win.effects(ins).wregs}
    main = [(j, f) for j, f in sorted(a.done.items()) if lo <= j < hi]
    for j, f in main:
        for reg in sorted(win.effects(code[j]).wregs - before, key=lambda x: x.index):
            if j > at:
                fld = ctx.reg_field(c, reg)
                r.upd.modify(fld, lambda old, f=f: ite(eq(Field(f), 1), C(0), old))
    held = [j for j in a.tr if lo <= j < hi]
    for f in (*(f for _, f in main), *(g[j] for g in (a.tr, a.ts, a.tv) for j in held)):
        r.upd.set(f, 0)
    for (j, _), f in a.mark.items():
        if lo <= j < hi:
            r.upd.set(f, 0)


def stop_updates(ctx: Ctx, c: int, r: Rule, at: int) -> None:
    """A fatal fault at ``at``: the core goes to its program's end (or `on fault` code),
    holding nothing of the code ``at`` is in (the program, or an `on fault resume` block;
    `undo_after`)."""
    a = arm(ctx, c)
    core = ctx.prog.cores[c]
    blocks = ((b[1], b[3]) for b in core.fault_blocks if b[1] <= at < b[3])
    lo, hi = next(blocks, (0, core.program_end))
    undo_after(ctx, c, r, at, lo, hi)
    r.upd.set(ctx.lay.cores[c].pc, core.program_end)
    if core.fault_blocks:  # `resume`: into this access's block, the fault forgotten
        b = fault_block(core, at)
        if b is not None:
            r.upd.set(ctx.lay.cores[c].pc, C(b[1]))
            advance(ctx, c, r, b[1])
        r.upd.set(a.fault, 0)  # type: ignore[arg-type]
        if a.ftype is not None:
            r.upd.set(a.ftype, 0)
    elif core.fault_entry >= 0:  # into the `on fault` code, past what it performed already
        r.upd.set(ctx.lay.cores[c].pc, C(core.fault_entry))
        advance(ctx, c, r, core.fault_entry)


def stop(ctx: Ctx, c: int, i: int, ins: P.IAccess) -> None:
    """``pc`` reached an access that faulted early (fatal): the core stops."""
    a = arm(ctx, c)
    assert a.fault is not None
    cf = ctx.lay.cores[c]
    r = Rule([eq(Field(cf.pc), i), eq(Field(a.fault), i + 1)])
    stop_updates(ctx, c, r, i)
    name = ctx.prog.cores[c].name
    ctx.emit(c, i, r, "stop", f"{name}@{i}:stop", ins.text, ins.span)
