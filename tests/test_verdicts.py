"""Regression tests for wrong verdicts (issue 9): each test is named after what it protects
and failed before its fix."""

from __future__ import annotations

import pytest
from engine_util import kinds, run

from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load_text


def diagnostics(text: str) -> str:
    with pytest.raises(SpecError) as e:
        load_text(text, "t.tlb", [])
    return "\n".join(d.message for d in e.value.diagnostics)


# ---------------------------------------------------------------- names (defect 2)

TWO_HANDLERS = """
frame A, B
page V -> A rw
page W -> B rw
var acks = 0
core c0 {
    ipi c1 h1(W)
    await acks == 1
    pte V := B rw
    fence
    ipi c1 h2
    await acks == 2
    complete V
}
core c1 { read V }
handler h1(V) {
    invlpg V
    acks += 1
}
handler h2 {
    invlpg V
    acks += 1
}
"""


def test_handler_parameter_named_like_a_page_stays_in_its_handler() -> None:
    # h2's `invlpg V` is the page V. Before, V meant h1's parameter register in every later
    # handler (0 after h1 returns: page index 0), so with W declared first h2 dropped W.
    swapped = TWO_HANDLERS.replace(
        "page V -> A rw\npage W -> B rw", "page W -> B rw\npage V -> A rw"
    )
    assert kinds(TWO_HANDLERS, "sc") == set()
    assert kinds(swapped, "sc") == set()


def test_handler_parameter_shadows_the_page_it_is_named_like() -> None:
    spec = """
frame A, B
page V -> A rw
page W -> B rw
var acks = 0
core c0 {
    pte W := A rw
    fence
    ipi c1 h(W)
    await acks == 1
    complete W
}
core c1 { read W }
handler h(V) {
    invlpg V
    acks += 1
}
"""
    assert kinds(spec, "sc") == set()
    # the parameter, not the page V, is what `invlpg V` drops: pass V and W stays stale
    assert kinds(spec.replace("h(W)", "h(V)"), "sc") == {"stale-translation"}


def test_register_named_like_a_page_is_a_located_error() -> None:
    text = "frame A\npage V -> A rw\ncore c { V := 3; r := V; assert r == 3 }\n"
    assert "register 'V' is named like a page" in diagnostics(text)
    handler = "frame A\npage V -> A rw\ncore c { skip }\nhandler h { V := 3; read V }\n"
    assert "register 'V' is named like a page" in diagnostics(handler)


def test_handler_parameter_named_like_a_var_is_a_located_error() -> None:
    text = "var acks = 0\ncore c { ipi c h(1) }\nhandler h(acks) { acks += 1 }\n"
    assert "parameter 'acks' is named like a var" in diagnostics(text)


def test_ipi_page_argument_keeps_its_space() -> None:
    # P.V passed to a handler that runs while c1 is in Q: `invlpg p` must drop P's entry.
    spec = """
frame A, B
space P asid 1 { page V -> A rw }
space Q asid 2 { page V -> B rw }
var acks = 0
core c0 in P {
    pte P.V := B rw
    fence
    ipi c1 h(P.V)
    await acks == 1
    complete P.V
}
core c1 in P {
    irq off
    read V
    switch Q
    irq on
    await acks == 1
    switch P
    read V
}
handler h(p) {
    invlpg p
    acks += 1
}
"""
    assert kinds(spec, "sc") == set()


# ---------------------------------------------------------------- parameter kinds (defect 3)


def test_unused_handler_parameter_accepts_a_page_or_an_integer() -> None:
    text = """
frame A, B
page V1 -> A rw
page V2 -> B rw
var acks = 0
core c {
    ipi c flush_range(V1, V2)
    ipi c flush_range(V1, 3)
}
handler flush_range(p, q) {
    invlpg p
    acks += 1
}
"""
    checked = load_text(text, "t.tlb", [])
    assert checked.handlers[0].param_kinds == ("page", "any")
    assert kinds(text, "sc") == set()
    # a parameter used as a value is an integer: a page argument is still rejected
    used = text.replace("acks += 1", "acks += q")
    assert "expects an integer for parameter 'q', not a page" in diagnostics(used)


