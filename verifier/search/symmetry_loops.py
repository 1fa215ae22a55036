"""Symmetry through a loop over a family: `for c in cpu[*] { ... }` on a core outside it.

The lowering unrolls the loop in the family's index order, so iteration k names
``cpu[k]`` and the program is not symmetric as it stands.  The reduction explores
instead the program whose loop visits the members in any order ("pick any member not
visited yet"), which is symmetric, and stores its states in *program form*: the
member running iteration k is moved to position k, so the looping core's pc, its
store buffer and everything it names stay those of the user's program.  The
canonical form sorts only members whose identity nothing else records
(`LoopPlan.ranges`): in iteration k the members not visited yet, and the visited
ones among themselves; the current one stays.  Entering iteration k may pick any
member not visited yet: besides the step itself, one *alternative* command per
position j > k does the same step and swaps the members at positions k and j
(`alternatives`).  Later loops over the family follow the first one's order.

A path of the reduced search is a path of the any-order program; `real_path` renames
it back (the members permuted so that iterations come in the program's order), so
every trace shown is one of the user's program.  The soundness argument and the
conditions (`find_loop`, `copies_why`) are in docs/engines.md ("Symmetry through
loops over a family").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from verifier.ir import program as P
from verifier.ir.system import Command, Const, Expr, Field, Op, System, Table, conj, eq
from verifier.machine.layout import Layout
from verifier.run.compile import compile_system

AFTER = 255  # `LoopPlan.first` of a pc after the loop


@dataclass(frozen=True)
class LoopPlan:
    """What the canonical form needs of a family's loop: the looping core's pc field;
    per pc value, the first position not pinned (`AFTER`: after the loop); its store
    buffer's kind fields and, per kind code, whether it names a member (1) or not."""

    pc: int
    first: bytes  # 256 entries
    kinds: tuple[int, int]
    codes: bytes  # 256 entries of 0/1
    prefix: bool  # one loop: the visited members may be sorted among themselves too

    def ranges(self, s: Sequence[int], n: int) -> tuple[int, int]:
        """(a, b): in state ``s`` (``n`` members) positions 0..a-1 are sorted among
        themselves, b.. too, a..b-1 stay.  In iteration k, b = k+1 (the members not
        visited yet) and a = k (those visited, unless the looping core's buffer holds
        an IPI or store of an iteration, which names its member; or later loops follow
        their order) else 0; after the loops, everything unless that buffer does."""
        st = self.first[s[self.pc]]
        ka, kb = self.kinds
        clean = not any(self.codes[s[x]] for x in range(ka, kb))
        if st == AFTER:
            return (0, 0) if clean else (0, n)
        return (st - 1, st) if self.prefix and clean and st > 0 else (0, st)


def find_loop(
    prog: P.Program, family: str, cores: Sequence[int]
) -> tuple[int, tuple[P.ForLoop, ...]] | str | None:
    """The core looping over ``family`` and its loops (in code order); None when there
    is none; why not when they cannot be reduced."""
    found = [(c, lp) for c, core in enumerate(prog.cores) for lp in core.loops]
    found = [(c, lp) for c, lp in found if lp.family == family and lp.starts[0] != lp.end]
    if not found:  # (an empty body names nobody)
        return None
    c = found[0][0]
    lps = tuple(sorted((lp for _, lp in found), key=lambda lp: lp.starts[0]))
    where = f"{prog.cores[c].name}'s `for` over {family}[*] at line {lps[0].span.line}"
    if len({x for x, _ in found}) > 1:
        names = ", ".join(sorted({prog.cores[x].name for x, _ in found}))
        return f"{names} loop over {family}[*]: one core's loops are reduced, not more"
    if c in cores or _in_family(prog, c):
        return f"{where} runs on a core of a family"
    if any(b.starts[0] < a.end for a, b in pairwise(lps)):
        return f"{where} holds another loop over {family}[*]"
    for lp in lps:
        if not _once(prog.cores[c], lp):
            at = f"the `for` over {family}[*] at line {lp.span.line}"
            return f"{at} can run more than once (inside `while`/`loop` or a handler)"
        if tuple(lp.cores) != tuple(cores):
            return f"{where} does not visit {family} in index order"
    if any(isinstance(i, P.IIpi) and c in i.targets for core in prog.cores for i in core.code):
        return f"{where}: {prog.cores[c].name} takes IPIs (a handler would save the loop's pc)"
    return c, lps


