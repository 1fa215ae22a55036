"""Symmetry reduction over core families: one stored state per orbit.

The instances of a family (`core cpu[1..N]`) run the same code, so permuting
them maps executions to executions.  Whether that holds for a given spec is
decided from the lowered Program (`families`): a family is reduced only when
swapping two of its instances, together with the per-core words they own
(`seen[cpu[i]]`), the IPI targets that name them and the store-buffer codes that
stand for their IPIs, maps every core's code and every word declaration onto
itself; nothing else can tell the instances apart.

The search (`explicit.py`) looks states up by their canonical form (`Canon`:
the family's per-core blocks sorted), but stores and expands the first concrete
state it met of each orbit.  Parent links are therefore real transitions of the
unreduced machine, and since every orbit's first state in breadth-first order
is expanded in the same order as without reduction, traces are exactly those of
the unreduced search.

Families whose code contains an `await` are not reduced: hang analysis follows
one core's position along the edges of the explored graph, and an edge between
two orbit representatives may rename the family's cores.

A core looping over the family (`for c in cpu[*]`) names each instance in turn:
`symmetry_loops.py` explores that loop in any order and keeps the family reduced.

Twins (instances alike in a state, whose steps a search skips): `twins.py`.

Weak models: `symmetry_arm.py` (under `arm`, each instance's own fields go with it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import pairwise

from verifier.ir import program as P
from verifier.ir.system import Command, System
from verifier.machine.layout import Layout
from verifier.search import symmetry_loops as L
from verifier.search.symmetry_arm import arm_fields, weak_exclusions
from verifier.search.twins import TwinsFn, keys_source, twins_source

CanonFn = Callable[[bytes], bytes]

_INSTANCE = re.compile(r"^(\w+)\[(\d+)\]$")


@dataclass(frozen=True)
class Family:
    name: str
    cores: tuple[int, ...]  # core indices, in index order
    words: tuple[tuple[int, ...], ...]  # per instance: addresses of the words it owns
    reduced: bool
    why: str  # why not reduced ("" when reduced)
    loop: tuple[int, tuple[P.ForLoop, ...]] | None = None  # the core looping over it, its loops


def _instances(prog: P.Program) -> dict[str, list[tuple[int, int]]]:
    """family -> [(instance index, core)] from the names `cpu[1]`, `cpu[2]`, ..."""
    out: dict[str, list[tuple[int, int]]] = {}
    for c, core in enumerate(prog.cores):
        m = _INSTANCE.match(core.name)
        if m:
            out.setdefault(m.group(1), []).append((int(m.group(2)), c))
    return out


def _owned_words(prog: P.Program, indices: list[int]) -> dict[int, tuple[int, ...]]:
    """instance index -> the per-core words `v[index]` (every var with one word per
    instance of exactly this index set, in declaration order)."""
    per_var: dict[str, dict[int, int]] = {}
    for a, w in enumerate(prog.words):
        m = _INSTANCE.match(w.name)
        if m:
            per_var.setdefault(m.group(1), {})[int(m.group(2))] = a
    owned: dict[int, list[int]] = {i: [] for i in indices}
    for byidx in per_var.values():
        if sorted(byidx) == sorted(indices):
            for i in indices:
                owned[i].append(byidx[i])
    return {i: tuple(ws) for i, ws in owned.items()}


class _Renamer:
    """Applies a permutation of cores (and of the words they own) to instructions."""

    def __init__(self, cores: dict[int, int], words: dict[int, int]) -> None:
        self.cores, self.words = cores, words

    def addr(self, a: int) -> int:
        return self.words.get(a, a)

    def expr(self, e: P.LExpr) -> P.LExpr:
        match e:
            case P.LWord(addr=a):
                return P.LWord(self.addr(a))
            case P.LUn(op=o, arg=x):
                return P.LUn(o, self.expr(x))
            case P.LBin(op=o, left=x, right=y):
                return P.LBin(o, self.expr(x), self.expr(y))
        return e

    def instr(self, ins: P.Instr) -> P.Instr:
        match ins:
            case P.IStore(addr=a, value=v):
                return replace(ins, addr=self.addr(a), value=self.expr(v))
            case P.IAtomic(addr=a, args=xs):
                return replace(ins, addr=self.addr(a), args=tuple(self.expr(x) for x in xs))
            case P.IAssign(value=v):
                return replace(ins, value=self.expr(v))
            case P.IAwait(cond=v) | P.IBranch(cond=v) | P.IAssert(cond=v):
                return replace(ins, cond=self.expr(v))
            case P.IIpi(targets=ts, args=xs):
                return replace(
                    ins,
                    targets=tuple(sorted(self.cores.get(t, t) for t in ts)),
                    args=tuple(self.expr(x) for x in xs),
                )
        return ins

    def core(self, core: P.Core) -> P.Core:
        return replace(core, name="", code=tuple(self.instr(i) for i in core.code))


def _words_read(e: P.LExpr) -> set[int]:
    match e:
        case P.LWord(addr=a):
            return {a}
        case P.LUn(arg=x):
            return _words_read(x)
        case P.LBin(left=x, right=y):
            return _words_read(x) | _words_read(y)
    return set()


def _words_named(ins: P.Instr) -> set[int]:
    """Addresses of the shared words an instruction reads or writes."""
    out: set[int] = {ins.addr} if isinstance(ins, P.IStore | P.IAtomic) else set()
    for name in ("value", "cond"):
        if hasattr(ins, name):
            out |= _words_read(getattr(ins, name))
    for x in getattr(ins, "args", ()):
        out |= _words_read(x)
    return out


def _rename(cores: dict[int, int], words: dict[int, int], ins: P.Instr) -> P.Instr:
    return _Renamer(cores, words).instr(ins)


def _why_not(
    prog: P.Program,
    cores: list[int],
    owned: dict[int, tuple[int, ...]],
    loop: tuple[int, tuple[P.ForLoop, ...]] | None,
) -> str:
    """Why permuting ``cores`` is not a symmetry of ``prog`` ("" when it is); with
    ``loop``, of ``prog`` with that loop visiting the family in any order."""
    if len(cores) < 2:
        return "one instance"
    if any(isinstance(i, P.IAwait) for c in cores for i in prog.cores[c].code):
        return "its code has an await (hang analysis follows one core)"
    words = list(owned.values())
    family_words = {a for ws in words for a in ws}
    for k, c in enumerate(cores):
        named = set().union(*(_words_named(i) for i in prog.cores[c].code))
        if (named & family_words) - set(words[k]):
            return f"{prog.cores[c].name} names another instance's word"
    if loop is not None:
        why = L.copies_why(prog, loop[0], loop[1], words, _words_named, _rename)
        if why:
            return why
        prog = replace(prog, cores=_masked(prog, loop))
    for c, core in enumerate(prog.cores):
        if c not in cores and set().union(*(_words_named(i) for i in core.code)) & family_words:
            return f"{core.name} names a word of one instance"
    for k in range(1, len(cores)):
        a, b = cores[0], cores[k]
        cmap = {a: b, b: a}
        wmap = {x: y for x, y in zip(words[0], words[k], strict=True)}
        wmap.update({y: x for x, y in wmap.items()})
        ren = _Renamer(cmap, wmap)
        for x, y in wmap.items():
            wx, wy = prog.words[x], prog.words[y]
            if (wx.lo, wx.hi, wx.init) != (wy.lo, wy.hi, wy.init):
                return f"{wx.name} and {wy.name} differ"
        for c, core in enumerate(prog.cores):
            if ren.core(core) != replace(prog.cores[cmap.get(c, c)], name=""):
                other = prog.cores[cmap.get(c, c)].name
                return (
                    f"{core.name} treats {prog.cores[a].name} and {prog.cores[b].name} differently"
                    if c == cmap.get(c, c)
                    else f"{core.name} and {other} run different code"
                )
    return ""


def _masked(prog: P.Program, loop: tuple[int, tuple[P.ForLoop, ...]]) -> tuple[P.Core, ...]:
    x, lp = loop
    return tuple(L.mask(c, lp) if i == x else c for i, c in enumerate(prog.cores))


def families(prog: P.Program) -> list[Family]:
    """Every core family of the program, and whether it is reduced."""
    out = []
    for name, members in sorted(_instances(prog).items()):
        members.sort()
        indices = [i for i, _ in members]
        cores = [c for _, c in members]
        owned = _owned_words(prog, indices)
        loop = L.find_loop(prog, name, cores)
        why = loop if isinstance(loop, str) else _why_not(prog, cores, owned, loop)
        lp = loop if isinstance(loop, tuple) else None
        fam = Family(name, tuple(cores), tuple(owned[i] for i in indices), not why, why, lp)
        out.append(fam)
    return out


@dataclass(frozen=True)
class Canon:
    """The canonical form of states under the reduced families' permutations."""

    fn: CanonFn | None  # None when no family is reduced
    families: tuple[Family, ...]  # every family (reduced or not), for the output
    plans: tuple[tuple[Block, ...], ...] = ()  # per reduced family, what ``fn`` sorts
    loops: tuple[L.LoopPlan | None, ...] = ()  # per reduced family, its loop's plan
    system: System | None = None  # the system to search with ``fn``: the one given, with
    # the loops' alternative commands (`symmetry_loops.alternatives`)
    twins: TwinsFn | None = None  # the cores whose steps a search may skip (`twins`)

    @property
    def reduced(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.families if f.reduced)


