"""`tlbcheck cost --plot`: the initiator's latency against the core count, one line per spec.

A self-contained SVG (no script, no external font or file): the x axis is the
core count on a log-2 scale, the y axis the latency from the initiator's first
statement to `complete` in microseconds, one coloured line and marker shape per
spec with a legend naming it.  A run whose initiator never finishes is drawn as
a hollow marker at the time the run stopped and the legend says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

WIDTH, PLOT_HEIGHT = 860, 330
LEFT, RIGHT, TOP = 84, 28, 58  # plot margins; the legend sits below the plot, a row per spec
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "8 4", "3 3", "10 3 2 3", "1 3", "6 2", "12 6")


@dataclass(frozen=True)
class Point:
    cores: int
    latency_ns: float
    finished: bool


@dataclass(frozen=True)
class Series:
    label: str  # the spec's title and file
    points: tuple[Point, ...]
    note: str = ""  # e.g. "fixed at 2 cores" or "initiator never finishes"


def _nice_step(span: float) -> float:
    """A 1-2-5 step giving about five ticks over ``span``."""
    raw = span / 5 if span > 0 else 1.0
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def _fmt(v: float) -> str:
    return f"{v:g}" if v >= 0.01 or v == 0 else f"{v:.3f}"


def _marker(shape: int, x: float, y: float, color: str, filled: bool) -> str:
    fill = color if filled else "#ffffff"
    style = f'fill="{fill}" stroke="{color}" stroke-width="2"'
    if shape % 3 == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" {style}/>'
    if shape % 3 == 1:
        return f'<rect x="{x - 4.5:.1f}" y="{y - 4.5:.1f}" width="9" height="9" {style}/>'
    pts = f"{x:.1f},{y - 6:.1f} {x + 6:.1f},{y + 4.5:.1f} {x - 6:.1f},{y + 4.5:.1f}"
    return f'<polygon points="{pts}" {style}/>'


def render_cost_chart(series: list[Series], title: str) -> str:
    """The chart as SVG text."""
    pts = [p for s in series for p in s.points]
    xs = [p.cores for p in pts] or [2]
    lo_x = 2 ** math.floor(math.log2(max(1, min(xs))))
    hi_x = 2 ** math.ceil(math.log2(max(2, max(xs))))
    if hi_x == lo_x:
        hi_x *= 2
    top_us = max([p.latency_ns / 1000 for p in pts] or [1.0])
    step = _nice_step(top_us)
    hi_y = step * math.ceil(top_us / step) if top_us > 0 else step
    pw, ph = WIDTH - LEFT - RIGHT, PLOT_HEIGHT
    height = TOP + ph + 70 + 20 * len(series)

    def px(cores: int) -> float:
        return LEFT + pw * (math.log2(cores) - math.log2(lo_x)) / (
            math.log2(hi_x) - math.log2(lo_x)
        )

    def py(ns: float) -> float:
        return TOP + ph * (1 - (ns / 1000) / hi_y)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="13">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{WIDTH / 2}" y="26" text-anchor="middle" font-size="16" '
        f'font-weight="bold">{escape(title)}</text>',
    ]
    k = 0
    while k * step <= hi_y + 1e-9:  # horizontal grid and y labels
        y = py(k * step * 1000)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + pw}" y2="{y:.1f}" stroke="#e3e3e3"/>'
        )
        out.append(
            f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{_fmt(k * step)}</text>'
        )
        k += 1
    c = lo_x
    while c <= hi_x:  # vertical grid and x labels
        x = px(c)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + ph}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{x:.1f}" y="{TOP + ph + 18}" text-anchor="middle">{c}</text>')
        c *= 2
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    out.append(
        f'<text x="{LEFT + pw / 2}" y="{TOP + ph + 40}" text-anchor="middle">'
        "cores (log scale)</text>"
    )
    out.append(
        f'<text transform="translate(22,{TOP + ph / 2}) rotate(-90)" text-anchor="middle">'
        "latency to complete (µs)</text>"
    )
    for i, s in enumerate(series):
        color, dash = COLORS[i % len(COLORS)], DASHES[i % len(DASHES)]
        ordered = sorted(s.points, key=lambda p: p.cores)
        if len(ordered) > 1:
            path = " ".join(f"{px(p.cores):.1f},{py(p.latency_ns):.1f}" for p in ordered)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" '
                f'stroke-width="2.5"{dash_attr}/>'
            )
        for p in ordered:
            out.append(_marker(i, px(p.cores), py(p.latency_ns), color, p.finished))
        ly = TOP + ph + 64 + 20 * i
        out.append(
            f'<line x1="{LEFT}" y1="{ly - 4}" x2="{LEFT + 34}" y2="{ly - 4}" stroke="{color}" '
            f'stroke-width="2.5"{f" stroke-dasharray={chr(34)}{dash}{chr(34)}" if dash else ""}/>'
        )
        out.append(_marker(i, LEFT + 17, ly - 4, color, True))
        label = s.label + (f" — {s.note}" if s.note else "")
        out.append(f'<text x="{LEFT + 44}" y="{ly}">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
