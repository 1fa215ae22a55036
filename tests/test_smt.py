"""The z3 engine: same kinds and trace lengths as the explicit engine on the shared
examples; verdict rules (a verdict only when every kind, hang included, is decided);
no internal error on any spec; the expression translation against `system.evaluate`.
The proofs (`--prove`) are tested in test_smt_prove.py."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import z3
from conftest import EXAMPLES, ROOT, SPECS, tlb_files
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.api import Model, check_spec, expected_models
from verifier.ir.system import Const, Expr, Field, FieldInfo, Op, Table, evaluate, interval
from verifier.lang.checked import MODELS
from verifier.lang.frontend import load, load_text
from verifier.smt.encode import INT, Sort, Translator
from verifier.smt.engine import check_smt
from verifier.trace.builder import TraceBuilder

EXAMPLE_FILES = tlb_files(EXAMPLES)
SPEC_FILES = tlb_files(SPECS, "**/*.tlb")


def _defines(path: str) -> list[str]:
    return ["N=1"] if "param N" in Path(path).read_text() else []


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
    assert all(t.engine == "smt" for t in got.traces)
    # a bounded search decides no kind it has not found: a verdict only when the
    # kinds found settle the expectation whatever the others turn out to be
    if got.verdict == "inconclusive":
        assert "not decided" in got.reason and not got.expectation_met
    else:
        assert got.verdict == "unsafe" and want
        assert got.expectation_met == explicit.expectation_met


def test_hang_expectation_is_inconclusive() -> None:
    checked = load(str(EXAMPLES / "concurrent_shootdowns_irqoff.tlb"), [])
    r = check_spec(checked, "sc", engine="smt", depth=8)
    assert r.verdict == "inconclusive" and not r.kinds and not r.expectation_met
    assert "not decided: " in r.reason and "hang" in r.reason


_NEVER_SET = """
var x = 0
core a { await x == 1 }
core b { skip }
"""


def test_safe_only_when_hang_is_decided() -> None:
    """A spec that hangs is never `safe` (issue 9.5): without a proof hang is not
    decided, so the verdict is inconclusive; --prove decides it and finds the hang."""
    checked = load_text(_NEVER_SET + "expect safe\n", "never_set.tlb", [])
    r = check_spec(checked, "tso", engine="smt", depth=5)
    assert r.verdict == "inconclusive" and not r.expectation_met
    assert "not decided: hang" in r.reason
    r = check_spec(checked, "tso", engine="smt", prove=True)
    assert r.verdict == "unsafe" and r.kinds == ("hang",) and not r.expectation_met
    assert r.traces[0].engine == "smt" and r.traces[0].kind == "hang"


def test_hang_free_spec_with_await_is_safe_only_with_a_proof() -> None:
    checked = load(str(EXAMPLES / "eager_fenced.tlb"), ["N=1"])
    r = check_spec(checked, "tso", engine="smt", depth=5)
    assert r.verdict == "inconclusive" and "hang" in r.reason
    r = check_spec(checked, "tso", engine="smt", prove=True)
    assert r.verdict == "safe" and r.expectation_met, r.reason


def test_found_kinds_settle_the_expectation_only_when_they_contradict_it() -> None:
    """The kinds found are a subset of the truth: one the expectation does not name
    makes the verdict `unsafe`, not met, whatever is undecided; finding exactly the
    expected kinds decides nothing while others (or hang) are open."""
    failing = _NEVER_SET + "core c { assert x == 1 }\n"
    r = check_spec(load_text(failing + "expect race assertion\n", "t.tlb", []), "sc", engine="smt")
    assert r.verdict == "inconclusive" and r.kinds == ("assertion",)
    r = check_spec(load_text(failing + "expect safe\n", "t.tlb", []), "sc", engine="smt")
    assert r.verdict == "unsafe" and not r.expectation_met
    r = check_spec(load_text(failing + "expect race\n", "t.tlb", []), "sc", engine="smt")
    assert r.verdict == "unsafe" and r.expectation_met


def test_traces_replay() -> None:
    checked = load(str(EXAMPLES / "eager_missing_fence.tlb"), ["N=1"])
    m = Model.of(checked, "pso")
    r = check_smt(m, checked.expect_for("pso"), depth=11)
    assert r.kinds == ("stale-translation", "use-after-free")
    by_key = {c.key: c.id for c in m.system.commands}
    for t in r.traces:
        TraceBuilder.of(m).run([by_key[s.key] for s in t.steps])  # raises if not an execution
        assert t.steps[-1].problems[0].kind == t.kind


def test_timeout_is_inconclusive() -> None:
    checked = load(str(EXAMPLES / "lazy_generation.tlb"), ["N=2"])
    r = check_spec(checked, "pso", engine="smt", depth=200, timeout=0.5)
    assert r.verdict == "inconclusive"
    assert "timeout" in r.reason
    assert r.seconds < 10


def test_z3_giving_up_without_a_timeout_is_inconclusive() -> None:
    """z3 answering `unknown` (here: its own global timeout) when no --timeout was
    given is reported, not an internal error (issue 16: it formatted None)."""
    checked = load(str(EXAMPLES / "lazy_generation.tlb"), ["N=2"])
    z3.set_param("timeout", 1)
    try:
        r = check_spec(checked, "pso", engine="smt", depth=8)
    finally:
        z3.set_param("timeout", 4294967295)
    assert r.verdict == "inconclusive"
    assert "z3 gave up (" in r.reason


def test_no_problem_possible_is_safe() -> None:
    """Without a command that has a check, and without an await, nothing can go wrong:
    every kind is decided without a search."""
    checked = load_text("core c { skip }\n", "trivial.tlb", [])
    r = check_smt(Model.of(checked, "sc"), None, depth=3)
    assert r.verdict == "safe" and r.transitions == 0


def test_nothing_found_is_inconclusive_unless_proved() -> None:
    """Nothing found up to a bound is inconclusive, never safe."""
    checked = load_text("var x = 0\ncore c { x := 1\n r := 3 / x }\n", "t.tlb", [])
    m = Model.of(checked, "sc")
    r = check_smt(m, None, depth=3)
    assert r.verdict == "inconclusive" and r.states == 3 and r.transitions == 0
    r = check_smt(m, None, depth=3, prove=True)
    assert r.verdict == "safe", r.reason


# ---------------------------------------------------------------- no internal error


def _every_pair(files: Sequence[Path]) -> list[tuple[str, str]]:
    return [(str(f), m) for f in files for m in expected_models(load(str(f), []))]


QUICK = [SPEC_FILES[i] for i in range(0, len(SPEC_FILES), 8)] + EXAMPLE_FILES[:2]


@pytest.mark.parametrize("timeout", [None, 30.0])
@pytest.mark.parametrize(("path", "model"), _every_pair(QUICK))
def test_no_internal_error_quick(path: str, model: str, timeout: float | None) -> None:
    """A slice of the specs and examples, shallow: the smt engine ends with a verdict
    (raising nothing), with and without --timeout."""
    r = check_spec(load(path, []), model, engine="smt", depth=4, timeout=timeout)
    assert r.verdict in ("safe", "unsafe", "inconclusive")


@pytest.mark.slow
@pytest.mark.parametrize("timeout", [None, 60.0])
@pytest.mark.parametrize(("path", "model"), _every_pair([*SPEC_FILES, *EXAMPLE_FILES]))
def test_no_internal_error_prove(path: str, model: str, timeout: float | None) -> None:
    """Every spec and example with --prove, with and without --timeout: a verdict, and
    never one that disagrees with the explicit engine's kinds."""
    checked = load(path, [])
    r = check_spec(checked, model, engine="smt", prove=True, timeout=timeout)
    if "not decided" not in r.reason:
        assert set(r.kinds) == set(check_spec(checked, model).kinds)


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


