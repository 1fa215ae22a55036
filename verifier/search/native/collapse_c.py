"""C source of collapsed keys (SPIN's COLLAPSE): the canonical state stored as the fields
outside every reduced family, bit-packed, then one small index per position of each
family, into a table of the distinct blocks that family's instances have shown.

A position's block is what the canonical form puts there: the sort key of the instance
sorted into it (its block with kind codes renamed to instance 0's, then the words it
owns), renamed back with the position's own table.  That is a function of the sort key
alone, one-to-one, so two canonical states are equal exactly when their other fields
and their sort keys position by position are, and a key interned once per family (the
instances' keys are all in instance 0's codes) can stand for it.  Generated here from
the same blocks, positions and ranges as the canonical form (`canon_c`):

- ``prekey(s, out, perm)``: the other fields packed (``RW`` bytes), then each position's
  sort key as CKW 64-bit words (`CF[pos]` names its family): what `runtime.c` interns;
- ``unkeys(kv, t)``: given each position's sort key, write its block and words into the
  canonical state ``t`` (the inverse of the above);
- ``pack_rest``/``unpack_rest``: the other fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from verifier.ir.system import FieldInfo
from verifier.search.native.canon_c import (
    _direct,
    _positions,
    _ranges,
    _sorted_ranges,
    array,
    insertion_sort,
    key_layout,
    key_words,
    sorted_family,
)
from verifier.search.symmetry import Block
from verifier.search.symmetry_loops import LoopPlan


@dataclass(frozen=True)
class Packing:
    """Where each field lives in the packed state: (word, shift, bits) per field."""

    places: tuple[tuple[int, int, int], ...]
    words: int
    width: int  # bytes actually stored


def packing(fields: Sequence[FieldInfo]) -> Packing:
    places = []
    word, used = 0, 0
    for f in fields:
        bits = (f.hi - f.lo).bit_length()
        if used + bits > 64:
            word, used = word + 1, 0
        places.append((word, used, bits))
        used += bits
    width = 8 * word + (used + 7) // 8
    return Packing(tuple(places), word + 1, max(width, 1))


def _collapses(plans: Sequence[Sequence[Block]], fields: Sequence[FieldInfo]) -> bool:
    return bool(plans) and all(_direct(blocks, fields) for blocks in plans)


def _rest(plans: Sequence[Sequence[Block]], fields: Sequence[FieldInfo]) -> list[int]:
    """The fields outside every family's blocks and words."""
    owned = {fld for blocks in plans for b in blocks for fld, _ in _positions(b)}
    return [i for i in range(len(fields)) if i not in owned]


def collapse_defines(plans: Sequence[Sequence[Block]], fields: Sequence[FieldInfo]) -> list[str]:
    """COLLAPSE (whether keys may be collapsed), NCOMP positions, NFAM families, RW bytes
    of the other fields, PKW bytes of a `prekey`."""
    if not _collapses(plans, fields):
        return ["#define COLLAPSE 0", "#define NCOMP 1", "#define NFAM 1", "#define RW 0",
                "#define CKW 1", "#define PKW 0"]  # fmt: skip
    rw = packing([fields[i] for i in _rest(plans, fields)]).width
    ncomp = sum(len(blocks) for blocks in plans)
    ckw = max(_words(blocks, fields) for blocks in plans)
    return ["#define COLLAPSE 1", f"#define NCOMP {ncomp}", f"#define NFAM {len(plans)}",
            f"#define RW {rw}", f"#define CKW {ckw}",
            f"#define PKW ({rw} + 8 * CKW * NCOMP)"]  # fmt: skip


def _words(blocks: Sequence[Block], fields: Sequence[FieldInfo]) -> int:
    """64-bit words of the family's sort keys."""
    return key_layout([(hi - lo).bit_length() for lo, hi in _ranges(blocks, fields)[0]])[0]


def collapse_source(
    plans: Sequence[Sequence[Block]],
    fields: Sequence[FieldInfo],
    loops: Sequence[LoopPlan | None] = (),
    writes: Sequence[Sequence[int]] = (),
) -> list[str]:
    """The functions above (and `_incremental_source`'s; ``writes``: the fields each
    command writes) when every family's canonical form is packed straight from the
    state (integer keys); else stubs."""
    if not _collapses(plans, fields):
        return [
            "#define INCREMENTAL 0",
            "static const int CF[1] = {0};",
            "static void prekey(const int32_t *s, uint8_t *out, uint8_t *perm) {}",
            "static void unkeys(const uint64_t (*kv)[CKW], int32_t *t) {}",
            "static void pack_rest(const int32_t *s, uint8_t *out) {}",
            "static void unpack_rest(const uint8_t *in, int32_t *t) {}",
        ]
    rest = _rest(plans, fields)
    pk = packing([fields[i] for i in rest])
    lines = [array("int", "CF", [f for f, blocks in enumerate(plans) for _ in blocks])]
    lines += packers(("pack_rest", "unpack_rest"), fields, rest, pk, "RW")
    lines += _prekey_source(plans, fields, loops)
    lines += _unkeys_source(plans, fields)
    lines += _incremental_source(plans, fields, loops, writes)
    return lines


