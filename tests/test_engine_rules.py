"""One machine rule at a time, on tiny specs whose state counts are counted by hand."""

from __future__ import annotations

import pytest
from engine_util import kinds, run

TWO_STORES_TWO_CORES = """
var x = 0
var y = 0
core a { x := 1 }
core b { y := 1 }
"""

TWO_STORES_ONE_CORE = """
var x = 0
var y = 0
core a {
    x := 1
    y := 1
}
"""


@pytest.mark.parametrize(
    ("model", "states", "transitions"),
    # sc: each core is before or after its store: 2 x 2 states, 2 steps x 2 cores.
    # tso/pso: each core is (before), (buffered) or (in memory): 3 x 3 states, and each
    # core's 2 local steps can happen in any of the other core's 3 states: 12 transitions.
    [("sc", 4, 4), ("tso", 9, 12), ("pso", 9, 12)],
)
def test_two_cores_one_store_each(model: str, states: int, transitions: int) -> None:
    r = run(TWO_STORES_TWO_CORES, model, por=False)  # the machine's own counts
    assert (r.verdict, r.states, r.transitions) == ("safe", states, transitions)


@pytest.mark.parametrize(
    ("model", "states"),
    # sc: pc 0, 1, 2.  tso: pc0 [] | pc1 [x] | pc1 [] | pc2 [x y] | pc2 [y] | pc2 [].
    # pso adds pc2 [x]: y may reach memory before x.
    [("sc", 3), ("tso", 6), ("pso", 7)],
)
def test_store_order_tso_vs_pso(model: str, states: int) -> None:
    assert run(TWO_STORES_ONE_CORE, model, por=False).states == states


def sb(fence: str) -> str:
    """Store buffering: both loads may see 0 only when stores are buffered."""
    return SB.replace("FENCE", fence)


SB = """var x = 0
var y = 0
var rx = 0
var ry = 0
var done = 0
core a {
    x := 1
    FENCE
    r := y
    rx := r + 1
    done += 1
}
core b {
    y := 1
    FENCE
    r := x
    ry := r + 1
    done += 1
}
core obs {
    await done == 2
    u := rx
    v := ry
    assert u == 2 || v == 2
}
"""


@pytest.mark.parametrize("model", ["sc", "tso", "pso"])
def test_store_buffering_litmus(model: str) -> None:
    expected = set() if model == "sc" else {"assertion"}
    assert kinds(sb(""), model) == expected
    assert kinds(sb("fence"), model) == set()


MP = """
var data = 0
var flag = 0
core w {
    data := 1
    %s
    flag := 1
}
core r {
    await flag == 1
    v := data
    assert v == 1
}
"""


@pytest.mark.parametrize(
    ("model", "fence", "expected"),
    [
        ("sc", "", set()),
        ("tso", "", set()),
        ("pso", "", {"assertion"}),
        ("pso", "fence", set()),
        ("pso", "fence release", set()),
        ("pso", "fence acquire", {"assertion"}),
    ],
)
def test_message_passing(model: str, fence: str, expected: set[str]) -> None:
    assert kinds(MP % fence, model) == expected


IPI_ORDER = """
option ipi = %s
frame A, B
page V -> A rw
var ack = 0
core init {
    pte V := B rw
    %s
    ipi cpu flush
    await ack == 1
    complete V
    free A
}
core cpu {
    loop { read V }
}
handler flush {
    invlpg V
    ack := 1
}
"""


@pytest.mark.parametrize(
    ("option", "fence", "model", "racy"),
    [
        ("unordered", "", "sc", False),
        ("unordered", "", "tso", True),
        ("unordered", "", "pso", True),
        ("ordered", "", "tso", False),  # the IPI travels behind the PTE store
        ("ordered", "", "pso", False),
        ("unordered", "fence release", "pso", False),
        ("unordered", "fence", "pso", False),
        ("unordered", "fence acquire", "pso", True),
    ],
)
def test_ipi_ordering_with_stores(option: str, fence: str, model: str, racy: bool) -> None:
    got = kinds(IPI_ORDER % (option, fence), model)
    assert got == ({"stale-translation", "use-after-free"} if racy else set())


WALKER = """
option walker = %s
frame A, B
page V -> A rw
var go = 0
core init {
    pte V := B rw
    fence
    complete V
    free A
    go := 1
}
core cpu {
    await go == 1
    read V
}
"""


@pytest.mark.parametrize("model", ["sc", "pso"])
def test_speculative_walker_fills_before_any_access(model: str) -> None:
    # cpu reads only after the update is complete.  A speculative walker may have
    # filled V -> A at any earlier moment; an on-miss walker fills at the read, from B.
    assert kinds(WALKER % "speculative", model) == {"stale-translation", "use-after-free"}
    assert kinds(WALKER % "on-miss", model) == set()


def test_walker_reads_memory_not_own_store_buffer() -> None:
    spec = """
frame A, B
page V -> A rw
core c {
    pte V := B rw
    invlpg V
    complete V
    write V
}
"""
    # Under pso the new PTE may still sit in c's own buffer when c walks: stale.
    assert kinds(spec, "sc") == set()
    assert kinds(spec, "pso") == {"stale-translation"}


def test_flush_asid_keeps_global_entries() -> None:
    spec = """
frame A, B, K1, K2
space P asid 1 {
    page V -> A rw
    page K -> K1 rx global
}
space Q asid 2 {
    page V -> B rw
    page K -> K2 rx global
}
core c in P {
    read K
    read V
    pte K := K2 rx global
    fence
    flush asid P
    complete K
    exec K
}
"""
    assert kinds(spec, "sc") == {"stale-translation"}
    assert kinds(spec.replace("flush asid P", "flush all"), "sc") == set()


