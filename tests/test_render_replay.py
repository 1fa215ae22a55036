"""Saved traces are self-contained: they carry the spec text and its hash, so `show`
and `replay` work from any directory; replay against a changed spec names statements
and lines, never rule ids; `show` given a spec says what it expects."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from verifier.cli import main as cli
from verifier.run.result import source_hash

SPEC = Path(__file__).resolve().parent.parent / "specs" / "lazy" / "missing_fence.tlb"


@pytest.fixture
def saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    """A trace made from a copy of the spec in its own directory, then the directory
    changed to another one where the spec is not."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "lf.tlb").write_text(SPEC.read_text())
    monkeypatch.chdir(work)
    assert cli.main(["check", "lf.tlb", "--model", "pso", "--out", "out"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    return work / "out" / "lf.pso.stale-translation.json"


def test_trace_carries_source_and_hash(saved: Path) -> None:
    data = json.loads(saved.read_text())
    assert data["source"] == SPEC.read_text()
    assert data["source_sha256"] == source_hash(SPEC.read_text())


def test_show_html_and_replay_from_another_directory(
    saved: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (saved.parent.parent / "lf.tlb").unlink()  # the spec is gone: the trace's copy serves
    assert cli.main(["show", str(saved), "-o", "page.html"]) == 0
    page = Path("page.html").read_text()
    assert "source not available" not in page
    assert "seen[self] := g" in page
    assert cli.main(["replay", str(saved)]) == 0
    assert "reproduces stale-translation" in capsys.readouterr().out


def test_replay_against_changed_spec_names_lines(
    saved: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(saved.parent.parent)  # where the trace's `file` is found
    spec = saved.parent.parent / "lf.tlb"
    spec.write_text(
        spec.read_text().replace("        g := gen\n", "        skip\n        g := gen\n")
    )
    assert cli.main(["replay", str(saved)]) == 1
    err = capsys.readouterr().err
    assert "has changed since the trace was made" in err
    assert "step 7: cpu[1] `g := gen` (line 36) is not a step of the spec any more" in err
    assert "`skip` (line 36)" in err
    assert not re.search(r"@\d", err), err  # no rule ids


def test_show_given_a_spec_names_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["show", str(SPEC)]) == 2
    err = capsys.readouterr().err
    assert "show expects a trace file" in err and "tlbcheck check SPEC --out DIR" in err


def test_a_trace_whose_source_does_not_match_its_hash_is_refused(
    saved: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(saved.read_text())
    data["source"] = data["source"].replace("frame A, B", "frame A, B, C")
    saved.write_text(json.dumps(data))
    assert cli.main(["show", str(saved)]) == 2
    assert "source_sha256: does not match the spec text" in capsys.readouterr().err
