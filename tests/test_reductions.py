"""Reductions of the explicit search: symmetry over core families, partial-order
reduction, stopping at the first problem.  A reduction may only shrink the search:
verdicts, kinds and traces stay those of the unreduced search."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tlb_files

from verifier import api
from verifier.api import check_file, check_spec, expected_models
from verifier.ir.system import System
from verifier.lang.frontend import load, load_text
from verifier.run.budget import LimitReached
from verifier.run.model import Model
from verifier.run.result import Result
from verifier.search.explicit import explore
from verifier.search.por import reduction
from verifier.search.symmetry import canon, families

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

PING = """spec "responders record their ack in their own word and ping the initiator"
param N = 2
frame A, B
page V -> A rw
var done[cpu] = 0
core init {
    pte V := B rw
    fence
    ipi cpu[*] flush(V)
    complete V
}
core cpu[1..N] {
    read V
    done[self] := 1
    ipi init poke
}
handler flush(p) {
    invlpg p
}
handler poke {
    skip
}
expect race stale-translation
"""


def _model(text: str, model: str = "tso", name: str = "t.tlb") -> Model:
    return Model.of(load_text(text, name, []), model)


def _traces(r: Result) -> dict[str, list[dict[str, object]]]:
    return {t.kind: [s.to_json() for s in t.steps] for t in r.traces}


def _same_with_and_without(path: Path, model: str) -> tuple[Result, Result]:
    """Symmetry (``a`` vs ``b``), and partial-order reduction on top of either (``c``
    and ``d``), change neither verdict, kinds nor traces; each only removes states."""
    (a,) = check_file(str(path), [model], symmetry=True, por=False)
    (b,) = check_file(str(path), [model], symmetry=False, por=False)
    (c,) = check_file(str(path), [model], symmetry=True, por=True)
    (d,) = check_file(str(path), [model], symmetry=False, por=True)
    for r in (b, c, d):
        assert (r.verdict, r.kinds) == (a.verdict, a.kinds), r.reductions
        assert _traces(r) == _traces(a), (
            f"{r.reductions}: a reduced search must find the same traces"
        )
    assert c.states <= a.states <= b.states and d.states <= b.states
    return a, b


# ---------------------------------------------------------------- which families


def _why(text: str) -> dict[str, str]:
    return {f.name: f.why for f in families(_model(text).program)}


def test_identical_responders_are_reduced() -> None:
    text = (EXAMPLES / "eager_fenced.tlb").read_text()
    assert _why(text) == {"cpu": ""}
    assert _why(PING) == {"cpu": ""}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (("ipi cpu[*] flush(V)", "ipi cpu[1] flush(V)"), "init treats cpu[1] and cpu[2]"),
        (("done[self] := 1", "done[self] := self"), "run different code"),
        (("done[self] := 1", "done[cpu[1]] := 1"), "names another instance's word"),
        (("complete V", "complete V\n    r := done[cpu[2]]"), "init names a word"),
        (("read V", "await done[self] == 0"), "await"),
    ],
)
def test_what_breaks_symmetry(change: tuple[str, str], why: str) -> None:
    text = PING.replace(*change)
    assert text != PING
    assert why in _why(text)["cpu"]
    assert canon(_model(text).system, _model(text).program).fn is None


def test_one_instance_is_not_reported() -> None:
    r = check_spec(load_text(PING.replace("N = 2", "N = 1"), "t.tlb", []), "sc")
    assert not [x for x in r.reductions if "symmetry" in x]


# ---------------------------------------------------------------- canonical form


def _permute(system: System, s: tuple[int, ...], perm: dict[int, int]) -> tuple[int, ...]:
    """Rename the instances of `cpu` by ``perm`` (instance index -> instance index), by
    field names: per-core fields, the per-core words, and store-buffer kinds naming an
    instance's IPIs or words."""
    lay = system.meta["layout"]
    names = [f.name for f in system.fields]
    where = {n: k for k, n in enumerate(names)}

    def rename(name: str) -> str:
        for a, b in perm.items():
            for old, new in ((f"cpu[{a}].", f"cpu[{b}]."), (f"mem.done[{a}]", f"mem.done[{b}]")):
                if name.startswith(old):
                    return new + name[len(old) :]
        return name

    cores = {c: core.name for c, core in enumerate(lay.prog.cores)}
    by_name = {v: k for k, v in cores.items()}
    kind_of: dict[int, int] = {}
    for (sender, pc), code in lay.ipi_codes.items():
        kind_of[code] = lay.ipi_codes[(by_name[rename(cores[sender] + ".")[:-1]], pc)]
    words = [w.name for w in lay.prog.words]
    for a, w in enumerate(words):
        kind_of[a + 1] = words.index(rename("mem." + w)[4:]) + 1
    out = [0] * len(s)
    for k, v in enumerate(s):
        if ".sb[" in names[k] and names[k].endswith(".kind"):
            v = kind_of.get(v, v)
        out[where[rename(names[k])]] = v
    return tuple(out)


