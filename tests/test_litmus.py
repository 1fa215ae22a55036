"""The `.litmus` reader (docs/arm64.md §4): herd7's AArch64 litmus syntax, its located
errors, the classes of the comparison with herd7, and (once lowered) verdicts that
agree with herd7's on our own small tests in tests/litmus/."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.lang import litmus_ast as L
from verifier.lang.diagnostics import SpecError
from verifier.lang.litmus_classify import classify
from verifier.lang.litmus_parse import parse_litmus

HERE = Path(__file__).parent / "litmus"


def read(name: str) -> L.LitmusTest:
    path = HERE / name
    return parse_litmus(path.read_text(), str(path))


def error_of(text: str) -> str:
    with pytest.raises(SpecError) as exc:
        parse_litmus(text, "t.litmus")
    return str(exc.value)


def test_parse_shape() -> None:
    t = read("remap_flag_dsb.litmus")
    assert (t.arch, t.name) == ("AArch64", "remap-flag+dsb")
    assert t.variants() == ("vmsa",)
    assert [th.proc for th in t.threads] == [0, 1]
    assert [i.op for i in t.threads[0].code] == ["STR", "DSB", "LSR", "TLBI", "DSB", "MOV", "STR"]
    assert [i.op for i in t.threads[1].code] == ["LDR", "DSB", "LDR"]
    first = t.init[2]
    assert first.loc == L.Reg(0, "X1")
    assert first.value == L.Desc((("oa", L.Sym("pa", "b")),))
    assert t.init[3].value == L.Sym("pte", "a")
    cond = t.condition
    assert cond.quant == "exists"
    assert cond.prop == L.And((L.Eq(L.Reg(1, "X6"), L.Int(1)), L.Eq(L.Reg(1, "X4"), L.Int(0))))
    tlbi = t.threads[0].code[3]
    assert tlbi.args[0] == L.Operand("name", "VAAE1IS") and tlbi.args[1].text == "X9"
    assert (tlbi.span.line, tlbi.span.col) == (13, 2)


def test_labels_faults_and_comments() -> None:
    t = read("unmap_self_isb.litmus")
    load = t.threads[0].code[-1]
    assert load.label == "L1" and load.text == "LDR W4,[X3]"
    assert load.args[1].kind == "mem" and load.args[1].parts[0].text == "X3"
    assert t.condition == L.Condition("forall", L.FaultAtom(0, "L1", L.Mem("va", "a")))
    t2 = read("unmap_self_noisb.litmus")
    assert t2.condition.quant == "~exists"


def test_spellings_of_one_location() -> None:
    text = """AArch64 t
{ [PTE(x)]=(oa:PA(y), db:0); uint64_t y = 1; P1:W2 = x; }
P0 | P1 ;
   | L0: ;
   | LDR W3,[X2] ;
exists ([y]=1 \\/ ~Fault(P1:L0,x,MMU:Translation) /\\ 1:X3 != 2)
"""
    t = parse_litmus(text, "t.litmus")
    assert t.init[0].loc == L.Mem("pte", "x")
    assert t.init[0].value == L.Desc((("oa", L.Sym("pa", "y")), ("db", L.Int(0))))
    assert t.init[1] == L.Init(L.Mem("va", "y"), L.Int(1), "uint64_t")
    assert t.init[2].loc == L.Reg(1, "X2")
    assert t.threads[1].code[0].label == "L0"  # a label alone in a cell names the next instruction
    prop = t.condition.prop
    assert isinstance(prop, L.Or)
    assert prop.args[1] == L.And(
        (
            L.Not(L.FaultAtom(1, "L0", L.Mem("va", "x"), "MMU:Translation")),
            L.Eq(L.Reg(1, "X3"), L.Int(2), negated=True),
        )
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "X86 t\n{ }\nP0 ;\nexists (0:X0=0)\n",
            "t.litmus:1:1: error: only AArch64 litmus tests are read, not X86",
        ),
        ("AArch64 t\nP0 ;\n", "t.litmus:2:1: error: no initial state"),
        (
            "AArch64 t\n{ x=1;\nP0 ;\n",
            "t.litmus:2:1: error: the initial state's '{' is never closed",
        ),
        ("AArch64 t\n{ }\nP0 ;\nMOV W0,#1 ;\n", "t.litmus:5:1: error: no final condition"),
        (
            "AArch64 t\n{ }\nP0 | Q1 ;\nexists (0:X0=0)\n",
            "t.litmus:3:6: error: expected a thread name (P0, P1, P1.F), found 'Q1'",
        ),
        (
            "AArch64 t\n{ }\nP0 ;\nNOP | NOP ;\nexists (0:X0=0)\n",
            "t.litmus:4:7: error: this row has 2 cells but the test has 1 threads",
        ),
        (
            "AArch64 t\n{ }\nP0 ;\nMOV W0,#x ;\nexists (0:X0=0)\n",
            "t.litmus:4:8: error: expected a number after '#', found '#x'",
        ),
        (
            "AArch64 t\n{ }\nP0 ;\nNOP ;\nexists (0:X0=0 /\\ )\n",
            "t.litmus:5:19: error: expected a location",
        ),
        (
            "AArch64 t\n{ }\nP0 ;\nNOP ;\nexists (fault(0:L0,x))\n",
            "t.litmus:5:15: error: expected a thread (P0, P1...) in fault(...), found '0'",
        ),
    ],
)
def test_syntax_errors_are_located(text: str, message: str) -> None:
    assert error_of(text).startswith(message)


def test_syntax_error_file() -> None:
    path = HERE / "bad_syntax.litmus"
    with pytest.raises(SpecError) as exc:
        parse_litmus(path.read_text(), "bad_syntax.litmus")
    assert str(exc.value).splitlines() == [
        "bad_syntax.litmus:2:18: error: expected a value, found '='",
        "    { 0:X3=a; 0:X1 = = 2; }",
        "                     ^",
    ]


def test_classes() -> None:
    assert classify(read("remap_flag_dsb.litmus")) == (
        "a",
        "page-table stores, TLBI, DSB, ISB and faults only",
    )
    assert classify(read("bad_swp.litmus")) == ("b", "uses SWP")
    dirty = parse_litmus(
        "AArch64 t\n{ pte_x=(oa:phy_x,db:0,dbm:1); 0:X1=x; }\n"
        "P0 ;\nLDR W2,[X1] ;\nexists (0:X2=0)\n",
        "t.litmus",
    )
    assert classify(dirty) == ("c", "hardware dirty-bit management (dbm:1)")
    flags = parse_litmus(
        "AArch64 t\n{ 0:X1=x; }\nP0 ;\nDMB SY ;\nexists (pte_x=(oa:phy_x,af:1))\n", "t.litmus"
    )
    assert classify(flags) == ("c", "the condition reads a page-table entry")
