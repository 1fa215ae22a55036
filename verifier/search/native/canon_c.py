"""C source of the canonical form under the reduced core families, generated from
`symmetry.plan` (the same blocks, renaming tables and words the Python form sorts).

Per family, each instance's sort key is its block (kind codes renamed to instance 0's),
then the words it owns, compared value by value as the Python form compares bytes.
The key is packed into 64-bit words (`key_layout`): every position at a fixed word,
offset and width (over the range its values take in any instance), the first position
in the highest bits of the first word, none straddling two words, so that comparing
the words in order is comparing the values position by position; sorting the family's
instances is then an insertion sort of at most a few dozen such keys.  The state is
rewritten only when the order changed: position k takes the block of the k-th
instance in sorted order (its kinds renamed back with position k's own table).  The
representative chosen is the Python form's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from verifier.ir.system import FieldInfo
from verifier.search.symmetry import Block
from verifier.search.symmetry_loops import AFTER, LoopPlan


def c_start(f: int, lp: LoopPlan, m: int, st: str, pre: str) -> list[str]:
    """C lines declaring ``pre`` and ``st``: `LoopPlan.ranges` of the state ``s`` (``m``
    members), for the native search's canonical form of family ``f``."""
    ka, kb = lp.kinds
    first, codes = (", ".join(map(str, t)) for t in (lp.first, lp.codes))
    return [
        f"        static const uint8_t LF{f}[256] = {{{first}}};",
        f"        static const uint8_t LC{f}[256] = {{{codes}}};",
        f"        int {st} = LF{f}[s[{lp.pc}]], {pre} = 0, cl{f} = 1;",
        f"        for (int x = {ka}; x < {kb}; x++) if (LC{f}[s[x]]) cl{f} = 0;",
        f"        if ({st} == {AFTER}) {st} = cl{f} ? 0 : {m};",
        f"        else if ({int(lp.prefix)} && cl{f} && {st} > 0) {pre} = {st} - 1;",
    ]


def array(ctype: str, name: str, values: Sequence[int]) -> str:
    """A constant C array (one element at least: C has no empty arrays)."""
    items = ", ".join(map(str, values)) or "0"
    return f"static const {ctype} {name}[{max(len(values), 1)}] = {{{items}}};"


def _positions(b: Block) -> list[tuple[int, bool]]:
    """(state field, renamed?) of each position of the block's key."""
    size = b.hi - b.lo
    ka, kb = b.kinds
    out = [(b.lo + x, b.table is not None and ka <= b.lo + x < kb) for x in range(size)]
    return out + [(w, False) for w in b.words]


def _ranges(
    blocks: Sequence[Block], fields: Sequence[FieldInfo]
) -> tuple[list[tuple[int, int]], bool]:
    """Per key position, the range of its (renamed) values over every instance; and
    whether every instance's field there has the same declared range (else a canonical
    state is range-checked: a value may land in a field that cannot hold it)."""
    out: list[tuple[int, int]] = []
    same = True
    cols = list(zip(*(_positions(b) for b in blocks), strict=True))
    for col, pos in enumerate(cols):
        lo, hi = 1 << 62, -(1 << 62)
        for b, (fld, renamed) in zip(blocks, pos, strict=True):
            f = fields[fld]
            vals = [b.table[v] for v in range(f.lo, f.hi + 1)] if renamed and b.table else []
            lo, hi = min([lo, f.lo, *vals]), max([hi, f.hi, *vals])
            first = fields[cols[col][0][0]]
            same = same and (f.lo, f.hi) == (first.lo, first.hi)
        out.append((lo, hi))
    return out, same


def canon_source(
    plans: Sequence[Sequence[Block]],
    fields: Sequence[FieldInfo],
    loops: Sequence[LoopPlan | None] = (),
) -> list[str]:
    """The C function ``canon(s, t)``: the canonical form of ``s`` (ints): ``s`` itself
    when it is canonical already, else ``t``, written (``s`` is only read).  A family with
    a loop (``loops``) sorts only the positions from `LoopPlan.start` on."""
    lines: list[str] = []
    for f, blocks in enumerate(plans):
        for k, b in enumerate(blocks):
            if b.table is not None:
                lines.append(array("uint8_t", f"RN{f}_{k}", b.table))
                lines.append(array("uint8_t", f"BK{f}_{k}", b.inverse or b""))
        if any(b.table is not None for b in blocks):
            lines.append(array("uint8_t", f"ID{f}", range(256)))
            ids = ", ".join(
                f"RN{f}_{k}" if b.table is not None else f"ID{f}" for k, b in enumerate(blocks)
            )
            lines.append(f"static const uint8_t *RN{f}[{len(blocks)}] = {{{ids}}};")
    lines.append("static const int32_t *canon(const int32_t *s0, int32_t *t) {")
    lines.append("    const int32_t *s = s0;")
    lines.append("    (void)t;")
    for f, blocks in enumerate(plans):
        ranges, same = _ranges(blocks, fields)
        bits = [(hi - lo).bit_length() for lo, hi in ranges]
        lines.append("    {")
        lp = loops[f] if f < len(loops) else None
        lines += _packed_family(f, blocks, ranges, bits, lp)
        if not same:
            lines.append("        int bad = in_range(s);")
            lines.append("        if (bad) range_error(bad);")
        lines.append("    }")
    lines.append("    return s;")
    lines.append("}")
    return lines


