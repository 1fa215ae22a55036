"""The z3 engine: same kinds and trace lengths as the explicit engine on the shared
examples, verdict rules, --prove, and the expression translation against
`system.evaluate`."""

from __future__ import annotations

import pytest
import z3
from conftest import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.api import Model, check_spec
from verifier.engines.smt import HANG_NOTE, INT, Sort, Translator, check_smt
from verifier.ir.system import Const, Expr, Field, FieldInfo, Op, Table, evaluate, interval
from verifier.lang.checked import MODELS
from verifier.lang.frontend import load, load_text

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.tlb"))


def _defines(path: str) -> list[str]:
    return [] if "irqoff" in path else ["N=1"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("spec", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_examples_match_explicit(spec: object, model: str) -> None:
    checked = load(str(spec), _defines(str(spec)))
    explicit = check_spec(checked, model)
    want = {t.kind: len(t.steps) for t in explicit.traces if t.kind != "hang"}
    depth = max(want.values(), default=10)  # deep enough for every kind explicit found
    got = check_spec(checked, model, engine="smt", depth=depth)
    assert got.engine == "smt"
    assert {t.kind: len(t.steps) for t in got.traces} == want
    assert HANG_NOTE in got.reason
    assert all(t.engine == "smt" for t in got.traces)
    if want:
        assert got.verdict == "unsafe"
        assert got.expectation_met == explicit.expectation_met
    else:
        assert got.verdict == "inconclusive"
        assert f"safe up to depth {depth}" in got.reason


def test_hang_expectation_is_inconclusive() -> None:
    checked = load(str(EXAMPLES / "concurrent_shootdowns_irqoff.tlb"), [])
    r = check_spec(checked, "sc", engine="smt", depth=8)
    assert r.verdict == "inconclusive" and not r.kinds and not r.expectation_met
    assert "cannot confirm" in r.reason


def test_traces_replay() -> None:
    checked = load(str(EXAMPLES / "eager_missing_fence.tlb"), ["N=1"])
    m = Model.of(checked, "pso")
    r = check_smt(m, checked.expect_for("pso"), depth=11)
    assert r.kinds == ("stale-translation", "use-after-free") and r.expectation_met
    by_key = {c.key: c.id for c in m.system.commands}
    for t in r.traces:
        m.builder().run([by_key[s.key] for s in t.steps])  # raises if not an execution
        assert t.steps[-1].problems[0].kind == t.kind


def test_timeout_is_inconclusive() -> None:
    checked = load(str(EXAMPLES / "lazy_generation.tlb"), ["N=2"])
    r = check_spec(checked, "pso", engine="smt", depth=200, timeout=0.5)
    assert r.verdict == "inconclusive"
    assert "timeout" in r.reason
    assert r.seconds < 10


_LOOP_FREE = """
frame A, B
page V -> A rw
core c {
    pte V := B rw
    fence
    invlpg V
    complete V
    free A
    read V
}
expect safe
"""


def test_prove_loop_free() -> None:
    checked = load_text(_LOOP_FREE, "loop_free.tlb", [])
    for model in MODELS:
        r = check_spec(checked, model, engine="smt", prove=True, timeout=60)
        assert r.verdict == "safe", r.reason
        assert r.expectation_met


def test_prove_finds_no_proof_when_unsafe() -> None:
    checked = load(str(EXAMPLES / "wx_local_flush_only.tlb"), [])
    r = check_spec(checked, "sc", engine="smt", prove=True, timeout=60)
    assert r.kinds == ("stale-permission",)
    assert r.verdict == "unsafe" and r.expectation_met


@pytest.mark.parametrize("name", ["eager_fenced", "lazy_generation"])
def test_prove_examples(name: str) -> None:
    """The safe eager and lazy examples (N = 2, looping responders) are proved safe at
    every depth by a relational inductive invariant."""
    checked = load(str(EXAMPLES / f"{name}.tlb"), [])
    r = check_spec(checked, "pso", engine="smt", prove=True, timeout=300)
    assert r.verdict == "safe", r.reason
    assert "proved safe at every depth" in r.reason and "3-tuples" in r.reason


def test_prove_leaves_reachable_kinds_to_the_search() -> None:
    """For a racy spec the proof covers exactly the kinds that are not reachable."""
    checked = load(str(EXAMPLES / "eager_missing_fence.tlb"), ["N=1"])
    r = check_spec(checked, "pso", engine="smt", prove=True, timeout=300)
    assert r.kinds == ("stale-translation", "use-after-free")
    assert "every other kind proved unreachable" in r.reason
    assert "range, stale-permission unreachable" in r.reason


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("name", ["eager_fenced", "lazy_generation"])
def test_prove_examples_every_model(name: str, model: str) -> None:
    checked = load(str(EXAMPLES / f"{name}.tlb"), [])
    r = check_spec(checked, model, engine="smt", prove=True, timeout=300)
    assert r.verdict == "safe", r.reason


# ---------------------------------------------------------------- translation

NFIELDS = 3
FIELD_RANGE = (-8, 8)
_BIN = ["add", "sub", "mul", "div", "mod", "eq", "ne", "lt", "le", "gt", "ge", "and", "or"]


def exprs() -> st.SearchStrategy[Expr]:
    leaves = st.one_of(st.integers(-9, 9).map(Const), st.integers(0, NFIELDS - 1).map(Field))

    def extend(sub: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        return st.one_of(
            st.tuples(st.sampled_from(_BIN), sub, sub).map(lambda t: Op(t[0], (t[1], t[2]))),
            st.tuples(st.sampled_from(["neg", "not"]), sub).map(lambda t: Op(t[0], (t[1],))),
            st.tuples(sub, sub, sub).map(lambda t: Op("ite", t)),
            st.tuples(st.lists(st.integers(-5, 5), min_size=1, max_size=4), sub).map(
                lambda t: Table(tuple(t[0]), t[1])
            ),
        )

    return st.recursive(leaves, extend, max_leaves=8)


def _z3_value(e: Expr, state: tuple[int, ...], sort: Sort) -> tuple[int, bool]:
    tr = Translator([sort.const(v) for v in state], sort)
    v = z3.simplify(tr.value(e))
    c = z3.simplify(tr.cond(e))
    n = v.as_signed_long() if sort.width else v.as_long()
    return n, z3.is_true(c)


@settings(derandomize=True, deadline=None, max_examples=300)
@given(exprs(), st.tuples(*[st.integers(*FIELD_RANGE)] * NFIELDS))
def test_translation_matches_evaluate(e: Expr, state: tuple[int, ...]) -> None:
    want = evaluate(e, state)
    assert _z3_value(e, state, INT) == (want, want != 0)
    lo, hi = interval(e, [FieldInfo("f", *FIELD_RANGE, 0)] * NFIELDS, {})
    assert lo <= want <= hi
    width = max(abs(lo), abs(hi), 9).bit_length() + 2
    assert _z3_value(e, state, Sort(width)) == (want, want != 0)


@pytest.mark.parametrize(
    ("a", "b"), [(-7, 2), (7, -2), (-7, -2), (7, 2), (5, 0), (-5, 0), (0, -3), (-8, 8)]
)
@pytest.mark.parametrize("width", [0, 8])
def test_div_mod_edge_cases(a: int, b: int, width: int) -> None:
    for name in ("div", "mod"):
        e = Op(name, (Field(0), Field(1)))
        assert _z3_value(e, (a, b), Sort(width))[0] == evaluate(e, (a, b))


def test_table_out_of_range() -> None:
    e = Table((3, 4), Field(0))
    for i in (-1, 0, 1, 2, 5):
        assert _z3_value(e, (i,), INT)[0] == evaluate(e, (i,))


def test_nothing_found_is_inconclusive_unless_proved() -> None:
    """Without an expect line, nothing found is inconclusive, never safe."""
    checked = load_text("core c { skip }\n", "trivial.tlb", [])
    m = Model.of(checked, "sc")
    r = check_smt(m, None, depth=3)
    assert r.verdict == "inconclusive" and r.states == 3 and r.transitions == 0
    r = check_smt(m, None, depth=3, prove=True)
    assert r.verdict == "safe"
