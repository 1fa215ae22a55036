"""The happens-before graph of a trace, as a networkx graph and as DOT text.

Nodes are steps (plus one node for the initial page table when a stale entry
was filled from it).  Edges, each with a ``kind`` attribute:

  program-order  consecutive instructions of one core (walker fills and memory
                 events are not instructions, so they take no part)
  link           a step completing an earlier one: drain <- buffered store,
                 IPI queued <- sent, handler entered <- queued
  fills-from     the stale walker fill <- the PTE write (or its drain) it read
  reads-from     a step <- the step whose value it read, when the trace says
                 (``Step.reads_from``, if the engine provides it)
  uses           the racing access <- the fill whose TLB entry it used
  walks-before   the walk that filled the stale entry -> the newer PTE write's
                 drain (or a "still buffered" node): the walker read memory
                 before that write reached it
  reaches        a broadcast `tlbi` (arm) -> a node in each other core's lane it
                 reached: the invalidation is performed there too

An arm `dsb` that waited for tlbis or in-flight accesses has `link` edges from
them, labelled "waits for".

In DOT, edges between the same two steps are drawn as one, their labels joined
(the most telling kind gives the style).  The DOT writer is our own (no pydot):
deterministic, clusters per lane.
"""

from __future__ import annotations

import re

import networkx as nx

from verifier.report.render_text import (
    LINK_LABELS,
    MEMORY,
    MEMORY_ACTIONS,
    kinds_at,
    lane_of,
    page_of,
    pte_write_step,
    race_step,
    stale_fill,
)
from verifier.run.result import Step, Trace

INITIAL = "initial"

_EDGE_STYLE = {
    "program-order": 'color="#6b7280"',
    "link": 'color="#2563eb"',
    "fills-from": 'color="#d97706", style=dashed',
    "reads-from": 'color="#059669", style=dashed',
    "uses": 'color="#dc2626", style=bold',
    "walks-before": 'color="#b45309", style=bold',
    "reaches": 'color="#7c3aed", style=dotted',
}
# which kind styles a merged edge: the first of these present
_PRECEDENCE = (
    "uses",
    "walks-before",
    "fills-from",
    "link",
    "reaches",
    "reads-from",
    "program-order",
)
PENDING = "pending"
_READ = re.compile(r"(\S+ = -?\d+) from (?:memory|own store buffer)")


def node_id(index: int) -> str:
    return f"s{index}"


def happens_before(trace: Trace) -> nx.MultiDiGraph:
    """The graph described in the module docstring."""
    g = nx.MultiDiGraph(name=trace.spec, kind=trace.kind, model=trace.model)
    race = race_step(trace)
    fill = stale_fill(trace)
    known = {s.index for s in trace.steps}
    for step in trace.steps:
        attrs = {
            "core": step.core,
            "action": step.action,
            "text": step.text,
            "effect": step.effect,
            "location": step.location(),
            "lane": lane_of(step),
            "in_handler": step.in_handler,
            "role": "",
        }
        if fill is not None and step.index == fill.index:
            attrs["role"] = "stale-fill"
        if race is not None and step.index == race.index:
            attrs["role"] = "race: " + ", ".join(kinds_at(step))
        g.add_node(node_id(step.index), **attrs)
    last: dict[str, int] = {}
    for step in trace.steps:
        if step.action in MEMORY_ACTIONS or step.action == "fill":
            continue
        if step.core in last:
            g.add_edge(node_id(last[step.core]), node_id(step.index), kind="program-order")
        last[step.core] = step.index
    for step in trace.steps:
        for link in step.links:
            if link in known:
                g.add_edge(
                    node_id(link),
                    node_id(step.index),
                    kind="link",
                    label=LINK_LABELS.get(step.action, "link"),
                )
        reads_from = getattr(step, "reads_from", None)
        if isinstance(reads_from, int) and reads_from in known:
            value = _READ.search(step.effect)
            label = f"reads {value.group(1)}" if value else "reads-from"
            g.add_edge(node_id(reads_from), node_id(step.index), kind="reads-from", label=label)
    if fill is not None:
        writer = pte_write_step(trace, trace.problem, fill.index)
        if writer is not None:
            drains = [
                s.index
                for s in trace.steps
                if s.action == "drain" and writer.index in s.links and s.index < fill.index
            ]
            src = node_id(drains[-1] if drains else writer.index)
        else:
            src = INITIAL
            g.add_node(
                INITIAL,
                core="",
                action="initial",
                lane=MEMORY,
                role="",
                text=trace.problem.pte_stmt or "initial page table",
                effect="",
                location=str(trace.problem.pte_span or ""),
                in_handler=False,
            )
        g.add_edge(src, node_id(fill.index), kind="fills-from")
        if race is not None and race.index != fill.index:
            g.add_edge(node_id(fill.index), node_id(race.index), kind="uses")
    _reaches(g, trace)
    walk = fill or (race if race is not None and "walker fills" in race.effect else None)
    if walk is not None:
        _walks_before(g, trace, walk)
    return g


