"""A trace as aligned text, plus what every picture needs to know about a trace.

`render_text` is what `check` and `show` print.  The helpers below it answer
the questions all the renderers ask (which lane a step belongs to, which step
is the race, which walker fill put the stale entry in the TLB), so the text,
SVG, HTML and DOT forms cannot disagree about them.
"""

from __future__ import annotations

import os
import re

from verifier.run.result import RACE_KINDS, Problem, Step, Trace

MEMORY = "memory"
# Steps that happen in the memory system rather than on a core: a buffered
# store reaching memory, an IPI reaching the target's queue.
MEMORY_ACTIONS = frozenset({"drain", "ipi-queued"})
# How a step completes the earlier steps it links to, by the later step's action.
LINK_LABELS = {
    "drain": "drains",
    "ipi-queued": "queued",
    "handler-entered": "delivered",
    "access": "uses entry",
    "fence": "waits for",  # an arm `dsb`: the broadcast tlbis it completes, the users it waited for
}

_TEXT_CAP = 36  # widest statement column; longer statements overflow their row
_LOC_CAP = 40


def lane_of(step: Step) -> str:
    """The swimlane a step is drawn in: its core, or `memory`."""
    return MEMORY if step.action in MEMORY_ACTIONS else step.core


def race_step(trace: Trace) -> Step | None:
    """The step at which the problem was reached (normally the last one)."""
    return next((s for s in reversed(trace.steps) if s.problems), None)


def page_of(text: str) -> str | None:
    """The page a `read V` / `write P.V` / `fill V` style statement names."""
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*$", text.strip())
    return m.group(1) if m else None


def _mentions(step: Step, page: str) -> bool:
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", f"{step.text} {step.effect}"))
    return page in words or page.rsplit(".", 1)[-1] in words


def stale_fill(trace: Trace) -> Step | None:
    """The walker fill whose entry the racing access used, if the trace shows one.

    Preferred: the step the racing access links to (a `fill`, or an access
    whose walk on a miss filled the entry).  Under arm and riscv, the translation
    read of the racing instruction (a walk of memory), or on a TLB hit the latest
    walk before it that cached an entry for the page.  Otherwise the latest
    fill on the racing core before it that names the accessed page (or, failing
    that, any latest fill on that core).  Races without a TLB entry (assertion,
    hang, range) have none.
    """
    race = race_step(trace)
    if race is None or all(p.kind not in RACE_KINDS for p in race.problems):
        return None
    by_index = {s.index: s for s in trace.steps}
    for link in race.links:
        linked = by_index.get(link)
        # an access that hit links to the step whose walk filled the entry
        if linked is not None and linked.action in ("fill", "access") and linked.core == race.core:
            return linked
    read = _translation_read(trace, race)
    if read is not None:
        return read
    fills = [
        s
        for s in trace.steps
        if s.action == "fill" and s.core == race.core and s.index < race.index
    ]
    if not fills:
        return None
    page = page_of(race.text)
    if page is not None:
        named = [s for s in fills if _mentions(s, page)]
        if named:
            return named[-1]
    return fills[-1]


def _translation_read(trace: Trace, race: Step) -> Step | None:
    """Under arm/riscv: the walk that gave the racing instruction its translation."""
    reads = [
        s
        for s in trace.steps
        if s.action == "translate" and s.core == race.core and s.index < race.index
    ]
    own = [s for s in reads if s.span == race.span]
    if not own:
        return None
    if "TLB hit" not in own[-1].effect:
        return own[-1]
    page = page_of(race.text)
    cached = [s for s in reads if "entry cached" in s.effect and page and _mentions(s, page)]
    return cached[-1] if cached else own[-1]


def pte_write_step(trace: Trace, problem: Problem, before: int | None) -> Step | None:
    """The step that issued the PTE write a stale entry was filled from (None: initial PTE)."""
    if problem.pte_span is None:
        return None
    hits = [
        s
        for s in trace.steps
        if s.span == problem.pte_span
        and s.action not in MEMORY_ACTIONS
        and (before is None or s.index < before)
    ]
    return hits[-1] if hits else None


def kinds_at(step: Step) -> list[str]:
    """The problem kinds reached at a step, without repeats, in the engine's order."""
    return list(dict.fromkeys(p.kind for p in step.problems))


def problem_tags(step: Step) -> list[str]:
    """Each problem kind at a step, with the core it is about when that is another
    core (a `hang` names the blocked core, not the one that moved last)."""
    first: dict[str, Problem] = {}
    for p in step.problems:
        first.setdefault(p.kind, p)
    return [p.kind if p.core == step.core else f"{p.kind} ({p.core})" for p in first.values()]


