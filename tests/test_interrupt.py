"""Ctrl-C on `check`: the progress line is ended, the counts so far (with the
breadth-first depth) and what earlier runs decided are printed; the progress line
shows the depth."""

from __future__ import annotations

import io
from typing import Any

import pytest
from conftest import EXAMPLES

from verifier.api import check_spec
from verifier.cli import check as check_cmd
from verifier.cli import main as cli
from verifier.lang.frontend import load
from verifier.report.terminal import CLEAR_LINE, Progress
from verifier.run.model import Model
from verifier.search.explicit import explore


def test_the_explicit_search_reports_its_depth() -> None:
    calls: list[tuple[Any, ...]] = []
    m = Model.of(load(str(EXAMPLES / "eager_fenced.tlb"), ["N=2"]), "pso")
    ex = explore(m.system, progress=lambda *a: calls.append(a))
    assert calls and all(len(c) == 4 for c in calls)
    states, frontier, _, depth = calls[-1]
    expanded = states - frontier
    assert depth == len(ex.path(expanded))  # the depth of the state being expanded


def test_the_progress_line_shows_the_depth_and_the_counts_stay_for_an_interrupt() -> None:
    now = [0.0]
    p = Progress(io.StringIO(), enabled=True, clock=lambda: now[0])
    assert "depth 12  frontier 7" in p.line(1000, 7, 3000, 2.0, 12)
    assert "depth" not in p.line(1000, 7, 3000, 2.0)  # a search that does not know it
    p.update(1500, 9, 4000, 14)
    now[0] = 3.0
    assert p.so_far() == "1,500 states, 4,000 transitions, breadth-first depth 14, 0:03"


def test_ctrl_c_on_check_says_how_far_it_got_and_what_was_decided(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = check_cmd.check_spec
    calls = []

    def second_is_stopped(checked: Any, model: str, **kw: Any) -> Any:
        calls.append(model)
        if len(calls) == 2:
            kw["progress"](2345, 100, 6789, 17)
            raise KeyboardInterrupt
        return real(checked, model, **kw)

    monkeypatch.setattr(check_cmd, "check_spec", second_is_stopped)
    code = cli.main(["check", str(EXAMPLES / "message_passing.tlb"), "--all-models", "-q"])
    assert code == 130
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert "message_passing.tlb  sc  safe" in lines[0]
    assert lines[2].endswith(
        "message_passing.tlb under tso after 2,345 states, 6,789 transitions, "
        "breadth-first depth 17, 0:00; not decided"
    )
    assert lines[3] == f"decided before: {EXAMPLES / 'message_passing.tlb'} sc safe"
    assert err == "tlbcheck: interrupted (SIGINT)\n" and CLEAR_LINE not in err


def test_the_search_for_shortest_traces_is_named_and_its_rate_counts_from_its_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the line is cut to the terminal's width
    now = [0.0]
    p = Progress(io.StringIO(), enabled=True, clock=lambda: now[0])
    p.update(9000, 0, 20000, 30)
    now[0] = 4.0
    p.stage("shortest traces")
    now[0] = 6.0
    line = p.line(1000, 7, 3000, now[0], 5)
    assert line.startswith("shortest traces: 1,000 states  500/s  depth 5")  # over 2 s, not 6
    assert line.endswith("0:06")  # the run's clock
    p.update(1500, 9, 4000, 6)
    assert p.so_far() == (
        "1,500 states, 4,000 transitions, breadth-first depth 6, 0:06 "
        "in the search for shortest traces"
    )


@pytest.mark.parametrize(
    "spec, n, stop_at_first, told",
    [
        ("eager_missing_fence.tlb", 2, False, ["shortest traces"]),  # unsafe, reduced by POR
        ("eager_missing_fence.tlb", 2, True, []),  # --stop-at-first: one search, no POR
        ("eager_fenced.tlb", 2, False, []),  # safe: nothing to rebuild
    ],
)
def test_check_spec_tells_when_the_search_for_shortest_traces_begins(
    spec: str, n: int, stop_at_first: bool, told: list[str]
) -> None:
    stages: list[str] = []
    counts: list[tuple[Any, ...]] = []

    def progress(*a: Any) -> None:
        counts.append((len(stages), a[0]))

    r = check_spec(
        load(str(EXAMPLES / spec), [f"N={n}"]),
        "tso",
        engine="explicit",
        progress=progress,
        stage=stages.append,
        stop_at_first=stop_at_first,
    )
    assert stages == told
    if told:  # the counts start again after it
        after = [states for st, states in counts if st == 1]
        assert r.verdict == "unsafe" and after and min(after) < max(s for _, s in counts)