def _block(lay: Layout, c: int) -> tuple[int, int, tuple[int, int]]:
    """(start, end) of core ``c``'s contiguous fields, and of its store-buffer kinds."""
    cf = lay.cores[c]
    fields = [cf.pc, cf.irq, cf.inh, cf.spc, cf.space, *cf.regs, *cf.hregs, *cf.sba]
    fields += [f for vs in cf.sbv for f in vs] + cf.qh + [f for vs in cf.qa for f in vs]
    fields += list(cf.te.values()) + list(cf.tw.values()) + list(cf.psc.values())
    lo, hi = min(fields), max(fields) + 1
    assert sorted(fields) == list(range(lo, hi)), "a core's fields are contiguous"
    kinds = (min(cf.sba), max(cf.sba) + 1) if cf.sba else (lo, lo)
    assert kinds == (kinds[0], kinds[0] + len(cf.sba))
    return lo, hi, kinds


def _kind_tables(lay: Layout, fam: Family) -> list[bytes]:
    """Per instance: a `bytes.translate` table renaming its store-buffer kind codes (its
    own IPIs, stores to the words it owns) to those of instance 0."""
    first = fam.cores[0]
    tables = []
    for k, c in enumerate(fam.cores):
        t = list(range(256))
        for (sender, pc), code in lay.ipi_codes.items():
            if sender == c:
                t[code] = lay.ipi_codes[(first, pc)]
        for a, a0 in zip(fam.words[k], fam.words[0], strict=True):
            t[a + 1] = a0 + 1
        tables.append(bytes(t))
    return tables


