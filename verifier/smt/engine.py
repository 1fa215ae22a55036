"""The z3 engine: bounded model checking, inductive invariants and k-induction over
the same System the explicit engine explores.

`check_smt` puts the pieces together: with ``prove``, an inductive invariant first
(`smt_prove`), which proves kinds unreachable at every depth and, when it is the
exact set of reachable states, decides `hang` and tells the bounded search how
deep the reachable kinds lie; then the bounded search (`smt_bmc`) for the kinds
not proved unreachable, with k-induction for those still open.

Under ``prove``, when the proof did not enumerate every state, seeded random walks
(`search/walk.py`) look for the kinds it left open first; the bounded search shows a
walks' trace shortest when it reaches its length.  A wait the parameterised proof
shows is never passed (its traps) is a hang at the first bound that reaches it.

A verdict is decided only when every kind is: found (with a trace z3 produced or the
walks met, replayed by the explicit step functions), or proved unreachable; and
`hang` too, when the spec has an `await`.  Otherwise the result is `inconclusive`,
with the kinds found and the reason, unless the kinds found already contradict the
expectation.
``Result.states`` is the deepest bound searched; ``Result.transitions`` is 0 (z3
does not enumerate transitions).
"""

from __future__ import annotations

import time
from dataclasses import replace

import z3

from verifier.lang import ast
from verifier.run.budget import PYTHON_MAX_STATES, LimitReached
from verifier.run.model import Model, expect_text, meets
from verifier.run.result import Result, Trace
from verifier.search.hang import await_views
from verifier.search.walk import walk
from verifier.smt.bmc import Hit, Induction, Search, SmtReplayError
from verifier.smt.encode import INT, Encoding, Poll, Sort, Unknown, Z3Error, bv_width, no_poll
from verifier.smt.param import where
from verifier.smt.param_seed import await_keys
from verifier.smt.prove import PhaseFn, Proof, Prover
from verifier.smt.solve import Deadline
from verifier.trace.builder import TraceBuilder

__all__ = ["DEFAULT_DEPTH", "PROOF_BUDGET", "SmtReplayError", "check_smt"]

DEFAULT_DEPTH = 30
PROOF_BUDGET = 120.0  # seconds for the invariant when no --timeout is given
# ... but when every reachable state was enumerated, its z3 checks get this long: that
# proof is the one that decides (an arm64 spec of 82,392 states needs 132 s for one)
EXACT_BUDGET = 600.0
# seconds the bounded search spends, without --timeout, when all it still looks for
# is a trace shorter than the random walks' (it then shows theirs, saying so)
SHORTEN_BUDGET = 60.0


def check_smt(
    m: Model,
    expect: ast.ExpectDecl | None,
    *,
    depth: int | None = None,
    prove: bool = False,
    timeout: float | None = None,
    max_states: int = PYTHON_MAX_STATES,
    phase: PhaseFn | None = None,
    int_sort: bool = False,
    limit: float | None = None,
    max_memory: float | None = None,
    poll: Poll | None = None,
) -> Result:
    """Check ``m`` with z3: bounded search up to ``depth`` commands before the problem
    (default DEFAULT_DEPTH, or as deep as an exact invariant says the reachable kinds
    lie); with ``prove``, first an inductive invariant (half the ``timeout``, or
    PROOF_BUDGET; at most ``max_states`` explicit states), then k-induction for the
    kinds it leaves open.  ``phase`` is told which phase runs.  Integers are
    bit-vectors wide enough for every reachable value (`bv_width`), or z3 Ints with
    ``int_sort`` (much slower; kept to cross-check the encoding).  ``limit``: the
    user's --timeout that ``timeout`` (the time left of it) comes from, for messages;
    ``max_memory``: MB, for the explicit searches of the proof and z3's allocations;
    ``poll``: the run's own check of its limits, called often while encoding (it raises
    `LimitReached`, which ends the engine)."""
    start = time.monotonic()
    deadline = Deadline(timeout, limit, max_memory, poll or no_poll)
    tell: PhaseFn = phase or (lambda _text: None)
    try:
        run = _Run(m, deadline, tell, INT if int_sort else Sort(bv_width(m.system, deadline.poll)))
    except (Unknown, Z3Error) as err:  # no run to report on: the limit ends the engine
        raise LimitReached(_why_stopped(err, deadline, "smt encoding")) from None
    try:
        if prove:
            budget = deadline.within(PROOF_BUDGET if timeout is None else timeout / 2)
            exact = (lambda: deadline.within(EXACT_BUDGET)) if timeout is None else None
            run.prove(Prover(m, run.search.enc, budget, max_states, tell, exact))
            run.walk()
        run.search_to(depth, prove)
    except (Unknown, Z3Error) as err:
        run.notes.append(_why_stopped(err, deadline))
    except LimitReached as limit:  # the run's own check (`poll`): keep what was decided
        run.notes.append(limit.reason)
    return run.result(expect, time.monotonic() - start)


