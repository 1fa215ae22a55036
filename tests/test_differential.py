"""The explicit and smt engines agree on random small specs.

Hypothesis writes tiny loop-free .tlb programs (two or three cores, PTE writes,
stores, fences, an IPI whose handler invalidates and acknowledges, accesses,
free/complete, awaits, a little arithmetic).  For each, the explicit engine
explores everything; the smt engine searches to the length of the longest path
of the explicit state graph (so its search is complete) and must reach exactly
the same kinds (hang aside), each with a trace of the same length; with --prove it
must decide every kind, hang included, and reach exactly the explicit engine's.

A case that ever disagreed is kept in tests/regressions/ as NAME.tlb with
NAME.expected (lines `MODEL: kind, kind`); `test_regression` re-runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import tlb_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifier.api import Model, traces_of
from verifier.lang.checked import MODELS
from verifier.lang.frontend import load, load_text
from verifier.search.explicit import explore
from verifier.search.exploration import Exploration
from verifier.smt.engine import check_smt

REGRESSIONS = Path(__file__).resolve().parent / "regressions"

# ---------------------------------------------------------------- spec generator

_ANY = [
    "x := 1",
    "x := 2",
    "r := x",
    "fence",
    "fence release",
    "invlpg V",
    "flush all",
    "read V",
    "write V",
    "read W",
    "write W",
    "await x == 1",
    "assert x != 2",
    "r := 3 / x",
    "r := (x - 3) % 2",
    "assert (x - 3) / 2 != -1",
    "irq off",
    "skip",
    "if x == 1 { read V } else { write V }",
    "pte W := A rw",
    "complete W",
    "free B",
]
_RESPONDER = ["read V", "write V", "read V", "write V", "exec V", *_ANY]


def _maybe(draw: st.DrawFn, *options: str) -> list[str]:
    """Nothing, or one of ``options``."""
    return draw(st.sampled_from([[], *([o] for o in options)]))


@st.composite
def specs(draw: st.DrawFn) -> str:
    """A shootdown-shaped initiator (each step optional) and responders that access."""
    ncores = draw(st.integers(2, 3))
    names = [f"c{i}" for i in range(ncores)]
    walker = draw(st.sampled_from(["speculative", "on-miss"]))
    ipi = draw(st.sampled_from(["unordered", "ordered"]))
    lines = [
        'spec "random"',
        f"option walker = {walker}",
        f"option ipi = {ipi}",
        "frame A, B",
        "page V -> A rw",
        "page W -> B r",
        "var x = 0",
        "var acks = 0",
    ]
    target = "c1" if ncores == 2 else draw(st.sampled_from(["c1", "c2", "others"]))
    acks = 2 if target == "others" else 1
    ipi_part = draw(
        st.sampled_from(
            [
                [],
                [f"ipi {target} h(V)"],
                [f"ipi {target} h(V)", "invlpg V", f"await acks == {acks}"],
                [f"ipi {target} h(V)", f"await acks == {acks}"],
            ]
        )
    )
    init = [
        *_maybe(draw, "pte V := B rw", "pte V := invalid", "pte V := A r", "pte V := B rw"),
        *_maybe(draw, "fence", "fence release", "fence"),
        *ipi_part,
        *_maybe(draw, "complete V", "complete V"),
        *_maybe(draw, "free A", "free A"),
    ]
    if draw(st.booleans()):
        init.insert(draw(st.integers(0, len(init))), draw(st.sampled_from(_ANY)))
    bodies = [init or ["skip"]]
    for _ in names[1:]:
        bodies.append(draw(st.lists(st.sampled_from(_RESPONDER), min_size=1, max_size=2)))
    for name, body in zip(names, bodies, strict=True):
        lines.append(f"core {name} {{")
        lines += [f"    {s}" for s in body]
        lines.append("}")
    lines += ["handler h(p) {", "    invlpg p", "    acks += 1", "}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- comparison


def longest_path(ex: Exploration) -> int | None:
    """Transitions on the longest path of the explored graph, None if it has a cycle."""
    n = len(ex.states)
    depth = [-1] * n  # -1 unvisited, -2 on the stack
    for root in range(n):
        if depth[root] != -1:
            continue
        stack = [(root, ex.succ_off[root])]
        depth[root] = -2
        while stack:
            i, k = stack[-1]
            if k < ex.succ_off[i + 1]:
                stack[-1] = (i, k + 1)
                j = ex.succ[k]
                if depth[j] == -2:
                    return None
                if depth[j] == -1:
                    depth[j] = -2
                    stack.append((j, ex.succ_off[j]))
                continue
            stack.pop()
            depth[i] = max(
                (depth[ex.succ[k]] + 1 for k in range(ex.succ_off[i], ex.succ_off[i + 1])),
                default=0,
            )
    return depth[0]


def compare(m: Model) -> dict[str, int]:
    """Run both engines on ``m``; assert they agree; return kind -> trace length."""
    ex = explore(m.system, max_states=50_000, edges=True)
    assert ex.complete
    want = {t.kind: len(t.steps) for t in traces_of(m, ex) if t.kind != "hang"}
    longest = longest_path(ex)  # None: a cycle; compare up to explicit's longest trace
    depth = longest if longest is not None else max(want.values(), default=0)
    got = check_smt(m, None, depth=depth, timeout=60)
    have = {t.kind: len(t.steps) for t in got.traces}
    assert "z3" not in got.reason, got.reason
    assert have == want, (m.model, have, want)
    proved = check_smt(m, None, prove=True, timeout=60)  # decides every kind, hang too
    assert "not decided" not in proved.reason, proved.reason
    assert proved.kinds == tuple(sorted(ex.found)), (m.model, proved.kinds, sorted(ex.found))
    return have


# ---------------------------------------------------------------- tests


@settings(
    derandomize=True, deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow]
)
@given(specs(), st.sampled_from(MODELS))
def test_engines_agree(text: str, model: str) -> None:
    checked = load_text(text, "random.tlb", [])
    compare(Model.of(checked, model))


@pytest.mark.slow
@settings(deadline=None, max_examples=2000, suppress_health_check=[HealthCheck.too_slow])
@given(specs(), st.sampled_from(MODELS))
def test_engines_agree_many(text: str, model: str) -> None:
    checked = load_text(text, "random.tlb", [])
    compare(Model.of(checked, model))


def _regressions() -> list[Path]:
    return tlb_files(REGRESSIONS)


@pytest.mark.parametrize("spec", _regressions(), ids=lambda p: p.stem)
def test_regression(spec: Path) -> None:
    expected: dict[str, set[str]] = {}
    for line in spec.with_suffix(".expected").read_text().splitlines():
        model, _, kinds = line.partition(":")
        expected[model.strip()] = {k.strip() for k in kinds.split(",") if k.strip()}
    checked = load(str(spec), [])
    for model, want in expected.items():
        have = compare(Model.of(checked, model))
        assert set(have) == want, (model, have, want)
