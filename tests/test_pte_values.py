"""Whole PTE values in `.tlb` specs (docs/arm64.md §1): syntax, printing, the checker's
rule that keeps PTE values and numbers apart, and the machine on every model."""

from __future__ import annotations

import pytest

from verifier.api import check_spec
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load_text
from verifier.lang.parse import parse_text
from verifier.lang.printer import format_spec

HEAD = "frame A, B\npage x -> A rw\npage y invalid B rw\nvar v = 0\n"


def errors(body: str) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load_text(HEAD + "core P0 {\n" + body + "\n}\n", "t.tlb", [])
    return [f"{d.span.line}:{d.span.col}: {d.message}" for d in exc.value.diagnostics]


def test_syntax_round_trips() -> None:
    text = HEAD + (
        "core P0 {\n    r := pte(y)\n    pte x := r\n    pte y := invalid A r\n"
        "    assert r == (invalid B rw) || r != (A rw global) || r == (invalid)\n}\n"
    )
    printed = format_spec(parse_text(text, "t.tlb"))
    assert "page y invalid B rw" in printed and "pte y := invalid A r" in printed
    assert "r == (invalid B rw) || r != (A rw global) || r == (invalid)" in printed
    assert format_spec(parse_text(printed, "t.tlb")) == printed


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("r := pte(x)\nr := 3", "7:1: register 'r' holds PTE values: it cannot also hold a number"),
        ("r := pte(x)\ns := r + 1", "7:6: a PTE value is only stored, copied or compared"),
        ("r := pte(x)\nassert r == 1", "7:8: a PTE value is compared with a number"),
        ("t := 2\npte x := t", "7:10: 't' holds no PTE value: `pte V := r` stores a register"),
        ("v := (A rw)", "6:6: a PTE value is only stored, copied or compared"),
        ("r := pte(x)\npte x := zz", "7:10: 'zz' holds no PTE value"),
    ],
)
def test_pte_values_and_numbers_stay_apart(body: str, message: str) -> None:
    assert any(e.startswith(message) for e in errors(body)), errors(body)


@pytest.mark.parametrize("model", ["sc", "tso", "pso", "arm"])
def test_copy_then_compare(model: str) -> None:
    """P0 copies y's entry into x's; P1 sees x's entry old or new, never another value,
    and its own copy into y keeps the kept frame and permissions."""
    text = HEAD + (
        "core P0 {\n    r := pte(y)\n    pte x := r\n}\n"
        "core P1 {\n    s := pte(x)\n    assert s == (A rw) || s == (invalid B rw)\n"
        "    pte y := s\n    t := pte(y)\n    assert t == s || t == (invalid B rw)\n}\n"
        "expect safe\n"
    )
    r = check_spec(load_text(text, "t.tlb", []), model)
    assert r.verdict == "safe", r.kinds


def test_store_of_a_register_never_loaded_is_a_range_problem() -> None:
    text = HEAD + "core P0 {\n    if v == 1 { r := pte(y) }\n    pte x := r\n}\n"
    r = check_spec(load_text(text, "t.tlb", []), "arm")
    assert set(r.kinds) == {"range"}


def test_a_walker_made_value_can_be_copied() -> None:
    """Under `option ad = hardware` the walker sets y's access flag: the value it makes
    is numbered too, so `pte x := r` can store it (no `range` problem)."""
    text = (
        "model arm\noption ad = hardware\nframe A, B\npage x -> A rw\npage y -> B rw old\n"
        "core P0 {\n    r := pte(y)\n    pte x := r\n    s := pte(x)\n"
        "    assert s == (B rw old) || s == (B rw)\n}\n"
    )
    r = check_spec(load_text(text, "t.tlb", []), "arm")
    assert set(r.kinds) == {"bbm"}, r.kinds
