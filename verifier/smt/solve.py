"""Solver calls of the z3 engine: the time left of a run (`Deadline`), z3's memory cap
around each check, and reading states out of a model."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import z3

from verifier.run.budget import rss_mb
from verifier.smt.encode import Cond, Poll, Sort, State, Term, Unknown, no_poll
from verifier.smt.invariants import Diagram


class Deadline:
    """The time left of a ``--timeout`` (none: no limit)."""

    def __init__(
        self,
        timeout: float | None,
        limit: float | None = None,
        max_memory: float | None = None,
        poll: Poll = no_poll,
    ) -> None:
        self.end = None if timeout is None else time.monotonic() + timeout
        self.timeout = timeout
        self.limit = limit if limit is not None else timeout  # the user's --timeout, for messages
        self.max_memory = max_memory  # MB: the explicit searches within, z3's allocations
        self.poll = poll  # the run's own check of its limits (raises, naming the phase)

    def left(self) -> float | None:
        """Seconds left (at least a millisecond), or None without a limit."""
        if self.end is None:
            return None
        return max(0.001, self.end - time.monotonic())

    def expired(self) -> bool:
        return self.end is not None and time.monotonic() >= self.end

    def within(self, seconds: float) -> Deadline:
        """A deadline ``seconds`` from now, or this one if it comes first."""
        left = self.left()
        return Deadline(
            seconds if left is None else min(seconds, left), self.limit, self.max_memory, self.poll
        )


Z3_ROOM_MB = 16  # z3 given less room than this to grow fails inside its own API (SIGSEGV)


@contextlib.contextmanager
def memory_capped(max_memory: float | None) -> Iterator[None]:
    """Within: z3's allocations may grow only to what ``max_memory`` (MB) leaves beside
    the rest of the process (its resident size less what z3 holds now); past it z3's
    check stops with `unknown` instead of growing on inside one long call, where no
    check of ours runs.  Only around a solver call: z3 aborts the process when the cap
    is hit elsewhere (making terms, freeing a solver), so it is lifted again at once
    (the setting is process-wide).  With less than `Z3_ROOM_MB` of room the limit
    counts as reached (`Unknown`)."""
    if max_memory is None:
        yield
        return
    z3_now = z3.Z3_get_estimated_alloc_size() / 2**20
    others = max(0.0, rss_mb() - z3_now)
    if max_memory - others < z3_now + Z3_ROOM_MB:
        raise Unknown("memory")
    z3.set_param("memory_max_size", int(max_memory - others))
    try:
        yield
    finally:
        z3.set_param("memory_max_size", 0)  # 0: no cap


def new_solver(sort: Sort) -> z3.Solver:
    # For bit-vectors, QF_BV bit-blasts to z3's incremental SAT solver: on these
    # systems it is two orders of magnitude faster than the default (and than Int).
    return z3.SolverFor("QF_BV") if sort.width else z3.Solver()


def satisfiable(solver: z3.Solver, deadline: Deadline, *assumptions: Cond) -> bool:
    """Check ``solver`` within ``deadline``; `Unknown` if z3 cannot tell."""
    deadline.poll()
    left = deadline.left()
    if left is not None:
        solver.set("timeout", max(1, int(left * 1000)))
    with memory_capped(deadline.max_memory):
        r = solver.check(*assumptions)
    if r == z3.unknown:
        raise Unknown(solver.reason_unknown() or "unknown")
    return bool(r == z3.sat)


def model_state(solver: z3.Solver, s: State) -> tuple[int, ...]:
    """The values of state ``s`` in the solver's model."""
    model = solver.model()
    return tuple(as_int(model.eval(v, model_completion=True)) for v in s)


def as_int(v: Term) -> int:
    return int(v.as_signed_long()) if z3.is_bv_value(v) else int(v.as_long())


def one_of(s: State, idx: Sequence[int], allowed: Iterable[tuple[int, ...]], sort: Sort) -> Cond:
    """The fields ``idx`` of ``s`` take one of the ``allowed`` value tuples."""
    k = sort.const
    return z3.Or(
        *[z3.And(*[s[i] == k(v) for i, v in zip(idx, vals, strict=True)]) for vals in allowed]
    )


def diagram_cond(d: Diagram, terms: Sequence[Term], const: Callable[[int], Term]) -> Cond:
    """The terms (one per field of the states ``d`` was built from) take the values of
    one of ``d``'s states."""
    conds: list[Cond] = [z3.BoolVal(True)]
    for node in d.nodes[1:]:
        v = terms[d.order[node.level]]
        conds.append(
            z3.Or(*[z3.And(among(v, vals, const), conds[child]) for child, vals in node.edges])
        )
    return z3.And(*[terms[f] == const(val) for f, val in d.fixed], conds[d.root])


def among(v: Term, vals: tuple[int, ...], const: Callable[[int], Term]) -> Cond:
    """``v`` is one of ``vals`` (ascending): a range test when they are consecutive."""
    if len(vals) > 2 and vals[-1] - vals[0] == len(vals) - 1:
        return z3.And(v >= const(vals[0]), v <= const(vals[-1]))
    return z3.Or(*[v == const(a) for a in vals])