def _packed_family(
    f: int,
    blocks: Sequence[Block],
    ranges: list[tuple[int, int]],
    bits: list[int],
    lp: LoopPlan | None,
) -> list[str]:
    """One family's sort (keys as words, `_sort`) and the state rewritten in that order."""
    lines = _sort(f, blocks, ranges, bits, ("key", "ord", "moved"), lp)
    lines += [
        "        if (moved) {",
        "            if (s != t) { memcpy(t, s, sizeof(int32_t) * NF); s = t; }",
    ]
    lines += _write_back(f, blocks)
    lines.append("        }")
    return lines


def key_layout(bits: Sequence[int]) -> tuple[int, list[tuple[int, int]]]:
    """A sort key's 64-bit words and, per position of ``bits`` bits, its (word, shift):
    the first position in the highest bits of word 0, none straddling two words, so the
    words compared in order compare the values position by position."""
    word, left, places = 0, 64, []
    for nb in bits:
        if nb > left:
            word, left = word + 1, 64
        left -= nb
        places.append((word, left))
    return word + 1, places


def _sort(
    f: int,
    blocks: Sequence[Block],
    ranges: list[tuple[int, int]],
    bits: list[int],
    names: tuple[str, str, str],
    lp: LoopPlan | None,
) -> list[str]:
    """Each instance's key as ``NW`` 64-bit words (`key_layout`), and ``ord_``: the
    instances in key order (stable, as Python's sort); ``moved``: whether that order is
    not 0, 1, ...  With a loop ``lp``, the positions before `LoopPlan.start` stay where
    they are."""
    key, ord_, moved = names
    nw, _ = key_layout(bits)
    m = len(blocks)
    lines = [f"        int {ord_}[{m}], {moved} = 0;"]
    lines += _keys(f, blocks, ranges, bits, key)
    start, sorted_ranges = _sorted_ranges(f, lp, m)
    lines += start
    lines.append(f"        for (int a = 0; a < {m}; a++) {ord_}[a] = a;")
    for lo, hi in sorted_ranges:
        lines += insertion_sort(lo, hi, ord_, lambda x: f"{key}[{x}]", nw, f" {moved} = 1;")
    return lines


def insertion_sort(
    lo: str, hi: str, ord_: str, key: Callable[[str], str], nw: int, moved: str = ""
) -> list[str]:
    """C lines sorting ``ord_[lo..hi-1]`` (instances) by their keys (``key(x)``: the
    ``nw`` words of instance x's), stably; ``moved`` runs when an instance moves."""
    return [
        f"        for (int a = {lo} + 1; a < {hi}; a++) {{",
        f"            int x = {ord_}[a], b = a;",
        f"            while (b > {lo} && key_gt({key(f'{ord_}[b - 1]')}, {key('x')}, {nw}))",
        f"                {{ {ord_}[b] = {ord_}[b - 1]; b--;{moved} }}",
        f"            {ord_}[b] = x;",
        "        }",
    ]


def _sorted_ranges(f: int, lp: LoopPlan | None, m: int) -> tuple[list[str], list[tuple[str, str]]]:
    """C lines declaring a loop's `LoopPlan.ranges` of ``s`` (none without ``lp``), and
    the ranges of positions sorted among themselves, as C expressions (lo, hi)."""
    if lp is None:
        return [], [("0", str(m))]
    pre, st = f"pre{f}", f"st{f}"
    return c_start(f, lp, m, st, pre), [(st, str(m)), ("0", pre)]


