"""The oracle itself, tested rule by rule against hand-written specs (reference readings).

Each spec is tiny; the expected kinds come from reading `spec-language.md`, not
from tlbcheck.
"""

from __future__ import annotations

import pytest
from oracle.explore import oracle_text

HEAD = "frame A, B, C\npage V -> A rw\nvar x = 0\nvar y = 0\nvar acks = 0\n"


def kinds(body: str, model: str, head: str = HEAD) -> set[str]:
    r = oracle_text(head + body, model)
    assert r.complete
    return set(r.kinds)


SB = """var zeros = 0
core c0 { x := 1; r := y; if r == 0 { t := fetch_add(zeros, 1); assert t == 0 } }
core c1 { y := 1; r := x; if r == 0 { t := fetch_add(zeros, 1); assert t == 0 } }
"""


@pytest.mark.parametrize(
    ("model", "want"), [("sc", set()), ("tso", {"assertion"}), ("pso", {"assertion"})]
)
def test_store_buffering_litmus(model: str, want: set[str]) -> None:
    assert kinds(SB, model) == want


def test_store_buffering_forbidden_with_fences() -> None:
    fenced = SB.replace("x := 1;", "x := 1; fence;").replace("y := 1;", "y := 1; fence;")
    assert kinds(fenced, "pso") == set()


MP = """core c0 { x := 1; FENCE y := 1 }
core c1 { r := y; if r == 1 { s := x; assert s == 1 } }
"""


@pytest.mark.parametrize(
    ("fence", "model", "want"),
    [
        ("", "sc", set()),
        ("", "tso", set()),
        ("", "pso", {"assertion"}),
        ("fence release;", "pso", set()),
        ("fence acquire;", "pso", {"assertion"}),
    ],
)
def test_message_passing_litmus(fence: str, model: str, want: set[str]) -> None:
    assert kinds(MP.replace("FENCE", fence), model) == want


IPI = """option ipi = ORDER
core c0 { x := 1; FENCE ipi c1 h }
core c1 { skip }
handler h { r := x; assert r == 1 }
"""


@pytest.mark.parametrize(
    ("order", "fence", "model", "want"),
    [
        ("unordered", "", "sc", set()),
        ("unordered", "", "tso", {"assertion"}),
        ("unordered", "", "pso", {"assertion"}),
        ("ordered", "", "tso", set()),
        ("ordered", "", "pso", set()),
        ("unordered", "fence release;", "tso", set()),
        ("unordered", "fence release;", "pso", set()),
        ("unordered", "fence;", "pso", set()),
    ],
)
def test_ipi_ordering_against_buffered_stores(
    order: str, fence: str, model: str, want: set[str]
) -> None:
    assert kinds(IPI.replace("ORDER", order).replace("FENCE", fence), model) == want


def test_an_ipi_queue_holds_at_most_four() -> None:
    body = "core c0 { repeat 5 { ipi c1 h } }\ncore c1 { irq off }\nhandler h { skip }\n"
    assert kinds(body, "sc") == {"range"}
    assert kinds(body.replace("repeat 5", "repeat 4"), "sc") == set()


def test_store_buffers_have_no_bound() -> None:
    """Four unrelated stores between the PTE write and an unfenced IPI (issue 9, defect 1)."""
    body = """core c0 { pte V := B rw; x := 1; x := 2; x := 3; x := 4; ipi c1 h(V)
                   await acks == 1; complete V; free A }
core c1 { loop { read V } }
handler h(p) { invlpg p; acks += 1 }
"""
    assert kinds(body, "tso") == {"stale-translation", "use-after-free"}
    assert kinds(body.replace("ipi c1", "fence; ipi c1"), "tso") == set()


SPACES = """option walker = on-miss
frame A, B, C
space P asid 1 { page V -> A rw global }
space Q asid 2 { page V -> B rw }
"""


def test_a_core_may_use_either_a_global_or_a_tagged_entry() -> None:
    body = (
        "core c0 in Q { read V; switch P; read V; switch Q; pte V := C rw; complete V; write V }\n"
    )
    assert kinds(body, "sc", SPACES) == {"stale-translation"}
    # without the detour through P there is only the tagged entry, and it is still stale
    assert kinds(body.replace("switch P; read V; switch Q;", ""), "sc", SPACES) == {
        "stale-translation"
    }
    # invlpg drops both the tagged and the global entry
    fixed = body.replace("complete V", "invlpg V; complete V")
    assert kinds(fixed, "sc", SPACES) == set()


