"""A trace as one self-contained HTML page: the swimlane picture, the spec
source beside it, and step-by-step navigation.

No external assets: CSS and JS are inline, the SVG is embedded.  Navigation:
the buttons, the arrow keys (left/up back, right/down forward), Home/End, a
click on a step, or `#step=N` in the address.  The page opens at the racing
step (the whole trace visible); steps after the current one are faded, and the
current step is outlined in the picture and its line highlighted in the source.
"""

from __future__ import annotations

import json
import os

from verifier.report.render_svg import esc, render_svg
from verifier.report.render_text import (
    describe,
    kinds_at,
    length_text,
    params_text,
    race_step,
    render_text,
    stale_fill,
)
from verifier.run.result import Trace

CSS = """
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #111827; background: #fff; }
#tc-header { padding: 10px 16px 6px; border-bottom: 1px solid #e5e7eb; }
#tc-header h1 { font-size: 18px; margin: 0 0 2px; }
#tc-header h1 .kind { color: #b91c1c; }
#tc-header p { margin: 0; color: #4b5563; font-size: 13px; overflow-wrap: anywhere; }
#tc-nav { display: flex; gap: 8px; align-items: center; padding: 8px 16px;
  border-bottom: 1px solid #e5e7eb; position: sticky; top: 0; background: #fff; z-index: 2; }
#tc-nav button { font: inherit; padding: 3px 10px; border: 1px solid #9ca3af; border-radius: 4px;
  background: #f9fafb; cursor: pointer; flex: none; }
#tc-nav button:disabled { opacity: .4; cursor: default; }
#tc-counter { font-variant-numeric: tabular-nums; min-width: 7em; text-align: center; flex: none; }
#tc-current { flex: 1; min-width: 0; font-family: monospace; font-size: 13px;
  overflow-wrap: anywhere; }
#tc-current.race { color: #b91c1c; font-weight: bold; }
.tc-hint { color: #6b7280; font-size: 12px; flex: none; }
#tc-main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(260px, 30%);
  align-items: start; }
#tc-picture { padding: 8px; border-right: 1px solid #e5e7eb; min-width: 0; }
#tc-picture svg { display: block; width: 100%; height: auto; }
#tc-lanes { position: sticky; top: var(--nav-h, 48px); height: 22px; margin: -8px -8px 0;
  background: rgba(255, 255, 255, .94); border-bottom: 1px solid #e5e7eb; z-index: 1;
  overflow: hidden; }
#tc-lanes span { position: absolute; top: 3px; transform: translateX(-50%);
  font: bold 12px sans-serif; white-space: nowrap; color: #374151; }
#tc-picture .step { cursor: pointer; }
#tc-source { position: sticky; top: var(--nav-h, 48px);
  max-height: calc(100vh - var(--nav-h, 48px)); overflow-y: auto;
  font: 12px/1.5 monospace; padding: 8px 0; }
#tc-source h2, #tc-text h2 { font: bold 12px sans-serif; color: #6b7280; margin: 0 12px 6px; }
.src-line { white-space: pre-wrap; overflow-wrap: anywhere; padding: 0 12px 0 4.5em;
  text-indent: -4.5em; }
.src-line .ln { display: inline-block; width: 3.5em; margin-right: 1em; text-align: right;
  text-indent: 0; color: #9ca3af; user-select: none; }
.src-line.src-stale { background: #fef3c7; }
.src-line.src-race { background: #fee2e2; }
.src-line.src-current { background: #dbeafe; outline: 2px solid #2563eb; }
.src-missing { color: #6b7280; padding: 0 12px; font-family: sans-serif; }
#tc-text { border-top: 1px solid #e5e7eb; padding: 8px 0; }
#tc-text pre { margin: 0 12px; font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
"""

