"""The HTML trace page in a real browser (headless Chromium).

Deselected by default; run with `pytest -m browser`.  Skipped when Chromium is
not installed (`apt-get install chromium`).  Chromium runs with networking
features off and a throwaway profile; it loads only local files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_render import SOURCE, eager_missing_fence_trace

from verifier.report.render_html import render_html

pytestmark = pytest.mark.browser

CHROMIUM = next(
    (
        p
        for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
        if p and os.path.exists(p)
    ),
    None,
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium(tmp_path: Path, url: str, *extra: str) -> str:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    profile = tmp_path / "profile"
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def page(tmp_path: Path, extra_script: str = "") -> Path:
    html = render_html(eager_missing_fence_trace(), SOURCE)
    if extra_script:  # runs after the page's own script
        html = html.replace("</body>", f"<script>{extra_script}</script>\n</body>")
    path = tmp_path / "trace.html"
    path.write_text(html, encoding="utf-8")
    return path


def current(dom: str) -> tuple[str, str, list[str], list[str]]:
    """(data-current, counter text, ids of the outlined steps, ids of highlighted lines)."""
    body = re.search(r'<body[^>]*data-current="(\d*)"', dom)
    counter = re.search(r'id="tc-counter">([^<]*)<', dom)
    steps = re.findall(r'<g class="step current" id="(step-\d+)"', dom)
    lines = re.findall(r'class="src-line[^"]*src-current[^"]*" id="(L\d+)"', dom)
    assert body and counter
    return body.group(1), counter.group(1), steps, lines


def test_page_opens_at_the_race(tmp_path: Path) -> None:
    dom = chromium(tmp_path, page(tmp_path).as_uri(), "--dump-dom")
    assert current(dom) == ("18", "step 18 / 18", ["step-18"], ["L19"])
    assert "RACE: use-after-free" in dom
    assert re.search(r'id="tc-current" class="race">18\. cpu\[1\]: read V', dom)
    assert len(re.findall(r'<g class="step[^"]*" id="step-\d+"', dom)) == 18


def test_hash_selects_a_step(tmp_path: Path) -> None:
    dom = chromium(tmp_path, page(tmp_path).as_uri() + "#step=5", "--dump-dom")
    assert current(dom) == ("5", "step 5 / 18", ["step-5"], ["L25"])
    assert len(re.findall(r'<g class="step future"', dom)) == 13


def test_keys_move_the_highlight(tmp_path: Path) -> None:
    press = (
        "function key(k) { document.dispatchEvent("
        "new KeyboardEvent('keydown', {key: k, bubbles: true})); }"
        "key('Home'); key('ArrowRight'); key('ArrowRight'); key('ArrowRight');"
        "key('ArrowLeft');"
    )
    dom = chromium(tmp_path, page(tmp_path, press).as_uri(), "--dump-dom")
    assert current(dom) == ("3", "step 3 / 18", ["step-3"], ["L10"])
    assert re.search(r'id="tc-prev"(?! disabled)', dom)


def test_buttons_stop_at_the_ends(tmp_path: Path) -> None:
    click = (
        "document.getElementById('tc-first').click();document.getElementById('tc-prev').click();"
    )
    dom = chromium(tmp_path, page(tmp_path, click).as_uri(), "--dump-dom")
    assert current(dom) == ("1", "step 1 / 18", ["step-1"], ["L9"])
    assert re.search(r'<button id="tc-first"[^>]*disabled', dom)


def test_screenshot_is_drawn(tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    chromium(tmp_path, page(tmp_path).as_uri(), f"--screenshot={shot}", "--window-size=1400,900")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000


# ------------------------------------------------------------- rendered layout


def measured(tmp_path: Path, trace: Any, script: str, attr: str, size: str) -> Any:
    """What ``script`` (run after the page's own) left as JSON in the body's ``attr``,
    in a window of ``size``."""
    import json

    html = render_html(trace, trace.source).replace("</body>", f"<script>{script}</script></body>")
    path = tmp_path / "trace.html"
    path.write_text(html, encoding="utf-8")
    dom = chromium(tmp_path, path.as_uri(), "--dump-dom", f"--window-size={size}")
    m = re.search(rf'{attr}="([^"]*)"', dom)
    assert m, "the measuring script did not run"
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))


MEASURE = """
(function () {
  function rect(el) { var r = el.getBoundingClientRect();
    return {l: r.left, t: r.top, r: r.right, b: r.bottom}; }
  function meets(a, b) { return a.l < b.r - 0.5 && b.l < a.r - 0.5 &&
                                a.t < b.b - 0.5 && b.t < a.b - 0.5; }
  var pic = document.querySelector('#tc-picture');
  var boxes = Array.prototype.map.call(document.querySelectorAll(
    '#tc-picture g.step > rect, #tc-picture .box-pending, #tc-picture .box-blocked'), rect);
  var labels = Array.prototype.map.call(document.querySelectorAll(
    '#tc-picture text[class$="-label"]'), rect);
  var overlaps = [];
  for (var i = 0; i < boxes.length; i++) {
    for (var j = i + 1; j < boxes.length; j++) {
      if (meets(boxes[i], boxes[j])) { overlaps.push(['box', i, j]); } }
    for (var k = 0; k < labels.length; k++) {
      if (meets(boxes[i], labels[k])) { overlaps.push(['label', i, k]); } }
  }
  var navBottom = document.getElementById('tc-nav').getBoundingClientRect().bottom;
  var keys = Array.prototype.map.call(document.querySelectorAll(
    '#tc-picture g.step > .box-stale, #tc-picture g.step > .box-race'), rect);
  var effects = Array.prototype.map.call(document.querySelectorAll('#tc-picture .effect'),
    function (t) { return t.textContent; });
  var scrollers = Array.prototype.filter.call(document.querySelectorAll('body *'), function (el) {
    var s = getComputedStyle(el).overflowY;
    return (s === 'auto' || s === 'scroll') && el.scrollHeight > el.clientHeight + 1;
  }).map(function (el) { return el.id; });
  document.body.setAttribute('data-measure', JSON.stringify({
    boxes: boxes.length, labels: labels.length, overlaps: overlaps,
    keys: keys, navBottom: navBottom, height: window.innerHeight, width: window.innerWidth,
    pageWidth: document.documentElement.scrollWidth, svgRight: rect(pic.querySelector('svg')).r,
    picRight: rect(pic).r, titles: document.querySelectorAll('#tc-picture .title').length,
    cut: effects.filter(function (t) { return t.indexOf('\\u2026') >= 0; }),
    scrollers: scrollers}));
})();
"""


@pytest.mark.parametrize("size", ["1400,1000", "1920,1080"])
def test_rendered_layout_of_the_longest_stored_trace(tmp_path: Path, size: str) -> None:
    """The longest stored trace (4 lanes, the stale fill 14 steps before the race): no
    box overlaps another, no label covers a box, the picture fits the width with no
    title of its own, one scroll area, step texts wrapped not cut, and the page opens
    with both the stale fill and the racing access in view."""
    import json

    from verifier.run.result import Trace

    root = Path(__file__).resolve().parent.parent
    stored = (
        root
        / "counterexamples"
        / "specs__reclaim__mremap_flush_after_unlock.pso.use-after-free.json"
    )
    trace = Trace.from_json(json.loads(stored.read_text()))
    assert len(trace.cores) + 1 == 4 and trace.source is not None
    got = measured(tmp_path, trace, MEASURE, "data-measure", size)
    assert got["boxes"] >= 27 and got["labels"] > 0
    assert got["overlaps"] == []
    assert got["pageWidth"] <= got["width"] and got["svgRight"] <= got["picRight"] + 1
    assert got["titles"] == 0
    assert got["cut"] == []
    assert set(got["scrollers"]) <= {"tc-source"}  # the page scrolls, the source pane follows
    assert len(got["keys"]) == 2
    for key in got["keys"]:
        assert key["t"] >= got["navBottom"] - 1 and key["b"] <= got["height"] + 1, (key, got)


LANES = """
(function () {
  function rect(el) { var r = el.getBoundingClientRect();
    return {l: r.left, t: r.top, r: r.right, b: r.bottom}; }
  var heads = Array.prototype.map.call(
    document.querySelectorAll('#tc-picture svg text.lane-head'), function (h) {
      var r = h.getBoundingClientRect(); return (r.left + r.right) / 2; });
  var shown = Array.prototype.map.call(document.querySelectorAll('#tc-lanes span'), function (s) {
    var r = rect(s); r.text = s.textContent; return r; });
  var race = document.querySelector('#tc-picture g.step > .box-race');
  document.body.setAttribute('data-lanes', JSON.stringify({
    heads: heads, shown: shown, race: race ? rect(race) : null,
    nav: document.getElementById('tc-nav').getBoundingClientRect().bottom,
    row: document.getElementById('tc-lanes').getBoundingClientRect().bottom,
    height: window.innerHeight, width: window.innerWidth}));
})();
"""


@pytest.mark.parametrize("size", ["1400,1000", "1920,1080"])
@pytest.mark.parametrize(
    "name",
    [
        "specs__reclaim__mremap_flush_after_unlock.pso.use-after-free.json",
        "specs__asid__flush_before_switch.pso.asid-reuse.json",
    ],
)
def test_the_page_opens_with_the_lane_heads_and_the_racing_step_in_view(
    tmp_path: Path, size: str, name: str
) -> None:
    """Measured in the rendered page: a row of lane names stays under the step bar, each
    name over its lane; the racing step is in view below that row."""
    import json

    from verifier.run.result import Trace

    root = Path(__file__).resolve().parent.parent
    trace = Trace.from_json(json.loads((root / "counterexamples" / name).read_text()))
    got = measured(tmp_path, trace, LANES, "data-lanes", size)
    assert len(got["shown"]) == len(got["heads"]) >= 2
    for head, span in zip(got["heads"], got["shown"], strict=True):
        assert abs((span["l"] + span["r"]) / 2 - head) <= 2, (head, span)
        assert span["t"] >= got["nav"] - 1 and span["b"] <= got["row"] + 1
        assert span["l"] >= 0 and span["r"] <= got["width"]
    race = got["race"]
    assert race is not None and race["t"] >= got["row"] - 1 and race["b"] <= got["height"] + 1
