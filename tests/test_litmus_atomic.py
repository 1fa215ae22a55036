"""Atomics and exclusives in `.litmus` input (docs/arm64.md §1 and §4): small litmus
tests of our own in tests/litmus/atomics/, each with the observation herd7 gives it
(`herd7 -variant vmsa,fatal`, herdtools7 5feffe4e8f98, run when the test was written)."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.api import check_spec
from verifier.lang.litmus_lower import load_litmus
from verifier.run.litmus import answer

HERE = Path(__file__).parent / "litmus" / "atomics"
SLOW = pytest.mark.slow

HERD = [
    ("mp_swp", "Sometimes"),  # a relaxed SWP does not order the data store before it
    ("mp_swpL", "Never"),  # SWPL: a release write
    pytest.param("mp_swpAL", "Never", marks=SLOW),
    ("llsc", "Never"),  # another core's store between LDXR and STXR: the STXR fails
    pytest.param("ldadd_sb", "Never", marks=SLOW),  # LDADDAL on both sides: full barriers
    pytest.param("ldadd_sb_relaxed", "Sometimes", marks=SLOW),
    pytest.param("stadd_sb", "Sometimes", marks=SLOW),  # STADDL orders nothing after it
    ("pte_swp", "Never"),  # SWP of an invalid descriptor, then DSB; TLBI; DSB
    pytest.param("pte_swp_notlbi", "Sometimes", marks=SLOW),
    ("pte_cas", "Never"),  # two CAS on one PTE: only one finds the old value
]


@pytest.mark.parametrize(("name", "herd"), HERD)
def test_herd_observation(name: str, herd: str) -> None:
    path = HERE / f"{name}.litmus"
    checked = load_litmus(str(path), path.read_text())
    assert answer(checked, check_spec(checked, "arm")).observation == herd


def test_pte_cas_flags_bbm() -> None:
    """A CAS that remaps a valid entry to another frame is a `pte` store: herd7 flags
    Warning-BBM-expected, tlbcheck `bbm`."""
    path = HERE / "pte_cas.litmus"
    checked = load_litmus(str(path), path.read_text())
    assert "bbm" in check_spec(checked, "arm").kinds
