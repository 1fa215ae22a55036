"""A trace as a swimlane diagram (SVG 1.1, no dependencies): the drawing.

One lane per core and one for memory, time running down, one row per step.
Buffered stores are linked to the drain that takes them to memory, IPIs to
their queueing and the handler entry; handler steps sit inside a frame; the
walker fill that put the stale entry in the TLB and the racing access are
highlighted, and an arrow shows the access using that entry.  Where things go
is decided in ``svg_layout``; this module draws them.

The output is a pure function of the trace: same trace, same bytes.  Every
step is a `<g class="step" id="step-N">`, which the HTML page uses to
highlight the current step.
"""

from __future__ import annotations

import os
import re

from verifier.engines.result import Step, Trace
from verifier.report.render_text import (
    LINK_LABELS,
    MEMORY,
    describe,
    lane_of,
    params_text,
    pte_write_step,
    race_step,
    stale_fill,
)
from verifier.report.svg_layout import (
    CHAR_W,
    EFFECT_H,
    GUTTER_W,
    HEADER_H,
    LANE_HEAD_H,
    LANE_W,
    MARGIN,
    NOTE_H,
    NOTE_W,
    SMALL_W,
    Box,
    Content,
    Layout,
    blocked_lines,
    fit,
    handler_frames,
    in_flight,
    layout,
    legend_height,
    legend_items,
    pending_lines,
)
from verifier.report.svg_style import MARKER_COLORS, STYLE

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(text: str) -> str:
    """Text or attribute value, escaped for XML 1.0 (control characters dropped)."""
    text = _XML_BAD.sub("", text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _lane_left(box: Box) -> float:
    return MARGIN + GUTTER_W + ((box.x - MARGIN - GUTTER_W) // LANE_W) * LANE_W


def _arrow(
    a: Box, b: Box, cls: str, label: str, label_cls: str, marker: str, track: int = 0
) -> str:
    """An arrow from box a to box b that crosses no other box.

    Every row holds exactly one box, so the arrow leaves a sideways into the
    margin of a's lane, runs down that margin, then along b's row into b.
    Arrows within one lane run down its right margin.  Arrows of different
    kinds use different `track`s in the margin so they do not overlap.
    """
    left_a, left_b = _lane_left(a), _lane_left(b)
    r = 6.0
    y1, y2 = a.mid_y, b.mid_y
    down = 1 if y2 >= y1 else -1
    if left_a == left_b:
        x1, x2 = a.x + a.w, b.x + b.w
        cx = left_a + LANE_W - 3 - 2 * track
        d = (
            f"M{_num(x1)},{_num(y1)} H{_num(cx - r)} Q{_num(cx)},{_num(y1)} "
            f"{_num(cx)},{_num(y1 + down * r)} V{_num(y2 - down * r)} "
            f"Q{_num(cx)},{_num(y2)} {_num(cx - r)},{_num(y2)} H{_num(x2)}"
        )
        lx, ly, anchor = cx + 3, (y1 + y2) / 2, "middle"
    else:
        right = left_b > left_a
        sign = 1 if right else -1
        x1 = a.x + a.w if right else a.x
        x2 = b.x if right else b.x + b.w
        cx = left_a + LANE_W - 3 - 2 * track if right else left_a + 3 + 2 * track
        d = (
            f"M{_num(x1)},{_num(y1)} H{_num(cx - sign * r)} Q{_num(cx)},{_num(y1)} "
            f"{_num(cx)},{_num(y1 + down * r)} V{_num(y2 - down * r)} "
            f"Q{_num(cx)},{_num(y2)} {_num(cx + sign * r)},{_num(y2)} H{_num(x2)}"
        )
        # above the turn into b's row, on the side away from b: that part of
        # b's row is empty
        lx, ly, anchor = cx - sign * 4, y2 - 4, "end" if right else "start"
    out = f'<path class="{cls}" d="{d}" marker-end="url(#{marker})"/>'
    if label and left_a == left_b:  # written down the margin, beside the arrow
        out += (
            f'<text class="{label_cls}" x="{_num(lx)}" y="{_num(ly)}" '
            f'text-anchor="{anchor}" transform="rotate(90 {_num(lx)} {_num(ly)})">'
            f"{esc(label)}</text>"
        )
    elif label:
        out += (
            f'<text class="{label_cls}" x="{_num(lx)}" y="{_num(ly)}" '
            f'text-anchor="{anchor}">{esc(label)}</text>'
        )
    return out


def _short_loc(step: Step) -> str:
    if step.span is None:
        return ""
    return f"{os.path.basename(step.span.file)}:{step.span.line}"


def _step_svg(step: Step, box: Box, classes: str, content: Content, note_cls: str) -> str:
    """A step's box: statement, effect, `file:line`, then any notes."""
    line = step.span.line if step.span is not None else 0
    loc = _short_loc(step)
    text = step.text if lane_of(step) != MEMORY else f"{step.core}: {step.text}"
    x, y = box.x, box.y
    parts = [
        f'<g class="step" id="step-{step.index}" data-step="{step.index}" data-line="{line}">',
        f"<title>{esc(describe(step))}</title>",
        f'<rect class="{classes}" x="{_num(x)}" y="{_num(y)}" width="{_num(box.w)}" '
        f'height="{_num(box.h)}" rx="4"/>',
        f'<text class="stmt" x="{_num(x + 6)}" y="{_num(y + 16)}">'
        f"{esc(fit(text, box.w - 12, CHAR_W))}</text>",
    ]
    ty = y + 30
    for effect in content.effect:
        parts.append(f'<text class="effect" x="{_num(x + 6)}" y="{_num(ty)}">{esc(effect)}</text>')
        ty += EFFECT_H
    parts.append(
        f'<text class="loc" x="{_num(x + 6)}" y="{_num(ty + 1)}">'
        f"{esc(fit(loc, box.w - 12, SMALL_W))}</text>"
    )
    ty += 17
    for note in content.notes:
        parts.append(
            f'<text class="{note_cls}" x="{_num(x + 6)}" y="{_num(ty)}">'
            f"{esc(fit(note, box.w - 12, NOTE_W))}</text>"
        )
        ty += NOTE_H
    parts.append("</g>")
    return "".join(parts)


def _aside_svg(box: Box, lines: list[str], kind: str) -> str:
    """A dashed box beside the last step: what is still buffered, or who is stuck."""
    parts = [
        f'<g class="{kind}-box"><rect class="box box-{kind}" x="{_num(box.x)}" '
        f'y="{_num(box.y)}" width="{_num(box.w)}" height="{_num(box.h)}" rx="4"/>'
    ]
    for k, text in enumerate(lines):
        cls = f"{kind}-head" if k == 0 else f"{kind}-item"
        ty = box.y + 16 + k * NOTE_H
        parts.append(
            f'<text class="{cls}" x="{_num(box.x + 6)}" y="{_num(ty)}">'
            f"{esc(fit(text, box.w - 12, NOTE_W))}</text>"
        )
    parts.append("</g>")
    return "".join(parts)


def _fills_from(trace: Trace, fill: Step) -> Step | None:
    """The step that put the stale PTE value in memory: its drain if it was buffered."""
    writer = pte_write_step(trace, trace.problem, fill.index)
    if writer is None:
        return None
    drains = [
        s
        for s in trace.steps
        if writer.index in s.links and s.action == "drain" and s.index < fill.index
    ]
    return drains[-1] if drains else writer


def render_svg(trace: Trace, source: str | None = None) -> str:
    """The swimlane diagram of a trace.  `source` is accepted for symmetry with
    `render_html`; statements and locations already come from the trace."""
    del source
    lay = layout(trace)
    race = race_step(trace)
    fill = stale_fill(trace)
    out = _header(trace, lay)
    out += _lanes(lay)
    out += _frames(trace, lay)
    out += _boxes(trace, lay, race, fill)
    out += _arrows(trace, lay, race, fill)
    out.append(_legend(lay.height - MARGIN - legend_height(lay.width), lay.width))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _header(trace: Trace, lay: Layout) -> list[str]:
    """The XML prolog, styles, arrow markers, background, title and subtitle."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{_num(lay.width)}" '
        f'height="{_num(lay.height)}" viewBox="0 0 {_num(lay.width)} {_num(lay.height)}" '
        f'class="trace">',
        f"<title>{esc(trace.spec)}: {esc(trace.kind)} under {esc(trace.model)}</title>",
        f'<style type="text/css">{STYLE}</style>',
        "<defs>",
        *(
            f'<marker id="{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/>'
            f"</marker>"
            for name, color in MARKER_COLORS
        ),
        "</defs>",
        f'<rect class="bg" x="0" y="0" width="{_num(lay.width)}" height="{_num(lay.height)}"/>',
        f'<text class="title" x="{MARGIN}" y="{MARGIN + 16}">'
        f"{esc(trace.kind)} \u2014 {esc(trace.spec)}</text>",
    ]
    sub = [f"model {trace.model}"]
    if trace.params:
        sub.append(params_text(trace))
    sub += [f"{len(trace.steps)} steps", f"engine {trace.engine}", trace.file]
    sep = "  \u00b7  "
    out.append(f'<text class="subtitle" x="{MARGIN}" y="{MARGIN + 36}">{esc(sep.join(sub))}</text>')
    return out


def _lanes(lay: Layout) -> list[str]:
    """One band per lane with its name and lifeline."""
    out: list[str] = []
    top = MARGIN + HEADER_H
    bottom = lay.height - MARGIN - 14 - legend_height(lay.width)
    for i, lane in enumerate(lay.lanes):
        x = lay.lane_x(lane)
        cls = "lane-mem" if lane == MEMORY else ("lane-even" if i % 2 == 0 else "lane-odd")
        out.append(
            f'<rect class="{cls}" x="{_num(x)}" y="{top}" width="{LANE_W}" '
            f'height="{_num(bottom - top)}"/>'
        )
        out.append(
            f'<text class="lane-head" x="{_num(x + LANE_W / 2)}" y="{top + 20}">{esc(lane)}</text>'
        )
        out.append(
            f'<line class="lifeline" x1="{_num(x + LANE_W / 2)}" y1="{top + LANE_HEAD_H}" '
            f'x2="{_num(x + LANE_W / 2)}" y2="{_num(bottom)}"/>'
        )
    return out


def _frames(trace: Trace, lay: Layout) -> list[str]:
    """Handler frames, drawn behind the steps."""
    out: list[str] = []
    for core, first, last in handler_frames(trace):
        x = lay.lane_x(core) + 5
        y0 = lay.rows[first.index][0] + 1
        y1 = sum(lay.rows[last.index]) - 1
        out.append(
            f'<rect class="handler" x="{_num(x)}" y="{_num(y0)}" width="{LANE_W - 10}" '
            f'height="{_num(y1 - y0)}" rx="6"/>'
        )
        lx, ly = x + 11, y1 - 6
        out.append(
            f'<text class="handler-label" x="{_num(lx)}" y="{_num(ly)}" '
            f'transform="rotate(-90 {_num(lx)} {_num(ly)})">handler</text>'
        )
    return out


def _boxes(trace: Trace, lay: Layout, race: Step | None, fill: Step | None) -> list[str]:
    """Step numbers and boxes, and the boxes beside the last step."""
    out: list[str] = []
    for step in trace.steps:
        box = lay.boxes[step.index]
        out.append(
            f'<text class="num" x="{MARGIN + GUTTER_W - 6}" y="{_num(box.y + 16)}">'
            f"{step.index}</text>"
        )
        classes, note_cls = "box", ""
        if lane_of(step) == MEMORY:
            classes += " box-mem"
        if step.action == "fill":
            classes += " box-walker"
        if fill is not None and step.index == fill.index:
            classes, note_cls = "box box-stale", "note-stale"
        if race is not None and step.index == race.index:
            classes, note_cls = "box box-race", "note-race"
        out.append(_step_svg(step, box, classes, lay.content[step.index], note_cls))
    if lay.pending is not None:
        out.append(_aside_svg(lay.pending, pending_lines(trace), "pending"))
    if lay.blocked is not None:
        out.append(_aside_svg(lay.blocked, blocked_lines(trace), "blocked"))
    return out


def _arrows(trace: Trace, lay: Layout, race: Step | None, fill: Step | None) -> list[str]:
    """Links, still-buffered stores, and the stale fill's source and use, on top."""
    out: list[str] = []
    for step in trace.steps:
        for link in step.links:
            if link in lay.boxes and not (step is race and fill is not None and link == fill.index):
                label = LINK_LABELS.get(step.action, "")
                out.append(
                    _arrow(
                        lay.boxes[link], lay.boxes[step.index], "link", label, "link-label", "arrow"
                    )
                )
    if lay.pending is not None:
        for step in in_flight(trace):
            out.append(
                _arrow(
                    lay.boxes[step.index],
                    lay.pending,
                    "pending",
                    "still buffered",
                    "pending-label",
                    "arrow-pending",
                    track=2,
                )
            )
    if fill is not None:
        source_step = _fills_from(trace, fill)
        if source_step is not None:
            out.append(
                _arrow(
                    lay.boxes[source_step.index],
                    lay.boxes[fill.index],
                    "fills",
                    "fills from",
                    "fills-label",
                    "arrow-fill",
                    track=1,
                )
            )
        if race is not None:
            out.append(
                _arrow(
                    lay.boxes[fill.index],
                    lay.boxes[race.index],
                    "uses",
                    "uses stale entry",
                    "uses-label",
                    "arrow-race",
                )
            )
    return out


_MARKERS = {
    "link": "arrow",
    "fills": "arrow-fill",
    "uses": "arrow-race",
    "pending": "arrow-pending",
}


def _legend(top: float, width: float) -> str:
    """Rows of swatches explaining the picture's marks."""
    parts = ['<g class="legend-row">']
    for x, row, cls, label in legend_items(width):
        y = top + 10 + 20 * row
        if cls in _MARKERS:
            parts.append(
                f'<path class="{cls}" d="M{_num(x)},{_num(y)} H{_num(x + 26)}" '
                f'marker-end="url(#{_MARKERS[cls]})"/>'
            )
        else:
            parts.append(
                f'<rect class="{cls}" x="{_num(x)}" y="{_num(y - 7)}" width="26" '
                f'height="14" rx="3"/>'
            )
        parts.append(
            f'<text class="legend" x="{_num(x + 32)}" y="{_num(y + 4)}">{esc(label)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)
