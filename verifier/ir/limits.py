"""The bound on the size of a lowered program (a documented language limit).

Unrolling multiplies: `repeat 1024 { repeat 1024 { read V } }` or nested `for`
over a large family would grow without end.  `lower` counts the instructions a
`repeat` or `for` would produce before unrolling it, and every instruction it
emits, and stops with a located error at the construct that would pass
`MAX_INSTRUCTIONS` (over all cores; each core has its own copy of every handler).
"""

from __future__ import annotations

from collections.abc import Callable

from verifier.lang import ast
from verifier.lang.diagnostics import Diagnostic, SpecError
from verifier.lang.span import Span

MAX_INSTRUCTIONS = 100_000


def unrolled_size(
    stmts: tuple[ast.Stmt, ...],
    count: Callable[[ast.Repeat], int],
    width: Callable[[ast.For], int],
) -> int:
    """How many instructions ``stmts`` lower to (``count``: a repeat's count, ``width``:
    how many cores a `for` runs over), counted without unrolling anything."""
    total = 0
    todo: list[tuple[tuple[ast.Stmt, ...], int]] = [(stmts, 1)]  # (block, multiplier)
    while todo:
        block, times = todo.pop()
        for s in block:
            match s:
                case ast.If(then=then, orelse=orelse):
                    total += times * (2 if orelse else 1)
                    todo += [(then, times), (orelse or (), times)]
                case ast.While(body=body):
                    total += 2 * times
                    todo.append((body, times))
                case ast.Loop(body=body):
                    total += times
                    todo.append((body, times))
                case ast.Repeat(body=body):
                    todo.append((body, times * count(s)))
                case ast.For(body=body):
                    todo.append((body, times * width(s)))
                case _:
                    total += times
    return total


def too_big(span: Span, source: str, what: str, size: int) -> SpecError:
    """The located error for a construct that makes the program ``size`` instructions."""
    msg = (
        f"{what} makes the lowered program {size} instructions; the limit is "
        f"{MAX_INSTRUCTIONS} over all cores (each core has its own copy of every handler)"
    )
    return SpecError([Diagnostic(span, msg)], {span.file: source})
