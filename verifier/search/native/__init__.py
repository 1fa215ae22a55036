"""The native search: the System compiled to a C program that searches breadth first.

`explore_native` is the Python entry point, a drop-in for `search.explicit.explore`
(same limits, reductions, stopping rules and the same `Found` per kind): it
generates C from the System (`cgen.py`: the commands from the same expressions
`run/compile.py` compiles, the canonical form from `symmetry.plan`, the ample
conditions from `por.reduction`), compiles it once per System (`build.py`, cached by
the source's hash), runs it with the limits as arguments and reads back what it
found: per kind, the command path to it and the state it ends in.  Traces are
rebuilt in Python from those paths (`trace.builder`), as the smt engine's are.  The
states stay in the C process: the result is a `NativeExploration`, which has the
explicit `Exploration`'s counts, flags and ``path``/``state`` for the states it
reported.

The program talks through its arguments (limits and switches), progress lines on
its standard output, and one result file; no Python extension is built.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import overload

from verifier.ir.system import System
from verifier.run.budget import Budget, LimitReached, rss_mb
from verifier.search.exploration import Found
from verifier.search.native.build import CompilerMissing, binary, compiler
from verifier.search.native.cgen import fits, kinds_of, source
from verifier.search.por import Reduction
from verifier.search.symmetry import Canon

ProgressFn = Callable[[int, int, int], None]  # (states, frontier, transitions)
BITSTATE_HASHES = 3  # bits set per state with --bitstate (SPIN's default -k3)
COLLAPSE_WIDEN = 1 << 16  # distinct blocks of a family after which indices take 4 bytes
MAX_COMMANDS = 20_000  # a bigger System runs in the Python search (its C takes minutes)


class NativeUnavailable(Exception):
    """The native search cannot run this System here (no C compiler, too big, a value
    outside a field's range); the caller runs the Python search and says why."""


def available() -> bool:
    """Is there a C compiler to build native searches with?"""
    return compiler() is not None


class KnownStates(Sequence[tuple[int, ...]]):
    """The explored states as the Python side sees them: their number, and the states
    the search reported (where each kind was found).  The others stay in the C process."""

    def __init__(self, n: int, known: dict[int, tuple[int, ...]]) -> None:
        self.n, self.known = n, known

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> tuple[int, ...]: ...
    @overload
    def __getitem__(self, i: slice) -> list[tuple[int, ...]]: ...
    def __getitem__(self, i: int | slice) -> tuple[int, ...] | list[tuple[int, ...]]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self.n))]
        if i not in self.known:
            raise KeyError(f"state {i} stayed in the native search (only found states are kept)")
        return self.known[i]

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        raise TypeError("the native search's states stay in its own process")


@dataclass
class NativeExploration:
    """What the native search explored, shaped as `explicit.Exploration` for its
    consumers: counts, ``found``, ``complete``/``stopped``/``reason``, ``expanded``,
    and ``path``/``state`` of every state in ``found``."""

    system: System
    states: KnownStates
    found: dict[str, Found]
    transitions: int
    complete: bool
    reason: str = ""
    seconds: float = 0.0
    stopped: bool = False
    expanded: int = 0
    depth: int = 0  # every execution of at most this many steps was checked
    paths: dict[int, list[int]] = field(default_factory=dict)
    peak_bytes: int = 0  # the C search's largest allocation total
    width: int = 0  # bytes of a packed state
    key_bytes: int = 0  # bytes of a stored key (collapsed keys: fewer than ``width``)
    omission: float = 0.0  # hash compaction, bitstate: the probability that some state was omitted
    bitstate: tuple[int, int, int] | None = None  # (bits, hash functions, bits set)
    hangs_skipped: bool = False  # bitstate keeps no graph: awaits were not analysed
    compiled: None = None  # the explicit search's compiled commands (none here)
    engine: str = "native"

    def state(self, i: int) -> tuple[int, ...]:
        return self.states[i]

    def path(self, state: int) -> list[int]:
        """Command ids from the initial state to ``state`` (a found one)."""
        if state == 0:
            return []
        return list(self.paths[state])

    def depth_done(self) -> int:
        return self.depth