def _reaches(g: nx.MultiDiGraph, trace: Trace) -> None:
    """A broadcast tlbi's reach: one node per other core it reached, in that core's lane."""
    for step in trace.steps:
        for core in getattr(step, "reach", ()) or ():
            if core == step.core:
                continue
            node = f"{node_id(step.index)}@{core}"
            g.add_node(
                node,
                core=core,
                action="reach",
                lane=core,
                role="",
                text=f"step {step.index}'s `{step.text}` performed here",
                effect="",
                location="",
                in_handler=False,
            )
            g.add_edge(node_id(step.index), node, kind="reaches", label=f"reaches {core}")


def _walks_before(g: nx.MultiDiGraph, trace: Trace, walk: Step) -> None:
    """The newer write of the walked PTE, issued before the walk but not yet in memory
    when the walker read it: an edge from the walk to its drain, or to a node saying
    it is still buffered at the end."""
    page = page_of(walk.text) if walk.action != "fill" else None
    writes = [
        s
        for s in trace.steps
        if s.index < walk.index
        and s.action == "store-buffered"
        and s.text.startswith("pte ")
        and (page is None or page_of(s.text.split(":=")[0]) == page)
    ]
    if not writes:
        return
    write = writes[-1]
    drains = [s for s in trace.steps if s.action == "drain" and write.index in s.links]
    if drains and drains[0].index < walk.index:
        return  # it was in memory when the walker read
    label = f"walks before step {write.index}'s PTE write reaches memory"
    if drains:
        g.add_edge(node_id(walk.index), node_id(drains[0].index), kind="walks-before", label=label)
        return
    g.add_node(
        PENDING,
        core=write.core,
        action="pending",
        lane=MEMORY,
        role="",
        text=f"{write.text} (step {write.index})",
        effect="still in the store buffer at the end",
        location="",
        in_handler=False,
    )
    g.add_edge(node_id(walk.index), PENDING, kind="walks-before", label=label)


def _q(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(g: nx.MultiDiGraph) -> str:
    """DOT text of a happens-before graph; nodes clustered by lane, in node order."""
    lines = [
        f"digraph {_q(str(g.graph.get('name', 'trace')))} {{",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", '
        'fontname="monospace", fontsize=10];',
        '  edge [fontname="sans-serif", fontsize=9];',
    ]
    lanes: dict[str, list[str]] = {}
    for node, data in g.nodes(data=True):
        lanes.setdefault(str(data.get("lane", "")), []).append(str(node))
    for n, (lane, nodes) in enumerate(lanes.items()):
        lines.append(f"  subgraph cluster_{n} {{")
        lines.append(
            f'    label={_q(lane)}; style=filled; color="#e5e7eb"; '
            f'fillcolor="{"#eef2ff" if lane == MEMORY else "#f9fafb"}";'
        )
        for node in nodes:
            lines.append(f"    {_q(node)} [{_node_attrs(node, g.nodes[node])}];")
        lines.append("  }")
    merged: dict[tuple[str, str], list[dict[str, object]]] = {}
    for u, v, data in g.edges(data=True):
        merged.setdefault((str(u), str(v)), []).append(data)
    for (u, v), edges in merged.items():
        kinds = [str(d.get("kind", "")) for d in edges]
        kind = next((k for k in _PRECEDENCE if k in kinds), kinds[0])
        texts = [
            str(d.get("label", d.get("kind", "")))
            for d in edges
            if d.get("kind") != "program-order"
        ]
        label = f"label={_q(' + '.join(dict.fromkeys(texts)))}" if texts else ""
        attrs = ", ".join(a for a in (label, _EDGE_STYLE.get(kind, "")) if a)
        lines.append(f"  {_q(u)} -> {_q(v)} [{attrs}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node_attrs(node: str, data: dict[str, object]) -> str:
    head = node[1:] + ". " if node not in (INITIAL, PENDING) and "@" not in node else ""
    core = f"{data['core']}: " if data.get("core") else ""
    label = f"{head}{core}{data.get('text', '')}"
    if data.get("effect"):
        label += f"\n{data['effect']}"
    if data.get("location"):
        label += f"\n{data['location']}"
    role = str(data.get("role", ""))
    if role:
        label += f"\n{role}"
    attrs = [f"label={_q(label)}"]
    if role.startswith("race"):
        attrs.append('fillcolor="#fee2e2", color="#dc2626", penwidth=2')
    elif role == "stale-fill":
        attrs.append('fillcolor="#fef3c7", color="#d97706", penwidth=2')
    elif data.get("action") == "reach":
        attrs.append('shape=note, fillcolor="#f5f3ff", color="#7c3aed"')
    elif data.get("action") == "fill":
        attrs.append('style="rounded,filled,dashed"')
    elif data.get("in_handler"):
        attrs.append('fillcolor="#ecfdf5"')
    return ", ".join(attrs)


def render_dot(trace: Trace) -> str:
    """The happens-before graph of `trace` as DOT text."""
    return to_dot(happens_before(trace))
