"""`tlbcheck check T.litmus` end to end (docs/arm64.md §4): small herd-style tests through
the same pipeline, with the verdicts herd7 gives the catalogue tests of the same shape;
located errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from verifier.lang.diagnostics import SpecError
from verifier.litmus import check_litmus

HERE = Path(__file__).parent / "litmus"
VERDICTS = {
    "mp_shoot_po": ("Allowed", "Sometimes"),
    "mp_shoot_dsb": ("Forbidden", "Never"),
    "mp_shoot_local": ("Allowed", "Sometimes"),
    "v2i_isb": ("Required", "Always"),
    "db_stale": ("Allowed", "Sometimes"),
}


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_litmus_verdict(name: str) -> None:
    r = check_litmus(str(HERE / f"{name}.litmus"))
    assert (r.verdict, r.observation) == VERDICTS[name]
    if r.verdict != "Forbidden":  # a witness (for forall: none, it always holds)
        assert r.traces or r.quantifier == "forall"
        for t in r.traces:
            assert t.steps and t.model == "arm"


@pytest.mark.parametrize(
    "name, where, message",
    [
        ("bad_instruction", ":6:1:", "cannot state this test: instruction LDXR"),
        ("bad_syntax", ":4:7:", "cannot read the value"),
    ],
)
def test_litmus_errors_are_located(name: str, where: str, message: str) -> None:
    path = HERE / "errors" / f"{name}.litmus"
    with pytest.raises(SpecError) as e:
        check_litmus(str(path))
    assert message in e.value.diagnostics[0].message
    out = subprocess.run(
        [sys.executable, "-m", "verifier", "check", str(path)], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert where in out.stderr and "Traceback" not in out.stderr
