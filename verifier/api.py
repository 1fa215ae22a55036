"""The pipeline as functions: file -> checked spec -> Program -> System -> engine -> Result.

Everything user-facing (`check`, `suite`, `replay`, the pytest plugin) goes
through here, so every entry point gets the same verdicts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from verifier.engine import (
    Explore,
    Search,
    beyond,
    depth_done,
    explore_model,
    reductions,
    searched,
    shortest,
    unloop,
)
from verifier.lang.ast import ExpectDecl
from verifier.lang.checked import ALL_MODELS, MODELS, CheckedSpec
from verifier.lang.frontend import load
from verifier.replay import ReplayOutcome, replay_trace  # noqa: F401 (part of the API)
from verifier.run.budget import Budget, LimitReached
from verifier.run.capacity import settle
from verifier.run.coverage import Coverage, coverage
from verifier.run.model import Model, expect_text, meets, meets_so_far, release_frozen
from verifier.run.result import Result, Trace
from verifier.search.explicit import ProgressFn, explore
from verifier.search.exploration import Exploration
from verifier.search.native import NativeExploration
from verifier.search.por import Reduction, reduction
from verifier.search.symmetry import Canon, canon
from verifier.trace.builder import TraceBuilder

SMT_COVERAGE = (
    "the smt engine enumerates no states, so it reports no unreached statements and no "
    "vacuous verdicts (the explicit engine does)"
)
TRACE_GRACE = 1.0  # seconds past the timeout for building the traces of what was found


def expected_models(checked: CheckedSpec) -> list[str]:
    """The models a spec's `expect` lines name (its declared model when it has none)."""
    named: set[str] = set()
    for e in checked.expects:
        named.update(e.models if e.models is not None else MODELS)
    return [m for m in ALL_MODELS if m in named] or [checked.model]


def traces_of(
    m: Model, ex: Exploration, budget: Budget | None = None, kinds: Sequence[str] | None = None
) -> list[Trace]:
    """A trace per problem kind found (of ``kinds`` only, when given): shortest when
    ``ex`` was searched without partial-order reduction; a limit of ``budget`` reached
    meanwhile raises `LimitReached`."""
    tb = TraceBuilder.of(m, budget)
    out = []
    for kind in sorted(ex.found if kinds is None else kinds):
        f = ex.found[kind]
        path, last = unloop(ex, m)(ex.path(f.state), None if kind == "hang" else f.command)
        title, model = m.checked.title, m.model
        if last is None:
            final = tb.hang_problem(f.core, f.await_pc, ex.state(f.state), f.stuck)
            out.append(tb.trace(kind, path, final, title, model))
        else:
            out.append(tb.check_trace(kind, path, last, f.check, ex.state(f.state), title, model))
    return out


def check_spec(
    checked: CheckedSpec,
    model: str,
    *,
    max_states: int | None = None,
    timeout: float | None = None,
    engine: str = "auto",
    progress: ProgressFn | None = None,
    depth: int | None = None,
    prove: bool = False,
    max_memory: float | None = None,
    started: float | None = None,
    phase: Callable[[str], None] | None = None,
    stage: Callable[[str], None] | None = None,
    symmetry: bool = True,
    por: bool = True,
    stop_at_first: bool = False,
    cluster: str | None = None,
    workers: int | None = None,
    hash_compact: bool = False,
    bitstate: float | None = None,
) -> Result:
    """One spec under one model.  Limits (states, seconds, MB) end the run as
    `inconclusive`, in whichever phase they are reached (``max_states`` None: the
    default of the search that runs, `Budget.states`); the clock starts at
    ``started`` (a `time.monotonic()` taken before the spec was read) or now.
    ``progress`` hears from the explicit search, ``phase`` is told which phase of
    the smt engine runs, ``stage`` when the search that rebuilds shortest traces
    begins (``progress`` then counts that search's states, from zero).  ``symmetry``:
    store one state per orbit of each symmetric core family (verdicts and traces are
    those of the unreduced search).  ``por``: partial-order reduction (the same
    verdicts; the traces of what it found are rebuilt by a search without it, so they
    stay shortest).  ``stop_at_first``: end the search at the first problem (verdict
    `unsafe` with a shortest trace to it).  ``cluster``: a Ray address
    (`search/cluster`): the state table partitioned over ``workers`` actors there; the
    same verdict, states and traces."""
    start = time.monotonic() if started is None else started
    budget = Budget(max_states, timeout, max_memory, started=start)
    expect = checked.expect_for(model)
    try:
        with budget.watch():  # a phase that never checks the limits is stopped all the same
            m = Model.of(checked, model, budget)
            if engine == "smt":
                return _check_smt(m, budget, start, depth=depth, prove=prove, phase=phase)
            s = Search(symmetry, por, stop_at_first, progress, engine, cluster, workers)
            s = replace(s, hash_compact=hash_compact, bitstate=bitstate, stage=stage)
            if cluster is not None:
                return _check_cluster(m, budget, start, s)
            return _check_explicit(m, budget, start, s)
    except LimitReached as limit:  # in a phase that does not end with a result of its own
        release_frozen()
        return _stopped(checked, model, expect, engine, limit.reason, start)