ASID = """
frame A, B
space P asid 5 { page V -> A rw }
space Q asid 5 { page V -> B rw }
core c in P {
    write V
    switch Q
    %s
    write V
}
"""


def test_asid_reuse_without_flush() -> None:
    assert kinds(ASID % "", "sc") == {"asid-reuse"}
    assert kinds(ASID % "flush asid Q", "sc") == set()


def test_stale_permission_after_mprotect() -> None:
    spec = """
frame A
page V -> A rw
var ack = 0
core init {
    pte V := A r
    fence
    %s
    complete V
}
core cpu {
    loop { write V }
}
handler flush { invlpg V; ack := 1 }
"""
    assert kinds(spec % "", "sc") == {"stale-permission"}
    assert kinds(spec % "ipi cpu flush\n    await ack == 1", "sc") == set()


def test_range_assertion_and_division_by_zero() -> None:
    assert kinds("var x : 0..2 = 0\ncore c { x := 3 }", "sc") == {"range"}
    assert kinds("core c { r := 16 }", "sc") == {"range"}
    assert kinds("core c { z := 0; r := 4 / z }", "sc") == {"range"}
    # registers have the default range 0..15 too
    assert kinds("core c { r := 0 - 1 }", "sc") == {"range"}
    # division truncates toward zero
    assert kinds("var q : -8..8 = 0\ncore c { q := -7 / 2; assert q == -3 }", "sc") == set()
    assert kinds("var q : -8..8 = 0\ncore c { q := -7 % 2; assert q == -1 }", "sc") == set()
    assert kinds("core c { r := 1; assert r == 2 }", "sc") == {"assertion"}


def test_ipi_queue_bound_is_a_range_problem() -> None:
    spec = """
core s { repeat 5 { ipi t h } }
core t { irq off }
handler h { skip }
"""
    assert kinds(spec, "sc") == {"range"}
    assert kinds(spec.replace("repeat 5", "repeat 4"), "sc") == set()


def test_handlers_do_not_nest_and_run_with_irqs_off() -> None:
    spec = """
var n = 0
core s {
    ipi t h
    ipi t h
}
core t { skip }
handler h {
    v := n
    n := v + 1
    assert v == 0 || v == 1
}
"""
    assert kinds(spec, "sc") == set()


def test_hang_deadlock_and_livelock() -> None:
    dead = "var f = 0\ncore a { await f == 1 }\n"
    assert kinds(dead, "sc") == {"hang"}
    # b spins forever without ever setting f: a can never pass its await.
    spin = "var f = 0\ncore a { await f == 1 }\ncore b { loop { r := f } }\n"
    assert kinds(spin, "sc") == {"hang"}
    # b eventually sets f: no hang, although b may also loop for a while first.
    fair = "var f = 0\ncore a { await f == 1 }\ncore b { while f == 0 { f := 1 } }\n"
    assert kinds(fair, "sc") == set()


def test_hang_trace_ends_where_the_await_is_doomed() -> None:
    r = run("var f = 0\ncore a { await f == 1 }\n", "sc")
    t = r.trace("hang")
    assert t is not None and len(t.steps) == 0 and t.problem.core == "a"


def test_state_limit_gives_inconclusive() -> None:
    r = run(TWO_STORES_TWO_CORES, "tso", max_states=3)
    assert r.verdict == "inconclusive" and not r.expectation_met
    assert "state limit" in r.reason


def test_exploration_is_deterministic() -> None:
    a = run(IPI_ORDER % ("unordered", ""), "pso")
    b = run(IPI_ORDER % ("unordered", ""), "pso")
    assert a.states == b.states and a.transitions == b.transitions
    assert [t.to_json() for t in a.traces] == [t.to_json() for t in b.traces]


SELF_IN_HANDLER = """
frame A, B
page V -> A rw
var ack[cpu] = 0
core init {
    pte V := B rw
    fence
    ipi %s flush
    for c in cpu[*] { await ack[c] == 1 }
    complete V
    free A
}
core cpu[1..2] { loop { read V } }
handler flush {
    invlpg V
    ack[self] := 1
}
"""


def test_self_indexed_word_in_a_handler() -> None:
    # `ack[self]` is the running core's word: fine while only cpu cores take the IPI ...
    assert kinds(SELF_IN_HANDLER % "cpu[*]", "pso") == set()
    # ... and a `range` problem when the handler runs on init, which has no ack word.
    assert kinds(SELF_IN_HANDLER % "all", "sc") == {"range"}


def test_ipi_argument_must_fit_the_handler_register() -> None:
    spec = "core s { ipi t h(%d) }\ncore t { skip }\nhandler h(a) { r := a }\n"
    assert kinds(spec % 20, "sc") == {"range"}
    assert kinds(spec % 15, "sc") == set()


def test_trace_steps_say_which_store_a_load_read() -> None:
    from verifier.report.render_dot import render_dot

    r = run(MP % "", "pso")
    t = r.trace("assertion")
    assert t is not None
    by_text = {s.text: s for s in t.steps}
    flag_store = next(s for s in t.steps if s.text == "flag := 1" and s.action != "drain")
    assert by_text["v := data"].reads_from is None  # the initial value: data's store is late
    assert next(s for s in t.steps if s.action == "await").reads_from == flag_store.index
    assert '[label="reads flag = 1"' in render_dot(t)  # a reads-from edge, with the value
