"""The state the `arm` model adds per core (docs/arm64.md §2-3).

- ``done[pc]``: the instruction at ``pc`` was performed early (only for instructions
  that may be: `Window.early`);
- per access through translation, its held translation read: ``tr`` (the PTE value),
  ``ts`` (the space it was found for + 1; 0: none held), ``tv`` (the page + 1);
- ``mark[(pc, issuer)]``: a broadcast `tlbi` of core ``issuer`` covered the held
  translation read; the issuer's next full `dsb` waits until the access is performed;
- ``fault``: pc + 1 of a fault that stops the core (``Program.fatal``), 0 none;
  ``ftype``, where the final condition asks for a fault's type: 1 translation (the
  entry used is invalid), 2 permission (valid, without the permission);
- ``entry``: a core that retries its first fault (docs/arm64.md section 3): 1 while
  that fault is taken and the exception not entered yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.ir import program as P
from verifier.lang.checked import WEAK_MODELS
from verifier.machine.layout import Layout
from verifier.machine.window import Window, stored


class ArmLayout(list):  # type: ignore[type-arg]
    """``Layout.arm``: the `arm` fields of each core (a list of `ArmCore`), the data words
    of frames (``data``, any model) and the break-before-make fields (``bbm``: per PTE a
    valid value is stored to, (last valid wid + 1, cleared bit))."""

    def __init__(self) -> None:
        super().__init__()
        self.data: list[int] = []
        self.bbm: dict[tuple[int, int], tuple[int, int]] = {}
        # per core with a load-exclusive: its reservation (frame + 1; 0 none)
        self.res: dict[int, int] = {}

    def groups(self) -> list[tuple[int, ...]]:
        out: list[tuple[int, ...]] = [(f,) for f in self.data]
        out += [(self.res[c],) for c in sorted(self.res)]
        for a in self:
            out += a.groups()
        return out + [f for _, f in sorted(self.bbm.items())]


@dataclass
class ArmCore:
    done: dict[int, int] = field(default_factory=dict)
    tr: dict[int, int] = field(default_factory=dict)
    ts: dict[int, int] = field(default_factory=dict)
    tv: dict[int, int] = field(default_factory=dict)
    mark: dict[tuple[int, int], int] = field(default_factory=dict)
    fault: int | None = None
    ftype: int | None = None  # the fault's type: 1 translation, 2 permission (`.litmus`)
    entry: int | None = None  # retried faults: the exception entry is pending
    hu: dict[int, tuple[int, int]] = field(default_factory=dict)  # pending walker update

    def groups(self) -> list[tuple[int, ...]]:
        out: list[tuple[int, ...]] = [(f,) for _, f in sorted(self.done.items())]
        for pc in sorted(self.tr):
            marks = [f for (p, _), f in sorted(self.mark.items()) if p == pc]
            out.append((self.tr[pc], self.ts[pc], self.tv[pc], *marks))
        if self.fault is not None:
            out.append((self.fault,) if self.ftype is None else (self.fault, self.ftype))
        if self.entry is not None:
            out.append((self.entry,))
        out += [self.hu[pc] for pc in sorted(self.hu)]
        return out


def broadcasters(prog: P.Program) -> list[int]:
    """Cores whose code has a broadcast `tlbi`."""
    return [
        c
        for c, core in enumerate(prog.cores)
        if any(isinstance(ins, P.ITlbi) and ins.broadcast for ins in core.code)
    ]


def add_arm_fields(lay: Layout) -> None:
    """The data words of frames (any model), then under `arm` the per-core and
    break-before-make fields."""
    prog = lay.prog
    lay.arm = ArmLayout()
    vals = [lay.fields[f] for cf in lay.cores for f in cf.regs] + [lay.fields[f] for f in lay.mem]
    lo, hi = min([0, *(f.lo for f in vals)]), max([15, *(f.hi for f in vals)])
    for f, init in enumerate(prog.frame_data):
        lay.arm.data.append(lay.add(f"data.{prog.frames[f]}", min(lo, init), max(hi, init), init))
    for c, core in enumerate(prog.cores):
        if any((isinstance(x, P.IAccess) and x.exclusive and x.kind == "read")
               or (isinstance(x, P.IPte) and x.rmw == "load_exclusive") for x in core.code):
            n = core.name  # frame + 1, or after the frames an entry (rules_data.entry_code)
            lay.arm.res[c] = lay.add(f"{n}.reserved", 0, len(prog.frames) + len(lay.mem), 0)
    if lay.model not in WEAK_MODELS:
        return
    win = Window(prog)
    nwid = len(prog.pte_values)
    issuers = broadcasters(prog)
    flags = any(not v.af or v.dbm for v in prog.pte_values)  # docs/arm64.md section 7
    for c, core in enumerate(prog.cores):
        a = ArmCore()
        n = core.name
        for pc in range(len(core.code)):
            if win.early(c, pc) or win.handled(c, pc):
                a.done[pc] = lay.add(f"{n}.done@{pc}", 0, 1, 0)
        for pc, ins in enumerate(core.code):
            if isinstance(ins, P.IAccess):
                a.tr[pc] = lay.add(f"{n}.tr@{pc}.pte", 0, nwid * 4 + 3, 0)
                a.ts[pc] = lay.add(f"{n}.tr@{pc}.space", 0, len(prog.spaces), 0)
                a.tv[pc] = lay.add(f"{n}.tr@{pc}.page", 0, len(prog.pages), 0)
                for i in issuers:
                    if i != c:
                        a.mark[(pc, i)] = lay.add(f"{n}.tr@{pc}.mark.{prog.cores[i].name}", 0, 1, 0)
                if flags and prog.ad_cores and prog.ad_cores[c] != "none" and lay.model == "arm":
                    value = lay.add(f"{n}.hu@{pc}.pte", 0, nwid * 4 + 4, 0)  # read value + 1
                    a.hu[pc] = (value, lay.add(f"{n}.hu@{pc}.addr", 0, len(lay.last), 0))
        if win.fatal(c):
            a.fault = lay.add(f"{n}.fault", 0, len(core.code), 0)
            if prog.final is not None and prog.final.typed:
                a.ftype = lay.add(f"{n}.fault_type", 0, 2, 0)
            if win.retries(c):
                a.entry = lay.add(f"{n}.exception_entry", 0, 1, 0)
        lay.arm.append(a)
    for s, v in sorted(remapped(prog) if lay.model == "arm" else ()):  # no bbm under riscv
        wid = prog.spaces[s].entries[v]
        first = prog.pte_values[wid]
        last = wid + 1 if first.frame >= 0 and first.af else 0  # `old`: never cached
        name = lay.addr_name(lay.pte_addr(s, v))
        lay.arm.bbm[(s, v)] = (
            lay.add(f"bbm.{name}.last_valid", 0, nwid, last),
            lay.add(f"bbm.{name}.cleared", 0, 1, 0),
        )


def remapped(prog: P.Program) -> set[tuple[int, int]]:
    """One-level PTEs some `pte` statement may store a valid value to: break-before-make
    is judged there (docs/arm64.md §5)."""
    out = set()
    for core in prog.cores:
        for ins in core.code:
            if isinstance(ins, P.IPte) and any(prog.pte_values[w].frame >= 0 for w in stored(ins)):
                spaces = range(len(prog.spaces)) if ins.space is None else (ins.space,)
                pages = (ins.page,) if isinstance(ins.page, int) else range(len(prog.pages))
                out |= {(s, v) for s in spaces for v in pages if prog.walk(s, v) is None}
    return out
