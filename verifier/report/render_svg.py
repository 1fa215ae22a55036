"""A trace as a swimlane diagram (SVG 1.1, no dependencies).

One lane per core and one for memory, time running down, one row per step.
Buffered stores are linked to the drain that takes them to memory, IPIs to
their queueing and the handler entry; handler steps sit inside a frame; the
walker fill that put the stale entry in the TLB and the racing access are
highlighted, and an arrow shows the access using that entry.

The output is a pure function of the trace: same trace, same bytes.  Every
step is a `<g class="step" id="step-N">`, which the HTML page uses to
highlight the current step.
"""

from __future__ import annotations

import os
import re
import textwrap
from dataclasses import dataclass

from verifier.engines.result import RACE_KINDS, Step, Trace
from verifier.report.render_text import (
    LINK_LABELS,
    MEMORY,
    MEMORY_ACTIONS,
    describe,
    lane_of,
    params_text,
    problem_tags,
    pte_write_step,
    race_step,
    stale_fill,
)

MARGIN = 16
HEADER_H = 58
LANE_HEAD_H = 30
GUTTER_W = 34
LANE_W = 260
ROW_H = 60
NOTE_H = 14  # extra height per note line (stale fill, race)
EFFECT_H = 12  # extra height per wrapped effect line
NEST = 14  # indentation of handler steps
CHAR_W = 7.3  # width of a 12px monospace character
SMALL_W = 6.1  # width of a 10px monospace character
NOTE_W = 6.7  # width of an 11px monospace character

STYLE = """
.bg { fill: #ffffff; }
.title { font: bold 15px sans-serif; fill: #111827; }
.subtitle { font: 12px sans-serif; fill: #4b5563; }
.lane-even { fill: #f9fafb; }
.lane-odd { fill: #f3f4f6; }
.lane-mem { fill: #eef2ff; }
.lane-head { font: bold 13px sans-serif; fill: #111827; text-anchor: middle; }
.lifeline { stroke: #d1d5db; stroke-width: 1; stroke-dasharray: 2 4; }
.num { font: 11px monospace; fill: #6b7280; text-anchor: end; }
.box { fill: #ffffff; stroke: #9ca3af; stroke-width: 1; }
.box-mem { fill: #e0e7ff; stroke: #6366f1; }
.box-walker { stroke-dasharray: 4 2; stroke: #6b7280; }
.box-stale { fill: #fef3c7; stroke: #d97706; stroke-width: 2; }
.box-race { fill: #fee2e2; stroke: #dc2626; stroke-width: 2.5; }
.stmt { font: bold 12px monospace; fill: #111827; }
.effect { font: 10px monospace; fill: #4b5563; }
.loc { font: 10px monospace; fill: #9ca3af; }
.note-stale { font: bold 11px monospace; fill: #b45309; }
.note-race { font: bold 11px monospace; fill: #b91c1c; }
.handler { fill: #ecfdf5; stroke: #10b981; stroke-width: 1; stroke-dasharray: 5 3; }
.handler-label { font: italic 10px sans-serif; fill: #047857; }
.link { fill: none; stroke: #2563eb; stroke-width: 1.5; }
.link-label { font: 10px sans-serif; fill: #1d4ed8; }
.link-label, .fills-label, .uses-label, .pending-label { paint-order: stroke; stroke: #ffffff;
  stroke-width: 3px; stroke-linejoin: round; }
.fills { fill: none; stroke: #d97706; stroke-width: 1.5; stroke-dasharray: 5 3; }
.fills-label { font: 10px sans-serif; fill: #b45309; }
.uses { fill: none; stroke: #dc2626; stroke-width: 2; stroke-dasharray: 6 3; }
.uses-label { font: bold 10px sans-serif; fill: #b91c1c; }
.legend { font: 11px sans-serif; fill: #4b5563; }
.box-pending { fill: #ffffff; stroke: #6b7280; stroke-width: 1.5; stroke-dasharray: 6 3; }
.pending-head { font: italic 11px sans-serif; fill: #374151; }
.pending-item { font: bold 11px monospace; fill: #374151; }
.pending { fill: none; stroke: #6b7280; stroke-width: 1.5; stroke-dasharray: 6 3; }
.pending-label { font: 10px sans-serif; fill: #374151; }
.box-blocked { fill: #fee2e2; stroke: #dc2626; stroke-width: 2; stroke-dasharray: 6 3; }
.blocked-head { font: bold 11px monospace; fill: #b91c1c; }
.blocked-item { font: 11px monospace; fill: #7f1d1d; }
.step.current .box { stroke: #111827; stroke-width: 3; }
.step.future { opacity: 0.3; }
"""

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


