"""The independent check of the `riscv` model and the RISC-V statements: the oracle's own
reading (tests/oracle/riscv.py, written from docs/riscv.md; fences read pairwise) against
tlbcheck on generated specs and on the rule files of tests/riscv/."""

from __future__ import annotations

from pathlib import Path

import pytest
from oracle import campaign
from oracle.explore import run_oracle
from oracle.gen_riscv import gen_riscv_checked

from verifier.lang.frontend import load
from verifier.run.model import meets

RULES = sorted((Path(__file__).parent / "riscv").glob("*.tlb"))


def differ(seed: int, model: str) -> tuple[bool, object]:
    return campaign.differ(gen_riscv_checked, seed, model)


# 17, 29: one ipi whose handler fences and acknowledges (29 found an IPI handler's
# translation read taken before the IPI, a spurious hang)
@pytest.mark.parametrize("seed, model", [(9, "riscv"), (2, "pso"), (17, "riscv"), (29, "riscv")])
def test_generated_riscv_specs_agree(seed: int, model: str) -> None:
    compared, got = differ(seed, model)
    assert compared
    ours, theirs, text = got  # type: ignore[misc]
    assert ours == theirs, text


@pytest.mark.slow
def test_generated_riscv_campaign() -> None:
    compared, bad = campaign.disagreements(
        gen_riscv_checked, range(100, 200), ("riscv", "arm", "pso")
    )
    assert compared > 150 and not bad, bad


FAST = ("invalid_cached", "sfence_orders_own_walk", "sb_fence_tso", "mp_fence_ww_rr")


@pytest.mark.parametrize(
    "path",
    [p if p.stem in FAST else pytest.param(p, marks=pytest.mark.slow) for p in RULES],
    ids=[p.stem for p in RULES],
)
def test_oracle_gives_the_rule_verdicts(path: Path) -> None:
    checked = load(str(path), [])
    for model in ("riscv", "arm"):
        expect = checked.expect_for(model)
        if model == "riscv" or expect is not None:
            r = run_oracle(checked, model, max_states=100_000)
            assert r.complete
            assert meets(expect, set(r.kinds)), (model, sorted(r.kinds))
