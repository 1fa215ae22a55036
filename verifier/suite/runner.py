"""The regression suite: run every spec under every model its `expect` lines name.

collect -> plan -> run -> report:

- `find_specs` turns the PATH arguments into a sorted list of `.tlb` files;
- `plan` loads each spec and makes one `Job` per model its `expect` lines
  name (the declared model, expecting safe, for a spec without one); a spec
  that does not load becomes a failed `Outcome` holding its diagnostic;
- `run_jobs` runs the jobs, in worker processes for ``jobs > 1``, and returns
  the outcomes in job order whatever order they finish in;
- `render` gives the table, the failures in detail and the summary
  (`junit.py` gives the same outcomes as JUnit XML; `command.py` is the whole command).

The pytest plugin (`verifier.suite.pytest_plugin`) reuses `judge`, `describe_*` and
`failure_text` so that `pytest specs/` and `tlbcheck suite` agree.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifier.lang.diagnostics import SpecError
from verifier.report import terminal
from verifier.run.result import Result, Trace
from verifier.suite.parallel import Interrupted, run_parallel

if TYPE_CHECKING:
    from verifier.lang.ast import ExpectDecl
    from verifier.lang.checked import CheckedSpec

OK, FAIL, INCONCLUSIVE, ERROR = "ok", "FAIL", "inconclusive", "error"
STATUSES = (OK, FAIL, INCONCLUSIVE, ERROR)


# ---------------------------------------------------------------- collection


def find_specs(paths: Sequence[str]) -> list[Path]:
    """The `.tlb` files named by ``paths``: files as given, directories searched
    recursively and sorted.  Duplicates are dropped.  Raises FileNotFoundError
    naming the first path that does not exist."""
    out: list[Path] = []
    seen: set[Path] = set()
    for arg in paths:
        p = Path(arg)
        if not p.exists():
            raise FileNotFoundError(arg)
        found = sorted(p.rglob("*.tlb")) if p.is_dir() else [p]
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def display_path(path: Path | str, base: Path | None = None) -> str:
    """``path`` relative to ``base`` (default cwd) when inside it, POSIX-style."""
    p = Path(path)
    base = (base or Path.cwd()).resolve()
    try:
        return p.resolve().relative_to(base).as_posix()
    except ValueError:
        return str(p)


def models_for(checked: CheckedSpec) -> list[str]:
    """The models a spec is run under: those its `expect` lines name, else its own."""
    from verifier import api

    return list(api.expected_models(checked)) or [checked.model]


def describe_expect(expect: ExpectDecl | None) -> str:
    """`safe`, `race`, `race stale-translation, use-after-free`, `hang`."""
    if expect is None:
        return "safe"
    if expect.verdict == "race" and expect.kinds:
        return "race " + ", ".join(expect.kinds)
    return expect.verdict


def describe_got(result: Result) -> str:
    """What a run found, in the words of an `expect` line."""
    if result.verdict == "safe":
        return "safe (vacuous)" if result.is_vacuous else "safe"
    if result.verdict == "unsafe":
        if tuple(result.kinds) == ("hang",):
            return "hang"
        return "race " + ", ".join(result.kinds)
    if result.verdict == "inconclusive" and result.kinds:
        return "inconclusive (race " + ", ".join(result.kinds) + ")"
    return result.verdict


def judge(result: Result) -> str:
    """OK, FAIL, INCONCLUSIVE or ERROR for one result."""
    if result.verdict == "inconclusive":
        return INCONCLUSIVE
    if result.verdict == "error":
        return ERROR
    met = result.verdict == "safe" if result.expected is None else result.expectation_met
    return OK if met else FAIL


@dataclass(frozen=True)
class Job:
    """One spec under one model.  ``path`` is what the worker opens and what is shown."""

    path: str
    model: str
    expected: str
    defines: tuple[str, ...] = ()  # -D NAME=VALUE of a parameter sweep (`sweep.py`)


@dataclass(frozen=True)
class Outcome:
    """What came of a job, or of a spec that did not load (``model`` '-')."""

    path: str
    model: str
    expected: str
    status: str  # one of STATUSES
    result: Result | None = None
    error: str = ""  # the diagnostic of bad input, or an internal error's traceback
    bad_input: bool = False
    defines: tuple[str, ...] = ()  # the job's -D NAME=VALUE (a parameter sweep)

    @property
    def spec(self) -> str:
        """The spec as the table names it: its path, and the sweep's -D values."""
        return " ".join([self.path, *(f"-D {d}" for d in self.defines)])

    @property
    def got(self) -> str:
        if self.result is not None:
            return describe_got(self.result)
        return "bad input" if self.bad_input else "internal error"


