"""What every engine returns: a Result per (spec, model), with a Trace per problem kind.

Both engines produce these types; the explicit step function rebuilds every
trace (z3 traces are replayed through it), so a Trace always describes a real
execution of the machine.  `to_json` / `from_json` are the on-disk format of
`--json`, `--out DIR` and `counterexamples/`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from verifier.lang.span import Span
from verifier.run.coverage import Unreached

TRACE_FORMAT = 1

RACE_KINDS = (
    "use-after-free", "stale-translation", "stale-permission", "asid-reuse", "freed-table",
    "lost-write",
)  # fmt: skip
PROBLEM_KINDS = (*RACE_KINDS, "assertion", "range", "hang")

VERDICTS = ("safe", "unsafe", "inconclusive", "error")


def span_json(span: Span | None) -> dict[str, Any] | None:
    if span is None:
        return None
    return {
        "file": span.file,
        "line": span.line,
        "col": span.col,
        "end_line": span.end_line,
        "end_col": span.end_col,
    }


def span_from_json(data: dict[str, Any] | None) -> Span | None:
    if data is None:
        return None
    return Span(data["file"], data["line"], data["col"], data["end_line"], data["end_col"])


def source_hash(text: str) -> str:
    """The hash a trace records of the spec text it was made from."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Problem:
    """A problem reached at the last step of a trace.

    ``core``/``span``/``stmt``: who made the bad access and where.  For the TLB
    races, ``pte_stmt``/``pte_span`` name the PTE write the stale entry was
    filled from, and ``now`` says what the PTE recorded at `complete` (or the
    current one) says.
    """

    kind: str
    core: str
    message: str
    stmt: str | None = None
    span: Span | None = None
    pte_stmt: str | None = None
    pte_span: Span | None = None
    now: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "core": self.core,
            "message": self.message,
            "stmt": self.stmt,
            "span": span_json(self.span),
            "pte_stmt": self.pte_stmt,
            "pte_span": span_json(self.pte_span),
            "now": self.now,
        }

    @staticmethod
    def from_json(d: dict[str, Any]) -> Problem:
        return Problem(
            d["kind"],
            d["core"],
            d["message"],
            d.get("stmt"),
            span_from_json(d.get("span")),
            d.get("pte_stmt"),
            span_from_json(d.get("pte_span")),
            d.get("now"),
        )


@dataclass(frozen=True)
class Step:
    """One transition of the machine.

    ``action`` is one of: store, store-buffered, drain, load, rmw, fence,
    barrier, ipi-sent, ipi-buffered, ipi-queued, handler-entered,
    handler-returned, fill, access, fault, invlpg, flush, switch, free,
    complete, await, branch, irq, assert, skip.
    ``links`` are the numbers of earlier steps this one completes (a drain
    links to the step that buffered the store; a handler entry links to the
    step that queued its IPI; a full `dsb` under `arm` to the broadcast `tlbi`s
    it completes and the accesses it waited for). ``reach``: the cores a
    broadcast `tlbi` acts on.  ``reads_from`` is the step whose store a load
    (or await, atomic, branch) read: a buffered store of the same core, or the
    step that put the value in memory; None for an initial value.  ``key``
    identifies the machine rule taken, so a saved trace can be replayed against
    the spec.
    """

    index: int
    core: str
    action: str
    text: str
    effect: str
    span: Span | None = None
    links: tuple[int, ...] = ()
    key: str = ""
    problems: tuple[Problem, ...] = ()
    in_handler: bool = False
    reads_from: int | None = None
    reach: tuple[str, ...] = ()  # the cores a broadcast `tlbi` acts on (every core)

    def to_json(self) -> dict[str, Any]:
        extra = {} if self.reads_from is None else {"reads_from": self.reads_from}
        extra |= {"reach": list(self.reach)} if self.reach else {}
        return extra | {
            "index": self.index,
            "core": self.core,
            "action": self.action,
            "text": self.text,
            "effect": self.effect,
            "span": span_json(self.span),
            "links": list(self.links),
            "key": self.key,
            "in_handler": self.in_handler,
            "problems": [p.to_json() for p in self.problems],
        }

    @staticmethod
    def from_json(d: dict[str, Any]) -> Step:
        return Step(
            d["index"],
            d["core"],
            d["action"],
            d["text"],
            d["effect"],
            span_from_json(d.get("span")),
            tuple(d.get("links", ())),
            d.get("key", ""),
            tuple(Problem.from_json(p) for p in d.get("problems", ())),
            bool(d.get("in_handler", False)),
            d.get("reads_from"),
            tuple(d.get("reach", ())),
        )

    def location(self) -> str:
        return str(self.span) if self.span is not None else ""


