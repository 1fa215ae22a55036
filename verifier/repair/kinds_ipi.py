"""Edits of interrupts: a shootdown where there was a local flush only, more IPI
targets, a wait for acknowledgements, and `irq off` / `irq on` around a window."""

from __future__ import annotations

from collections.abc import Iterator

from verifier.lang import ast
from verifier.lang.printer import simple_stmt, target
from verifier.repair.context import (
    Context,
    is_ack,
    register,
)
from verifier.repair.edits import AddDecl, Edit, Insert, Replace, contains, line_of

LOCAL_FLUSHES = (ast.Invlpg, ast.FlushAsid, ast.FlushAll)

# ---------------------------------------------------------------- IPIs and acknowledgements


def _targets(ctx: Context) -> list[ast.Target]:
    out: list[ast.Target] = []
    for d in ctx.spec.decls:
        if isinstance(d, ast.CoreDecl):
            out.append(ast.TargetFamily(d.name) if d.lo is not None else ast.TargetName(d.name))
    return out


@register(
    "shootdown",
    "after a local invalidation of a core, shoot down every other core too: `fence`, an "
    "IPI whose new handler makes the same invalidation and counts, and a wait for every "
    "count",
)
def _shootdown(ctx: Context) -> Iterator[Edit]:
    names = {d.name for d in ctx.spec.decls if isinstance(d, ast.HandlerDecl | ast.VarDecl)}
    handler, acks = _fresh("repair_flush", names), _fresh("repair_acks", names)
    for p in ctx.places:
        s = p.stmt
        if not isinstance(p.owner, ast.CoreDecl) or p.owner.lo is not None or p.in_loop:
            continue
        if not isinstance(s, LOCAL_FLUSHES):
            continue
        if isinstance(s, ast.Invlpg) and ctx.checked.refs.get(id(s.page), None) is None:
            continue
        targets = tuple(t for t in _targets(ctx) if t != ast.TargetName(p.owner.name))
        count = _count(ctx, targets)
        if not targets or count is None:
            continue
        if isinstance(s, ast.Invlpg):
            page = s.page
            arg: ast.Expr = (
                ast.Name(page.page) if page.space is None else ast.PageName(page.space, page.page)
            )
            params, local = (ast.Ident("pg"),), ast.Invlpg(ast.PageRef(None, "pg"))
            args: tuple[ast.Expr, ...] = (arg,)
        else:
            params, local, args = (), s, ()
        body = (local, ast.Atomic(None, "+=", ast.Name(acks), (ast.Num(1),)))
        new = [
            AddDecl(ast.VarDecl(acks, None, ast.Num(0), ast.Num(0), ast.Num(64))),
            AddDecl(ast.HandlerDecl(handler, params, body)),
        ]
        ipi = ast.Ipi(targets, handler, args, bool(args))
        wait = ast.Await(ast.Binary("==", ast.Name(acks), count))
        fence = () if p.index and _orders(p.block[p.index - 1]) else (ast.Fence("full"),)
        added = (*fence, ipi, wait)
        yield Edit(
            "shootdown",
            f"after {line_of(s)}, shoot down the other cores: "
            f"`{'; '.join(simple_stmt(x) for x in added)}` with a new handler {handler}",
            (Insert(s, added, after=True), *new),
            (s,),
        )


def _fresh(name: str, taken: set[str]) -> str:
    k, out = 1, name
    while out in taken:
        k, out = k + 1, f"{name}{k + 1}"
    return out


def _orders(s: ast.Stmt) -> bool:
    """A full fence or an atomic: the buffered stores before it are in memory."""
    return (isinstance(s, ast.Fence) and s.kind == "full") or isinstance(s, ast.Atomic)


