"""The `arm` model and the Arm64 statements (docs/arm64.md): each file in tests/arm/ is one
rule, with the verdict herd7 gives the litmus test of the same shape in its `expect`."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_util import kinds

from verifier.api import check_spec
from verifier.lang.frontend import load, load_text
from verifier.run.model import meets

ARM = sorted((Path(__file__).parent / "arm").glob("*.tlb"))


@pytest.mark.parametrize("path", ARM, ids=[p.stem for p in ARM])
def test_rule_gives_herd_verdict(path: Path) -> None:
    checked = load(str(path), {})
    r = check_spec(checked, "arm")
    assert r.verdict in ("safe", "unsafe"), r.reason
    assert meets(checked.expect_for("arm"), r.kinds), (r.verdict, r.kinds)


BROADCAST = """
frame A, B
page V -> A rw
core p0 {
    pte V := B rw
    dsb
    tlbi {form}
    dsb
    complete V
}
core p1 { read V }
"""


@pytest.mark.parametrize("model", ["sc", "tso", "pso"])
def test_tlbi_in_x86_models(model: str) -> None:
    """Without a weak model a broadcast tlbi drops every core's entries at once; a local
    one only the issuer's."""
    assert kinds(BROADCAST.replace("{form}", "is V"), model) == set()
    assert kinds(BROADCAST.replace("{form}", "is all"), model) == set()
    assert kinds(BROADCAST.replace("{form}", "V"), model) == {"stale-translation"}


DATA = """
frame A = 3, B = 5
page V -> A rw
core p0 {
    r := read V
    write V := r + 1
    t := read V
    pte V := B rw
    dsb
    tlbi V
    dsb
    isb
    s := read V
    assert r == 3 && s == 5 && t == 4
}
"""


@pytest.mark.parametrize("model", ["sc", "pso", "arm"])
def test_data_through_pages(model: str) -> None:
    remap = {"bbm"} if model == "arm" else set()  # A -> B without a break
    assert kinds(DATA, model) == remap
    assert kinds(DATA.replace("tlbi V", "skip"), model) == {"assertion"} | remap


# ---------------------------------------------------------------- asid-reuse under arm

REUSE = """
model arm
frame A, B, T
space P asid 1 {{
    page V -> A {perm}
    page K -> T rx global
}}
space Q asid 1 {{
    page V -> B rw
    page K -> T rx global
}}
core u in P {{
    read V
    exec K
    switch Q
    {after}
    {access} V
    exec K
}}
"""


@pytest.mark.parametrize(
    ("perm", "after", "access", "arm", "others"),
    [
        # P's entry for V, tagged 1, used in Q
        ("rw", "skip", "read", ["asid-reuse"], ["asid-reuse"]),
        # the tag dropped after the switch, but the translation read may run before the
        # tlbi: nothing orders them under arm (docs/arm64.md §3)
        ("rw", "tlbi asid Q", "read", ["asid-reuse"], []),
        ("rw", "tlbi asid Q; dsb; isb", "read", [], []),
        ("rw", "tlbi all; dsb; isb", "read", [], []),
        # a hit that faults is no access: no asid-reuse
        ("r", "skip", "write", [], []),
    ],
)
@pytest.mark.parametrize("engine", ["explicit", "native"])
def test_asid_reuse_is_judged_under_arm(
    perm: str, after: str, access: str, arm: list[str], others: list[str], engine: str
) -> None:
    """The access uses its held translation read: a tagged entry that another space with
    the same ASID filled is an `asid-reuse`, as under sc/tso/pso; the global page K is
    shared on purpose and never is."""
    text = REUSE.format(perm=perm, after=after, access=access)
    checked = load_text(text, "reuse.tlb", [])
    r = check_spec(checked, "arm", engine=engine)
    assert sorted(r.kinds) == arm
    for model in ("sc", "tso", "pso"):
        assert sorted(check_spec(checked, model).kinds) == others
    if arm:
        problem = r.traces[0].problem
        assert "belongs to space P, the core runs Q (both ASID 1)" in problem.now