JS = """
(function () {
  var steps = JSON.parse(document.getElementById('tc-steps').textContent);
  var pos = steps.length - 1;
  var shown = false;
  function byId(id) { return document.getElementById(id); }
  var nav = byId('tc-nav');
  document.documentElement.style.setProperty('--nav-h', nav.offsetHeight + 'px');
  function barHeight() {
    // what stays on top while the page scrolls: the step bar and the lane heads
    var lanes = byId('tc-lanes');
    return nav.offsetHeight + (lanes ? lanes.offsetHeight : 0);
  }
  function placeLanes() {
    // the lanes' names in a row that stays in view, each over its lane's head
    var row = byId('tc-lanes');
    if (!row) { return; }
    var at = row.getBoundingClientRect().left;
    row.textContent = '';
    var heads = document.querySelectorAll('#tc-picture svg text.lane-head');
    for (var i = 0; i < heads.length; i++) {
      var r = heads[i].getBoundingClientRect(), s = document.createElement('span');
      s.textContent = heads[i].textContent;
      s.style.left = Math.round(r.left + r.width / 2 - at) + 'px';
      row.appendChild(s);
    }
  }
  window.addEventListener('resize', placeLanes);
  function reveal(els) {
    // scroll the page so that all of `els` are in view below the bar (or the last one)
    var top = Infinity, bottom = -Infinity;
    els.forEach(function (el) {
      if (!el) { return; }
      var r = el.getBoundingClientRect();
      top = Math.min(top, r.top); bottom = Math.max(bottom, r.bottom);
    });
    if (top === Infinity) { return; }
    var bar = barHeight(), room = window.innerHeight - bar;
    if (top >= bar && bottom <= window.innerHeight) { return; }
    var span = bottom - top, y;
    if (span < room) { y = window.scrollY + top - bar - (room - span) / 2; }
    else { y = window.scrollY + bottom - window.innerHeight + 8; }
    window.scrollTo(0, Math.max(0, y));
  }
  function show(p) {
    if (steps.length === 0) { return; }
    pos = Math.max(0, Math.min(steps.length - 1, p));
    var cur = steps[pos];
    var groups = document.querySelectorAll('#tc-picture g.step');
    for (var i = 0; i < groups.length; i++) {
      var g = groups[i], n = parseInt(g.getAttribute('data-step'), 10);
      g.classList.toggle('current', n === cur.index);
      g.classList.toggle('future', n > cur.index);
    }
    var lines = document.querySelectorAll('.src-line.src-current');
    for (var j = 0; j < lines.length; j++) { lines[j].classList.remove('src-current'); }
    var line = cur.line ? byId('L' + cur.line) : null;
    if (line) {
      line.classList.add('src-current');
      var pane = byId('tc-source');
      var top = line.offsetTop - pane.offsetTop;
      if (top < pane.scrollTop || top > pane.scrollTop + pane.clientHeight - 20) {
        pane.scrollTop = top - pane.clientHeight / 3;
      }
    }
    if (shown) { reveal([byId('step-' + cur.index)]); }
    shown = true;
    byId('tc-counter').textContent = 'step ' + (pos + 1) + ' / ' + steps.length;
    var desc = byId('tc-current');
    desc.textContent = cur.describe;
    desc.className = cur.kinds.length ? 'race' : '';
    // the bar grows when the step's description wraps: what sticks below it follows
    document.documentElement.style.setProperty('--nav-h', nav.offsetHeight + 'px');
    document.body.setAttribute('data-current', String(cur.index));
    byId('tc-first').disabled = byId('tc-prev').disabled = pos === 0;
    byId('tc-last').disabled = byId('tc-next').disabled = pos === steps.length - 1;
  }
  function go(index) {
    for (var i = 0; i < steps.length; i++) { if (steps[i].index === index) { show(i); } }
  }
  byId('tc-first').onclick = function () { show(0); };
  byId('tc-prev').onclick = function () { show(pos - 1); };
  byId('tc-next').onclick = function () { show(pos + 1); };
  byId('tc-last').onclick = function () { show(steps.length - 1); };
  document.addEventListener('keydown', function (e) {
    var k = e.key;
    if (k === 'ArrowRight' || k === 'ArrowDown') { show(pos + 1); }
    else if (k === 'ArrowLeft' || k === 'ArrowUp') { show(pos - 1); }
    else if (k === 'Home') { show(0); }
    else if (k === 'End') { show(steps.length - 1); }
    else { return; }
    e.preventDefault();
  });
  var groups = document.querySelectorAll('#tc-picture g.step');
  for (var i = 0; i < groups.length; i++) {
    groups[i].addEventListener('click', function () {
      go(parseInt(this.getAttribute('data-step'), 10));
    });
  }
  var m = /step=(\\d+)/.exec(window.location.hash);
  if (m) { shown = true; go(parseInt(m[1], 10)); }
  else {
    // open at the race with the steps that explain it in view, the picture made
    // smaller (down to 55%) if they are too far apart to fit
    show(pos);
    var keys = Array.prototype.slice.call(document.querySelectorAll(
      '#tc-picture g.step > .box-stale, #tc-picture g.step > .box-race, ' +
      '#tc-picture .blocked-box, #tc-picture .pending-box'));
    var svg = document.querySelector('#tc-picture svg');
    if (keys.length > 1 && svg) {
      var tops = keys.map(function (k) { return k.getBoundingClientRect().top; });
      var bottoms = keys.map(function (k) { return k.getBoundingClientRect().bottom; });
      var span = Math.max.apply(null, bottoms) - Math.min.apply(null, tops);
      var room = window.innerHeight - barHeight() - 16;
      if (span > room) {
        var w = svg.getBoundingClientRect().width;
        svg.style.width = Math.round(w * Math.max(room / span, 0.55)) + 'px';
      }
    }
    placeLanes();
    reveal(keys);
  }
  placeLanes();
})();
"""