def _keys(
    f: int, blocks: Sequence[Block], ranges: list[tuple[int, int]], bits: list[int], key: str
) -> list[str]:
    """C lines declaring ``key``: each instance's sort key as 64-bit words (`key_layout`)."""
    nw, _ = key_layout(bits)
    lines = [f"        uint64_t {key}[{len(blocks)}][{nw}] = {{{{0}}}};"]
    for k, b in enumerate(blocks):
        for w, expr in enumerate(key_words(f, k, b, ranges, bits)):
            if expr != "0":
                lines.append(f"        {key}[{k}][{w}] = {expr};")
    return lines


def key_words(
    f: int, k: int, b: Block, ranges: list[tuple[int, int]], bits: list[int]
) -> list[str]:
    """C expressions of the 64-bit words of instance ``k``'s sort key in ``s`` ("0" for
    a word no position fills)."""
    nw, places = key_layout(bits)
    parts: list[list[str]] = [[] for _ in range(nw)]
    for (fld, renamed), (lo, _), nb, (w, shift) in zip(
        _positions(b), ranges, bits, places, strict=True
    ):
        if nb:
            v = f"RN{f}_{k}[s[{fld}]]" if renamed else f"s[{fld}]"
            parts[w].append(f"((uint64_t)({v} - ({lo})) << {shift})")
    return [" | ".join(ws) or "0" for ws in parts]


def _write_back(f: int, blocks: Sequence[Block]) -> list[str]:
    """Position k takes instance ord[k]'s block and words (kinds: renamed to instance 0's
    by ord[k]'s table, back by position k's)."""
    size = blocks[0].hi - blocks[0].lo
    nw = len(blocks[0].words)
    m = len(blocks)
    lines = [f"            int32_t old[{m}][{size + nw}];"]
    for k, b in enumerate(blocks):
        lines.append(f"            memcpy(old[{k}], s + {b.lo}, {4 * size});")
        for j, w in enumerate(b.words):
            lines.append(f"            old[{k}][{size + j}] = s[{w}];")
    renames = any(b.table is not None for b in blocks)
    for k, b in enumerate(blocks):
        lines.append(f"            memcpy(t + {b.lo}, old[ord[{k}]], {4 * size});")
        ka, kb = b.kinds
        if renames and ka < kb:
            back = f"BK{f}_{k}[RN{f}[ord[{k}]][t[x]]]" if b.table else f"RN{f}[ord[{k}]][t[x]]"
            lines.append(f"            for (int x = {ka}; x < {kb}; x++) t[x] = {back};")
        for j, w in enumerate(b.words):
            lines.append(f"            t[{w}] = old[ord[{k}]][{size + j}];")
    return lines


def pack_canon_source(
    plans: Sequence[Sequence[Block]],
    fields: Sequence[FieldInfo],
    places: Sequence[tuple[int, int, int]],
    words: int,
    loops: Sequence[LoopPlan | None] = (),
) -> list[str]:
    """The C function ``pack_canon(s, out)``: the canonical form of ``s``, packed.  Where
    every family's keys are integers and every instance's fields hold every value the
    canonical form may move into them, it packs straight from ``s`` through the sorted
    order (nothing copied); else it packs `canon`'s result (range-checked there)."""
    fast = bool(plans) and all(_direct(blocks, fields) for blocks in plans)
    if not fast:
        return [
            "#define PERM_BYTES 0",
            "static void uncanon(const int32_t *t, const uint8_t *perm, int32_t *s) {}",
            "static void pack_canon(const int32_t *s, uint8_t *out, uint8_t *perm) {",
            "    int32_t t[NF];",
            "    pack(canon(s, t), out);",
            "}",
        ]
    lines = [f"#define PERM_BYTES {sum(len(b) for b in plans)}"]
    lines += _layout_arrays(plans)
    lines += _uncanon(plans)
    lines.append("static void pack_canon(const int32_t *s, uint8_t *out, uint8_t *perm) {")
    src: dict[int, str] = {}
    at = 0
    for f, blocks in enumerate(plans):
        lines += sorted_family(f, blocks, fields, loops, at)
        at += len(blocks)
        renames = any(b.table is not None for b in blocks)
        for k, b in enumerate(blocks):
            ka, kb = b.kinds
            for x in range(b.hi - b.lo):
                v = f"s[B{f}[ord{f}[{k}]] + {x}]"
                if renames and ka <= b.lo + x < kb:
                    v = f"RN{f}[ord{f}[{k}]][{v}]"
                    v = f"BK{f}_{k}[{v}]" if b.table is not None else v
                src[b.lo + x] = v
            for j, w in enumerate(b.words):
                src[w] = f"s[WD{f}[ord{f}[{k}]][{j}]]"
    lines.append(f"    uint64_t w[{words}] = {{0}};")
    for i, (fi, (word, shift, nbits)) in enumerate(zip(fields, places, strict=True)):
        if nbits:
            v = src.get(i, f"s[{i}]")
            lines.append(f"    w[{word}] |= (uint64_t)({v} - ({fi.lo})) << {shift};")
    return [*lines, "    memcpy(out, w, W);", "}"]


