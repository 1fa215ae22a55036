"""TLBs: accesses (hit or walk), invalidations and speculative walker fills.

Each core's TLB has one entry per (page, tag): the tag of each ASID and one
global tag.  An access hits a global entry, else the current ASID's entry, else
walks the page table in memory and fills the entry the PTE's global bit picks.
"""

from __future__ import annotations

from verifier.ir import program as P
from verifier.ir.system import TRUE, Check, Expr, Field, conj, eq, ite, ne, op
from verifier.machine import rules_ad, rules_walk
from verifier.machine.context import Ctx, Rule, Site, cacheable
from verifier.machine.layout import C, pte_wid
from verifier.machine.rules_buffer import AfterBuffer
from verifier.machine.rules_data import data, exclusive_failure
from verifier.machine.rules_race import asid_reuse, races
from verifier.machine.window import stored


def tlb_clear(ctx: Ctx, rule: Rule, c: int, v: int, t: int) -> None:
    cf = ctx.lay.cores[c]
    rule.upd.set(cf.te[(v, t)], 0)
    rule.upd.set(cf.tw[(v, t)], 0)
    if cf.td:
        rule.upd.set(cf.td[(v, t)], 0)


def serialize(site: Site, r: Rule) -> None:
    """`option flushes = serializing`: the flush waits for an empty store buffer (x86
    INVLPG, INVPCID and CR3 writes are serializing instructions)."""
    if site.ctx.prog.flushes == "serializing":
        r.guard.append(site.ctx.lay.buffer_empty(site.c))


def invlpg(site: Site, ins: P.IInvlpg) -> None:
    ctx = site.ctx
    for v, s, guards in ctx.entries_of(site.c, ins.page, ins.space):
        r = site.rule(page=v, space=s)
        r.guard += guards
        serialize(site, r)
        tlb_clear(ctx, r, site.c, v, ctx.lay.tag_of_space(s))
        tlb_clear(ctx, r, site.c, v, ctx.lay.gtag)
        at = ctx.prog.walk(s, v)
        if at is not None:  # the paging-structure entry on the page's path too
            rules_walk.drop_psc(ctx, r, site.c, iter((at[0],)))
        site.emit(r, "invlpg", f"{v}.{s}")


def flush_asid(site: Site, ins: P.IFlushAsid) -> None:
    r = site.rule(asid=ins.asid)
    serialize(site, r)
    prog = site.ctx.prog
    for v in range(len(prog.pages)):
        tlb_clear(site.ctx, r, site.c, v, site.ctx.lay.tag_of_asid(ins.asid))
    tagged = (d for d, dr in enumerate(prog.dirs) if prog.spaces[dr.space].asid == ins.asid)
    rules_walk.drop_psc(site.ctx, r, site.c, tagged)
    site.emit(r, "flush")


def flush_all(site: Site, ins: P.IFlushAll) -> None:
    r = site.rule()
    serialize(site, r)
    for v in range(len(site.ctx.prog.pages)):
        for t in site.ctx.lay.tags:
            tlb_clear(site.ctx, r, site.c, v, t)
    rules_walk.drop_psc(site.ctx, r, site.c, range(len(site.ctx.prog.dirs)))
    site.emit(r, "flush")


def access(site: Site, ins: P.IAccess) -> None:
    if (ins.order == "release" or ins.rmw) and site.ctx.lay.buffered(site.c):
        site = AfterBuffer(site.ctx, site.c, site.pc, site.nxt, site.ins)
    for v, s, guards in site.ctx.entries_of(site.c, ins.page, None, current=True):
        access_page(site, ins.bit, v, s, guards, ins)
    if ins.exclusive and ins.kind == "write":  # a store-exclusive may always fail
        r = site.rule(how="exclusive-failed")
        exclusive_failure(site.ctx, site.c, r, ins)
        site.emit(r, "access", "xfail")


