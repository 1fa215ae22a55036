"""The `riscv` model and the RISC-V statements (docs/riscv.md): each file in tests/riscv/
is one rule, with the verdict RVWMO / the privileged spec gives in its `expect`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from engine_util import kinds

from verifier.api import check_spec, expected_models
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load, load_text
from verifier.lang.printer import format_spec
from verifier.repair.search import repair
from verifier.run.budget import Budget
from verifier.run.model import Model, meets
from verifier.search.explicit import explore
from verifier.search.native import available, explore_native
from verifier.search.por import reduction
from verifier.search.symmetry import canon

RISCV = sorted((Path(__file__).parent / "riscv").glob("*.tlb"))


@pytest.mark.parametrize("path", RISCV, ids=[p.stem for p in RISCV])
def test_rule_gives_rvwmo_verdict(path: Path) -> None:
    checked = load(str(path), {})
    for model in ("riscv", "arm"):
        expect = checked.expect_for(model)
        if model == "riscv" or expect is not None:
            r = check_spec(checked, model, engine="explicit")
            assert r.verdict in ("safe", "unsafe"), r.reason
            assert meets(expect, r.kinds), (model, r.verdict, r.kinds)


@pytest.mark.parametrize("name", ["mp_po", "sfence_local_only", "invalid_cached"])
def test_z3_engine_finds_the_same_problems(name: str) -> None:
    checked = load(str(Path(__file__).parent / "riscv" / f"{name}.tlb"), {})
    explicit = check_spec(checked, "riscv", engine="explicit")
    smt = check_spec(checked, "riscv", engine="smt", depth=12)
    assert set(smt.kinds) == set(explicit.kinds) != set()
    assert [len(t.steps) for t in smt.traces] == [len(t.steps) for t in explicit.traces]


MP = """
var data = 0
var flag = 0
core p0 {
    data := 1
    {w}
    flag := 1
}
core p1 {
    f := flag
    {r}
    d := data
    assert f == 0 || d == 1
}
"""


def test_fences_under_buffered_models() -> None:
    """Under pso only store order is missing: `fence w,w` and `fence.tso` restore it (release
    fences), `fence r,r` does nothing."""
    mp = lambda w, r: MP.replace("{w}", w).replace("{r}", r)  # noqa: E731
    assert kinds(mp("skip", "skip"), "pso") == {"assertion"}
    assert kinds(mp("fence w,w", "skip"), "pso") == set()
    assert kinds(mp("fence.tso", "skip"), "pso") == set()
    assert kinds(mp("fence r,rw", "fence r,r"), "pso") == {"assertion"}
    assert kinds(mp("fence w,w", "skip"), "riscv") == {"assertion"}


SB_OWN = """
frame A, B
page V -> A rw
core p0 {
    pte V := B rw
    {f}
    complete V
    read V
}
"""


def test_sfence_waits_for_the_store_buffer() -> None:
    """Under tso a walk reads memory, not the buffer: `sfence.vma` first empties it."""
    assert kinds(SB_OWN.replace("{f}", "invlpg V"), "tso") == {"stale-translation"}
    assert kinds(SB_OWN.replace("{f}", "sfence.vma V"), "tso") == set()
    assert kinds(SB_OWN.replace("{f}", "sfence.vma"), "tso") == set()


def test_printer_round_trip_and_errors() -> None:
    text = "core p {\n    fence r,rw\n    fence.tso\n    sfence.vma\n    sfence.vma V\n}\n"
    checked = load_text("frame A\npage V -> A rw\n" + text, "t.tlb", [])
    printed = format_spec(checked.spec)
    assert "fence r,rw" in printed and "fence.tso" in printed and "sfence.vma V" in printed
    assert load_text(printed, "t.tlb", []).spec == checked.spec
    with pytest.raises(SpecError) as e:
        load_text("frame A\npage V -> A rw\ncore p { sfence.vma asid Q }\n", "t.tlb", [])
    assert "unknown space 'Q'" in e.value.diagnostics[0].message
    with pytest.raises(SpecError) as e:
        load_text("frame A\npage V -> A rw\ncore p { fence rx, w }\n", "t.tlb", [])
    assert (e.value.diagnostics[0].span.line, e.value.diagnostics[0].span.col) == (3, 17)


def test_repair_under_riscv_adds_the_local_fence() -> None:
    """The vmalloc race (7e3811521dc3) is fixed by one `sfence.vma V` on the reader before
    its first use; the fix re-checks safe under every model the spec names."""
    checked = load(
        str(Path(__file__).parent.parent / "specs/riscv/vmap_no_flush_cache_vmap.tlb"), {}
    )
    models = expected_models(checked)
    out = repair(checked, models, max_edits=1, fixes_wanted=1, kinds={"add-flush", "fence"})
    assert out.fixes and "sfence.vma V" in out.fixes[0].edits[0].text
    again = load_text(out.fixes[0].text, "fixed.tlb", [])
    assert {check_spec(again, m).verdict for m in models} == {"safe"}


SLOW = pytest.mark.slow  # a C compile each
NATIVE = [
    "specs/riscv/vmap_no_flush_cache_vmap.tlb",
    "specs/riscv/freed_table_range_flush.tlb",
    pytest.param("specs/riscv/freed_table_flush_mm.tlb", marks=SLOW),
    pytest.param("tests/riscv/sb_fence_tso.tlb", marks=SLOW),
    pytest.param("tests/riscv/sfence_asid_keeps_global.tlb", marks=SLOW),
]


@pytest.mark.skipif(not available(), reason="no C compiler")
@pytest.mark.parametrize("name", NATIVE)
def test_native_search_is_the_python_search(name: str) -> None:
    """Same states, transitions, finds and paths under `riscv`, with and without POR."""
    os.environ.setdefault("TLBCHECK_NATIVE_OPT", "-O0")
    m = Model.of(load(str(Path(__file__).parent.parent / name), {}), "riscv")
    red = reduction(m.system)
    for por in (False, True):
        ample = red.ample if por and red.sites else None
        py = explore(m.system, budget=Budget(300_000), ample=ample)
        sym = canon(m.system, m.program)
        nat = explore_native(m.system, budget=Budget(300_000), canon=sym, reduction=red,
                             symmetry=False, por=por)  # fmt: skip
        assert (nat.complete, len(nat.states), nat.transitions, nat.found) == (
            py.complete, len(py.states), py.transitions, py.found)  # fmt: skip
        for f in py.found.values():
            assert nat.path(f.state) == py.path(f.state)


FAMILY = """
model riscv
param N = 2
frame A, B
page V -> A rw
var done = 0
core init {
    pte V := invalid
    ipi cpu[*] rf(V)
    sfence.vma V
    await done == N
    complete V
    free A
}
core cpu[1..N] {
    read V
}
handler rf(p) {
    FENCE
    done += 1
}
"""


@pytest.mark.parametrize("fence", ["sfence.vma p", "skip"])
def test_symmetry_under_riscv_keeps_the_verdict(fence: str) -> None:
    """A family is reduced under `riscv` as under `arm`: fewer states, the same kinds."""
    checked = load_text(FAMILY.replace("FENCE", fence), "fam.tlb", [])
    on = check_spec(checked, "riscv", engine="explicit")
    off = check_spec(checked, "riscv", engine="explicit", symmetry=False)
    assert on.kinds == off.kinds and on.states < off.states
    assert (on.kinds == ()) == (fence != "skip")


@pytest.mark.slow
@pytest.mark.skipif(not available(), reason="no C compiler")
def test_native_symmetric_search_is_the_python_one() -> None:
    os.environ.setdefault("TLBCHECK_NATIVE_OPT", "-O0")
    m = Model.of(load_text(FAMILY.replace("FENCE", "skip"), "fam.tlb", []), "riscv")
    sym = canon(m.system, m.program)
    assert sym.fn is not None  # the cpu family is reduced
    red = reduction(sym.system or m.system)
    system = sym.system or m.system
    py = explore(system, budget=Budget(300_000), canon=sym.fn, twins=sym.twins, ample=red.ample)
    nat = explore_native(system, budget=Budget(300_000), canon=sym, reduction=red,
                         symmetry=True, por=True)  # fmt: skip
    assert (nat.complete, len(nat.states), nat.transitions, nat.found) == (
        py.complete, len(py.states), py.transitions, py.found)  # fmt: skip
