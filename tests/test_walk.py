"""Random walks (`search/walk.py`) and the smt engine's use of them under --prove.

A walk's trace is a real execution (replayed by the trace builder), never a kind the
explicit search cannot reach, and never shorter than the explicit search's shortest
trace; where walks find what the proofs leave open, the verdict says so and says
whether the trace is shown shortest."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES, SPECS, eager_spec

from verifier.api import Model, check_spec, replay_trace
from verifier.lang.frontend import load, load_text
from verifier.report.render_svg import render_svg
from verifier.report.render_text import render_text
from verifier.run.compile import compile_system
from verifier.run.result import Trace
from verifier.search import walk as W
from verifier.trace.builder import TraceBuilder

# an eager shootdown whose ack counter overflows at the last acknowledgement: the
# range problem needs every responder's handler, 4 + 3N steps (explicit search)
_NARROW = eager_spec(acks="0..N - 1")


def _model(n: int, model: str = "pso", text: str = _NARROW) -> Model:
    return Model.of(load_text(text, "narrow.tlb", [f"N={n}"]), model)


def _walk(m: Model, kinds: list[str]) -> dict[str, W.Walked]:
    return W.walk(m.system, compile_system(m.system), kinds)


def _reaches(m: Model, path: list[int], kind: str) -> bool:
    comp = compile_system(m.system)
    end = W._replay(comp, m.system.init, path)
    return W._problem(comp, m.system, end, kind) is not None


@pytest.mark.parametrize("n", [3, 4])
def test_walk_finds_the_overflow_and_shortens_it_to_the_shortest(n: int) -> None:
    m = _model(n)
    met = _walk(m, ["range"])["range"]
    assert met.steps > len(met.path) + 1  # the walk wandered; shortening took steps out
    assert len(met.path) + 1 == 4 + 3 * n  # what the explicit search shows shortest
    explicit = check_spec(load_text(_NARROW, "narrow.tlb", [f"N={n}"]), "pso", engine="explicit")
    assert {t.kind: len(t.steps) for t in explicit.traces}["range"] == 4 + 3 * n
    # a real execution: every step replays, the last state enables the range check
    states = TraceBuilder.of(m).run([*met.path])
    assert states[-1] == met.pre
    assert m.system.commands[met.command].checks[met.check].kind == "range"


def test_no_single_step_can_go_from_a_shortened_path() -> None:
    m = _model(4)
    path = list(_walk(m, ["range"])["range"].path)
    assert _reaches(m, path, "range")
    for i in range(len(path)):
        assert not _reaches(m, path[:i] + path[i + 1 :], "range"), i


def test_a_path_ends_at_a_fatal_check() -> None:
    # the overflow's range check is fatal: the step it guards builds no next state, so
    # no path goes through it (a walk, its shortening and the smt engine's replay)
    m = _model(3)
    comp = compile_system(m.system)
    met = _walk(m, ["range"])["range"]
    pre = W._replay(comp, m.system.init, list(met.path))
    assert pre == met.pre and comp.ends(met.command, pre)
    assert comp.step[met.command](pre) is not None  # the bare step would go on
    assert W._replay(comp, pre, [met.command]) is None


def test_walks_are_the_same_on_every_run() -> None:
    m = _model(4)
    assert _walk(m, ["range"]) == _walk(m, ["range"])


def test_tidy_keeps_the_execution_and_groups_cores() -> None:
    m = _model(4)
    comp = compile_system(m.system)
    met = _walk(m, ["range"])["range"]
    core = [c.core for c in m.system.commands]
    head, rest = list(met.path[:4]), list(met.path[4:])  # the initiator's, the handlers'
    assert [core[c] for c in head] == [0] * 4
    assert [core[c] for c in rest] == sorted(core[c] for c in rest)  # tidied already
    # the responders' handlers in the opposite order: the same execution up to the
    # order of independent steps, which tidy puts back in core order
    groups: dict[int, list[int]] = {}
    for c in rest:
        groups.setdefault(core[c], []).append(c)
    scrambled = head + [c for k in sorted(groups, reverse=True) for c in groups[k]]
    assert scrambled != list(met.path)
    end = W._replay(comp, m.system.init, scrambled)
    assert end == met.pre
    assert W.tidy(m.system, comp, scrambled) == list(met.path)


def test_a_loop_is_cut_out() -> None:
    m = _model(2)
    comp = compile_system(m.system)
    # one responder alone, its first enabled command each time, until a state comes back
    mine = [c.id for c in m.system.commands if c.core == 1]
    state, seen, path = m.system.init, {m.system.init}, []
    for _ in range(100):
        cid, state = next((c, n) for c in mine if (n := comp.step[c](state)) is not None)
        path.append(cid)
        if state in seen:
            break
        seen.add(state)
    assert state in seen
    cut = W._unloop(m.system, comp, path)
    states = W._states(comp, m.system, cut)
    assert len(cut) < len(path) and states[-1] == state
    assert len(set(states)) == len(states)


def test_nothing_found_where_nothing_is_reachable() -> None:
    m = Model.of(load(str(EXAMPLES / "eager_fenced.tlb"), ["N=3"]), "pso")
    assert _walk(m, ["stale-translation", "use-after-free", "range"]) == {}


# the same overflow with nothing else to check: 1 + 2N steps
_COUNTER = """
param N = 2
var acks : 0..N - 1 = 0
core init {
    ipi cpu[*] bump()
    await acks == N
}
core cpu[1..N] {
    r := 1
}
handler bump() {
    acks += 1
}
"""


def test_smt_prove_reports_what_walks_find_and_whether_it_is_shortest() -> None:
    checked = load_text(_COUNTER, "counter.tlb", ["N=3"])
    # a state limit below the spec's 92 states keeps the proof from exploring them all
    # (then it would know every kind's depth): only the walks find the overflow; the
    # bounded search then shows no shorter trace exists, or, told to stop at depth 3,
    # says the walks' trace may not be shortest
    shown = check_spec(checked, "pso", engine="smt", prove=True, max_states=20)
    assert shown.verdict == "unsafe" and shown.kinds == ("range",)
    assert {t.kind: len(t.steps) for t in shown.traces} == {"range": 7}
    assert "random walks" not in shown.reason and shown.traces[0].shortest
    assert shown.to_json()["shortest"] == {"range": True}
    cut = check_spec(checked, "pso", engine="smt", prove=True, max_states=20, depth=3)
    assert cut.verdict == "unsafe" and cut.kinds == ("range",)
    assert {t.kind: len(t.steps) for t in cut.traces} == {"range": 7}
    assert "range: a trace of 7 steps found by random walks and shortened" in cut.reason
    assert "looks for at most 4 steps (--depth), so it may not be shortest" in cut.reason
    assert not cut.traces[0].shortest and cut.to_json()["shortest"] == {"range": False}
    # without the walks the bounded search alone stops short of the overflow
    bounded = check_spec(checked, "pso", engine="smt", depth=3)
    assert bounded.verdict == "inconclusive" and bounded.kinds == ()


def test_without_a_timeout_showing_the_walks_trace_shortest_has_a_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """All the bounded search still looks for is a trace shorter than the walks': it
    gets `SHORTEN_BUDGET` seconds (no --timeout), then the walks' trace is shown."""
    from verifier.smt import engine

    monkeypatch.setattr(engine, "SHORTEN_BUDGET", 0.001)
    checked = load_text(_COUNTER, "counter.tlb", ["N=3"])
    r = check_spec(checked, "pso", engine="smt", prove=True, max_states=20)
    assert r.verdict == "unsafe" and r.kinds == ("range",)
    assert {t.kind: len(t.steps) for t in r.traces} == {"range": 7}
    assert "given 0.001 s for a shorter one" in r.reason, r.reason