@dataclass(frozen=True)
class Trace:
    """An execution from the initial state to a problem of ``kind``: a shortest one
    unless ``shortest`` is False (a random walk's, shortened; a partial-order-reduced
    search's when the unreduced one could not finish)."""

    spec: str
    file: str
    model: str
    params: tuple[tuple[str, int], ...]
    kind: str
    cores: tuple[str, ...]
    steps: tuple[Step, ...]
    problem: Problem
    engine: str = "explicit"
    source: str | None = None  # the spec text the trace was made from
    shortest: bool = True  # shown shortest (no shorter trace reaches the kind)

    def to_json(self) -> dict[str, Any]:
        extra = (
            {}
            if self.source is None
            else {
                "source": self.source,
                "source_sha256": source_hash(self.source),
            }
        )
        return extra | {
            "format": TRACE_FORMAT,
            "spec": self.spec,
            "file": self.file,
            "model": self.model,
            "params": dict(self.params),
            "kind": self.kind,
            "engine": self.engine,
            **({} if self.shortest else {"shortest": False}),  # absent: shortest
            "cores": list(self.cores),
            "problem": self.problem.to_json(),
            "steps": [s.to_json() for s in self.steps],
        }

    @staticmethod
    def from_json(d: dict[str, Any]) -> Trace:
        return Trace(
            d["spec"],
            d["file"],
            d["model"],
            tuple(d["params"].items()),
            d["kind"],
            tuple(d["cores"]),
            tuple(Step.from_json(s) for s in d["steps"]),
            Problem.from_json(d["problem"]),
            d.get("engine", "explicit"),
            d.get("source"),
            bool(d.get("shortest", True)),
        )


@dataclass(frozen=True)
class Result:
    """The verdict of one spec under one model."""

    spec: str
    file: str
    model: str
    params: tuple[tuple[str, int], ...]
    verdict: str  # one of VERDICTS
    kinds: tuple[str, ...]  # sorted problem kinds reached
    traces: tuple[Trace, ...]  # one per kind, in the order of ``kinds``
    states: int
    transitions: int
    seconds: float
    expected: str | None  # the `expect` line covering this model, as written
    expectation_met: bool
    engine: str = "explicit"
    reason: str = ""  # why a run is inconclusive, or what an engine did not check
    diagnostics: tuple[dict[str, Any], ...] = field(default=())
    reductions: tuple[str, ...] = ()  # what the search reduced, e.g. "symmetry over cpu"
    unreached: tuple[Unreached, ...] = ()  # statements no explored state reached
    vacuous: tuple[str, ...] = ()  # kinds a `safe` verdict could not have judged, and why
    coverage: str = ""  # why ``unreached``/``vacuous`` are not known ("" when they are)

    def trace(self, kind: str) -> Trace | None:
        return next((t for t in self.traces if t.kind == kind), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "file": self.file,
            "model": self.model,
            "params": dict(self.params),
            "engine": self.engine,
            "verdict": self.verdict,
            "kinds": list(self.kinds),
            "expected": self.expected,
            "expectation_met": self.expectation_met,
            "states": self.states,
            "transitions": self.transitions,
            "seconds": round(self.seconds, 3),
            "reason": self.reason,
            "traces": {t.kind: [s.to_json() for s in t.steps] for t in self.traces},
            "shortest": {t.kind: t.shortest for t in self.traces},
            "diagnostics": list(self.diagnostics),
            **({"reductions": list(self.reductions)} if self.reductions else {}),
            "unreached": [u.to_json() for u in self.unreached],
            "vacuous": list(self.vacuous),
            **({"coverage": self.coverage} if self.coverage else {}),
        }

    @property
    def is_vacuous(self) -> bool:
        return self.verdict == "safe" and bool(self.vacuous)
