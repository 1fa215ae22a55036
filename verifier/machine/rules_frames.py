"""Frame contents (docs/page-tables.md): `copy A to B` and `zero A`, and the `lost-write`
race they make possible.

Only frames some `copy` or `zero` names have a contents field (``Layout.contents``: 0
live, 1 zeroed, 2+B copied to B).  After `copy A to B` a write that reaches A lands
in a frame whose data was already taken (COW, migration): it is lost.  After `zero A`
any access that reaches A is a `lost-write` too (a read sees data that should be
gone, a write goes where nobody will read it).
"""

from __future__ import annotations

from verifier.ir import program as P
from verifier.ir.system import Check, Expr, Field, conj, disj, eq, op
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
    (where ``allowed`` holds: a faulting access reaches nothing)."""
    lay = ctx.lay
    if not lay.contents:
        return
    lost = []
    for f, field in sorted(lay.contents.items()):
        state = Field(field)
        gone = eq(state, 1) if bit != WRITE else op("ne", state, C(0))
        lost.append(conj(eq(frame, f), gone))
    r.checks.append(Check("lost-write", conj(allowed, disj(*lost)), False, info))
