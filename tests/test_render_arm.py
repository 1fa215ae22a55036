"""Pictures of Arm64 traces (issue 25): a broadcast `tlbi` is drawn as reaching every
core's lane, and a full `dsb` as a wait, linked to the `tlbi`s it completes and to the
accesses it waited for.  Golden files in tests/golden/pictures/ (regenerate with
TLBCHECK_UPDATE_GOLDEN=1 and review the diff)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from verifier.api import check_spec
from verifier.lang.frontend import load_text
from verifier.report.render_dot import render_dot
from verifier.report.render_html import render_html
from verifier.report.render_svg import render_svg
from verifier.report.render_text import render_text, stale_fill
from verifier.run.result import Trace
from verifier.trace.schema import check_trace_json

GOLDEN = Path(__file__).parent / "golden" / "pictures"
SPEC = GOLDEN / "dsb_wait.tlb"


def _trace(model: str = "arm", text: str | None = None) -> Trace:
    checked = load_text(text or SPEC.read_text(), "dsb_wait.tlb", [])
    r = check_spec(checked, model, engine="explicit")
    (t,) = r.traces
    return t


def _golden(name: str, got: str) -> None:
    path = GOLDEN / name
    if os.environ.get("TLBCHECK_UPDATE_GOLDEN"):
        path.write_text(got)
    assert got == path.read_text(), f"{name} changed; TLBCHECK_UPDATE_GOLDEN=1 rewrites it"


def test_the_trace_links_the_dsb_to_its_tlbi_and_the_access_it_waited_for() -> None:
    t = _trace()
    tlbi = next(s for s in t.steps if s.text == "tlbi is V")
    dsb = next(s for s in t.steps if s.text == "dsb")
    write = [s for s in t.steps if s.text.startswith("write V") and s.action == "access"]
    assert tlbi.reach == ("cpu0", "cpu1")
    assert dsb.links == (tlbi.index, write[-1].index)
    assert all(not s.reach for s in t.steps if s is not tlbi)


def test_text_picture_golden() -> None:
    text = render_text(_trace())
    assert "[reaches cpu0, cpu1]" in text and "[waits for steps" in text
    _golden("dsb_wait.arm.assertion.txt", text)


def test_svg_picture_golden() -> None:
    svg = render_svg(_trace())
    group = re.search(r'<g class="reach-of" data-step="(\d+)">(.*?)</g>', svg, re.S)
    assert group is not None
    assert group.group(2).count('class="reach"') == 1  # cpu1's lane (cpu0 has the box)
    assert 'class="box box-wait"' in svg and ">waits for</text>" in svg
    assert "a broadcast tlbi reaches the core" in svg and "dsb: waits for its tlbis" in svg
    _golden("dsb_wait.arm.assertion.svg", svg)


def test_html_page_carries_both() -> None:
    page = render_html(_trace())
    assert "reach-of" in page and "box-wait" in page


def test_dot_draws_the_reach_and_the_waits() -> None:
    """The DOT graph: the tlbi reaches cpu1's lane (a node there), and the dsb waits for
    the tlbi and for cpu1's write (link edges labelled "waits for")."""
    t = _trace()
    tlbi = next(s for s in t.steps if s.text == "tlbi is V")
    dsb = next(s for s in t.steps if s.text == "dsb")
    dot = render_dot(t)
    assert f'"s{tlbi.index}" -> "s{tlbi.index}@cpu1" [label="reaches cpu1"' in dot
    assert f'"s{tlbi.index}@cpu0"' not in dot  # its own lane has the box
    for waited in dsb.links:
        assert f'"s{waited}" -> "s{dsb.index}" [label="waits for"' in dot


STALE = """\
model arm
frame A, B
page V -> A rw
core cpu0 {
    pte V := invalid
    dsb st
    tlbi is V
    complete V
}
core cpu1 {
    read V
}
"""


def test_the_translation_read_is_the_stale_fill() -> None:
    """Under arm the walk that gave the racing access its translation is the stale fill:
    highlighted in every picture, with the initial PTE it read and a "uses" edge."""
    checked = load_text(STALE, "stale.tlb", [])
    r = check_spec(checked, "arm", engine="explicit")
    (t,) = [t for t in r.traces if t.kind == "stale-translation"]
    fill = stale_fill(t)
    race = t.steps[-1]
    assert fill is not None and fill.action == "translate" and fill.span == race.span
    assert "translated by:" in render_text(t)
    dot = render_dot(t)
    assert f'"initial" -> "s{fill.index}" [label="fills-from"' in dot
    assert f'"s{fill.index}" -> "s{race.index}" [label="uses"' in dot
    svg = render_svg(t)
    group = re.search(rf'<g class="step" id="step-{fill.index}" .*?</g>', svg, re.S)
    assert group is not None and 'class="box box-stale"' in group.group(0)


def test_reach_survives_the_trace_file() -> None:
    t = _trace()
    data = json.loads(json.dumps(t.to_json()))
    check_trace_json(data)
    assert Trace.from_json(data) == t


@pytest.mark.parametrize("model", ["sc", "tso"])
def test_other_models_draw_the_reach_but_no_dsb_wait(model: str) -> None:
    """Under sc/tso a `tlbi is` drops every core's entries at once (drawn the same), and a
    `dsb` waits for the store buffer only: no links."""
    text = SPEC.read_text().replace("assert r == 0", "assert r == 5")
    t = _trace(model, text)
    assert any(s.reach == ("cpu0", "cpu1") for s in t.steps)
    assert all(not s.links for s in t.steps if s.action == "fence")
