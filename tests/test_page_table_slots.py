"""Table slots and dirs named directly (docs/page-tables.md §1-2, issue 26): `pte T[i] :=`,
`pte(T[i]).f`, `dir(D).present`, and the read that misses a write after `copy` (§4),
on both engines and against the oracle."""

from __future__ import annotations

import re

import pytest
from engine_util import run
from oracle.campaign import compare
from oracle.gen import gen_text
from test_page_tables import both, oracle

from verifier.lang.checked import MODELS
from verifier.lang.frontend import load_text

# a table filled, then linked; the reader walks it without a lock (GUP-fast style)
FILL = """
table U
frame A
dir D invalid
page V at D[0] invalid
core writer { pte U[0] := A rw; FENCE; dir D := U }
core reader { if dir(D).present { p := pte(U[0]).present; assert p == 1 } }
"""


@pytest.mark.parametrize("model", MODELS)
def test_a_table_filled_then_linked_needs_store_order(model: str) -> None:
    racy = FILL.replace("FENCE", "skip")
    want = {"assertion"} if model == "pso" else set()
    assert both(racy, model) == oracle(racy, model) == want
    fixed = FILL.replace("FENCE", "fence release")
    assert both(fixed, model) == oracle(fixed, model) == set()


# GUP-fast reading a PTE table khugepaged frees (2ba99c5e0881)
GUP = """
table T
frame A
dir D -> T
page V at D[0] -> A rw
var acks = 0
core khugepaged { dir D := invalid; fence; SYNC; free T }
core gup { irq off; if dir(D).present { p := pte(T[0]).present }; irq on }
handler sync { acks += 1 }
"""


@pytest.mark.parametrize("model", ["sc", "pso"])
def test_a_lockless_read_of_a_freed_table_is_a_freed_table_race(model: str) -> None:
    racy = GUP.replace("SYNC", "skip")
    assert both(racy, model) == oracle(racy, model) == {"freed-table"}
    fixed = GUP.replace("SYNC", "ipi gup sync; await acks == 1")
    assert both(fixed, model) == oracle(fixed, model) == set()
    msg = run(racy, model).traces[0].problem.message
    assert msg == "gup: `p := pte(T[0]).present` read slot 0 of freed table T"


# the old wp_page_copy(): the new PTE set, then the flush
COW = """
frame A, B
page V -> A r
var acks = 0
core reader { read V; read V }
core fault { copy A to B; NEW; fence; ipi reader, writer flush(V); await acks == 2; LATE }
core writer { write V }
handler flush(p) { invlpg p; acks += 1 }
"""


@pytest.mark.parametrize("model", MODELS)
def test_a_read_of_the_source_after_the_copy_was_written_misses_the_write(model: str) -> None:
    racy = COW.replace("NEW", "pte V := B rw").replace("LATE", "skip")
    assert both(racy, model) == oracle(racy, model) == {"lost-write"}
    fixed = COW.replace("NEW", "pte V := invalid").replace("LATE", "pte V := B rw")
    assert both(fixed, model) == oracle(fixed, model) == set()


def test_the_missed_write_has_its_own_words_and_a_read_before_the_write_is_fine() -> None:
    r = run(COW.replace("NEW", "pte V := B rw").replace("LATE", "skip"), "sc")
    msg = r.traces[0].problem.message
    assert msg == (
        "reader: `read V` read frame A after its data moved to B and B was written: "
        "the read missed that write"
    )
    assert r.traces[0].problem.now == "frame A was copied to B, and B was written since"
    no_writer = COW.replace("core writer { write V }", "").replace("reader, writer", "reader")
    no_writer = no_writer.replace("acks == 2", "acks == 1").replace("NEW", "pte V := B rw")
    assert both(no_writer.replace("LATE", "skip"), "sc") == set()


# mremap moving a table: the slot keeps its entry, now reached through E
MOVE = """
table T
frame A
dir D -> T
dir E invalid
page V at D[0] -> A rw
page W at E[0] invalid
core mremap { dir D := invalid; dir E := T; pte T[0] := A r }
core user { write W }
"""


def test_a_moved_table_is_reached_through_its_new_dir_and_written_directly() -> None:
    assert both(MOVE, "sc") == oracle(MOVE, "sc") == set()
    r = run(MOVE.replace("dir E := T; pte T[0] := A r", "dir E := T; free A"), "sc")
    assert set(r.kinds) == {"use-after-free"}
    assert "walk reads E -> T (dir in memory), slot T[0]" in "\n".join(
        s.effect for s in r.traces[0].steps
    )


@pytest.mark.parametrize(
    ("stmt", "message"),
    [
        ("pte X[0] := A rw", "unknown table 'X'"),
        ("pte A[0] := A rw", "'A' is a data frame: `A[i]` names a table slot"),
        ("pte T[3] := A rw", "table T has no slot 3 (no page is declared at index 3; declared: 0)"),
        ("pte T[0] := T rw", "'T' is a page table: a PTE maps a data frame"),
        ("r := pte(T[9]).present", "slot of table T is 9; it must be in 0..7"),
        ("r := pte(T[0]).presnt", "unknown PTE field 'presnt'"),
        ("r := dir(F).present", "unknown dir 'F'"),
        ("r := dir(D).write", "unknown dir field 'write' (expected present)"),
    ],
)
def test_slots_and_dir_reads_are_checked(stmt: str, message: str) -> None:
    text = f"table T\nframe A\ndir D -> T\npage V at D[0] -> A rw\ncore c {{ {stmt} }}\n"
    with pytest.raises(Exception, match=re.escape(message)):
        load_text(text, "t.tlb", [])


def _seeds(n: int) -> list[int]:
    """The first ``n`` seeds whose generated spec names a table slot or a dir."""
    out, s = [], 0
    while len(out) < n:
        if re.search(r"\w\[\d\] :=|\(\w\[\d\]\)|dir\(", gen_text(s, ext=True)):
            out.append(s)
        s += 1
    return out


@pytest.mark.parametrize(("seed", "model"), [(s, m) for s in _seeds(4) for m in MODELS])
def test_generated_specs_with_slots_agree_with_the_oracle(seed: int, model: str) -> None:
    p = compare(seed, model, ext=True)
    assert p.agree, (p.ours, p.theirs, p.text)
