"""The state vector of the machine and the vocabulary the rules are written in.

A state is a tuple of small integers.  Per core: pc, interrupt flag, the
in-handler flag and saved pc, current space, registers, a store buffer of
`buffer` slots, a queue of 4 pending IPIs, and a TLB with one slot per
(page, tag) where a tag is an ASID or the global tag.  Shared: one memory word
per variable and per page-table entry, the last PTE value issued and the one
recorded at `complete` for each entry, and a freed flag per frame.

A PTE value is ``wid*4 + latest*2 + stale``: ``wid`` indexes the PTE values of
the program (a page declaration or a `pte` statement), ``latest`` says it is
the value of the most recently issued write to its entry, ``stale`` that a
`complete` happened while a newer write existed.  These two bits are all the
race rules need of issue order, so the state stays finite under loops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from verifier.ir import buffers
from verifier.ir import program as P
from verifier.ir.system import (
    FALSE,
    TRUE,
    BufferBound,
    Const,
    Expr,
    Field,
    FieldInfo,
    Table,
    conj,
    disj,
    eq,
    ite,
    ne,
    op,
)
from verifier.lang.checked import WEAK_MODELS

QUEUE = 4  # pending IPIs a core holds at most


def C(v: int) -> Const:
    return Const(v)


# ---------------------------------------------------------------- PTE values


def pte_wid(x: Expr) -> Expr:
    return op("div", x, C(4))


def pte_latest(x: Expr) -> Expr:
    return op("mod", op("div", x, C(2)), C(2))


def pte_stale(x: Expr) -> Expr:
    return op("mod", x, C(2))


def pte_clear_latest(x: Expr) -> Expr:
    return ite(eq(pte_latest(x), 1), op("sub", x, C(2)), x)


def pte_mark_stale(x: Expr) -> Expr:
    return ite(conj(eq(pte_latest(x), 0), eq(pte_stale(x), 0)), op("add", x, C(1)), x)


def fresh_pte(wid: int) -> int:
    return wid * 4 + 2


@dataclass
class CoreFields:
    pc: int
    irq: int
    inh: int
    spc: int
    space: int
    regs: list[int]
    hregs: list[int]
    sba: list[int]  # buffer slot kind: 0 empty, store address+1, BARRIER, IPI code
    sbv: list[list[int]]  # buffer slot values (a store uses [0]; an IPI its args)
    qh: list[int]  # queued IPI: handler+1, 0 empty
    qa: list[list[int]]  # queued IPI arguments
    te: dict[tuple[int, int], int]  # (page, tag) -> source (see Layout.src), 0 empty
    tw: dict[tuple[int, int], int]  # (page, tag) -> PTE value
    psc: dict[int, int] = field(default_factory=dict)  # dir -> cached table+1, 0 empty
    td: dict[tuple[int, int], int] = field(default_factory=dict)  # (page, tag) -> cached D bit


@dataclass
class Layout:
    """Field indices of a program's state vector, plus the constant tables."""

    prog: P.Program
    model: str
    fields: list[FieldInfo] = field(default_factory=list)
    cores: list[CoreFields] = field(default_factory=list)
    mem: list[int] = field(default_factory=list)  # per address: words, then PTE entries
    last: list[int] = field(default_factory=list)  # per PTE entry: wid last issued
    rec: list[int] = field(default_factory=list)  # per PTE entry: wid+1 recorded at complete
    freed: list[int] = field(default_factory=list)  # per frame
    # per frame named by a `copy` or `zero` (docs/page-tables.md): 0 its data is live,
    # 1 zeroed, 2+B copied to frame B; none in a spec without those statements
    contents: dict[int, int] = field(default_factory=dict)
    # per PTE entry address (`option ad = hardware`): accessed bit 1, dirty bit 2
    ad: dict[int, int] = field(default_factory=dict)
    ipi_codes: dict[tuple[int, int], int] = field(default_factory=dict)  # (core, pc) -> code
    page_values: int = 0  # a page argument is below this (`P.V` carries its space: page_arg)
    bound: BufferBound = field(default_factory=lambda: BufferBound("none", 0))  # (see System)
    arm: Any = field(default_factory=list)  # layout_arm.ArmLayout: data words, `arm` fields

    def groups(self) -> tuple[tuple[int, ...], ...]:
        """The fields that together describe one machine object: a core's control state
        (pc, interrupt flag, handler state, space), a register, a store-buffer slot, a
        queued IPI, a TLB entry, a memory word, a page-table entry with its issue and
        completion records, a freed flag.  Relational invariants are built over these."""
        out: list[tuple[int, ...]] = []
        for cf in self.cores:
            out.append((cf.pc, cf.irq, cf.inh, cf.spc, cf.space))
            out += [(r,) for r in (*cf.regs, *cf.hregs)]
            out += [(k, *vs) for k, vs in zip(cf.sba, cf.sbv, strict=True)]
            out += [(h, *vs) for h, vs in zip(cf.qh, cf.qa, strict=True)]
            out += [(cf.te[key], cf.tw[key]) for key in sorted(cf.te)]
            out += [(cf.psc[d],) for d in sorted(cf.psc)]
            out += [(cf.td[key],) for key in sorted(cf.td)]
        out += [(f,) for f in self.mem[: self.nwords]]
        for i, f in enumerate(self.mem[self.nwords : self.nwords + len(self.last)]):
            out.append((f, self.last[i], self.rec[i]))
        out += [(f,) for f in self.mem[self.nwords + len(self.last) :]]
        out += [(f,) for f in self.freed]
        out += [(self.contents[f],) for f in sorted(self.contents)]
        out += self.arm.groups() if hasattr(self.arm, "groups") else []
        out += [(self.ad[a],) for a in sorted(self.ad)]
        assert sorted(i for g in out for i in g) == list(range(len(self.fields)))
        return tuple(out)

    def add(self, name: str, lo: int, hi: int, init: int) -> int:
        self.fields.append(FieldInfo(name, lo, hi, init))
        return len(self.fields) - 1

    # -- addresses
    @property
    def nwords(self) -> int:
        return len(self.prog.words)

    def pte_addr(self, space: int, page: int) -> int:
        return self.nwords + space * len(self.prog.pages) + page

    # -- two-level pages (docs/page-tables.md): after the PTE entries come the leaf entries
    # of every table (table-major), then the dirs
    @property
    def nentries(self) -> int:
        return len(self.prog.spaces) * len(self.prog.pages)

    def leaf_addr(self, table: int, slot: int) -> int:
        return self.nwords + self.nentries + table * self.prog.slots + slot

    def dir_addr(self, d: int) -> int:
        return self.nwords + self.nentries + len(self.prog.tables) * self.prog.slots + d

    def src(self, space: int, table: int = 0) -> int:
        """A TLB entry's source: the space it was filled from and, for a two-level page, the
        table its leaf was read from (0 for a one-level page: then it is space+1)."""
        return 1 + space + len(self.prog.spaces) * table

    def src_space(self, te: Expr) -> Expr:
        """The space+1 of a TLB entry's source (``te`` nonzero)."""
        if not self.prog.dirs:
            return te
        return op("add", op("mod", op("sub", te, C(1)), C(len(self.prog.spaces))), C(1))

    def addr_name(self, a: int) -> str:
        if a < self.nwords:
            return self.prog.words[a].name
        if a >= self.nwords + self.nentries:
            k = a - self.nwords - self.nentries
            ntab = len(self.prog.tables) * self.prog.slots
            if k >= ntab:
                return self.prog.dirs[k - ntab].name
            table, slot = divmod(k, self.prog.slots)
            return f"{self.prog.frames[self.prog.tables[table]]}[{slot}]"
        s, p = divmod(a - self.nwords, len(self.prog.pages))
        page = self.prog.pages[p]
        return page if len(self.prog.spaces) == 1 else f"{self.prog.spaces[s].name}.{page}"

    @property
    def naddrs(self) -> int:
        prog = self.prog
        return self.nwords + self.nentries + len(prog.tables) * prog.slots + len(prog.dirs)

    @property
    def barrier(self) -> int:
        return self.naddrs + 1

    @property
    def ipi0(self) -> int:
        return self.naddrs + 2

    # -- tags
    @property
    def tags(self) -> tuple[int, ...]:
        """Tag slot numbers: one per distinct ASID, then the global tag."""
        return tuple(range(len(self.prog.asids) + 1))

    @property
    def gtag(self) -> int:
        return len(self.prog.asids)

    def tag_of_space(self, s: int) -> int:
        return self.prog.asids.index(self.prog.spaces[s].asid)

    def tag_of_asid(self, asid: int) -> int:
        return self.prog.asids.index(asid)

    # -- tables over wid
    def table(self, fn: Callable[[P.PteValue], int], index: Expr) -> Expr:
        return Table(tuple(fn(v) for v in self.prog.pte_values), index)

    def valid(self, wid: Expr) -> Expr:
        return self.table(lambda v: int(v.frame >= 0), wid)

    def frame(self, wid: Expr) -> Expr:
        return self.table(lambda v: v.frame, wid)

    def is_global(self, wid: Expr) -> Expr:
        return self.table(lambda v: int(v.global_), wid)

    def allows(self, wid: Expr, bit: int) -> Expr:  # every bit (IAccess.bit); arm: not `old`
        ok = lambda v: v.frame >= 0 and v.perms & bit == bit and (v.af or self.model != "arm")  # noqa: E731
        return self.table(lambda v: int(ok(v)), wid)

    def freed_at(self, frame: Expr) -> Expr:
        return disj(
            *(conj(eq(frame, f), Field(self.freed[f])) for f in range(len(self.prog.frames)))
        )

    # -- store buffers
    def buffered(self, c: int) -> bool:
        return self.model in ("tso", "pso")  # not sc, nor arm (docs/arm64.md)

    def is_store(self, kind: Expr) -> Expr:
        return conj(op("ge", kind, C(1)), op("le", kind, C(self.naddrs)))

    def is_ipi(self, kind: Expr) -> Expr:
        return op("ge", kind, C(self.ipi0))

    def buffer_empty(self, c: int) -> Expr:
        return eq(Field(self.cores[c].sba[0]), 0) if self.buffered(c) else TRUE

    def buffer_full(self, c: int) -> Expr:
        return ne(Field(self.cores[c].sba[-1]), 0)

    def buffer_any(self, c: int, pred: Callable[[Expr], Expr]) -> Expr:
        if not self.buffered(c):
            return FALSE
        return disj(*(pred(Field(k)) for k in self.cores[c].sba))

    def tables_seen(self, c: int, d: int) -> Iterator[tuple[int, Expr]]:
        """The table dir ``d`` points to in core ``c``'s view (its youngest buffered store
        to the dir, else memory): each table index with its condition, then -1 (invalid)."""
        view = self.load(c, self.dir_addr(d))
        for k in range(len(self.prog.tables)):
            yield k, eq(view, k + 1)
        yield -1, eq(view, 0)

    def ad_view(self, c: int, addr: int) -> Expr:
        """The accessed/dirty bits of PTE entry ``addr`` as core ``c`` reads them: those of
        memory, or 0 where its own buffer holds a store to the entry (a `pte` write
        stores both bits clear)."""
        mine = self.buffer_any(c, lambda k: eq(k, addr + 1))
        return ite(mine, C(0), Field(self.ad[addr])) if mine != FALSE else Field(self.ad[addr])

    def load(self, c: int, addr: int) -> Expr:
        """A core's view of a word: its youngest buffered store to it, else memory."""
        value: Expr = Field(self.mem[addr])
        if self.buffered(c):
            cf = self.cores[c]
            for k in range(len(cf.sba)):
                value = ite(eq(Field(cf.sba[k]), addr + 1), Field(cf.sbv[k][0]), value)
        return value