@pytest.mark.parametrize("model", ["sc", "tso"])
def test_canonical_form_is_one_per_orbit(model: str) -> None:
    m = _model(PING, model)
    sym = canon(m.system, m.program)
    assert sym.fn is not None
    full = explore(m.system, max_states=200_000)
    reduced = explore(m.system, max_states=200_000, canon=sym.fn)
    assert full.complete and reduced.complete
    keys = {sym.fn(bytes(s)) for s in full.states}
    assert len(keys) == len(reduced.states) < len(full.states)
    swap = {1: 2, 2: 1}
    moved = 0
    for s in full.states[::7]:
        t = _permute(m.system, tuple(s), swap)
        moved += t != tuple(s)
        assert sym.fn(bytes(t)) == sym.fn(bytes(s))
    assert moved > 100


def test_symmetry_shrinks_eager_by_about_n_factorial() -> None:
    a, b = _same_with_and_without(EXAMPLES / "eager_fenced.tlb", "tso")
    assert a.reductions == ("symmetry over cpu",)  # por=False
    assert b.reductions == ()
    assert b.states > 1.8 * a.states  # N = 2


# ---------------------------------------------------------------- every spec


def _cases() -> list[object]:
    quick = {
        "eager_fenced",
        "eager_missing_fence",
        "invalidate_before_update",
        "ipi_all_cores",
        "shootdown_irqoff_hang",
    }
    files = tlb_files(ROOT / "specs", "*/*.tlb") + tlb_files(EXAMPLES)
    out: list[object] = []
    for f in files:
        for model in expected_models(load(str(f), [])):
            marks = [] if f.stem in quick and model != "pso" else [pytest.mark.slow]
            out.append(pytest.param(f, model, id=f"{f.parent.name}/{f.stem}.{model}", marks=marks))
    return out


@pytest.mark.parametrize(("path", "model"), _cases())
def test_reductions_keep_kinds_and_traces(path: Path, model: str) -> None:
    _same_with_and_without(path, model)


# ---------------------------------------------------------------- partial-order reduction

LOCAL = """spec "workers count in registers; the initiator remaps without a shootdown"
param N = 2
frame A, B
page V -> A rw
core init {
    pte V := B rw
    fence
    complete V
}
core cpu[1..N] {
    read V
    r := 1
    r := r + 1
    r := r + 1
    read V
}
expect race stale-translation
"""


def test_por_removes_interleavings_of_core_local_steps() -> None:
    checked = load_text(LOCAL, "t.tlb", [])
    on = check_spec(checked, "tso", symmetry=False)
    off = check_spec(checked, "tso", symmetry=False, por=False)
    assert on.states < 0.9 * off.states, (on.states, off.states)
    assert (on.kinds, _traces(on)) == (off.kinds, _traces(off))
    assert any(x.startswith("partial-order reduction at ") for x in on.reductions)
    assert not any("partial-order" in x for x in off.reductions)


