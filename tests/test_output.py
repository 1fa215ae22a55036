"""Output that is never lost or corrupt (issue 14): unique trace names, whole-or-nothing
writes, bad output places as bad input, and trace files checked on load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from verifier.cli import main as cli
from verifier.report.files import OutputError, check_target, unique_names, write_atomic

ROOT = Path(__file__).resolve().parent.parent

RACY = """spec "missing fence"
frame A, B
page V -> A rw
var done = 0

core c0 {
    pte V := B rw
    free A
}

core c1 {
    read V
}
"""


@pytest.fixture
def two_stems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Two specs with the same file name in different folders."""
    monkeypatch.chdir(tmp_path)
    for d in ("eager", "lazy"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "missing_fence.tlb").write_text(RACY)
    return ["eager/missing_fence.tlb", "lazy/missing_fence.tlb"]


def test_unique_names() -> None:
    names = unique_names(["a/x.tlb", "b/x.tlb", "c/y.tlb", "a/x.tlb"])
    assert names == {"a/x.tlb": "a/x", "b/x.tlb": "b/x", "c/y.tlb": "y"}
    assert unique_names(["p/q/x.tlb", "r/q/x.tlb"]) == {"p/q/x.tlb": "p/q/x", "r/q/x.tlb": "r/q/x"}


def test_out_never_overwrites_a_trace_of_another_spec(
    two_stems: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check", *two_stems, "--model", "sc", "--out", "traces", "-q"]) == 1
    err = capsys.readouterr().err
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert len(written) >= 2
    assert {w.split("/")[1] for w in written} == {"eager", "lazy"}
    for w in written:  # the run says where each went
        assert f"trace written to {w}" in err


@pytest.mark.parametrize(
    "option, target, reason",
    [
        ("--out", "afile", "not a directory"),
        ("--out", "afile/sub", "not a directory"),
        ("--svg", "afile", "not a directory"),
    ],
)
def test_a_bad_output_place_is_bad_input(
    option: str,
    target: str,
    reason: str,
    two_stems: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "afile").write_text("keep")
    assert cli.main(["check", two_stems[0], option, target, "-q"]) == 2
    out, err = capsys.readouterr()
    assert err.strip() == f"tlbcheck: error: cannot write '{target}': {reason}"
    assert out == ""  # refused before running anything
    assert (tmp_path / "afile").read_text() == "keep"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_directory_is_bad_input(
    two_stems: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    assert cli.main(["check", two_stems[0], "--out", "ro", "-q"]) == 2
    assert "permission denied" in capsys.readouterr().err


@pytest.mark.parametrize("junit", ["/proc/x.xml", "nodir/x.xml", "."])
def test_suite_refuses_a_bad_junit_path_before_running(
    junit: str, two_stems: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["suite", two_stems[0], "--junit", junit]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"tlbcheck: error: cannot write '{junit}': ")


def test_check_target_accepts_a_writable_place(tmp_path: Path) -> None:
    check_target(tmp_path / "x.xml")
    assert list(tmp_path.iterdir()) == []  # the trial file is gone


def test_write_atomic_replaces_whole(tmp_path: Path) -> None:
    p = tmp_path / "t.json"
    write_atomic(p, "old\n")
    write_atomic(p, b"new\n")
    assert p.read_text() == "new\n"
    assert [q.name for q in tmp_path.iterdir()] == ["t.json"]
    with pytest.raises(OutputError, match="is a directory"):
        write_atomic(tmp_path, "x")


def test_a_write_that_fails_halfway_leaves_the_old_file(tmp_path: Path) -> None:
    """A file-size limit stops the write: the old trace stays whole, no temp file stays."""
    target = tmp_path / "t.json"
    target.write_text('{"old": true}\n')
    code = f"""
import resource, signal
from verifier.report.files import OutputError, write_atomic
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
try:
    write_atomic({str(target)!r}, "x" * 100000)
except OutputError as exc:
    print(exc)
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "cannot write" in run.stdout and "too large" in run.stdout, run.stderr
    assert json.loads(target.read_text()) == {"old": True}
    assert [q.name for q in tmp_path.iterdir()] == ["t.json"]


# ---------------------------------------------------------------- trace files


@pytest.fixture
def saved_trace(two_stems: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    cli.main(["check", two_stems[0], "--model", "sc", "--out", "traces", "-q"])
    capsys.readouterr()
    return sorted((tmp_path / "traces").glob("*.json"))[0]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(model="vax"), "model: unknown memory model 'vax'"),
        (lambda d: d.update(kind="bogus"), "kind: unknown problem kind 'bogus'"),
        (lambda d: d.update(params={"N": "abc"}), "params.N: expected a whole number"),
        (lambda d: d["steps"][0].update(text=12), "steps[0].text: expected a string, got a number"),
        (lambda d: d["problem"].pop("core"), "problem: missing field 'core'"),
        (lambda d: d["steps"][0].update(links=["x"]), "steps[0].links[0]: expected a whole number"),
        (lambda d: d["steps"][0].update(span={"file": "f"}), "steps[0].span: missing field"),
    ],
)
@pytest.mark.parametrize("command", ["show", "replay"])
def test_a_trace_of_the_wrong_shape_is_bad_input(
    change: object,
    message: str,
    command: str,
    saved_trace: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = json.loads(saved_trace.read_text())
    change(data)  # type: ignore[operator]
    bad = saved_trace.with_name("bad.json")
    bad.write_text(json.dumps(data))
    assert cli.main([command, str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"{bad}: error: not a trace: {message}" or message in err
    assert err.count("\n") == 1


def test_a_good_trace_still_replays(saved_trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["replay", str(saved_trace)]) == 0
    assert "reproduces" in capsys.readouterr().out