def packers(
    names: tuple[str, str],
    fields: Sequence[FieldInfo],
    which: Sequence[int],
    pk: Packing,
    width: str,
) -> list[str]:
    """C functions ``names`` = (pack, unpack) of the fields ``which`` of a state, placed
    by ``pk`` into ``width`` bytes (pack trusts the ranges: `cgen` checks them where a
    value is computed)."""
    lines = [
        f"static void {names[0]}(const int32_t *s, uint8_t *out) {{",
        f"    uint64_t w[{pk.words}] = {{0}};",
    ]
    for i, (word, shift, bits) in zip(which, pk.places, strict=True):
        if bits:
            lines.append(f"    w[{word}] |= (uint64_t)(s[{i}] - ({fields[i].lo})) << {shift};")
    lines += [f"    memcpy(out, w, {width});", "}"]
    lines += [
        f"static void {names[1]}(const uint8_t *in, int32_t *s) {{",
        f"    uint64_t w[{pk.words}] = {{0}};",
        f"    memcpy(w, in, {width});",
    ]
    for i, (word, shift, bits) in zip(which, pk.places, strict=True):
        mask = (1 << bits) - 1
        v = f"(int32_t)((w[{word}] >> {shift}) & {mask}u) + " if bits else ""
        lines.append(f"    s[{i}] = {v}({fields[i].lo});")
    return [*lines, "}"]


def _prekey_source(
    plans: Sequence[Sequence[Block]],
    fields: Sequence[FieldInfo],
    loops: Sequence[LoopPlan | None],
) -> list[str]:
    """``prekey``: the sorts of `pack_canon` (the same generated lines), then the other
    fields and each position's key in sorted order."""
    lines = ["static void prekey(const int32_t *s, uint8_t *out, uint8_t *perm) {"]
    at, pos = 0, 0
    for f, blocks in enumerate(plans):
        lines += sorted_family(f, blocks, fields, loops, at)
        at += len(blocks)
        nw = _words(blocks, fields)
        for k in range(len(blocks)):
            at_k = f"out + RW + 8 * CKW * {pos}"
            lines.append(f"    memcpy({at_k}, key{f}[ord{f}[{k}]], {8 * nw});")
            lines.append(f"    memset({at_k} + {8 * nw}, 0, 8 * CKW - {8 * nw});")
            pos += 1
    lines.append("    pack_rest(s, out);")
    return [*lines, "}"]


def _unkeys_source(plans: Sequence[Sequence[Block]], fields: Sequence[FieldInfo]) -> list[str]:
    """``unkeys``: each position's block and words from its sort key (renamed back with
    the position's table, as `pack_canon` writes them)."""
    lines = ["static void unkeys(const uint64_t (*kv)[CKW], int32_t *t) {"]
    pos = 0
    for f, blocks in enumerate(plans):
        ranges, _ = _ranges(blocks, fields)
        bits = [(hi - lo).bit_length() for lo, hi in ranges]
        _, places = key_layout(bits)
        for k, b in enumerate(blocks):
            for (fld, renamed), (lo, _), nb, (w, shift) in zip(
                _positions(b), ranges, bits, places, strict=True
            ):
                mask = (1 << nb) - 1
                v = (
                    f"(int32_t)((kv[{pos}][{w}] >> {shift}) & {mask}u) + ({lo})"
                    if nb
                    else f"({lo})"
                )
                lines.append(f"    t[{fld}] = {f'BK{f}_{k}[{v}]' if renamed else v};")
            pos += 1
    return [*lines, "}"]


