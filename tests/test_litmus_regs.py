"""Registers of a `.litmus` test holding PTE values, descriptors, addresses and data
(docs/arm64.md §4): comparisons of a loaded entry with a descriptor or with 0, arithmetic
on PTE values, register arithmetic and address offsets.  Each `tests/litmus/regs_*.litmus`
is a small test of our own; its comment gives herd7's observation (`herd7 -variant
vmsa,fatal`, herdtools7 5feffe4e8f98), which tlbcheck must reproduce."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from verifier.api import check_spec
from verifier.lang.diagnostics import SpecError
from verifier.lang.litmus_lower import load_litmus
from verifier.run.litmus import answer

HERE = Path(__file__).parent / "litmus"
HERD = re.compile(r"herd7 -variant vmsa,fatal: (Never|Sometimes|Always)")
CASES = sorted(p.name for p in HERE.glob("regs_*.litmus"))


def observe(name: str, text: str) -> str:
    checked = load_litmus(name, text)
    return answer(checked, check_spec(checked, "arm")).observation


@pytest.mark.parametrize("name", CASES)
def test_agrees_with_herd7(name: str) -> None:
    text = (HERE / name).read_text()
    m = HERD.search(text)
    assert m is not None, f"{name} names no herd7 observation"
    assert observe(name, text) == m.group(1)


BAD = """AArch64 t
{ 0:X1=pte_x; 0:X3=x; 0:X6=(oa:phy_x); }
P0 ;
LDR X2,[X1] ;
INSTR ;
exists (0:X2=0)
"""


@pytest.mark.parametrize(
    ("instr", "message"),
    [
        ("CMP X2,#1", "5:8: error: a PTE value compared with a number that may not be 0 (CMP X2,#1)"),
        ("CMP X2,X3", "5:8: error: X3 holds an address, compared with a PTE value (CMP X2,X3)"),
        ("ADD X4,X2,X2", "5:1: error: arithmetic on a PTE value is outside the litmus subset"),
    ],
)
def test_pte_value_misuse_is_located(instr: str, message: str) -> None:
    with pytest.raises(SpecError) as e:
        load_litmus("t.litmus", BAD.replace("INSTR", instr))
    assert message in str(e.value)


JOIN = """AArch64 t
{ 0:X1=y; 0:X4=x; 1:X1=y; }
 P0                  | P1          ;
 LDR W0,[X1]         | MOV W9,#1   ;
 CODE
 LDR W2,[X4,W6,SXTW] | STR W9,[X1] ;
exists (0:X2=0)
"""


@pytest.mark.parametrize(
    ("code", "message"),
    [
        # W6 is 1 on the path that skips the EOR: after the branch it may be 1
        (
            "MOV W6,#1 | ;\n CBZ W0,over | ;\n EOR W6,W0,W0 | ;\n over: | ;",
            "9:13: error: an address offset W6 that may be 1 (another word of the page)",
        ),
        # W6 grows on every turn of the loop: its values are not bounded
        (
            "L1: | ;\n ADD W6,W6,#4 | ;\n LDR W0,[X1] | ;\n CBZ W0,L1 | ;",
            "9:13: error: an address offset W6 that may not be zero is outside the subset",
        ),
    ],
)
def test_values_after_branches_and_loops(code: str, message: str) -> None:
    with pytest.raises(SpecError) as e:
        load_litmus("t.litmus", JOIN.replace("CODE", code))
    assert message in str(e.value)


def test_a_word_holding_an_address_that_is_read_is_located() -> None:
    text = (HERE / "regs_unread_pointer.litmus").read_text().replace("1:X3=y;", "1:X3=z;")
    with pytest.raises(SpecError) as e:
        load_litmus("t.litmus", text)
    assert "6:5: error: z holds the address y, and the test reads it" in str(e.value)


def test_an_array_is_located() -> None:
    """`int x[3]` declares words at offsets of one page (herd7's coRR-pte9-plus8): a
    frame holds one data word here."""
    text = "AArch64 t\n{ int x[3]={0,0,0}; 0:X1=x; }\nP0 ;\nLDR W2,[X1] ;\nexists (0:X2=0)\n"
    with pytest.raises(SpecError) as e:
        load_litmus("t.litmus", text)
    assert "2:8: error: an array is outside the litmus subset" in str(e.value)
