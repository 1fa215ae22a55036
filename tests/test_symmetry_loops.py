"""Symmetry through a `for` over a family (search/symmetry_loops.py): the same verdicts,
kinds and shortest-trace lengths as without symmetry, traces of the user's program that
`replay` accepts, fewer states, and the cases that fall back to no symmetry with a note."""

from __future__ import annotations

from pathlib import Path

import pytest
from oracle.explore import run_oracle
from oracle.gen_loops import gen_loop_checked

from verifier.api import check_spec, replay_trace
from verifier.ir.lower import lower
from verifier.lang.frontend import load, load_text
from verifier.search.symmetry import families

ROOT = Path(__file__).resolve().parent.parent
LOOPS = [
    ROOT / "benchmarks" / "spin" / "eager_fenced_loop.tlb",
    ROOT / "benchmarks" / "spin" / "eager_missing_fence_loop.tlb",
    ROOT / "examples" / "lazy_generation.tlb",
    ROOT / "examples" / "lazy_missing_fence.tlb",
]


def _outcome(path: Path, model: str, n: int, **kw: object) -> tuple[object, ...]:
    r = check_spec(load(str(path), [f"N={n}"]), model, engine="explicit", **kw)  # type: ignore[arg-type]
    lengths = tuple(sorted((t.kind, len(t.steps)) for t in r.traces))
    return r.verdict, r.kinds, lengths, r.states


def _agree(path: Path, model: str, n: int) -> None:
    on = _outcome(path, model, n, por=False)
    off = _outcome(path, model, n, symmetry=False, por=False)
    assert on[:3] == off[:3], f"{path.name} {model}"
    assert on[3] < off[3], "the loop's family is reduced"
    both = _outcome(path, model, n)
    assert both[:3] == off[:3], f"{path.name} {model} with partial-order reduction"


def test_on_and_off_agree() -> None:
    _agree(LOOPS[1], "tso", 3)
    _agree(LOOPS[2], "pso", 2)


@pytest.mark.slow
@pytest.mark.parametrize("path", LOOPS, ids=lambda p: p.stem)
def test_on_and_off_agree_everywhere(path: Path) -> None:
    for model in ("sc", "tso", "pso"):
        _agree(path, model, 3)


def test_the_family_is_reduced_through_the_loop() -> None:
    r = check_spec(load(str(LOOPS[2]), ["N=3"]), "pso", engine="explicit")
    assert "symmetry over cpu" in r.reductions


ORDERED = """
spec "two loops, one order"
param N = 3
var seen[cpu] = 0
core init {
    r := 0
    for c in cpu[*] { r := r + 1; seen[c] := r }
    last := 0
    for d in cpu[*] { v := seen[d]; assert v > last; last := v }
}
core cpu[1..N] {
    skip
}
expect safe
"""


def test_a_later_loop_follows_the_first_ones_order() -> None:
    """The second loop visits the members in the order the first picked (as the program
    does: one order for both), so the values the first wrote in order are read in order."""
    checked = load_text(ORDERED, "ordered.tlb", [])
    on = check_spec(checked, "sc", engine="explicit", por=False)
    off = check_spec(checked, "sc", engine="explicit", symmetry=False, por=False)
    assert on.verdict == off.verdict == "safe"
    assert "symmetry over cpu" in on.reductions and on.states < off.states


def test_traces_are_of_the_program_and_replay() -> None:
    """A trace found with symmetry visits the responders in the program's order (cpu[1]
    first) and replays."""
    checked = load(str(LOOPS[1]), ["N=3"])
    r = check_spec(checked, "tso", engine="explicit", por=False)
    assert r.verdict == "unsafe" and r.traces
    for t in r.traces:
        sends = [s for s in t.steps if s.text.startswith("ipi c")]
        assert [s.effect.split()[-1] for s in sends] == ["cpu[1]", "cpu[2]", "cpu[3]"][: len(sends)]
        assert replay_trace(t).reproduced
        assert replay_trace(t, str(LOOPS[1]), ["N=3"]).reproduced


SPEC = """
spec "loops"
param N = 3
frame A, B
page V -> A rw
var seen[cpu] = 0
var x = 0
core init {
    BODY
}
core cpu[1..N] {
    read V
    seen[self] := 1
}
handler h() {
    skip
}
expect safe
"""


def _why(body: str) -> str:
    prog = lower(load_text(SPEC.replace("BODY", body), "t.tlb", []))
    (fam,) = families(prog)
    return fam.why


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("for c in cpu[*] { await seen[c] == 1 }", ""),
        ("for c in cpu[*] { r := seen[c]\n x := r }", ""),
        ("loop { for c in cpu[*] { await seen[c] == 1 } }", "can run more than once"),
        ("for c in cpu[*] { await seen[c] == 1 }\n for d in cpu[*] { r := seen[d] }", ""),
        ("for c in cpu[*] { for d in cpu[*] { r := seen[d] } }", "holds another loop"),
        ("for c in cpu[*] { x := c }", "depends on which member it visits"),
        ("for c in cpu[*] { await seen[cpu[1]] == 1 }", "depends on which member it visits"),
        ("for c in cpu[*] { ipi cpu[2] h() }", "sends an IPI to a fixed member"),
    ],
)
def test_what_keeps_symmetry_and_what_falls_back(body: str, why: str) -> None:
    got = _why(body)
    assert (why in got) if why else got == "", got


def _generated(seed: int) -> tuple[bool, str]:
    """A generated loop spec (tests/oracle/gen_loops.py) under its model: symmetry on and
    off agree in verdict, kinds and shortest-trace lengths, and with the oracle's kinds;
    (whether the family was reduced, the text)."""
    _, text, checked = gen_loop_checked(seed)
    model = checked.model
    kw: dict[str, object] = {"engine": "explicit", "max_states": 60_000}
    on = check_spec(checked, model, por=False, **kw)  # type: ignore[arg-type]
    off = check_spec(checked, model, symmetry=False, por=False, **kw)  # type: ignore[arg-type]
    if "inconclusive" in (on.verdict, off.verdict):
        return False, text
    lengths = [tuple(sorted((t.kind, len(t.steps)) for t in r.traces)) for r in (on, off)]
    assert (on.verdict, on.kinds, lengths[0]) == (off.verdict, off.kinds, lengths[1]), text
    o = run_oracle(checked, model, max_states=4_000)
    if o.complete:
        assert tuple(sorted(o.kinds)) == tuple(sorted(on.kinds)), text
    for t in on.traces:
        assert replay_trace(t).reproduced, text
    return "symmetry over cpu" in on.reductions, text


def test_generated_loops_agree() -> None:
    """A few quick seeds (the slow campaign below runs 300)."""
    reduced = [_generated(seed)[0] for seed in (2, 4, 6, 8)]
    assert sum(reduced) >= 3, "the generator makes loops that keep the symmetry"


@pytest.mark.slow
def test_generated_loops_campaign() -> None:
    """300 generated loop specs (run on its own: a few minutes)."""
    reduced = [_generated(seed)[0] for seed in range(1000, 1300)]
    assert sum(reduced) >= 100
