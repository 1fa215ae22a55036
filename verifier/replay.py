"""Replaying a saved trace against its spec: every step must still be an enabled rule of
the machine, and the last one must reach the same problem kind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from verifier.lang.frontend import load, load_text
from verifier.run.model import Model
from verifier.run.result import Problem, Step, Trace
from verifier.trace.builder import ReplayError, TraceBuilder


@dataclass(frozen=True)
class ReplayOutcome:
    reproduced: bool
    message: str
    trace: Trace | None = None


def replay_trace(
    trace: Trace, spec_path: str | None = None, defines: Sequence[str] = ()
) -> ReplayOutcome:
    """Re-execute a saved trace step by step against the spec: every step must be an
    enabled rule of the machine, and the last one must reach the same problem kind.
    Without ``spec_path`` the trace's own copy of the spec text is used."""
    defs = list(defines) or [f"{k}={v}" for k, v in trace.params]
    if spec_path is None and trace.source is not None:
        checked = load_text(trace.source, trace.file, defs)
    else:
        checked = load(spec_path or trace.file, defs)
    m = Model.of(checked, trace.model)
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
        was = f"{step.core} `{step.text}`" + (f" (line {step.span.line})" if step.span else "")
        return ReplayOutcome(False, f"step {step.index}: {was} cannot run at that point")
    problem = _problem_at_end(m, tb, trace.kind, path, states)
    if problem is None:
        return ReplayOutcome(
            False, f"the trace runs, but its last step no longer reaches {trace.kind}"
        )
    fresh = tb.trace(trace.kind, path, problem, checked.title, trace.model)
    return ReplayOutcome(
        True, f"reproduces {trace.kind} in {len(path)} steps: {problem.message}", fresh
    )


def _missing_step(m: Model, step: Step) -> str:
    """Why a saved step has no counterpart in the spec, as statements and lines."""
    was = f"{step.core} `{step.text}`" + (f" (line {step.span.line})" if step.span else "")
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
