"""The race checks of a memory access through a translation (reference: "Races").

An access that uses a PTE value checks, over the pre-state:
``use-after-free`` (the frame it maps was freed), ``stale-translation`` (the value
was superseded by a completed write that maps elsewhere or nothing),
``stale-permission`` (same frame, but the latest completed write forbids the
access) and, for hits on an ASID shared by several spaces, ``asid-reuse``.
"""

from __future__ import annotations

from verifier.ir.system import TRUE, Check, Expr, Field, conj, disj, eq, ite, ne, op
from verifier.machine.context import Ctx, Rule
from verifier.machine.layout import C, pte_stale, pte_wid
from verifier.machine.rules_ad import entry_sources
from verifier.machine.rules_frames import lost_write


def rec_options(ctx: Ctx, v: int) -> list[tuple[int, Expr]]:
    """(TLB source value, the `complete` record of the entry it was filled from) for every
    source an entry of page ``v`` can have (``rules_ad.entry_sources``)."""
    lay = ctx.lay
    return [(src, Field(lay.rec[a - lay.nwords])) for src, a in entry_sources(ctx, v)]


def races(ctx: Ctx, r: Rule, v: int, bit: int, entry: Expr, src: Expr, slot: int | None) -> None:
    """Checks of an access with permission ``bit`` to page ``v`` using PTE value ``entry``,
    found for source ``src`` (an expression, see Layout.src) in TLB field ``slot``."""
    lay = ctx.lay
    w = pte_wid(entry)
    ok = lay.allows(w, bit)
    recs = rec_options(ctx, v)
    rec: Expr = C(0)
    for so, f in recs:
        rec = ite(eq(src, so), f, rec) if len(recs) > 1 else f
    info: tuple[tuple[str, object], ...] = (("entry", slot), ("pte", entry))
    if ctx.prog.dirs:
        info += (("rec", rec),)
    r.checks.append(Check("use-after-free", conj(ok, lay.freed_at(lay.frame(w))), False, info))
    lost_write(ctx, r, lay.frame(w), ok, bit, info)
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


def asid_reuse(
    ctx: Ctx, r: Rule, s: int, bit: int, entry: Expr, src: Expr, slot: int, when: Expr = TRUE
) -> None:
    """An access in space ``s`` that uses a tagged entry (PTE value ``entry``, source
    ``src``: see Layout.src) filled from another space sharing the ASID. Like every race,
    only an access that happens counts: a hit that faults (the entry lacks the
    permission) is no `asid-reuse`. ``when``: the further condition under which this
    check applies (under `arm`: the core runs ``s`` and the entry is not global)."""
    shared_tag = any(
        o != s and sp.asid == ctx.prog.spaces[s].asid for o, sp in enumerate(ctx.prog.spaces)
    )
    if shared_tag:
        r.checks.append(
            Check(
                "asid-reuse",
                conj(when, ctx.lay.allows(pte_wid(entry), bit), ne(ctx.lay.src_space(src), s + 1)),
                False,
                (("entry", slot), ("pte", entry), ("src", src), ("space", s)),
            )
        )
