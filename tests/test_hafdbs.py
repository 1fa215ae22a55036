"""arm64 hardware access flag and dirty state (FEAT_HAFDBS, docs/arm64.md section 7): the
`old`/`dbm` flags, `option ad = access|hardware [for CORE]`, the walker's pending atomic
update, spontaneous access-flag updates and `TTHM=` in `.litmus` input; the explicit
engine against the oracle, and the z3 engine on the unsafe ones."""

from __future__ import annotations

import pytest
from engine_util import kinds, run
from test_page_tables import oracle

from verifier.lang.frontend import load_text
from verifier.lang.litmus_lower import lower_litmus
from verifier.lang.litmus_parse import parse_litmus
from verifier.lang.printer import format_checked

HEAD = "model arm\nOPTION\nframe A\npage V -> A VALUE\n"


def spec(option: str, value: str, body: str) -> str:
    return HEAD.replace("OPTION", option).replace("VALUE", value) + f"core c0 {{\n{body}\n}}\n"


CASES = [
    # HA: the read's update reaches memory before a later full dsb
    ("option ad = access", "r old", "read V\ndsb\nr := pte(V).young\nassert r == 1", set()),
    # ... but a dmb does not order it (herd7: HU is not an explicit access)
    ("option ad = access", "r old", "read V\ndmb\nr := pte(V).young\nassert r == 1", {"assertion"}),
    # without HA an old entry faults: nothing reached, the flag stays clear
    ("", "r old", "r := read V\nassert r == 0\ns := pte(V).young\nassert s == 0", set()),
    # HD: a write through a writable-clean entry makes it writable-dirty
    ("option ad = hardware", "r dbm", "write V := 1\ndsb\nr := pte(V).dirty\nassert r == 1", set()),
    # HA only: a write to a writable-clean entry faults, nothing written
    (
        "option ad = access",
        "r dbm",
        "write V := 1\ndsb\nr := pte(V).dirty\nassert r == 1",
        {"assertion"},
    ),
    # per core: c0 has no management
    (
        "option ad = hardware for c1",
        "r dbm",
        "write V := 1\ndsb\nr := pte(V).write\nassert r == 1",
        {"assertion"},
    ),
    # spontaneous: AF may be set without any access
    ("option ad = access", "r old", "r := pte(V).young\nassert r == 0", {"assertion"}),
]


@pytest.mark.parametrize("option, value, body, want", CASES)
def test_hardware_flags_against_the_oracle(
    option: str, value: str, body: str, want: set[str]
) -> None:
    text = spec(option, value, body)
    if "for c1" in option:
        text += "core c1 { skip }\n"
    assert kinds(text, "arm") == oracle(text, "arm") == want
    if want:
        assert set(run(text, "arm", engine="smt").kinds) == want


def test_flags_print_back_and_mean_nothing_under_x86() -> None:
    text = spec("option ad = access for c0", "r dbm old", "read V")
    printed = format_checked(load_text(text, "t.tlb", []))
    assert "page V -> A r old dbm" in printed and "option ad = access for c0" in printed
    assert kinds(spec("", "r old", "read V\nr := pte(V).young\nassert r == 0"), "sc") == set()


def test_an_unknown_core_in_the_option_is_located() -> None:
    with pytest.raises(Exception) as e:
        load_text(spec("option ad = access for c9", "r", "read V"), "t.tlb", [])
    assert "unknown core 'c9'" in str(e.value)


LITMUS = """AArch64 t
TTHM=P0:HD P1:HA
{
pte_x=(oa:phy_x,af:0,db:0,dbm:1);
0:X1=x; 1:X1=x;
}
 P0 | P1 ;
 MOV W2,#1 | LDR W3,[X1] ;
 STR W2,[X1] | ;
exists (1:X3=0)
"""


def test_tthm_is_read_per_thread() -> None:
    spec_ast, _ = lower_litmus(parse_litmus(LITMUS, "t.litmus"))
    options = [d for d in spec_ast.decls if type(d).__name__ == "OptionDecl"]
    assert [(d.value, d.cores) for d in options] == [("hardware", ("P0",)), ("access", ("P1",))]