def _inverse(t: bytes) -> bytes:
    inv = list(range(256))
    for v, w in enumerate(t):
        if v != w:
            inv[w] = v
    return bytes(inv)


@dataclass(frozen=True)
class Block:
    """One instance of a reduced family in the state vector: its fields ``lo:hi``, the
    range ``kinds`` of them holding store-buffer kind codes, renamed by ``table`` (a
    `bytes.translate` table; None when it renames nothing) to those of instance 0, and
    the fields of the words it owns (`arm`: its own fields too).  Its sort key is the
    block, renamed, then those words; `canon` sorts the family's keys and writes them
    back in order, each position renaming its kinds back with ``inverse`` of its table."""

    lo: int
    hi: int
    kinds: tuple[int, int]
    table: bytes | None
    inverse: bytes | None
    words: tuple[int, ...]
    core: int  # the instance's core


def plan(lay: Layout, fam: Family) -> tuple[Block, ...]:
    """The blocks of a reduced family, in instance order (what every search's
    canonical form is generated from)."""
    tables = _kind_tables(lay, fam)
    out = []
    for k, c in enumerate(fam.cores):
        lo, hi, (ka, kb) = _block(lay, c)
        plain = tables[k] == bytes(range(256)) or ka == kb
        table = None if plain else tables[k]
        inverse = None if table is None else _inverse(table)
        words = tuple(lay.mem[a] for a in fam.words[k]) + arm_fields(lay, c)
        out.append(Block(lo, hi, (ka, kb), table, inverse, words, c))
    assert len({b.hi - b.lo for b in out}) == 1 and len({len(b.words) for b in out}) == 1
    return tuple(out)


