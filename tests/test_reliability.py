"""Limits in every phase, inputs that are not files, output that never clobbers,
standard streams, signals and tampered traces (issue 24).  The processes of
`benchmarks/reliability.py` marked quick run here too (in parallel, with a lenient
clock: this is about ending at all; the benchmark measures the overshoot)."""

from __future__ import annotations

import errno
import importlib.util
import io
import json
import os
import signal
import stat
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from verifier import api
from verifier.cli import main as cli
from verifier.cli import streams
from verifier.lang import frontend
from verifier.lang.diagnostics import SpecError
from verifier.report.files import OutputError, trace_names, unique_names, write_atomic
from verifier.run.budget import Budget, LimitReached

ROOT = Path(__file__).resolve().parent.parent


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("reliability", ROOT / "benchmarks/reliability.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["reliability"] = module
    spec.loader.exec_module(module)
    return module


rel = _bench()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("reliability")
    rel.make_inputs(d)
    return d


# ---------------------------------------------------------------- the benchmark's sample


def test_the_quick_cases_of_the_benchmark_hold(inputs: Path) -> None:
    quick = [c for c in rel.cases(10.0) if c.quick]
    assert len(quick) >= 3
    with ThreadPoolExecutor(len(quick)) as pool:
        runs = list(pool.map(lambda c: rel.run(c, inputs), quick))
    broken = {c.name: rel.judge(c, inputs, r, slack=60) for c, r in zip(quick, runs, strict=True)}
    assert not {k: v for k, v in broken.items() if v}


# ---------------------------------------------------------------- limits in every phase


BIG = rel.HEAD.format(name="big") + "core c0 {\n" + "    read V\n" * 300_000 + "}\n"
SOON = 20  # seconds: a run stopped at a 0.5 s limit ends well before this, even under load


def test_the_watchdog_stops_a_phase_that_never_checks() -> None:
    budget = Budget(None, 0.2, None)
    budget.phase = "parsing"
    start = time.monotonic()
    with pytest.raises(LimitReached, match=r"timeout after 0.2 s \(parsing\)"), budget.watch():
        frontend.load_text(BIG, "big.tlb", [])  # the parser never checks a budget
    assert time.monotonic() - start < 2


def test_the_watchdog_watches_memory_too() -> None:
    budget = Budget(None, None, 1.0)  # 1 MB: already past
    with pytest.raises(LimitReached, match=r"memory limit of 1 MB reached"), budget.watch():
        frontend.load_text(BIG, "big.tlb", [])


def test_the_watchdog_leaves_code_not_tlbchecks_alone() -> None:
    """Here (a test module), as in z3's wrappers, it waits for tlbcheck's own code."""
    budget = Budget(None, 0.05, None)
    with budget.watch():
        end = time.monotonic() + 0.6
        while time.monotonic() < end:
            pass
    with pytest.raises(LimitReached), budget.watch():
        frontend.load_text(BIG, "big.tlb", [])


def test_parsing_is_under_the_time_limit(tmp_path: Path) -> None:
    spec = tmp_path / "big.tlb"
    spec.write_text(BIG)
    start = time.monotonic()
    (r,) = api.check_file(str(spec), None, timeout=0.5)
    assert r.verdict == "inconclusive"
    assert r.reason in ("timeout after 0.5 s (reading)", "timeout after 0.5 s (parsing)")
    # far below the unbounded parse of BIG; not a speed bound (benchmarks/reliability.py
    # measures the overshoot), so a loaded machine does not fail it
    assert time.monotonic() - start < SOON


def test_suite_plans_within_the_limits(tmp_path: Path) -> None:
    """`suite` loads every spec to plan its jobs: that load holds the jobs' limits too,
    and a spec it stops is an inconclusive row naming the limit, not a hang."""
    from verifier.suite.runner import INCONCLUSIVE, Limits, plan

    (tmp_path / "big.tlb").write_text(BIG)
    start = time.monotonic()
    (planned,) = plan([tmp_path / "big.tlb"], limits=Limits(timeout=0.5))
    assert time.monotonic() - start < SOON
    assert planned.status == INCONCLUSIVE and planned.result is not None
    assert "timeout after 0.5 s (" in planned.result.reason
    assert planned.result.reason.endswith("while planning the suite")


def test_prove_names_the_real_timeout(tmp_path: Path) -> None:
    spec = tmp_path / "ipi.tlb"
    spec.write_text(rel.ipi_storm(12))
    (r,) = api.check_file(str(spec), None, timeout=1.0, engine="smt", prove=True)
    assert "timeout after 1 s" in r.reason, r.reason
    # twelve cores sending at once overflow a responder's pending IPIs: random walks
    # find it in the time left, unless the deadline passes first
    if r.verdict == "unsafe":
        assert r.kinds == ("range",) and "found by random walks" in r.reason, r.reason
    else:
        assert r.verdict == "inconclusive", r.verdict


# ---------------------------------------------------------------- inputs


@pytest.mark.parametrize(
    "path, said",
    [("/dev/zero", "is a character device"), ("", "no file named"), ("fifo", "is a FIFO")],
)
def test_special_inputs_are_refused(inputs: Path, path: str, said: str) -> None:
    with pytest.raises(SpecError, match=said):
        frontend.read_source(str(inputs / path) if path == "fifo" else path)


def test_bad_input_is_said_even_past_the_deadline(inputs: Path) -> None:
    """A timeout already passed (a slow start) does not hide that the input is bad."""
    with pytest.raises(SpecError, match="is a FIFO"):
        api.check_file(str(inputs / "fifo"), None, timeout=1.0, started=time.monotonic() - 100)


def test_input_size_is_bounded_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "x.tlb"
    spec.write_text('spec "x"\n' + "// padding\n" * 200_000)
    monkeypatch.setattr(frontend, "max_input_mb", 1.0)
    with pytest.raises(SpecError, match=r"over the input limit of 1 MB \(raise it with --max-in"):
        frontend.read_source(str(spec))
    monkeypatch.setattr(frontend, "max_input_mb", 4.0)
    assert frontend.read_source(str(spec)).startswith("spec")


# ---------------------------------------------------------------- output


def test_devices_are_written_through_never_replaced(tmp_path: Path) -> None:
    write_atomic("/dev/null", "x")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    if os.path.exists("/dev/full"):
        with pytest.raises(OutputError, match="no space left"):
            write_atomic("/dev/full", "x")
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_symlinks_fifos_and_directories_are_refused(tmp_path: Path) -> None:
    (tmp_path / "target").write_text("kept\n")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    os.mkfifo(tmp_path / "fifo")
    for name, said in (("link", "symbolic link"), ("fifo", "nobody reads"), (".", "directory")):
        with pytest.raises(OutputError, match=said):
            write_atomic(tmp_path / name, "new\n")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "target").read_text() == "kept\n"
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)


