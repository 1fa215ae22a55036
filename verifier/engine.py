"""Which search explores a Model: the native one, the Python one, or `auto` (the Python
search for a small state space, the native one beyond it); the unreduced search that
rebuilds shortest traces after a partial-order-reduced one (the same engine); and,
after a search a state or memory limit ended, random walks past it (`beyond`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from verifier.ir.system import System
from verifier.run.budget import Budget, LimitReached
from verifier.run.model import Model
from verifier.run.result import Trace
from verifier.search.explicit import ProgressFn, explore
from verifier.search.exploration import Exploration
from verifier.search.native import NativeExploration, NativeUnavailable, explore_native
from verifier.search.native import available as native_available
from verifier.search.por import Reduction, reduction
from verifier.search.symmetry import Canon, canon
from verifier.search.symmetry_loops import program_order
from verifier.search.walk import walk
from verifier.trace.builder import TraceBuilder

ENGINES = ("auto", "native", "explicit", "smt")
# the search that rebuilds shortest traces skips commuting siblings' steps (`commute.py`);
# off only to measure what that saves (benchmarks/bench_unsafe_cost.py)
SLEEP = True
Explore = Callable[..., Any]  # `explicit.explore`, or a search with its keywords
BITSTATE_MB = 1024  # --bitstate's array at most, unless sized (2^33 bits)
NATIVE_AFTER = 20_000  # `auto`: states the Python search may take before the native one runs


@dataclass(frozen=True)
class Search:
    """How a search explores: ``symmetry`` stores one state per orbit of each symmetric
    core family, ``por`` applies partial-order reduction, ``stop_at_first`` ends at the
    first problem; ``progress`` hears from the search."""

    symmetry: bool = True
    por: bool = True
    stop_at_first: bool = False
    progress: ProgressFn | None = None
    engine: str = "auto"  # `native`, `explicit`, or `auto`: see `explore_model`
    cluster: str | None = None  # a Ray address: the search spread over its workers
    workers: int | None = None  # partitions on the cluster (default: one per CPU)
    hash_compact: bool = False  # native: states kept as 64-bit hashes (see `hashed`)
    bitstate: float | None = None  # native: MB of SPIN's bit array, no state table (0: auto)
    # told when a second search begins, whose counts start again (`shortest`)
    stage: Callable[[str], None] | None = None


def explore_model(
    m: Model,
    budget: Budget,
    search: Search,
    sym: Canon | None,
    red: Reduction | None,
    notes: list[str],
    *,
    por: bool = True,
    stop_when: frozenset[str] | None = None,
    compiled: Any = None,
    run: Explore = explore,
    sleep: bool = False,
    hangs: bool = True,
) -> Exploration | NativeExploration:
    """One search of ``m``: the native one (`search.native`), or the Python one; `auto`
    runs the Python search up to `NATIVE_AFTER` states (no compiling for a small space)
    and the native one when that is not enough.  Where the native search cannot run
    (no C compiler), the Python one does and ``notes`` says why.  Each search takes
    its state limit from ``budget`` (`Budget.states`: the one given, else the default
    of the search that runs, so a native search may go further).  ``por``: use ``red``.
    ``run``: the Python search, or one with its keywords (`ClusterSearch.explore`:
    then that one runs, whatever the engine).  ``sleep``, ``hangs``: as `explicit.explore`
    (the search that rebuilds shortest traces, `shortest`)."""
    ample = red.ample if por and red is not None and red.sites else None
    system, twins = searched(m, sym), sym.twins if sym is not None else None

    def python(b: Budget) -> Exploration:  # (the cluster's partitions skip twins themselves)
        more = {"sleep": sleep, "hangs": hangs, "twins": twins} if run is explore else {}
        return run(
            system,
            progress=search.progress,
            budget=b,
            canon=sym.fn if sym is not None else None,
            stop_at_first=search.stop_at_first,
            ample=ample,
            stop_when=stop_when,
            compiled=compiled,
            **more,
        )

    engine = search.engine if run is explore else "explicit"
    if engine == "auto" and not native_available():
        engine = "explicit"
        note(notes, "native search not used: no C compiler (cc, gcc or clang) found")
    if engine == "auto" and budget.max_states is not None and budget.max_states <= NATIVE_AFTER:
        engine = "explicit"
    lossy = search.hash_compact or search.bitstate is not None
    if lossy and engine == "explicit":
        what = "bitstate" if search.bitstate is not None else "hash compaction"
        note(notes, f"no {what}: only the native search has it (this search is exact)")
    if engine == "auto" and not lossy:
        ex = python(replace(budget, max_states=NATIVE_AFTER))
        if ex.complete or ex.stopped or "state limit" not in ex.reason:
            return ex
    if engine in ("auto", "native"):
        full = sym or canon(m.system, m.program)  # one program, reductions on or off (a
        # loop's alternative commands fire only with symmetry on: symmetry_loops)
        try:
            ex = explore_native(
                searched(m, full),
                budget=budget,
                canon=full,
                reduction=red or reduction(searched(m, full)),
                symmetry=sym is not None,
                por=ample is not None,
                stop_at_first=search.stop_at_first,
                stop_when=stop_when,
                progress=search.progress,
                hash_compact=search.hash_compact,
                bitstate=bitstate_bits(search.bitstate, budget),
                sleep=sleep,
                hangs=hangs,
            )
            return hashed(ex) if lossy else ex
        except NativeUnavailable as why:
            note(notes, f"native search not used: {why}")
        except RuntimeError as bug:  # the compiler or the program failed: a bug, said so
            note(notes, f"native search not used: it failed ({str(bug)[:300]})")
    return python(budget)


def searched(m: Model, sym: Canon | None) -> System:
    """The system a search of ``m`` explores: with symmetry through a loop over a
    family, the program's with the loop's alternative commands (`symmetry_loops`)."""
    return sym.system if sym is not None and sym.system is not None else m.system


def bitstate_bits(mb: float | None, budget: Budget) -> int:
    """The bit array's size for ``--bitstate MB`` (0: half of ``--max-memory``, at most
    `BITSTATE_MB`); 0 when bitstate is off."""
    if mb is None:
        return 0
    if not mb:
        mb = min(budget.max_memory / 2, BITSTATE_MB) if budget.max_memory else BITSTATE_MB
    return max(1 << 16, int(mb * 8 * 2**20))


def unloop(ex: Any, m: Model) -> Callable[[list[int], int | None], Any]:
    """What turns a path of search ``ex`` of ``m`` into one of the user's program
    (`symmetry_loops.program_order`: a loop's alternatives renamed back)."""
    return program_order(getattr(ex, "system", None) or m.system)


def hashed(ex: NativeExploration) -> NativeExploration:
    """A search with hash compaction or bitstate says plainly what its `safe` is worth."""
    if not ex.complete:
        return ex
    if ex.bitstate is None:
        how = "hash compaction"
    else:
        nbits, k, nset = ex.bitstate
        how = (
            f"bitstate: {nbits / 8 / 2**20:.4g} MB of bits, {k} per state, "
            f"{100 * nset / nbits:.2g}% of them set"
        )
    ex.reason = (
        f"{how}: a state may have been omitted, with probability at most {ex.omission:.1g}; "
        "`safe`, and every kind not found, hold only up to that probability"
    )
    if ex.hangs_skipped:
        ex.reason += "; hangs were not looked for (bitstate keeps no graph to analyse awaits on)"
    return ex


def note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)


