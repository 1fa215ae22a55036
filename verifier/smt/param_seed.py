"""The candidate of a parameterised proof, inferred from the same spec at small N.

A spec whose only reduced core family (`symmetry.families`: no loop over it, no
store-buffer codes to rename) has as many instances as a `param` says is loaded
again with that param at 2 and at 3 (`resized`) and explored completely.  Its
fields split into the *global* ones (every core outside the family, memory,
page-table entries) and one *local* block per instance (its core's fields and the
words it owns).  Global fields whose values differ between the two sizes are
*counters* (`acks`, which counts up to N); the rest, ``h``, keep their values.

The candidate (`Candidate`) for the spec at its own N is what every seed state
shows, generalised over instances:

- ``h`` is one of the values seen (``glob``);
- every instance's block, with ``h``, is one of the pairs seen (``one``);
- every two instances' blocks, with ``h``, are one of the triples seen (``two``);
- each counter equals ``c(h) + sum over instances of w(h, block)``, integer
  weights fitted (by z3, exactly) to every seed state of both sizes (``counters``);
- per await a core can block at, a ranking ``c(h) + sum of w(h, block)`` fitted to
  each waiting seed state's distance to passing it (``ranks``; `hang` is decided
  with it, `param.py`).

Nothing here is trusted: `param.py` has z3 check the candidate at the spec's own N.
A candidate that is too weak or wrong there is reported as not found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import z3

from verifier.ir.system import System
from verifier.lang.checked import CheckedSpec
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load_text
from verifier.run.budget import Budget
from verifier.run.model import Model
from verifier.search.explicit import explore
from verifier.search.exploration import Exploration
from verifier.search.hang import await_views, passes
from verifier.search.symmetry import families, plan

SEEDS = (2, 3)  # family sizes explored to infer the candidate
SEED_STATES = 2_000_000  # a seed exploration larger than this: no candidate

Row = tuple[tuple[int, ...], tuple[tuple[int, ...], ...], int]  # h, sorted blocks, value
Weights = tuple[dict[tuple[tuple[int, ...], tuple[int, ...]], int], dict[tuple[int, ...], int]]
AwaitKey = tuple[int, int, int]  # (core, view: index in `hang.await_fields`, pc)


@dataclass(frozen=True)
class Shape:
    """Where the global fields and each instance's block lie in a System's state."""

    family: str
    glob: tuple[int, ...]
    loc: tuple[tuple[int, ...], ...]  # per instance, in instance order
    cores: tuple[int, ...]  # the family's cores, in instance order


def shape_of(m: Model) -> Shape | str:
    """The split of ``m``'s fields, or why a parameterised proof does not apply."""
    reduced = [f for f in families(m.program) if f.reduced]
    if len(reduced) != 1:
        return "it needs exactly one symmetric core family"
    fam = reduced[0]
    if fam.loop is not None:
        return f"a core loops over {fam.name}[*]"
    blocks = plan(m.system.meta["layout"], fam)
    if any(b.table is not None for b in blocks):
        return f"{fam.name}'s store buffers hold codes naming an instance"
    if any(m.system.cores[c].program_awaits or m.system.cores[c].handler_awaits for c in fam.cores):
        return f"{fam.name} has an await"
    loc = tuple(tuple(range(b.lo, b.hi)) + b.words for b in blocks)
    mine = {f for block in loc for f in block}
    glob = tuple(f for f in range(len(m.system.fields)) if f not in mine)
    return Shape(fam.name, glob, loc, fam.cores)