def _once(core: P.Core, lp: P.ForLoop) -> bool:
    """Whether the loop runs at most once: it is in the program (not a handler) and no
    step from the loop or after it goes back to its start or before."""
    if lp.starts[0] > core.program_end:
        return False
    for pc in range(lp.starts[0], core.program_end):
        ins = core.code[pc]
        nexts = {core.next[pc]}
        if isinstance(ins, P.IBranch | P.IJump):
            nexts.add(ins.target)
        if min(nexts) <= lp.starts[0]:
            return False
    return True


def _in_family(prog: P.Program, c: int) -> bool:
    name = prog.cores[c].name
    return name.endswith("]") and "[" in name


def mask(core: P.Core, lps: Sequence[P.ForLoop]) -> P.Core:
    """``core`` with the loops' iterations blanked (what must be symmetric on its own)."""
    inside = {pc for lp in lps for pc in range(lp.starts[0], lp.end)}
    code = tuple(P.ISkip(i.span, "") if pc in inside else i for pc, i in enumerate(core.code))
    return replace(core, code=code)


def copies_why(prog: P.Program, x: int, lps: Sequence[P.ForLoop], *rest: Any) -> str:
    """`_copy_why` of each loop ("" when every one passes)."""
    return next((w for lp in lps if (w := _copy_why(prog, x, lp, *rest))), "")


def _copy_why(
    prog: P.Program,
    x: int,
    lp: P.ForLoop,
    owned: Sequence[Sequence[int]],
    named: Callable[[P.Instr], set[int]],
    rename: Callable[[dict[int, int], dict[int, int], P.Instr], P.Instr],
) -> str:
    """Why iteration k is not iteration 0 with members 0 and k swapped (its jumps moved
    by the distance between them), or names a member other than its own ("" when
    every one is)."""
    code = prog.cores[x].code
    bounds = (*lp.starts, lp.end)
    size = bounds[1] - bounds[0]
    where = f"the body of the `for` over {lp.family}[*] at line {lp.span.line}"
    if any(b - a != size for a, b in pairwise(bounds)):
        return f"{where} differs between iterations"
    family_words = {a for ws in owned for a in ws}
    first = code[bounds[0] : bounds[1]]
    c0 = lp.cores[0]
    for ins in first:
        if (named(ins) & family_words) - set(owned[0]):
            return f"{where} names a word of another member than the loop's"
        if isinstance(ins, P.IIpi):
            hit = set(ins.targets) & set(lp.cores)
            if hit and hit != {c0} and hit != set(lp.cores):
                return f"{where} sends an IPI to a fixed member"
    for k in range(1, len(lp.cores)):
        ck = lp.cores[k]
        cmap = {c0: ck, ck: c0}
        wmap = dict(zip(owned[0], owned[k], strict=True))
        wmap.update({b: a for a, b in wmap.items()})
        shift = bounds[k] - bounds[0]
        for ins, other in zip(first, code[bounds[k] : bounds[k + 1]], strict=True):
            moved = rename(cmap, wmap, ins)
            if isinstance(moved, P.IBranch | P.IJump) and bounds[0] <= moved.target <= bounds[1]:
                moved = replace(moved, target=moved.target + shift)
            if moved != other:
                return f"{where} depends on which member it visits (line {other.span.line})"
    return ""


