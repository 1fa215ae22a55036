"""Replaying a saved trace against its spec: every step must still be an enabled rule of
the machine, and the last one must reach the same problem kind.

A trace that carries its spec text (every trace tlbcheck writes) is first re-derived
from that text: every step's core, statement, effect, span, links and problems, the
trace's cores and its problem must be exactly what the spec produces, or the trace is
refused (`ReplayOutcome.refused`, exit 2) naming the first step that differs, since
it was edited or damaged after it was written.  Only then is it replayed against the
spec file when that has changed (a step that no longer runs there: not reproduced,
exit 1).  A trace without its spec text is only replayed.  The ``params`` a trace
records are checked like a ``-D`` and named as the trace's in every message.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from verifier.lang.check import MAX_INT
from verifier.lang.checked import CheckedSpec
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load, load_text, read_source
from verifier.run.model import Model
from verifier.run.result import Problem, Step, Trace
from verifier.trace.builder import ReplayError, TraceBuilder

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ReplayOutcome:
    reproduced: bool
    message: str
    trace: Trace | None = None
    refused: bool = False  # the trace does not match what its own spec produces


def replay_trace(
    trace: Trace, spec_path: str | None = None, defines: Sequence[str] = ()
) -> ReplayOutcome:
    """Re-execute a saved trace step by step against the spec: every step must be an
    enabled rule of the machine, and the last one must reach the same problem kind.
    Without ``spec_path`` the trace's own copy of the spec text is used (see the
    module's notes for the check of a trace against that copy)."""
    if not defines:
        bad = _bad_params(trace)
        if bad:
            return ReplayOutcome(False, bad, refused=True)
    defs = list(defines) or [f"{k}={v}" for k, v in trace.params]
    if trace.source is not None:
        checked = _trace_params(lambda: load_text(trace.source or "", trace.file, defs), defines)
        own = _rederive(trace, Model.of(checked, trace.model), exact=True)
        if not own.reproduced:
            why = f"the trace does not match its spec text: {own.message}"
            return ReplayOutcome(False, why, refused=True)
        if spec_path is None or _text(spec_path) == trace.source:
            return own
    checked = _trace_params(lambda: load(spec_path or trace.file, defs), defines)
    return _rederive(trace, Model.of(checked, trace.model), exact=False)


def _text(path: str) -> str | None:
    try:
        return read_source(path)
    except SpecError:
        return None


def _bad_params(trace: Trace) -> str:
    """What is wrong with the trace's ``params`` as values of a spec's params."""
    for k, v in trace.params:
        if not _NAME.fullmatch(k):
            return f"the trace's params: {k!r} is not a param name"
        if abs(v) > MAX_INT:
            return f"the trace's params: {k}={v} is out of range (at most {MAX_INT})"
    return ""


def _trace_params(load_it: Any, defines: Sequence[str]) -> CheckedSpec:
    """``load_it()``; a complaint about params it did not get from ``-D`` (``defines``
    is empty: they are the trace's) names the trace's params, not a -D option."""
    try:
        return load_it()  # type: ignore[no-any-return]
    except SpecError as err:
        if defines:
            raise
        diags = [
            dataclasses.replace(d, message="the trace's params: " + d.message[3:])
            if d.message.startswith("-D ")
            else d
            for d in err.diagnostics
        ]
        raise SpecError(diags, err.sources) from None


def _rederive(trace: Trace, m: Model, *, exact: bool) -> ReplayOutcome:
    """Run ``trace``'s steps on ``m``; with ``exact``, the trace must also say exactly
    what each step does (effects, spans, links, problems) and name the spec's cores."""
    if exact:
        cores = tuple(c.name for c in m.program.cores)
        if trace.cores != cores:
            return ReplayOutcome(
                False, f"its cores are {', '.join(trace.cores)}; the spec's: {', '.join(cores)}"
            )
    by_key = {c.key: c for c in m.system.commands}
    path = []
    for step in trace.steps:
        cmd = by_key.get(step.key)
        # a drain step shows the store it completes, not the rule's own text
        if cmd is None or (cmd.text != step.text and cmd.action != "drain"):
            return ReplayOutcome(False, _missing_step(m, step))
        path.append(cmd.id)
    tb = TraceBuilder.of(m)
    try:
        states = tb.run(path)
    except ReplayError as err:
        step = trace.steps[err.index - 1]
        return ReplayOutcome(False, f"step {step.index}: {_was(step)} cannot run at that point")
    problem = _problem_at_end(m, tb, trace.kind, path, states)
    if problem is None:
        return ReplayOutcome(
            False, f"the trace runs, but its last step no longer reaches {trace.kind}"
        )
    fresh = tb.trace(trace.kind, path, problem, m.checked.title, trace.model, trace.engine)
    if exact:
        differs = _first_difference(trace, fresh)
        if differs:
            return ReplayOutcome(False, differs)
    return ReplayOutcome(
        True, f"reproduces {trace.kind} in {len(path)} steps: {problem.message}", fresh
    )


def _was(step: Step) -> str:
    return f"{step.core} `{step.text}`" + (f" (line {step.span.line})" if step.span else "")


def _first_difference(saved: Trace, fresh: Trace) -> str:
    """Where ``saved`` first says something the spec does not produce ('' if nowhere)."""
    for a, b in zip(saved.steps, fresh.steps, strict=True):
        mine, theirs = a.to_json(), b.to_json()
        for key in sorted(set(mine) | set(theirs)):
            if mine.get(key) != theirs.get(key):
                return (
                    f"step {a.index}: {_was(b)}: the trace says {key} {_short(mine.get(key))}, "
                    f"the spec gives {_short(theirs.get(key))}"
                )
    for key in ("spec", "problem", "params"):
        mine, theirs = getattr(saved, key), getattr(fresh, key)
        if mine != theirs:
            return f"the trace's {key} is {_short(mine)}, the spec gives {_short(theirs)}"
    return ""


def _short(v: object) -> str:
    text = repr(v.to_json() if isinstance(v, Problem) else v)
    return text if len(text) <= 80 else text[:77] + "..."


def _missing_step(m: Model, step: Step) -> str:
    """Why a saved step has no counterpart in the spec, as statements and lines."""
    was = _was(step)
    core = next((c for c, k in enumerate(m.program.cores) if k.name == step.core), None)
    if core is None:
        return f"step {step.index}: {was}: the spec has no core {step.core} any more"
    # the key is `core@pc[:variant]`: the statement now at that place of the core's code
    pc_text = step.key.partition("@")[2].partition(":")[0]
    code = m.program.cores[core].code
    now = code[int(pc_text)] if pc_text.isdigit() and int(pc_text) < len(code) else None
    if now is None or now.text == "":
        there = "nothing at that place"
    else:
        there = f"`{now.text}` (line {now.span.line}) at that place"
    return (
        f"step {step.index}: {was} is not a step of the spec any more: {step.core} now has {there}"
    )


def _problem_at_end(
    m: Model, tb: TraceBuilder, kind: str, path: list[int], states: list[tuple[int, ...]]
) -> Problem | None:
    if kind == "hang":
        from verifier.search.explicit import hang_from

        found = hang_from(m.system, states[-1])
        if found is None:
            return None
        return tb.hang_problem(found.core, found.pc, states[-1], found.stuck)
    if not path:
        return None
    cmd = m.system.commands[path[-1]]
    hits = tb.compiled.checks[cmd.id]
    for h in hits(states[-2]) if hits else ():
        if cmd.checks[h].kind == kind:
            return tb.problem(kind, cmd, h, states[-2])
    return None
