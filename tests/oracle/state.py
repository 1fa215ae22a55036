"""The oracle's machine state: plain tuples when stored, dicts and lists while a step runs.

Addresses: ``("w", var, core)`` is a shared word (``core`` is "" for a scalar
var), ``("p", space, page)`` is a page-table entry, ``("l", table, slot)`` a leaf
slot of a table page, ``("d", dir)`` an upper-level entry (its value a table
name or None) and ``("c", frame)`` a frame's contents once copied or zeroed
(``("copied", B)``, ``("zeroed",)``) (docs/page-tables.md).  A PTE value is
``(pte, wid)`` where ``pte`` is None (invalid) or ``(frame, perms, global)`` and
``wid`` is the issue number of the `pte` write (0 for the declarations).

Store-buffer entries: ``("st", addr, value)``, ``("rel",)`` (a `fence release`),
``("ipi", targets, handler, args, ordered)``.  A TLB entry is
``(tag, page, frame, perms, src_space, wid, src_addr, dirty)`` with ``tag`` an ASID
or "G", ``src_addr`` the entry it was filled from and ``dirty`` whether it is cached
dirty (`option ad = hardware`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

Addr = tuple[Any, ...]
PTE_ADDRS = ("p", "l")  # a page's PTE, a leaf slot of a table page
Pte = tuple[str, str, bool] | None


class Hand(NamedTuple):
    """A handler running on a core over its interrupted program."""

    name: str
    pc: int
    regs: tuple[tuple[str, Any], ...]  # parameters first bound from the IPI's arguments
    saved_irq: bool


class CoreSt(NamedTuple):
    pc: int
    regs: tuple[tuple[str, int], ...]
    irq: bool
    hand: Hand | None
    space: str
    buf: tuple[tuple[Any, ...], ...]
    tlb: frozenset[tuple[Any, ...]]
    queue: tuple[tuple[Any, ...], ...]
    # the `arm` model (oracle/arm.py): (instructions performed early, held translation
    # reads as (pc, (pte, wid), page, space), marks as (pc, issuer)); () otherwise
    arm: tuple[Any, ...] = ()
    psc: frozenset[tuple[str, str]] = frozenset()  # (dir, table): cached upper-level entries


@dataclass(frozen=True)
class State:
    cores: tuple[CoreSt, ...]
    mem: tuple[tuple[Addr, Any], ...]
    last: tuple[tuple[Addr, Any], ...]  # PTE address -> (pte, wid) of the latest issued write
    rec: tuple[tuple[Addr, Any], ...]  # PTE address -> (pte, wid) recorded at the latest complete
    freed: frozenset[str]


class Work:
    """A mutable copy of a State for one step."""

    def __init__(self, s: State) -> None:
        self.cores = list(s.cores)
        self.mem = dict(s.mem)
        self.last = dict(s.last)
        self.rec = dict(s.rec)
        self.freed = set(s.freed)

    def core(self, i: int) -> CoreSt:
        return self.cores[i]

    def set_core(self, i: int, **changes: Any) -> None:
        self.cores[i] = self.cores[i]._replace(**changes)

    def next_wid(self) -> int:
        return 1 + max(wid for _, wid in self.last.values())

    def freeze(self) -> State:
        return compact(
            State(
                tuple(self.cores),
                tuple(
                    sorted(
                        self.mem.items(),
                    )
                ),
                tuple(
                    sorted(
                        self.last.items(),
                    )
                ),
                tuple(
                    sorted(
                        self.rec.items(),
                    )
                ),
                frozenset(self.freed),
            )
        )


def _wids(s: State) -> set[int]:
    out: set[int] = set()
    for addr, v in (*s.mem, *s.last, *s.rec):
        if addr[0] in PTE_ADDRS:
            out.add(v[1])
    for c in s.cores:
        out.update(e[2][1] for e in c.buf if e[0] == "st" and e[1][0] in PTE_ADDRS)
        out.update(e[5] for e in c.tlb)
        if c.arm:
            out.update(h[1][1] for h in c.arm[1])
    return out


def compact(s: State) -> State:
    """Renumber PTE write ids 0, 1, 2, ... keeping their order (only the order is ever
    compared), so that a loop rewriting a PTE does not make the state space infinite."""
    if all(v[1] == 0 for _, v in s.last):
        return s  # no `pte` write issued: every id is 0
    ids = sorted(_wids(s))
    if ids == list(range(len(ids))):
        return s
    rank = {w: i for i, w in enumerate(ids)}

    def pv(v: Any) -> Any:
        return (v[0], rank[v[1]])

    def mapping(items: tuple[tuple[Addr, Any], ...]) -> tuple[tuple[Addr, Any], ...]:
        out = []
        for a, v in items:
            if a[0] == "kept":  # what the invalid value of one write keeps (ptevalues.py)
                if a[2] in rank:
                    out.append((("kept", a[1], rank[a[2]]), v))
                continue
            out.append((a, pv(v) if a[0] in PTE_ADDRS else v))
        return tuple(sorted(out))

    cores = []
    for c in s.cores:
        buf = tuple(
            ("st", e[1], pv(e[2])) if e[0] == "st" and e[1][0] in PTE_ADDRS else e for e in c.buf
        )
        tlb = frozenset((*e[:5], rank[e[5]], *e[6:]) for e in c.tlb)
        arm = c.arm and (c.arm[0], tuple((h[0], pv(h[1]), *h[2:]) for h in c.arm[1]), *c.arm[2:])
        cores.append(c._replace(buf=buf, tlb=tlb, arm=arm))
    return State(tuple(cores), mapping(s.mem), mapping(s.last), mapping(s.rec), s.freed)
