"""The machine as data: a transition system of guarded commands over a flat state vector.

`semantics.build()` instantiates the machine rules (instructions, store-buffer
drains, IPI delivery, walker fills) for one lowered Program and one memory
model, producing a `System`.  Both engines consume it unchanged: the explicit
engine compiles each command to a Python function (`compile.py`); the z3 engine
translates the same expressions to z3 terms.  No rule exists anywhere else.

Expressions are tiny and total: integers, fields of the pre-state, arithmetic
(`div`/`mod` truncate toward zero and give 0 on a zero divisor — commands that
can divide by zero carry a `range` check, and `judged_in_order` keeps any later
check from judging that made-up 0), comparisons and boolean connectives
yielding 0/1, `ite`, and lookups into constant tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from verifier.ir.program import PteValue
from verifier.lang.span import Span

# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Const:
    value: int


@dataclass(frozen=True)
class Field:
    index: int


@dataclass(frozen=True)
class Op:
    """``op`` is one of OPS; arity is fixed per operator."""

    op: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Table:
    """``values[index]``; the index is always within range in reachable states
    (out of range gives 0)."""

    values: tuple[int, ...]
    index: Expr


Expr = Const | Field | Op | Table

OPS = {
    "add": 2,
    "sub": 2,
    "mul": 2,
    "div": 2,
    "mod": 2,
    "neg": 1,
    "eq": 2,
    "ne": 2,
    "lt": 2,
    "le": 2,
    "gt": 2,
    "ge": 2,
    "and": 2,
    "or": 2,
    "not": 1,
    "ite": 3,
}

TRUE = Const(1)
FALSE = Const(0)


def op(name: str, *args: Expr) -> Expr:
    """Build an operator node, folding constants and trivial boolean cases.  (Class checks
    rather than `==` on nodes: this runs for every node the machine rules build.)"""
    assert OPS[name] == len(args), name
    for x in args:
        if x.__class__ is not Const:
            break
    else:
        return Const(eval_op(name, [x.value for x in args]))  # type: ignore[union-attr]
    if name == "and" or name == "or":
        absorbing, unit = (FALSE, TRUE) if name == "and" else (TRUE, FALSE)
        a, b = args
        if (a.__class__ is Const and a.value == absorbing.value) or (  # type: ignore[union-attr]
            b.__class__ is Const and b.value == absorbing.value  # type: ignore[union-attr]
        ):
            return absorbing
        if a.__class__ is Const and a.value == unit.value:  # type: ignore[union-attr]
            return b
        if b.__class__ is Const and b.value == unit.value:  # type: ignore[union-attr]
            return a
    elif name == "ite":
        c, a, b = args
        if c.__class__ is Const:
            return a if c.value else b  # type: ignore[union-attr]
        if a == b:
            return a
    return Op(name, args)


def conj(*xs: Expr) -> Expr:
    out: Expr = TRUE
    for x in xs:
        out = op("and", out, x)
    return out


def conj_tree(xs: list[Expr]) -> Expr:
    """``conj(*xs)`` as a balanced tree, nested log2(n) deep, not n: for a condition over
    a field of every core, which a machine of hundreds of cores would nest too deeply."""
    if len(xs) <= 2:
        return conj(*xs)
    m = len(xs) // 2
    return op("and", conj_tree(xs[:m]), conj_tree(xs[m:]))


def disj(*xs: Expr) -> Expr:
    out: Expr = FALSE
    for x in xs:
        out = op("or", out, x)
    return out


def eq(a: Expr, b: Expr | int) -> Expr:
    return op("eq", a, Const(b) if isinstance(b, int) else b)


def ne(a: Expr, b: Expr | int) -> Expr:
    return op("ne", a, Const(b) if isinstance(b, int) else b)


def ite(c: Expr, a: Expr, b: Expr) -> Expr:
    return op("ite", c, a, b)


def tdiv(a: int, b: int) -> int:
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def tmod(a: int, b: int) -> int:
    if b == 0:
        return 0
    return a - b * tdiv(a, b)


def eval_op(name: str, v: list[int]) -> int:
    """The meaning of every operator on integers (the explicit engine's reference)."""
    match name:
        case "add":
            return v[0] + v[1]
        case "sub":
            return v[0] - v[1]
        case "mul":
            return v[0] * v[1]
        case "div":
            return tdiv(v[0], v[1])
        case "mod":
            return tmod(v[0], v[1])
        case "neg":
            return -v[0]
        case "eq":
            return int(v[0] == v[1])
        case "ne":
            return int(v[0] != v[1])
        case "lt":
            return int(v[0] < v[1])
        case "le":
            return int(v[0] <= v[1])
        case "gt":
            return int(v[0] > v[1])
        case "ge":
            return int(v[0] >= v[1])
        case "and":
            return int(bool(v[0]) and bool(v[1]))
        case "or":
            return int(bool(v[0]) or bool(v[1]))
        case "not":
            return int(not v[0])
        case "ite":
            return v[1] if v[0] else v[2]
    raise ValueError(name)


Interval = tuple[int, int]
_BOOL_OPS = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not"})


def interval(
    e: Expr, fields: Sequence[FieldInfo], memo: dict[int, Interval] | None = None
) -> Interval:
    """Bounds on the value of ``e`` in every state whose fields lie within their ranges.
    With ``memo`` (keyed by node id; the caller keeps the nodes alive) the bounds of
    every subexpression are recorded too."""
    if memo is not None and id(e) in memo:
        return memo[id(e)]
    out: Interval
    if isinstance(e, Const):
        out = (e.value, e.value)
    elif isinstance(e, Field):
        out = (fields[e.index].lo, fields[e.index].hi)
    elif isinstance(e, Table):
        lo, hi = interval(e.index, fields, memo)
        values = list(e.values)
        if not (lo >= 0 and hi < len(e.values)):
            values.append(0)  # an index out of range gives 0
        out = (min(values, default=0), max(values, default=0))
    else:
        args = [interval(a, fields, memo) for a in e.args]
        out = _op_interval(e, args)
    if memo is not None:
        memo[id(e)] = out
    return out


def _op_interval(e: Op, args: list[Interval]) -> Interval:
    o = e.op
    if o in _BOOL_OPS:
        return 0, 1
    if o == "add":
        return args[0][0] + args[1][0], args[0][1] + args[1][1]
    if o == "sub":
        return args[0][0] - args[1][1], args[0][1] - args[1][0]
    if o == "neg":
        return -args[0][1], -args[0][0]
    if o == "mul":
        xs = [a * b for a in args[0] for b in args[1]]
        return min(xs), max(xs)
    if o == "ite":
        return min(args[1][0], args[2][0]), max(args[1][1], args[2][1])
    divisor = e.args[1] if o in ("div", "mod") else None
    if isinstance(divisor, Const) and divisor.value > 0 and args[0][0] >= 0:
        d = divisor.value
        lo, hi = args[0]
        return (lo // d, hi // d) if o == "div" else (0, min(d - 1, hi))
    big = max(abs(x) for a in args for x in a)  # |a / b| and |a % b| never exceed |a|
    return -big, big


def fields_of(e: Expr, out: set[int]) -> set[int]:
    """Adds to ``out`` (and returns it) every field ``e`` reads."""
    if isinstance(e, Field):
        out.add(e.index)
    elif isinstance(e, Op):
        for a in e.args:
            fields_of(a, out)
    elif isinstance(e, Table):
        fields_of(e.index, out)
    return out


def evaluate(e: Expr, s: tuple[int, ...]) -> int:
    """Interpret an expression on a state (slow path; the engine uses compiled code)."""
    if isinstance(e, Const):
        return e.value
    if isinstance(e, Field):
        return s[e.index]
    if isinstance(e, Table):
        i = evaluate(e.index, s)
        return e.values[i] if 0 <= i < len(e.values) else 0
    if e.op == "ite":
        return evaluate(e.args[1], s) if evaluate(e.args[0], s) else evaluate(e.args[2], s)
    return eval_op(e.op, [evaluate(a, s) for a in e.args])


# ---------------------------------------------------------------- the system


@dataclass(frozen=True)
class FieldInfo:
    """One slot of the state vector.  ``lo``/``hi`` bound every reachable value."""

    name: str
    lo: int
    hi: int
    init: int


@dataclass(frozen=True)
class Check:
    """A problem the command reaches when ``cond`` holds in the pre-state.

    A ``fatal`` check (assertion, range) ends the path: the command then has no
    successor.  Non-fatal ones (races) are reported and execution goes on.
    ``info`` names what the trace needs to describe the problem (e.g. the field
    holding the stale TLB entry).
    """

    kind: str
    cond: Expr
    fatal: bool
    info: tuple[tuple[str, Any], ...] = ()


def judged_in_order(checks: Sequence[Check]) -> tuple[Check, ...]:
    """A command's checks as the engines judge them: a fatal check that holds ends the
    path, so a check after it holds only where no earlier fatal check does (`assert 4 / r
    == 1` with r = 0 is a `range` problem, not also an `assertion` on a made-up x/0)."""
    out: list[Check] = []
    ended: Expr = FALSE
    for ch in checks:
        out.append(ch if ended == FALSE else replace(ch, cond=conj(op("not", ended), ch.cond)))
        if ch.fatal:
            ended = disj(ended, ch.cond)
    return tuple(out)


@dataclass(frozen=True)
class Command:
    """One machine rule instance: enabled when ``guard`` holds; then all
    ``updates`` happen at once, each computed from the pre-state.

    ``core``: index of the core taking the step.  ``site``: the pc this command
    belongs to (instruction commands) or None (drains, deliveries, fills).
    ``action``/``key``/``span``/``text``/``info`` describe the step in traces;
    ``key`` is stable across runs of the same spec and identifies the rule in a
    saved trace.
    """

    id: int
    core: int
    site: int | None
    guard: Expr
    updates: tuple[tuple[int, Expr], ...]
    checks: tuple[Check, ...]
    action: str
    key: str
    text: str
    span: Span | None = None
    info: tuple[tuple[str, Any], ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        return dict(self.info).get(name, default)


@dataclass(frozen=True)
class CoreLayout:
    """Where a core's control state lives, for hang analysis and traces."""

    name: str
    pc: int  # field index of the program counter
    saved_pc: int  # field index of the pc saved while a handler runs
    in_handler: int  # field index of the in-handler flag
    program_awaits: frozenset[int]  # pcs of `await` in the core's program
    handler_awaits: frozenset[int]  # pcs of `await` in the core's handler code
    await_text: tuple[tuple[int, str, Span], ...]  # (pc, statement, span) of every await


@dataclass(frozen=True)
class BufferBound:
    """How the store buffers are bounded. ``how``: 'none' (sc: no buffers), 'sized' (a
    capacity the program can never exceed), 'option' (`option buffer = N`: a full buffer
    stalls its core, as the user asked), 'capped' (no bound exists: a command that
    would add to a full buffer fails a fatal `capacity` check instead)."""

    how: str
    capacity: int


@dataclass(frozen=True)
class System:
    model: str
    fields: tuple[FieldInfo, ...]
    init: tuple[int, ...]
    commands: tuple[Command, ...]
    cores: tuple[CoreLayout, ...]
    pte_values: tuple[PteValue, ...]  # indexed by wid
    groups: tuple[tuple[int, ...], ...] = ()  # fields describing one machine object each
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    buffers: BufferBound = field(default_factory=lambda: BufferBound("none", 0))

    def check_kinds(self) -> list[str]:
        """Every problem kind some command's check reports, sorted (`hang` is not one)."""
        return sorted({ch.kind for cmd in self.commands for ch in cmd.checks})