@pytest.mark.slow
def test_eager_fenced_with_16_responders_overflows_its_counter() -> None:
    checked = load(str(EXAMPLES / "eager_fenced.tlb"), ["N=16"])
    r = check_spec(checked, "pso", engine="smt", prove=True)
    assert r.verdict == "unsafe" and r.kinds == ("hang", "range")
    # the wait for 16 acknowledgements is never passed: the initiator hangs as soon as
    # it reaches it (the explicit search's hang at N=3..6 on a counter too narrow is 5
    # steps as well)
    assert {t.kind: len(t.steps) for t in r.traces} == {"hang": 5, "range": 52}
    assert {t.kind: t.shortest for t in r.traces} == {"hang": True, "range": False}
    assert "stale-translation" in r.reason and "unreachable" in r.reason
    assert "every other kind proved unreachable" in r.reason


@pytest.mark.slow
def test_campaign_walks_against_the_explicit_search() -> None:
    """Every spec and example under its own model: what walks find, the explicit
    search finds, with a trace no longer than the walks' (the differential)."""
    paths = sorted([*SPECS.rglob("*.tlb"), *EXAMPLES.glob("*.tlb")])
    wrong, met, pairs = [], 0, 0
    for path in paths:
        checked = load(str(path), [])
        model = checked.model
        full = check_spec(checked, model)
        if full.verdict == "inconclusive":
            continue
        pairs += 1
        m = Model.of(checked, model)
        kinds = sorted({ch.kind for c in m.system.commands for ch in c.checks})
        shortest = {t.kind: len(t.steps) for t in full.traces}
        for kind, w in _walk(m, kinds).items():
            met += 1
            if kind not in shortest or len(w.path) + 1 < shortest[kind]:
                wrong.append((str(path), model, kind, len(w.path) + 1, shortest))
    print(f"{pairs} pairs, {met} kinds met by walks")
    assert pairs >= 100 and met >= 50
    assert not wrong, wrong