def build_layout(prog: P.Program, model: str) -> Layout:
    lay = Layout(prog, model)
    npages = len(prog.pages)
    nwid = len(prog.pte_values)
    word_lo = min([0, *(w.lo for w in prog.words)])
    reg_lo = min([0, *(c.reg_range[0] for c in prog.cores)])
    reg_hi = max([15, *(c.reg_range[1] for c in prog.cores)])
    maxargs = max([1, *(len(h.params) for h in prog.handlers)])
    ipi_instrs = [
        (c, pc)
        for c, core in enumerate(prog.cores)
        for pc, ins in enumerate(core.code)
        if isinstance(ins, P.IIpi)
    ]
    for i, key in enumerate(ipi_instrs):
        lay.ipi_codes[key] = lay.ipi0 + i
    val_lo = min(word_lo, reg_lo)
    ipis = [ins for c, pc in ipi_instrs if isinstance(ins := prog.cores[c].code[pc], P.IIpi)]
    page_args = [a for ins in ipis for a, page in zip(ins.args, ins.pages, strict=False) if page]
    lay.page_values = max([npages, *(a.value + 1 for a in page_args if isinstance(a, P.LConst))])
    val_hi = max([reg_hi, lay.page_values - 1, nwid * 4 + 3, *(w.hi for w in prog.words)])
    kind_hi = lay.ipi0 + len(ipi_instrs)
    if model in ("sc", *WEAK_MODELS):
        lay.bound = BufferBound("none", 0)
    elif prog.buffer:
        lay.bound = BufferBound("option", prog.buffer)
    else:
        need = buffers.bound(prog, model)
        lay.bound = (
            BufferBound("capped", buffers.FALLBACK)
            if need is None
            else BufferBound("sized", max(1, need))
        )
    cap = lay.bound.capacity
    hreg_hi = max(reg_hi, lay.page_values - 1)
    for core in prog.cores:
        n = core.name
        end = len(core.code)
        cf = CoreFields(
            pc=lay.add(f"{n}.pc", 0, end, 0),
            irq=lay.add(f"{n}.irq", 0, 1, 1),
            inh=lay.add(f"{n}.in_handler", 0, 1, 0),
            spc=lay.add(f"{n}.saved_pc", 0, end, 0),
            space=lay.add(f"{n}.space", 0, len(prog.spaces) - 1, core.space),
            regs=[lay.add(f"{n}.{r}", core.reg_range[0], core.reg_range[1], 0) for r in core.regs],
            hregs=[lay.add(f"{n}.h.{r}", reg_lo, hreg_hi, 0) for r in core.hregs],
            sba=[lay.add(f"{n}.sb[{k}].kind", 0, kind_hi, 0) for k in range(cap)],
            sbv=[
                [lay.add(f"{n}.sb[{k}].v{j}", val_lo, val_hi, 0) for j in range(maxargs)]
                for k in range(cap)
            ],
            qh=[lay.add(f"{n}.q[{k}].handler", 0, len(prog.handlers), 0) for k in range(QUEUE)],
            qa=[
                [lay.add(f"{n}.q[{k}].a{j}", val_lo, val_hi, 0) for j in range(maxargs)]
                for k in range(QUEUE)
            ],
            te={},
            tw={},
        )
        _tlb_fields(lay, cf, n)
        lay.cores.append(cf)
    _shared_fields(lay, val_lo, val_hi)
    return lay