def access_page(
    site: Site, bit: int, v: int, s: int, guards: list[Expr], ins: P.IAccess | None = None
) -> None:
    """The ways an access to page ``v`` in space ``s`` can go. A core may hold a global
    and a tagged entry for ``v`` at once (each filled while the other was not usable, in
    another space): the access may then use either, and both are explored."""
    ctx, c = site.ctx, site.c
    lay = ctx.lay
    cf = lay.cores[c]
    t, g = lay.tag_of_space(s), lay.gtag
    te_t, te_g = Field(cf.te[(v, t)]), Field(cf.te[(v, g)])

    def moves(r: Rule, entry: Expr) -> None:
        """Data through the page moves only when the access is allowed."""
        if ins is not None:
            site.fault_exit(r, lay.allows(pte_wid(entry), bit))
        if ins is not None and (ins.dest is not None or ins.value is not None):
            ok = Rule()
            data(ctx, c, ok, ins, entry)
            allowed = lay.allows(pte_wid(entry), bit)
            for f, e in ok.upd.items():
                r.upd.set(f, ite(allowed, e, Field(f)))
            r.checks += [Check(k.kind, conj(allowed, k.cond), k.fatal, k.info) for k in ok.checks]

    # hit on a global entry
    def hit_global() -> Rule:
        r = site.rule(page=v, space=s, slot=cf.te[(v, g)], how="hit-global", bit=bit)
        r.guard += [*guards, ne(te_g, 0)]
        races(ctx, r, v, bit, Field(cf.tw[(v, g)]), te_g, cf.tw[(v, g)])
        moves(r, Field(cf.tw[(v, g)]))
        return r

    rules_ad.hit(site, hit_global, bit, v, g, f"{v}.{s}.hg")

    # hit on an entry tagged with the current ASID (whether or not a global one exists)
    def hit_tagged() -> Rule:
        r = site.rule(page=v, space=s, slot=cf.te[(v, t)], how="hit", bit=bit)
        r.guard += [*guards, ne(te_t, 0)]
        races(ctx, r, v, bit, Field(cf.tw[(v, t)]), te_t, cf.tw[(v, t)])
        asid_reuse(ctx, r, s, bit, Field(cf.tw[(v, t)]), te_t, cf.tw[(v, t)])
        moves(r, Field(cf.tw[(v, t)]))
        return r

    rules_ad.hit(site, hit_tagged, bit, v, t, f"{v}.{s}.ht")
    # miss: walk the page table in memory
    miss = [*guards, eq(te_g, 0), eq(te_t, 0)]
    if ctx.prog.walk(s, v) is not None:
        rules_walk.walk_miss(site, bit, v, s, miss, moves)
        return
    mem = Field(lay.mem[lay.pte_addr(s, v)])
    r = site.rule(page=v, space=s, how="miss-invalid", bit=bit)
    r.guard += [*miss, op("not", lay.valid(pte_wid(mem)))]
    site.emit(r, "fault", f"{v}.{s}.mi")
    for glob, tag in ((1, g), (0, t)):
        r = site.rule(page=v, space=s, slot=cf.te[(v, tag)], how="miss-fill", bit=bit)
        r.guard += [*miss, lay.valid(pte_wid(mem)), eq(lay.is_global(pte_wid(mem)), glob)]
        r.upd.set(cf.te[(v, tag)], s + 1)
        r.upd.set(cf.tw[(v, tag)], mem)
        rules_ad.on_fill(ctx, r, c, (v, tag), lay.pte_addr(s, v), mem, bit)
        races(ctx, r, v, bit, mem, C(s + 1), cf.tw[(v, tag)])
        moves(r, mem)
        site.emit(r, "access", f"{v}.{s}.m{glob}")


def fills(ctx: Ctx, c: int) -> None:
    """The speculative walker fills an empty entry from the page table in memory."""
    lay = ctx.lay
    cf = lay.cores[c]
    core = ctx.prog.cores[c]
    used = accessed_pages(ctx, c)
    if ctx.prog.dirs:
        rules_walk.walker_fills(ctx, c, used)
    if ctx.prog.ad == "hardware":  # a fill sets the accessed bit: no longer invisible
        used = set(range(len(ctx.prog.pages)))
    for s in range(len(ctx.prog.spaces)):
        for v in range(len(ctx.prog.pages)):
            if v not in used or ctx.prog.walk(s, v) is not None or not may_be_valid(ctx, s, v):
                continue
            t, g = lay.tag_of_space(s), lay.gtag
            mem = Field(lay.mem[lay.pte_addr(s, v)])
            for glob, tag in ((1, g), (0, t)):
                r = Rule(
                    [
                        eq(Field(cf.space), s) if len(ctx.prog.spaces) > 1 else TRUE,
                        eq(Field(cf.te[(v, g)]), 0),
                        eq(Field(cf.te[(v, t)]), 0),
                        cacheable(ctx, pte_wid(mem)),
                        eq(lay.is_global(pte_wid(mem)), glob),
                    ]
                )
                r.upd.set(cf.te[(v, tag)], s + 1)
                r.upd.set(cf.tw[(v, tag)], mem)
                rules_ad.on_fill(ctx, r, c, (v, tag), lay.pte_addr(s, v), mem, None)
                r.info.update(page=v, space=s, slot=cf.te[(v, tag)])
                ctx.emit(c, None, r, "fill", f"{core.name}:fill:{v}.{s}.{glob}", "walker fill")


def accessed_pages(ctx: Ctx, c: int) -> set[int]:
    """Pages the core's code (program and handlers) can access.  A TLB entry of another
    page is never used by this core: it changes no check and no other field, so the
    walker need not fill it (a sound reduction of the state space; not with `option ad
    = hardware`, where the fill sets the PTE's accessed bit, which `pte(V).young`
    reads)."""
    out: set[int] = set()
    for ins in ctx.prog.cores[c].code:
        if isinstance(ins, P.IAccess):
            out.update(v for v, _, _ in ctx.pages_of(c, ins.page))
    return out


def may_be_valid(ctx: Ctx, s: int, v: int) -> bool:
    """False when no value that can reach PTE (s, v) is valid: no fill rule needed."""
    wids = {ctx.prog.spaces[s].entries[v]}
    for c, core in enumerate(ctx.prog.cores):
        for ins in core.code:
            if isinstance(ins, P.IPte) and (s, v) in ctx.pte_entries(c, ins):
                wids.update(stored(ins))
    return any(ctx.prog.pte_values[w].frame >= 0 for w in wids)