def names(m: Model, shape: Shape) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The global fields' names and instance 1's block's, its index blanked: what must
    agree between the seeds and the spec checked."""
    fs = m.system.fields
    first = re.compile(r"\[1\]")
    return tuple(fs[f].name for f in shape.glob), tuple(
        first.sub("[]", fs[f].name) for f in shape.loc[0]
    )


def resized(checked: CheckedSpec, family: str, size: int) -> CheckedSpec | None:
    """The spec with the param that sets ``family``'s size (`size_param`) set to
    ``size`` (None when no single param does, or the spec rejects the value)."""
    name = size_param(checked, family, size)
    return None if name is None else _load(checked, name, size)


def size_param(checked: CheckedSpec, family: str, size: int = 2) -> str | None:
    """The one param whose value is ``family``'s size and which, set to ``size`` and
    to ``size + 1``, gives the family as many instances (None when none or several)."""
    width = _width(checked, family)
    found = None
    for name, value in checked.params:
        if value != width:
            continue
        sizes = (size, size + 1)
        got = [_load(checked, name, v) for v in sizes]
        if all(g is not None and _width(g, family) == v for g, v in zip(got, sizes, strict=True)):
            if found is not None:
                return None
            found = name
    return found


def _load(checked: CheckedSpec, param: str, value: int) -> CheckedSpec | None:
    defines = [f"{p}={value if p == param else v}" for p, v in checked.params]
    try:
        return load_text(checked.source, checked.file, defines)
    except SpecError:
        return None


def _width(checked: CheckedSpec, family: str) -> int | None:
    return {n: hi - lo + 1 for n, lo, hi in checked.families}.get(family)


@dataclass
class Seed:
    """One complete exploration at a small size."""

    m: Model
    shape: Shape
    ex: Exploration

    def split(self, s: Sequence[int], hpos: Sequence[int]) -> tuple[tuple[int, ...], list]:
        g = [s[f] for f in self.shape.glob]
        return tuple(g[k] for k in hpos), [tuple(s[f] for f in b) for b in self.shape.loc]


def seeds_of(m: Model, shape: Shape, budget: Callable[[int], Budget]) -> list[Seed] | str:
    """Complete explorations of the spec at each of SEEDS (each within ``budget(states)``),
    or why not."""
    want = names(m, shape)
    out = []
    for size in SEEDS:
        checked = resized(m.checked, shape.family, size)
        if checked is None:
            return f"no param sets the size of {shape.family}"
        small = Model.of(checked, m.model)
        sh = shape_of(small)
        if isinstance(sh, str) or names(small, sh) != want:
            return f"the spec at {shape.family} size {size} has other fields"
        ex = explore(small.system, budget=budget(SEED_STATES), edges=True)
        if not ex.complete:
            return f"the spec at {shape.family} size {size} was not explored completely"
        out.append(Seed(small, sh, ex))
    return out


@dataclass
class Candidate:
    hpos: tuple[int, ...]  # positions in ``glob`` of the fields in h
    counters: list[tuple[int, Weights]]  # (position in glob, weights)
    glob: set[tuple[int, ...]] = field(default_factory=set)
    one: set[tuple[int, ...]] = field(default_factory=set)
    two: set[tuple[int, ...]] = field(default_factory=set)
    ranks: dict[AwaitKey, Weights] = field(default_factory=dict)
    unranked: str = ""  # why no ranking was fitted (hang then stays undecided)


def infer(seeds: list[Seed], stop: Callable[[], bool]) -> Candidate | str:
    """The candidate from complete seed explorations, or why none was found."""
    values: list[list[set[int]]] = []
    for sd in seeds:
        cols = [set() for _ in sd.shape.glob]
        for i in range(len(sd.ex.states)):
            s = sd.ex.state(i)
            for k, f in enumerate(sd.shape.glob):
                cols[k].add(s[f])
        values.append(cols)
    counted = [k for k in range(len(values[0])) if len({frozenset(v[k]) for v in values}) > 1]
    hpos = tuple(k for k in range(len(values[0])) if k not in counted)
    cand = Candidate(hpos, [])
    rows: dict[int, set[Row]] = {k: set() for k in counted}
    for sd in seeds:
        for i in range(len(sd.ex.states)):
            if i & 0xFFF == 0 and stop():
                return "out of time"
            s = sd.ex.state(i)
            h, blocks = sd.split(s, hpos)
            _project(cand, h, blocks)
            key = tuple(sorted(blocks))
            for k in counted:
                rows[k].add((h, key, s[sd.shape.glob[k]]))
    for k in counted:
        w = fit(rows[k])
        if w is None:
            name = seeds[0].m.system.fields[seeds[0].shape.glob[k]].name
            return f"no count of instances gives {name}"
        cand.counters.append((k, w))
    return _ranks(cand, seeds, stop)


def _project(cand: Candidate, h: tuple[int, ...], blocks: list[tuple[int, ...]]) -> None:
    cand.glob.add(h)
    for a in blocks:
        cand.one.add(h + a)
    for i, a in enumerate(blocks):
        for j, b in enumerate(blocks):
            if i != j:
                cand.two.add(h + a + b)


def fit(rows: set[Row]) -> Weights | None:
    """Integers ``c(h)`` and ``w(h, block)`` with ``value = c(h) + sum of w(h, block)``
    on every row, or None when there are none."""
    solver = z3.SolverFor("QF_LIA")
    ws: dict[tuple[tuple[int, ...], tuple[int, ...]], z3.ArithRef] = {}
    cs: dict[tuple[int, ...], z3.ArithRef] = {}
    for h, blocks, value in rows:
        c = cs.setdefault(h, z3.Int(f"c{len(cs)}"))
        terms = [ws.setdefault((h, b), z3.Int(f"w{len(ws)}")) for b in blocks]
        solver.add(c + z3.Sum(terms) == value)
    if solver.check() != z3.sat:
        return None
    md = solver.model()

    def val(v: z3.ArithRef) -> int:
        return md.eval(v, model_completion=True).as_long()

    return {k: val(v) for k, v in ws.items()}, {k: val(v) for k, v in cs.items()}


def _ranks(cand: Candidate, seeds: list[Seed], stop: Callable[[], bool]) -> Candidate | str:
    """Fit a ranking per await: a waiting seed state's distance to passing it (or say
    in ``unranked`` why there is none)."""
    rows: dict[AwaitKey, set[Row]] = {}
    for sd in seeds:
        for key, dist in distances(sd).items():
            if stop():
                return "out of time"
            if dist is None:
                core = sd.m.system.cores[key[0]].name
                cand.unranked = f"{core} hangs at {sd.shape.family} size {len(sd.shape.loc)}"
                return cand
            got = rows.setdefault(key, set())
            for i, d in dist.items():
                if d > 0:
                    h, blocks = sd.split(sd.ex.state(i), cand.hpos)
                    got.add((h, tuple(sorted(blocks)), d))
    for key, rs in rows.items():
        w = fit(rs)
        if w is None:
            cand.unranked = "no ranking of the instances' progress fits the waits"
            return cand
        cand.ranks[key] = w
    return cand


def distances(sd: Seed) -> dict[AwaitKey, dict[int, int] | None]:
    """Per await: each state waiting at it -> the fewest steps after which its core
    has passed it (fired it, or left the position); None when some waiting state
    never does (a hang at this size)."""
    ex, system = sd.ex, sd.m.system
    out: dict[AwaitKey, dict[int, int] | None] = {}
    for c, core in enumerate(system.cores):
        for view, (awaits, position) in enumerate(await_views(core)):
            pos = [position(ex.state(i)) for i in range(len(ex.states))]
            for p in sorted(awaits):
                fires = passes(system, ex.compiled, c, p)  # type: ignore[arg-type]
                out[(c, view, p)] = _distance(ex, pos, p, fires)
    return out


def await_keys(system: System) -> list[AwaitKey]:
    """Every await a core can block at, as (core, view, pc)."""
    return [
        (c, view, p)
        for c, core in enumerate(system.cores)
        for view, (awaits, _) in enumerate(await_views(core))
        for p in sorted(awaits)
    ]


def _distance(
    ex: Exploration, pos: list[int], p: int, fires: Callable[[tuple[int, ...]], bool]
) -> dict[int, int] | None:
    dist: dict[int, int] = {}
    preds: dict[int, list[int]] = {}
    layer: list[int] = []
    ones: list[int] = []
    inside = [i for i, q in enumerate(pos) if q == p]
    for i in inside:
        if fires(ex.state(i)):
            dist[i] = 0
            layer.append(i)
            continue
        for e in range(ex.succ_off[i], ex.succ_off[i + 1]):
            j = ex.succ[e]
            if pos[j] != p:
                ones.append(i)
            else:
                preds.setdefault(j, []).append(i)
    d = 0
    while layer or ones:
        nxt = [i for i in dict.fromkeys(ones) if i not in dist]
        ones = []
        for i in nxt:
            dist[i] = d + 1
        for j in layer:
            for i in preds.get(j, ()):
                if i not in dist:
                    dist[i] = d + 1
                    nxt.append(i)
        layer, d = nxt, d + 1
    return dist if len(dist) == len(inside) else None