def _json_for_script(data: object) -> str:
    """JSON that cannot end its <script> element early."""
    text = json.dumps(data, ensure_ascii=True, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _source_html(trace: Trace, source: str | None) -> str:
    if source is None:
        return f'<p class="src-missing">source not available ({esc(trace.file)})</p>'
    race = race_step(trace)
    p = trace.problem
    marks: dict[int, str] = {}
    if p.pte_span is not None:
        marks[p.pte_span.line] = "src-stale"
    race_span = race.span if race is not None else p.span
    if race_span is not None:
        marks[race_span.line] = "src-race"
    rows = []
    for n, text in enumerate(source.splitlines(), start=1):
        cls = "src-line" + (f" {marks[n]}" if n in marks else "")
        rows.append(f'<div class="{cls}" id="L{n}"><span class="ln">{n}</span>{esc(text)}</div>')
    return "\n".join(rows)


def _steps_data(trace: Trace) -> list[dict[str, object]]:
    fill = stale_fill(trace)
    out: list[dict[str, object]] = []
    for s in trace.steps:
        text = describe(s)
        kinds = kinds_at(s)
        if kinds:
            text += "  RACE: " + ", ".join(kinds)
        elif fill is not None and s.index == fill.index:
            text += "  (stale entry)"
        out.append(
            {
                "index": s.index,
                "line": s.span.line if s.span is not None else 0,
                "describe": text,
                "kinds": kinds,
            }
        )
    return out


def render_html(trace: Trace, source: str | None = None) -> str:
    """One self-contained page for a trace; `source` is the spec text, if known."""
    svg = render_svg(trace, source, title=False)  # the page has the title
    svg = svg[svg.index("<svg") :]  # drop the XML declaration inside HTML
    natural = svg[: svg.index(">")].split('width="', 1)[1].split('"', 1)[0]
    svg = svg.replace("<svg ", f'<svg style="max-width: {natural}px" ', 1)  # fit, never grow
    sub = [f"model {trace.model}"]
    if trace.params:
        sub.append(params_text(trace))
    sub += [length_text(trace), f"engine {trace.engine}", trace.file]
    title = f"{trace.kind} \u2014 {trace.spec}"
    subtitle = "  \u00b7  ".join(sub)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{CSS}</style>
</head>
<body data-current="">
<div id="tc-header">
<h1><span class="kind">{esc(trace.kind)}</span> \u2014 {esc(trace.spec)}</h1>
<p>{esc(subtitle)}</p>
</div>
<div id="tc-nav">
<button id="tc-first" title="first step (Home)">\u00ab first</button>
<button id="tc-prev" title="previous step (\u2190)">\u25c0 prev</button>
<span id="tc-counter">{len(trace.steps)} steps</span>
<button id="tc-next" title="next step (\u2192)">next \u25b6</button>
<button id="tc-last" title="last step (End)">last \u00bb</button>
<span id="tc-current"></span>
<span class="tc-hint">\u2190 \u2192 Home End</span>
</div>
<div id="tc-main">
<div id="tc-picture">
<div id="tc-lanes" aria-hidden="true"></div>
{svg}</div>
<div id="tc-source">
<h2 title="{esc(trace.file)}">{esc(os.path.basename(trace.file))}</h2>
{_source_html(trace, source)}
</div>
</div>
<div id="tc-text">
<h2>as text</h2>
<pre>{esc(render_text(trace))}</pre>
</div>
<script type="application/json" id="tc-steps">{_json_for_script(_steps_data(trace))}</script>
<script>{JS}</script>
</body>
</html>
"""