# ---------------------------------------------------------------- front end (defect 7)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("frameA\ncore c { skip }\n", "frameA"),
        ("varx = 0\ncore c { skip }\n", "varx"),
        ("coreinit { skip }\n", "coreinit"),
        ("core c { skip }\nexpectsafe\n", "expectsafe"),
        ("frames A\ncore c { skip }\n", "frames"),
        ("frame A\npage V -> A rw\ncore c { readV }\n", None),
        ("frame A\npage V -> A rwglobal\ncore c { skip }\n", None),
    ],
)
def test_keywords_end_at_a_word_boundary(text: str, word: str | None) -> None:
    message = diagnostics(text)
    if word is not None:
        assert f"unknown word '{word}'" in message


@pytest.mark.parametrize(
    ("text", "value"),
    [("var o = 01\ncore c { skip }\n", 1), ("var o = 010\ncore c { skip }\n", 10)],
)
def test_integer_literals_with_leading_zeros_are_decimal(text: str, value: int) -> None:
    assert load_text(text, "t.tlb", []).vars[0].init == value
    buffered = load_text("option buffer = 00000000001\ncore c { skip }\n", "t.tlb", [])
    assert buffered.buffer == 1


# ---------------------------------------------------------------- hang (defects 4, 10)


def test_passing_an_await_in_a_loop_is_not_a_hang() -> None:
    assert kinds("var x = 1\ncore a { loop { await x == 1 } }\n", "sc") == set()
    assert kinds("var x = 1\ncore a { loop { await x == 1; r := x } }\n", "tso") == set()


def test_another_cores_failure_does_not_pass_an_await() -> None:
    spec = "var f = 0\ncore a { await f == 1 }\ncore b { assert 0 == 1 }\n"
    assert kinds(spec, "sc") == {"assertion", "hang"}


def test_the_awaiting_cores_own_failure_is_not_a_hang() -> None:
    spec = "var f = 0\ncore a { await 4 / f == 1 }\n"
    assert kinds(spec, "sc") == {"range"}


def test_hang_in_a_handler_that_never_returns_says_so() -> None:
    spec = """
var x = 0
core c0 {
    ipi c0 h
    x := 1
    await x == 1
}
handler h { loop { skip } }
"""
    r = run(spec, "sc")
    assert set(r.kinds) == {"hang"}
    t = r.trace("hang")
    assert t is not None
    assert "stuck in handler h (line 8), which never returns" in t.problem.message
    assert "`await x == 1` (line 6)" in t.problem.message


# ---------------------------------------------------------------- division by zero (defect 9)


@pytest.mark.parametrize("model", ["sc", "tso", "pso"])
def test_division_by_zero_ends_the_path_before_the_assertion(model: str) -> None:
    spec = "var x = 0\ncore c { r := x; assert 4 / r == 1 }\n"
    assert kinds(spec, model) == {"range"}
    # a store of x / 0 is one range problem, not also a value out of x's range
    store = "var x : 1..2 = 1\ncore c { z := 0; x := 4 / z + 9 }\n"
    assert kinds(store, model) == {"range"}
    r = run(store, model)
    t = r.trace("range")
    assert t is not None and "division by zero" in t.problem.message


def test_smt_engine_agrees_on_division_by_zero() -> None:
    spec = "var x = 0\ncore c { r := x; assert 4 / r == 1 }\n"
    r = run(spec, "sc", engine="smt", depth=6)
    assert set(r.kinds) == {"range"}


# ---------------------------------------------------------------- store buffers (defect 1)

FOUR_STORES = """
frame A, B
page V -> A rw
var a = 0
var b = 0
var c = 0
var d = 0
var acks = 0
core init {
    pte V := B rw
    a := 1
    b := 1
    c := 1
    d := 1
    ipi cpu flush(V)
    await acks == 1
    complete V
}
core cpu { read V }
handler flush(p) {
    invlpg p
    acks += 1
}
"""