@register("ipi-target", "add a core (or a family) to an IPI's targets")
def _ipi_target(ctx: Context) -> Iterator[Edit]:
    for p in ctx.places:
        s = p.stmt
        if not isinstance(s, ast.Ipi) or any(
            isinstance(t, ast.TargetAll | ast.TargetOthers) for t in s.targets
        ):
            continue
        for t in _targets(ctx):
            if t in s.targets or (isinstance(t, ast.TargetName) and t.name == p.owner.name):
                continue
            new = ast.Ipi((*s.targets, t), s.handler, s.args, s.has_parens, span=s.span)
            yield Edit(
                "ipi-target",
                f"add {target(t)} to the targets of {line_of(s)}",
                (Replace(s, (new,)),),
                (s,),
            )


@register("wait-acks", "wait for the acknowledgements of an IPI nobody waits for")
def _wait_acks(ctx: Context) -> Iterator[Edit]:
    handlers = {d.name: d for d in ctx.spec.decls if isinstance(d, ast.HandlerDecl)}
    for p in ctx.places:
        s = p.stmt
        if not isinstance(p.owner, ast.CoreDecl) or not isinstance(s, ast.Ipi):
            continue
        if any(isinstance(t, ast.Await) for t in p.block[p.index + 1 :]):
            continue
        h = handlers.get(s.handler)
        if h is None:
            continue
        for cond in _ack_conditions(ctx, h, s):
            wait = ast.Await(cond)
            yield Edit(
                "wait-acks",
                f"add `{simple_stmt(wait)}` after {line_of(s)}",
                (Insert(s, (wait,), after=True),),
                (s,),
            )


def _ack_conditions(ctx: Context, h: ast.HandlerDecl, ipi: ast.Ipi) -> Iterator[ast.Expr]:
    """`acks == <targets>` for a handler counting `acks += 1`; `ack == k` for `ack := k`."""
    for s in h.body:
        if is_ack(s) and isinstance(s, ast.Atomic) and isinstance(s.target, ast.Name):
            count = _count(ctx, ipi.targets)
            if count is not None:
                yield ast.Binary("==", ast.Name(s.target.name), count)
        elif (
            ctx.stores_word(s)
            and isinstance(s, ast.Assign)
            and isinstance(s.value, ast.Num)
            and isinstance(s.target, ast.Name)
        ):
            yield ast.Binary("==", ast.Name(s.target.name), s.value)


def _count(ctx: Context, targets: tuple[ast.Target, ...]) -> ast.Expr | None:
    families = {
        d.name: d for d in ctx.spec.decls if isinstance(d, ast.CoreDecl) and d.lo is not None
    }
    total: ast.Expr | None = None
    for t in targets:
        one: ast.Expr
        if isinstance(t, ast.TargetName | ast.TargetIndex):
            one = ast.Num(1)
        elif isinstance(t, ast.TargetFamily) and t.family in families:
            d = families[t.family]
            lo, hi = d.lo, d.hi
            assert lo is not None and hi is not None
            one = hi if lo == ast.Num(1) else ast.Binary("+", ast.Binary("-", hi, lo), ast.Num(1))
        else:
            return None
        total = one if total is None else ast.Binary("+", total, one)
    return total


# ---------------------------------------------------------------- interrupts

IRQ_WINDOW = 3  # the longest run of statements an `irq off` ... `irq on` edit encloses


@register(
    "irq-window",
    f"put `irq off` / `irq on` around up to {IRQ_WINDOW} statements of a core (no `await` "
    "or loop inside)",
    2,
)
def _irq_window(ctx: Context) -> Iterator[Edit]:
    for p in ctx.places:
        if not isinstance(p.owner, ast.CoreDecl):
            continue
        for j in range(p.index, min(len(p.block), p.index + IRQ_WINDOW)):
            inside = p.block[j]
            if contains(inside, _no_irq_window):
                break
            yield Edit(
                "irq-window",
                f"put `irq off` before {line_of(p.stmt)} and `irq on` after {line_of(inside)}",
                (Insert(p.stmt, (ast.Irq(False),)), Insert(inside, (ast.Irq(True),), after=True)),
                (p.stmt, inside),
            )


def _no_irq_window(s: ast.Stmt) -> bool:
    return isinstance(s, ast.Await | ast.Loop | ast.While | ast.Irq)
