"""Trace steps show the values that decide them: loads (which word, the value, memory or
own buffer, which step stored it), branches (which way, as source lines), awaits (the
values that let them pass), asserts (failed, with the operands)."""

from __future__ import annotations

from pathlib import Path

from engine_util import run

from verifier.run.result import Trace

SPECS = Path(__file__).resolve().parent.parent / "specs"


def trace_of(text: str, model: str, kind: str) -> Trace:
    r = run(text, model)
    t = r.trace(kind)
    assert t is not None, r.kinds
    return t


def effects(t: Trace) -> list[str]:
    return [f"{s.text} | {s.effect}" for s in t.steps]


OWN_BUFFER = """\
spec "own buffer"
var x = 0
core p0 {
    x := 1
    r := x
    assert r == 0
}
"""


def test_load_from_own_buffer_and_failed_assert() -> None:
    t = trace_of(OWN_BUFFER, "tso", "assertion")
    assert effects(t) == [
        "x := 1 | x = 1 (buffered)",
        "r := x | read x = 1 from own store buffer (stored at step 1); r = 1",
        "assert r == 0 | assertion FAILED: r = 1",
    ]


def test_litmus_sb_loads_await_and_assert() -> None:
    text = (SPECS / "litmus" / "sb.tlb").read_text()
    got = effects(trace_of(text, "tso", "assertion"))
    assert "r1 := x | read x = 0 from memory (initial value); r1 = 0" in got
    assert any(e.startswith("await res0 != 0 | condition holds: res0 = 1 from memory") for e in got)
    assert got[-1] == "assert a == 2 || r1 == 1 | assertion FAILED: a = 1, r1 = 0"


def test_branch_says_which_way_as_source() -> None:
    text = (SPECS / "subset" / "cpumask_unfenced.tlb").read_text()
    got = effects(trace_of(text, "pso", "stale-translation"))
    assert "l := inmask | read inmask = 0 from memory (initial value); l = 0" in got
    assert (
        "if l == 1 | false (l = 0): -> line 30 `invlpg V`, "
        "skips `ipi cpu2 flush(V)`, `await ack == 1`"
    ) in got
    assert not any("pc" in e.split("|")[1] for e in got)


def test_family_word_named_by_its_core() -> None:
    text = (SPECS / "lazy" / "missing_fence.tlb").read_text()
    got = effects(trace_of(text, "pso", "stale-translation"))
    assert "seen[self] := g | seen[cpu[1]] = 1 (buffered)" in got
    assert "if g != mine | true (g = 1, mine = 0): -> line 38 `flush all`" in got
    assert any(
        e.startswith("await seen[c] == 1 | condition holds: seen[cpu[1]] = 1 from memory")
        for e in got
    )
