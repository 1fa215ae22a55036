"""Parameterised proofs (`smt/param.py`): an invariant inferred at N=2 and N=3,
checked by z3 at the spec's own N.  Each claim is held against the explicit search
at the same N: a kind it proves unreachable is never found there, and a decided
hang is never found either."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLES
from conftest import eager_spec as _spec

from verifier.api import Model, check_spec
from verifier.lang.frontend import load, load_text
from verifier.run.budget import Budget
from verifier.run.result import Result
from verifier.smt.bmc import Search
from verifier.smt.encode import Encoding, Sort, bv_width
from verifier.smt.param import ParamProof, _Check, prove_param
from verifier.smt.param_seed import infer, resized, seeds_of, shape_of, size_param
from verifier.smt.prove import Proof, Prover
from verifier.smt.solve import Deadline

ROOT = Path(__file__).resolve().parent.parent


def _param(text: str, n: int, model: str, size: str = "N") -> ParamProof | None:
    """The parameterised proof of every kind a check of the spec can reach."""
    m = Model.of(load_text(text, "p.tlb", [f"{size}={n}"]), model)
    enc = Encoding(m.system, Sort(bv_width(m.system)))
    kinds = Search(m, enc, Deadline(120)).wanted
    return prove_param(m, enc, Deadline(120), kinds, lambda _: None, lambda n: Budget(n, 120))


def _explicit(text: str, n: int, model: str, size: str = "N") -> set[str]:
    r = check_spec(load_text(text, "p.tlb", [f"{size}={n}"]), model)
    assert r.verdict != "inconclusive", r.reason
    return set(r.kinds)


def test_eager_proved_safe_past_the_seeds() -> None:
    """N=5, beyond the seeds: every kind and hang decided by the parameterised proof
    alone (the exact one would need the whole state space)."""
    r = check_spec(load_text(_spec(), "p.tlb", ["N=5"]), "pso", engine="smt", prove=True)
    assert r.verdict == "safe", r.reason
    assert "inferred at sizes 2 and 3" in r.reason and "no hang: a ranking" in r.reason


RACES = {"use-after-free", "stale-translation", "stale-permission"}
CASES = {  # name: (spec, model, what the proof must decide, what it must leave open,
    # the awaits it shows are never passed: (core, view, pc))
    "fenced": (_spec(), "tso", RACES | {"range", "hang"}, set(), []),
    # the PTE store can still be buffered when the IPI arrives: a race
    "no-fence": (
        _spec(fence=False),
        "tso",
        {"stale-permission", "range", "hang"},
        {"use-after-free", "stale-translation"},
        [],
    ),
    # at N=4 the fourth acknowledgement leaves the range 0..3, and the wait for 4 is
    # never passed (the word's declared range is kept, not only its field's 0..15)
    "narrow": (_spec(acks="0..3"), "sc", RACES, {"range", "hang"}, [(0, 0, 4)]),
    # waits for one acknowledgement too many: a hang, the initiator's wait never passed
    "hangs": (_spec(wait="N + 1"), "sc", RACES | {"range"}, {"hang"}, [(0, 0, 4)]),
}


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.slow) if c == "no-fence" else c for c in sorted(CASES)],
)
def test_claims_agree_with_the_explicit_search(case: str) -> None:
    """At N=4 the explicit search enumerates everything: nothing the parameterised
    proof excludes is found there, and a hang is found only where it is undecided.
    What each case decides is fixed too, so that a proof that silently proves less
    (or more) fails."""
    spec, model, decided, open_, traps = CASES[case]
    par = _param(spec, 4, model)
    assert par is not None
    found = _explicit(spec, 4, model)
    assert not set(par.unreachable) & found, (par.unreachable, found)
    if par.hang_decided:
        assert "hang" not in found
    proved = set(par.unreachable) | ({"hang"} if par.hang_decided else set())
    assert proved == decided, (proved, par.failed)
    assert open_ <= found, found
    assert par.traps == traps, par.traps
    if par.traps:
        assert "hang" in found
    if case == "hangs":
        assert "hangs at cpu size 2" in par.failed


# the initiator waits for one acknowledgement more than there are responders
_TRAPPED = """
param N = 2
var acks = 0
core init {
    ipi cpu[*] bump()
    await acks == N + 1
}
core cpu[1..N] {
    r := 1
}
handler bump() {
    acks += 1
}
"""


def _lengths(r: Result) -> dict[str, int]:
    return {t.kind: len(t.steps) for t in r.traces}


def test_a_wait_never_passed_is_a_hang_where_it_is_first_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The proof shows init's wait is never passed (`traps`); the engine then finds the
    shortest path to it, which ends the explicit search's hang trace too.  The proof's
    other phases take long to give up at this size, so the engine is handed the
    parameterised proof's result alone."""
    par = _param(_TRAPPED, 4, "sc")
    assert par is not None and not par.hang_decided
    assert [(c, view) for c, view, _ in par.traps] == [(0, 0)]
    monkeypatch.setattr(
        Prover, "run", lambda self, kinds: Proof(list(par.unreachable), traps=par.traps)
    )
    checked = load_text(_TRAPPED, "p.tlb", ["N=4"])
    r = check_spec(checked, "sc", engine="smt", prove=True)
    assert r.verdict == "unsafe" and r.kinds == ("hang",), r.reason
    explicit = check_spec(checked, "sc", engine="explicit")
    assert explicit.kinds == ("hang",)
    assert _lengths(r) == _lengths(explicit) == {"hang": 1}
    # without the traps hang stays open
    monkeypatch.setattr(Prover, "run", lambda self, kinds: Proof(list(par.unreachable)))
    open_ = check_spec(checked, "sc", engine="smt", prove=True, depth=3)
    assert open_.verdict == "inconclusive" and "not decided: hang" in open_.reason