def _reason(code: str, phase: str, budget: Budget) -> str:
    if code == "states":
        return budget.states_reached(native=True)
    if code == "time":
        return f"timeout after {budget.timeout:g} s ({phase})"
    if code == "memory":
        return f"memory limit of {budget.max_memory:g} MB reached ({phase})"
    if code == "first":
        return "stopped at the first problem"
    if code == "when":
        return "stopped: every kind asked for was found"
    return ""


def program(system: System, canon: Canon | None, red: Reduction | None) -> str:
    """The C source of ``system``'s native search."""
    runtime = resources.files(__package__).joinpath("runtime.c").read_text()
    plans = canon.plans if canon is not None and canon.fn is not None else ()
    loops = canon.loops if canon is not None and canon.fn is not None else ()
    return source(system, plans, red, runtime, loops)


def explore_native(
    system: System,
    *,
    budget: Budget,
    canon: Canon | None = None,
    reduction: Reduction | None = None,
    symmetry: bool = True,
    por: bool = True,
    stop_at_first: bool = False,
    stop_when: frozenset[str] | None = None,
    progress: ProgressFn | None = None,
    threads: int | None = None,
    hash_compact: bool = False,
    bitstate: int = 0,
    hashes: int = BITSTATE_HASHES,
    sleep: bool = False,
    hangs: bool = True,
    collapse: int = COLLAPSE_WIDEN,
    twins: bool = True,
) -> NativeExploration:
    """Explore every reachable state of ``system`` in the native search, within
    ``budget``'s limits (the native search's state limit, `Budget.states`); ``canon``:
    symmetry reduction (`symmetry.canon`), ``reduction``: partial-order reduction
    (`por.reduction`), used when ``symmetry``/``por`` (one program carries both, used
    or not); ``stop_at_first``/``stop_when`` as `explicit.explore`.  Raises `NativeUnavailable`
    when it cannot run here (the caller runs the Python search).  ``threads``: how many
    expand states at once (default: one per CPU this process may use); the result is
    the same whatever the number.  ``hash_compact``: keep each state as a 64-bit hash of
    its key (8 bytes, not the packed state): a state whose hash another one already has
    is omitted, with the probability ``omission`` of the result at most.  ``bitstate``:
    (SPIN's supertrace) no state table at all, a bit array of that many bits, each
    state setting ``hashes`` of them; a state whose bits are all set already is taken
    as visited (omitted, if it was not), ``omission`` bounds the probability; no graph
    is kept, so no hang analysis (``hangs_skipped``); ``sleep``, ``hangs``: `explore`'s.
    ``collapse``: with symmetry, store a state as its other fields and an index per
    family position into a table of distinct blocks (collapse_c.py; the same search),
    2 bytes each until a family has this many distinct blocks, then 4; 0: off.
    ``twins``: with symmetry, skip the steps of an instance with a twin earlier in the
    state (`twins.skipping`, as `explicit.explore` with ``twins``)."""
    start = time.monotonic()
    if len(system.commands) > MAX_COMMANDS:
        raise NativeUnavailable(f"more than {MAX_COMMANDS} commands")
    why = fits(system)
    if why:
        raise NativeUnavailable(why)
    try:
        budget.enter("compiling")
        exe = binary(program(system, canon, reduction), budget)
        budget.enter("search")
    except CompilerMissing as exc:
        raise NativeUnavailable(str(exc)) from None
    except LimitReached as limit:
        return NativeExploration(system, KnownStates(0, {}), {}, 0, False, limit.reason)
    kinds = kinds_of(system)
    on = {
        "symmetry": symmetry and canon is not None and canon.fn is not None,
        "por": por and reduction is not None and bool(reduction.conditions),
        "stop_first": stop_at_first, "hash_compact": hash_compact, "sleep": sleep, "twins": twins,
        "hangs": hangs, "bitstate": max(0, int(bitstate)), "collapse": max(0, int(collapse)),
    }  # fmt: skip
    args = [f"max_states={budget.states(native=True)}", "progress=0.5", f"hashes={hashes}"]
    args += [f"threads={threads or len(os.sched_getaffinity(0))}"]
    args += [f"{k}={int(v)}" for k, v in on.items()]
    if stop_when is not None:
        args.append(
            "stop_when=" + ",".join(str(kinds.index(k)) for k in sorted(stop_when) if k in kinds)
        )
    if budget.timeout is not None:
        args.append(f"timeout={budget.remaining():.3f}")
    if budget.max_memory is not None:
        args.append(f"max_mb={max(1.0, budget.max_memory - rss_mb() - 8):.1f}")
    with tempfile.TemporaryDirectory(prefix="tlbcheck-native-") as tmp:
        result = os.path.join(tmp, "result")
        lines, err = _run([str(exe), result, *args], budget, progress)
        if err:
            raise err
        lines = _read_result(result)
    ex = _parse(system, lines, kinds, budget, stop_at_first, stop_when)
    ex.seconds = time.monotonic() - start
    return ex