Planned = Job | Outcome
Sweep = tuple[str, tuple[int, ...]]  # a swept parameter and its values


def plan(
    specs: Iterable[Path],
    base: Path | None = None,
    sweep: Sequence[Sweep] = (),
    limits: Limits | None = None,
) -> list[Planned]:
    """Load each spec and list its jobs (or its failed `Outcome`), in order; with a
    ``sweep`` (`sweep.parse`), one set of jobs per combination of its values.  Each
    load holds the jobs' time and memory limits (``limits``): a spec that does not load
    within them is an inconclusive `Outcome` naming the limit."""
    from verifier.api import load_within, unloaded
    from verifier.run.budget import LimitReached
    from verifier.suite.sweep import settings

    options = (limits or Limits()).kwargs()
    out: list[Planned] = []
    for spec in specs:
        path = display_path(spec, base)
        started = time.monotonic()
        try:
            checked = load_within(path, [], options, started)
            runs = []
            declared = {k for k, _ in checked.params} if sweep else set()
            for defines in settings(sweep, declared):
                each = load_within(path, defines, options, started) if defines else checked
                runs += [(m, defines, each) for m in models_for(each)]
        except LimitReached as limit:
            stopped = unloaded(path, "-", f"{limit.reason} while planning the suite", started)
            out.append(Outcome(path, "-", "-", INCONCLUSIVE, result=stopped))
            continue
        except SpecError as err:
            out.append(Outcome(path, "-", "-", ERROR, error=str(err), bad_input=True))
            continue
        except Exception:
            out.append(Outcome(path, "-", "-", ERROR, error=_internal()))
            continue
        for model, defines, each in runs:
            out.append(Job(path, model, describe_expect(each.expect_for(model)), defines))
    return out


def _internal() -> str:
    return "internal error (a bug in tlbcheck):\n" + traceback.format_exc().rstrip()


# ---------------------------------------------------------------- running


@dataclass(frozen=True)
class Limits:
    """The limits every job runs with, and the reductions it may use."""

    max_states: int | None = None
    timeout: float | None = None
    max_memory: float | None = None  # MB, per worker process
    symmetry: bool = True
    por: bool = True
    strict: bool = False  # a vacuous safe verdict fails (`api.strict`)

    def kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if not self.symmetry:
            kw["symmetry"] = False
        if not self.por:
            kw["por"] = False
        if self.max_states is not None:
            kw["max_states"] = self.max_states
        if self.timeout is not None:
            kw["timeout"] = self.timeout
        if self.max_memory is not None:
            kw["max_memory"] = self.max_memory
        return kw


def run_job(job: Job, limits: Limits | None = None, source: str | None = None) -> Outcome:
    """Run one job; never raises (bad input and internal errors become outcomes).
    ``source``: the spec's text (read by the caller: a cluster worker may not see the
    file)."""
    from verifier import api
    from verifier.lang.frontend import load_text

    limits = limits or Limits()

    def failed(error: str, bad_input: bool = False) -> Outcome:
        return Outcome(
            job.path, job.model, job.expected, ERROR, error=error, bad_input=bad_input,
            defines=job.defines,
        )  # fmt: skip

    try:
        if source is None:
            results = api.check_file(job.path, [job.model], job.defines, **limits.kwargs())
        else:
            checked = load_text(source, job.path, list(job.defines))
            results = [api.check_spec(checked, job.model, **limits.kwargs())]
    except SpecError as err:
        return failed(str(err), bad_input=True)
    except Exception:
        return failed(_internal())
    if len(results) != 1:
        return failed(f"internal error: check_file gave {len(results)} results for one model")
    result = api.strict(results[0]) if limits.strict else results[0]
    return Outcome(
        job.path, job.model, job.expected, judge(result), result=result, defines=job.defines
    )


Progress = Callable[[int, int, Outcome], None]
Execute = Callable[[Sequence[Job], Limits, "Progress | None"], list[Outcome]]


