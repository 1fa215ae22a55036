"""The arrows of the swimlane diagram, and where their labels go.

An arrow leaves its source box sideways into the margin of the source's lane,
runs down that margin and turns along the target's row into the target: it
crosses no box.  A label is put at the first of a few places beside the arrow
where it covers no box; where there is none it is left out (the legend says
what the arrow means).
"""

from __future__ import annotations

from verifier.report.render_text import LINK_LABELS, pte_write_step
from verifier.report.svg_layout import Box, Layout, in_flight
from verifier.run.result import Step, Trace

LABEL_CHAR_W = 5.6  # width of a 10px sans-serif character, a little generous
LABEL_H = 11.0


def num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _covers(lx: float, ly: float, width: float, anchor: str, boxes: list[Box]) -> bool:
    """Whether a label at (lx, ly) (its baseline), ``width`` wide, overlaps a box."""
    x0 = {"start": lx, "end": lx - width, "middle": lx - width / 2}[anchor]
    top, bottom = ly - LABEL_H + 2, ly + 3
    return any(
        x0 < b.x + b.w and b.x < x0 + width and top < b.y + b.h and b.y < bottom for b in boxes
    )


def arrow(
    lay: Layout,
    a: Box,
    b: Box,
    cls: str,
    label: str,
    marker: str,
    track: int = 0,
) -> str:
    """An arrow from box a to box b that crosses no other box.

    Arrows within one lane run down its right margin.  Arrows of different
    kinds use different `track`s in the margin so they do not overlap.
    """
    (left_a, width_a), (left_b, _) = lay.lane_around(a), lay.lane_around(b)
    r = 6.0
    y1, y2 = a.mid_y, b.mid_y
    down = 1 if y2 >= y1 else -1
    if left_a == left_b:
        x1, x2 = a.x + a.w, b.x + b.w
        cx = left_a + width_a - 3 - 2 * track
        d = (
            f"M{num(x1)},{num(y1)} H{num(cx - r)} Q{num(cx)},{num(y1)} "
            f"{num(cx)},{num(y1 + down * r)} V{num(y2 - down * r)} "
            f"Q{num(cx)},{num(y2)} {num(cx - r)},{num(y2)} H{num(x2)}"
        )
    else:
        right = left_b > left_a
        sign = 1 if right else -1
        x1 = a.x + a.w if right else a.x
        x2 = b.x if right else b.x + b.w
        cx = left_a + width_a - 3 - 2 * track if right else left_a + 3 + 2 * track
        d = (
            f"M{num(x1)},{num(y1)} H{num(cx - sign * r)} Q{num(cx)},{num(y1)} "
            f"{num(cx)},{num(y1 + down * r)} V{num(y2 - down * r)} "
            f"Q{num(cx)},{num(y2)} {num(cx + sign * r)},{num(y2)} H{num(x2)}"
        )
    out = f'<path class="{cls}" d="{d}" marker-end="url(#{marker})"/>'
    if not label:
        return out
    label_cls = f"{cls}-label"
    if left_a == left_b:  # written down the margin, beside the arrow
        lx, ly = cx + 3, (y1 + y2) / 2
        return out + (
            f'<text class="{label_cls}" x="{num(lx)}" y="{num(ly)}" text-anchor="middle" '
            f'transform="rotate(90 {num(lx)} {num(ly)})">{_esc(label)}</text>'
        )
    width = len(label) * LABEL_CHAR_W
    away, toward = ("end", "start") if right else ("start", "end")
    candidates = (
        (cx - sign * 4, y2 - 4, away),  # above the turn into b's row, away from b
        (cx + sign * 10, y2 - 4, toward),  # above the last stretch into b
        (cx - sign * 4, y2 + 12, away),  # below the turn
        (cx + sign * 4, (y1 + y2) / 2, toward),  # beside the run down the margin
    )
    obstacles = lay.obstacles()
    for lx, ly, anchor in candidates:
        if not _covers(lx, ly, width, anchor, obstacles):
            return out + (
                f'<text class="{label_cls}" x="{num(lx)}" y="{num(ly)}" '
                f'text-anchor="{anchor}">{_esc(label)}</text>'
            )
    return out


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fills_from(trace: Trace, fill: Step) -> Step | None:
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


def arrows(trace: Trace, lay: Layout, race: Step | None, fill: Step | None) -> list[str]:
    """Links, still-buffered stores, and the stale fill's source and use, on top."""
    out: list[str] = []
    for step in trace.steps:
        for link in step.links:
            if link in lay.boxes and not (step is race and fill is not None and link == fill.index):
                label = LINK_LABELS.get(step.action, "")
                out.append(
                    arrow(lay, lay.boxes[link], lay.boxes[step.index], "link", label, "arrow")
                )
    if lay.pending is not None:
        for step in in_flight(trace):
            out.append(
                arrow(
                    lay,
                    lay.boxes[step.index],
                    lay.pending,
                    "pending",
                    "still buffered",
                    "arrow-pending",
                    track=2,
                )
            )
    if fill is not None:
        source_step = fills_from(trace, fill)
        if source_step is not None:
            out.append(
                arrow(
                    lay,
                    lay.boxes[source_step.index],
                    lay.boxes[fill.index],
                    "fills",
                    "fills from",
                    "arrow-fill",
                    track=1,
                )
            )
        if race is not None and race.index != fill.index:
            out.append(
                arrow(
                    lay,
                    lay.boxes[fill.index],
                    lay.boxes[race.index],
                    "uses",
                    "uses stale entry",
                    "arrow-race",
                )
            )
    return out
