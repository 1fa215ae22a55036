"""The timed run (`tlbcheck cost`): calibration, what it counts, sharing, tables, CLI, chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import tlb_files

from verifier.cli.cost import instances
from verifier.cli.main import main
from verifier.cost.table import load_table
from verifier.cost.timing import PHASES, timed_run
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load, load_text
from verifier.report.cost_chart import Point, Series, render_cost_chart

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
FULL_FENCE = str(SPECS / "eager" / "full_fence.tlb")
TABLE = load_table(None)

# the background's measured shootdown totals (µs) by core count
PUBLISHED = {2: 1.2, 4: 1.6, 16: 4.0, 64: 14.0}


def run_at(path: str, cores: int, **kw: object):  # type: ignore[no-untyped-def]
    checked = load(path, [f"N={cores - 1}"], max_cores=1024)
    assert len(checked.cores) == cores
    return timed_run(checked, TABLE, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("cores", sorted(PUBLISHED))
def test_calibration_eager_shootdown_within_15_percent(cores: int) -> None:
    r = run_at(FULL_FENCE, cores)
    assert r.finished and r.note == ""
    published = PUBLISHED[cores] * 1000
    assert abs(r.latency_ns - published) <= 0.15 * published, (cores, r.latency_ns)


def test_eager_counts_grow_with_receivers() -> None:
    r = run_at(FULL_FENCE, 16)
    assert (r.ipis, r.interrupted, r.invalidations, r.fences, r.atomics) == (15, 15, 16, 1, 15)
    assert r.initiator == "init"
    assert sum(v for _, v in r.phases) == pytest.approx(r.latency_ns)
    assert dict(r.phases)["wait"] > 0.9 * r.latency_ns  # the initiator mostly spins on acks


def test_batching_amortises_the_fixed_cost() -> None:
    """Two pages in one IPI cost little more than one page; two shootdowns cost twice."""
    one = timed_run(load(FULL_FENCE, ["N=3"]), TABLE)
    batched = timed_run(load(str(SPECS / "eager" / "range_flush.tlb"), ["N=3"]), TABLE)
    twice = timed_run(load_text(TWO_SHOOTDOWNS, "two.tlb", ["N=3"]), TABLE)
    assert batched.ipis == one.ipis == 3 and twice.ipis == 6
    assert batched.latency_ns < 1.2 * one.latency_ns
    assert twice.latency_ns > 1.8 * one.latency_ns


TWO_SHOOTDOWNS = """
param N = 1
frame A0, A1
page V0 -> A0 rw
page V1 -> A1 rw
var acks = 0
core init {
    pte V0 := invalid
    fence
    ipi cpu[*] flush(V0)
    invlpg V0
    await acks == N
    pte V1 := invalid
    fence
    ipi cpu[*] flush(V1)
    invlpg V1
    await acks == 2 * N
    complete V0
    complete V1
}
core cpu[1..N] { loop { read V0; read V1 } }
handler flush(p) { invlpg p; acks += 1 }
"""


def test_subset_cpumask_interrupts_fewer_cores() -> None:
    every = timed_run(load(str(SPECS / "subset" / "ipi_all_cores.tlb"), []), TABLE)
    subset = timed_run(load(str(SPECS / "subset" / "ipi_subset_misses_core.tlb"), []), TABLE)
    assert (every.ipis, every.interrupted) == (2, 2)
    assert (subset.ipis, subset.interrupted) == (1, 1)
    assert subset.latency_ns < every.latency_ns


def test_lazy_generation_sends_no_ipi_and_stays_flat() -> None:
    small = run_at(str(SPECS / "lazy" / "generation.tlb"), 4)
    big = run_at(str(SPECS / "lazy" / "generation.tlb"), 64)
    assert small.ipis == big.ipis == 0 and big.invalidations == 63
    assert big.latency_ns < 2 * small.latency_ns


def test_shared_commands_give_the_run_with_every_command_built() -> None:
    lazy = str(SPECS / "lazy" / "generation.tlb")  # per-core words: seen[self]
    for path, n in ((FULL_FENCE, 5), (str(SPECS / "eager" / "self_ipi_all.tlb"), 3), (lazy, 4)):
        checked = load(path, [f"N={n}"])
        assert timed_run(checked, TABLE) == timed_run(checked, TABLE, share=False)


def test_run_is_linear_in_cores() -> None:
    r64, r256 = run_at(FULL_FENCE, 64), run_at(FULL_FENCE, 256)
    assert r256.finished and r256.steps <= 4.5 * r64.steps
    # beyond one socket (64 cores), remote acknowledgements pay the cross-socket term
    per_receiver = TABLE["coherence.line_transfer"] + TABLE["memory.atomic"]
    remote = 256 - 64
    extra = r256.latency_ns - r64.latency_ns - per_receiver * (256 - 64)
    assert extra == pytest.approx(remote * TABLE["topology.cross_socket_transfer"])


def test_initiator_that_never_finishes_says_where() -> None:
    r = timed_run(load(str(SPECS / "eager" / "ack_count_mismatch.tlb"), []), TABLE)
    assert not r.finished
    assert r.note == "the initiator never finishes: blocked at `await acks == N` (line 23)"


def test_declared_range_still_stops_the_run() -> None:
    text = TWO_SHOOTDOWNS.replace("var acks = 0", "var acks : 0..3 = 0")
    r = timed_run(load_text(text, "narrow.tlb", ["N=4"]), TABLE)
    assert not r.finished and r.note.startswith("the run stopped: range at line")


def test_default_range_is_lifted_for_counters() -> None:
    r = run_at(FULL_FENCE, 32)  # 31 acknowledgements: beyond the default 0..15
    assert r.finished and r.atomics == 31


@pytest.mark.parametrize("path", [str(p) for p in tlb_files(SPECS, "*/*.tlb")])
def test_every_spec_runs(path: str) -> None:
    r = timed_run(load(path, []), TABLE)
    assert r.finished or r.note.startswith(("the initiator never finishes", "the run stopped"))
    assert r.latency_ns >= 0


def test_user_table_overrides_one_figure(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text("[ipi]\ndelivery = 2000\n")
    mine = load_table(str(f))
    assert mine["ipi.delivery"] == 2000 and mine["tlb.invlpg"] == TABLE["tlb.invlpg"]
    checked = load(FULL_FENCE, ["N=1"])
    slower = timed_run(checked, mine).latency_ns - timed_run(checked, TABLE).latency_ns
    assert slower == pytest.approx(1000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[ipi]\ndelivry = 2\n", "mine.toml:2:1: error: unknown cost 'ipi.delivry'"),
        ("[ipi]\ndelivery = -1\n", "mine.toml:2:1: error: cost 'ipi.delivery' must be a non-neg"),
        ("[ipi]\ndelivery = = 1\n", "mine.toml:2:12: error: not a TOML file"),
    ],
)
def test_bad_table_is_a_located_diagnostic(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "mine.toml"
    f.write_text(text)
    with pytest.raises(SpecError) as err:
        load_table(str(f))
    assert str(err.value).startswith(str(tmp_path / message.split(":")[0]) + message[9:])
    assert "^" in str(err.value)


def test_core_counts_map_to_the_param() -> None:
    checked, skipped, scaled = instances(FULL_FENCE, [], (2, 8), "N")
    assert scaled and [len(c.cores) for c in checked] == [2, 8] and skipped == []
    fixed, _, scaled = instances(str(SPECS / "subset" / "cpumask_fenced.tlb"), [], (2, 8), "N")
    assert not scaled and len(fixed) == 1
    given, _, scaled = instances(FULL_FENCE, ["N=4"], None, "N")
    assert not scaled and len(given[0].cores) == 5
    _, skipped, _ = instances(FULL_FENCE, [], (1, 2), "N")
    assert skipped == ["1 cores: the spec rejects N=0"]


def test_cli_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "cmp.svg"
    lazy = str(SPECS / "lazy" / "generation.tlb")
    rc = main(["cost", FULL_FENCE, lazy, "--cores", "2,4", "--json", "--plot", str(plot)])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["scaled_by"] for s in data["specs"]] == ["N", "N"]
    assert [r["cores"] for r in data["specs"][0]["runs"]] == [2, 4]
    assert set(data["specs"][0]["runs"][0]["phases_ns"]) == set(PHASES)
    svg = plot.read_text()
    assert "eager shootdown, full fence (full_fence.tlb)" in svg
    assert "lazy shootdown, generation counter (generation.tlb)" in svg


def test_cli_table_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", str(SPECS / "eager" / "ack_count_mismatch.tlb"), "--cores", "4"]) == 0
    out = capsys.readouterr().out
    assert "(!) the initiator never finishes: blocked at `await acks == N` (line 23)" in out
    assert "latency µs" in out


def test_check_prints_cost_beside_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", FULL_FENCE, "--cost", "-q", "--no-color"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "safe" in lines[0]
    assert lines[1].startswith("  cost: 1.35 µs to complete on 3 cores")


def test_bad_costs_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "t.toml"
    f.write_text("[tlb]\ninvlpg = 'fast'\n")
    assert main(["cost", FULL_FENCE, "--costs", str(f)]) == 2
    assert "must be a non-negative number" in capsys.readouterr().err


def test_chart_has_units_legend_and_hollow_unfinished_points() -> None:
    svg = render_cost_chart(
        [
            Series("a (a.tlb)", (Point(2, 1200, True), Point(64, 14000, True))),
            Series("b (b.tlb)", (Point(4, 900, False),), "initiator never finishes (hollow)"),
        ],
        "t",
    )
    assert "cores (log scale)" in svg and "latency to complete (µs, log scale)" in svg
    assert "a (a.tlb)" in svg and "b (b.tlb) — initiator never finishes (hollow)" in svg
    assert 'fill="#ffffff" stroke="#D55E00"' in svg  # the unfinished point is hollow
    assert svg == render_cost_chart(
        [
            Series("a (a.tlb)", (Point(2, 1200, True), Point(64, 14000, True))),
            Series("b (b.tlb)", (Point(4, 900, False),), "initiator never finishes (hollow)"),
        ],
        "t",
    )


def test_spec_without_cores_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A spec that declares no cores is a located error (issue 9), for `cost` as for `check`."""
    empty = tmp_path / "empty.tlb"
    empty.write_text("// nothing yet\n")
    assert main(["cost", str(empty), FULL_FENCE, "--cores", "2"]) == 2
    assert "empty.tlb:1:1: error: the spec declares no cores" in capsys.readouterr().err