def run_jobs(
    planned: Sequence[Planned],
    limits: Limits | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
    execute: Execute | None = None,
) -> list[Outcome]:
    """Run every `Job` in ``planned`` and return one `Outcome` per entry, in order
    (``execute``: runs the jobs elsewhere, e.g. as Ray tasks, `suite/cluster.py`)."""
    limits = limits or Limits()
    todo = [p for p in planned if isinstance(p, Job)]
    done: list[Outcome] = []

    def record(o: Outcome) -> None:
        done.append(o)
        if progress:
            progress(len(done), len(todo), o)

    try:
        if execute is not None:
            done += execute(todo, limits, progress)
        elif jobs <= 1 or len(todo) <= 1:
            for job in todo:
                record(run_job(job, limits))
        else:
            run_parallel(run_job, [(job, limits) for job in todo], jobs, record)
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM/SIGHUP under the command line
        raise Interrupted(todo[len(done) :], getattr(stop, "signum", 2), done) from None
    ran = iter(done)
    return [next(ran) if isinstance(p, Job) else p for p in planned]


# ---------------------------------------------------------------- reporting


def trace_text(trace: Trace) -> str:
    """A heading, then the trace as `tlbcheck check` prints it."""
    from verifier.report.render_text import render_text

    head = f"{trace.kind} under {trace.model}, {len(trace.steps)} steps:"
    return head + "\n" + render_text(trace).rstrip("\n")


def failure_text(o: Outcome) -> str:
    """Expected vs got, why, and every trace of a failed outcome."""
    if o.error:
        return o.error
    lines = [f"expected: {o.expected}", f"got:      {o.got}"]
    r = o.result
    if r is not None:
        if r.reason:
            lines.append(f"reason:   {r.reason}")
        lines += [f"unreached: {u.who}: {u.where}  {u.text}" for u in r.unreached]
        lines.append(f"states:   {r.states}")
        for t in r.traces:
            lines.append("")
            lines.append(trace_text(t))
    return "\n".join(lines)


_STYLE = {OK: "safe", FAIL: "mismatch", INCONCLUSIVE: "inconclusive", ERROR: "error"}

HEADERS = ["status", "spec", "model", "expected", "got", "states", "time"]


def rows(outcomes: Sequence[Outcome], color: bool = False) -> list[list[str]]:
    out = []
    for o in outcomes:
        r = o.result
        status = terminal.paint(o.status, _STYLE[o.status], color)
        out.append(
            [
                status,
                o.spec,
                o.model,
                o.expected,
                o.got,
                str(r.states) if r else "-",
                f"{r.seconds:.2f}s" if r else "-",
            ]
        )
    return out


def summary_lines(outcomes: Sequence[Outcome]) -> list[str]:
    """The closing lines; the last one is exactly `N passed, N failed`."""
    passed = sum(o.status == OK for o in outcomes)
    failed = len(outcomes) - passed
    inconclusive = sum(o.status == INCONCLUSIVE for o in outcomes)
    bad = sum(o.status == ERROR and o.bad_input for o in outcomes)
    internal = sum(o.status == ERROR and not o.bad_input for o in outcomes)
    extra = [
        f"{n} {what}"
        for n, what in ((inconclusive, "inconclusive"), (bad, "bad input"), (internal, "error"))
        if n
    ]
    lines = []
    if extra:
        lines.append("counted as failed: " + ", ".join(extra))
    lines.append(f"{passed} passed, {failed} failed")
    return lines


def render(outcomes: Sequence[Outcome], color: bool = False) -> str:
    """The table, each failure in detail, then the summary (deterministic)."""
    parts = [terminal.table(rows(outcomes, color), HEADERS).rstrip("\n")]
    for o in outcomes:
        where = o.spec if o.model == "-" else f"{o.spec} under {o.model}"
        if o.status == OK and o.result is not None and o.result.is_vacuous:
            head = terminal.paint(f"VACUOUS: {where}", "inconclusive", color)
            warn = "\n".join(f"safe says nothing of {v}" for v in o.result.vacuous)
            parts.append(f"{head}\n{_indent(warn)}")
        if o.status == OK:
            continue
        head = terminal.paint(f"{o.status.upper()}: {where}", _STYLE[o.status], color)
        parts.append(f"{head}\n{_indent(failure_text(o))}")
    parts.append("\n".join(summary_lines(outcomes)))
    return "\n\n".join(parts) + "\n"


def _indent(text: str) -> str:
    return "\n".join(("    " + ln) if ln else "" for ln in text.splitlines())
