"""The z3 engine's proofs (`--prove`): exact and relational inductive invariants,
hang decided on the proved state graph, and limits that end as `inconclusive`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLES

from verifier.api import Model, check_spec
from verifier.cli import main as cli
from verifier.lang.checked import MODELS
from verifier.lang.frontend import load, load_text
from verifier.search.explicit import explore
from verifier.smt import prove as smt_prove
from verifier.smt.bmc import SmtReplayError
from verifier.smt.encode import Encoding, Sort, bv_width
from verifier.smt.invariants import Diagram
from verifier.smt.prove import Prover
from verifier.smt.solve import Deadline

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
    """The safe eager and lazy examples (N = 2, looping responders, awaits) are proved
    safe at every depth, hang included, by the exact invariant."""
    checked = load(str(EXAMPLES / f"{name}.tlb"), [])
    r = check_spec(checked, "pso", engine="smt", prove=True, timeout=300)
    assert r.verdict == "safe", r.reason
    assert "proved safe at every depth" in r.reason and "reachable states" in r.reason


@pytest.mark.slow
@pytest.mark.parametrize("name", ["eager_fenced", "lazy_generation"])
def test_prove_examples_three_responders(name: str) -> None:
    checked = load(str(EXAMPLES / f"{name}.tlb"), ["N=3"])
    r = check_spec(checked, "pso", engine="smt", prove=True, timeout=300)
    assert r.verdict == "safe", r.reason


def test_prove_leaves_reachable_kinds_to_the_search() -> None:
    """For a racy spec the proof covers exactly the kinds that are not reachable, and
    the search finds the others with z3's own traces."""
    checked = load(str(EXAMPLES / "eager_missing_fence.tlb"), ["N=1"])
    r = check_spec(checked, "pso", engine="smt", prove=True, timeout=300)
    assert r.kinds == ("stale-translation", "use-after-free")
    assert r.verdict == "unsafe" and r.expectation_met
    assert "every other kind proved unreachable" in r.reason
    assert "range, stale-permission unreachable" in r.reason


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("name", ["eager_fenced", "lazy_generation"])
def test_prove_examples_every_model(name: str, model: str) -> None:
    checked = load(str(EXAMPLES / f"{name}.tlb"), [])
    r = check_spec(checked, model, engine="smt", prove=True, timeout=300)
    assert r.verdict == "safe", r.reason


def test_hanging_spec_exits_nonzero(tmp_path: Path) -> None:
    spec = tmp_path / "hangs.tlb"
    spec.write_text("var x = 0\ncore a { await x == 1 }\nexpect safe\n")
    assert cli.main(["check", "--engine", "smt", "-q", str(spec)]) == 3  # inconclusive
    assert cli.main(["check", "--engine", "smt", "--prove", "-q", str(spec)]) == 1  # mismatch


# ---------------------------------------------------------------- the exact invariant


def _prover(m: Model, max_states: int = 100_000) -> Prover:
    enc = Encoding(m.system, Sort(bv_width(m.system)))
    return Prover(m, enc, Deadline(60), max_states, lambda _text: None)


def test_exact_invariant_without_a_reachable_state_is_not_inductive() -> None:
    """z3 checks the candidate, it does not trust it: drop one reachable state (not the
    initial one) and z3 finds a transition into it from the rest."""
    m = Model.of(load(str(EXAMPLES / "eager_fenced.tlb"), ["N=1"]), "tso")
    ex = explore(m.system)
    states = [ex.state(i) for i in range(len(ex.states))]
    prover = _prover(m)
    assert prover.leaving(Diagram.of(states)) is None
    assert prover.leaving(Diagram.of(states[:-1])) is not None


def test_a_transition_the_explicit_engine_misses_is_an_internal_error() -> None:
    m = Model.of(load(str(EXAMPLES / "eager_fenced.tlb"), ["N=1"]), "tso")
    ex = explore(m.system, max_states=30)
    ex.complete = True  # pretend the first 30 states are all
    with pytest.raises(SmtReplayError, match="transition out of the reachable states"):
        prover = _prover(m)
        prover._exact(ex, ["use-after-free"], smt_prove.Proof())


def test_relational_invariant_when_the_states_do_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a seed that is not every reachable state, the relational abstraction is
    grown to an inductive invariant; it proves the kinds but cannot decide hang."""
    monkeypatch.setattr(smt_prove, "SAMPLE", 60)
    checked = load(str(EXAMPLES / "eager_fenced.tlb"), ["N=1"])
    r = check_spec(checked, "tso", engine="smt", prove=True, timeout=300)
    assert r.verdict == "inconclusive" and "3-tuples of machine objects" in r.reason
    assert "not decided: hang;" in r.reason and "state limit of 60" in r.reason


# ---------------------------------------------------------------- limits


def test_state_limit_bounds_the_proof() -> None:
    checked = load(str(EXAMPLES / "lazy_generation.tlb"), ["N=1"])
    r = check_spec(checked, "pso", engine="smt", prove=True, max_states=10, depth=3)
    assert r.verdict == "inconclusive"
    assert "state limit of 10 reached" in r.reason and "not decided" in r.reason


def test_timeout_bounds_every_phase() -> None:
    """lazy_generation N=5: the seed does not fit, the relational invariant is too large
    to build; the run ends as inconclusive at the timeout (issue 9.8: it ran 15 minutes)."""
    checked = load(str(EXAMPLES / "lazy_generation.tlb"), ["N=5"])
    r = check_spec(checked, "pso", engine="smt", prove=True, timeout=6)
    # (on a loaded machine the limit may already end the encoding, naming that phase)
    assert r.verdict == "inconclusive"
    assert "not decided" in r.reason or "timeout after 6 s (smt encoding" in r.reason


def test_the_exact_proof_gets_its_own_time_without_a_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once every reachable state is enumerated, the exact proof's z3 checks are what
    decides: without --timeout they get EXACT_BUDGET (not what the proof had left of
    PROOF_BUDGET); with one, the proof's half of it as before."""
    from verifier.smt import engine

    left: list[float] = []
    real = Prover._exact

    def spy(self: Prover, *args: object) -> None:
        left.append(self.deadline.left() or float("inf"))
        real(self, *args)

    monkeypatch.setattr(Prover, "_exact", spy)
    monkeypatch.setattr(engine, "PROOF_BUDGET", 30.0)
    checked = load_text(_LOOP_FREE, "loop_free.tlb", [])
    assert check_spec(checked, "tso", engine="smt", prove=True).verdict == "safe"
    assert check_spec(checked, "tso", engine="smt", prove=True, timeout=40).verdict == "safe"
    assert left[0] > 500 and left[1] <= 20, left


def test_phases_are_reported() -> None:
    checked = load(str(EXAMPLES / "eager_missing_fence.tlb"), ["N=1"])
    said: list[str] = []
    check_spec(checked, "pso", engine="smt", prove=True, phase=said.append)
    assert said[0] == "smt: encoding the transition relation"
    assert any(t.startswith("smt proof: z3 checks the invariant") for t in said)
    assert any(t.startswith("smt: bounded search at depth") for t in said)
