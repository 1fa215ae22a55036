"""Sleep sets in the search that rebuilds shortest traces (verifier/search/commute.py).

With ``sleep`` on, a search without partial-order reduction skips commands whose step is
known to lead to a stored state: it must store the same states under the same numbers
(parents and commands), find the same problems at the same states and give the same
paths, only counting fewer transitions; and the native search must skip exactly what the
Python one skips (equal transition counts).  Every spec and example under its models and
generated specs, in the Python search (the default run takes a sample; the rest is
`slow`), and against the native search.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, tlb_files
from oracle.gen import gen_checked

from verifier.api import expected_models
from verifier.lang.checked import CheckedSpec
from verifier.lang.frontend import load
from verifier.run.budget import Budget
from verifier.run.model import Model
from verifier.search.explicit import explore
from verifier.search.native import available, explore_native
from verifier.search.por import reduction
from verifier.search.symmetry import canon

os.environ.setdefault("TLBCHECK_NATIVE_OPT", "-O0")  # these searches are small: compile fast

STATES = 3_000  # a prefix of the breadth-first search: equal numbering decides it
QUICK = {"missing_fence", "eager_missing_fence", "lazy_missing_fence", "invalidate_before_update"}


def _same(checked: CheckedSpec, model: str, states: int = STATES, native: bool = False) -> None:
    m = Model.of(checked, model)
    sym = canon(m.system, m.program)
    system = sym.system if sym.system is not None else m.system
    runs = [
        explore(system, budget=Budget(states), canon=sym.fn, twins=sym.twins, sleep=s, hangs=False)
        for s in (False, True)
    ]
    off, on = runs
    what = f"{checked.file} {model}"
    assert (len(on.states), on.complete, on.found) == (len(off.states), off.complete, off.found)
    assert (on.parent, on.via) == (off.parent, off.via), what
    assert on.transitions <= off.transitions, what
    for f in off.found.values():
        assert on.path(f.state) == off.path(f.state), what
    if native:
        nat = explore_native(
            system, budget=Budget(states), canon=sym, reduction=reduction(system),
            symmetry=True, por=False, sleep=True, hangs=False,
        )  # fmt: skip
        got = (len(nat.states), nat.transitions, nat.expanded, nat.found)
        assert got == (len(on.states), on.transitions, on.expanded, on.found), what
        for f in on.found.values():
            assert nat.path(f.state) == on.path(f.state), what


def _cases() -> list[object]:
    files = tlb_files(ROOT / "specs", "*/*.tlb") + tlb_files(EXAMPLES)
    out: list[object] = []
    for f in files:
        for model in expected_models(load(str(f), [])):
            marks = [] if f.stem in QUICK and model != "sc" else [pytest.mark.slow]
            out.append(pytest.param(f, model, id=f"{f.parent.name}/{f.stem}.{model}", marks=marks))
    return out


@pytest.mark.parametrize(("path", "model"), _cases())
def test_sleep_sets_change_no_state_nor_trace(path: Path, model: str) -> None:
    _same(load(str(path), []), model)


@pytest.mark.parametrize(
    "seed",
    [*range(8), *(pytest.param(s, marks=pytest.mark.slow) for s in range(3000, 3300))],
)
def test_sleep_sets_on_generated_specs(seed: int) -> None:
    _, _, checked = gen_checked(seed)
    for model in ("sc", "pso"):
        _same(checked, model)


@pytest.mark.skipif(not available(), reason="no C compiler")
@pytest.mark.parametrize(
    ("name", "model", "params"),
    [
        ("eager_missing_fence", "tso", ["N=3"]),
        ("lazy_missing_fence", "pso", ["N=2"]),
    ],
)
def test_native_skips_what_python_skips(name: str, model: str, params: list[str]) -> None:
    _same(load(str(EXAMPLES / f"{name}.tlb"), params), model, states=60_000, native=True)


@pytest.mark.slow
@pytest.mark.skipif(not available(), reason="no C compiler")
@pytest.mark.parametrize("seed", range(4000, 4060))
def test_native_skips_what_python_skips_generated(seed: int) -> None:
    _, _, checked = gen_checked(seed)
    _same(checked, "pso", states=20_000, native=True)
