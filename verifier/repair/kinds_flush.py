"""Edits of invalidation: wider invalidations, added flushes, and flush guards made
unconditional or wider."""

from __future__ import annotations

from collections.abc import Iterator

from verifier.lang import ast
from verifier.lang.printer import simple_stmt
from verifier.repair.context import Context, gaps, is_ack, is_flush, neighbours, register, where
from verifier.repair.edits import Edit, Insert, Place, Replace, contains, line_of

# ---------------------------------------------------------------- invalidations


@register(
    "widen",
    "widen an invalidation: `invlpg` -> `flush asid` -> `flush all`; `tlbi V` -> "
    "`tlbi is V` (every core) and `tlbi V` -> `tlbi asid P` -> `tlbi all`",
)
def _widen(ctx: Context) -> Iterator[Edit]:
    spaces = [
        s.name for s in ctx.checked.spaces if any(d.name == s.name for d in _space_decls(ctx))
    ]
    for p in ctx.places:
        s = p.stmt
        wider: list[ast.Stmt] = []
        if isinstance(s, ast.Invlpg):
            wider = [*(ast.FlushAsid(sp) for sp in spaces), ast.FlushAll()]
        elif isinstance(s, ast.FlushAsid):
            wider = [ast.FlushAll()]
        elif isinstance(s, ast.Tlbi):
            wider = _wider_tlbi(s, spaces)
        for w in wider:
            yield Edit(
                "widen", f"widen {line_of(s)} to `{simple_stmt(w)}`", (Replace(s, (w,)),), (s,)
            )


def _wider_tlbi(s: ast.Tlbi, spaces: list[str]) -> list[ast.Stmt]:
    """`tlbi V` -> `tlbi is V` (every core's TLB), and page -> asid -> all, same reach."""
    out: list[ast.Stmt] = []
    if not s.broadcast:
        out.append(ast.Tlbi(s.scope, True, s.page, s.space))
    if s.scope == "page":
        out += [ast.Tlbi("asid", s.broadcast, None, sp) for sp in spaces]
    if s.scope != "all":
        out.append(ast.Tlbi("all", s.broadcast))
    return out


def _space_decls(ctx: Context) -> list[ast.SpaceDecl]:
    return [d for d in ctx.spec.decls if isinstance(d, ast.SpaceDecl)]


def _pages(ctx: Context) -> list[str]:
    names = [d.name for d in ctx.spec.decls if isinstance(d, ast.PageDecl)]
    for sp in _space_decls(ctx):
        names += [pg.name for pg in sp.pages if pg.name not in names]
    return names


@register(
    "add-flush",
    "add an `invlpg` of a page, or a `flush all` (under `arm`, a `tlbi is` of a page; "
    "under `riscv`, an `sfence.vma` of a page), "
    "between two statements (not inside an "
    "endless `loop`: flushing at every turn of the workload defeats the TLB, it fixes "
    "nothing; in a handler, not after its acknowledgement: the sender waits for the ack)",
    1,
)
def _add_flush(ctx: Context) -> Iterator[Edit]:
    flushes: list[ast.Stmt] = [ast.Invlpg(ast.PageRef(None, pg)) for pg in _pages(ctx)]
    flushes.append(ast.FlushAll())
    if "arm" in ctx.models:  # Arm's broadcast invalidation, with the dsb that completes it
        flushes += [ast.Tlbi("page", True, ast.PageRef(None, pg)) for pg in _pages(ctx)]
    if "riscv" in ctx.models:  # RISC-V's local fence (docs/riscv.md)
        flushes += [ast.Sfence(ast.PageRef(None, pg)) for pg in _pages(ctx)]
    for f in flushes:
        for anchor, after, p in gaps(ctx):
            if p.in_loop or _after_ack(ctx, p, after):
                continue
            prev, nxt = neighbours(p, after)
            if any(isinstance(n, ast.FlushAll) or n == f for n in (prev, nxt) if n is not None):
                continue
            yield Edit(
                "add-flush",
                f"add `{simple_stmt(f)}` {where(anchor, after)}",
                (Insert(anchor, (f,), after),),
                (anchor,),
                prev,
            )


def _after_ack(ctx: Context, p: Place, after: bool) -> bool:
    """A place in a handler after its acknowledgement (`acks += 1`, `ack := 1`)."""
    if not isinstance(p.owner, ast.HandlerDecl):
        return False
    before = p.block[: p.index + 1] if after else p.block[: p.index]
    return any(is_ack(s) or ctx.stores_word(s) for s in before)


@register(
    "unguard",
    "make a conditional flush or IPI unconditional (`if c { flush }` -> `flush`): flush "
    "when in doubt",
)
def _unguard(ctx: Context) -> Iterator[Edit]:
    for p in ctx.places:
        s = p.stmt
        if isinstance(s, ast.If) and s.orelse is None and s.then and contains(s, is_flush):
            yield Edit(
                "unguard",
                f"run the body of {line_of(s)} always",
                (Replace(s, s.then, unguard=True),),
                (s,),
            )


@register(
    "widen-guard",
    "widen the guard of a flush or IPI: `x == a` -> `x != b` for another value b the "
    "spec gives words",
)
def _widen_guard(ctx: Context) -> Iterator[Edit]:
    values = _constants(ctx)
    for p in ctx.places:
        s = p.stmt
        if not (isinstance(s, ast.If) and any(contains(t, is_flush) for t in s.then)):
            continue
        c = s.cond
        if not (isinstance(c, ast.Binary) and c.op == "==" and isinstance(c.right, ast.Num)):
            continue
        for b in sorted(values - {c.right.value}):
            cond = ast.Binary("!=", c.left, ast.Num(b))
            new = ast.If(cond, s.then, s.orelse, span=s.span)
            yield Edit(
                "widen-guard",
                f"widen the guard {line_of(s)} to `{simple_stmt(new)[:-2]}`",
                (Replace(s, (new,)),),
                (s,),
            )


def _constants(ctx: Context) -> set[int]:
    """The values the spec stores in words or starts them with."""
    out = {v.init for v in ctx.checked.vars}
    for p in ctx.places:
        if ctx.stores_word(p.stmt) and isinstance(p.stmt.value, ast.Num):  # type: ignore[union-attr]
            out.add(p.stmt.value.value)  # type: ignore[union-attr]
    return out
