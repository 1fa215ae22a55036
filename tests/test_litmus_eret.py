"""Fault handlers that return (`ADR X9,L0; MSR ELR_EL1,X9; ...; ERET`, docs/arm64.md §3-4):
the litmus reader lowers them onto `on fault resume`.  Each test is a small litmus test
of our own whose herd7 verdict (`herd7 -variant vmsa,fatal`) is the verdict of the
catalogue test of the same shape, named beside it."""

from __future__ import annotations

import pytest

from verifier.api import check_spec
from verifier.lang.diagnostics import SpecError
from verifier.lang.litmus_lower import load_litmus
from verifier.run.litmus import answer

SLOW = pytest.mark.slow

# P1 stores y, then a store to the invalid page z faults; the handler returns to L0.
R = """AArch64 t
{{ [PTE(z)]=(oa:PA(z), valid:0); 0:X3=y; 0:X8=w; 1:X3=y; 1:X5=z; 1:X8=w; }}
 P0           | P1          | P1.F           ;
 MOV W7,#1    | MOV W2,#2   | ADR X9,L0      ;
 STR W7,[X8]  | STR W2,[X3] | MSR ELR_EL1,X9 ;
 STLR W7,[X3] | {mid}       | {handler}      ;
              | STR W0,[X5] | ERET           ;
              | L0:         |                ;
              | {after}     |                ;
exists ([y]=2 /\\ 1:X10=0{label})
"""


def observe(text: str) -> str:
    checked = load_litmus("t.litmus", text)
    return answer(checked, check_spec(checked, "arm")).observation


@pytest.mark.parametrize(
    ("mid", "handler", "after", "label", "expected"),
    [
        # R-via_fault_STR: dmb st orders the store to y before the fault, not the
        # handler's load after it
        ("DMB ST", "LDR W10,[X8]", "NOP", ' /\\ 1:X9=label:"P1:L0"', "Sometimes"),
        # R-via_fault_STR-2: nor the load after the return
        ("DMB ST", "NOP", "LDR W10,[X8]", "", "Sometimes"),
        # R-via_fault_STR-with-DSB: dsb st orders every later instruction
        pytest.param("DSB ST", "NOP", "LDR W10,[X8]", "", "Never", marks=SLOW),
        ("DSB ST", "LDR W10,[X8]", "NOP", "", "Never"),
        # the handler never runs without a fault; X9 holds no number then
        ("DMB ST", "LDR W10,[X8]", "NOP", " /\\ 1:X9=0", "Never"),
        ("DMB ST", "LDR W10,[X8]", "NOP", " /\\ 1:X9=1", "Never"),
    ],
)
def test_handler_returns(mid: str, handler: str, after: str, label: str, expected: str) -> None:
    text = R.format(mid=mid, handler=handler, after=after, label=label)
    assert observe(text) == expected


def test_eret_lowers_to_on_fault_resume() -> None:
    checked = load_litmus("t.litmus", R.format(mid="NOP", handler="NOP", after="NOP", label=""))
    p1 = next(c for c in checked.cores if c.name == "P1")
    assert p1.resume and p1.fault is not None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # returning elsewhere than right after the faulting store
        (("L0:         |", "           |"), "not right after"),
        # a condition on the fault of a core whose handler returns
        (("exists ([y]=2", "exists (fault(P1) /\\ [y]=2"), "handler returns"),
        # the handler's own access may fault
        (("| {handler}      ;", "| LDR W10,[X5]   ;"), "inside a handler"),
        # ERET without ELR_EL1 set
        (("| MSR ELR_EL1,X9 ;", "| NOP            ;"), "ERET"),
    ],
)
def test_returns_outside_the_subset_are_located_errors(change: tuple[str, str], message: str) -> None:
    text = R.replace(*change).format(mid="NOP", handler="NOP", after="NOP", label="")
    with pytest.raises(SpecError) as e:
        observe(text)
    assert message in str(e.value.diagnostics[0].message)