def arm_note(step: Step) -> str:
    """`[reaches cpu0, cpu1]` for a broadcast `tlbi`; `[waits for steps 3, 5]` for a `dsb`
    that completed broadcast `tlbi`s (and waited for the accesses they marked)."""
    if step.reach:
        return f"[reaches {', '.join(step.reach)}]"
    if step.action == "fence" and step.links:
        steps = ", ".join(map(str, step.links))
        return f"[waits for step{'s' if len(step.links) > 1 else ''} {steps}]"
    return ""


def describe(step: Step) -> str:
    """One line for a step: `3. cpu[1]: invlpg p — TLB entry for V dropped (file:30:5)`."""
    text = f"{step.index}. {step.core}: {step.text}"
    if step.effect:
        text += f" \u2014 {step.effect}"
    if step.location():
        text += f" ({step.location()})"
    return text


def short_location(step: Step) -> str:
    """`file:line:col` with the file's directory left out (the full path is in
    the trace's heading and in the problem block)."""
    if step.span is None:
        return ""
    return f"{os.path.basename(step.span.file)}:{step.span.line}:{step.span.col}"


def params_text(trace: Trace) -> str:
    return ", ".join(f"{k}={v}" for k, v in trace.params)


# --------------------------------------------------------------------------- text


def length_text(trace: Trace) -> str:
    """``12 steps``, and when the trace is not shown shortest, that it is not."""
    return f"{len(trace.steps)} steps" + ("" if trace.shortest else ", not shown shortest")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"


def render_text(trace: Trace) -> str:
    """Numbered, aligned steps, then a block naming the problem.

    ```
       3  cpu[1]  invlpg p        spec.tlb:30:5   TLB entry for V dropped
    ```
    Handler steps are indented under the handler entry; the stale fill and the
    racing access are tagged at the end of their rows.
    """
    race = race_step(trace)
    fill = stale_fill(trace)
    rows: list[tuple[str, str, str, str, str]] = []
    for step in trace.steps:
        text = ("  " if step.in_handler else "") + step.text
        note = ""
        if fill is not None and step.index == fill.index:
            note = "<-- stale entry"
        if race is not None and step.index == race.index:
            note = "<-- " + ", ".join(problem_tags(step))
        effect = " ".join(x for x in (step.effect, arm_note(step)) if x)
        effect += "   " + note if note and effect else note
        rows.append((str(step.index), step.core, text, short_location(step), effect))
    num_w = max((len(r[0]) for r in rows), default=1)
    core_w = max((len(r[1]) for r in rows), default=0)
    text_w = min(max((len(r[2]) for r in rows), default=0), _TEXT_CAP)
    loc_w = min(max((len(r[3]) for r in rows), default=0), _LOC_CAP)
    lines = [] if trace.shortest else ["  (a real execution, not shown shortest)"]
    for num, core, text, loc, effect in rows:
        line = f"  {num:>{num_w}}  {core:<{core_w}}  {text:<{text_w}}  {loc:<{loc_w}}  {effect}"
        lines.append(line.rstrip())
    lines.append("")
    lines.extend(_problem_block(trace, race, fill))
    return "\n".join(lines) + "\n"


def _problem_block(trace: Trace, race: Step | None, fill: Step | None) -> list[str]:
    problem = trace.problem
    where = f" at {problem.span}" if problem.span is not None else ""
    stmt = f" {problem.stmt}" if problem.stmt else ""
    out = [f"{problem.kind}: {problem.core}{stmt}{where}"]
    if problem.message:
        out.append(f"  {problem.message}")
    facts: list[tuple[str, str]] = []
    if problem.pte_stmt or problem.pte_span:
        writer = pte_write_step(trace, problem, fill.index if fill else None)
        src = problem.pte_stmt or "?"
        if problem.pte_span is not None:
            src += f"  at {problem.pte_span}"
        src += f"  (step {writer.index})" if writer is not None else "  (initial page table)"
        facts.append(("stale entry filled from", src))
    if fill is not None:
        how = "translated by" if fill.action == "translate" else "filled by the walker"
        facts.append((how, f"step {fill.index}: {fill.text}  {fill.effect}"))
    if problem.now:
        facts.append(("the PTE now says", problem.now))
    if race is not None:
        others = [k for k in kinds_at(race) if k != problem.kind]
        if others:
            facts.append(("same access also", ", ".join(others)))
    width = max((len(k) for k, _ in facts), default=0)
    out.extend(f"  {k + ':':<{width + 1}}  {v.rstrip()}" for k, v in facts)
    return out