def _check_cluster(m: Model, budget: Budget, start: float, search: Search) -> Result:
    """The breadth-first search spread over a Ray cluster's workers (the states each
    held are in the result's notes)."""
    from verifier.search.cluster import ClusterSearch

    assert search.cluster is not None
    cs = ClusterSearch.start(search.cluster, search.workers, m, search.symmetry, search.por)
    try:
        return _check_explicit(m, budget, start, search, run=cs.explore)
    finally:
        cs.close()


def _check_smt(
    m: Model,
    budget: Budget,
    start: float,
    *,
    depth: int | None,
    prove: bool,
    phase: Callable[[str], None] | None,
) -> Result:
    """The z3 engine on ``m``, within what is left of ``budget``."""
    from verifier.smt.engine import check_smt

    expect = m.checked.expect_for(m.model)

    def tell(text: str) -> None:  # the phase a limit names: "smt bounded search at depth 3"
        budget.phase = "smt " + text.removeprefix("smt: ").split(" for ")[0].split(":")[0]
        if phase is not None:
            phase(text)

    try:
        budget.enter("smt")
        r = check_smt(
            m,
            expect,
            depth=depth,
            prove=prove,
            timeout=budget.remaining(),
            max_states=budget.states(),  # the proof's searches are Python ones
            phase=tell,
            limit=budget.timeout,
            max_memory=budget.max_memory,
            poll=budget.check,
        )
        return replace(settle(r, m.system), coverage=SMT_COVERAGE)
    except LimitReached as limit:
        return _stopped(m.checked, m.model, expect, "smt", limit.reason, start)
    finally:
        release_frozen()


def strict(r: Result) -> Result:
    """``r`` under `--strict`: a `safe` verdict that is vacuous for a kind (`Result.vacuous`)
    does not meet its expectation."""
    if not r.is_vacuous:
        return r
    why = "vacuous (--strict): " + "; ".join(r.vacuous)
    return replace(r, expectation_met=False, reason=f"{r.reason}; {why}" if r.reason else why)


def _check_explicit(
    m: Model, budget: Budget, start: float, search: Search, run: Explore = explore
) -> Result:
    """The breadth-first search on ``m`` (``run``: the Python one, or one with its
    keywords such as `ClusterSearch.explore`), then a shortest trace per kind found."""
    sym = canon(m.system, m.program) if search.symmetry else None
    # --stop-at-first promises a shortest trace to the first problem of the search
    red = reduction(searched(m, sym)) if search.por and not search.stop_at_first else None
    ample = red.ample if red is not None and red.sites else None
    notes: list[str] = []
    ex = explore_model(m, budget, search, sym, red, notes, run=run)
    if hasattr(ex, "summary"):
        notes.append(ex.summary())
    traces = _traces_within(
        m, ex, sym, red, budget, search, notes, reduced=ample is not None, run=run
    )
    walked, said = beyond(m, ex, budget)  # what the search stopped before, found further
    release_frozen()
    verdict, met, reason = _verdict(m, ex, por=ample is not None)
    reason = f"{reason}; {said}" if said else reason
    cov, cov_note = _coverage(m, ex, sym, verdict)
    r = Result(
        m.checked.title,
        m.checked.file,
        m.model,
        m.checked.params,
        verdict,
        tuple(sorted(ex.found.keys() | {t.kind for t in walked})),
        tuple(sorted(traces + walked, key=lambda t: t.kind)),
        len(ex.states),
        ex.transitions,
        time.monotonic() - start,
        expect_text(m.checked.expect_for(m.model)),
        met,
        "native" if isinstance(ex, NativeExploration) else "explicit",
        reason,
        reductions=reductions(sym, red, search.stop_at_first) + tuple(notes),
        unreached=cov.unreached,
        vacuous=cov.vacuous,
        coverage=cov_note,
    )
    return settle(r, m.system)


def _coverage(
    m: Model, ex: Exploration | NativeExploration, sym: Canon | None, verdict: str
) -> tuple[Coverage, str]:
    """Unreached statements and vacuity from the states ``ex`` explored (`run/coverage.py`),
    and what to say about them: nothing when the search finished, else that they count
    only what was explored, or why the search cannot give them."""
    families = [f.cores for f in sym.families if f.reduced] if sym is not None else []
    try:
        cov = coverage(m.program, m.system, ex.states, families, safe=verdict == "safe")
    except (TypeError, KeyError):  # the states stayed where the search ran
        return Coverage((), ()), (
            f"the {getattr(ex, 'engine', 'explicit')} search keeps its states to itself, so it "
            "reports no unreached statements and no vacuous verdicts (the explicit engine does)"
        )
    return cov, "" if ex.complete else "the search did not finish: only explored states count"


