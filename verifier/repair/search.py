"""The repair search: candidates from the edit space, in the order the counterexample
suggests, each checked by the engines under every model; fewest edits first.

A candidate is a fix when every model's check is `safe`: every problem the
spec had is gone and no new one (a hang included) appeared.  Nothing is
guessed: a candidate whose check ends in a limit is not a fix.  Candidates are
checked model by model, the models that found problems first (smallest state
space first), each search stopping at its first problem; a candidate is dropped
at its first model that is not safe, so most cost one short search.  After the
single edits, pairs are tried (`max_edits` 2), built from the single edits that
came closest (passed more models, or pushed the first problem deeper) combined
with every other edit, and so on up to ``max_edits``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from verifier import api
from verifier.lang.checked import CheckedSpec
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load_text
from verifier.lang.parse import parse_text
from verifier.lang.printer import format_spec
from verifier.repair.edits import (
    Edit,
    NotLocal,
    Remove,
    Replace,
    apply_ast,
    apply_text,
    expect_line,
)
from verifier.repair.guide import Guide
from verifier.repair.space import EDIT_KINDS, Context, candidates
from verifier.run.result import Result

WEAKEST_FIRST = ("arm", "riscv", "pso", "tso", "sc")
BEAM = 12  # single edits (or pairs, ...) carried to the next size
DEFAULT_FIXES = 5
DEFAULT_MAX_CHECKS = 2000
DEFAULT_SEARCH_SECONDS = 600.0
FOLLOW = 40  # candidates checked after the first fix, looking for cheaper ones


@dataclass(frozen=True)
class Limits:
    """The usual limits of each check, and the search's own."""

    max_states: int | None = None  # None: the default of the search that runs
    timeout: float | None = None  # seconds per check (candidate and model)
    max_memory: float | None = None
    max_checks: int = DEFAULT_MAX_CHECKS  # candidates checked
    seconds: float = DEFAULT_SEARCH_SECONDS  # the whole search


@dataclass
class Candidate:
    edits: tuple[Edit, ...]
    text: str  # the whole repaired spec
    reprinted: bool  # the text is the canonical print, not the user's text edited
    results: list[Result] = field(default_factory=list)  # per model, in checking order
    invalid: str = ""  # the diagnostic when the edited spec is not a valid spec

    @property
    def fixed(self) -> bool:
        return bool(self.results) and all(r.verdict == "safe" for r in self.results)

    def score(self, models: int) -> tuple[int, int]:
        """Lower is closer: (models not passed, minus the length of the shortest trace to
        a problem at the first one that failed: a race pushed deeper is half closed)."""
        passed = sum(r.verdict == "safe" for r in self.results)
        bad = next((r for r in self.results if r.verdict != "safe"), None)
        depth = min((len(t.steps) for t in bad.traces), default=0) if bad is not None else 0
        return (models - passed, -depth)


@dataclass
class Outcome:
    """What `repair` found: the fixes (fewest edits first, as found), the candidates that
    came closest when there is none, and how much was checked."""

    checked: CheckedSpec
    models: list[str]
    original: list[Result]
    fixes: list[Candidate]
    closest: list[Candidate]
    candidates: int  # single edits the spec allows
    tried: int  # candidates checked by the engines
    invalid: int  # candidates that were not valid specs (not checked)
    checks: int  # engine runs (candidate x model)
    seconds: float
    max_edits: int
    stopped: str = ""  # the limit that ended the search, if one did
    undecided: int = 0  # candidates whose check ended in a limit (neither fix nor not)
    undecided_why: str = ""
    size_done: int = 0  # every candidate of at most this many edits was checked


ProgressFn = Callable[[int, int, str], None]  # (tried, fixes, what is being checked)


def model_order(original: Sequence[Result]) -> list[str]:
    """Models that found problems first, then the others; each the smallest state space
    first (a candidate is most often dropped at the first model, so that is cheapest)."""
    return [r.model for r in sorted(original, key=lambda r: (r.verdict == "safe", r.states))]


def repair(
    checked: CheckedSpec,
    models: Sequence[str],
    *,
    defines: Sequence[str] = (),
    max_edits: int = 2,
    fixes_wanted: int = DEFAULT_FIXES,
    limits: Limits = Limits(),
    kinds: set[str] | None = None,
    progress: ProgressFn | None = None,
) -> Outcome:
    """Search the edit space of ``checked`` for changes that make it safe under every
    model of ``models``; stop at ``fixes_wanted`` fixes of the smallest size found."""
    s = _Search(checked, defines, limits, progress)
    original = [s.check(checked, m) for m in models]
    s.order = model_order(original)
    out = s.out = Outcome(checked, list(models), original, [], [], 0, 0, 0, 0, 0.0, max_edits)
    if any(r.verdict == "inconclusive" for r in original):
        out.stopped = "the spec itself is inconclusive: " + next(
            r.reason for r in original if r.verdict == "inconclusive"
        )
    elif any(r.verdict != "safe" for r in original):
        guide = Guide.of(original)
        edits = candidates(Context(checked, tuple(models)), kinds)
        singles = guide.order(edits, [(k.name, k.spread) for k in EDIT_KINDS])
        out.candidates = len(singles)
        tried: list[Candidate] = []
        level: list[tuple[Edit, ...]] = [(e,) for e in singles]
        for size in range(1, max_edits + 1):
            here = s.level(level, fixes_wanted)
            tried += here
            if out.fixes or out.stopped:
                break
            out.size_done = size
            if size < max_edits:
                level = _next_level(here, singles, len(s.order), original)
        if not out.fixes:
            out.closest = _fewest_left(s.completed(_closest(tried, len(s.order))))
    out.seconds = time.monotonic() - s.start
    return out