def test_the_search_for_shortest_traces_says_what_it_stored() -> None:
    """An unsafe spec with POR is searched again without it for shortest traces: the
    result (and the verdict line) says how many states that search stored; no second
    search, no note (a safe spec, or --no-por)."""
    from verifier.cli.check import verdict_line
    from verifier.engine import RETRACED

    checked = load_text(LOCAL, "t.tlb", [])
    on = check_spec(checked, "tso", symmetry=False, engine="explicit")
    off = check_spec(checked, "tso", symmetry=False, por=False, engine="explicit")
    again = [x for x in on.reductions if x.startswith(RETRACED)]
    assert len(again) == 1 and int(again[0].removeprefix(RETRACED).split()[0]) > 0
    assert "[por; shortest traces: " in verdict_line(on, color=False)
    assert not any(x.startswith(RETRACED) for x in off.reductions)
    safe = check_spec(load(str(EXAMPLES / "eager_fenced.tlb"), []), "tso")
    assert not any(x.startswith(RETRACED) for x in safe.reductions)


@pytest.mark.parametrize("path", tlb_files(EXAMPLES), ids=lambda p: p.stem)
def test_no_await_site_is_ample(path: Path) -> None:
    m = Model.of(load(str(path), []), "pso")
    red = reduction(m.system)
    assert red.sites
    for cmd in m.system.commands:
        if (cmd.core, cmd.site) in red.at:
            assert cmd.action != "await", cmd.text


def _generated(seeds: range, slow: bool) -> list[object]:
    marks = [pytest.mark.slow] if slow else []
    return [
        pytest.param(s, m, id=f"seed{s}-{m}", marks=marks) for s in seeds for m in ("sc", "pso")
    ]


@pytest.mark.parametrize(
    ("seed", "model"), _generated(range(12), False) + _generated(range(2000, 2150), True)
)
def test_por_on_generated_specs(seed: int, model: str) -> None:
    """Specs of the trust issue's generator (every statement form of the language):
    with and without partial-order reduction, the same kinds and traces."""
    from oracle.gen import gen_checked

    _, text, checked = gen_checked(seed)
    on = check_spec(checked, model, max_states=200_000, timeout=60)
    off = check_spec(checked, model, max_states=200_000, timeout=60, por=False)
    if "inconclusive" in (on.verdict, off.verdict):
        pytest.skip("not decided within the test's limits")
    assert (on.verdict, on.kinds) == (off.verdict, off.kinds), text
    assert _traces(on) == _traces(off), text
    assert on.states <= off.states


def test_an_empty_store_buffer_blocks_its_drains() -> None:
    """A drain needs its buffer's first slot nonzero; the commands outside the core's
    code only shift slots down and clear the last, so an empty buffer stays empty and
    blocks the drains.  A word another core stores to is not closed that way."""
    from verifier.search.por import _zero_closed, nonzero

    m = Model.of(load(str(EXAMPLES / "lazy_generation.tlb"), []), "pso")
    names = [f.name for f in m.system.fields]
    drain = next(c for c in m.system.commands if c.action == "drain" and c.core == 1)
    first = names.index("cpu[1].sb[0].kind")
    assert first in nonzero(drain.guard)

    def outside(g: int) -> list:  # type: ignore[type-arg]
        return [
            c for c in m.system.commands if any(f == g for f, _ in c.updates) and c.site is None
        ]

    zeros = _zero_closed(first, outside)
    assert zeros == {names.index(f"cpu[1].sb[{i}].kind") for i in range(len(zeros))}
    assert len(zeros) > 1

    def everyone(g: int) -> list:  # type: ignore[type-arg]
        return [c for c in m.system.commands if any(f == g for f, _ in c.updates)]

    assert _zero_closed(first, everyone) is None  # the core's own store fills it


