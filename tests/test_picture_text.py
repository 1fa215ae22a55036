"""Pictures: file:line is never cut, text breaks between words, each lane says which
address space it runs, and the cost chart's end labels never overprint."""

from __future__ import annotations

import itertools
import re

from conftest import EXAMPLES

from verifier.api import check_spec
from verifier.lang.frontend import load
from verifier.report.cost_chart import LABEL_H, Point, Series, render_cost_chart
from verifier.report.render_svg import render_svg
from verifier.report.svg_layout import _wrap, fit, fit_location


def test_a_long_file_name_loses_its_middle_never_its_line() -> None:
    loc = "a_very_long_spec_file_name_for_testing.tlb:124"
    short = fit_location(loc, 120, 6.1)
    assert short.endswith(".tlb:124") and "\u2026" in short and len(short) <= 19
    assert fit_location("dir/sub/x.tlb:7", 60, 6.1) == "x.tlb:7"  # the folder goes first
    assert fit_location("x.tlb:12", 120, 6.1) == "x.tlb:12"


def test_text_is_cut_and_wrapped_between_words() -> None:
    assert fit("ipi cpu[*] flush(V) and more", 100, 7.3) == "ipi cpu[*]\u2026"
    text = "walker fills V -> A rw from (mremap_flush_after_unlock.tlb:20:13); access reaches A"
    lines = _wrap(text, 30, 8)
    assert all(len(ln) <= 30 for ln in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost or cut
    words = set(re.split(r"[\s_/.:\-]+", text))
    for ln in lines:  # every piece of every line is a whole word or word part
        assert set(re.split(r"[\s_/.:\-]+", ln.strip())) <= words | {""}, ln


def test_a_lane_says_which_space_its_core_runs() -> None:
    r = check_spec(load(str(EXAMPLES / "asid_recycle.tlb"), []), "pso")
    svg = render_svg(r.traces[0], (EXAMPLES / "asid_recycle.tlb").read_text())
    assert re.search(r'class="lane-head"[^>]*>u \u00b7 runs P \u2192 Q<', svg)
    plain = check_spec(load(str(EXAMPLES / "eager_missing_fence.tlb"), ["N=1"]), "pso")
    assert "runs" not in render_svg(plain.traces[0], None)  # no spaces declared


def test_the_cost_charts_end_labels_never_overprint() -> None:
    close = [
        Series("a", (Point(2, 20_000, True), Point(64, 56_780, True))),
        Series("b", (Point(2, 21_000, True), Point(64, 56_920, True))),
        Series("c", (Point(2, 22_000, True), Point(64, 56_850, True))),
    ]
    svg = render_cost_chart(close, "t")
    ys = sorted(float(y) for y in re.findall(r'class="end-label" x="[^"]*" y="([^"]*)"', svg))
    assert len(ys) == 3
    assert all(b - a >= LABEL_H for a, b in itertools.pairwise(ys))
