"""The native search (verifier/search/native/) against the Python search.

Both explore the same System: the native one must number the same states in the same
order, so every count (states, transitions, states expanded), every `Found` (state,
command, check; for hang the core, await and whether it is stuck in a handler) and
every path to what was found are compared for equality, with the reductions off and
on.  The default run takes a few specs, examples and generated specs; the campaign
over every spec, every example and >= 2,000 generated (spec, model) pairs is `slow`
(`python3 -m pytest -m slow tests/test_native.py -s` prints its figures).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, SPECS, tlb_files
from oracle.gen import gen_checked
from oracle.gen_loops import gen_loop_checked

from verifier.api import check_spec
from verifier.lang.checked import MODELS, CheckedSpec
from verifier.lang.frontend import load, load_text
from verifier.run.budget import Budget, rss_mb
from verifier.run.model import Model
from verifier.search.explicit import explore
from verifier.search.native import available, explore_native
from verifier.search.por import reduction
from verifier.search.symmetry import canon

pytestmark = pytest.mark.skipif(not available(), reason="no C compiler")
os.environ.setdefault("TLBCHECK_NATIVE_OPT", "-O0")  # these searches are small: compile fast

MODES = [(False, False), (True, True), (True, False), (False, True)]  # (symmetry, por)
STATES = 300_000


def _compare(m: Model, modes: list[tuple[bool, bool]] = MODES) -> int:
    """Both searches on ``m`` in every mode: equal in everything; the states explored."""
    sym = canon(m.system, m.program)
    total = 0
    for use_sym, use_por in modes:
        # with a loop over a family, the symmetric search adds the loop's alternatives
        system = sym.system if use_sym and sym.system is not None else m.system
        red = reduction(system)
        ample = red.ample if use_por and red.sites else None
        py = explore(
            system,
            budget=Budget(STATES),
            canon=sym.fn if use_sym else None,
            twins=sym.twins if use_sym else None,
            ample=ample,
        )
        nat = explore_native(
            system,
            budget=Budget(STATES),
            canon=sym,
            reduction=red,
            symmetry=use_sym,
            por=use_por,
        )
        what = f"{m.checked.file} {m.model} symmetry={use_sym} por={use_por}"
        got = (nat.complete, len(nat.states), nat.transitions, nat.expanded, nat.found)
        want = (py.complete, len(py.states), py.transitions, py.expanded, py.found)
        assert got == want, what
        for f in py.found.values():
            assert nat.path(f.state) == py.path(f.state), f"{what}: path to {f.kind}"
            assert nat.state(f.state) == py.state(f.state), f"{what}: state of {f.kind}"
        total += len(py.states)
    return total


def _model(checked: CheckedSpec, model: str) -> Model:
    return Model.of(checked, model)


SAMPLE_SPECS = [("eager/missing_fence.tlb", "pso"), ("irq/shootdown_irqoff_hang.tlb", "sc")]


@pytest.mark.parametrize(("name", "model"), SAMPLE_SPECS)
def test_sample_specs_agree(name: str, model: str) -> None:
    _compare(_model(load(str(SPECS / name), []), model))


@pytest.mark.parametrize("seed", range(1000, 1006))
def test_generated_specs_agree(seed: int) -> None:
    _, _, checked = gen_checked(seed)
    _compare(_model(checked, MODELS[seed % 3]))


def test_symmetric_protocol_agrees_with_every_reduction() -> None:
    checked = load(str(EXAMPLES / "eager_fenced.tlb"), ["N=3"])
    assert _compare(_model(checked, "pso")) > 10_000


def test_symmetry_through_a_loop_agrees() -> None:
    """The canonical form of a family a `for` loops over (symmetry_loops.py) is the same
    in C: same states, transitions, paths."""
    spec = ROOT / "benchmarks" / "spin" / "eager_missing_fence_loop.tlb"
    _compare(_model(load(str(spec), ["N=3"]), "tso"), [(True, True), (True, False)])


@pytest.mark.slow
def test_campaign_generated_loops() -> None:
    """Generated specs looping over a symmetric family (oracle/gen_loops.py): the native
    search equals the Python one with symmetry through the loop, with and without POR."""
    for seed in range(200):
        _, _, checked = gen_loop_checked(seed)
        _compare(_model(checked, checked.model), [(True, True), (True, False)])


WIDE = "\n".join(
    [
        'spec "wide blocks"',
        "param N = 2",
        "frame A, B",
        "page V -> A rw",
        "core init {\n    pte V := B rw\n    fence\n    invlpg V\n    complete V\n}",
        "core cpu[1..N] {",
        *(f"    r{i} := {i % 15 + 1}" for i in range(1, 40)),
        "    read V\n}",
        "expect race stale-translation",
    ]
)


def test_sort_keys_of_several_words_agree() -> None:
    """A family whose sort key takes four 64-bit words (39 registers a core): the words
    compare as the Python form's values do, and its keys collapse (same search)."""
    m = _model(load_text(WIDE, "wide.tlb", []), "tso")
    assert _compare(m) > 20_000
    sym = canon(m.system, m.program)
    nat = explore_native(m.system, budget=Budget(STATES), canon=sym, reduction=reduction(m.system))
    assert nat.key_bytes < nat.width


