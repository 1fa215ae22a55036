"""Class (b) constructs of the `.litmus` reader (docs/arm64.md §4): acquire/release
accesses, register arithmetic and address dependencies, fault-handler columns, pick
dependencies and branches.  Each test is a small litmus test of our own whose herd7
verdict (`herd7 -variant vmsa,fatal`) is the shape's verdict in the catalogue, named
beside it."""

from __future__ import annotations

import pytest

from verifier.api import check_spec
from verifier.lang.litmus_lower import load_litmus
from verifier.run.litmus import answer

SLOW = pytest.mark.slow

MP = """AArch64 t
{ 0:X1=y; 0:X3=x; 1:X1=y; 1:X3=x; }
 P0           | P1    ;
 MOV W2,#1    | LOAD  ;
 STR W2,[X3]  | MID   ;
 MOV W0,#1    | DATA  ;
 STLR W0,[X1] |       ;
exists (1:X0=1 /\\ 1:X2=0)
"""

HANDLER = """AArch64 t
{{ [PTE(z)]=(oa:PA(z), valid:0); 0:X1=y; 0:X3=x; 1:X1=y; 1:X3=x; 1:X5=z; }}
 P0           | P1                   | P1.F        ;
 MOV W2,#1    | LDR W0,[X1]          |             ;
 STR W2,[X3]  | {mid}                |             ;
 MOV W0,#1    | {acc}                | LDR W2,[X3] ;
 STLR W0,[X1] |                      |             ;
exists (1:X0=1 /\\ 1:X2=0)
"""


def observe(text: str) -> str:
    checked = load_litmus("t.litmus", text)
    return answer(checked, check_spec(checked, "arm")).observation


@pytest.mark.parametrize(
    ("load", "mid", "data", "expected"),
    [
        ("LDAR W0,[X1]", "NOP", "LDR W2,[X3]", "Never"),  # MP+rel+acq
        pytest.param("LDAPR W0,[X1]", "NOP", "LDR W2,[X3]", "Never", marks=SLOW),  # +acqpc
        ("LDR W0,[X1]", "NOP", "LDR W2,[X3]", "Sometimes"),  # MP+rel+po
        ("LDR W0,[X1]", "EOR W4,W0,W0", "LDR W2,[X3,W4,SXTW]", "Never"),  # MP+rel+addr
        pytest.param("LDR W0,[X1]", "CMP W0,#1", "LDR W2,[X3]", "Sometimes", marks=SLOW),
    ],
)
def test_acquire_release_and_dependencies(load: str, mid: str, data: str, expected: str) -> None:
    text = MP.replace("LOAD ", load).replace("MID  ", mid).replace("DATA ", data)
    assert observe(text) == expected


@pytest.mark.parametrize(
    ("mid", "acc", "expected"),
    [
        ("NOP", "STR WZR,[X5]", "Sometimes"),  # MP+rel+lws-mmufault-po
        pytest.param("DMB LD", "STR WZR,[X5]", "Never", marks=SLOW),  # +dmb.ld_rw
        ("EOR W6,W0,W0", "STR WZR,[X5,W6,SXTW]", "Never"),  # MP+rel+addr-mmufault-po
        pytest.param("EOR W6,W0,W0", "STR W6,[X5]", "Sometimes", marks=SLOW),  # +data
        pytest.param("CBZ W0,L0", "L0: LDR W8,[X5]", "Never", marks=SLOW),  # +ctrlR
    ],
)
def test_fault_handler(mid: str, acc: str, expected: str) -> None:
    assert observe(HANDLER.format(mid=mid, acc=acc)) == expected


def test_forward_branch_and_loop_lower_to_if_and_while() -> None:
    from verifier.lang import ast

    text = """AArch64 t
{ 0:X1=x; 0:X3=y; }
 P0          ;
 L1:         ;
 LDR W0,[X1] ;
 CBZ W0,L1   ;
 CMP W0,#1   ;
 B.NE L2     ;
 MOV W2,#1   ;
 L2:         ;
exists (0:X2=1)
"""
    checked = load_litmus("t.litmus", text)
    p0 = next(d for d in checked.spec.decls if getattr(d, "name", "") == "P0")
    assert [type(s).__name__ for s in p0.body] == ["Access", "While", "If"]
    assert isinstance(p0.body[2], ast.If) and len(p0.body[2].then) == 1
