"""`tlbcheck cost --plot`: the initiator's latency against the core count, one line per spec.

A self-contained SVG (no script, no external font or file): the x axis is the
core count on a log-2 scale, the y axis the latency from the initiator's first
statement to `complete` in microseconds on a log-10 scale (so a 0.3 µs lazy
protocol and a 50 µs broadcast both read), one coloured line and marker shape per
spec with a legend naming it.  A run whose initiator never finishes is drawn as
a hollow marker at the time the run stopped and the legend says so; a spec
without cores has no point, only its legend row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
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


def _ticks(lo_us: float, hi_us: float) -> list[float]:
    """1-2-5 ticks (µs) on a log scale: the largest at or below ``lo_us`` up to the first at
    or above ``hi_us``."""
    e = math.floor(math.log10(lo_us))
    values = [m * 10.0**k for k in range(e, e + 12) for m in (1, 2, 5)]
    start = max(i for i, v in enumerate(values) if v <= lo_us * 1.0001)
    end = next(i for i, v in enumerate(values) if v >= hi_us * 0.9999)
    return values[start : max(end, start + 1) + 1]


def _fmt(v: float) -> str:
    return f"{round(v, 6):g}"


def _marker(shape: int, x: float, y: float, color: str, filled: bool) -> str:
    fill = color if filled else "#ffffff"
    style = f'fill="{fill}" stroke="{color}" stroke-width="2"'
    if shape % 3 == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" {style}/>'
    if shape % 3 == 1:
        return f'<rect x="{x - 4.5:.1f}" y="{y - 4.5:.1f}" width="9" height="9" {style}/>'
    pts = f"{x:.1f},{y - 6:.1f} {x + 6:.1f},{y + 4.5:.1f} {x - 6:.1f},{y + 4.5:.1f}"
    return f'<polygon points="{pts}" {style}/>'


@dataclass(frozen=True)
class _Scale:
    """Where a (cores, latency) point is drawn: both axes logarithmic."""

    lo_x: int
    hi_x: int
    lo_y: float
    hi_y: float

    def px(self, cores: int) -> float:  # 3% of padding each side keeps markers off the frame
        lo, hi = math.log2(self.lo_x), math.log2(self.hi_x)
        frac = (math.log2(cores) - lo) / (hi - lo)
        return LEFT + (WIDTH - LEFT - RIGHT) * (0.03 + 0.94 * frac)

    def py(self, ns: float) -> float:
        frac = (math.log10(max(ns, 1.0) / 1000) - self.lo_y) / (self.hi_y - self.lo_y)
        return TOP + PLOT_HEIGHT * (1 - (0.03 + 0.94 * frac))


def render_cost_chart(series: list[Series], title: str) -> str:
    """The chart as SVG text."""
    series = [replace(s, points=tuple(p for p in s.points if p.cores >= 1)) for s in series]
    pts = [p for s in series for p in s.points]
    xs = [p.cores for p in pts] or [2]
    lo_x = 2 ** math.floor(math.log2(max(1, min(xs))))
    hi_x = 2 ** math.ceil(math.log2(max(2, max(xs))))
    if hi_x == lo_x:
        hi_x *= 2
    values = [max(p.latency_ns, 1.0) / 1000 for p in pts] or [1.0]
    ticks = _ticks(min(values), max(values))
    lo_y, hi_y = math.log10(ticks[0]), math.log10(ticks[-1])
    if hi_y == lo_y:
        hi_y += 1
    scale = _Scale(lo_x, hi_x, lo_y, hi_y)
    height = TOP + PLOT_HEIGHT + 70 + 20 * len(series)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="13">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{WIDTH / 2}" y="26" text-anchor="middle" font-size="16" '
        f'font-weight="bold">{escape(title)}</text>',
    ]
    out += _axes(scale, ticks)
    label_y = _end_label_ys(scale, series)
    for i, s in enumerate(series):
        out += _series(scale, i, s, label_y.get(i, 0.0))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _axes(scale: _Scale, ticks: list[float]) -> list[str]:
    """The grid, the tick labels and the axis titles."""
    pw, ph = WIDTH - LEFT - RIGHT, PLOT_HEIGHT
    out = []
    for v in ticks:  # horizontal grid and y labels
        y = scale.py(v * 1000)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + pw}" y2="{y:.1f}" stroke="#e3e3e3"/>'
        )
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{_fmt(v)}</text>')
    c = scale.lo_x
    while c <= scale.hi_x:  # vertical grid and x labels
        x = scale.px(c)
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
        "latency to complete (µs, log scale)</text>"
    )
    return out


LABEL_H = 15.0  # a 13px label's line
LABEL_CHAR_W = 7.5  # width of one of its characters, generously


def _end_label(scale: _Scale, s: Series) -> tuple[float, float, bool, str] | None:
    """(x, y, left, text) of a series' last-value label: left of its point in the right
    half of the plot, right of it otherwise; None without points."""
    if not s.points:
        return None
    last = max(s.points, key=lambda p: p.cores)
    x = scale.px(last.cores)
    left = x > LEFT + (WIDTH - LEFT - RIGHT) / 2
    return x, scale.py(last.latency_ns) - 9, left, f"{last.latency_ns / 1000:.2f} µs"


def _end_label_ys(scale: _Scale, series: list[Series]) -> dict[int, float]:
    """The y of each series' last-value label, moved down until it overlaps no label
    placed before it (placed top to bottom), so two close values never overprint."""
    spans: list[tuple[float, float, float]] = []  # (x0, x1, y) of labels placed
    out: dict[int, float] = {}
    labels = [(i, lab) for i, s in enumerate(series) if (lab := _end_label(scale, s))]
    for i, (x, y, left, text) in sorted(labels, key=lambda il: il[1][1]):
        w = LABEL_CHAR_W * len(text)
        x0, x1 = (x - 9 - w, x - 9) if left else (x + 9, x + 9 + w)
        moved = True
        while moved:
            moved = False
            for a0, a1, ay in spans:
                if x0 < a1 and a0 < x1 and abs(y - ay) < LABEL_H:
                    y, moved = ay + LABEL_H, True
        spans.append((x0, x1, y))
        out[i] = y
    return out


def _series(scale: _Scale, i: int, s: Series, label_y: float) -> list[str]:
    """One series: its line, markers, last value and legend entry."""
    px, py = scale.px, scale.py
    ph = PLOT_HEIGHT
    out = []
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
    end = _end_label(scale, s)
    if end is not None:  # the last value, written beside its point (`_end_label_ys`)
        x, _, left, text = end
        out.append(
            f'<text class="end-label" x="{x - 9 if left else x + 9:.1f}" y="{label_y:.1f}" '
            f'text-anchor="{"end" if left else "start"}" fill="{color}">{text}</text>'
        )
    ly = TOP + ph + 64 + 20 * i
    out.append(
        f'<line x1="{LEFT}" y1="{ly - 4}" x2="{LEFT + 34}" y2="{ly - 4}" stroke="{color}" '
        f'stroke-width="2.5"{f" stroke-dasharray={chr(34)}{dash}{chr(34)}" if dash else ""}/>'
    )
    out.append(_marker(i, LEFT + 17, ly - 4, color, True))
    label = s.label + (f" — {s.note}" if s.note else "")
    out.append(f'<text x="{LEFT + 44}" y="{ly}">{escape(label)}</text>')
    return out
