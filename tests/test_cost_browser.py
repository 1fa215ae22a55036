"""The `tlbcheck cost --plot` chart in a real browser (headless Chromium).

Deselected by default; run with `pytest -m browser`.  Skipped when Chromium is
not installed.  The chart of the three protocols of docs/cost.md is drawn inline
in a page whose script measures what the browser laid out: every label inside
the picture, legend rows apart, one polyline per scaled spec.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_browser import chromium

from verifier.cli.main import main

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SPECS = [
    str(ROOT / "specs" / "eager" / "full_fence.tlb"),
    str(ROOT / "specs" / "subset" / "cpumask_fenced.tlb"),
    str(ROOT / "specs" / "lazy" / "generation.tlb"),
]

MEASURE = """
const svg = document.querySelector('svg');
const box = svg.getBoundingClientRect();
const texts = [...svg.querySelectorAll('text')];
const outside = texts.filter(t => {
  const r = t.getBoundingClientRect();
  return r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
         r.bottom > box.bottom + 1;
}).map(t => t.textContent);
const legend = texts.filter(t => t.textContent.includes('.tlb'));
let overlap = 0;
for (let i = 1; i < legend.length; i++) {
  const above = legend[i - 1].getBoundingClientRect();
  if (legend[i].getBoundingClientRect().top < above.bottom) overlap++;
}
document.body.dataset.outside = JSON.stringify(outside);
document.body.dataset.legend = String(legend.length);
document.body.dataset.overlap = String(overlap);
document.body.dataset.lines = String(svg.querySelectorAll('polyline').length);
"""


def chart_page(tmp_path: Path) -> Path:
    svg = tmp_path / "cmp.svg"
    assert main(["cost", *SPECS, "--cores", "2,4,16,64,256", "--plot", str(svg), "--json"]) == 0
    page = tmp_path / "chart.html"
    page.write_text(
        f"<!doctype html><html><body>{svg.read_text(encoding='utf-8')}"
        f"<script>{MEASURE}</script></body></html>",
        encoding="utf-8",
    )
    return page


def test_chart_labels_fit_and_legend_names_every_spec(tmp_path: Path) -> None:
    dom = chromium(tmp_path, chart_page(tmp_path).as_uri(), "--dump-dom")
    body = re.search(r"<body([^>]*)>", dom)
    assert body is not None
    attrs = dict(re.findall(r'data-(\w+)="([^"]*)"', body.group(1)))
    assert attrs["outside"] == "[]", attrs["outside"]
    assert attrs["legend"] == "3" and attrs["overlap"] == "0"
    assert attrs["lines"] == "2"  # cpumask_fenced has a fixed size: one marker, no line
    assert "latency to complete (µs, log scale)" in dom and "cores (log scale)" in dom


def test_chart_screenshot_is_drawn(tmp_path: Path) -> None:
    shot = tmp_path / "chart.png"
    svg = tmp_path / "cmp.svg"
    assert main(["cost", *SPECS, "--cores", "2,16,64", "--plot", str(svg), "--json"]) == 0
    chromium(tmp_path, svg.as_uri(), f"--screenshot={shot}", "--window-size=860,520")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 15_000