def test_trace_names_are_unique_for_any_inputs() -> None:
    both = {"src/x.tlb": "x.tlb", "src/x.spec": "x.spec"}
    assert unique_names(list(both)) == both
    names = trace_names(["a/x.tlb", "a/x.tlb", "./a/x.tlb", "b/x.tlb"])
    assert names == ["a/x", "a/x~2", "a/x~3", "b/x"]


def test_out_keeps_the_traces_of_same_stems(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(inputs / "src/x.tlb"), str(inputs / "src/x.spec"), str(inputs / "racy.tlb")]
    assert cli.main(["check", *files, files[0], "--model", "sc", "-q", "--out", str(tmp_path)]) == 0
    said = capsys.readouterr().err.count("trace written to")
    assert said == 4 == len(list(tmp_path.glob("*.json")))


# ---------------------------------------------------------------- standard streams


class _Full(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_stdout_is_exit_2_and_one_line(
    inputs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdout", _Full())
    assert cli.main(["check", str(inputs / "racy.tlb"), "--model", "sc"]) == 2
    err = capsys.readouterr().err
    assert err == "tlbcheck: error: cannot write to standard output: no space left on device\n"


def test_a_full_stderr_keeps_the_exit_code(inputs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", _Full())
    argv = ["check", str(inputs / "racy.tlb"), "--model", "sc", "--out", str(inputs / "E")]
    assert cli.main(argv) == 0  # "trace written to" was lost, nothing else


# ---------------------------------------------------------------- signals


def test_sighup_stops_like_ctrl_c(inputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def hang_up() -> None:  # once the command line handles it (else it would end pytest)
        end = time.monotonic() + 60
        while signal.getsignal(signal.SIGHUP) is not streams._raise and time.monotonic() < end:
            time.sleep(0.01)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGHUP)

    thread = threading.Thread(target=hang_up)
    thread.start()
    try:
        assert cli.main(["check", str(inputs / "long.tlb"), "-q"]) == 128 + signal.SIGHUP
    finally:
        thread.join()
    assert "tlbcheck: interrupted (SIGHUP)" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGHUP) is not streams._raise  # restored


# ---------------------------------------------------------------- tampered traces


@pytest.mark.parametrize(
    "name, said",
    [
        ("spec_text", "does not match its spec text: step"),
        ("no_core", "step 1: cpu1 `walker fill`: the trace says core 'cpu7'"),
        ("effect", "the trace says effect 'nothing at all'"),
        ("cores_cut", "its cores are cpu0; the spec's: cpu0, cpu1"),
        ("negative_line", "span.line: expected a number from 1 up, got -4"),
        ("bad_params", "the trace's params: N=1000000000000000 is out of range"),
    ],
)
def test_replay_refuses_a_tampered_trace(
    inputs: Path, name: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["replay", str(inputs / f"{name}.json")]) == 2
    err = capsys.readouterr().err
    assert said in err and "-D" not in err


def test_replay_still_reproduces_a_good_trace(
    inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["replay", str(inputs / "good.json")]) == 0
    assert "reproduces use-after-free" in capsys.readouterr().out


def test_unknown_trace_params_name_the_trace(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((inputs / "good.json").read_text())
    data["params"] = {"Q": 2}
    (tmp_path / "t.json").write_text(json.dumps(data))
    assert cli.main(["replay", str(tmp_path / "t.json")]) == 2
    err = capsys.readouterr().err
    assert "the trace's params: Q=2: the spec declares no param 'Q'" in err and "-D" not in err


def test_progress_after_the_last_state_is_no_crash(tmp_path: Path) -> None:
    """Found by the fuzzer: the search's progress asked the depth of a state past the
    last one when every state had been expanded at a check (here: after the first)."""
    spec = tmp_path / "one.tlb"
    spec.write_text(rel.HEAD.format(name="one") + "var x = 0\ncore c0 {\n    await x == 1\n}\n")
    (r,) = api.check_file(str(spec), ["sc"], progress=lambda *_: None)
    assert r.verdict == "unsafe" and r.kinds == ("hang",)