def loop_plan(lay: Layout, prog: P.Program, x: int, lps: Sequence[P.ForLoop]) -> LoopPlan:
    """The plan of loops that passed `find_loop` and `copies_why`: the first picks the
    order (in its iteration k positions 0..k are pinned); from its end to the last
    loop's every position is (the later loops follow that order); after them, none."""
    first = bytearray(256)
    lp, n = lps[0], len(lps[0].starts)
    for pc in range(256):
        if pc >= lps[-1].end:
            first[pc] = AFTER
        elif pc >= lp.end:
            first[pc] = n
        elif pc >= lp.starts[0]:
            first[pc] = max(k for k, st in enumerate(lp.starts) if st <= pc) + 1
    codes = bytearray(256)
    cf = lay.cores[x]
    for pc in (pc for lp in lps for pc in range(lp.starts[0], lp.end)):
        ins = prog.cores[x].code[pc]
        if isinstance(ins, P.IStore):
            codes[ins.addr + 1] = 1
        if (x, pc) in lay.ipi_codes:
            codes[lay.ipi_codes[(x, pc)]] = 1
    kinds = (min(cf.sba), max(cf.sba) + 1) if cf.sba and lay.buffered(x) else (0, 0)
    return LoopPlan(cf.pc, bytes(first), kinds, bytes(codes), len(lps) == 1)


# ---------------------------------------------------------------- alternatives


def _moves(blocks: Sequence[Any], a: int, b: int) -> dict[int, tuple[int, bytes | None]]:
    """Swapping the members at positions ``a`` and ``b``: field -> (the field its new
    value comes from, the kind renaming table on the way or None)."""
    return {**_moves_one(blocks[a], blocks[b]), **_moves_one(blocks[b], blocks[a])}


def _swapped(
    cmd: Command, moves: dict[int, tuple[int, bytes | None]]
) -> tuple[tuple[int, Expr], ...]:
    """``cmd``'s updates followed by the swap ``moves``, as simultaneous updates."""
    upd = dict(cmd.updates)
    out = {f: e for f, e in upd.items() if f not in moves}
    for f, (src, table) in moves.items():
        e = upd.get(src, Field(src))
        out[f] = e if table is None else Table(tuple(table), e)
    return tuple(sorted((f, e) for f, e in out.items() if e != Field(f)))


def _landings(e: Expr) -> set[int]:
    """The constants a pc update can set (the leaves of its `ite`s)."""
    if isinstance(e, Const):
        return {e.value}
    if isinstance(e, Op) and e.op == "ite":
        return _landings(e.args[1]) | _landings(e.args[2])
    return {-1}  # computed: could be anything


def alternatives(
    system: System,
    fam: int,
    x: int,
    lps: Sequence[P.ForLoop],
    blocks: Sequence[Any],
    plan: LoopPlan,
    nid: int,
    handlers: int,
) -> tuple[list[Command], str]:
    """The alternative commands of the first loop, the one that picks the order
    (``blocks``: the family's `symmetry.Block`s), or why it cannot be reduced after all.
    ``handlers``: where ``x``'s handler code starts (its end of program), code that
    never runs (`find_loop`)."""
    out: list[Command] = []
    n, lp = len(blocks), lps[0]
    for cmd in system.commands:
        if cmd.core != x:
            continue
        pcu = dict(cmd.updates).get(plan.pc)
        if pcu is None:
            continue
        lands = _landings(pcu)
        if cmd.site is not None and cmd.site > handlers:  # handler code: never runs on x
            continue
        for k, start in enumerate(lp.starts):
            if start not in lands and -1 not in lands:
                continue
            inside = cmd.site is not None and lp.starts[k] <= cmd.site < (*lp.starts, lp.end)[k + 1]
            if inside:
                continue
            if cmd.site is None or plan.first[cmd.site] != k:
                return (
                    [],
                    f"{system.cores[x].name} enters iteration {k + 1} of the loop from elsewhere",
                )
            guard = cmd.guard if isinstance(pcu, Const) else conj(cmd.guard, eq(pcu, start))
            for j in range(k + 1, n):
                upd = _swapped(cmd, _moves(blocks, k, j))
                info = (*cmd.info, ("swap", (fam, k, j)), ("base", cmd.id))
                out.append(
                    replace(cmd, id=nid, guard=guard, updates=upd, info=info, key=f"{cmd.key}~{j}")
                )
                nid += 1
    return out, ""


# ---------------------------------------------------------------- back to the program's order


def permute(blocks: Sequence[Any], s: Sequence[int], tau: Sequence[int]) -> tuple[int, ...]:
    """State ``s`` with the member at position p moved to position ``tau[p]``."""
    out = list(s)
    for p, q in enumerate(tau):
        if p == q:
            continue
        moves = _moves_one(blocks[q], blocks[p])
        for f, (src, table) in moves.items():
            out[f] = s[src] if table is None else table[s[src]]
    return tuple(out)


