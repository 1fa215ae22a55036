"""The `arm` model and the Arm64 statements (docs/arm64.md): each file in tests/arm/ is one
rule, with the verdict herd7 gives the litmus test of the same shape in its `expect`."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_util import kinds

from verifier.api import check_spec
from verifier.lang.frontend import load
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