@pytest.mark.parametrize("model", ["tso", "pso"])
def test_store_buffer_never_silently_stalls(model: str) -> None:
    # five buffered entries before an unfenced IPI: a stall at 4 hid the race under tso
    assert kinds(FOUR_STORES, model) == {"stale-translation"}
    assert run(FOUR_STORES, model).reason == ""


def test_store_in_a_fence_free_loop_is_inconclusive_at_the_capacity() -> None:
    spec = "var x = 0\ncore c { loop { x := 1 } }\n"
    r = run(spec, "tso")
    assert r.verdict == "inconclusive" and not r.expectation_met
    assert "option buffer" in r.reason
    assert run(spec, "sc").verdict == "safe"


def test_explicit_option_buffer_stalls_and_says_so() -> None:
    spec = "option buffer = 2\nvar x = 0\ncore c { loop { x := 1 } }\n"
    r = run(spec, "tso")
    assert r.verdict == "safe" and "option buffer = 2" in r.reason
    # asked for, a small buffer hides the race: that is the user's bound, stated
    capped = run("option buffer = 4\n" + FOUR_STORES, "tso")
    assert capped.verdict == "safe" and "option buffer = 4" in capped.reason


# ---------------------------------------------------------------- TLB entries (defects 6, 11, 12)

GLOBAL_AND_TAGGED = """
frame A, B
space P asid 1 { page V -> A rw global }
space Q asid 2 { page V -> A rw }
core c in Q {
    read V
    switch P
    read V
    switch Q
    pte V := B rw
    fence
    complete V
    read V
}
"""


@pytest.mark.parametrize("model", ["sc", "tso"])
def test_a_global_and_a_tagged_entry_for_one_page_are_both_used(model: str) -> None:
    # c holds Q's tagged entry (stale after the update of Q.V) and P's global entry (not
    # stale): the last read may use either, and the tagged one is a stale translation.
    assert kinds(GLOBAL_AND_TAGGED, model) == {"stale-translation"}
    # dropping the tagged entry first (invlpg in Q drops both) removes the race
    fixed = GLOBAL_AND_TAGGED.replace("    complete V", "    invlpg V\n    complete V")
    assert kinds(fixed, model) == set()


ASID_REUSE = """
frame A, B
space P asid 1 { page V -> A r }
space Q asid 1 { page V -> B r }
core c in P {
    read V
    switch Q
    %s V
}
"""


def test_asid_reuse_is_not_reported_on_an_access_that_faults() -> None:
    assert kinds(ASID_REUSE % "read", "sc") == {"asid-reuse"}
    # the write hits P's entry, which lacks w: a fault, no access, no race of any kind
    assert kinds(ASID_REUSE % "write", "sc") == set()


def test_several_completes_compare_with_the_latest() -> None:
    spec = """
frame A, B
page V -> A rw
core c {
    read V
    pte V := B rw
    fence
    complete V
    %s
    pte V := A rw
    fence
    complete V
    read V
}
"""
    # the entry from `page V -> A rw` is stale against the first complete (B) ...
    r = run(spec % "read V", "sc")
    assert set(r.kinds) == {"stale-translation"}
    t = r.trace("stale-translation")
    assert t is not None and t.problem.span is not None and t.problem.span.line == 9
    # ... but the PTE recorded at the latest complete maps A rw again: using it is no race
    assert kinds(spec % "skip", "sc") == set()


def test_params_in_repeat_counts_and_core_indices_are_resolved() -> None:
    spec = """
param N = 2
var x : 0..15 = 0
core cpu[1..N] { repeat N { x += 1 } }
core i { ipi cpu[N] h; ipi cpu[N - 1] h }
handler h { skip }
"""
    assert kinds(spec, "sc") == set()


def test_smt_engine_is_not_safe_where_no_buffer_bound_exists() -> None:
    r = run("var x = 0\ncore c { loop { x := 1 } }\n", "tso", engine="smt", depth=6, prove=True)
    assert r.verdict == "inconclusive" and "option buffer" in r.reason
