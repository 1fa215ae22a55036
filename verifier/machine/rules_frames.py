"""Frame contents (docs/page-tables.md): `copy A to B` and `zero A`, and the `lost-write`
race they make possible.

Only frames some `copy` or `zero` names have a contents field (``Layout.contents``: 0
live, 1 zeroed, 2+B copied to B, 2+N+B copied to B and B written since, N frames).
After `copy A to B` a write that reaches A lands in a frame whose data was already
taken (COW, migration): it is lost.  Once a write has reached B, a read that reaches A
misses that write (the stale read of wp_page_copy()).  After `zero A` any access that
reaches A is a `lost-write` too (a read sees data that should be gone, a write goes
where nobody will read it).
"""

from __future__ import annotations

from verifier.ir import program as P
from verifier.ir.system import Check, Expr, Field, conj, disj, eq, ite, op
from verifier.machine.context import Ctx, Rule, Site
from verifier.machine.layout import C

WRITE = 2


def copy(site: Site, ins: P.ICopy) -> None:
    lay = site.ctx.lay
    r = site.rule(frame=ins.src, to=ins.dst)
    r.upd.set(lay.contents[ins.src], 2 + ins.dst)
    r.upd.set(lay.contents[ins.dst], 0)
    site.emit(r, "copy")


def zero(site: Site, ins: P.IZero) -> None:
    r = site.rule(frame=ins.frame)
    r.upd.set(site.ctx.lay.contents[ins.frame], 1)
    site.emit(r, "zero")


def lost_write(ctx: Ctx, r: Rule, frame: Expr, allowed: Expr, bit: int, info: tuple) -> None:
    """The `lost-write` check of an access with permission ``bit`` that reaches ``frame``
    (where ``allowed`` holds: a faulting access reaches nothing); a write that reaches
    a copy's destination marks the copy's source as missed by later reads."""
    lay = ctx.lay
    if not lay.contents:
        return
    n = len(ctx.prog.frames)
    lost = []
    for f, field in sorted(lay.contents.items()):
        state = Field(field)
        gone = (
            disj(eq(state, 1), op("ge", state, C(2 + n)))
            if not bit & WRITE
            else op("ne", state, C(0))
        )
        lost.append(conj(eq(frame, f), gone))
    r.checks.append(Check("lost-write", conj(allowed, disj(*lost)), False, info))
    if bit & WRITE:
        for src, dst in copy_pairs(ctx):
            hit = conj(allowed, eq(frame, dst), eq(Field(lay.contents[src]), 2 + dst))
            r.upd.modify(lay.contents[src], lambda old, h=hit, d=dst: ite(h, C(2 + n + d), old))


def copy_pairs(ctx: Ctx) -> list[tuple[int, int]]:
    """(source, destination) of every `copy` in the program."""
    pairs = {(i.src, i.dst) for core in ctx.prog.cores for i in core.code if isinstance(i, P.ICopy)}
    return sorted(pairs)