def _moves_one(bd: Any, bs: Any) -> dict[int, tuple[int, bytes | None]]:
    ka, kb = bs.kinds
    table = None
    if bs.table is not None or bd.inverse is not None:
        t0 = bs.table or bytes(range(256))
        back = bd.inverse or bytes(range(256))
        table = bytes(back[t0[v]] for v in range(256))
    out = {
        bd.lo + off: (bs.lo + off, table if ka <= bs.lo + off < kb else None)
        for off in range(bd.hi - bd.lo)
    }
    out.update({w: (v, None) for w, v in zip(bd.words, bs.words, strict=True)})
    return out


def _moves_one(bd: Any, bs: Any) -> dict[int, tuple[int, bytes | None]]:
    """Member block ``bs``'s fields written at block ``bd``'s place: field -> (source
    field, kind renaming table or None)."""
    ka, kb = bs.kinds
    table = None
    if bs.table is not None or bd.inverse is not None:
        t0 = bs.table or bytes(range(256))
        back = bd.inverse or bytes(range(256))
        table = bytes(back[t0[v]] for v in range(256))
    out: dict[int, tuple[int, bytes | None]] = {}
    for off in range(bd.hi - bd.lo):
        src = bs.lo + off
        out[bd.lo + off] = (src, table if ka <= src < kb else None)
    out.update({w: (v, None) for w, v in zip(bd.words, bs.words, strict=True)})
    return out


def swap_of(cmd: Command) -> tuple[int, int, int] | None:
    """(family, position, position) an alternative command swaps, None for a step of the
    program itself."""
    return dict(cmd.info).get("swap")


def program_order(
    system: System,
) -> Callable[[list[int], int | None], tuple[list[int], int | None]]:
    """`real_path` for the paths of a search of ``system`` (the identity when it has no
    loop's alternatives)."""
    plans = system.meta.get("symloop")
    if not plans:
        return lambda path, last: (path, last)
    compiled = compile_system(system, packed=True)
    return lambda path, last: real_path(system, compiled, plans, path, last)


def real_path(
    system: System,
    compiled: Any,
    plans: Sequence[Sequence[Any]],
    path: Sequence[int],
    last: int | None,
) -> tuple[list[int], int | None]:
    """A path of the reduced search (``system`` with its alternatives) renamed back into
    one of the user's program: the same length, iterations in the program's order, the
    same final state; ``last``: the command whose check ends the trace (its step of the
    program, for an alternative).  ``plans``: the blocks of each reduced family."""
    states = [bytes(system.init)]
    for cid in path:
        nxt = compiled.step[cid](states[-1])
        assert nxt is not None, "a stored path never ends early"
        states.append(bytes(nxt))
    taus = [list(range(len(b))) for b in plans]
    real: list[bytes] = [states[-1]]
    for cid in reversed(path):  # tau_i = tau_{i+1} o sigma_i
        sw = swap_of(system.commands[cid])
        if sw is not None:
            f, a, b = sw
            t = taus[f]
            t[a], t[b] = t[b], t[a]
        s = states[len(path) - len(real)]
        for f, blocks in enumerate(plans):
            s = bytes(permute(blocks, s, taus[f]))
        real.append(s)
    real.reverse()
    out = []
    for i, cid in enumerate(path):
        out.append(_step_between(system, compiled, real[i], real[i + 1], cid))
    base = None if last is None else dict(system.commands[last].info).get("base", last)
    return out, base


def _step_between(system: System, compiled: Any, pre: bytes, post: bytes, cid: int) -> int:
    """The command of the program (no alternative) taking ``pre`` to ``post``: ``cid``'s
    own step when it does, else the lowest."""
    succ: list[tuple[int, Any]] = []
    compiled.state_succ(pre, succ, [])
    base = dict(system.commands[cid].info).get("base", cid)
    for c, n in sorted(succ, key=lambda x: (x[0] != base, x[0])):  # the step itself first
        if swap_of(system.commands[c]) is None and n is not None and bytes(n) == post:
            return c
    raise AssertionError(f"no step of the program matches command {cid} renamed")
