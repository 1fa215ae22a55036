"""Parameterised proofs: z3 checks, at the spec's own N, a candidate inferred at small N.

Exact search cannot reach a family of 16 responders (about 10^10 orbits for the
eager shootdown), but the protocol's invariant does not depend on N: what one
responder, or two, can be doing relative to the rest of the machine is the same
at N=3 as at N=16, and the counters count instances.  `param_seed` infers that
candidate from complete explorations at N=2 and N=3; here z3 checks it on the
System at the spec's own N, with the same encoding every other proof uses:

1. the initial state satisfies it;
2. no continuing transition leaves it.  The candidate and the System are both
   symmetric in the family's instances, so a step of any instance is a renamed
   step of the first one: only the commands of the cores outside the family and
   of the first instance are tried;
3. no state satisfying it has an enabled check of a kind (each kind on its own);
4. for each await a core can block at (hang): in every state satisfying it where
   the core waits there and the await's command is not enabled, the fitted
   ranking is at least 0 and some continuing transition leaves the await's
   position or lowers the ranking.  The ranking takes integer values, so from
   every reachable waiting state some path passes the await: no hang.
5. where no ranking decides hang: the declared field ranges hold initially and
   are kept by every continuing transition from the candidate (`ranged`), and,
   per await, no state of the candidate within the ranges where the core waits
   there fires the await, fails a fatal check of the core or moves it off the
   position (`trapped`).  A core that reaches such an await never leaves it: the
   engine's bounded search looks for the first state where one waits, a hang.

A proof is only what z3 confirms; when a check fails, the kinds and hang stay
undecided for the other proofs and the bounded search, with the reason given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import z3

from verifier.ir.system import Command, System
from verifier.run.budget import Budget
from verifier.run.model import Model
from verifier.search.hang import await_commands, await_fields
from verifier.smt.encode import Cond, Encoding, State, Term
from verifier.smt.invariants import Diagram
from verifier.smt.param_seed import (
    SEEDS,
    AwaitKey,
    Candidate,
    Shape,
    Weights,
    await_keys,
    infer,
    seeds_of,
    shape_of,
)
from verifier.smt.solve import Deadline, diagram_cond, new_solver, satisfiable

WIDE = 32  # bits of the sums of weights (counters, rankings): no wrap-around at any N here


@dataclass
class ParamProof:
    unreachable: list[str] = field(default_factory=list)
    hang_decided: bool = False
    traps: list[AwaitKey] = field(default_factory=list)  # awaits never passed (check 5)
    note: str = ""
    failed: str = ""  # why the proof (or a part of it) was not found
    # how many states the spec has at sizes SEEDS (explored completely), and at its own
    # size by the growth between the last two: the exact proof is not tried past a limit
    seed_states: tuple[int, ...] = ()
    expected: float = 0.0


def prove_param(
    m: Model,
    enc: Encoding,
    deadline: Deadline,
    kinds: Sequence[str],
    phase: Callable[[str], None],
    budget: Callable[[int], Budget],
) -> ParamProof | None:
    """The kinds of ``kinds`` a parameterised invariant proves unreachable, and whether
    it decides hang; None when the spec is not of the shape it needs or its N is no
    larger than the seeds (the exact proof is stronger there)."""
    shape = shape_of(m)
    if isinstance(shape, str) or len(shape.loc) <= max(SEEDS):
        return None
    out = ParamProof()
    sizes = " and ".join(map(str, SEEDS))
    phase(f"smt proof: exploring {shape.family} at sizes {sizes}")
    seeds = seeds_of(m, shape, budget)
    if not isinstance(seeds, str):
        out.seed_states = tuple(len(s.ex.states) for s in seeds)
        a, b = out.seed_states[-2:]
        out.expected = b * (b / max(a, 1)) ** (len(shape.loc) - SEEDS[-1])
    cand = seeds if isinstance(seeds, str) else infer(seeds, deadline.expired)
    if isinstance(cand, str):
        out.failed = f"parameterised invariant: {cand}"
        return out
    check = _Check(m, enc, shape, cand, deadline)
    why = check.inductive(phase)
    if why:
        out.failed = f"parameterised invariant: {why}"
        return out
    for k in kinds:
        phase(f"smt proof: z3 checks {k} is excluded at {shape.family} size {len(shape.loc)}")
        if not satisfiable(check.solver, deadline, enc.bad(check.x, [k])):
            out.unreachable.append(k)
    n = len(shape.loc)
    out.note = (
        f"an invariant over {shape.family}'s instances one and two at a time and "
        f"{len(cand.counters)} counter(s), inferred at sizes {sizes} "
        f"({len(cand.one) + len(cand.two):,} value tuples), checked inductive at size {n} by z3"
    )
    stuck = [key for key in sorted(cand.ranks) if not check.progresses(key, phase)]
    if cand.unranked or stuck:
        why = cand.unranked or "no ranking shows an await is always passed"
        out.failed = f"parameterised invariant: hang not decided ({why})"
        if await_keys(m.system) and check.ranged(phase):
            out.traps = [key for key in await_keys(m.system) if check.trapped(key, phase)]
        if out.traps:
            out.note += "; an await its core never passes once there (checked by z3)"
    else:
        out.hang_decided = True
        if cand.ranks:
            out.note += f"; no hang: a ranking of the waits fitted at sizes {sizes}, checked by z3"
    return out


class _Check:
    """The candidate over the encoding's template state ``x``, and the checks on it."""

    def __init__(
        self, m: Model, enc: Encoding, shape: Shape, cand: Candidate, deadline: Deadline
    ) -> None:
        self.m, self.enc, self.shape, self.cand, self.deadline = m, enc, shape, cand, deadline
        self.k = enc.sort.const
        self.diagrams = [Diagram.of(list(t)) for t in (cand.glob, cand.one, cand.two)]
        self.x: State = list(enc.x)
        self.inv = self.invariant(self.x)
        self.solver = new_solver(enc.sort)
        self.solver.add(self.inv)
        self.in_range: Callable[[State], Cond] = enc.in_range  # the ranges `ranged` shows kept

    # ------------------------------------------------------------ the candidate

    def _h(self, s: State) -> list[Term]:
        return [s[self.shape.glob[k]] for k in self.cand.hpos]

    def _blocks(self, s: State) -> list[list[Term]]:
        return [[s[f] for f in b] for b in self.shape.loc]

    def invariant(self, s: State) -> Cond:
        h, blocks = self._h(s), self._blocks(s)
        dg, d1, d2 = self.diagrams
        parts = [diagram_cond(dg, h, self.k)]
        parts += [diagram_cond(d1, h + b, self.k) for b in blocks]
        n = len(blocks)
        parts += [
            diagram_cond(d2, h + blocks[i] + blocks[j], self.k)
            for i in range(n)
            for j in range(i + 1, n)
        ]
        for pos, weights in self.cand.counters:
            parts.append(self._wide(s[self.shape.glob[pos]]) == self.total(s, weights))
        return z3.And(*parts)

    def _wide(self, t: Term) -> Term:
        if z3.is_bv(t):
            return z3.SignExt(WIDE - t.size(), t)
        return t

    def _num(self, v: int) -> Term:
        return z3.BitVecVal(v, WIDE) if self.enc.sort.width else z3.IntVal(v)

    def _is(self, terms: Sequence[Term], values: Sequence[int]) -> Cond:
        return z3.And(*[t == self.k(v) for t, v in zip(terms, values, strict=True)])

    def weight(self, h: list[Term], block: list[Term], weights: Weights) -> Term:
        """``w(h, block)``: 0 where no seed state had the pair."""
        t = self._num(0)
        for (hv, bv), w in weights[0].items():
            if w:
                t = z3.If(z3.And(self._is(h, hv), self._is(block, bv)), self._num(w), t)
        return t

    def base(self, h: list[Term], weights: Weights) -> Term:
        t = self._num(0)
        for hv, c in weights[1].items():
            if c:
                t = z3.If(self._is(h, hv), self._num(c), t)
        return t

    def total(self, s: State, weights: Weights) -> Term:
        """``c(h) + sum over instances of w(h, block)``."""
        h = self._h(s)
        return z3.Sum(self.base(h, weights), *[self.weight(h, b, weights) for b in self._blocks(s)])

    # ------------------------------------------------------------ the checks

    def inductive(self, phase: Callable[[str], None]) -> str:
        """ "" when the candidate holds initially and is closed; else why not."""
        init = self.enc.init_state()
        first = z3.Solver()
        first.add(z3.Not(z3.substitute(self.inv, *zip(self.x, init, strict=True))))
        if satisfiable(first, self.deadline):
            return "the initial state is outside it"
        size = f"{self.shape.family} size {len(self.shape.loc)}"
        phase(f"smt proof: z3 checks the parameterised invariant is inductive at {size}")
        sel = self.enc.sort.var("psel")
        nxt, cs = self.enc.step(self.x, sel, "p1")
        solver = new_solver(self.enc.sort)
        solver.add(self.inv, *cs, self._reps(sel))
        if satisfiable(solver, self.deadline, z3.Not(self.invariant(nxt))):
            return f"not inductive at {size}"
        return ""

    def progresses(self, key: AwaitKey, phase: Callable[[str], None]) -> bool:
        """Check 4 for one await (see the module's docstring)."""
        c, _, p = key
        core = self.m.system.cores[c]
        phase(f"smt proof: z3 checks {core.name} always passes its await (pc {p})")
        tr, x, k = self.enc.tr, self.x, self.k
        where = self._where(key)
        weights = self.cand.ranks[key]
        if _largest(weights, len(self.shape.loc)) >= 2 ** (WIDE - 2):
            return False  # a sum could wrap: the step-wise comparison below would not hold
        h = self._h(x)
        blocks = self._blocks(x)
        hset = {self.shape.glob[i] for i in self.cand.hpos}
        rank = self.total(x, weights)
        helpful = []
        for cmd in self.m.system.commands:
            enabled, nxt = self._after(cmd)
            written = {f for f, _ in cmd.updates}
            if written & hset:
                lower = self.total(nxt, weights) < rank
            else:
                touched = [i for i, b in enumerate(self.shape.loc) if written & set(b)]
                after = self._blocks(nxt)
                delta = z3.Sum(
                    self._num(0),
                    *[
                        self.weight(h, after[i], weights) - self.weight(h, blocks[i], weights)
                        for i in touched
                    ],
                )
                lower = delta < self._num(0)
            helpful.append(z3.And(enabled, z3.Or(where(nxt) != k(p), lower)))
        mine = await_commands(self.m.system, c, p)
        fires = z3.Or(*[tr.cond(cmd.guard) for cmd in mine])
        goes = z3.And(rank >= self._num(0), z3.Or(*helpful))
        return not satisfiable(
            self.solver, self.deadline, where(x) == k(p), z3.Not(fires), z3.Not(goes)
        )

    def _reps(self, sel: Term) -> Cond:
        """``sel`` picks a command of a core outside the family or of its first instance
        (by symmetry, the others' steps are renamed steps of the first's)."""
        others = set(self.shape.cores[1:])
        reps = [c.id for c in self.m.system.commands if c.core not in others]
        return z3.Or(*[sel == self.k(i) for i in reps])

    def _where(self, key: AwaitKey) -> Callable[[State], Term]:
        return where(self.m.system, key, self.k)

    def _after(self, cmd: Command) -> tuple[Cond, State]:
        """When ``cmd`` is a continuing step from ``x`` (its guard holds, no fatal check
        does), and the state after it."""
        tr = self.enc.tr
        enabled = z3.And(
            tr.cond(cmd.guard), *[z3.Not(tr.cond(ch.cond)) for ch in cmd.checks if ch.fatal]
        )
        nxt = list(self.x)
        for f, e in cmd.updates:
            nxt[f] = tr.value(e)
        return enabled, nxt

    def ranged(self, phase: Callable[[str], None]) -> bool:
        """Check 5's premise: ranges that hold initially and that no continuing step of
        the commands `inductive` tries leaves from a state of the candidate within them.
        First each word's declared range (narrower than its field's, which holds every
        value memory may), then the fields' alone; `in_range` keeps the one that holds."""
        enc = self.enc
        phase(f"smt proof: z3 checks every field keeps its range at size {len(self.shape.loc)}")
        lay = self.m.system.meta["layout"]
        words = [(lay.mem[i], w.lo, w.hi) for i, w in enumerate(lay.prog.words)]
        sel = enc.sort.var("rsel")
        nxt, cs = enc.step(self.x, sel, "r1")
        for tight in (words, []):

            def within(s: State, tight: list[tuple[int, int, int]] = tight) -> Cond:
                k = self.k
                return z3.And(
                    enc.in_range(s), *[z3.And(k(lo) <= s[f], s[f] <= k(hi)) for f, lo, hi in tight]
                )

            init = z3.Solver()
            init.add(z3.Not(within(enc.init_state())))
            if satisfiable(init, self.deadline):
                continue
            if not satisfiable(
                self.solver,
                self.deadline,
                within(self.x),
                *cs,
                self._reps(sel),
                z3.Not(within(nxt)),
            ):
                self.in_range = within
                return True
        return False

    def trapped(self, key: AwaitKey, phase: Callable[[str], None]) -> bool:
        """Check 5 for one await: in no state of the candidate within the ranges where
        the core waits there does its await fire, a fatal check of one of its commands
        hold, or a continuing step move it off the position."""
        c, _, p = key
        cmds = self.m.system.commands
        phase(f"smt proof: z3 checks whether {self.m.system.cores[c].name} can pass pc {p}")
        tr, k, where = self.enc.tr, self.k, self._where(key)
        leave = [tr.cond(cmd.guard) for cmd in await_commands(self.m.system, c, p)]
        leave += [
            z3.And(tr.cond(cmd.guard), tr.cond(ch.cond))
            for cmd in cmds
            if cmd.core == c
            for ch in cmd.checks
            if ch.fatal
        ]
        fields = set(await_fields(self.m.system.cores[c])[key[1]][1:]) - {None}
        for cmd in cmds:
            if fields & {f for f, _ in cmd.updates}:
                enabled, nxt = self._after(cmd)
                leave.append(z3.And(enabled, where(nxt) != k(p)))
        return not satisfiable(
            self.solver,
            self.deadline,
            self.in_range(self.x),
            where(self.x) == k(p),
            z3.Or(*leave),
        )


def where(system: System, key: AwaitKey, k: Callable[[int], Term]) -> Callable[[State], Term]:
    """The position `hang.await_views` reads for ``key``'s view, as a term."""
    c, view, _ = key
    _, flag, inside, outside = await_fields(system.cores[c])[view]
    return lambda s: z3.If(s[flag] != k(0), s[inside], k(-1) if outside is None else s[outside])


def _largest(weights: Weights, n: int) -> int:
    """A bound on the magnitude of ``c(h) + sum of w(h, block)`` over n instances."""
    w = max((abs(v) for v in weights[0].values()), default=0)
    return max((abs(v) for v in weights[1].values()), default=0) + n * w
