"""What `tlbcheck repair` prints: the answer in words and diffs, or as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from verifier.cost.timing import CostRun
from verifier.repair.rank import WIDE, Fix
from verifier.repair.search import Candidate, Outcome
from verifier.run.result import Result

STATUS_FIXED = "fixed"  # at least one fix found
STATUS_SAFE = "already-safe"  # nothing to repair
STATUS_NO_FIX = "no-fix"  # every candidate of at most --max-edits edits checked; none fixes
STATUS_STOPPED = "stopped"  # a limit ended the search before a fix was found


def status(out: Outcome) -> str:
    if out.fixes:
        return STATUS_FIXED
    if out.stopped or out.undecided:
        return STATUS_STOPPED
    if all(r.verdict == "safe" for r in out.original):
        return STATUS_SAFE
    return STATUS_NO_FIX


def _verdicts(results: Sequence[Result]) -> str:
    parts = []
    for r in results:
        kinds = f" ({', '.join(r.kinds)})" if r.kinds else ""
        parts.append(f"{r.model} {r.verdict}{kinds}")
    return ", ".join(parts)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _cost(run: CostRun | None) -> str:
    if run is None:
        return f"no {WIDE}-core instance (no N param scaling the cores)"
    return (
        f"{run.latency_ns / 1000:.2f} µs at {run.cores} cores"
        f"{'' if run.finished else ' (initiator never finishes)'}; "
        f"{_plural(run.ipis, 'IPI')}, {_plural(run.invalidations, 'invalidation')}, "
        f"{_plural(run.fences, 'fence')}"
    )


def _searched(out: Outcome) -> str:
    runs = f"{_plural(out.checks, 'engine run')}"
    invalid = f", {out.invalid} not valid specs" if out.invalid else ""
    return (
        f"checked {out.tried} candidates ({runs}{invalid}; {out.candidates} single edits in "
        f"the edit space) in {out.seconds:.1f} s"
    )


def render_text(out: Outcome, fixes: Sequence[Fix], applied: str | None = None) -> str:
    lines = [f"{out.checked.file}: {_verdicts(out.original)}"]
    st = status(out)
    if st == STATUS_SAFE:
        lines.append("repair: nothing to repair: safe under every model checked")
        return "\n".join(lines) + "\n"
    if st == STATUS_FIXED:
        sizes = sorted({f.size for f in fixes})
        lines.append(
            f"repair: {len(fixes)} {'fix' if len(fixes) == 1 else 'fixes'} of "
            f"{_plural(sizes[0], 'edit')}; "
            f"{_searched(out)}"
        )
        if out.stopped:
            lines.append(f"  the search then stopped: {out.stopped}; more fixes may exist")
        for i, f in enumerate(fixes, 1):
            lines.append("")
            what = "; ".join(e.text for e in f.candidate.edits)
            lines.append(f"fix {i} ({_plural(f.size, 'edit')}): {what}")
            lines.append(f"  re-checked: {_verdicts(f.candidate.results)}")
            lines.append(f"  cost ({f.at_n.model if f.at_n else '-'}): {_cost(f.at_n)}")
            if f.at_n is not None and (f.ipis, f.invalidations) != (
                f.at_n.ipis,
                f.at_n.invalidations,
            ):
                lines.append(
                    f"  ranked as {_plural(f.ipis, 'IPI')}, "
                    f"{_plural(f.invalidations, 'invalidation')}: it also runs them where "
                    "its guard said no"
                )
            if f.at_wide is not None:
                lines.append(f"  at {WIDE} cores: {_cost(f.at_wide)}")
            if f.reprinted:
                lines.append(
                    "  (not editable line by line: the whole spec printed in canonical form)"
                )
            lines.append(f.diff.rstrip("\n"))
        if applied:
            lines += ["", f"applied fix 1 to {applied}"]
        return "\n".join(lines) + "\n"
    if st == STATUS_STOPPED and out.stopped:
        lines.append(f"repair: no fix found before a limit ended the search: {out.stopped}")
    elif st == STATUS_STOPPED:
        lines.append(
            f"repair: no fix found, but {_plural(out.undecided, 'candidate')} ended in a "
            f"limit ({out.undecided_why}): a fix may be among them"
        )
    else:
        lines.append(
            f"repair: no fix within {_plural(out.max_edits, 'edit')}: every candidate of the "
            "edit space was checked and none is safe under every model"
        )
    lines.append(f"  {_searched(out)}")
    if out.size_done:
        lines.append(f"  every candidate of at most {_plural(out.size_done, 'edit')} was checked")
    if out.closest:
        lines += ["", "closest candidates (fewest problems left):"]
        for c in out.closest:
            lines.append(f"  {'; '.join(e.text for e in c.edits)}")
            lines.append(f"    leaves: {_verdicts(c.results)}")
    return "\n".join(lines) + "\n"


def _result_json(r: Result) -> dict[str, Any]:
    return {"model": r.model, "verdict": r.verdict, "kinds": list(r.kinds)}


def _edits_json(c: Candidate) -> list[dict[str, str]]:
    return [{"kind": e.kind, "text": e.text} for e in c.edits]


def to_json(out: Outcome, fixes: Sequence[Fix], applied: str | None = None) -> dict[str, Any]:
    return {
        "spec": out.checked.title,
        "file": out.checked.file,
        "models": out.models,
        "status": status(out),
        "original": [_result_json(r) for r in out.original],
        "max_edits": out.max_edits,
        "candidates": out.candidates,
        "tried": out.tried,
        "invalid": out.invalid,
        "engine_runs": out.checks,
        "seconds": round(out.seconds, 3),
        "stopped": out.stopped or None,
        "undecided": out.undecided,
        "fixes": [
            {
                "rank": i,
                "edits": _edits_json(f.candidate),
                "verdicts": [_result_json(r) for r in f.candidate.results],
                "cost": f.at_n.to_json() if f.at_n else None,
                f"cost_{WIDE}_cores": f.at_wide.to_json() if f.at_wide else None,
                "reprinted": f.reprinted,
                "diff": f.diff,
                "text": f.text,
            }
            for i, f in enumerate(fixes, 1)
        ],
        "closest": [
            {"edits": _edits_json(c), "verdicts": [_result_json(r) for r in c.results]}
            for c in out.closest
        ],
        "applied": applied,
    }
