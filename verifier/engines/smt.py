"""The z3 engine: bounded model checking (and k-induction) of a System.

The transition relation is encoded once, generically, from the System's guarded
commands — no machine rule is written here.  Step ``k`` has one selector
``sel@k`` naming the command taken; every field's next value is an ``ite`` over
the commands that update it (else the old value); the chosen command's guard
must hold and, since the path goes on, none of its fatal checks.  A problem of
kind K at bound k is a state ``s@k`` in which some enabled command has a check
of kind K that holds: the trace is the k selected commands and that command,
``k + 1`` steps, as in the explicit engine.

Bounds are tried in increasing order, so the first trace found for a kind is a
shortest one.  Every path z3 produces is replayed through the explicit step
functions (`TraceBuilder.run`) before it is reported; a path that does not
replay is a bug, raised as `SmtReplayError`.

With ``prove``, k-induction (states of the induction path pairwise distinct)
shows that the kinds not found are unreachable at any depth.  The property is
"no enabled command reaches a remaining kind, and every field is within its
declared range"; the ranges make the induction stronger and are checked by the
base case like the kinds.

`hang` is not checked by this engine.  ``Result.states`` is the deepest bound
fully searched; ``Result.transitions`` is 0 (z3 does not enumerate transitions).

This is the only module that imports z3.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

import z3

from verifier.engines.explicit import explore
from verifier.engines.invariants import Relations
from verifier.engines.model import Model, expect_text, meets
from verifier.engines.result import Result, Trace
from verifier.engines.trace import ReplayError, TraceBuilder
from verifier.ir.system import Const, Expr, Field, Op, System, Table, interval
from verifier.lang import ast

DEFAULT_DEPTH = 30
PROOF_BUDGET = 120.0  # seconds for the relational proof when no --timeout is given
HANG_NOTE = "hang is not checked by the smt engine"

Term: TypeAlias = Any  # a z3 integer or bit-vector term (z3 has no type stubs)
Cond: TypeAlias = Any  # a z3 Boolean term


class SmtReplayError(Exception):
    """A path found by z3 is not an execution of the machine: a bug in tlbcheck
    (the encoding and the explicit step functions disagree).  The CLI should report
    it as an internal error (exit 4)."""


class _Unknown(Exception):
    """z3 answered `unknown` (timeout, resource limit, incompleteness)."""


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

    def __init__(self, state: Sequence[Term], sort: Sort = INT) -> None:
        self.state = state
        self.sort = sort
        self._values: dict[int, Term] = {}
        self._conds: dict[int, Cond] = {}
        self._keep: list[Expr] = []  # keeps id() keys alive

    def value(self, e: Expr) -> Term:
        key = id(e)
        t = self._values.get(key)
        if t is None:
            t = self._value(e)
            self._values[key] = t
            self._keep.append(e)
        return t

    def cond(self, e: Expr) -> Cond:
        key = id(e)
        t = self._conds.get(key)
        if t is None:
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


def bv_width(system: System) -> int:
    """Bits that hold every value any guard, update or check can compute in a state whose
    fields are within their declared ranges (plus the sign and the range limits)."""
    memo: dict[int, tuple[int, int]] = {}
    for cmd in system.commands:  # the System keeps every node alive, so ids stay unique
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


class _Subst:
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

    def __init__(self, system: System, sort: Sort = INT) -> None:
        self.system = system
        self.sort = sort
        self.x = [sort.var(f"{f.name}!") for f in system.fields]
        self.sel = sort.var("sel!")
        tr = Translator(self.x, sort)
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

    def _at(self, s: State, sel: Term | None = None) -> _Subst:
        return _Subst([*self.x, self.sel], [*s, self.sel if sel is None else sel])

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


# ---------------------------------------------------------------- the search


@dataclass
class _Hit:
    kind: str
    path: list[int]  # commands before the problem command
    command: int
    check: int
    pre: tuple[int, ...]


class _Deadline:
    def __init__(self, timeout: float | None) -> None:
        self.end = None if timeout is None else time.monotonic() + timeout
        self.timeout = timeout

    def left_ms(self) -> int | None:
        if self.end is None:
            return None
        return max(1, int((self.end - time.monotonic()) * 1000))

    def expired(self) -> bool:
        return self.end is not None and time.monotonic() >= self.end


def _solver(sort: Sort) -> z3.Solver:
    # For bit-vectors, QF_BV bit-blasts to z3's incremental SAT solver: on these
    # systems it is two orders of magnitude faster than the default (and than Int).
    return z3.SolverFor("QF_BV") if sort.width else z3.Solver()


def _check(solver: z3.Solver, deadline: _Deadline, *assumptions: Cond) -> bool:
    ms = deadline.left_ms()
    if ms is not None:
        solver.set("timeout", ms)
    r = solver.check(*assumptions)
    if r == z3.unknown:
        raise _Unknown(solver.reason_unknown())
    return bool(r == z3.sat)


class _Search:
    def __init__(self, m: Model, deadline: _Deadline, sort: Sort) -> None:
        self.m = m
        self.system = m.system
        self.enc = Encoding(m.system, sort)
        self.tb: TraceBuilder = m.builder()
        self.deadline = deadline
        self.all_kinds = sorted({ch.kind for c in m.system.commands for ch in c.checks})
        self.found: dict[str, _Hit] = {}
        self.solver = _solver(sort)
        self.states = [self.enc.init_state()]
        self.sels: list[Term] = []
        self.fatal = [tuple(ch.fatal for ch in c.checks) for c in m.system.commands]
        self._lit = 0

    def remaining(self) -> list[str]:
        return [k for k in self.all_kinds if k not in self.found]

    def fresh(self) -> Cond:
        self._lit += 1
        return z3.Bool(f"q!{self._lit}")

    def deepen(self) -> None:
        k = len(self.sels)
        sel = self.enc.sort.var(f"sel@{k}")
        nxt, cs = self.enc.step(self.states[-1], sel, str(k + 1))
        self.solver.add(*cs)
        self.sels.append(sel)
        self.states.append(nxt)

    def search_bound(self, *, ranges: bool = False) -> str | None:
        """Find every remaining kind reachable with a trace of ``len(sels) + 1`` steps.
        With ``ranges``, also look for a field outside its declared range; return its
        description if one is found (the declared ranges are then not invariants)."""
        s = self.states[-1]
        while self.remaining():
            lit = self.fresh()
            self.solver.add(z3.Implies(lit, self.enc.bad(s, self.remaining())))
            if not _check(self.solver, self.deadline, lit):
                break
            path = self._path(self.solver.model())
            if not self._record(path):
                raise SmtReplayError(self._describe(path, "reaches none of the kinds z3 found"))
        if ranges:
            lit = self.fresh()
            self.solver.add(z3.Implies(lit, z3.Not(self.enc.in_range(s))))
            if _check(self.solver, self.deadline, lit):
                path = self._path(self.solver.model())
                end = self._replay(path)[-1]
                for f, v in zip(self.system.fields, end, strict=True):
                    if not f.lo <= v <= f.hi:
                        return f"field {f.name} = {v} leaves its range {f.lo}..{f.hi}"
                raise SmtReplayError(self._describe(path, "keeps every field in range"))
        return None

    def _path(self, model: z3.ModelRef) -> list[int]:
        return [model.eval(sel, model_completion=True).as_long() for sel in self.sels]

    def _describe(self, path: list[int], what: str) -> str:
        keys = ", ".join(self.system.commands[c].key for c in path)
        return f"smt engine: the path z3 found [{keys}] {what} when replayed"

    def _replay(self, path: list[int]) -> list[tuple[int, ...]]:
        try:
            states = self.tb.run(path)
        except ReplayError as err:
            raise SmtReplayError(self._describe(path, f"fails: {err}")) from None
        for i, cid in enumerate(path):
            hits = self.tb.compiled.checks[cid]
            if hits and any(self.fatal[cid][h] for h in hits(states[i])):
                raise SmtReplayError(self._describe(path, f"ends at step {i + 1} (fatal check)"))
        return states

    def _record(self, path: list[int]) -> bool:
        """Replay ``path`` and record every remaining kind some command reaches from its
        last state; False if there is none."""
        pre = self._replay(path)[-1]
        new = False
        for cmd in self.system.commands:
            hits = self.tb.compiled.checks[cmd.id]
            if hits is None or self.tb.compiled.step[cmd.id](pre) is None:
                continue
            for h in hits(pre):
                kind = cmd.checks[h].kind
                if kind not in self.found:
                    self.found[kind] = _Hit(kind, path, cmd.id, h, pre)
                    new = True
        return new

    def traces(self) -> list[Trace]:
        out = []
        for kind in sorted(self.found):
            hit = self.found[kind]
            cmd = self.system.commands[hit.command]
            final = self.tb.problem(kind, cmd, hit.check, hit.pre)
            out.append(
                self.tb.trace(
                    kind,
                    [*hit.path, hit.command],
                    final,
                    self.m.checked.title,
                    self.m.model,
                    engine="smt",
                )
            )
        return out


class _Induction:
    """Incremental k-induction for "no remaining kind, all fields in range"."""

    def __init__(self, enc: Encoding, kinds: list[str], deadline: _Deadline) -> None:
        self.enc = enc
        self.kinds = kinds
        self.deadline = deadline
        self.solver = _solver(enc.sort)
        self.states = [enc.free_state("i0")]
        self._lit = 0

    def good(self, s: State) -> Cond:
        return z3.And(z3.Not(self.enc.bad(s, self.kinds)), self.enc.in_range(s))

    def step_holds(self) -> bool:
        """Extend the induction path by one state; True when every path of good
        states of this length ends in a good state (the property is k-inductive)."""
        k = len(self.states)
        last = self.states[-1]
        self.solver.add(self.good(last))
        nxt, cs = self.enc.step(last, self.enc.sort.var(f"isel@{k}"), f"i{k}")
        self.solver.add(*cs)
        self.solver.add(*[self.enc.distinct(s, nxt) for s in self.states])
        self.states.append(nxt)
        self._lit += 1
        lit = z3.Bool(f"ind!{self._lit}")
        self.solver.add(z3.Implies(lit, z3.Not(self.good(nxt))))
        return not _check(self.solver, self.deadline, lit)


class _RelationalProof:
    """An unbounded proof by a relational invariant (`invariants.Relations`).

    Seeded with states from the explicit engine, the abstraction is grown until z3
    finds no transition from inside it to outside it — each state z3 names inside
    it with a successor outside (a counterexample to induction) is explored
    explicitly and added.  The result contains the initial state and is closed
    under the transition relation, so it contains every reachable state; a kind
    whose problem condition z3 finds unsatisfiable within it is unreachable at
    every depth.  Arity 3 and then 4 are tried while the formula stays small
    (3 captures, e.g., an acknowledgement counter and two responders).  A spurious
    counterexample whose explicit closure reaches a wanted kind shows the abstraction
    is too coarse at that arity, so the search moves on.
    """

    MAX_SIZE = 400_000  # value tuples: beyond this the z3 formula gets too large
    MAX_ROUNDS = 40  # counterexamples to induction per arity
    SAMPLE = 200_000  # explicit states to seed the abstraction with
    CLOSURE = 20_000  # explicit states explored from each counterexample to induction

    def __init__(self, m: Model, enc: Encoding, deadline: _Deadline) -> None:
        self.m = m
        self.enc = enc
        self.deadline = deadline
        self.note = ""

    def _in(self, rel: Relations, s: State) -> Cond:
        k = self.enc.sort.const
        parts = []
        for idx, allowed in rel.constraints():
            parts.append(
                z3.Or(
                    *[
                        z3.And(*[s[i] == k(v) for i, v in zip(idx, vals, strict=True)])
                        for vals in allowed
                    ]
                )
            )
        return z3.And(*parts)

    def _explore(self, init: tuple[int, ...], limit: int) -> tuple[list[tuple[int, ...]], set[str]]:
        """States reachable from ``init`` (up to ``limit``) and the kinds they reach."""
        left = self.deadline.left_ms()
        ex = explore(
            replace(self.m.system, init=init),
            max_states=limit,
            timeout=None if left is None else left / 1000,
        )
        return [ex.state(i) for i in range(len(ex.states))], set(ex.found)

    def _close(self, rel: Relations, kinds: list[str]) -> bool:
        """Grow ``rel`` until it is inductive; False if that fails within the limits
        or the abstraction visibly admits a wanted problem."""
        for _ in range(self.MAX_ROUNDS):
            if self.deadline.expired():
                return False
            x = self.enc.free_state("r")
            sel = self.enc.sort.var("rsel")
            nxt, cs = self.enc.step(x, sel, "r1")
            solver = _solver(self.enc.sort)
            solver.add(self._in(rel, x), *cs, z3.Not(self._in(rel, nxt)))
            if not _check(solver, self.deadline):
                return True
            model = solver.model()
            pre = tuple(_as_int(model.eval(v, model_completion=True)) for v in x)
            closure, found = self._explore(pre, self.CLOSURE)
            if set(kinds) <= found:
                return False
            if not rel.add(closure):
                raise SmtReplayError(
                    "smt engine: z3 found a successor outside the invariant "
                    "that the explicit engine does not produce"
                )
            if rel.size() > self.MAX_SIZE:
                return False
        return False

    def excluded(self, kinds: list[str]) -> list[str]:
        """The kinds proved unreachable at every depth (possibly none)."""
        system = self.m.system
        states, reachable = self._explore(system.init, self.SAMPLE)
        kinds = [k for k in kinds if k not in reachable]  # really reachable: no proof
        best: list[str] = []
        for arity in (3, 4):
            rel = Relations(system.groups, arity)
            rel.add(states)
            if rel.size() > self.MAX_SIZE or not self._close(rel, kinds):
                continue
            states = rel.states
            x = self.enc.free_state("q")
            solver = _solver(self.enc.sort)
            solver.add(self._in(rel, x))
            out = [k for k in kinds if not _check(solver, self.deadline, self.enc.bad(x, [k]))]
            if len(out) > len(best):
                best = out
                self.note = (
                    f"inductive invariant over {arity}-tuples of machine objects "
                    f"({rel.size()} value tuples) checked by z3"
                )
            if len(best) == len(kinds):
                break
        return best


def _as_int(v: Term) -> int:
    return int(v.as_signed_long()) if z3.is_bv_value(v) else int(v.as_long())


# ---------------------------------------------------------------- entry point


def check_smt(
    m: Model,
    expect: ast.ExpectDecl | None,
    *,
    depth: int | None = None,
    prove: bool = False,
    timeout: float | None = None,
    int_sort: bool = False,
) -> Result:
    """Bounded model checking of ``m`` up to ``depth`` commands before the problem
    (default DEFAULT_DEPTH); with ``prove``, first a relational inductive invariant
    (`_RelationalProof`), then k-induction for the kinds it leaves open.
    Integers are bit-vectors wide enough for every reachable value (`bv_width`), or
    z3 Ints with ``int_sort`` (much slower; kept to cross-check the encoding)."""
    start = time.monotonic()
    deadline = _Deadline(timeout)
    limit = DEFAULT_DEPTH if depth is None else depth
    search = _Search(m, deadline, INT if int_sort else Sort(bv_width(m.system)))
    proved = False
    notes: list[str] = []
    reached = -1
    induction: _Induction | None = None
    try:
        if prove:
            proof = _RelationalProof(
                m, search.enc, _Deadline(PROOF_BUDGET if timeout is None else timeout / 2)
            )
            excluded = proof.excluded(search.all_kinds)
            if excluded:
                notes.append(f"{', '.join(excluded)} unreachable: {proof.note}")
                search.all_kinds = [k for k in search.all_kinds if k not in excluded]
                proved = not search.all_kinds
                reached = 0 if proved else reached
        for k in range(0 if proved else limit + 1):
            if k:
                search.deepen()
            broken = search.search_bound(ranges=prove)
            reached = k
            if broken is not None:
                notes.append(f"cannot prove: {broken} at depth {k}")
                prove = False
            if prove:
                rem = search.remaining()
                if not rem:
                    proved = True
                    break
                if induction is None or induction.kinds != rem:
                    induction = _Induction(search.enc, rem, deadline)
                    for _ in range(k):
                        induction.step_holds()
                if induction.step_holds():
                    proved = True
                    break
            if deadline.expired():
                notes.append(f"timeout after {timeout:g} s")
                break
    except _Unknown as err:
        notes.append(
            f"z3 gave up ({err})"
            if str(err) not in ("timeout", "canceled")
            else f"timeout after {timeout:g} s"
        )
    except z3.Z3Exception as err:
        notes.append(f"z3 error: {err}")
    traces = search.traces()
    kinds = tuple(t.kind for t in traces)
    verdict, met = _verdict(expect, kinds, proved, reached, limit, notes)
    notes.append(HANG_NOTE)
    return Result(
        m.checked.title,
        m.checked.file,
        m.model,
        m.checked.params,
        verdict,
        kinds,
        tuple(traces),
        max(reached, 0),
        0,
        time.monotonic() - start,
        expect_text(expect),
        met,
        "smt",
        "; ".join(notes),
    )


def _verdict(
    expect: ast.ExpectDecl | None,
    kinds: tuple[str, ...],
    proved: bool,
    reached: int,
    limit: int,
    notes: list[str],
) -> tuple[str, bool]:
    wants_hang = expect is not None and (expect.verdict == "hang" or "hang" in expect.kinds)
    if proved:
        notes.insert(
            0, "every other kind proved unreachable" if kinds else "proved safe at every depth"
        )
    elif reached >= 0:
        what = "no other kind" if kinds else "safe"
        notes.insert(0, f"{what} up to depth {reached}")
    if wants_hang:
        assert expect is not None
        if set(kinds) == set(expect.kinds) - {"hang"}:
            notes.insert(0, "the expectation names hang, which this engine cannot confirm")
            return "inconclusive", False
    if kinds:
        return "unsafe", meets(expect, kinds)
    if proved:
        return "safe", meets(expect, kinds)
    return "inconclusive", False