def test_asid_reuse_on_a_hit_of_an_entry_from_another_space() -> None:
    head = "option walker = on-miss\nframe A, B\n"
    head += "space P asid 1 { page V -> A rw }\nspace Q asid 1 { page V -> B rw }\n"
    assert kinds("core c0 in P { read V; switch Q; read V }\n", "sc", head) == {"asid-reuse"}
    assert kinds("core c0 in P { read V; flush asid Q; switch Q; read V }\n", "sc", head) == set()


def test_faulting_accesses_do_not_race() -> None:
    head = "option walker = on-miss\nframe A\npage V -> A r\npage U invalid\n"
    assert kinds("core c0 { free A; write V; read U }\n", "sc", head) == set()
    assert kinds("core c0 { free A; read V }\n", "sc", head) == {"use-after-free"}


def test_stale_permission_when_the_frame_stays() -> None:
    body = "core c0 { write V; pte V := A r; complete V; write V; read V }\n"
    assert kinds(body, "sc") == {"stale-permission"}
    moved = "core c0 { write V; pte V := B rw; complete V; write V }\n"
    assert kinds(moved, "sc") == {"stale-translation"}


def test_the_latest_complete_is_the_record() -> None:
    head = "option walker = on-miss\n" + HEAD
    body = "core c0 { read V; pte V := B rw; complete V; pte V := A rw; complete V; write V }\n"
    assert kinds(body, "sc", head) == set()
    once = "core c0 { read V; pte V := B rw; complete V; pte V := A rw; write V }\n"
    assert kinds(once, "sc", head) == {"stale-translation"}


def test_division_by_zero_ends_the_path() -> None:
    assert kinds("core c0 { r := x; assert 4 / r == 1 }\n", "sc") == {"range"}
    assert kinds("core c0 { r := 7 % x; x := 2 }\n", "sc") == {"range"}


def test_values_leaving_their_range() -> None:
    assert kinds("var z : 0..3 = 0\ncore c0 { z := 4 }\n", "sc") == {"range"}
    assert kinds("core c0 { r := 16 }\n", "sc") == {"range"}
    assert kinds("core c0 { r := 0 - 1 }\n", "sc") == {"range"}


def test_passing_an_await_in_a_loop_is_not_a_hang() -> None:
    assert kinds("var z = 1\ncore c0 { loop { await z == 1 } }\n", "sc") == set()


def test_coming_back_to_an_await_that_can_no_longer_pass_is_a_hang() -> None:
    body = "core c0 { loop { await x == 1; x := 0 } }\ncore c1 { x := 1 }\n"
    assert kinds(body, "sc") == {"hang"}


def test_another_cores_failure_does_not_pass_an_await() -> None:
    body = "core c0 { await x == 1 }\ncore c1 { assert x == 1; x := 1 }\n"
    assert kinds(body, "sc") == {"hang", "assertion"}


def test_an_await_that_another_core_releases_is_not_a_hang() -> None:
    assert kinds("core c0 { await x == 1 }\ncore c1 { x := 1 }\n", "tso") == set()


def test_a_handler_that_never_returns_over_an_await_is_a_hang() -> None:
    body = "core c0 { await x == 1 }\ncore c1 { ipi c0 h; x := 1 }\nhandler h { loop { skip } }\n"
    assert kinds(body, "sc") == {"hang"}
    returns = body.replace("loop { skip }", "skip")
    assert kinds(returns, "sc") == set()


def test_irq_off_keeps_ipis_pending_and_a_finished_core_takes_them() -> None:
    body = "core c0 { ipi c1 h; await acks == 1 }\ncore c1 { irq off }\nhandler h { acks += 1 }\n"
    assert kinds(body, "sc") == {"hang"}
    assert kinds(body.replace("irq off", "skip"), "sc") == set()


def test_speculative_walker_refills_after_invalidation() -> None:
    body = "core c0 { pte V := B rw; fence; invlpg V; complete V; free A }\ncore c1 { read V }\n"
    # c1 may have filled V -> A before the update and keeps it: stale, and A is freed
    assert kinds(body, "sc") == {"stale-translation", "use-after-free"}


def test_exploration_cut_short_says_so() -> None:
    r = oracle_text(HEAD + "core c0 { loop { x := 1 } }\n", "tso", max_states=200)
    assert not r.complete and r.verdict == "inconclusive"


def test_exec_needs_the_x_permission() -> None:
    """Found by the campaign (seed 388): the oracle once looked for the letter 'e'."""
    head = "option walker = on-miss\nframe A\npage K -> A rx\npage D -> A rw\n"
    assert kinds("core c0 { free A; exec K }\n", "sc", head) == {"use-after-free"}
    assert kinds("core c0 { free A; exec D }\n", "sc", head) == set()