def test_responder_toggling_interrupts_still_sleeps() -> None:
    """`irq off; read V; irq on` changes the core's own fields every step; the run still
    sees a loop that nothing else can observe and lets the core sleep until the IPI."""
    r = run_at(str(SPECS / "irq" / "responder_irq_windows.tlb"), 64)
    assert r.finished and r.interrupted == 63
    assert r.latency_ns == run_at(FULL_FENCE, 64).latency_ns


def test_check_cost_json_and_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", FULL_FENCE, "--cost", "--json", "--model", "sc"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result["cost"]["model"] == "sc" and result["cost"]["finished"] is True
    assert result["cost"]["ipis"] == 2


def test_update_finished_at_last_complete_even_if_core_loops_on() -> None:
    text = """
frame A, B
page V -> A rw
var acks = 0
core init {
    pte V := B rw
    fence
    ipi cpu flush(V)
    await acks == 1
    complete V
    loop { read V }
}
core cpu { loop { read V } }
handler flush(p) { invlpg p; acks += 1 }
"""
    r = timed_run(load_text(text, "loops.tlb", []), TABLE)
    assert r.finished and r.note == "" and r.initiator == "init"
    stuck = timed_run(load_text(text.replace("complete V\n", ""), "no.tlb", []), TABLE)
    assert not stuck.finished
    assert stuck.note == "the initiator never finishes: it spins forever at `read V` (line 10)"
