"""Symmetry reduction under `arm` (search/symmetry.py): a family is reduced when its
instances run the same code and none of them issues a broadcast `tlbi` (a mark names
the core whose `tlbi` set it, so swapping two issuers would have to rename marks too).
Each instance's `arm` fields (early-performed instructions, held translation reads and
their marks, its fatal fault) are sorted with its block.  The reduced search must give
the verdicts, kinds and traces of the unreduced one, in both engines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import tlb_files
from oracle.gen_arm import gen_arm_checked

from verifier.api import check_spec
from verifier.lang.checked import CheckedSpec
from verifier.lang.frontend import load_text
from verifier.run.model import Model
from verifier.run.result import Result
from verifier.search.symmetry import canon

ARM64 = Path(__file__).resolve().parent.parent / "specs" / "arm64"
LIMIT = 300_000

USERS = """model arm
frame A, B
page V -> A rw
core cpu0 {
    pte V := invalid
    dsb st
    tlbi is V
    dsb
    complete V
    free A
}
core u[1..2] {
    r := read V
    write V := 1
}
"""


def _why(checked: CheckedSpec) -> dict[str, str]:
    m = Model.of(checked, "arm")
    return {f.name: f.why for f in canon(m.system, m.program).families}


def _shape(r: Result) -> tuple[object, ...]:
    return r.verdict, tuple(sorted(r.kinds)), {t.kind: len(t.steps) for t in r.traces}


def _same(checked: CheckedSpec, engine: str = "explicit") -> tuple[Result, Result]:
    on = check_spec(checked, "arm", symmetry=True, engine=engine, max_states=LIMIT)
    off = check_spec(checked, "arm", symmetry=False, engine="explicit", max_states=LIMIT)
    assert _shape(on) == _shape(off), (on.reductions, off.reductions)
    if on.verdict != "inconclusive" and engine == "explicit":
        assert [t.steps for t in on.traces] == [t.steps for t in off.traces]
        assert on.states <= off.states
    return on, off


def test_users_family_is_reduced_and_issuers_are_not() -> None:
    assert _why(load_text(USERS, "users.tlb", [])) == {"u": ""}
    issuers = USERS.replace("core cpu0 {", "core cpu0 {\n    skip").replace(
        "    write V := 1\n", "    write V := 1\n    tlbi is V\n    dsb\n"
    )
    assert "broadcast tlbi" in _why(load_text(issuers, "issuers.tlb", []))["u"]


@pytest.mark.parametrize("engine", ["explicit", "native"])
def test_users_family_same_with_and_without(engine: str) -> None:
    on, off = _same(load_text(USERS, "users.tlb", []), engine)
    assert on.verdict == "safe" and (engine != "explicit" or on.states < off.states)


def _doubled(path: Path) -> CheckedSpec | None:
    """The spec with its last core made a family of two instances (None if that does not
    check: a core named elsewhere)."""
    text = path.read_text()
    heads = list(re.finditer(r"^core (\w+)( in \w+)? \{", text, re.M))
    if not heads:
        return None
    h = heads[-1]
    text = text[: h.start()] + f"core {h.group(1)}x[1..2]{h.group(2) or ''} {{" + text[h.end() :]
    text = re.sub(r"^expect .*$", "", text, flags=re.M)
    try:
        return load_text(text, path.name, [])
    except Exception:
        return None


QUICK = {"flush_tlb_page", "flush_tlb_page_no_dsb_ish"}


@pytest.mark.parametrize(
    "path",
    [
        p if p.stem in QUICK else pytest.param(p, marks=pytest.mark.slow)
        for p in tlb_files(ARM64)
    ],
    ids=lambda p: p.stem,
)
def test_arm64_specs_with_a_doubled_core(path: Path) -> None:
    checked = _doubled(path)
    if checked is None:
        pytest.skip("the last core cannot be doubled")
    _same(checked)


@pytest.mark.parametrize("seed", [0, 7])
def test_generated_family_specs(seed: int) -> None:
    _, _, checked = gen_arm_checked(seed, family=True)
    _same(checked)


@pytest.mark.slow
def test_generated_family_campaign() -> None:
    reduced = 0
    for seed in range(100, 160):
        _, _, checked = gen_arm_checked(seed, family=True)
        on, off = _same(checked)
        _same(checked, "native")
        reduced += on.states < off.states
    assert reduced >= 10
