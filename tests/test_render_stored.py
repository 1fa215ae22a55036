"""Every stored counterexample renders to well-formed SVG, a self-contained HTML page
and DOT, and `tlbcheck check --out/--svg` writes traces that `show` and `replay` accept."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, tlb_files

from verifier.cli import main as cli
from verifier.report.render_dot import render_dot
from verifier.report.render_html import render_html
from verifier.report.render_svg import render_svg
from verifier.run.result import Trace

STORED = tlb_files(ROOT / "counterexamples", "*.json")


def test_there_are_stored_counterexamples() -> None:
    assert len(STORED) >= 30


@pytest.mark.parametrize("path", STORED, ids=[p.stem for p in STORED])
def test_stored_trace_renders(path: Path) -> None:
    trace = Trace.from_json(json.loads(path.read_text()))
    spec = ROOT / trace.file
    source = spec.read_text() if spec.is_file() else None
    svg = render_svg(trace, source)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert trace.kind in svg
    page = render_html(trace, source)
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)
    ET.fromstring(render_svg(trace, source))  # the picture the page embeds is valid too
    assert "digraph" in render_dot(trace)


def test_check_out_and_svg_then_show_and_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = str(EXAMPLES / "eager_missing_fence.tlb")
    out, svg = tmp_path / "traces", tmp_path / "svg"
    code = cli.main(["check", spec, "--model", "pso", "--out", str(out), "--svg", str(svg), "-q"])
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "eager_missing_fence.pso.stale-translation.json",
        "eager_missing_fence.pso.stale-translation.txt",
        "eager_missing_fence.pso.use-after-free.json",
        "eager_missing_fence.pso.use-after-free.txt",
    ]
    for p in svg.iterdir():
        ET.fromstring(p.read_text())
    trace = out / "eager_missing_fence.pso.use-after-free.json"
    capsys.readouterr()
    assert cli.main(["replay", str(trace)]) == 0
    assert "reproduces use-after-free" in capsys.readouterr().out
    assert cli.main(["show", str(trace)]) == 0
    assert "use-after-free" in capsys.readouterr().out