def shortest(
    m: Model,
    reduced: Exploration | NativeExploration,
    sym: Canon | None,
    red: Reduction | None,
    budget: Budget,
    search: Search,
    notes: list[str],
    run: Explore = explore,
) -> Exploration | NativeExploration:
    """The search to take shortest traces of what ``reduced`` (a search with
    partial-order reduction) found from: one without the reduction, breadth first,
    until it has found every kind ``reduced`` found (to the end when one is `hang`).
    The verdict, kinds and counts stay those of ``reduced``.  When that search reaches
    a limit, or ``reduced`` itself did (the other would too), ``reduced`` itself (its
    traces are real executions, maybe not shortest), and ``notes`` says so."""
    kinds = frozenset(reduced.found)
    if not reduced.complete:  # that search would reach the same limit, later
        notes.append(not_shortest(reduced.reason, "was not run"))
        return reduced
    if search.stage is not None:
        search.stage(STAGE)
    try:
        # the same search as ``reduced`` (a native one reuses its compiled program)
        native = isinstance(reduced, NativeExploration)
        full = explore_model(
            m,
            budget,
            replace(search, stop_at_first=False, engine="native" if native else "explicit"),
            sym,
            red,
            notes,
            por=False,
            stop_when=None if "hang" in kinds else kinds,
            compiled=reduced.compiled,
            run=run,
            sleep=SLEEP,
            hangs="hang" in kinds,
        )
    except LimitReached as limit:
        notes.append(not_shortest(limit.reason))
        return reduced
    if not kinds <= full.found.keys():
        notes.append(not_shortest(full.reason))
        return reduced
    notes.append(f"{RETRACED}{len(full.states)} states searched again without it")
    return full


