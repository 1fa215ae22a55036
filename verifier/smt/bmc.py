"""Bounded model checking and k-induction of a System with z3.

A problem of kind K at bound k is a state ``s@k`` in which some enabled command
has a check of kind K that holds: the trace is the k selected commands and that
command, ``k + 1`` steps, as in the explicit engine.  Bounds are tried in
increasing order, so the first trace found for a kind is a shortest one.  Every
path z3 produces is replayed through the explicit step functions
(`TraceBuilder.run`) before it is reported; a path that does not replay is a bug,
raised as `SmtReplayError`.

k-induction (states of the induction path pairwise distinct) shows that kinds not
found are unreachable at any depth.  Its property is "no enabled command reaches a
remaining kind, and every field is within its declared range"; the ranges make the
induction stronger and are checked by the base case like the kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import z3

from verifier.run.model import Model
from verifier.run.result import Trace
from verifier.smt.encode import Cond, Encoding, State, Term
from verifier.smt.solve import Deadline, new_solver, satisfiable
from verifier.trace.builder import ReplayError, TraceBuilder


class SmtReplayError(Exception):
    """A path or state found by z3 is not a behaviour of the machine: a bug in tlbcheck
    (the encoding and the explicit step functions disagree).  The CLI reports it as an
    internal error (exit 4)."""


@dataclass
class Hit:
    kind: str
    path: list[int]  # commands before the problem command
    command: int
    check: int
    pre: tuple[int, ...]


class Search:
    """Bounded model checking, one step deeper at a time, on one incremental solver."""

    def __init__(self, m: Model, enc: Encoding, deadline: Deadline) -> None:
        self.m = m
        self.system = m.system
        self.enc = enc
        self.tb: TraceBuilder = TraceBuilder.of(m)
        self.deadline = deadline
        self.wanted = m.system.check_kinds()
        self.found: dict[str, Hit] = {}
        self.solver = new_solver(enc.sort)
        self.states = [enc.init_state()]
        self.sels: list[Term] = []
        self._lit = 0
        self.invariant: Callable[[int, State], Cond] | None = None

    def assume(self, invariant: Callable[[int, State], Cond]) -> None:
        """Constrain the state after k steps of the unrolling to ``invariant(k, .)``,
        which must hold after k steps of every path the search looks for (so none is
        lost), and spares z3 the others."""
        self.invariant = invariant
        self.solver.add(*[invariant(k, s) for k, s in enumerate(self.states) if k])

    @property
    def depth(self) -> int:
        return len(self.sels)

    def remaining(self) -> list[str]:
        return [k for k in self.wanted if k not in self.found]

    def fresh(self) -> Cond:
        self._lit += 1
        return z3.Bool(f"q!{self._lit}")

    def deepen(self) -> None:
        k = len(self.sels)
        sel = self.enc.sort.var(f"sel@{k}")
        nxt, cs = self.enc.step(self.states[-1], sel, str(k + 1))
        self.solver.add(*cs)
        if self.invariant is not None:
            self.solver.add(self.invariant(k + 1, nxt))
        self.sels.append(sel)
        self.states.append(nxt)

    def search_bound(self, kinds: list[str] | None = None, *, ranges: bool = False) -> str | None:
        """Find every remaining kind (of ``kinds``, default all) reachable with a trace of
        ``depth + 1`` steps.  With ``ranges``, also look for a field outside its declared
        range; return its description if one is found (the declared ranges are then not
        invariants)."""
        s = self.states[-1]

        def open_() -> list[str]:
            return [k for k in self.remaining() if kinds is None or k in kinds]

        while open_():
            lit = self.fresh()
            self.solver.add(z3.Implies(lit, self.enc.bad(s, open_())))
            if not satisfiable(self.solver, self.deadline, lit):
                break
            path = self._path(self.solver.model())
            if not self._record(path):
                raise SmtReplayError(self._describe(path, "reaches none of the kinds z3 found"))
        if ranges:
            lit = self.fresh()
            self.solver.add(z3.Implies(lit, z3.Not(self.enc.in_range(s))))
            if satisfiable(self.solver, self.deadline, lit):
                path = self._path(self.solver.model())
                end = self._replay(path)[-1]
                for f, v in zip(self.system.fields, end, strict=True):
                    if not f.lo <= v <= f.hi:
                        return f"field {f.name} = {v} leaves its range {f.lo}..{f.hi}"
                raise SmtReplayError(self._describe(path, "keeps every field in range"))
        return None

    def reach(self, cond: Callable[[State], Cond]) -> list[int] | None:
        """A path of ``depth`` steps to a state where ``cond`` holds, if there is one."""
        lit = self.fresh()
        self.solver.add(z3.Implies(lit, cond(self.states[-1])))
        if not satisfiable(self.solver, self.deadline, lit):
            return None
        return self._path(self.solver.model())

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
            if self.tb.compiled.ends(cid, states[i]):
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
                if kind in self.wanted and kind not in self.found:
                    self.found[kind] = Hit(kind, path, cmd.id, h, pre)
                    new = True
        return new

    def traces(self) -> list[Trace]:
        return [self.trace(self.found[kind]) for kind in sorted(self.found)]

    def trace(self, hit: Hit) -> Trace:
        """The trace of ``hit``: its path, then its problem command."""
        title, model = self.m.checked.title, self.m.model
        return self.tb.check_trace(
            hit.kind, hit.path, hit.command, hit.check, hit.pre, title, model, "smt"
        )


class Induction:
    """Incremental k-induction for "no remaining kind, all fields in range"."""

    def __init__(self, enc: Encoding, kinds: list[str], deadline: Deadline) -> None:
        self.enc = enc
        self.kinds = kinds
        self.deadline = deadline
        self.solver = new_solver(enc.sort)
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
        return not satisfiable(self.solver, self.deadline, lit)
