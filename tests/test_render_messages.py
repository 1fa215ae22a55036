"""Messages a person can act on: an inconclusive run states the depth it did check
(a bounded guarantee) and what to try next."""

from __future__ import annotations

from conftest import EXAMPLES
from engine_util import run

from verifier.api import check_spec
from verifier.lang.frontend import load

CHAIN = """\
spec "chain"
var x = 0
core p {
    x := 1
    x := 2
    x := 3
    assert x == 0
}
"""


def test_limit_reports_the_depth_checked() -> None:
    """Four states explored of a chain: every execution of 3 steps was checked; the
    failing assert is the 4th step (a depth is claimed without partial-order reduction
    only: test_reductions.py)."""
    full = run(CHAIN, "sc")
    assert full.verdict == "unsafe" and len(full.traces[0].steps) == 4
    r = run(CHAIN, "sc", max_states=3, por=False)
    assert r.verdict == "inconclusive"
    assert "state limit of 3 reached; no problem within 3 steps" in r.reason


def test_limit_suggests_next_steps_and_stays_below_the_shortest_race() -> None:
    checked = load(str(EXAMPLES / "eager_missing_fence.tlb"), [])
    shortest = len(check_spec(checked, "pso").traces[0].steps)
    r = check_spec(checked, "pso", max_states=800, por=False)  # symmetry: 1523 states in all
    assert r.verdict == "inconclusive"
    within = int(r.reason.split("no problem within ")[1].split(" steps")[0])
    assert 0 < within < shortest
    assert "next: raise --max-states, a smaller instance (-D N=1), or --engine smt" in r.reason


def test_proved_result_line_has_no_depth_0() -> None:
    from verifier.cli.check import verdict_line
    from verifier.run.result import Result

    r = Result(
        "s", "s.tlb", "tso", (), "safe", (), (), 0, 0, 1.0, "safe", True, "smt",
        "proved safe at every depth",
    )  # fmt: skip
    line = verdict_line(r, color=False)
    assert "every depth" in line and "depth 0" not in line
