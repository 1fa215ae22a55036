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

from verifier.report.render_text import (
    MEMORY,
    describe,
    lane_of,
    length_text,
    params_text,
    race_step,
    stale_fill,
)
from verifier.report.svg_arrows import arrows
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
    fit,
    fit_location,
    handler_frames,
    layout,
    legend_height,
    legend_items,
    pending_lines,
)
from verifier.report.svg_style import MARKER_COLORS, STYLE
from verifier.run.result import Step, Trace

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
        f"{esc(fit_location(loc, box.w - 12, SMALL_W))}</text>"
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


def render_svg(trace: Trace, source: str | None = None, *, title: bool = True) -> str:
    """The swimlane diagram of a trace.  Statements and locations come from the trace;
    ``source`` (the spec text, the trace's own copy when None) gives the address space
    each lane runs, shown in its head when the spec declares spaces.  Without ``title``
    the picture starts at the lane heads (the HTML page has its own)."""
    lay = layout(trace)
    # a hang on another core than the one that moved last is drawn in that core's lane
    race = race_step(trace) if lay.blocked is None else None
    fill = stale_fill(trace)
    body = _lanes(trace, lay, lane_spaces(trace, source if source is not None else trace.source))
    body += _frames(trace, lay)
    body += _boxes(trace, lay, race, fill)
    body += _reach(trace, lay)
    body += arrows(trace, lay, race, fill)
    drawn = set(re.findall(r'class="([\w-]+)', "".join(body)))
    drawn |= set(re.findall(r'class="box ([\w-]+)', "".join(body)))
    legend_top = lay.height + 14
    height = legend_top + legend_height(lay.width, drawn) + MARGIN
    top = 0.0 if title else float(MARGIN + HEADER_H)
    out = _header(trace, lay.width, top, height, title)
    out += body
    out.append(_legend(legend_top, lay.width, drawn))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _header(trace: Trace, width: float, top: float, height: float, title: bool) -> list[str]:
    """The XML prolog, styles, arrow markers, background, title and subtitle; the
    view starts at ``top`` (below the title when it is left out)."""
    h = height - top
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{_num(width)}" '
        f'height="{_num(h)}" viewBox="0 {_num(top)} {_num(width)} {_num(h)}" '
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
        f'<rect class="bg" x="0" y="{_num(top)}" width="{_num(width)}" height="{_num(h)}"/>',
    ]
    if not title:
        return out
    out.append(
        f'<text class="title" x="{MARGIN}" y="{MARGIN + 16}">'
        f"{esc(trace.kind)} \u2014 {esc(trace.spec)}</text>"
    )
    sub = [f"model {trace.model}"]
    if trace.params:
        sub.append(params_text(trace))
    sub += [length_text(trace), f"engine {trace.engine}", trace.file]
    sep = "  \u00b7  "
    out.append(f'<text class="subtitle" x="{MARGIN}" y="{MARGIN + 36}">{esc(sep.join(sub))}</text>')
    return out


def lane_spaces(trace: Trace, source: str | None) -> dict[str, str]:
    """lane -> the address spaces its core runs, in order (`P → Q` after a `switch Q`),
    for a spec that declares spaces; empty without the spec text or spaces."""
    from verifier.lang.checked import DEFAULT_SPACE
    from verifier.lang.diagnostics import SpecError
    from verifier.lang.frontend import load_text

    if source is None or "space" not in source:
        return {}
    try:
        checked = load_text(source, trace.file, [f"{k}={v}" for k, v in trace.params])
    except SpecError:
        return {}
    if [s.name for s in checked.spaces] in ([], [DEFAULT_SPACE]):
        return {}
    out: dict[str, str] = {}
    for core in checked.cores:
        runs = [core.space]
        for step in trace.steps:
            if step.core == core.name and step.action == "switch" and not step.in_handler:
                runs.append(step.text.split()[-1])
        out[core.name] = " → ".join(runs)
    return out


def _lanes(trace: Trace, lay: Layout, spaces: dict[str, str]) -> list[str]:
    """One band per lane with its name and lifeline; a thin band for an idle lane;
    the lane of a core that hangs says so."""
    out: list[str] = []
    top = MARGIN + HEADER_H
    bottom = lay.height
    for i, lane in enumerate(lay.lanes):
        x, w = lay.lane_x(lane), lay.widths[lane]
        cls = "lane-mem" if lane == MEMORY else ("lane-even" if i % 2 == 0 else "lane-odd")
        head, head_cls = lane, "lane-head"
        if lane in spaces and w >= LANE_W:
            head = f"{lane} · runs {spaces[lane]}"
        if w < LANE_W:
            head_cls += " lane-idle"
        elif lay.blocked is not None and lane == trace.problem.core:
            head, head_cls = f"{lane} \u2014 {trace.problem.kind}s", "lane-head lane-hang"
        out.append(
            f'<rect class="{cls}" x="{_num(x)}" y="{top}" width="{_num(w)}" '
            f'height="{_num(bottom - top)}"/>'
        )
        out.append(
            f'<text class="{head_cls}" x="{_num(x + w / 2)}" y="{top + 20}">{esc(head)}</text>'
        )
        if w < LANE_W:
            out.append(f'<text class="idle" x="{_num(x + w / 2)}" y="{top + 34}">no steps</text>')
        out.append(
            f'<line class="lifeline" x1="{_num(x + w / 2)}" y1="{top + LANE_HEAD_H}" '
            f'x2="{_num(x + w / 2)}" y2="{_num(bottom)}"/>'
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
        if step.action == "fence" and step.links:  # an arm dsb waiting for its tlbis
            classes += " box-wait"
        if fill is not None and step.index == fill.index:
            classes, note_cls = "box box-stale", "note-stale"
        if race is not None and step.index == race.index:
            classes, note_cls = "box box-race", "note-race"
        out.append(_step_svg(step, box, classes, lay.content[step.index], note_cls))
    if lay.pending is not None:
        out.append(_aside_svg(lay.pending, pending_lines(trace), "pending"))
    if lay.blocked is not None:
        out.append(_aside_svg(lay.blocked, lay.blocked_text, "blocked"))
    return out


def _reach(trace: Trace, lay: Layout) -> list[str]:
    """A broadcast `tlbi` drawn as reaching every core's lane: a dotted line along its row
    from its box to the farthest lane, and a dot on each other core's lifeline."""
    out: list[str] = []
    for step in trace.steps:
        box = lay.boxes[step.index]
        mids = {c: lay.lefts[c] + lay.widths[c] / 2 for c in step.reach if c != step.core}
        if not mids:
            continue
        y, lo, hi = box.mid_y, min(mids.values()), max(mids.values())
        ends = [(box.x, min(lo, box.x))] if lo < box.x else []
        ends += [(box.x + box.w, max(hi, box.x + box.w))] if hi > box.x + box.w else []
        out.append(f'<g class="reach-of" data-step="{step.index}">')
        for x0, x1 in ends:
            out.append(f'<path class="reach-line" d="M{_num(x0)},{_num(y)} H{_num(x1)}"/>')
        for c in sorted(mids):
            out.append(f'<circle class="reach" cx="{_num(mids[c])}" cy="{_num(y)}" r="4"/>')
        out.append("</g>")
    return out


_MARKERS = {
    "link": "arrow",
    "fills": "arrow-fill",
    "uses": "arrow-race",
    "pending": "arrow-pending",
}


def _legend(top: float, width: float, drawn: set[str]) -> str:
    """Rows of swatches explaining the marks the picture uses (``drawn``)."""
    parts = ['<g class="legend-row">']
    for x, row, cls, label in legend_items(width, drawn):
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
