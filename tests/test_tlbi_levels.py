"""`tlbi` and the paging-structure caches of two-level pages (docs/arm64.md section 1,
docs/page-tables.md "What invalidations drop"): a `tlbi` by page drops the cached dir
pointer on the page's path unless it is last-level only (`leaf`, Arm `VALE1`);
`tlbi asid P` and `tlbi all` drop those of P's spaces and all. Both engines and the
oracle, under `arm` and sc/pso."""

from __future__ import annotations

import pytest
from engine_util import kinds, run
from test_page_tables import oracle

from verifier.lang.frontend import load_text
from verifier.lang.printer import format_checked

# 7a30df49f63a's shape: the table page is freed after a flush that keeps the walk cache
COLLAPSE = """
frame A
table T, U
dir D -> T
page V at D[0] -> A rw
core c0 { read V; read V }
core c1 {
    dir D := U
    dsb
    TLBI
    dsb
    free T
}
"""


@pytest.mark.parametrize("model", ["arm", "sc"])
@pytest.mark.parametrize(
    "tlbi, want",
    [
        ("tlbi is V leaf", {"freed-table"}),  # last level only: the cached D -> T stays
        ("tlbi is V", set()),
        ("tlbi is all", set()),
        ("tlbi V", {"freed-table"}),  # local: c0's walk cache is not reached
    ],
)
def test_tlbi_drops_the_walk_cache_unless_leaf(model: str, tlbi: str, want: set[str]) -> None:
    text = COLLAPSE.replace("TLBI", tlbi)
    assert kinds(text, model) == oracle(text, model) == want
    if want:
        r = run(text, model, engine="smt")
        assert set(r.kinds) == want


def test_leaf_on_a_one_level_page_is_a_plain_tlbi() -> None:
    text = """
frame A, B
page V -> A rw
core c0 { read V; read V }
core c1 { pte V := invalid; dsb; TLBI; dsb; free A }
"""
    for tlbi in ("tlbi is V", "tlbi is V leaf"):
        assert kinds(text.replace("TLBI", tlbi), "arm") == set()


def test_leaf_prints_back() -> None:
    text = COLLAPSE.replace("TLBI", "tlbi is V leaf")
    printed = format_checked(load_text(text, "t.tlb", []))
    assert "tlbi is V leaf" in printed
    assert format_checked(load_text(printed, "t.tlb", [])) == printed


def test_the_trace_names_the_stale_pointer() -> None:
    text = COLLAPSE.replace("TLBI", "tlbi is V leaf")
    r = run(text, "arm")
    t = r.trace("freed-table")
    assert t is not None
    assert "the translation read of `read V`" in t.problem.message
    assert "through the cached pointer D -> T" in t.problem.message


ASID = """
frame A
table T, U
space P asid 1 {
    dir D -> T
    page V at D[0] -> A rw
}
core c0 in P { read V; read V }
core c1 in P { dir D := U; dsb; TLBI; dsb; free T }
"""


@pytest.mark.parametrize(
    "tlbi, want", [("tlbi is asid P", set()), ("tlbi asid P", {"freed-table"})]
)
def test_tlbi_by_asid_drops_the_walk_cache_of_its_spaces(tlbi: str, want: set[str]) -> None:
    text = ASID.replace("TLBI", tlbi)
    assert kinds(text, "arm") == oracle(text, "arm") == want
