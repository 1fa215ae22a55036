"""`--bitstate` (SPIN's supertrace): the native search with a bit array in place of
its state table.  What it finds is real, it never counts more states than the exact
search (each state it keeps is a distinct reachable one), it omits states when the
array is small, and its `safe` says plainly that it holds only up to the omission
probability it states."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import EXAMPLES, ROOT

from verifier.api import check_spec
from verifier.lang.frontend import load
from verifier.run.budget import Budget
from verifier.run.model import Model
from verifier.search.native import available, explore_native
from verifier.search.por import reduction
from verifier.search.symmetry import canon

pytestmark = pytest.mark.skipif(not available(), reason="no C compiler")

STATES = 300_000


def _searches(name: str, n: int, model: str, bits: int, sym: bool, por: bool = False):
    m = Model.of(load(str(EXAMPLES / name), [f"N={n}"]), model)
    c, red = canon(m.system, m.program), reduction(m.system)
    return [
        explore_native(
            m.system,
            budget=Budget(STATES),
            canon=c,
            reduction=red,
            symmetry=sym,
            por=por,
            bitstate=b,
        )
        for b in (0, bits)
    ]


@pytest.mark.parametrize("sym", [False, True])
def test_a_roomy_array_searches_as_the_table_does(sym: bool) -> None:
    """2^26 bits for some 10^4 states: no omission to expect, so the same search, and
    the same shortest paths to what it finds."""
    exact, bits = _searches("lazy_missing_fence.tlb", 2, "pso", 1 << 26, sym)
    assert exact.found and exact.omission == 0
    assert (bits.transitions, len(bits.states), bits.found, bits.paths) == (
        exact.transitions, len(exact.states), exact.found, exact.paths
    )  # fmt: skip
    assert 0 < bits.omission < 1e-6 and bits.bitstate is not None


def test_a_small_array_omits_states_and_says_so() -> None:
    """2^16 bits for 10^4 states fill up: states are omitted (fewer than the exact
    count, never more) and the omission probability stated is no longer small."""
    exact, bits = _searches("eager_fenced.tlb", 3, "pso", 1 << 16, False)
    assert len(bits.states) < len(exact.states)
    assert bits.omission > 0.1
    assert bits.complete


def test_unsafe_still_found_and_safe_says_what_it_is_worth() -> None:
    checked = load(str(EXAMPLES / "lazy_missing_fence.tlb"), ["N=3"])
    exact = check_spec(checked, "pso", engine="native")
    r = check_spec(checked, "pso", engine="native", bitstate=4.0)
    assert (r.verdict, r.kinds) == (exact.verdict, exact.kinds) == (
        "unsafe", ("stale-translation", "use-after-free"))  # fmt: skip
    assert [len(t.steps) for t in r.traces] == [len(t.steps) for t in exact.traces]
    assert r.states <= exact.states
    safe = check_spec(load(str(EXAMPLES / "eager_fenced.tlb"), ["N=3"]), "pso",
                      engine="native", bitstate=4.0)  # fmt: skip
    assert safe.verdict == "safe"
    assert "hold only up to that probability" in safe.reason
    assert "a state may have been omitted, with probability at most" in safe.reason
    assert "hangs were not looked for" in safe.reason  # eager_fenced awaits its acks


def test_cli_bitstate_options() -> None:
    spec = str(EXAMPLES / "eager_fenced.tlb")
    done = subprocess.run(
        [sys.executable, "-m", "verifier", "check", spec, "-D", "N=2", "--model", "pso",
         "--bitstate-mb", "2"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "bitstate: 2 MB of bits, 3 per state" in done.stdout
    assert "hold only up to that probability" in done.stdout
