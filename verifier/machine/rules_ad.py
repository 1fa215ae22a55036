"""Accessed and dirty bits, x86 style (`option ad = hardware`, docs/page-tables.md §5).

Each PTE entry in memory has its bits (``Layout.ad``: accessed 1, dirty 2) and each
TLB entry caches whether it was filled or used dirty (``CoreFields.td``).  A walk that
fills an entry sets the accessed bit in memory (the walker's atomic update), and the
dirty bit too for a write it allows.  A write that hits an entry cached clean re-walks
with a locked update: if the PTE in memory still allows the write, both bits are set
there and the entry becomes dirty; otherwise the write faults.  A write through an
entry cached dirty leaves memory alone.  A `pte` store clears both bits when it
reaches memory.  Without the option none of this exists and the rules are as before.
"""

from __future__ import annotations

from collections.abc import Callable

from verifier.ir.system import Expr, Field, conj, disj, eq, ite, op
from verifier.machine.context import Ctx, Rule, Site
from verifier.machine.layout import C, pte_wid

WRITE = 2


def young(bits: Expr) -> Expr:
    return ite(eq(op("mod", bits, C(2)), 1), bits, op("add", bits, C(1)))


def on_fill(
    ctx: Ctx, r: Rule, c: int, key: tuple[int, int], addr: int, pte: Expr, bit: int | None
) -> None:
    """A walk fills TLB entry ``key`` from the PTE at ``addr`` (``bit``: the access that
    walked, None for the speculative walker)."""
    lay = ctx.lay
    if not lay.ad:
        return
    bits = Field(lay.ad[addr])
    cf = lay.cores[c]
    if bit is not None and bit & WRITE:
        dirty = lay.allows(pte_wid(pte), bit)
        r.upd.set(lay.ad[addr], ite(dirty, C(3), young(bits)))
        r.upd.set(cf.td[key], ite(dirty, C(1), C(0)))
    else:
        r.upd.set(lay.ad[addr], young(bits))
        r.upd.set(cf.td[key], 0)


def entry_sources(ctx: Ctx, v: int) -> list[tuple[int, int]]:
    """(TLB source value, PTE entry address) for every source an entry of page ``v`` can
    have (see Layout.src): a space's PTE, or a table's leaf for a two-level page."""
    lay, out = ctx.lay, []
    for so in range(len(ctx.prog.spaces)):
        at = ctx.prog.walk(so, v)
        if at is None:
            out.append((lay.src(so), lay.pte_addr(so, v)))
        else:
            out += [(lay.src(so, k), lay.leaf_addr(k, at[1])) for k in range(len(ctx.prog.tables))]
    return out


def hit(site: Site, build: Callable[[], Rule], bit: int, v: int, tag: int, key: str) -> None:
    """A TLB hit on entry (v, tag), built by ``build``; a write through an entry cached
    clean takes the locked re-walk (two more variants)."""
    lay = site.ctx.lay
    cf = lay.cores[site.c]
    if not lay.ad or not bit & WRITE:
        site.emit(build(), "access", key)
        return
    te, tw, td = Field(cf.te[(v, tag)]), Field(cf.tw[(v, tag)]), Field(cf.td[(v, tag)])
    allowed = lay.allows(pte_wid(tw), bit)
    r = build()
    r.guard.append(disj(eq(td, 1), op("not", allowed)))
    site.emit(r, "access", key)
    sources = entry_sources(site.ctx, v)
    ok = disj(
        *(conj(eq(te, src), lay.allows(pte_wid(Field(lay.mem[a])), bit)) for src, a in sources)
    )
    r = build()
    r.guard += [eq(td, 0), allowed, ok]
    for src, a in sources:
        r.upd.set(lay.ad[a], ite(eq(te, src), C(3), Field(lay.ad[a])))
    r.upd.set(cf.td[(v, tag)], 1)
    r.info["dirty"] = "set"
    site.emit(r, "access", key + ".d")
    r = build()
    r.checks.clear()  # the write faults: it reaches nothing
    r.guard += [eq(td, 0), allowed, op("not", ok)]
    r.info["dirty"] = "fault"
    site.emit(r, "fault", key + ".df")


def cleared(ctx: Ctx, r: Rule, addr: int, when: Expr | None = None) -> None:
    """A `pte` store reaches memory at ``addr`` (where ``when`` holds): both bits clear."""
    if addr in ctx.lay.ad:
        f = ctx.lay.ad[addr]
        r.upd.set(f, C(0) if when is None else ite(when, C(0), Field(f)))