def _incremental_source(
    plans: Sequence[Sequence[Block]],
    fields: Sequence[FieldInfo],
    loops: Sequence[LoopPlan | None],
    writes: Sequence[Sequence[int]],
) -> list[str]:
    """What `runtime.c`'s ``fast_key`` needs to build a successor's collapsed key from
    its parent's sort keys and block indices, recomputing only the instances the step
    wrote (a key is a function of its instance's block and words alone):

    - ``DIRTY[DIRTY_OFF[c] .. DIRTY_OFF[c + 1]]``: the positions (instances, numbered
      across the families as `CF` numbers them) whose key fields command c writes;
    - ``member_key(s, p, k)``: the sort key of position p's instance in ``s``, as the
      CKW words `prekey` gives it (zeros past the family's own words);
    - ``key_order``: the instances in canonical order (`_key_order_source`)."""
    owner: dict[int, int] = {}
    pos = 0
    for blocks in plans:
        for b in blocks:
            for fld, _ in _positions(b):
                owner[fld] = pos
            pos += 1
    offs, dirty = [0], []
    for ws in writes:
        dirty += sorted({owner[f] for f in ws if f in owner})
        offs.append(len(dirty))
    lines = ["#define INCREMENTAL 1", array("int", "DIRTY_OFF", offs), array("int", "DIRTY", dirty)]
    bases = [sum(len(b) for b in plans[:f]) for f, blocks in enumerate(plans) for _ in blocks]
    lines.append(array("int", "CBASE", bases))
    lines += ["static void member_key(const int32_t *s, int p, uint64_t *k) {", "    switch (p) {"]
    pos = 0
    for f, blocks in enumerate(plans):
        ranges, _ = _ranges(blocks, fields)
        bits = [(hi - lo).bit_length() for lo, hi in ranges]
        for k, b in enumerate(blocks):
            words = key_words(f, k, b, ranges, bits)
            body = " ".join(f"k[{w}] = {e};" for w, e in enumerate(words))
            pad = f" memset(k + {len(words)}, 0, 8 * (CKW - {len(words)}));"
            lines.append(f"    case {pos}: {body}{pad if len(words) else ''} return;")
            pos += 1
    lines += ["    default: return;", "    }", "}"]
    return lines + _key_order_source(plans, fields, loops, offs, dirty)


def _key_order_source(
    plans: Sequence[Sequence[Block]],
    fields: Sequence[FieldInfo],
    loops: Sequence[LoopPlan | None],
    offs: Sequence[int],
    dirty: Sequence[int],
) -> list[str]:
    """``key_order(s, key, ord, from, at, c)``: the instances in canonical order,
    ``ord[p]`` being the instance whose key `prekey` puts at position p (the same
    sorted ranges: by key, equal keys by instance); ``ord[p] - CBASE[p]`` is
    `prekey`'s permutation byte.  ``from`` (or NULL): the parent's order, ``at`` its
    inverse, ``c`` the command that led here.  In a family without a loop whose
    instances command c does not write, the order is the parent's; where it writes
    one, that one is moved to where its new key goes (`reposition`); otherwise, and in
    a family with a loop (whose sorted ranges depend on the state), it is sorted."""
    nfam = len(plans)
    bases = [sum(len(b) for b in plans[:f]) for f in range(nfam + 1)]
    nd, one = [], []
    for c in range(len(offs) - 1):
        for f in range(nfam):
            mine = [p for p in dirty[offs[c] : offs[c + 1]] if bases[f] <= p < bases[f + 1]]
            nd.append(len(mine))
            one.append(mine[0] if len(mine) == 1 else -1)
    loopless = any((loops[f] if f < len(loops) else None) is None for f in range(nfam))
    lines = [
        f"#define ORDER_FROM_PARENT {int(loopless)}  /* some family has no loop */",
        array("uint8_t", "NDIRTY", [min(n, 2) for n in nd]),
        array("int", "ONE_DIRTY", one),
        "static void key_order(const int32_t *s, const uint64_t (*key)[CKW], int *ord, "
        "const int *from, const int *at, int c) {",
    ]
    for f, blocks in enumerate(plans):
        m, base = len(blocks), bases[f]
        nw = _words(blocks, fields)
        lp = loops[f] if f < len(loops) else None
        start, sorted_ranges = _sorted_ranges(f, lp, m)
        if lp is None:
            lines += [
                f"    if (from && NDIRTY[c * {nfam} + {f}] == 0)",
                f"        memcpy(ord + {base}, from + {base}, {m} * sizeof(int));",
                f"    else if (from && NDIRTY[c * {nfam} + {f}] == 1)",
                f"        reposition(ord + {base}, from + {base}, {m}, ONE_DIRTY[c * {nfam} + {f}],"
                f" at[ONE_DIRTY[c * {nfam} + {f}]] - {base}, key, {nw});",
                "    else",
            ]
        lines += ["    {", f"        int o[{m}];", *start]
        lines.append(f"        for (int a = 0; a < {m}; a++) o[a] = a;")
        for lo, hi in sorted_ranges:
            lines += insertion_sort(lo, hi, "o", lambda x, at=base: f"key[{at} + {x}]", nw)
        lines.append(f"        for (int a = 0; a < {m}; a++) ord[{base} + a] = {base} + o[a];")
        lines.append("    }")
    return [*lines, "}"]
