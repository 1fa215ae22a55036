"""Data through pages (docs/arm64.md §1): the data word of the frame a translation maps,
moved by `r := read V` / `write V := e`, read and written in one step by an atomic
through a page, and the exclusives' reservation (any model).

A load-exclusive (`r := read exclusive V`) sets its core's reservation to the frame it
read (herd7 keeps the physical address); a store to that frame by another core clears
it.  A store-exclusive (`s := write exclusive V := e`) stores only while the
reservation is the frame it writes (status ``s`` 0), else it fails (status 1); it may
also fail at any time (`exclusive_failure`).  Either way the reservation is cleared.
"""

from __future__ import annotations

from verifier.ir import program as P
from verifier.ir.system import Check, Expr, Field, conj, disj, eq, interval, ite, op
from verifier.machine.context import Ctx, Rule
from verifier.machine.layout import C, pte_wid

BITWISE = ("fetch_set", "fetch_clear", "fetch_xor")  # on data: or, and-not, xor of bits


def rmw_value(ctx: Ctx, r: Rule, name: str, old: Expr, xs: list[Expr]) -> Expr:
    """The value an atomic read-modify-write stores, given the ``old`` value it read."""
    if name in BITWISE:
        return bitwise(ctx, r, name, old, xs[0])
    return {
        "fetch_add": lambda: op("add", old, xs[0]),
        "+=": lambda: op("add", old, xs[0]),
        "swap": lambda: xs[0],
        "cas": lambda: ite(eq(old, xs[0]), xs[1], old),
    }[name]()


def bitwise(ctx: Ctx, r: Rule, name: str, a: Expr, b: Expr) -> Expr:
    """``a | b``, ``a & ~b`` or ``a ^ b`` (docs/arm64.md §1): bit by bit, each bit taken
    with `/` and `%`, as wide as the larger operand may be.  An operand that is negative
    is a `range` problem (the bits of a non-negative number only)."""
    bounds = [interval(x, ctx.lay.fields) for x in (a, b)]
    width = max(max(0, hi).bit_length() for _, hi in bounds)
    for x, (lo, _) in zip((a, b), bounds, strict=True):
        if lo < 0:
            what = (("what", f"{name} of a negative value"),)
            r.checks.append(Check("range", op("lt", x, C(0)), True, what))
    out: Expr = C(0)
    for k in range(width):
        x, y = (op("mod", op("div", v, C(1 << k)), C(2)) for v in (a, b))
        both = op("mul", x, y)
        if name == "fetch_set":
            bit = op("sub", op("add", x, y), both)
        elif name == "fetch_clear":
            bit = op("sub", x, both)
        else:  # fetch_xor
            bit = op("mod", op("add", x, y), C(2))
        out = op("add", out, op("mul", bit, C(1 << k)))
    return out


def data(ctx: Ctx, c: int, r: Rule, ins: P.IAccess, entry: Expr) -> None:
    """The access moves the data word of the frame ``entry`` maps."""
    lay = ctx.lay
    if not lay.arm.data or (ins.dest is None and ins.value is None and not ins.rmw):
        return
    frame = lay.frame(pte_wid(entry))
    word: Expr = C(0)
    for f, fld in enumerate(lay.arm.data):
        word = ite(eq(frame, f), Field(fld), word)
    if ins.exclusive and ins.kind == "write":
        assert ins.dest is not None and ins.value is not None
        ok = armed(ctx, c, frame)
        _store(ctx, c, r, frame, ctx.expr(c, ins.value, r), ok)
        _set_reg(ctx, c, r, ins.dest, ite(ok, C(0), C(1)))
        disarm(ctx, c, r)
        return
    if ins.dest is not None:
        _set_reg(ctx, c, r, ins.dest, word)
    if ins.exclusive:
        r.upd.set(lay.arm.res[c], op("add", frame, C(1)))
    if ins.rmw:
        new = rmw_value(ctx, r, ins.rmw, word, [ctx.expr(c, x, r) for x in ins.args])
        lo, hi = min(lay.fields[f].lo for f in lay.arm.data), max(lay.fields[f].hi for f in lay.arm.data)
        ctx.range_check(r, new, lo, hi, f"data value outside {lo}..{hi}")
        _store(ctx, c, r, frame, new, None)
    elif ins.value is not None:
        _store(ctx, c, r, frame, ctx.expr(c, ins.value, r), None)


def _set_reg(ctx: Ctx, c: int, r: Rule, reg: P.LReg, value: Expr) -> None:
    f = ctx.reg_field(c, reg)
    lo, hi = ctx.lay.fields[f].lo, ctx.lay.fields[f].hi
    ctx.range_check(r, value, lo, hi, f"register value outside {lo}..{hi}")
    r.upd.set(f, value)


def _store(ctx: Ctx, c: int, r: Rule, frame: Expr, val: Expr, when: Expr | None) -> None:
    """Write ``val`` to the frame's word (only ``when`` it holds); another core's
    reservation on that frame is cleared."""
    lay = ctx.lay
    for f, fld in enumerate(lay.arm.data):
        hit = eq(frame, f) if when is None else conj(when, eq(frame, f))
        r.upd.set(fld, ite(hit, val, Field(fld)))
    for d, rf in sorted(lay.arm.res.items()):
        if d != c:
            hit = eq(Field(rf), op("add", frame, C(1)))
            hit = hit if when is None else conj(when, hit)
            r.upd.set(rf, ite(hit, C(0), Field(rf)))


def armed(ctx: Ctx, c: int, frame: Expr) -> Expr:
    """Core ``c``'s reservation is set, to ``frame``."""
    res = ctx.lay.arm.res.get(c)
    return C(0) if res is None else eq(Field(res), op("add", frame, C(1)))


def entry_code(ctx: Ctx, a: int) -> int:
    """The reservation a load-exclusive of the PTE entry at address ``a`` sets (after the
    frames' codes)."""
    return len(ctx.prog.frames) + 1 + a - ctx.lay.nwords


def unreserve(ctx: Ctx, r: Rule, hits: list[tuple[int, Expr]], keep: int | None) -> None:
    """A write to PTE entries clears every reservation on them (but core ``keep``'s: its
    own explicit store, docs/arm64.md §1): ``hits`` pairs an entry's address with the
    condition that the rule writes it."""
    for d, rf in sorted(ctx.lay.arm.res.items()):
        if d != keep and hits:
            gone = disj(*(conj(when, eq(Field(rf), entry_code(ctx, a))) for a, when in hits))
            r.upd.set(rf, ite(gone, C(0), Field(rf)))


def disarm(ctx: Ctx, c: int, r: Rule) -> None:
    if c in ctx.lay.arm.res:
        r.upd.set(ctx.lay.arm.res[c], 0)


def exclusive_failure(ctx: Ctx, c: int, r: Rule, ins: P.IAccess) -> None:
    """A store-exclusive that fails whatever its reservation: status 1, nothing stored."""
    assert ins.dest is not None
    _set_reg(ctx, c, r, ins.dest, C(1))
    disarm(ctx, c, r)