def test_z3_memory_cap_ends_the_run_as_a_memory_limit() -> None:
    """z3's own allocations are capped, around each solver call, at what --max-memory
    leaves beside the rest of the process: past it the run ends inconclusive, naming
    the limit, instead of growing on inside one long z3 call; a cap too small for z3 to
    start with is the limit reached; and the process goes on (z3 aborted the process
    when its cap was hit outside a check: run in a child, so that would fail here, not
    end the test run)."""
    code = f"""
import sys
sys.path[:0] = {[str(ROOT)]!r}
from verifier.lang.frontend import load
from verifier.run.budget import LimitReached, rss_mb
from verifier.run.model import Model
from verifier.smt.engine import check_smt
m = Model.of(load({str(EXAMPLES / "lazy_generation.tlb")!r}, ["N=4"]), "pso")
r = check_smt(m, None, depth=25, timeout=120, max_memory=rss_mb() + 45)
print(r.verdict, "|", r.reason)
try:
    r = check_smt(m, None, depth=25, max_memory=rss_mb() + 1)
    print(r.verdict, "|", r.reason)
except LimitReached as e:
    print("limit", "|", e)
r = check_smt(m, None, depth=3)
print(r.verdict, "|", r.reason)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    capped, tiny, after = out.stdout.splitlines()
    assert capped.startswith("inconclusive |")
    assert re.search(r"memory limit of [\d.]+ MB reached \(smt solving\)", capped)
    assert re.search(r"^(limit|inconclusive) \| .*memory limit .* \(smt (encoding|solving)\)", tiny)
    assert "memory" not in after


def test_a_run_without_a_memory_limit_lifts_an_earlier_runs_cap() -> None:
    """z3's memory cap is global to the process: a run with --max-memory must not leave
    its cap on a later run without one (a suite, the API, the tests), nor on z3's work
    outside a check (z3 aborts the process when the cap is hit there)."""
    from verifier.run.budget import rss_mb

    m = Model.of(load(str(EXAMPLES / "lazy_generation.tlb"), ["N=4"]), "pso")
    check_smt(m, None, depth=2, max_memory=rss_mb() + 200)
    assert z3.get_param("memory_max_size") == "0"  # lifted as soon as each check returns
    r = check_smt(m, None, depth=3)
    assert "memory" not in r.reason