_PATH = re.compile(r"""[^\s()`'"]*/([^/\s()`'"]+\.tlb)""")


def _short_paths(text: str) -> str:
    """`(/long/dir/spec.tlb:8:11)` -> `(spec.tlb:8:11)`: the boxes are narrow."""
    return _PATH.sub(r"\1", text)


def _fit(text: str, width: float, char_w: float) -> str:
    n = max(int(width / char_w), 1)
    return text if len(text) <= n else text[: max(n - 1, 0)] + "\u2026"


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def mid_y(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class _Content:
    effect: list[str]  # the effect, wrapped for highlighted steps, else one clipped line
    notes: list[str]  # highlighted lines under the location


@dataclass(frozen=True)
class Layout:
    lanes: tuple[str, ...]
    boxes: dict[int, _Box]
    rows: dict[int, tuple[float, float]]  # step index -> (top, height) of its row
    content: dict[int, _Content]
    pending: _Box | None  # the "not yet in memory" box beside the last step
    blocked: _Box | None  # the blocked core's box beside the last step (hang)
    width: float
    height: float

    def lane_x(self, lane: str) -> float:
        return MARGIN + GUTTER_W + self.lanes.index(lane) * LANE_W


def lanes_for(trace: Trace) -> tuple[str, ...]:
    """Cores in trace order with the memory lane in the middle (fewest crossings)."""
    cores = list(trace.cores)
    for step in trace.steps:
        if step.core not in cores and lane_of(step) != MEMORY:
            cores.append(step.core)
    mid = len(cores) // 2 if len(cores) > 1 else len(cores)
    return (*cores[:mid], MEMORY, *cores[mid:])


def in_flight(trace: Trace) -> list[Step]:
    """Buffered stores (and held IPIs) that no later step completes: at the end
    of the trace they have still not reached memory."""
    done = {link for s in trace.steps for link in s.links}
    return [
        s
        for s in trace.steps
        if s.action in ("store-buffered", "ipi-buffered") and s.index not in done
    ]


def _pending_lines(trace: Trace) -> list[str]:
    pending = in_flight(trace)
    if not pending or lane_of(trace.steps[-1]) == MEMORY:
        return []
    return ["not yet in memory:", *(f"{s.core}: {s.text}" for s in pending)]


def _blocked_lines(trace: Trace) -> list[str]:
    """For a problem about another core than the one that moved last (a hang):
    that core and where it is stuck."""
    p, last = trace.problem, trace.steps[-1]
    if p.core == last.core or p.core not in trace.cores:
        return []
    where = f"{os.path.basename(p.span.file)}:{p.span.line}" if p.span is not None else ""
    return [f"{p.core}: {p.kind}", *([p.stmt] if p.stmt else []), *([where] if where else [])]


def _box_height(effect_lines: int, notes: int) -> float:
    return ROW_H + EFFECT_H * (effect_lines - 1) + NOTE_H * notes


def layout(trace: Trace) -> Layout:
    lanes = lanes_for(trace)
    race = race_step(trace)
    fill = stale_fill(trace)
    pending_lines = _pending_lines(trace)
    boxes: dict[int, _Box] = {}
    rows: dict[int, tuple[float, float]] = {}
    content: dict[int, _Content] = {}
    pending: _Box | None = None
    blocked: _Box | None = None
    blocked_lines = _blocked_lines(trace)
    y = float(MARGIN + HEADER_H + LANE_HEAD_H)
    for step in trace.steps:
        x = MARGIN + GUTTER_W + lanes.index(lane_of(step)) * LANE_W + 10
        w = LANE_W - 20
        if step.in_handler and step.action not in MEMORY_ACTIONS:
            x += NEST
            w -= NEST + 4
        highlighted = step is race or step is fill
        chars = max(int((w - 12) / SMALL_W), 8)
        effect_text = _short_paths(step.effect)
        effect = (
            _wrap(effect_text, chars, 4) if highlighted else [_fit(effect_text, w - 12, SMALL_W)]
        )
        note_chars = max(int((w - 12) / NOTE_W), 8)
        notes = [
            line
            for note in map(_short_paths, _notes(trace, step, race, fill))
            for line in _wrap(note, note_chars, 3, indent="  ")
        ]
        c = _Content(effect, notes)
        content[step.index] = c
        h = _box_height(len(c.effect), len(c.notes))
        if step is trace.steps[-1] and pending_lines:
            ph = 10 + NOTE_H * len(pending_lines)
            h = max(h, ph + 10)
            pending = _Box(
                MARGIN + GUTTER_W + lanes.index(MEMORY) * LANE_W + 10, y + 5, LANE_W - 20, ph
            )
        if step is trace.steps[-1] and blocked_lines:
            bh = 10 + NOTE_H * len(blocked_lines)
            h = max(h, bh + 10)
            blocked = _Box(
                MARGIN + GUTTER_W + lanes.index(trace.problem.core) * LANE_W + 10,
                y + 5,
                LANE_W - 20,
                bh,
            )
        rows[step.index] = (y, h)
        boxes[step.index] = _Box(x, y + 5, w, h - 10)
        y += h
    width = MARGIN * 2 + GUTTER_W + len(lanes) * LANE_W
    height = y + 14 + legend_height(width) + MARGIN
    return Layout(lanes, boxes, rows, content, pending, blocked, width, height)


def _wrap(text: str, chars: int, most: int, indent: str = "") -> list[str]:
    lines = textwrap.wrap(text, chars, subsequent_indent=indent) or [""]
    if len(lines) > most:
        lines = [*lines[: most - 1], _fit(" ".join(lines[most - 1 :]), chars, 1)]
    return lines


def _handler_frames(trace: Trace) -> list[tuple[str, Step, Step]]:
    """(core, first, last) of each handler run: entry through return (or trace end)."""
    frames: list[tuple[str, Step, Step]] = []
    open_: dict[str, tuple[Step, Step]] = {}
    for step in trace.steps:
        if step.action in MEMORY_ACTIONS:
            continue
        inside = step.in_handler or step.action in ("handler-entered", "handler-returned")
        cur = open_.get(step.core)
        if inside and step.action == "handler-entered" and cur is not None:
            frames.append((step.core, *cur))
            cur = None
        if inside:
            open_[step.core] = (cur[0] if cur else step, step)
            if step.action == "handler-returned":
                frames.append((step.core, *open_.pop(step.core)))
        elif cur is not None:
            frames.append((step.core, *open_.pop(step.core)))
    frames.extend((core, *se) for core, se in open_.items())
    return sorted(frames, key=lambda f: f[1].index)


def _lane_left(box: _Box) -> float:
    return MARGIN + GUTTER_W + ((box.x - MARGIN - GUTTER_W) // LANE_W) * LANE_W


def _arrow(
    a: _Box, b: _Box, cls: str, label: str, label_cls: str, marker: str, track: int = 0
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


def _step_svg(step: Step, box: _Box, classes: str, content: _Content, note_cls: str) -> str:
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
        f"{esc(_fit(text, box.w - 12, CHAR_W))}</text>",
    ]
    ty = y + 30
    for effect in content.effect:
        parts.append(f'<text class="effect" x="{_num(x + 6)}" y="{_num(ty)}">{esc(effect)}</text>')
        ty += EFFECT_H
    parts.append(
        f'<text class="loc" x="{_num(x + 6)}" y="{_num(ty + 1)}">'
        f"{esc(_fit(loc, box.w - 12, SMALL_W))}</text>"
    )
    ty += 17
    for note in content.notes:
        parts.append(
            f'<text class="{note_cls}" x="{_num(x + 6)}" y="{_num(ty)}">'
            f"{esc(_fit(note, box.w - 12, NOTE_W))}</text>"
        )
        ty += NOTE_H
    parts.append("</g>")
    return "".join(parts)


def _aside_svg(box: _Box, lines: list[str], kind: str) -> str:
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
            f"{esc(_fit(text, box.w - 12, NOTE_W))}</text>"
        )
    parts.append("</g>")
    return "".join(parts)


def _notes(trace: Trace, step: Step, race: Step | None, fill: Step | None) -> list[str]:
    """The highlighted lines under the stale fill and the racing access."""
    if race is not None and step.index == race.index:
        tags = problem_tags(step)
        p = trace.problem
        if p.kind not in RACE_KINDS:
            return [f"{tags[0].upper()}", *tags[1:], p.message]
        notes = [f"RACE: {tags[0]}", *(f"      {k}" for k in tags[1:])]
        if fill is None and p.pte_stmt and p.kind in RACE_KINDS:
            where = f" (line {p.pte_span.line})" if p.pte_span is not None else ""
            notes.append(f"entry from {p.pte_stmt}{where}")
        if p.now and p.kind in RACE_KINDS:
            notes.append(f"now: {p.now}")
        return notes
    if fill is not None and step.index == fill.index:
        p = trace.problem
        if not p.pte_stmt:
            return ["stale TLB entry"]
        where = f" (line {p.pte_span.line})" if p.pte_span is not None else ""
        return ["stale entry, filled from", f"{p.pte_stmt}{where}"]
    return []


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
            for name, color in (
                ("arrow", "#2563eb"),
                ("arrow-fill", "#d97706"),
                ("arrow-race", "#dc2626"),
                ("arrow-pending", "#6b7280"),
            )
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

    # lanes
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

    # handler frames, behind the steps
    for core, first, last in _handler_frames(trace):
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

    # step numbers and boxes
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
        out.append(_aside_svg(lay.pending, _pending_lines(trace), "pending"))
    if lay.blocked is not None:
        out.append(_aside_svg(lay.blocked, _blocked_lines(trace), "blocked"))

    # arrows on top
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

    out.append(_legend(lay.height - MARGIN - legend_height(lay.width), lay.width))
    out.append("</svg>")
    return "\n".join(out) + "\n"


_LEGEND = (
    ("link", "completes an earlier step"),
    ("fills", "fills the TLB from"),
    ("uses", "access uses the entry"),
    ("pending", "still in a store buffer"),
    ("box box-walker", "walker fill"),
    ("handler", "interrupt handler"),
    ("box box-mem", "reaches memory"),
)


_MARKERS = {
    "link": "arrow",
    "fills": "arrow-fill",
    "uses": "arrow-race",
    "pending": "arrow-pending",
}


def _legend_items(width: float) -> list[tuple[float, int, str, str]]:
    """(x, row, class, label) of each legend entry, wrapped to the picture's width."""
    items = []
    x, row = float(MARGIN), 0
    for cls, label in _LEGEND:
        w = 32 + len(label) * 6.0 + 18
        if x + w > width - MARGIN and x > MARGIN:
            x, row = float(MARGIN), row + 1
        items.append((x, row, cls, label))
        x += w
    return items


def legend_height(width: float) -> float:
    return 20.0 * (1 + max(row for _, row, _, _ in _legend_items(width)))


def _legend(top: float, width: float) -> str:
    """Rows of swatches explaining the picture's marks."""
    parts = ['<g class="legend-row">']
    for x, row, cls, label in _legend_items(width):
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