@pytest.mark.parametrize(
    ("spec", "model", "params"),
    [
        (EXAMPLES / "eager_fenced.tlb", "pso", ["N=3"]),
        (ROOT / "benchmarks" / "spin" / "eager_missing_fence_loop.tlb", "tso", ["N=3"]),
    ],
)
def test_collapsed_keys_give_the_same_search(spec: Path, model: str, params: list[str]) -> None:
    """With symmetry a state is stored as its other fields and an index per family
    position (collapse_c.py): the same states, counts, Found and paths as the packed
    keys, in fewer bytes; indices widened from 2 bytes to 4 (forced after 3 distinct
    blocks; or after 20, in the middle of a chunk whose new states' collapsed keys were
    built at 2 bytes, `fast_key`) change nothing either."""
    m = _model(load(str(spec), params), model)
    sym, red = canon(m.system, m.program), reduction(m.system)
    system = sym.system if sym.system is not None else m.system
    runs = {
        c: explore_native(system, budget=Budget(STATES), canon=sym, reduction=red, collapse=c)
        for c in (0, 3, 20, 1 << 16)
    }
    packed, widened, collapsed = runs[0], runs[3], runs[1 << 16]
    same = [(r.transitions, len(r.states), r.expanded, r.found, r.paths) for r in runs.values()]
    assert all(x == same[0] for x in same) and len(packed.states) > 1_000
    assert packed.key_bytes == packed.width
    assert collapsed.key_bytes < widened.key_bytes < packed.width


def test_threads_give_the_same_search() -> None:
    """States are expanded in chunks by several threads and merged in order: the same
    numbering, counts, Found and paths as one thread (and as the Python search)."""
    m = _model(load(str(EXAMPLES / "lazy_missing_fence.tlb"), ["N=3"]), "pso")
    sym, red = canon(m.system, m.program), reduction(m.system)
    runs = [
        explore_native(m.system, budget=Budget(STATES), canon=sym, reduction=red, threads=n)
        for n in (1, 3)
    ]
    one, three = ((r.transitions, len(r.states), r.found, r.paths) for r in runs)
    assert one == three and len(runs[0].states) > 8192  # more than one chunk


def test_hash_compaction_finds_the_same_and_says_what_safe_is_worth() -> None:
    """64-bit hashes of 2,608 states: no collision to expect, so the same search; the
    verdict states the omission probability."""
    m = _model(load(str(EXAMPLES / "lazy_missing_fence.tlb"), ["N=2"]), "pso")
    sym, red = canon(m.system, m.program), reduction(m.system)
    exact, hashed = (
        explore_native(m.system, budget=Budget(STATES), canon=sym, reduction=red, hash_compact=h)
        for h in (False, True)
    )
    assert (hashed.transitions, len(hashed.states), hashed.found, hashed.paths) == (
        exact.transitions, len(exact.states), exact.found, exact.paths
    )  # fmt: skip
    assert exact.omission == 0 and 0 < hashed.omission < 1e-9
    r = check_spec(load(str(SPECS / "irq" / "shootdown_irqoff_hang.tlb"), []), "sc",
                   engine="native", hash_compact=True)  # fmt: skip
    assert r.verdict == "unsafe" and r.kinds == ("hang",)
    r = check_spec(m.checked, "sc", engine="native", hash_compact=True)
    assert r.verdict == "safe" and "omitted, with probability at most" in r.reason


