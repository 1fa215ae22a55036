"""Unbounded proofs for the z3 engine: inductive invariants checked by z3.

An invariant here is a finite description of a set of states (`invariants`).  It
proves a kind unreachable at every depth when z3 finds (1) no transition of its
own encoding of the System from inside the set to outside it, and (2) no state
inside it from which an enabled command reaches the kind; the initial state is in
it by construction.  The explicit engine only proposes the set.

- **Exact**: when the explicit engine enumerates every reachable state within the
  state limit, the candidate is that set itself (`Diagram`).  z3 then confirms that
  it is closed and which kinds it excludes; a transition or a problem state that
  z3 finds and the explicit engine does not is a bug in one of them
  (`SmtReplayError`).  The exploration's state graph, confirmed closed, also
  decides `hang`, and gives the depth at which the bounded search finds every
  reachable kind.
- **Relational**: otherwise the candidate is the projection of the explored states
  onto every 3-tuple (then 4-tuple) of machine objects (`Relations`).  Each state
  z3 names inside it with a successor outside (a counterexample to induction) is
  explored explicitly and added, until z3 finds none.  A counterexample whose
  closure reaches a wanted kind shows the abstraction is too coarse at that arity.

Every phase looks at the deadline and the state limit and gives up (the kinds
then stay undecided) rather than overrun them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import z3

from verifier.run.budget import Budget
from verifier.run.model import Model
from verifier.search.explicit import explore
from verifier.search.exploration import Exploration, Found
from verifier.smt.bmc import SmtReplayError
from verifier.smt.encode import Cond, Encoding, State, Subst, Unknown
from verifier.smt.invariants import Diagram, OutOfTime, Relations, TooLarge
from verifier.smt.param import ParamProof, prove_param
from verifier.smt.solve import (
    Deadline,
    diagram_cond,
    model_state,
    new_solver,
    one_of,
    satisfiable,
)

PhaseFn = Callable[[str], None]

SAMPLE = 1_000_000  # explicit states to seed (or, if they are all, to be) the invariant
# the exact proof is not tried where the parameterised proof's seeds, grown to the spec's
# size, give more states than this (the growth per instance rises with the size, so the
# guess errs low: towards trying)
EXPECTED_MAX = 10 * SAMPLE


@dataclass
class Proof:
    """What a proof attempt established."""

    unreachable: list[str] = field(default_factory=list)  # kinds proved unreachable
    depths: dict[str, int] | None = None  # (exact) each reachable kind's shortest bound
    depth: int | None = None  # (exact) the deepest of them
    hang_decided: bool = False
    hang: Found | None = None  # with hang_decided: where a hang starts, if anywhere
    # (parameterised) awaits never passed once reached: reaching one is a hang
    traps: list[tuple[int, int, int]] = field(default_factory=list)
    exploration: Exploration | None = None  # the exact state graph (for the hang trace)
    # (exact) where the state after k steps of a shortest trace lies, as a formula
    layers: Callable[[int, State], Cond] | None = None
    note: str = ""  # how the kinds were proved
    failed: list[str] = field(default_factory=list)  # why each attempt stopped


class Prover:
    def __init__(
        self,
        m: Model,
        enc: Encoding,
        deadline: Deadline,
        max_states: int,
        phase: PhaseFn,
        exact: Callable[[], Deadline] | None = None,
    ) -> None:
        """``exact``: the deadline of the exact proof's z3 checks, from when they start
        (default: ``deadline``)."""
        self.m = m
        self.enc = enc
        self.deadline = deadline
        self.exact = exact
        self.budget = max_states  # explicit states the proof may still explore
        self.phase = phase

    def _explore(self, init: tuple[int, ...], limit: int, what: str) -> Exploration:
        """Explore from ``init`` within the deadline and the state budget."""
        limit = min(limit, self.budget)
        d = self.deadline
        ex = explore(
            replace(self.m.system, init=init),
            budget=Budget(limit, d.left(), d.max_memory, limit=d.limit),
            progress=lambda n, *_: self.phase(f"{what}: {n:,} states"),
        )
        self.budget -= len(ex.states)
        return ex

    def _limits(self, states: int) -> Budget:
        d = self.deadline
        return Budget(min(states, self.budget), d.left(), d.max_memory, limit=d.limit)

    def run(self, kinds: list[str]) -> Proof:
        """Try to prove each of ``kinds`` unreachable (and to decide hang): first by a
        parameterised invariant (`param.py`, where it applies), then for what is left
        by the exact or the relational invariant."""
        try:
            par = prove_param(self.m, self.enc, self.deadline, kinds, self.phase, self._limits)
        except Unknown as err:
            par = ParamProof(failed=f"parameterised invariant: z3: {err}")
        if par is None:
            return self._run(kinds)
        rest = [k for k in kinds if k not in par.unreachable]
        if not rest and (par.hang_decided or not self._awaits()):
            return Proof(par.unreachable, hang_decided=par.hang_decided, note=par.note)
        proof = self._run(rest, par)
        proof.traps = [] if proof.hang_decided else par.traps
        proof.unreachable = [*par.unreachable, *proof.unreachable]
        proof.note = "; ".join(n for n in (par.note, proof.note) if n)
        proof.failed = [par.failed, *proof.failed] if par.failed else proof.failed
        proof.hang_decided = proof.hang_decided or par.hang_decided
        return proof

    def _awaits(self) -> bool:
        return any(c.program_awaits or c.handler_awaits for c in self.m.system.cores)

    def _run(self, kinds: list[str], par: ParamProof | None = None) -> Proof:
        proof = Proof()
        sample = SAMPLE
        if par is not None and par.expected > EXPECTED_MAX:
            sizes = " and ".join(f"{n:,}" for n in par.seed_states)
            proof.failed.append(
                f"exact invariant not tried: about {par.expected:.1g} states expected "
                f"(grown from {sizes} at the seed sizes)"
            )
            sample = self.RELATIONAL_SEED  # all the relational invariant starts from
        seed = self._explore(self.m.system.init, sample, "smt proof: exploring seed states")
        try:
            if seed.complete:
                if self.exact is not None:
                    self.deadline = self.exact()
                self._exact(seed, kinds, proof)
            else:
                why = "out of time" if self.deadline.expired() else seed.reason
                if sample == SAMPLE or self.deadline.expired():
                    proof.failed.append(f"seed exploration: {why}")
                if not self.deadline.expired():
                    self._relational(seed, kinds, proof)
        except Unknown as err:
            proof.failed.append(f"z3: {err}")
        except OutOfTime:
            proof.failed.append("out of time")
        return proof

    # ------------------------------------------------------------ exact

    def _exact(self, ex: Exploration, kinds: list[str], proof: Proof) -> None:
        n = len(ex.states)
        self.phase(f"smt proof: building the invariant of {n:,} states")
        d = Diagram.of(ex.states, self.deadline.expired)
        self.phase(f"smt proof: z3 checks the invariant of {n:,} states is inductive")
        pre = self.leaving(d)
        if pre is not None:
            raise SmtReplayError(
                "smt engine: z3 finds a transition out of the reachable states the "
                f"explicit engine enumerated, from state {pre}"
            )
        x = self.enc.free_state("e")
        inside = new_solver(self.enc.sort)
        inside.add(self._diagram(d, x))
        for k in kinds:
            if k in ex.found:
                continue
            self.phase(f"smt proof: z3 checks {k} is excluded")
            if satisfiable(inside, self.deadline, self.enc.bad(x, [k])):
                raise SmtReplayError(
                    f"smt engine: z3 finds {k} in a reachable state where the explicit "
                    "engine finds none"
                )
            proof.unreachable.append(k)
        proof.depths = {k: len(ex.path(f.state)) for k, f in ex.found.items() if k != "hang"}
        proof.depth = max(proof.depths.values(), default=0)
        proof.hang_decided = True
        proof.hang = ex.found.get("hang")
        proof.exploration = ex
        proof.layers = self._layers(ex, proof.depth)
        proof.note = (
            f"the {n:,} reachable states (a decision diagram of {d.edges():,} edges) "
            "checked inductive by z3"
        )

    def _layers(self, ex: Exploration, depth: int) -> Callable[[int, State], Cond] | None:
        """The breadth-first layers of the state graph up to ``depth``: on a shortest
        trace the state after k steps is at distance k from the initial state.  The
        bounded search looks for each reachable kind's trace within them (z3 still
        finds the path in its own encoding, and it is replayed)."""
        if depth == 0:
            return None
        self.phase(f"smt proof: breadth-first layers up to depth {depth}")
        dist = [0] * len(ex.states)
        layers: list[list[bytes | tuple[int, ...]]] = [[] for _ in range(depth + 1)]
        for i in range(1, len(ex.states)):
            dist[i] = dist[ex.parent[i]] + 1
            if dist[i] <= depth:
                layers[dist[i]].append(ex.states[i])
        x = self.enc.x  # each layer is translated once over the template, then substituted
        templates = [self._diagram(Diagram.of(lay, self.deadline.expired), x) for lay in layers[1:]]
        anywhere = z3.BoolVal(True)  # past the deepest reachable kind (a larger --depth)
        return lambda k, s: Subst(x, s)(templates[k - 1]) if k <= depth else anywhere

    def leaving(self, d: Diagram) -> tuple[int, ...] | None:
        """A state of ``d`` with a successor outside ``d``, if z3 finds one."""
        x = self.enc.free_state("e")
        nxt, cs = self.enc.step(x, self.enc.sort.var("esel"), "e1")
        solver = new_solver(self.enc.sort)
        solver.add(self._diagram(d, x), *cs, z3.Not(self._diagram(d, nxt)))
        return model_state(solver, x) if satisfiable(solver, self.deadline) else None

    def _diagram(self, d: Diagram, s: State) -> Cond:
        return diagram_cond(d, s, self.enc.sort.const)

    # ------------------------------------------------------------ relational

    MAX_SIZE = 400_000  # value tuples: beyond this the z3 formula gets too large
    MAX_WORK = 20_000_000  # projections one growth step may compute: beyond this, too slow
    RELATIONAL_SEED = 20_000  # explored states the abstraction starts from
    MAX_ROUNDS = 40  # counterexamples to induction per arity
    CLOSURE = 20_000  # explicit states explored from each counterexample to induction

    def _relational(self, seed: Exploration, kinds: list[str], proof: Proof) -> None:
        kinds = [k for k in kinds if k not in seed.found]  # really reachable: no proof
        states = [seed.state(i) for i in range(min(len(seed.states), self.RELATIONAL_SEED))]
        for arity in (3, 4):
            self.phase(f"smt proof: projecting {len(states):,} states onto {arity}-tuples")
            rel = Relations(self.m.system.groups, arity, max_work=self.MAX_WORK)
            try:
                rel.add(states, self.deadline.expired)
            except TooLarge as err:
                proof.failed.append(f"{arity}-tuples: too large ({err})")
                continue
            why = self._close(rel, kinds, arity)
            if why:
                proof.failed.append(f"{arity}-tuples: {why}")
                continue
            x = self.enc.free_state("q")
            solver = new_solver(self.enc.sort)
            solver.add(self._relations(rel, x))
            out = [k for k in kinds if not satisfiable(solver, self.deadline, self.enc.bad(x, [k]))]
            if len(out) > len(proof.unreachable):
                proof.unreachable = out
                proof.note = (
                    f"inductive invariant over {arity}-tuples of machine objects "
                    f"({rel.size():,} value tuples) checked by z3"
                )
            if len(out) == len(kinds):
                return

    def _relations(self, rel: Relations, s: State) -> Cond:
        return z3.And(
            *[one_of(s, idx, allowed, self.enc.sort) for idx, allowed in rel.constraints()]
        )

    def _close(self, rel: Relations, kinds: list[str], arity: int) -> str:
        """Grow ``rel`` until it is inductive; why not, if that fails within the
        limits or the abstraction visibly admits a wanted problem."""
        for r in range(self.MAX_ROUNDS):
            if self.deadline.expired():
                return "out of time"
            self.phase(
                f"smt proof: {arity}-tuple invariant, round {r + 1} ({rel.size():,} value tuples)"
            )
            x = self.enc.free_state("r")
            nxt, cs = self.enc.step(x, self.enc.sort.var("rsel"), "r1")
            solver = new_solver(self.enc.sort)
            solver.add(self._relations(rel, x), *cs, z3.Not(self._relations(rel, nxt)))
            if not satisfiable(solver, self.deadline):
                return ""
            pre = model_state(solver, x)
            ex = self._explore(pre, self.CLOSURE, "smt proof: exploring a counterexample")
            if set(kinds) <= set(ex.found):
                return "the abstraction admits every wanted kind"
            if self.budget <= 0:
                return "state limit reached"
            closure = [ex.state(i) for i in range(len(ex.states))]
            try:
                grew = rel.add(closure, self.deadline.expired)
            except TooLarge as err:
                return f"too large ({err})"
            if not grew:
                raise SmtReplayError(
                    "smt engine: z3 found a successor outside the invariant "
                    "that the explicit engine does not produce"
                )
            if rel.size() > self.MAX_SIZE:
                return f"more than {self.MAX_SIZE:,} value tuples"
        return f"not inductive after {self.MAX_ROUNDS} rounds"
