"""`show -o FILE`: the format comes from the extension; an extension show cannot write,
or a --format that contradicts it, is bad input (exit 2) and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, tlb_files

from verifier.cli import main as cli

# an asid-reuse trace (the first stored file is no longer one since specs/arm64/munmap_*)
TRACE = str(tlb_files(ROOT / "counterexamples", "*.asid-reuse.json")[0])


@pytest.mark.parametrize(
    ("name", "start"),
    [
        ("t.txt", "asid-reuse"),
        ("t.svg", "<?xml"),
        ("t.HTML", "<!DOCTYPE html>"),
        ("t.gv", "digraph"),
    ],
)
def test_the_extension_chooses_the_format(tmp_path: Path, name: str, start: str) -> None:
    out = tmp_path / name
    assert cli.main(["show", TRACE, "-o", str(out)]) == 0
    assert out.read_text().lstrip().startswith(start)


def test_an_extension_show_cannot_write_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "y.png"
    assert cli.main(["show", TRACE, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "show cannot write a .png file; it writes .txt (text), .svg (svg)" in err
    assert not out.exists()


def test_a_format_contradicting_the_extension_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "y.svg"
    assert cli.main(["show", TRACE, "-o", str(out), "--format", "html"]) == 2
    assert "--format html contradicts the extension .svg (svg)" in capsys.readouterr().err
    assert not out.exists()
    assert cli.main(["show", TRACE, "-o", str(out), "--format", "svg"]) == 0


def test_a_file_without_extension_takes_the_format_given(tmp_path: Path) -> None:
    out = tmp_path / "picture"
    assert cli.main(["show", TRACE, "-o", str(out), "--format", "dot"]) == 0
    assert out.read_text().startswith("digraph")
