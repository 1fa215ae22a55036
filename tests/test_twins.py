"""Twins (search/twins.py): in a state where two instances of a
reduced family have equal sort keys in the same sorted range, the later one's steps
lead to the orbits the earlier one's lead to, so a search skips them.  Skipping them
must change nothing but the count of transitions: the same states in the same order,
the same parent links, problems found and paths, in the Python and the native search,
with and without partial-order reduction, through a loop over the family too."""

from __future__ import annotations

import os

import pytest
from conftest import EXAMPLES, ROOT
from oracle.gen import gen_checked
from oracle.gen_loops import gen_loop_checked

from verifier.lang.checked import MODELS, CheckedSpec
from verifier.lang.frontend import load, load_text
from verifier.run.budget import Budget
from verifier.run.model import Model
from verifier.search.explicit import explore
from verifier.search.native import available, explore_native
from verifier.search.por import reduction
from verifier.search.symmetry import canon

os.environ.setdefault("TLBCHECK_NATIVE_OPT", "-O0")  # small searches: compile fast

LOOP = ROOT / "benchmarks" / "spin" / "invalidate_before_update_loop.tlb"
STATES = 200_000


def _python(checked: CheckedSpec, model: str, por: bool) -> tuple[int, int]:
    """Python search with twins skipped and not: equal but for transitions; the
    transitions (without, with)."""
    m = Model.of(checked, model)
    sym = canon(m.system, m.program)
    if sym.fn is None:
        return 0, 0
    system = sym.system or m.system
    red = reduction(system)
    ample = red.ample if por and red.sites else None
    off, on = (
        explore(system, budget=Budget(STATES), canon=sym.fn, twins=t, ample=ample)
        for t in (None, sym.twins)
    )
    what = f"{checked.file} {model} por={por}"
    assert (on.complete, len(on.states), on.expanded, on.found) == (
        off.complete, len(off.states), off.expanded, off.found), what  # fmt: skip
    assert (on.parent, on.via) == (off.parent, off.via), what
    for f in off.found.values():
        assert on.path(f.state) == off.path(f.state), what
    assert on.transitions <= off.transitions, what
    return off.transitions, on.transitions


def test_identical_responders_are_skipped_and_nothing_else_changes() -> None:
    for por in (False, True):
        off, on = _python(load(str(EXAMPLES / "eager_fenced.tlb"), ["N=3"]), "pso", por)
        assert on < off
        off, on = _python(load(str(LOOP), ["N=4"]), "tso", por)  # a loop over the family
        assert on < 0.85 * off


def test_twins_are_the_later_instances_with_equal_keys() -> None:
    m = Model.of(load(str(EXAMPLES / "eager_fenced.tlb"), ["N=3"]), "tso")
    sym = canon(m.system, m.program)
    assert sym.twins is not None
    init = bytes(m.system.init)
    family = [b.core for b in sym.plans[0]]
    assert sym.twins(init) == frozenset(family[1:])  # every responder starts alike
    s = bytearray(init)
    s[sym.plans[0][0].lo] += 1  # the first responder's pc moves on
    assert sym.twins(bytes(s)) == frozenset(family[2:])


PAIR = """
spec "one loop, two readers"
param N = 3
frame A, B
page V -> A rw
var acks = 0
core init {
    for c in cpu[*] { ipi c flush(V) }
    await acks == N
    pte V := B rw
}
core cpu[1..N] { read V }
handler flush(p) { invlpg p; acks += 1 }
expect safe
"""


@pytest.mark.parametrize("model", ["sc", "tso", "pso"])
def test_examples_and_loops_agree(model: str) -> None:
    for text in (PAIR,):
        for por in (False, True):
            _python(load_text(text, "pair.tlb", []), model, por)
    for name, n in (("lazy_generation.tlb", 2), ("eager_missing_fence.tlb", 3)):
        for por in (False, True):
            _python(load(str(EXAMPLES / name), [f"N={n}"]), model, por)


def test_generated_specs_agree() -> None:
    seen = fewer = 0
    for seed in range(30):
        for gen in (gen_checked, gen_loop_checked):
            _, _, checked = gen(7000 + seed)
            off, on = _python(checked, MODELS[seed % 3], por=seed % 2 == 0)
            seen += off > 0
            fewer += on < off
    assert seen >= 20 and fewer >= 5, "the generators make reduced families with twins"


@pytest.mark.skipif(not available(), reason="no C compiler")
@pytest.mark.parametrize("por", [False, True])
def test_native_skips_the_same_twins(por: bool) -> None:
    m = Model.of(load(str(LOOP), ["N=4"]), "tso")
    sym = canon(m.system, m.program)
    system = sym.system or m.system
    red = reduction(system)
    off, on = (
        explore_native(system, budget=Budget(STATES), canon=sym, reduction=red, por=por, twins=t)
        for t in (False, True)
    )
    assert (len(on.states), on.expanded, on.found) == (len(off.states), off.expanded, off.found)
    for f in off.found.values():
        assert on.path(f.state) == off.path(f.state)
    py = explore(
        system,
        budget=Budget(STATES),
        canon=sym.fn,
        twins=sym.twins,
        ample=red.ample if por else None,
    )
    assert (on.transitions, len(on.states)) == (py.transitions, len(py.states))
    assert on.transitions < off.transitions