def _tlb_fields(lay: Layout, cf: CoreFields, n: str) -> None:
    """A core's TLB (one entry per page and tag) and paging-structure cache (one entry per
    dir; none in a one-level spec)."""
    prog = lay.prog
    nwid = len(prog.pte_values)
    src_hi = lay.src(len(prog.spaces) - 1, max(0, len(prog.tables) - 1))
    for v in range(len(prog.pages)):
        for t in lay.tags:
            cf.te[(v, t)] = lay.add(f"{n}.tlb[{prog.pages[v]},{t}].src", 0, src_hi, 0)
            cf.tw[(v, t)] = lay.add(f"{n}.tlb[{prog.pages[v]},{t}].pte", 0, nwid * 4 + 3, 0)
    for d, dr in enumerate(prog.dirs):
        cf.psc[d] = lay.add(f"{n}.psc[{dr.name}]", 0, len(prog.tables), 0)
    if prog.ad == "hardware" and lay.model not in WEAK_MODELS:  # x86 A/D bits
        for v, t in sorted(cf.te):
            cf.td[(v, t)] = lay.add(f"{n}.tlb[{prog.pages[v]},{t}].dirty", 0, 1, 0)


def _shared_fields(lay: Layout, val_lo: int, val_hi: int) -> None:
    """Memory (words, PTE entries, then leaf entries and dirs of two-level pages), each
    entry's issue and completion records, and a freed flag per frame."""
    prog = lay.prog
    nwid = len(prog.pte_values)

    def entry(name: str, wid: int) -> None:
        lay.mem.append(lay.add(f"pte.{name}", 0, nwid * 4 + 3, fresh_pte(wid)))
        lay.last.append(lay.add(f"last.{name}", 0, nwid - 1, wid))
        lay.rec.append(lay.add(f"recorded.{name}", 0, nwid, 0))

    for w in prog.words:
        lay.mem.append(lay.add(f"mem.{w.name}", min(w.lo, val_lo), max(w.hi, val_hi), w.init))
    for s, space in enumerate(prog.spaces):
        for v in range(len(prog.pages)):
            entry(lay.addr_name(lay.pte_addr(s, v)), space.entries[v])
    for k, row in enumerate(prog.leaves):
        for slot, wid in enumerate(row):
            entry(lay.addr_name(lay.leaf_addr(k, slot)), wid)
    for dr in prog.dirs:
        lay.mem.append(lay.add(f"dir.{dr.name}", 0, len(prog.tables), dr.init + 1))
    for frame in prog.frames:
        lay.freed.append(lay.add(f"freed.{frame}", 0, 1, 0))
    copies = [i for core in prog.cores for i in core.code if isinstance(i, P.ICopy | P.IZero)]
    named = {f for i in copies for f in ((i.src, i.dst) if isinstance(i, P.ICopy) else (i.frame,))}
    for f in sorted(named):
        lay.contents[f] = lay.add(f"contents.{prog.frames[f]}", 0, 2 * len(prog.frames) + 1, 0)
    if prog.ad == "hardware" and lay.model not in WEAK_MODELS:
        for a in range(lay.nwords, lay.nwords + len(lay.last)):
            lay.ad[a] = lay.add(f"ad.{lay.addr_name(a)}", 0, 3, 0)
