"""Limits that hold in every phase (issue 14): the run's budget, the bound on unrolling,
validated limit options, and Ctrl-C on a parallel suite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from verifier.api import check_spec
from verifier.cli import main as cli
from verifier.ir.limits import MAX_INSTRUCTIONS
from verifier.ir.lower import lower, source_text
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load_text
from verifier.machine.semantics import build
from verifier.run.budget import Budget, LimitReached, rss_mb
from verifier.run.compile import compile_system
from verifier.search.explicit import explore

ROOT = Path(__file__).resolve().parent.parent

SAFE = """spec "tiny"
frame A, B
page V -> A rw
core c0 {
    pte V := B rw
    fence
    invlpg V
    read V
}
"""


def straight_line(n: int) -> str:
    body = "\n".join("    read V" if i % 2 == 0 else "    write V" for i in range(n))
    return f'spec "long"\nframe A, B\npage V -> A rw\ncore c0 {{\n{body}\n}}\n'


# ---------------------------------------------------------------- the budget


def test_budget_raises_past_its_deadline_naming_the_phase() -> None:
    b = Budget(timeout=0.001)
    b.phase = "building the machine"
    time.sleep(0.01)
    with pytest.raises(LimitReached, match=r"timeout after 0\.001 s \(building the machine\)"):
        b.check()


def test_budget_memory_limit() -> None:
    b = Budget(max_memory=1.0)
    assert rss_mb() > 1.0
    with pytest.raises(LimitReached, match="memory limit of 1 MB"):
        b.check()


def test_stride_grows_with_a_fast_loop_and_starts_small() -> None:
    b = Budget(timeout=60)
    assert b.stride(0) == 1
    strides = []
    done = 0
    for _ in range(6):
        done += 1000
        strides.append(b.stride(done))
    assert strides[-1] > 1  # a fast loop checks less often than every item


@pytest.mark.parametrize(
    "budget, reason",
    [
        (Budget(timeout=0.05), "timeout after 0.05 s"),
        (Budget(max_memory=1.0), "memory limit of 1 MB"),
    ],
)
def test_a_limit_in_lowering_or_building_is_inconclusive(budget: Budget, reason: str) -> None:
    """A long straight-line core: the limit is reached before the search begins, and
    the result says so (it used to run the whole build first)."""
    checked = load_text(straight_line(1500), "long.tlb", [])
    r = check_spec(checked, "pso", timeout=budget.timeout, max_memory=budget.max_memory)
    assert r.verdict == "inconclusive"
    assert reason in r.reason
    assert any(p in r.reason for p in ("lowering", "building the machine", "compiling"))
    assert r.states == 0


def test_search_reports_the_memory_limit() -> None:
    checked = load_text(SAFE, "tiny.tlb", [])
    r = check_spec(checked, "pso", max_memory=1.0)
    assert r.verdict == "inconclusive" and "memory limit of 1 MB" in r.reason


def test_commands_are_compiled_when_first_reached() -> None:
    """A long program compiles only the code its search reaches (compiling it all at
    once took seconds and gigabytes before any limit was checked)."""
    system = build(lower(load_text(straight_line(400), "long.tlb", [])), "pso")
    compiled = compile_system(system)
    assert len(compiled.site_succ[0]) == 0 and len(compiled.step) == 0
    ex = explore(system, max_states=20)
    assert not ex.complete
    assert len(ex.states) < 40
    assert len(compiled.site_succ[0]) == 0  # a fresh compile: nothing looked up yet
    fresh = compile_system(system)
    assert fresh.step[3] is not None and len(fresh.step) == 1


def test_source_text_reads_presplit_lines() -> None:
    from verifier.lang.span import Span

    lines = ["core c0 {", "    read V // a comment", "}"]
    assert source_text(lines, Span("f", 2, 5, 2, 11)) == "read V"
    assert source_text("\n".join(lines), Span("f", 2, 5, 2, 11)) == "read V"


# ---------------------------------------------------------------- unrolling


@pytest.mark.parametrize(
    "body, where, what, size",
    [
        (
            "core c0 {\n  read V\n  repeat 1024 { repeat 1024 { repeat 1024 { read V } } }\n}\n",
            (6, 3),
            "`repeat 1024`",
            1 + 1024**3,
        ),
        (
            "core w[0..63] {\n  for a in w[*] { for b in w[*] { for c in w[*] { read V } } }\n}\n",
            (5, 3),
            "`for a` over 64 cores",
            64**3,
        ),
    ],
)
def test_unrolling_is_bounded_with_a_located_error(
    body: str, where: tuple[int, int], what: str, size: int
) -> None:
    checked = load_text(f'spec "big"\nframe A\npage V -> A rw\n{body}', "big.tlb", [])
    with pytest.raises(SpecError) as err:
        lower(checked)
    d = err.value.diagnostics[0]
    assert (d.span.line, d.span.col) == where
    assert what in d.message and str(size) in d.message and str(MAX_INSTRUCTIONS) in d.message
    assert "^" in str(err.value)  # shown with the line and a caret


def test_handlers_copied_on_every_core_count_too() -> None:
    reads = "\n".join("  read V" for _ in range(2000))
    text = 'spec "wide"\nframe A\npage V -> A rw\ncore w[0..63] {\n  read V\n}\n'
    text += f"handler h {{\n{reads}\n}}\n"
    with pytest.raises(SpecError, match=f"the limit is {MAX_INSTRUCTIONS}"):
        lower(load_text(text, "wide.tlb", []))


def test_a_large_but_bounded_unrolling_still_lowers() -> None:
    text = (
        'spec "ok"\nframe A\npage V -> A rw\ncore c0 {\n  repeat 100 { repeat 100 { read V } }\n}\n'
    )
    prog = lower(load_text(text, "ok.tlb", []))
    assert len(prog.cores[0].code) > 10_000


# ---------------------------------------------------------------- options


@pytest.mark.parametrize(
    "args",
    [
        ["--max-states", "-5"],
        ["--max-states", "0"],
        ["--max-states", "1.5"],
        ["--timeout", "nan"],
        ["--timeout", "-1"],
        ["--timeout", "inf"],
        ["--max-memory", "0"],
        ["--depth", "-1"],
    ],
)
def test_bad_limit_options_are_usage_errors(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "t.tlb"
    spec.write_text(SAFE)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["check", str(spec), *args])
    assert exit_.value.code == 2
    assert args[0] in capsys.readouterr().err
    if args[0] != "--depth":
        with pytest.raises(SystemExit) as exit_:
            cli.main(["suite", str(spec), *args])
        assert exit_.value.code == 2


def test_max_memory_reaches_the_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "t.tlb"
    spec.write_text(SAFE)
    assert cli.main(["check", str(spec), "--max-memory", "1", "-q"]) == 3
    assert "memory limit of 1 MB reached" in capsys.readouterr().out


# ---------------------------------------------------------------- Ctrl-C


@pytest.mark.slow
def test_ctrl_c_stops_a_parallel_suite_at_once(tmp_path: Path) -> None:
    for i in range(4):
        (tmp_path / f"s{i}.tlb").write_text(straight_line(1500))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    left = tmp_path / "left.txt"
    argv = ["suite", str(tmp_path), "--jobs", "2", "--unfinished", str(left)]
    p = subprocess.Popen(
        [sys.executable, "-m", "verifier", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline:  # wait until the jobs run
        time.sleep(0.2)
        kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True)
        if len(kids.stdout.split()) >= 2:
            break
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=20)  # it used to wait for every job to finish
    finally:
        p.kill()
    assert p.returncode == 130, err
    assert "runs not finished, listed in" in err
    assert "s0.tlb pso" in left.read_text() and "s3.tlb pso" in left.read_text()


def test_interrupted_lists_unfinished_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    from verifier.suite import runner

    jobs = [runner.Job(f"s{i}.tlb", "pso", "safe") for i in range(3)]
    calls = []

    def fake(job: runner.Job, limits: runner.Limits | None = None) -> runner.Outcome:
        calls.append(job)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return runner.Outcome(job.path, job.model, job.expected, runner.OK)

    monkeypatch.setattr(runner, "run_job", fake)
    with pytest.raises(runner.Interrupted) as stop:
        runner.run_jobs(jobs)
    assert [j.path for j in stop.value.unfinished] == ["s1.tlb", "s2.tlb"]


def test_lowering_checks_its_budget() -> None:
    calls = []
    lower(load_text(straight_line(3000), "long.tlb", []), lambda: calls.append(1))
    assert calls  # called now and then while emitting

    def stop() -> None:
        raise LimitReached("timeout after 1 s (lowering)")

    with pytest.raises(LimitReached):
        lower(load_text(straight_line(3000), "long.tlb", []), stop)


# ---------------------------------------------------------------- nesting


def _nested_ifs(n: int) -> str:
    body = "    a := x\n" + "    if a == 0 {\n" * n + "    read V\n" + "    }\n" * n
    return f'spec "deep"\nframe A\npage V -> A rw\nvar x = 0\ncore c0 {{\n{body}}}\n'


def _sum(n: int) -> str:
    terms = " + ".join("a" for _ in range(n + 1))
    body = f"    a := x\n    r := {terms}\n    assert r == 0\n"
    return f'spec "sum"\nframe A\npage V -> A rw\nvar x = 0\ncore c0 {{\n{body}}}\n'


def test_deep_nesting_is_a_located_language_limit() -> None:
    from verifier.lang.nesting import MAX_BLOCKS

    with pytest.raises(SpecError) as err:
        load_text(_nested_ifs(400), "deep.tlb", [])
    d = err.value.diagnostics[0]
    assert (d.span.line, d.span.col) == (7 + MAX_BLOCKS, 5)  # the first `if` too deep
    assert f"at most {MAX_BLOCKS} blocks deep" in d.message


def test_a_long_sum_is_a_located_language_limit() -> None:
    from verifier.lang.nesting import MAX_EXPR

    with pytest.raises(SpecError) as err:
        load_text(_sum(3000), "sum.tlb", [])
    d = err.value.diagnostics[0]
    assert (d.span.line, d.span.col) == (7, 10)  # the whole expression
    assert f"more than {MAX_EXPR} operators deep" in d.message


@pytest.mark.parametrize("engine", ["explicit", "smt"])
def test_nesting_up_to_the_limits_runs_end_to_end(engine: str) -> None:
    """What the limits allow goes through every pass (checker, lowering, the machine,
    the compiled code, z3, the printer) without Python's recursion limit showing."""
    from verifier.lang.nesting import MAX_BLOCKS, MAX_EXPR
    from verifier.lang.printer import format_checked

    for text in (_nested_ifs(MAX_BLOCKS), _sum(MAX_EXPR)):
        checked = load_text(text, "ok.tlb", [])
        format_checked(checked)
        for model in ("sc", "pso"):
            r = check_spec(checked, model, engine=engine, depth=3)
            assert r.verdict in ("safe", "inconclusive")


def test_a_limit_before_smt_is_inconclusive() -> None:
    checked = load_text(straight_line(1500), "long.tlb", [])
    r = check_spec(checked, "pso", engine="smt", timeout=0.05)
    assert r.verdict == "inconclusive" and "timeout after 0.05 s" in r.reason


def test_objects_frozen_while_building_are_released() -> None:
    import gc

    check_spec(load_text(SAFE, "tiny.tlb", []), "pso")
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
