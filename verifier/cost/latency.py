"""What one command of a timed run costs: its end time from the cost table, with the
cache line of a written word moving between cores (and sockets) as writers change."""

from __future__ import annotations

from verifier.cost.rules import Cmd
from verifier.cost.table import CostTable
from verifier.machine.layout import Layout


class Latency:
    """When a step that starts at a given time ends; owns which core last wrote each word
    and when its line is free again."""

    def __init__(self, table: CostTable, lay: Layout) -> None:
        self.table, self.lay = table, lay
        self.line_free: dict[int, float] = {}
        self.line_writer: dict[int, int] = {}
        self.broadcasts: set[int] = set()  # cores with a broadcast tlbi not yet completed

    def cost(self, key: str) -> float:
        return self.table[key]

    def socket(self, c: int) -> int:
        return c // int(self.cost("topology.cores_per_socket"))

    def write_line(self, c: int, addr: int, ready: float, base: float) -> float:
        """When a write of core ``c`` to ``addr`` that may start at ``ready`` ends."""
        start = max(ready, self.line_free.get(addr, 0.0))
        extra = 0.0
        if self.line_writer.get(addr, c) != c:
            extra = self.cost("coherence.line_transfer")
            if self.socket(c) != 0:
                extra += self.cost("topology.cross_socket_transfer")
        self.line_free[addr] = end = start + base + extra
        self.line_writer[addr] = c
        return end

    def addr_of(self, cmd: Cmd) -> int:
        if cmd.get("addr") is not None:
            return int(cmd.get("addr"))
        if cmd.get("leaf") is not None:  # a two-level page's leaf (docs/page-tables.md)
            return int(cmd.get("leaf"))
        return self.lay.pte_addr(cmd.get("space"), cmd.get("page"))

    def ends(self, c: int, cmd: Cmd, now: float) -> float:
        a, k = cmd.action, self.cost
        if a == "rmw":
            return self.write_line(c, self.addr_of(cmd), now, k("memory.atomic"))
        if a == "store":  # sc: the store reaches memory at once
            return self.write_line(c, self.addr_of(cmd), now, k("memory.store_drain"))
        if a in ("invlpg", "flush") and cmd.get("broadcast") is not None:
            return now + self.tlbi(c, bool(cmd.get("broadcast")))
        if a == "fence" and cmd.get("kind") in ("dmb", "dsb", "isb"):
            return now + self.barrier(c, cmd.get("kind"), cmd.get("which"))
        per = {
            "store-buffered": "memory.store",
            "load": "memory.load",
            "await": "memory.load",
            "invlpg": "tlb.invlpg",
            "switch": "tlb.switch",
            "handler-returned": "ipi.handler_exit",
            "handler-entered": "ipi.handler_entry",
        }
        if a in per:
            return now + k(per[a])
        if a in ("ipi-sent", "ipi-buffered"):
            return now + k("ipi.send") + k("ipi.per_target") * len(cmd.get("targets"))
        if a == "fence":
            kind = cmd.get("kind")
            return (
                now
                + (k("memory.fence") if kind == "full" else 0.0)
                + (k("memory.fence_release") if kind == "release" else 0.0)
            )
        if a == "flush":
            return now + k("tlb.flush_asid" if cmd.get("asid") is not None else "tlb.flush_all")
        if a == "fault":
            return now + k("tlb.walk") * walk_levels(cmd)
        if a == "access":
            walk = k("tlb.walk") * walk_levels(cmd) if cmd.get("how") == "miss-fill" else 0.0
            return now + walk + k("memory.access")
        return now + k("memory.local")

    def tlbi(self, c: int, broadcast: bool) -> float:
        """A `tlbi`: local, or broadcast (completed, and paid for, at the next full dsb)."""
        if broadcast:
            self.broadcasts.add(c)
            return self.cost("arm.tlbi_broadcast")
        return self.cost("arm.tlbi_local")

    def barrier(self, c: int, kind: str, which: str) -> float:
        """A `dmb`, `isb` or `dsb`; a full `dsb` after broadcast `tlbi`s of its core waits
        for every other core of the machine to acknowledge them (docs/cost.md)."""
        if kind != "dsb":
            return self.cost(f"arm.{kind}")
        if which != "full" or c not in self.broadcasts:
            return self.cost("arm.dsb")
        self.broadcasts.discard(c)
        others = len(self.lay.cores) - 1
        return self.cost("arm.dsb_sync") + self.cost("arm.dsb_sync_per_core") * others


def walk_levels(cmd: Cmd) -> int:
    """Page-table levels a walk reads from memory: one for a one-level page; for a two-level
    one the dir and the leaf, or only the leaf through a cached pointer (docs/cost.md)."""
    if cmd.get("dir") is None:
        return 1
    if cmd.get("level") == "dir" or cmd.get("via") == "cached":
        return 1
    return 2
