"""Page-table writes: `pte` (through the store buffer under tso/pso) and `complete`.

A PTE value carries ``latest`` (the most recently issued write to its entry) and
``stale`` (set on every older copy when a `complete` happens); both are kept on
every copy of the entry: memory, store buffers and TLBs (see ``layout.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from verifier.ir import program as P
from verifier.ir.system import TRUE, Expr, Field, conj, eq, op
from verifier.machine.context import Ctx, Rule, Site, apply_if
from verifier.machine.layout import C, fresh_pte, pte_clear_latest, pte_mark_stale
from verifier.machine.rules_buffer import buffer_append


def pte_copies(ctx: Ctx, s: int, v: int) -> Iterator[tuple[int, Expr]]:
    """Every field that may hold a value of PTE entry (s, v), with the condition that
    it does."""
    lay = ctx.lay
    a = lay.pte_addr(s, v)
    yield lay.mem[a], TRUE
    for cf in lay.cores:
        for k, kind in enumerate(cf.sba):
            yield cf.sbv[k][0], eq(Field(kind), a + 1)
        for t in (lay.tag_of_space(s), lay.gtag):
            yield cf.tw[(v, t)], eq(Field(cf.te[(v, t)]), s + 1)
    for a in lay.arm:  # translation reads held by accesses (`arm`)
        for pc, tr in sorted(a.tr.items()):
            yield tr, conj(eq(Field(a.ts[pc]), s + 1), eq(Field(a.tv[pc]), v + 1))


def on_pte_copies(ctx: Ctx, rule: Rule, s: int, v: int, fn: Callable[[Expr], Expr]) -> None:
    for f, cond in pte_copies(ctx, s, v):
        rule.upd.modify(f, apply_if(cond, fn))


def pte(site: Site, ins: P.IPte) -> None:
    ctx = site.ctx
    action = "store-buffered" if ctx.lay.buffered(site.c) else "store"
    for v, s, guards in ctx.entries_of(site.c, ins.page, ins.space):
        r = site.rule(page=v, space=s, wid=ins.wid)
        r.guard += guards
        pte_write(ctx, site.c, r, s, v, ins.wid)
        site.emit(r, action, f"{v}.{s}")


def pte_write(ctx: Ctx, c: int, r: Rule, s: int, v: int, wid: int) -> None:
    lay = ctx.lay
    a = lay.pte_addr(s, v)
    on_pte_copies(ctx, r, s, v, pte_clear_latest)
    r.upd.set(lay.last[a - lay.nwords], wid)
    if not lay.buffered(c):
        r.upd.set(lay.mem[a], fresh_pte(wid))
    else:
        ctx.room(c, r)
        buffer_append(ctx, c, r, a + 1, [C(fresh_pte(wid))])


def complete(site: Site, ins: P.IComplete) -> None:
    """Every copy of the entry older than the latest issued write becomes stale."""
    ctx = site.ctx
    lay = ctx.lay
    for v, s, guards in ctx.entries_of(site.c, ins.page, ins.space):
        r = site.rule(page=v, space=s)
        r.guard += guards
        i = lay.pte_addr(s, v) - lay.nwords
        r.upd.set(lay.rec[i], op("add", Field(lay.last[i]), C(1)))
        on_pte_copies(ctx, r, s, v, pte_mark_stale)
        site.emit(r, "complete", f"{v}.{s}")
