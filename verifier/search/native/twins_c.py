"""C source of ``twins(s, skip)``: the cores of the instances that have a twin earlier in
their family in state ``s`` (`search/twins.py`, whose Python form it mirrors: the same
sort keys as the canonical form, `canon_c._keys`, and the same sorted ranges)."""

from __future__ import annotations

from collections.abc import Sequence

from verifier.ir.system import FieldInfo
from verifier.search.native.canon_c import _keys, _ranges, _sorted_ranges, array, key_layout
from verifier.search.symmetry import Block
from verifier.search.symmetry_loops import LoopPlan


def twins_source(
    plans: Sequence[Sequence[Block]],
    fields: Sequence[FieldInfo],
    loops: Sequence[LoopPlan | None] = (),
) -> list[str]:
    """The C function ``twins(s, skip)``: sets ``skip[c]`` for the core ``c`` of each
    instance whose sort key equals an earlier instance's in the same sorted range (the
    Python `twins.twins_source`), 0 for every other core."""
    lines = [array("int", f"TC{f}", [b.core for b in blocks]) for f, blocks in enumerate(plans)]
    lines.append("static void twins(const int32_t *s, uint8_t *skip) {")
    lines.append("    memset(skip, 0, NCORES);")
    for f, blocks in enumerate(plans):
        ranges, _ = _ranges(blocks, fields)
        bits = [(hi - lo).bit_length() for lo, hi in ranges]
        nw, _ = key_layout(bits)
        m = len(blocks)
        lines.append("    {")
        lines += _keys(f, blocks, ranges, bits, "key")
        start, sorted_ranges = _sorted_ranges(f, loops[f] if f < len(loops) else None, m)
        lines += start
        for lo, hi in sorted_ranges:
            lines += [
                f"        for (int a = {lo} + 1; a < {hi}; a++)",
                f"            for (int b = {lo}; b < a; b++)",
                f"                if (!memcmp(key[a], key[b], {8 * nw}))",
                f"                    {{ skip[TC{f}[a]] = 1; break; }}",
            ]
        lines.append("    }")
    return [*lines, "}"]