def _traces_within(
    m: Model,
    ex: Exploration | NativeExploration,
    sym: Canon | None,
    red: Reduction | None,
    budget: Budget,
    search: Search,
    notes: list[str],
    *,
    reduced: bool,
    run: Explore = explore,
) -> list[Trace]:
    """The traces of what ``ex`` found (shortest ones from an unreduced search when ``ex``
    was ``reduced``), within the budget plus a grace period; none when a limit is reached
    meanwhile (``ex`` then says so and is no longer complete)."""
    try:
        of = shortest(m, ex, sym, red, budget, search, notes, run) if reduced and ex.found else ex
        budget.phase = "building traces"
        budget.grace(TRACE_GRACE)  # what a search stopped by a limit found still gets traces
        out = traces_of(m, of, budget, kinds=sorted(ex.found))
        # the reduced search's own traces, when the unreduced one could not finish
        return [replace(t, shortest=False) for t in out] if reduced and of is ex else out
    except LimitReached as limit:
        ex.reason = f"{ex.reason}; {limit.reason}" if ex.stopped else ex.reason or limit.reason
        ex.complete, ex.stopped = False, False
        return []


def _verdict(m: Model, ex: Exploration, *, por: bool) -> tuple[str, bool, str]:
    """The verdict of a search, whether it meets the expectation, and the reason to show."""
    expect = m.checked.expect_for(m.model)
    kinds = tuple(sorted(ex.found))
    if ex.complete:
        verdict = "unsafe" if kinds else "safe"
        met = meets(expect, kinds)
    elif ex.stopped:
        verdict, met = "unsafe", meets_so_far(expect, kinds)
    else:
        verdict, met = "inconclusive", False
    if ex.complete or ex.stopped:
        return verdict, met, ex.reason
    # a reduced graph's depth bounds no execution
    return verdict, met, _what_next(ex, kinds, m.checked.params, por=por)


def _stopped(
    checked: CheckedSpec,
    model: str,
    expect: ExpectDecl | None,
    engine: str,
    reason: str,
    start: float,
) -> Result:
    """The result of a run a limit ended before its search began."""
    return Result(
        checked.title,
        checked.file,
        model,
        checked.params,
        "inconclusive",
        (),
        (),
        0,
        0,
        time.monotonic() - start,
        expect_text(expect),
        False,
        engine,
        reason,
    )


_LIMIT_OPTIONS = (("state limit", "--max-states"), ("memory limit", "--max-memory"))


def _what_next(
    ex: Exploration, kinds: tuple[str, ...], params: tuple[tuple[str, int], ...], por: bool = False
) -> str:
    """An inconclusive run's reason: the bound it did establish and what to try next
    (with partial-order reduction ``por`` a depth of the reduced graph bounds no
    execution: none is claimed)."""
    found = f"{', '.join(kinds)} found; no other problem" if kinds else "no problem"
    smaller = [f"a smaller instance (-D {k}={v - 1})" for k, v in params if v > 1][:1]
    steps = [
        next((f"raise {o}" for w, o in _LIMIT_OPTIONS if w in ex.reason), "raise --timeout"),
        *smaller,
        "or --engine smt (bounded, by depth)",
    ]
    bound = (
        "in the states searched (--no-por bounds the depth)"
        if por
        else f"within {depth_done(ex)} steps"
    )
    return f"{ex.reason}; {found} {bound}; next: {', '.join(steps)}"


def check_file(
    path: str, models: list[str] | None, defines: Sequence[str] = (), **options: Any
) -> list[Result]:
    """Load a spec and check it under each model (its declared one when ``models`` is
    None); ``options`` are those of `check_spec`."""
    started = options.pop("started", None) or time.monotonic()  # reading counts too
    try:
        checked = load_within(path, defines, options, started)
    except LimitReached as limit:
        engine = options.get("engine", "explicit")
        return [unloaded(path, m, limit.reason, started, engine) for m in models or ["-"]]
    return [
        check_spec(checked, m, **options, started=started if i == 0 else None)
        for i, m in enumerate(models or [checked.model])
    ]


def load_within(
    path: str, defines: Sequence[str], options: dict[str, Any], started: float
) -> CheckedSpec:
    """`load` within the time and memory limits of ``options`` (those of `check_spec`),
    counted from ``started``: reading and parsing a huge spec end as `LimitReached`
    naming the phase, like any other."""
    budget = Budget(None, options.get("timeout"), options.get("max_memory"), started=started)
    budget.phase = "reading"  # named by the watchdog if the read itself takes long
    with budget.watch():
        return load(path, list(defines), phase=budget.enter)


def unloaded(
    path: str, model: str, reason: str, started: float, engine: str = "explicit"
) -> Result:
    """The inconclusive result of a spec a limit stopped before it was loaded."""
    return Result(
        path, path, model, (), "inconclusive", (), (), 0, 0, time.monotonic() - started,
        None, False, engine, reason,
    )  # fmt: skip