# ------------------------------------------------------------ past a search's limit


@pytest.mark.parametrize("engine", ["explicit", "native"])
def test_walks_past_a_state_limit_find_the_race_and_say_so(engine: str) -> None:
    path = str(EXAMPLES / "eager_missing_fence.tlb")
    checked = load(path, ["N=4"])
    full = check_spec(checked, "tso")  # shortest traces
    shortest = {t.kind: len(t.steps) for t in full.traces}
    r = check_spec(checked, "tso", engine=engine, max_states=2_000)
    assert r.verdict == "inconclusive" and r.states < 10_000  # the run stays undecided
    assert r.kinds == full.kinds == ("stale-translation", "use-after-free")
    assert [t.kind for t in r.traces] == list(r.kinds)
    for t in r.traces:  # real executions, never shorter than the shortest
        assert len(t.steps) >= shortest[t.kind]
        assert replay_trace(t, path, ["N=4"]).reproduced
    assert "past the state limit, random walks found stale-translation (" in r.reason
    assert "not shown shortest" in r.reason
    # the traces say so themselves: in JSON, saved, and read back, and in the text
    assert r.to_json()["shortest"] == dict.fromkeys(r.kinds, False)
    assert full.to_json()["shortest"] == dict.fromkeys(r.kinds, True)
    saved = r.traces[0].to_json()
    assert saved["shortest"] is False and "shortest" not in full.traces[0].to_json()
    assert Trace.from_json(saved) == r.traces[0]
    assert Trace.from_json(full.traces[0].to_json()).shortest
    assert render_text(r.traces[0]).startswith("  (a real execution, not shown shortest)\n")
    assert "not shown shortest" not in render_text(full.traces[0])
    assert "steps, not shown shortest" in render_svg(r.traces[0])


def test_no_walks_after_a_timeout_or_on_a_complete_search() -> None:
    checked = load(str(EXAMPLES / "eager_missing_fence.tlb"), ["N=9"])
    r = check_spec(checked, "tso", engine="explicit", timeout=0.5)
    assert r.verdict == "inconclusive" and "timeout" in r.reason
    assert "random walks" not in r.reason and not r.traces
    done = check_spec(load(str(EXAMPLES / "eager_fenced.tlb"), ["N=2"]), "tso")
    assert done.verdict == "safe" and "random walks" not in done.reason


def test_walks_past_a_limit_that_meet_nothing_say_what_they_looked_for() -> None:
    r = check_spec(load(str(EXAMPLES / "eager_fenced.tlb"), ["N=4"]), "tso", max_states=300)
    assert r.verdict == "inconclusive" and r.kinds == () and not r.traces
    assert "random walks past the state limit met none of" in r.reason
