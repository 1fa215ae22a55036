"""The independent check of the `arm` model and the Arm64 statements: the oracle's own
reading (tests/oracle/arm.py, written from docs/arm64.md) against tlbcheck on generated
specs and on the rule files of tests/arm/."""

from __future__ import annotations

from pathlib import Path

import pytest
from oracle import campaign
from oracle.explore import run_oracle
from oracle.gen_arm import gen_arm_checked

from verifier.lang.frontend import load
from verifier.run.model import meets

RULES = sorted((Path(__file__).parent / "arm").glob("*.tlb"))


def differ(seed: int, model: str) -> tuple[bool, object]:
    return campaign.differ(gen_arm_checked, seed, model)


# 20: hardware flags (old/dbm, option ad), 26: two-level pages with leaf-only tlbi,
# 14: one ipi and its handler, 21: `on fault resume`
@pytest.mark.parametrize(
    "seed, model",
    [(0, "arm"), (3, "arm"), (3, "pso"), (20, "arm"), (26, "arm"), (14, "arm"), (21, "arm"),
     (21, "pso")],
)
def test_generated_arm_specs_agree(seed: int, model: str) -> None:
    compared, got = differ(seed, model)
    if compared:
        ours, theirs, text = got  # type: ignore[misc]
        assert ours == theirs, text


@pytest.mark.slow
def test_generated_arm_campaign() -> None:
    compared, bad = campaign.disagreements(gen_arm_checked, range(100, 300), ("arm", "sc", "pso"))
    assert compared > 300 and not bad, bad


FAST = (
    "pte_value_corr_old_new",
    "pte_value_corr_new_old",
    "v2i_dsb_tlbi_dsb",
    "v2i_dsb_tlbi_dsb_isb",
    "v2i_dsbld_tlbi",
    "mp_shoot_po",
    "pos_reads_unwritten",
    "pos_reads_written",
    "ipi_during_fault_code",
)


@pytest.mark.parametrize(
    "path",
    [p if p.stem in FAST else pytest.param(p, marks=pytest.mark.slow) for p in RULES],
    ids=[p.stem for p in RULES],
)
def test_oracle_gives_the_rule_verdicts(path: Path) -> None:
    checked = load(str(path), [])
    r = run_oracle(checked, "arm", max_states=100_000)
    assert r.complete
    assert meets(checked.expect_for("arm"), set(r.kinds)), sorted(r.kinds)