def sorted_family(
    f: int,
    blocks: Sequence[Block],
    fields: Sequence[FieldInfo],
    loops: Sequence[LoopPlan | None],
    at: int,
) -> list[str]:
    """Family ``f``'s instances' keys (``key{f}``) and their sorted order (``ord{f}``),
    written to ``perm[at...]`` when asked: the start of `pack_canon` and `prekey`."""
    ranges, _ = _ranges(blocks, fields)
    bits = [(hi - lo).bit_length() for lo, hi in ranges]
    lp = loops[f] if f < len(loops) else None
    names = (f"key{f}", f"ord{f}", f"mv{f}")
    lines = [x[4:] for x in _sort(f, blocks, ranges, bits, names, lp)]
    lines.append(f"    (void)mv{f};")
    m = len(blocks)
    lines.append(f"    if (perm) for (int k = 0; k < {m}; k++) perm[{at} + k] = ord{f}[k];")
    return lines


def _direct(blocks: Sequence[Block], fields: Sequence[FieldInfo]) -> bool:
    """Can the family's canonical form be packed straight from the state: integer keys,
    the same range in every instance's field at a position, and kind codes renamed from
    any instance to any position staying within it?"""
    _, same = _ranges(blocks, fields)
    if not same:
        return False
    ident = bytes(range(256))
    for b in blocks:
        ka, kb = b.kinds
        for fld in range(ka, kb):
            f = fields[fld]
            for other in blocks:
                t = other.table or ident
                back = b.inverse or ident
                if any(not f.lo <= back[t[v]] <= f.hi for v in range(f.lo, f.hi + 1)):
                    return False
    return True


def _layout_arrays(plans: Sequence[Sequence[Block]]) -> list[str]:
    """Per family: each instance's block start, owned words, kind range, and (when
    kinds are renamed) its table back from instance 0's codes."""
    lines = []
    for f, blocks in enumerate(plans):
        lines.append(array("int", f"B{f}", [b.lo for b in blocks]))
        nw = len(blocks[0].words)
        if nw:
            rows = ", ".join("{" + ", ".join(map(str, b.words)) + "}" for b in blocks)
            lines.append(f"static const int WD{f}[{len(blocks)}][{nw}] = {{{rows}}};")
        if any(b.table is not None for b in blocks):
            ids = ", ".join(f"BK{f}_{k}" if b.table else f"ID{f}" for k, b in enumerate(blocks))
            lines.append(f"static const uint8_t *BKP{f}[{len(blocks)}] = {{{ids}}};")
    return lines


def _uncanon(plans: Sequence[Sequence[Block]]) -> list[str]:
    """``uncanon(t, perm, s)``: the concrete state ``s`` whose canonical form is ``t``,
    ``perm`` being the sorted order `pack_canon` gave: instance perm[k]'s block and words
    are at position k of ``t``, its kinds renamed by position k's table to instance 0's
    codes and back by its own."""
    lines = ["static void uncanon(const int32_t *t, const uint8_t *perm, int32_t *s) {"]
    lines.append("    memcpy(s, t, sizeof(int32_t) * NF);")
    at = 0
    for f, blocks in enumerate(plans):
        size = blocks[0].hi - blocks[0].lo
        renames = any(b.table is not None for b in blocks)
        for k, b in enumerate(blocks):
            lines.append("    {")
            lines.append(f"        int j = perm[{at + k}];")
            lines.append(f"        memcpy(s + B{f}[j], t + {b.lo}, {4 * size});")
            ka, kb = b.kinds
            if renames and ka < kb:
                lines.append(f"        for (int x = {ka - b.lo}; x < {kb - b.lo}; x++)")
                lines.append(f"            s[B{f}[j] + x] = BKP{f}[j][RN{f}[{k}][t[{b.lo} + x]]];")
            for jj, w in enumerate(b.words):
                lines.append(f"        s[WD{f}[j][{jj}]] = t[{w}];")
            lines.append("    }")
        at += len(blocks)
    lines.append("}")
    return lines