def test_hang_agrees() -> None:
    text = """spec "the initiator waits for an ack nobody sends"
frame A
page V -> A rw
var acks = 0
core init { ipi cpu[*] flush(V); await acks == 2 }
core cpu[1..2] { read V }
handler flush(p) { invlpg p }
expect hang
"""
    m = Model.of(load_text(text, "hang.tlb", []), "tso")
    _compare(m)
    r = check_spec(m.checked, "tso", engine="native")
    assert (r.engine, r.verdict, r.kinds, r.expectation_met) == (
        "native",
        "unsafe",
        ("hang",),
        True,
    )


def test_check_spec_native_equals_explicit() -> None:
    checked = load(str(EXAMPLES / "lazy_missing_fence.tlb"), ["N=2"])
    a = check_spec(checked, "pso", engine="explicit")
    b = check_spec(checked, "pso", engine="native")
    assert (a.engine, b.engine) == ("explicit", "native")
    assert (a.verdict, a.kinds, a.states, a.transitions) == (
        b.verdict,
        b.kinds,
        b.states,
        b.transitions,
    )
    assert [t.to_json() for t in a.traces] == [t.to_json() for t in b.traces]
    assert a.reductions == b.reductions


def test_limits_end_inconclusive() -> None:
    checked = load(str(EXAMPLES / "lazy_generation.tlb"), ["N=4"])
    r = check_spec(checked, "pso", engine="native", max_states=5000)
    assert r.verdict == "inconclusive" and r.reason.startswith("state limit of 5000 reached")
    assert r.states == check_spec(checked, "pso", engine="explicit", max_states=5000).states
    t = time.monotonic()
    r = check_spec(checked, "pso", engine="native", timeout=1, symmetry=False, por=False)
    assert r.verdict == "inconclusive" and "timeout after 1 s (search)" in r.reason
    assert time.monotonic() - t < 2.5
    mb = int(rss_mb()) + 30
    r = check_spec(checked, "pso", engine="native", max_memory=mb, symmetry=False, por=False)
    assert r.verdict == "inconclusive" and f"memory limit of {mb} MB reached" in r.reason


def test_cli_engine_option() -> None:
    spec = str(SPECS / "eager" / "missing_fence.tlb")
    out = {}
    for engine in ("native", "explicit"):
        done = subprocess.run(
            [sys.executable, "-m", "verifier", "check", spec, "--all-models", "-q", "--json",
             "--engine", engine],
            capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        out[engine] = done.stdout.replace('"engine": "native"', '"engine": "explicit"')
    # the same JSON but for the time, and the native search's word that it keeps its
    # states to itself (no unreached statements or vacuity: run/coverage.py)
    native, explicit = json.loads(out["native"]), json.loads(out["explicit"])
    for d in native + explicit:
        d.pop("seconds")
    for d in native:
        assert "native search keeps its states" in d.pop("coverage")
    assert native == explicit


# ---------------------------------------------------------------- the campaign (slow)


def _every_spec() -> list[Path]:
    return tlb_files(SPECS, "*/*.tlb") + tlb_files(EXAMPLES)


@pytest.mark.slow
def test_campaign_every_spec_and_example() -> None:
    start, pairs, states = time.monotonic(), 0, 0
    for path in _every_spec():
        checked = load(str(path), [])
        for model in MODELS:
            states += _compare(_model(checked, model))
            pairs += 1
        print(f"  {pairs} pairs agree so far ({path.name})", flush=True)
    print(f"\nnative = explicit on {pairs} (spec, model) pairs, 4 modes each, "
          f"{states} states, {time.monotonic() - start:.0f} s")  # fmt: skip


@pytest.mark.slow
def test_campaign_generated() -> None:
    start, pairs, states = time.monotonic(), 0, 0
    # TLBCHECK_CAMPAIGN_SEEDS=a:b runs seeds a..b-1 only (to split the campaign over processes)
    first, _, last = os.environ.get("TLBCHECK_CAMPAIGN_SEEDS", "5000:5700").partition(":")
    for seed in range(int(first), int(last)):
        _, _, checked = gen_checked(seed)
        for model in MODELS:
            states += _compare(_model(checked, model), [(False, False), (True, True)])
            pairs += 1
        if seed % 50 == 49:
            print(
                f"  {pairs} generated pairs so far ({time.monotonic() - start:.0f} s)", flush=True
            )
    print(f"\nnative = explicit on {pairs} generated (spec, model) pairs, reductions off and "
          f"on, {states} states, {time.monotonic() - start:.0f} s")  # fmt: skip
