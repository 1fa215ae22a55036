"""Edits of interrupts: more IPI targets, a wait for acknowledgements, and `irq off` /
`irq on` around a window."""

from __future__ import annotations

from collections.abc import Iterator

from verifier.lang import ast
from verifier.lang.printer import simple_stmt, target
from verifier.repair.context import (
    Context,
    is_ack,
    register,
)
from verifier.repair.edits import Edit, Insert, Replace, contains, line_of

# ---------------------------------------------------------------- IPIs and acknowledgements


def _targets(ctx: Context) -> list[ast.Target]:
    out: list[ast.Target] = []
    for d in ctx.spec.decls:
        if isinstance(d, ast.CoreDecl):
            out.append(ast.TargetFamily(d.name) if d.lo is not None else ast.TargetName(d.name))
    return out


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