def _why_stopped(err: Exception, deadline: Deadline, phase: str = "smt solving") -> str:
    """z3's `unknown` or error in the user's terms: the limit it reached, if one."""
    reason = str(err)
    if deadline.limit is not None and reason in ("timeout", "canceled"):
        return f"timeout after {deadline.limit:g} s ({phase})"
    if deadline.max_memory is not None and "memory" in reason:
        return f"memory limit of {deadline.max_memory:g} MB reached ({phase})"
    return f"z3 gave up ({reason})" if isinstance(err, Unknown) else f"z3 error: {reason}"


class _Run:
    """One check: what is found, what is proved, and the notes that explain it."""

    def __init__(self, m: Model, deadline: Deadline, tell: PhaseFn, sort: Sort) -> None:
        self.m = m
        self.deadline = deadline
        self.tell = tell
        tell("smt: encoding the transition relation")
        self.search = Search(m, Encoding(m.system, sort, deadline.poll), deadline)
        self.kinds = list(self.search.wanted)  # every kind some check can reach
        self.unreachable: list[str] = []  # proved unreachable at every depth
        self.proof = Proof()
        self.notes: list[str] = []
        self.reached = -1  # deepest bound fully searched
        self.walked: dict[str, Hit] = {}  # kinds random walks met (`walk`), shortened
        self.beyond = DEFAULT_DEPTH + 1  # steps the bounded search looks for them at most
        self.trapped: tuple[list[int], int, int, tuple[int, ...]] | None = None  # `_trap`
        self.shorten: float | None = None  # `_shortening`'s budget, once it began
        self.awaits = any(c.program_awaits or c.handler_awaits for c in m.system.cores)

    def prove(self, prover: Prover) -> None:
        self.proof = prover.run(self.kinds)
        self.unreachable = list(self.proof.unreachable)
        if self.unreachable:
            self.notes.append(f"{', '.join(self.unreachable)} unreachable: {self.proof.note}")
        if self.proof.failed:
            self.notes.append(f"invariant not found ({'; '.join(self.proof.failed)})")
        self.search.wanted = [k for k in self.kinds if k not in self.unreachable]
        if self.proof.layers is not None:
            self.search.assume(self.proof.layers)

    def walk(self) -> None:
        """Random walks for the kinds the proof left open, unless it explored every
        state (then the bounded search knows where each reachable kind lies)."""
        open_ = self.search.remaining()
        if not open_ or self.proof.depth is not None:
            return
        self.tell(f"smt: random walks for {', '.join(open_)}")
        met = walk(self.m.system, self.search.tb.compiled, open_, stop=self.deadline.expired)
        for kind, w in sorted(met.items()):
            self.walked[kind] = Hit(kind, list(w.path), w.command, w.check, w.pre)

    def search_to(self, depth: int | None, prove: bool) -> None:
        """Bounded search (and k-induction, with ``prove``) for the kinds still open."""
        search = self.search
        exact = self.proof.depth
        limit = depth if depth is not None else DEFAULT_DEPTH if exact is None else exact
        induct = prove and exact is None
        # with the exact state graph the depth of each reachable kind's shortest trace is
        # known: z3 is asked for it at that depth only (shallower bounds cannot have it)
        at = self.proof.depths
        induction: Induction | None = None
        searched = True  # every bound up to the limit, unless time runs out
        # a kind walks met beyond the limit is not looked for: the search could only
        # find a shorter trace, and could not show the walk's is shortest
        self.beyond = limit + 1
        far = {k for k, hit in self.walked.items() if len(hit.path) > limit}
        search.wanted = [w for w in search.wanted if w not in far]
        for k in range(limit + 1):
            self._adopt(k)
            if not search.remaining() and not self._trap_open():
                break
            if k:
                search.deepen()
            self._trap(k)
            wanted = search.remaining() if at is None else [w for w, d in at.items() if d == k]
            if not wanted:  # (exact) no reachable kind has its shortest trace here
                self.reached = k
                continue
            self.tell(f"smt: bounded search at depth {k} for {', '.join(wanted)}")
            self._shortening()
            try:
                broken = search.search_bound(wanted, ranges=induct)
            except Unknown:
                if search.deadline is self.deadline or not search.deadline.expired():
                    raise
                break
            self.reached = k
            if broken is not None:
                self.notes.append(f"cannot prove: {broken} at depth {k}")
                induct = False
            rem = [r for r in search.remaining() if r not in self.walked]
            if induct and rem:
                self.tell(f"smt: k-induction at depth {k}")
                if induction is None or induction.kinds != rem:
                    induction = Induction(search.enc, rem, self.deadline)
                    for _ in range(k):
                        induction.step_holds()
                if induction.step_holds():
                    self.unreachable += rem
                    self.notes.append(f"{', '.join(rem)} unreachable: {k + 1}-induction")
                    search.wanted = [w for w in search.wanted if w not in rem]
            if self.deadline.expired():
                self.notes.append(f"timeout after {self.deadline.limit:g} s")
                searched = False
                break
            if search.deadline.expired():
                break
        if exact is not None and depth is None and searched and search.remaining():
            raise SmtReplayError(
                f"smt engine: the explicit engine reaches {', '.join(search.remaining())} "
                f"within {exact + 1} steps, z3 finds no such path"
            )

    def _shortening(self) -> None:
        """Without --timeout, once all the bounded search still looks for is a trace
        shorter than the walks', it gets `SHORTEN_BUDGET` seconds for it."""
        search = self.search
        if search.deadline is not self.deadline or self.deadline.timeout is not None:
            return
        if self._trap_open() or any(w not in self.walked for w in search.remaining()):
            return
        search.deadline = self.deadline.within(SHORTEN_BUDGET)
        self.shorten = SHORTEN_BUDGET

    def _trap_open(self) -> bool:
        return bool(self.proof.traps) and self.trapped is None

    def _trap(self, k: int) -> None:
        """At bound ``k``: a state where a core waits at an await it never passes (the
        parameterised proof's traps) is a hang; the first bound that reaches one ends
        a shortest path to it."""
        if not self._trap_open():
            return
        self.tell(f"smt: bounded search at depth {k} for a wait never passed")
        system, const = self.m.system, self.search.enc.sort.const
        path = self.search.reach(
            lambda s: z3.Or(
                *[where(system, key, const)(s) == const(key[2]) for key in self.proof.traps]
            )
        )
        if path is None:
            return
        end = self.search.tb.run(path)[-1]
        for c, view, p in self.proof.traps:
            if await_views(system.cores[c])[view][1](end) == p:
                self.trapped = (path, c, p, end)
                return
        raise SmtReplayError(
            f"smt engine: the path z3 found to a wait {self.proof.traps} misses it"
        )

    def _adopt(self, k: int) -> None:
        """At bound ``k``: a walk's trace of ``k`` steps before its problem is a shortest
        one when no bound below found its kind."""
        for kind, hit in self.walked.items():
            if len(hit.path) == k and kind not in self.search.found:
                self.search.found[kind] = hit

    def unproved(self) -> list[Hit]:
        """The walks' traces the bounded search did not show shortest."""
        return [h for k, h in sorted(self.walked.items()) if self.search.found.get(k) is not h]

    # ------------------------------------------------------------ the verdict

    def traces(self) -> list[Trace]:
        out = self.search.traces()
        out += [replace(self.search.trace(h), shortest=False) for h in self.unproved()]
        if self.trapped is not None:
            path, core, pc, end = self.trapped
            tb = self.search.tb
            # never leaving the position, a core waiting in a handler never returns
            final = tb.hang_problem(
                core, pc, end, stuck=bool(end[self.m.system.cores[core].in_handler])
            )
            t = tb.trace("hang", path, final, self.m.checked.title, self.m.model, "smt")
            out.append(replace(t, shortest=not self._untrapped()))
        hang, ex = self.proof.hang, self.proof.exploration
        if hang is not None and ex is not None:
            tb = TraceBuilder.of(self.m)
            final = tb.hang_problem(hang.core, hang.await_pc, ex.state(hang.state), hang.stuck)
            out.append(
                tb.trace(
                    "hang",
                    ex.path(hang.state),
                    final,
                    self.m.checked.title,
                    self.m.model,
                    engine="smt",
                )
            )
        return sorted(out, key=lambda t: t.kind)

    def _untrapped(self) -> bool:
        """Some await of the spec is not among the proof's traps (a shorter hang may be
        at one of those)."""
        return len(self.proof.traps) < len(await_keys(self.m.system))

    def undecided(self) -> list[str]:
        """Kinds neither found nor proved unreachable (hang included when it may occur)."""
        found = self.search.found.keys() | self.walked.keys()
        open_ = [k for k in self.kinds if k not in found and k not in self.unreachable]
        if self.awaits and not self.proof.hang_decided and self.trapped is None:
            open_.append("hang")
        return sorted(open_)

    def result(self, expect: ast.ExpectDecl | None, seconds: float) -> Result:
        traces = self.traces()
        kinds = tuple(t.kind for t in traces)
        undecided = self.undecided()
        verdict, met = _verdict(expect, kinds, undecided)
        for hit in self.unproved():
            steps = len(hit.path) + 1
            if steps > self.beyond:
                why = f"the bounded search looks for at most {self.beyond} steps (--depth)"
            elif self.shorten is not None:
                why = (
                    f"the bounded search, given {self.shorten:g} s for a shorter one, found "
                    f"none of at most {self.reached + 1} steps"
                )
            elif self.reached >= 0:
                why = f"the bounded search ended with none of at most {self.reached + 1} steps"
            else:
                why = "the bounded search ended before its first bound"
            self.notes.append(
                f"{hit.kind}: a trace of {steps} steps found by random walks and shortened; "
                f"{why}, so it may not be shortest"
            )
        if self.trapped is not None and self._untrapped():
            self.notes.append(
                f"hang: a shortest path to a wait never passed ({len(self.trapped[0])} steps); "
                "other waits were not decided, so a shorter hang may exist"
            )
        self.notes.insert(0, self._summary(kinds, undecided))
        m = self.m
        return Result(
            m.checked.title,
            m.checked.file,
            m.model,
            m.checked.params,
            verdict,
            kinds,
            tuple(traces),
            max(self.reached, 0),
            0,
            seconds,
            expect_text(expect),
            met,
            "smt",
            "; ".join(self.notes),
        )

    def _summary(self, kinds: tuple[str, ...], undecided: list[str]) -> str:
        if not undecided:
            return "every other kind proved unreachable" if kinds else "proved safe at every depth"
        what = "no other kind" if kinds else "safe"
        parts = [f"{what} up to depth {self.reached}"] if self.reached >= 0 else []
        parts.append(f"not decided: {', '.join(undecided)}")
        if "hang" in undecided:
            parts.append(
                "hang is decided only with --prove, when every reachable state fits in "
                "the state limit or a parameterised invariant's ranking is checked"
            )
        return "; ".join(parts)


def _verdict(
    expect: ast.ExpectDecl | None, kinds: tuple[str, ...], undecided: list[str]
) -> tuple[str, bool]:
    """`safe`/`unsafe` only when nothing is undecided, or when the kinds found settle
    the expectation whatever the undecided ones turn out to be."""
    if not undecided:
        return ("unsafe" if kinds else "safe"), meets(expect, kinds)
    if kinds and _settled(expect, set(kinds)):
        return "unsafe", meets(expect, kinds)
    return "inconclusive", False


def _settled(expect: ast.ExpectDecl | None, found: set[str]) -> bool:
    """Do the kinds ``found`` (a subset of the truth) decide the expectation?"""
    if expect is None or expect.verdict == "safe":
        return True  # violated already
    if expect.verdict == "hang":
        return found != {"hang"}  # a kind other than hang: violated
    if not expect.kinds:
        return True  # `expect race`: some kind, met
    return not found <= set(expect.kinds)  # a kind not named: violated