@pytest.mark.slow
def test_a_wait_never_passed_end_to_end() -> None:
    """The same through every phase: a state limit keeps the exact proof from deciding
    hang from the whole state graph (4,112 states)."""
    checked = load_text(_TRAPPED, "p.tlb", ["N=4"])
    r = check_spec(checked, "sc", engine="smt", prove=True, max_states=1000)
    assert r.verdict == "unsafe" and r.kinds == ("hang",), r.reason
    assert "an await its core never passes once there" in r.reason
    assert _lengths(r) == {"hang": 1}


def test_a_candidate_missing_a_reachable_pair_is_rejected() -> None:
    """Drop one (h, block) pair the seeds saw: the candidate then excludes reachable
    states, and z3 must find it not inductive (or the initial state outside it)."""
    m = Model.of(load_text(_spec(), "p.tlb", ["N=4"]), "sc")
    shape = shape_of(m)
    assert not isinstance(shape, str)
    seeds = seeds_of(m, shape, lambda n: Budget(n, 60))
    assert not isinstance(seeds, str)
    cand = infer(seeds, lambda: False)
    assert not isinstance(cand, str)
    enc = Encoding(m.system, Sort(bv_width(m.system)))
    assert _Check(m, enc, shape, cand, Deadline(60)).inductive(lambda _: None) == ""
    for dropped in sorted(cand.one)[:: max(1, len(cand.one) // 6)]:
        cand.one.discard(dropped)
        check = _Check(m, enc, shape, cand, Deadline(60))
        assert check.inductive(lambda _: None) != ""
        cand.one.add(dropped)


def test_the_size_param_is_found() -> None:
    """The param that sets the family's size, not another one; none when the family's
    size is not a param's value."""
    text = "param K = 3\n" + _spec()
    small = resized(load_text(text, "p.tlb", ["N=5"]), "cpu", 2)
    assert small is not None and dict(small.params) == {"K": 3, "N": 2}
    offset = _spec().replace("cpu[1..N]", "cpu[0..N]")
    assert resized(load_text(offset, "p.tlb", ["N=5"]), "cpu", 2) is None


def test_not_applied_where_it_does_not_fit() -> None:
    """At or below the seeds' sizes, and with a loop over the family, the other proofs
    run (the exact one where it fits)."""
    assert _param(_spec(), 3, "sc") is None
    loop = load(str(EXAMPLES / "lazy_generation.tlb"), ["N=4"])
    m = Model.of(loop, "sc")
    assert isinstance(shape_of(m), str)


def test_the_exact_proof_is_not_tried_where_the_seeds_grow_past_a_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The seeds' state counts, grown to the spec's size by their last ratio, guess how
    many states the exact proof would have to enumerate; past EXPECTED_MAX it is not
    tried (only the relational invariant's seed is explored) and the result says so."""
    from verifier.smt import prove

    text = _spec(acks="0..N - 1")  # the guess is refuted: everything is left to the rest
    par = _param(text, 4, "pso")
    assert par is not None and len(par.seed_states) == 2
    a, b = par.seed_states
    assert a < b and par.expected == pytest.approx(b * b / a)
    asked: list[int] = []
    real = Prover._explore

    def spy(self: Prover, init: tuple[int, ...], limit: int, what: str) -> object:
        if what == "smt proof: exploring seed states":
            asked.append(limit)
        return real(self, init, limit, what)

    monkeypatch.setattr(Prover, "_explore", spy)
    monkeypatch.setattr(Prover, "_relational", lambda *_: None)  # not what is tested here
    checked = load_text(text, "p.tlb", ["N=4"])
    run = {"engine": "smt", "prove": True, "max_states": 30_000, "depth": 1}  # seeds fit
    r = check_spec(checked, "pso", **run)
    assert asked == [prove.SAMPLE] and "exact invariant not tried" not in r.reason
    monkeypatch.setattr(prove, "EXPECTED_MAX", par.expected / 2)
    r = check_spec(checked, "pso", **run)
    assert asked == [prove.SAMPLE, Prover.RELATIONAL_SEED], asked
    assert f"exact invariant not tried: about {par.expected:.1g} states expected" in r.reason


@pytest.mark.slow
def test_example_at_sixteen_leaves_range_undecided() -> None:
    """examples/eager_fenced.tlb keeps `acks` in the default range 0..15, so at N=16 the
    sixteenth acknowledgement is a `range` problem: the parameterised proof must not
    exclude it (the races it does exclude)."""
    par = _param((EXAMPLES / "eager_fenced.tlb").read_text(), 16, "pso")
    assert par is not None
    assert "range" not in par.unreachable and "use-after-free" in par.unreachable


@pytest.mark.slow
def test_eager_fenced_pso_sixteen_responders() -> None:
    """The issue's target: `eager_fenced` under pso with 16 responders, decided (its ack
    counter ranged 0..N: specs/eager/eager_fenced_any_n.tlb)."""
    spec = load(str(ROOT / "specs" / "eager" / "eager_fenced_any_n.tlb"), ["N=16"])
    r = check_spec(spec, "pso", engine="smt", prove=True)
    assert r.verdict == "safe" and r.expectation_met, r.reason


def _applicable() -> list[tuple[str, str, str]]:
    """(spec file, model) of every spec and example the parameterised proof applies to
    at N=4 (one symmetric family sized by a param)."""
    out = []
    for path in sorted([*(ROOT / "specs").rglob("*.tlb"), *EXAMPLES.glob("*.tlb")]):
        checked = load(str(path), [])
        if not checked.families:
            continue
        for model in ("sc", "tso", "pso"):
            m = Model.of(checked, model)
            shape = shape_of(m)
            size = None if isinstance(shape, str) else size_param(checked, shape.family)
            if size is not None:
                out.append((str(path.relative_to(ROOT)), model, size))
    return out


@pytest.mark.slow
def test_campaign_every_applicable_spec() -> None:
    """Every spec and example the proof applies to, under every model, at N=4: its
    claims against the explicit search's complete verdict (the differential)."""
    pairs = _applicable()
    assert len(pairs) >= 10, pairs
    wrong = []
    for path, model, size in pairs:
        text = (ROOT / path).read_text()
        par = _param(text, 4, model, size)
        assert par is not None, path
        found = _explicit(text, 4, model, size)
        if (
            set(par.unreachable) & found
            or (par.hang_decided and "hang" in found)
            or (par.traps and "hang" not in found)
        ):
            wrong.append((path, model, par.unreachable, par.hang_decided, found))
        print(path, model, "proved", par.unreachable, par.hang_decided, par.traps, "found", found)
    assert not wrong, wrong