RETRACED = "shortest traces: "  # the note saying what the search for them stored
STAGE = "shortest traces"  # what `Search.stage` is told that search is for


def not_shortest(why: str, what: str = "ended") -> str:
    return f"traces may not be shortest: the search without partial-order reduction {what} ({why})"


def depth_done(ex: Exploration | NativeExploration) -> int:
    """Every execution of at most this many steps was checked: the search is breadth
    first, so all states shallower than the first one left unexpanded were expanded."""
    if isinstance(ex, NativeExploration):
        return ex.depth
    first = ex.expanded  # states 0 .. first-1 were expanded (edges are not always kept)
    if first >= len(ex.states):
        return len(ex.path(len(ex.states) - 1)) + 1
    return len(ex.path(first))


def reductions(
    sym: Canon | None, red: Reduction | None = None, stop_at_first: bool = False
) -> tuple[str, ...]:
    """What the output says about the reductions: each family reduced by symmetry, or
    why not; where partial-order reduction applies, or why it did not run."""
    out: list[str] = []
    if sym is not None:
        out += [
            f"symmetry over {f.name}" if f.reduced else f"no symmetry over {f.name}: {f.why}"
            for f in sym.families
            if len(f.cores) > 1
        ]
    if red is not None:
        out.append(
            f"partial-order reduction at {red.sites} of {red.of} code positions"
            if red.sites
            else "no partial-order reduction: no code position has an ample set"
        )
    elif stop_at_first:
        out.append("no partial-order reduction: --stop-at-first wants a shortest trace")
    return tuple(out)


# the limits after which random walks look for what the search did not reach: not a
# timeout (the user's time is up), and not after --stop-at-first (it found what it wanted)
WALK_AFTER = ("state limit", "memory limit")


def beyond(
    m: Model, ex: Exploration | NativeExploration, budget: Budget
) -> tuple[list[Trace], str]:
    """After a search a state or memory limit ended: seeded random walks (`search/walk.py`,
    within the time left) for the kinds it did not find, `hang` aside.  A kind they meet
    is reachable: its trace (shortened; maybe not shortest) and the words the reason
    adds.  The run stays inconclusive: the kinds not met are not decided."""
    stopped_by = [w for w in WALK_AFTER if w in ex.reason]
    if ex.complete or ex.stopped or not stopped_by or "timeout" in ex.reason:
        return [], ""
    want = [k for k in m.system.check_kinds() if k not in ex.found]
    if not want:
        return [], ""
    late: list[str] = []

    def stop() -> bool:  # at the timeout itself: walks take no grace past it
        if budget.timeout is not None and budget.elapsed() >= budget.timeout:
            late.append(f"timeout after {budget.limit:g} s")
        else:
            try:
                budget.check()
            except LimitReached as limit:
                late.append(limit.reason)
        return bool(late)

    budget.phase = "random walks"
    out = []
    try:
        tb = TraceBuilder.of(m, budget)
        for kind, w in sorted(walk(m.system, tb.compiled, want, stop=stop).items()):
            t = tb.check_trace(kind, w.path, w.command, w.check, w.pre, m.checked.title, m.model)
            out.append(replace(t, shortest=False))
    except LimitReached as limit:  # the watchdog, while a trace was built
        late.append(limit.reason)
    cut = f" (cut short: {late[0]})" if late else ""
    if not out:
        return [], f"random walks past the {stopped_by[0]} met none of {', '.join(want)}{cut}"
    said = ", ".join(f"{t.kind} ({len(t.steps)} steps)" for t in out)
    return out, (
        f"past the {stopped_by[0]}, random walks found {said}{cut}: real executions, "
        "shortened, not shown shortest"
    )