def test_por_keeps_a_hang() -> None:
    path = str(EXAMPLES / "concurrent_shootdowns_irqoff.tlb")
    (on,) = check_file(path, ["pso"])
    (off,) = check_file(path, ["pso"], por=False)
    assert on.kinds == off.kinds == ("hang",)
    assert on.states < off.states
    assert _traces(on) == _traces(off)


def test_por_traces_not_rebuilt_within_the_limit_say_so() -> None:
    """The shortest traces of a reduced run come from a search without the reduction;
    when that one reaches the state limit the reduced run's own trace is kept (a real
    execution that replays) and the output says it may not be shortest."""
    path = str(EXAMPLES / "concurrent_shootdowns_irqoff.tlb")
    (on,) = check_file(path, ["pso"])
    (off,) = check_file(path, ["pso"], por=False)
    (r,) = check_file(path, ["pso"], max_states=(on.states + off.states) // 2)
    assert (r.verdict, r.kinds, r.states) == ("unsafe", ("hang",), on.states)
    assert any(x.startswith("traces may not be shortest") for x in r.reductions)
    assert api.replay_trace(r.traces[0], path).reproduced
    assert not r.traces[0].shortest and r.to_json()["shortest"] == {"hang": False}
    assert on.traces[0].shortest and off.traces[0].shortest


def test_por_trace_of_the_reduced_search_saves_replays_and_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reduced search's own trace (kept when the search for shortest ones reached
    the limit) goes through `--out`, `--svg`, `replay` and `show` like any other."""
    from verifier.cli import main as cli

    path = str(EXAMPLES / "concurrent_shootdowns_irqoff.tlb")
    (on,) = check_file(path, ["pso"])
    (off,) = check_file(path, ["pso"], por=False)
    monkeypatch.chdir(tmp_path)
    limit = str((on.states + off.states) // 2)
    args = ["check", path, "--model", "pso", "--max-states", limit, "--out", "out", "--svg", "svg"]
    assert cli.main(args) == 0
    (saved,) = sorted(Path("out").glob("*.json"))
    assert sorted(Path("svg").glob("*.svg"))
    assert cli.main(["replay", str(saved)]) == 0
    assert cli.main(["show", str(saved), "-o", "page.html"]) == 0
    assert "core" in Path("page.html").read_text()


def test_por_inconclusive_claims_no_depth() -> None:
    checked = load(str(EXAMPLES / "lazy_generation.tlb"), [])
    r = check_spec(checked, "pso", max_states=300)
    assert r.verdict == "inconclusive"
    assert "--no-por bounds the depth" in r.reason and "within" not in r.reason
    r = check_spec(checked, "pso", max_states=300, por=False)
    assert "within" in r.reason


# ---------------------------------------------------------------- stop at first


def test_stop_at_first_gives_the_shortest_trace_of_a_full_run() -> None:
    path = str(EXAMPLES / "eager_missing_fence.tlb")
    (full,) = check_file(path, ["tso"], por=False)  # --stop-at-first runs without it
    (first,) = check_file(path, ["tso"], stop_at_first=True)
    assert first.verdict == "unsafe" and first.expectation_met
    assert first.reason == "stopped at the first problem"
    assert first.kinds and set(first.kinds) < set(full.kinds)
    assert first.states < full.states
    for kind, steps in _traces(first).items():
        assert steps == _traces(full)[kind]


def test_stop_at_first_on_a_safe_spec_explores_everything() -> None:
    path = str(EXAMPLES / "eager_fenced.tlb")
    (full,) = check_file(path, ["tso"], por=False)  # --stop-at-first runs without it
    (first,) = check_file(path, ["tso"], stop_at_first=True)
    assert (first.verdict, first.states, first.reason) == ("safe", full.states, "")
    assert "no partial-order reduction: --stop-at-first wants a shortest trace" in first.reductions


def test_stop_at_first_disagrees_with_expect_safe() -> None:
    text = (EXAMPLES / "eager_missing_fence.tlb").read_text()
    text = "\n".join(x for x in text.splitlines() if not x.startswith("expect"))
    r = check_spec(load_text(text + "\nexpect safe\n", "t.tlb", []), "tso", stop_at_first=True)
    assert r.verdict == "unsafe" and not r.expectation_met


def test_stop_at_first_at_a_full_store_buffer_is_inconclusive() -> None:
    """The first problem may be the store-buffer bound, which is not a verdict: the run
    stays inconclusive, as the full search would be."""
    spec = load_text("var x = 0\ncore c { loop { x := 1 } }\n", "t.tlb", [])
    r = check_spec(spec, "tso", stop_at_first=True)
    assert r.verdict == "inconclusive" and not r.expectation_met
    assert "stopped at the first problem" in r.reason and "option buffer" in r.reason


def test_stop_at_first_without_traces_is_inconclusive(monkeypatch: pytest.MonkeyPatch) -> None:
    """A limit reached while building the traces of a stopped search leaves no trace to
    show: the verdict is inconclusive, not an `unsafe` with nothing behind it."""

    def out_of_time(*_args: object, **_kw: object) -> list[object]:
        raise LimitReached("timeout after 1 s (building traces)")

    monkeypatch.setattr(api, "traces_of", out_of_time)
    spec = load(str(EXAMPLES / "eager_missing_fence.tlb"), [])
    r = check_spec(spec, "tso", stop_at_first=True)
    assert (r.verdict, r.traces, r.expectation_met) == ("inconclusive", (), False)
    assert r.reason.startswith("stopped at the first problem; timeout after 1 s (building traces)")


# ---------------------------------------------------------------- command line


def _cli(
    *args: str, command: tuple[str, ...] = ("check", "-q")
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verifier", *command, "--no-color", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_cli_says_which_families_were_reduced() -> None:
    path = str(EXAMPLES / "eager_fenced.tlb")
    on, off = _cli(path), _cli(path, "--no-symmetry")
    assert on.returncode == off.returncode == 0, on.stderr + off.stderr
    assert "[symmetry: cpu]" in on.stdout
    assert "symmetry" not in off.stdout
    states = [int(x.split(" states")[0].split()[-1]) for x in (on.stdout, off.stdout)]
    assert states[0] < states[1]


def test_cli_no_por() -> None:
    path = str(EXAMPLES / "lazy_generation.tlb")
    on, off = _cli(path, "--model", "pso"), _cli(path, "--model", "pso", "--no-por")
    assert on.returncode == off.returncode == 0, on.stderr + off.stderr
    assert "[por]" in on.stdout and "[por]" not in off.stdout
    states = [int(x.split(" states")[0].split()[-1]) for x in (on.stdout, off.stdout)]
    assert states[0] < states[1]


def test_suite_reduction_options() -> None:
    """`tlbcheck suite --no-por --no-symmetry`: the same verdicts from more states."""
    spec = str(EXAMPLES / "eager_fenced.tlb")
    runs = []
    for extra in ([], ["--no-por", "--no-symmetry"]):
        p = _cli(spec, *extra, command=("suite",))
        assert p.returncode == 0, p.stdout + p.stderr
        row = next(x for x in p.stdout.splitlines() if x.startswith("ok"))
        runs.append(int(row.split()[-2]))
    assert runs[0] < runs[1]


def test_cli_stop_at_first() -> None:
    r = _cli(str(EXAMPLES / "eager_missing_fence.tlb"), "--model", "tso", "--stop-at-first")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "unsafe" in r.stdout and "stopped at the first problem" in r.stdout


def test_permutations_of_three_instances_share_one_canonical_form() -> None:
    m = _model(PING.replace("N = 2", "N = 3"), "tso")
    sym = canon(m.system, m.program)
    assert sym.fn is not None
    ex = explore(m.system, max_states=3_000)
    for s in ex.states[::50]:
        forms = {
            sym.fn(bytes(_permute(m.system, tuple(s), dict(zip((1, 2, 3), p, strict=True)))))
            for p in itertools.permutations((1, 2, 3))
        }
        assert forms == {sym.fn(bytes(s))}
