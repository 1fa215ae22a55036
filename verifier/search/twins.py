"""Twins: the instances of a reduced family that are alike in a state, whose steps a
search skips (`symmetry.py` stores one state per orbit; this saves the steps that
would only reach an orbit again).

Where two instances of a family have equal sort keys (`symmetry.Block`: the block with
its kind codes renamed to the first instance's, then the words it owns) and lie in one
sorted range (with a loop over the family, `LoopPlan.ranges`), swapping them maps the
state onto itself: the canonical form permutes exactly those fields, and nothing else
in the state names the positions of a sorted range.  So each step of the later one
leads to the orbit the same step of the earlier one leads to, with the same check
hits.  Commands are ordered core by core, so the earlier one's step always comes
first: a search that skips the later one's steps (`skipping`) stores the same states
from the same parents by the same commands, and finds the same problems; only its
count of transitions is smaller.  Partial-order reduction picks its ample set among
the steps left: the first core whose ample condition holds, and twins' conditions are
the same condition on swapped fields.  The argument and measurements: docs/engines.md
("Twins"); the C form: `native/twins_c.twins_source`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from verifier.ir.system import System
from verifier.run.compile import State, SuccFn
from verifier.search.symmetry_loops import LoopPlan

TwinsFn = Callable[[bytes], frozenset[int]]  # a state -> the cores whose steps it may skip


class Block(Protocol):
    """What a sort key is made of (`symmetry.Block`, which imports this module)."""

    lo: int
    hi: int
    kinds: tuple[int, int]
    table: bytes | None
    words: tuple[int, ...]
    core: int


def keys_source(blocks: Sequence[Block], f: int, ns: dict[str, object]) -> str:
    """The source line setting ``k`` to the sort keys of family ``f``'s instances in
    ``s`` (its renaming tables put in ``ns``)."""
    keys = []
    for k, b in enumerate(blocks):
        (lo, hi), (ka, kb) = (b.lo, b.hi), b.kinds
        if b.table is None:
            key = f"s[{lo}:{hi}]"
        else:
            ns[f"_T{f}_{k}"] = b.table
            key = f"s[{lo}:{ka}] + s[{ka}:{kb}].translate(_T{f}_{k}) + s[{kb}:{hi}]"
        if b.words:
            key += " + bytes((" + ", ".join(f"s[{w}]" for w in b.words) + ",))"
        keys.append(key)
    return f"    k = [{', '.join(keys)}]"


def twins_source(
    plans: Sequence[Sequence[Block]], ns: dict[str, object], loops: Sequence[LoopPlan | None]
) -> list[str]:
    """Source of ``twins(s)``: the cores of the instances of each family whose sort key
    equals that of an earlier instance in the same sorted range."""
    lines = ["def twins(s):", "    skip = []"]
    for f, blocks in enumerate(plans):
        n = len(blocks)
        ns[f"_C{f}"] = tuple(b.core for b in blocks)
        lines.append(keys_source(blocks, f, ns))
        if loops[f] is None:
            lines.append("    a, b = 0, 0")
        else:
            ns[f"_L{f}"] = loops[f]
            lines.append(f"    a, b = _L{f}.ranges(s, {n})")
        lines += [
            f"    for lo, hi in ((0, a), (b, {n})):",
            "        seen = set()",
            "        for p in range(lo, hi):",
            "            if k[p] in seen:",
            f"                skip.append(_C{f}[p])",
            "            else:",
            "                seen.add(k[p])",
        ]
    return [*lines, "    return frozenset(skip)"]


def skipping(succ: SuccFn, twins: TwinsFn, system: System) -> SuccFn:
    """``succ`` without the steps (successors and check hits) of the cores ``twins``
    names in the state."""
    core_of = [cmd.core for cmd in system.commands]

    def skip_twins(
        s: State, out: list[tuple[int, State | None]], hits: list[tuple[int, int]]
    ) -> None:
        skip = twins(s)  # type: ignore[arg-type]
        if not skip:
            succ(s, out, hits)
            return
        every: list[tuple[int, State | None]] = []
        checks: list[tuple[int, int]] = []
        succ(s, every, checks)
        out += [x for x in every if core_of[x[0]] not in skip]
        hits += [x for x in checks if core_of[x[0]] not in skip]

    return skip_twins
