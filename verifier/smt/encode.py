"""The z3 encoding of a System: expressions, the transition relation, solver calls.

The transition relation is encoded once, generically, from the System's guarded
commands — no machine rule is written here.  Step ``k`` has one selector
``sel@k`` naming the command taken; every field's next value is an ``ite`` over
the commands that update it (else the old value); the chosen command's guard
must hold and, since the path goes on, none of its fatal checks.

Integers are signed bit-vectors wide enough for every reachable value
(`bv_width`), or z3 Ints (much slower; kept to cross-check the encoding).
The z3 engine is `encode` (this module), `solve` (solver calls within the run's
limits), `bmc` (bounded model checking and k-induction) and `prove` (inductive
invariants); `engine` puts them together.  These are the only modules that
import z3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

import z3

from verifier.ir.system import Const, Expr, Field, Op, System, Table, interval

Term: TypeAlias = Any  # a z3 integer or bit-vector term (z3 has no type stubs)
Cond: TypeAlias = Any  # a z3 Boolean term
Z3Error = z3.Z3Exception
Poll: TypeAlias = Callable[[], None]  # raises when a limit of the run has been passed


def no_poll() -> None:
    pass


class Unknown(Exception):
    """z3 answered `unknown` (timeout, cancellation, resource limit, incompleteness)."""


# ---------------------------------------------------------------- expressions


class Sort:
    """How integers are represented: unbounded ``Int`` or signed bit-vectors of ``width``
    bits (``width`` 0 means Int).  `bv_width` picks a width no reachable value overflows."""

    def __init__(self, width: int = 0) -> None:
        self.width = width
        self._consts: dict[int, Term] = {}

    def const(self, v: int) -> Term:
        t = self._consts.get(v)
        if t is None:
            t = z3.BitVecVal(v, self.width) if self.width else z3.IntVal(v)
            self._consts[v] = t
        return t

    def var(self, name: str) -> Term:
        return z3.BitVec(name, self.width) if self.width else z3.Int(name)

    def tdiv(self, a: Term, b: Term) -> Term:
        """Division truncating toward zero, 0 for a zero divisor."""
        zero = self.const(0)
        if self.width:  # bvsdiv truncates toward zero
            return z3.If(b == 0, zero, a / b)
        q = _abs(a) / _abs(b)  # z3's Int `/` floors for a positive divisor
        return z3.If(b == 0, zero, z3.If((a >= 0) == (b > 0), q, -q))

    def tmod(self, a: Term, b: Term) -> Term:
        """The remainder of `tdiv`: it has the sign of ``a``; 0 for a zero divisor."""
        zero = self.const(0)
        if self.width:  # bvsrem takes the sign of the dividend
            return z3.If(b == 0, zero, z3.SRem(a, b))
        r = _abs(a) % _abs(b)
        return z3.If(b == 0, zero, z3.If(a >= 0, r, -r))


INT = Sort()


def _abs(x: Term) -> Term:
    return z3.If(x >= 0, x, -x)


class Translator:
    """Expressions over one state vector of z3 terms, cached per expression node.

    ``value`` gives the integer meaning, ``cond`` the truth (non-zero) meaning, as in
    `system.evaluate`: div/mod truncate toward zero and give 0 for a zero divisor,
    comparisons and connectives are 0/1, a Table lookup out of range is 0.
    """

    def __init__(self, state: Sequence[Term], sort: Sort = INT, poll: Poll = no_poll) -> None:
        self.state = state
        self.sort = sort
        self.poll = poll  # once per node translated: the run's limits hold within
        self._values: dict[int, Term] = {}
        self._conds: dict[int, Cond] = {}
        self._keep: list[Expr] = []  # keeps id() keys alive

    def value(self, e: Expr) -> Term:
        key = id(e)
        t = self._values.get(key)
        if t is None:
            self.poll()
            t = self._value(e)
            self._values[key] = t
            self._keep.append(e)
        return t

    def cond(self, e: Expr) -> Cond:
        key = id(e)
        t = self._conds.get(key)
        if t is None:
            self.poll()
            t = self._cond(e)
            self._conds[key] = t
            self._keep.append(e)
        return t

    def _cond(self, e: Expr) -> Cond:
        if isinstance(e, Const):
            return z3.BoolVal(e.value != 0)
        if isinstance(e, Op):
            a = e.args
            match e.op:
                case "and":
                    return z3.And(self.cond(a[0]), self.cond(a[1]))
                case "or":
                    return z3.Or(self.cond(a[0]), self.cond(a[1]))
                case "not":
                    return z3.Not(self.cond(a[0]))
                case "eq":
                    return self.value(a[0]) == self.value(a[1])
                case "ne":
                    return self.value(a[0]) != self.value(a[1])
                case "lt":
                    return self.value(a[0]) < self.value(a[1])
                case "le":
                    return self.value(a[0]) <= self.value(a[1])
                case "gt":
                    return self.value(a[0]) > self.value(a[1])
                case "ge":
                    return self.value(a[0]) >= self.value(a[1])
                case "ite":
                    return z3.If(self.cond(a[0]), self.cond(a[1]), self.cond(a[2]))
        return self.value(e) != 0

    def _value(self, e: Expr) -> Term:
        k = self.sort.const
        if isinstance(e, Const):
            return k(e.value)
        if isinstance(e, Field):
            return self.state[e.index]
        if isinstance(e, Table):
            i = self.value(e.index)
            out: Term = k(0)
            for j in reversed(range(len(e.values))):
                if e.values[j] != 0:
                    out = z3.If(i == j, k(e.values[j]), out)
            return out
        a = e.args
        match e.op:
            case "add":
                return self.value(a[0]) + self.value(a[1])
            case "sub":
                return self.value(a[0]) - self.value(a[1])
            case "mul":
                return self.value(a[0]) * self.value(a[1])
            case "neg":
                return -self.value(a[0])
            case "div":
                return self.sort.tdiv(self.value(a[0]), self.value(a[1]))
            case "mod":
                return self.sort.tmod(self.value(a[0]), self.value(a[1]))
            case "ite":
                return z3.If(self.cond(a[0]), self.value(a[1]), self.value(a[2]))
        return z3.If(self.cond(e), k(1), k(0))


def bv_width(system: System, poll: Poll = no_poll) -> int:
    """Bits that hold every value any guard, update or check can compute in a state whose
    fields are within their declared ranges (plus the sign and the range limits)."""
    memo: dict[int, tuple[int, int]] = {}
    for cmd in system.commands:  # the System keeps every node alive, so ids stay unique
        poll()
        for e in (cmd.guard, *(e for _, e in cmd.updates), *(c.cond for c in cmd.checks)):
            interval(e, system.fields, memo)
    fields = [(f.lo, f.hi) for f in system.fields]
    m = max(
        [abs(v) for lo_hi in [*memo.values(), *fields] for v in lo_hi]
        + [abs(v) for v in system.init]
        + [len(system.commands)]
    )
    return max(4, m.bit_length() + 2)


# ---------------------------------------------------------------- the unrolling


State: TypeAlias = list[Term]


class Subst:
    """Simultaneous substitution of ``dst`` for ``src``: `z3.substitute` without its
    per-call sort checks in Python, which cost more than the substitution itself."""

    def __init__(self, src: Sequence[Term], dst: Sequence[Term]) -> None:
        n = len(src)
        self.n = n
        self.src = (z3.Ast * n)(*(t.as_ast() for t in src))
        self.dst = (z3.Ast * n)(*(t.as_ast() for t in dst))
        self.ctx = src[0].ctx if n else z3.main_ctx()

    def __call__(self, t: Term) -> Term:
        ast = z3.Z3_substitute(self.ctx.ref(), t.as_ast(), self.n, self.src, self.dst)
        return z3.z3._to_expr_ref(ast, self.ctx)


class Encoding:
    """The transition relation of a System, translated once over template variables
    (``x!field``, ``sel!``) and instantiated per step by substitution (in z3, so the
    Python-side translation is paid once, not once per step)."""

    def __init__(self, system: System, sort: Sort = INT, poll: Poll = no_poll) -> None:
        self.system = system
        self.sort = sort
        self.x = [sort.var(f"{f.name}!") for f in system.fields]
        self.sel = sort.var("sel!")
        tr = Translator(self.x, sort, poll)
        self.tr = tr
        # continuing transition: the chosen command is enabled and no fatal check holds
        cs: list[Cond] = [self.sel >= 0, self.sel < len(system.commands)]
        for cmd in system.commands:
            fatal = [ch.cond for ch in cmd.checks if ch.fatal]
            ok = tr.cond(cmd.guard)
            if fatal:
                ok = z3.And(ok, *(z3.Not(tr.cond(c)) for c in fatal))
            if not z3.is_true(ok):
                cs.append(z3.Implies(self.sel == cmd.id, ok))
        self.enabled = z3.And(*cs)
        updaters: list[list[tuple[int, Expr]]] = [[] for _ in system.fields]
        for cmd in system.commands:
            for f, e in cmd.updates:
                updaters[f].append((cmd.id, e))
        self.poll = poll
        self.updated: list[int] = []  # fields some command updates
        self.next: list[Term] = []  # their next values, in the order of ``updated``
        for f, ups in enumerate(updaters):
            if ups:
                chain = self.x[f]
                for cid, e in reversed(ups):
                    chain = z3.If(self.sel == cid, tr.value(e), chain)
                self.updated.append(f)
                self.next.append(chain)
        self._bad: dict[frozenset[str], Cond] = {}

    def _at(self, s: State, sel: Term | None = None) -> Subst:
        return Subst([*self.x, self.sel], [*s, self.sel if sel is None else sel])

    def init_state(self) -> State:
        return [self.sort.const(v) for v in self.system.init]

    def free_state(self, tag: str) -> State:
        return [self.sort.var(f"{f.name}@{tag}") for f in self.system.fields]

    def step(self, pre: State, sel: Term, tag: str) -> tuple[State, list[Cond]]:
        """The successor of ``pre`` under command ``sel`` and the constraints that
        make it a continuing transition."""
        at = self._at(pre, sel)
        cs = [at(self.enabled)]
        nxt = list(pre)
        for f, chain in zip(self.updated, self.next, strict=True):
            v = self.sort.var(f"{self.system.fields[f].name}@{tag}")
            cs.append(v == at(chain))
            nxt[f] = v
        return nxt, cs

    def bad(self, s: State, kinds: Iterable[str]) -> Cond:
        """Some enabled command has a check of one of ``kinds`` that holds in ``s``."""
        want = frozenset(kinds)
        t = self._bad.get(want)
        if t is None:
            ors = []
            for cmd in self.system.commands:
                self.poll()
                conds = [self.tr.cond(ch.cond) for ch in cmd.checks if ch.kind in want]
                if conds:
                    ors.append(z3.And(self.tr.cond(cmd.guard), z3.Or(*conds)))
            t = z3.Or(*ors) if ors else z3.BoolVal(False)
            self._bad[want] = t
        return self._at(s)(t)

    def in_range(self, s: State) -> Cond:
        return z3.And(
            *[
                z3.And(f.lo <= v, v <= f.hi)
                for f, v in zip(self.system.fields, s, strict=True)
                if not (z3.is_int_value(v) or z3.is_bv_value(v))
            ]
            or [z3.BoolVal(True)]
        )

    def distinct(self, a: State, b: State) -> Cond:
        return z3.Or(*[x != y for x, y in zip(a, b, strict=True)])
