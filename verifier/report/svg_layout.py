"""Where everything goes in a trace's swimlane diagram, and what text it holds.

One lane per core and one for memory (in the middle), one row per step; a lane
where nothing happens is a thin strip; each step's box is sized to its wrapped
effect and notes; the "not yet in memory" and "hangs" boxes sit beside the last
step; handler frames span a handler run; the legend wraps to the picture's
width.  Drawing is in ``render_svg``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from verifier.report.render_text import (
    MEMORY,
    MEMORY_ACTIONS,
    lane_of,
    problem_tags,
    race_step,
    stale_fill,
)
from verifier.run.result import RACE_KINDS, Step, Trace

MARGIN = 16
HEADER_H = 58
LANE_HEAD_H = 30
GUTTER_W = 34
LANE_W = 260
IDLE_W = 64  # a lane in which no step happens
ROW_H = 60
NOTE_H = 14  # extra height per note line (stale fill, race)
EFFECT_H = 12  # extra height per wrapped effect line
NEST = 14  # indentation of handler steps
CHAR_W = 7.3  # width of a 12px monospace character
SMALL_W = 6.1  # width of a 10px monospace character
NOTE_W = 6.7  # width of an 11px monospace character

_PATH = re.compile(r"""[^\s()`'"]*/([^/\s()`'"]+\.tlb)""")


def short_paths(text: str) -> str:
    """`(/long/dir/spec.tlb:8:11)` -> `(spec.tlb:8:11)`: the boxes are narrow."""
    return _PATH.sub(r"\1", text)


def fit(text: str, width: float, char_w: float) -> str:
    """``text`` within ``width``: whole, else cut at a word boundary (a word is cut only
    when it alone is longer than the room) and ended with an ellipsis."""
    n = max(int(width / char_w), 1)
    if len(text) <= n:
        return text
    head = text[: max(n - 1, 0)]
    space = head.rfind(" ")
    if space >= n // 2:
        head = head[:space]
    return head.rstrip() + "\u2026"


_LINE = re.compile(r"(.*?)(:\d+(?::\d+)?)$")


def fit_location(loc: str, width: float, char_w: float) -> str:
    """`file.tlb:12` within ``width``: the `:line` is never cut; a long file name loses
    the middle of its stem (`eager_mis…fence.tlb:12`), a folder goes first."""
    n = max(int(width / char_w), 1)
    if len(loc) <= n:
        return loc
    m = _LINE.fullmatch(loc)
    if m is None:
        return fit(loc, width, char_w)
    name, line = m.group(1).rsplit("/", 1)[-1], m.group(2)
    if len(name) + len(line) <= n:
        return name + line
    stem, dot, ext = name.rpartition(".")
    stem, ext = (stem, dot + ext) if dot else (name, "")
    room = n - len(line) - len(ext) - 1  # the ellipsis
    if room < 2:
        return "\u2026" + line
    keep = stem[: (room + 1) // 2] + "\u2026" + stem[len(stem) - room // 2 :]
    return keep + ext + line


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def mid_y(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Content:
    effect: list[str]  # the effect, wrapped for highlighted steps, else one clipped line
    notes: list[str]  # highlighted lines under the location


@dataclass(frozen=True)
class Layout:
    lanes: tuple[str, ...]
    lefts: dict[str, float]  # lane -> x of its left edge
    widths: dict[str, float]  # lane -> its width (IDLE_W when no step happens in it)
    boxes: dict[int, Box]
    rows: dict[int, tuple[float, float]]  # step index -> (top, height) of its row
    content: dict[int, Content]
    pending: Box | None  # the "not yet in memory" box beside the last step
    blocked: Box | None  # the blocked core's box beside the last step (hang)
    blocked_text: list[str]  # its lines, wrapped
    width: float
    height: float  # of the lanes; the legend is below

    def lane_x(self, lane: str) -> float:
        return self.lefts[lane]

    def lane_around(self, box: Box) -> tuple[float, float]:
        """(left, width) of the lane ``box`` sits in."""
        lane = [ln for ln in self.lanes if self.lefts[ln] <= box.x][-1]
        return self.lefts[lane], self.widths[lane]

    def obstacles(self) -> list[Box]:
        """Every box a label must not cover."""
        extra = [b for b in (self.pending, self.blocked) if b is not None]
        return [*self.boxes.values(), *extra]


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


def pending_lines(trace: Trace) -> list[str]:
    pending = in_flight(trace)
    if not pending or lane_of(trace.steps[-1]) == MEMORY:
        return []
    return ["not yet in memory:", *(f"{s.core}: {s.text}" for s in pending)]


def blocked_lines(trace: Trace) -> list[str]:
    """For a problem about another core than the one that moved last (a hang): that
    core, the statement it is stuck at, and what the problem says of the cause."""
    p, last = trace.problem, trace.steps[-1]
    if p.core == last.core or p.core not in trace.cores:
        return []
    where = f" (line {p.span.line})" if p.span is not None else ""
    lines = [f"{p.kind.upper()}: {p.core}", f"at `{p.stmt}`{where}" if p.stmt else ""]
    detail = p.message.split(" forever", 1)[1] if " forever" in p.message else ""
    first, *rest = detail.split("; ")
    lines.append(first.split(": no continuation", 1)[0].strip(" :"))
    return [ln for ln in [*lines, *rest] if ln]


def active_lanes(trace: Trace) -> set[str]:
    """Lanes something is drawn in: where a step happens, the blocked core's, memory
    when something is still on its way there."""
    out = {lane_of(s) for s in trace.steps}
    if blocked_lines(trace):
        out.add(trace.problem.core)
    if pending_lines(trace):
        out.add(MEMORY)
    return out


def _box_height(effect_lines: int, notes: int) -> float:
    return ROW_H + EFFECT_H * (effect_lines - 1) + NOTE_H * notes


def layout(trace: Trace) -> Layout:
    lanes = lanes_for(trace)
    active = active_lanes(trace)
    widths = {ln: float(LANE_W if ln in active else IDLE_W) for ln in lanes}
    lefts: dict[str, float] = {}
    x0 = float(MARGIN + GUTTER_W)
    for ln in lanes:
        lefts[ln] = x0
        x0 += widths[ln]
    race = race_step(trace)
    fill = stale_fill(trace)
    pend_lines = pending_lines(trace)
    boxes: dict[int, Box] = {}
    rows: dict[int, tuple[float, float]] = {}
    content: dict[int, Content] = {}
    pending: Box | None = None
    blocked: Box | None = None
    block_lines = blocked_lines(trace)
    y = float(MARGIN + HEADER_H + LANE_HEAD_H)
    for step in trace.steps:
        x = lefts[lane_of(step)] + 10
        w = LANE_W - 20
        if step.in_handler and step.action not in MEMORY_ACTIONS:
            x += NEST
            w -= NEST + 4
        highlighted = step is race or step is fill
        chars = max(int((w - 12) / SMALL_W), 8)
        effect = _wrap(short_paths(step.effect), chars, 8 if highlighted else 5)
        note_chars = max(int((w - 12) / NOTE_W), 8)
        notes = [
            line
            for note in map(short_paths, _notes(trace, step, race, fill))
            for line in _wrap(note, note_chars, 3, indent="  ")
        ]
        c = Content(effect, notes)
        content[step.index] = c
        h = _box_height(len(c.effect), len(c.notes))
        if step is trace.steps[-1] and pend_lines:
            ph = 10 + NOTE_H * len(pend_lines)
            h = max(h, ph + 10)
            pending = Box(lefts[MEMORY] + 10, y + 5, LANE_W - 20, ph)
        if step is trace.steps[-1] and block_lines:
            block_lines[:] = [
                ln for b in block_lines for ln in _wrap(b, note_chars, 4, indent="  ")
            ]
            bh = 10 + NOTE_H * len(block_lines)
            h = max(h, bh + 10)
            blocked = Box(lefts[trace.problem.core] + 10, y + 5, LANE_W - 20, bh)
        rows[step.index] = (y, h)
        boxes[step.index] = Box(x, y + 5, w, h - 10)
        y += h
    width = MARGIN * 2 + GUTTER_W + sum(widths.values())
    height = y  # the bottom of the last row; the legend goes below
    return Layout(
        lanes, lefts, widths, boxes, rows, content, pending, blocked, block_lines, width, height
    )


def _wrap(text: str, chars: int, most: int, indent: str = "") -> list[str]:
    """``text`` in lines of at most ``chars``, broken between words; a word longer than
    a line (a file name with its line) is broken after one of `_ / . : -`, never inside
    a word part; at most ``most`` lines, the last one cut at a word when there is more."""
    lines: list[str] = []
    line = ""
    for piece, spaced in _pieces(text, chars):
        add = (" " if spaced and line.strip() else "") + piece
        if line.strip() and len(line) + len(add) > chars:
            lines.append(line)
            line = indent + piece
        else:
            line += add
    lines.append(line)
    if len(lines) > most:
        lines = [*lines[: most - 1], fit(" ".join(lines[most - 1 :]), chars, 1)]
    return lines


_PART = re.compile(r"[^_/.:\-]*[_/.:\-]?")


def _pieces(text: str, chars: int) -> list[tuple[str, bool]]:
    """The words of ``text`` (and whether a space comes before each); a word longer
    than ``chars`` comes in parts, each ending at `_ / . : -`, none with a space before."""
    out: list[tuple[str, bool]] = []
    for word in text.split():
        if len(word) <= chars:
            out.append((word, True))
            continue
        part, first = "", True
        for bit in (b for b in _PART.findall(word) if b):
            if part and len(part) + len(bit) > chars:
                out.append((part, first))
                part, first = "", False
            part += bit
        out.append((part, first))
    return out


def handler_frames(trace: Trace) -> list[tuple[str, Step, Step]]:
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


def _notes(trace: Trace, step: Step, race: Step | None, fill: Step | None) -> list[str]:
    """The highlighted lines under the stale fill and the racing access."""
    if race is not None and step.index == race.index:
        tags = problem_tags(step)
        p = trace.problem
        if p.kind not in RACE_KINDS:
            if blocked_lines(trace):  # drawn in the blocked core's lane instead
                return []
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


LEGEND = (
    ("link", "completes an earlier step"),
    ("fills", "fills the TLB from"),
    ("uses", "access uses the entry"),
    ("pending", "still in a store buffer"),
    ("box box-walker", "walker fill"),
    ("box box-stale", "stale TLB fill"),
    ("box box-race", "the racing access"),
    ("box box-pending", "not yet in memory"),
    ("box box-blocked", "hung core"),
    ("handler", "interrupt handler"),
    ("box box-mem", "reaches memory"),
    ("reach", "a broadcast tlbi reaches the core"),
    ("box box-wait", "dsb: waits for its tlbis"),
)


def legend_items(width: float, drawn: set[str]) -> list[tuple[float, int, str, str]]:
    """(x, row, class, label) of each legend entry for a mark in ``drawn`` (the classes
    the picture uses), wrapped to the picture's width."""
    items = []
    x, row = float(MARGIN), 0
    for cls, label in LEGEND:
        if cls.split()[-1] not in drawn:
            continue
        w = 32 + len(label) * 6.0 + 18
        if x + w > width - MARGIN and x > MARGIN:
            x, row = float(MARGIN), row + 1
        items.append((x, row, cls, label))
        x += w
    return items


def legend_height(width: float, drawn: set[str]) -> float:
    rows = [row for _, row, _, _ in legend_items(width, drawn)]
    return 20.0 * (1 + max(rows)) if rows else 0.0
