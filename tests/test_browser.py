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