class _Search:
    """The checks of one repair: limits, the candidates seen, what was found so far."""

    def __init__(
        self,
        checked: CheckedSpec,
        defines: Sequence[str],
        limits: Limits,
        progress: ProgressFn | None,
    ) -> None:
        self.checked, self.defines, self.limits, self.progress = (
            checked,
            list(defines),
            limits,
            progress,
        )
        self.start = time.monotonic()
        self.deadline = self.start + limits.seconds
        self.seen: set[str] = {format_spec(checked.spec)}
        self.first = 0  # how many candidates had been checked when the first fix was found
        self.order: list[str] = []
        self.out: Outcome

    def check(self, c: CheckedSpec, model: str, first: bool = False) -> Result:
        """``first``: stop at the first problem (a candidate needs only one to be dropped;
        a search that finds none is as complete as any)."""
        left = max(0.1, self.deadline - time.monotonic())
        per = left if self.limits.timeout is None else min(self.limits.timeout, left)
        lim = self.limits
        return api.check_spec(
            c,
            model,
            max_states=lim.max_states,
            timeout=per,
            max_memory=lim.max_memory,
            stop_at_first=first,
        )

    def _stop(self, fixes_wanted: int) -> bool:
        out = self.out
        if out.fixes and (len(out.fixes) >= fixes_wanted or out.tried >= self.first + FOLLOW):
            return True
        if out.tried >= self.limits.max_checks:
            out.stopped = f"checked {out.tried} candidates (--max-checks)"
        elif time.monotonic() >= self.deadline:
            out.stopped = f"the search took {self.limits.seconds:g} s (--search-time)"
        return bool(out.stopped)

    def level(self, level: list[tuple[Edit, ...]], fixes_wanted: int) -> list[Candidate]:
        """Check the candidates of one size in order; the ones that are not fixes."""
        out, rejected = self.out, []
        for edits in level:
            if self._stop(fixes_wanted):
                break
            cand = _build(self.checked, edits, self.seen)
            if cand is None:
                continue
            if cand.invalid:
                out.invalid += 1
                continue
            out.tried += 1
            if self.progress is not None:
                self.progress(out.tried, len(out.fixes), "; ".join(e.text for e in edits))
            c2 = load_text(cand.text, self.checked.file, self.defines)
            for m in self.order:
                r = self.check(c2, m, first=True)
                cand.results.append(r)
                out.checks += 1
                if r.verdict == "inconclusive":
                    out.undecided += 1
                    out.undecided_why = out.undecided_why or r.reason
                if r.verdict != "safe":
                    break
            if cand.fixed:
                self.first = self.first if out.fixes else out.tried
                out.fixes.append(cand)
            else:
                rejected.append(cand)
        return rejected

    def completed(self, closest: list[Candidate]) -> list[Candidate]:
        """``closest`` checked in full under every model, to say what each would leave."""
        for c in closest:
            c2 = load_text(c.text, self.checked.file, self.defines)
            c.results = [self.check(c2, m) for m in self.order]
        return closest


def _build(checked: CheckedSpec, edits: tuple[Edit, ...], seen: set[str]) -> Candidate | None:
    """The repaired text of ``edits`` (None when another candidate already gave the same
    spec); the user's text edited line by line, or the canonical print when that fails."""
    ops = [op for e in edits for op in e.ops]
    edited = apply_ast(checked.spec, ops)
    canonical = format_spec(edited)
    if canonical in seen:
        return None
    seen.add(canonical)
    reprinted = False
    try:
        text = apply_text(checked.source, ops, expect_line(checked.spec))
        if parse_text(text, checked.file) != edited:
            raise NotLocal("the edited text does not parse to the edited spec")
    except (NotLocal, SpecError):
        text, reprinted = canonical, True
    cand = Candidate(edits, text, reprinted)
    try:
        load_text(text, checked.file, [])
    except SpecError as err:
        cand.invalid = str(err).splitlines()[0]
    return cand


def _next_level(
    tried: list[Candidate], singles: list[Edit], models: int, original: list[Result]
) -> list[tuple[Edit, ...]]:
    """Candidates one edit larger: the closest of ``tried`` (those that got further than
    the spec itself first), each with every single edit it is compatible with."""
    base = Candidate((), "", False, list(original)).score(models)
    ranked = sorted(tried, key=lambda c: c.score(models))
    beam = [c for c in ranked if c.score(models) < base][:BEAM] or ranked[:BEAM]
    out: list[tuple[Edit, ...]] = []
    for c in beam:
        for e in singles:
            if any(e is d for d in c.edits) or _moves_twice([*c.edits, e]):
                continue
            out.append((*c.edits, e))
    return out


def _moves_twice(edits: Sequence[Edit]) -> bool:
    """Two edits that both take out or replace one statement cannot both apply."""
    gone = [id(op.stmt) for e in edits for op in e.ops if isinstance(op, Remove | Replace)]
    return len(gone) != len(set(gone))


CLOSEST = 3  # candidates shown when none fixes the spec


def _closest(tried: list[Candidate], models: int) -> list[Candidate]:
    """Twice as many candidates as are shown, closest by the search's own measure."""
    return sorted(tried, key=lambda c: c.score(models))[: 2 * CLOSEST]


def _fewest_left(checked: list[Candidate]) -> list[Candidate]:
    """Of candidates checked in full under every model, those leaving the fewest problem
    kinds (summed over the models; a model that ended in a limit counts as every kind)."""

    def left(c: Candidate) -> int:
        return sum(len(r.kinds) if r.verdict != "inconclusive" else 99 for r in c.results)

    return sorted(checked, key=left)[:CLOSEST]
