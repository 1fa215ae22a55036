"""The values a data register of a litmus thread may hold (docs/arm64.md §4, "Values").

A test is finite: each data word starts with a number and is stored numbers computed
from numbers, so every data register ranges over a finite set of values that the
lowering can compute, an over-approximation found as a fixed point:

- a load may return any value any data word holds at some point (``mem``: the initial
  values and every value stored, over all words; the lowering runs again with the
  larger set until no store adds a value);
- an assignment's values are its expression's, evaluated over the sets of the registers
  it reads (`value_set`);
- after an `if`, a register holds what it held on either path (`join`); around a loop,
  the body is lowered again until the sets stop growing.

A set larger than `MAX_VALUES` is unknown (None).  The sets decide what the `.tlb`
program cannot compute itself: whether an address offset is zero (the same word) and
whether `AND`/`ORR` by an immediate may see a negative operand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from verifier.lang import ast

MAX_VALUES = 64
Vals = frozenset[int] | None

_OPS: dict[str, Callable[[int, int], int | None]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a // b if b > 0 and a >= 0 else None,
    "%": lambda a, b: a % b if b > 0 and a >= 0 else None,
    "==": lambda a, b: int(a == b),
    "!=": lambda a, b: int(a != b),
    "<": lambda a, b: int(a < b),
    "<=": lambda a, b: int(a <= b),
    ">": lambda a, b: int(a > b),
    ">=": lambda a, b: int(a >= b),
}


def capped(values: Iterable[int]) -> Vals:
    out = frozenset(values)
    return out if len(out) <= MAX_VALUES else None


def union(a: Vals, b: Vals) -> Vals:
    return None if a is None or b is None else capped(a | b)


def value_set(e: ast.Expr, regs: Callable[[str], Vals]) -> Vals:
    """The values ``e`` may take when register ``r`` may hold ``regs(r)`` (None: unknown,
    also for PTE values, which are no numbers)."""
    match e:
        case ast.Num(value=v):
            return frozenset({v})
        case ast.Name(name=n):
            return regs(n)
        case ast.Unary(op="-", operand=a):
            va = value_set(a, regs)
            return None if va is None else frozenset(-x for x in va)
        case ast.Unary(op="!", operand=a):
            va = value_set(a, regs)
            return None if va is None else frozenset(int(x == 0) for x in va)
        case ast.Binary(op="==" | "!=" as op, left=a, right=b) if a == b:
            return frozenset({int(op == "==")})  # `r != r`: 0, also for a PTE value
        case ast.Binary(op="-", left=a, right=b) if a == b:
            return frozenset({0})  # one value minus itself (`EOR W1,W0,W0`)
        case ast.Binary(op=op, left=a, right=b) if op in _OPS:
            if op in ("==", "!=") and None in (value_set(a, regs), value_set(b, regs)):
                return frozenset({0, 1})  # PTE values compared: a truth value
            va, vb = value_set(a, regs), value_set(b, regs)
            if va is None or vb is None or len(va) * len(vb) > MAX_VALUES * MAX_VALUES:
                return None
            got = [_OPS[op](x, y) for x in va for y in vb]
            return None if None in got else capped(g for g in got if g is not None)
    return None