def _family_source(
    blocks: tuple[Block, ...], f: int, ns: dict[str, object], loop: L.LoopPlan | None
) -> list[str]:
    """Source lines that sort one family's blocks of ``s`` into ``s`` (a bytes value);
    with a ``loop``, only the positions it has not pinned."""
    lines = [keys_source(blocks, f, ns)]
    size = blocks[0].hi - blocks[0].lo
    if loop is None:
        lines.append("    o = sorted(k)")
    else:
        ns[f"_L{f}"] = loop
        lines.append(f"    a, b = _L{f}.ranges(s, {len(blocks)})")
        lines.append("    o = sorted(k[:a]) + k[a:b] + sorted(k[b:])")
    lines.append("    if o != k:")
    plain = all(b.table is None for b in blocks)
    adjacent = all(a.hi == b.lo for a, b in pairwise(blocks))
    if plain and adjacent and not any(b.words for b in blocks):  # the sorted blocks, end to end
        lines.append(f"        s = s[:{blocks[0].lo}] + b''.join(o) + s[{blocks[-1].hi}:]")
        return lines
    lines.append("        n = bytearray(s)")
    for k, b in enumerate(blocks):
        lines.append(f"        b = o[{k}]")
        if b.table is None:
            lines.append(f"        n[{b.lo}:{b.hi}] = b[:{size}]")
        else:
            ns[f"_U{f}_{k}"] = b.inverse
            x, y = b.kinds[0] - b.lo, b.kinds[1] - b.lo
            back = f"b[{x}:{y}].translate(_U{f}_{k})"
            lines.append(f"        n[{b.lo}:{b.hi}] = b[:{x}] + {back} + b[{y}:{size}]")
        for j, w in enumerate(b.words):
            lines.append(f"        n[{w}] = b[{size + j}]")
    lines.append("        s = bytes(n)")
    return lines


def canon(system: System, prog: P.Program) -> Canon:
    """The canonical-form function for ``system``'s reduced families (None when no
    family is reduced; states must be bytes: every field within 0..255)."""
    fams = families(prog)
    if not all(f.lo >= 0 and f.hi <= 255 for f in system.fields):
        why = "a state field does not fit in a byte"
        fams = [replace(f, reduced=False, why=f.why or why) for f in fams]
    fams = weak_exclusions(system.model, prog, fams)
    lay: Layout = system.meta["layout"]
    while True:
        todo = [f for f in fams if f.reduced]
        if not todo:
            return Canon(None, tuple(fams), system=system)
        plans = tuple(plan(lay, fam) for fam in todo)
        loops = tuple(None if f.loop is None else L.loop_plan(lay, prog, *f.loop) for f in todo)
        extra, why = _alternatives(system, todo, plans, loops)
        if not why:
            break
        fams = [replace(f, reduced=False, why=why[f.name]) if f.name in why else f for f in fams]
    ns: dict[str, object] = {}
    lines = ["def canon(s):"]
    for f, blocks in enumerate(plans):
        lines += _family_source(blocks, f, ns, loops[f])
    lines.append("    return s")
    lines += twins_source(plans, ns, loops)
    exec(compile("\n".join(lines), "<tlbcheck-symmetry>", "exec"), ns)
    ext = system
    if extra:
        meta = {**system.meta, "symloop": plans}
        ext = replace(system, commands=system.commands + tuple(extra), meta=meta)
    fn, tw = ns["canon"], ns["twins"]
    return Canon(fn, tuple(fams), plans, loops, ext, tw)  # type: ignore[arg-type]


def _alternatives(
    system: System,
    todo: list[Family],
    plans: tuple[tuple[Block, ...], ...],
    loops: tuple[L.LoopPlan | None, ...],
) -> tuple[list[Command], dict[str, str]]:
    """Every loop's alternative commands, or why (per family) a loop cannot be reduced."""
    extra: list[Command] = []
    why: dict[str, str] = {}
    for f, fam in enumerate(todo):
        lp = loops[f]
        if fam.loop is None or lp is None:
            continue
        nid = len(system.commands) + len(extra)
        x, loop = fam.loop
        end = system.meta["layout"].prog.cores[x].program_end
        alts, w = L.alternatives(system, f, x, loop, plans[f], lp, nid, end)
        if w:
            why[fam.name] = w
        extra += alts
    return extra, why
