"""The look of the swimlane diagram: its stylesheet and the colours of its arrow heads."""

from __future__ import annotations

STYLE = """
.bg { fill: #ffffff; }
.title { font: bold 15px sans-serif; fill: #111827; }
.subtitle { font: 12px sans-serif; fill: #4b5563; }
.lane-even { fill: #f9fafb; }
.lane-odd { fill: #f3f4f6; }
.lane-mem { fill: #eef2ff; }
.lane-head { font: bold 13px sans-serif; fill: #111827; text-anchor: middle; }
.lane-head.lane-idle { font: 10px sans-serif; fill: #6b7280; }
.lane-head.lane-hang { fill: #b91c1c; }
.idle { font: italic 9px sans-serif; fill: #9ca3af; text-anchor: middle; }
.lifeline { stroke: #d1d5db; stroke-width: 1; stroke-dasharray: 2 4; }
.num { font: 11px monospace; fill: #6b7280; text-anchor: end; }
.box { fill: #ffffff; stroke: #9ca3af; stroke-width: 1; }
.box-mem { fill: #e0e7ff; stroke: #6366f1; }
.box-walker { fill: #f0fdfa; stroke: #0d9488; }
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
.box-pending { fill: #f9fafb; stroke: #374151; stroke-width: 1.5; stroke-dasharray: 2 3; }
.pending-head { font: italic 11px sans-serif; fill: #374151; }
.pending-item { font: bold 11px monospace; fill: #374151; }
.pending { fill: none; stroke: #6b7280; stroke-width: 1.5; stroke-dasharray: 6 3; }
.pending-label { font: 10px sans-serif; fill: #374151; }
.box-blocked { fill: #fee2e2; stroke: #dc2626; stroke-width: 2; stroke-dasharray: 6 3; }
.blocked-head { font: bold 11px monospace; fill: #b91c1c; }
.blocked-item { font: 11px monospace; fill: #7f1d1d; }
.reach { fill: #7c3aed; stroke: #ffffff; stroke-width: 1; }
.reach-line { fill: none; stroke: #7c3aed; stroke-width: 1.5; stroke-dasharray: 1 3; }
.box-wait { fill: #f5f3ff; stroke: #7c3aed; stroke-width: 1.5; stroke-dasharray: 8 2 2 2; }
.step.current .box { stroke: #111827; stroke-width: 3; }
.step.future { opacity: 0.3; }
"""

MARKER_COLORS = (
    ("arrow", "#2563eb"),
    ("arrow-fill", "#d97706"),
    ("arrow-race", "#dc2626"),
    ("arrow-pending", "#6b7280"),
)
