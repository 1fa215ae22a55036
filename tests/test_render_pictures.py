"""Swimlane pictures: idle lanes collapse, the legend explains only what is drawn
(and its swatches differ), arrow labels cover no box, the HTML page has one title."""

from __future__ import annotations

import re
from dataclasses import replace

from test_render import SOURCE, SVG, _svg, eager_missing_fence_trace

from verifier.report.render_html import render_html
from verifier.report.svg_layout import IDLE_W, LANE_W, layout
from verifier.report.svg_style import STYLE


def test_a_core_without_steps_gets_a_thin_lane() -> None:
    t = eager_missing_fence_trace()
    trace = replace(t, cores=(*t.cores, "cpu[3]"))
    lay = layout(trace)
    assert lay.widths["cpu[3]"] == IDLE_W and lay.widths["cpu[1]"] == LANE_W
    assert lay.width == layout(t).width + IDLE_W
    heads = [t.text for t in _svg(trace).iter(f"{SVG}text") if t.get("class") == "idle"]
    assert heads == ["no steps"]


def _legend_labels(root: object) -> list[str]:
    g = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend-row")  # type: ignore[attr-defined]
    return [t.text or "" for t in g.iter(f"{SVG}text")]


def test_legend_shows_only_what_is_drawn() -> None:
    t = eager_missing_fence_trace()
    full = _legend_labels(_svg(t))
    assert "walker fill" not in full  # the hand-built trace has no fill step
    assert {"completes an earlier step", "the racing access", "interrupt handler"} <= set(full)
    no_links = replace(t, steps=tuple(replace(s, links=()) for s in t.steps))
    assert "completes an earlier step" not in _legend_labels(_svg(no_links))


def test_not_yet_in_memory_box_does_not_look_like_a_walker_fill() -> None:
    def rule(cls: str) -> str:
        m = re.search(r"\." + cls + r" \{([^}]*)\}", STYLE)
        assert m, cls
        return m.group(1)

    assert rule("box-pending") != rule("box-walker")
    assert "dasharray" in rule("box-pending") and "dasharray" not in rule("box-walker")


def test_arrow_labels_cover_no_box() -> None:
    """Labels are placed where they cover no box (by the layout's own estimate of a
    label's size; the browser test measures the real one)."""
    from verifier.report.svg_arrows import LABEL_CHAR_W, LABEL_H

    root = _svg(eager_missing_fence_trace())
    boxes = []
    for r in root.iter(f"{SVG}rect"):
        if "box" in (r.get("class") or "").split() and r.get("width") != "26":
            x, y, w, h = (float(r.get(k, "0")) for k in ("x", "y", "width", "height"))
            boxes.append((x, y, x + w, y + h))
    labels = [
        t
        for t in root.iter(f"{SVG}text")
        if (t.get("class") or "").endswith("-label") and t.get("transform") is None
    ]
    assert labels
    for t in labels:
        w = len(t.text or "") * LABEL_CHAR_W
        x, y = float(t.get("x", "0")), float(t.get("y", "0"))
        x0 = {"start": x, "end": x - w, "middle": x - w / 2}[t.get("text-anchor", "start")]
        for bx0, by0, bx1, by1 in boxes:
            assert not (x0 < bx1 and bx0 < x0 + w and y - LABEL_H + 2 < by1 and by0 < y + 3), (
                t.text,
                (bx0, by0),
            )


def test_html_has_one_title_and_the_picture_scales() -> None:
    page = render_html(eager_missing_fence_trace(), SOURCE)
    assert page.count('class="title"') == 0  # the picture's own title is left out
    assert page.count("<h1>") == 1
    assert re.search(r'<svg style="max-width: [\d.]+px"', page)


def test_dot_explains_the_race_with_one_edge_per_pair() -> None:
    """A stored trace: the walk read the PTE before the newer write reached memory,
    the await's read is labelled with its value, and no two edges join the same
    steps."""
    import json
    from pathlib import Path

    from verifier.report.render_dot import render_dot
    from verifier.run.result import Trace

    root = Path(__file__).resolve().parent.parent / "counterexamples"
    data = json.loads(
        (root / "specs__reclaim__mremap_flush_after_unlock.pso.use-after-free.json").read_text()
    )
    dot = render_dot(Trace.from_json(data))
    pairs = re.findall(r'^  ("[^"]+" -> "[^"]+")', dot, re.MULTILINE)
    assert len(pairs) == len(set(pairs))
    assert '"s13" -> "s14" [label="walks before step 5\'s PTE write reaches memory"' in dot
    assert '"s13" -> "s26" [label="uses entry + uses"' in dot
    assert re.search(r'\[label="reads moved = 1"', dot)