def _read_result(path: str) -> list[str]:
    with open(path) as f:
        lines = f.read().split("\n")
    if os.environ.get("TLBCHECK_NATIVE_MEMORY"):  # where the bytes went (benchmarks)
        print(*(x for x in lines if x.startswith("memory")), file=sys.stderr)
    return lines


def _run(
    argv: list[str], budget: Budget, progress: ProgressFn | None
) -> tuple[list[str], Exception | None]:
    """Run the search, passing its progress lines on; (its other output, an error)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    other: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            parts = line.split()
            if parts[:1] == ["progress"] and len(parts) == 4:
                if progress is not None:
                    progress(int(parts[1]), int(parts[2]), int(parts[3]))
            else:
                other.append(line)
        stderr = proc.stderr.read() if proc.stderr is not None else ""
        rc = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if rc == 4 and stderr.startswith("range "):
        return other, NativeUnavailable(
            f"a value outside the declared range of field {stderr.split()[1]}"
        )
    if rc != 0:
        return other, RuntimeError(f"the native search failed (exit {rc}): {stderr[-2000:]}")
    return other, None


def _parse(
    system: System,
    lines: list[str],
    kinds: list[str],
    budget: Budget,
    stop_at_first: bool,
    stop_when: frozenset[str] | None,
) -> NativeExploration:
    head: dict[str, str] = {}
    found: dict[str, Found] = {}
    paths: dict[int, list[int]] = {}
    known: dict[int, tuple[int, ...]] = {}
    where: dict[int, int] = {}  # kind number -> state
    bits: tuple[int, int, int] | None = None
    no_hangs = False
    for line in lines:
        word, _, rest = line.partition(" ")
        if word == "found":
            k, state, cid, check, core, pc, stuck = map(int, rest.split())
            kind = "hang" if k == len(kinds) else kinds[k]
            found[kind] = Found(kind, state, cid, check, core, pc, bool(stuck))
            where[k] = state
        elif word == "path":
            k, n, *cids = map(int, rest.split())
            assert len(cids) == n
            paths[where[k]] = cids
        elif word == "state":
            k, *values = map(int, rest.split())
            known[where[k]] = tuple(values)
        elif word == "bitstate":
            nbits, k, nset, views = map(int, rest.split())
            bits, no_hangs = (nbits, k, nset), bool(views)
        elif word:
            head[word] = rest
    if "end" not in head:
        raise RuntimeError("the native search's result file is incomplete")
    complete = head["complete"] == "1"
    code = head["reason"].split()[0] if head["reason"] != "-" else ""
    phase = head.get("phase", "search")
    stopped = bool(found) and (
        stop_at_first or (stop_when is not None and stop_when <= found.keys())
    )
    return NativeExploration(
        system,
        KnownStates(int(head["states"]), known),
        found,
        int(head["transitions"]),
        complete,
        _reason(code, phase, budget),
        stopped=stopped,
        expanded=int(head["expanded"]),
        depth=int(head["depth"]),
        paths=paths,
        peak_bytes=int(head["bytes"]),
        width=int(head["width"]),
        key_bytes=int(head.get("key", "0")),
        omission=float(head.get("omission", "0")),
        bitstate=bits,
        hangs_skipped=no_hangs,
    )
