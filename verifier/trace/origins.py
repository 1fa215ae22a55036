"""Where things came from along a replayed path: which step put each buffered entry,
queued IPI, TLB entry and memory word where it is.

``Origins.track`` is called once per step with the pre- and post-state; it returns
the earlier steps the step completes or uses (its links) and the step whose store
its load reads.  It diffs the two states (a slot that became non-empty was filled
by this step) together with what the command's info names (its buffer slot, TLB
slot, the word it reads).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.ir.system import Command
from verifier.machine.layout import Layout

State = tuple[int, ...]
_LEAVES_BUFFER = ("drain", "ipi-queued", "barrier")


@dataclass
class Origins:
    """Which step put each buffered entry, queued IPI and TLB entry where it is."""

    lay: Layout
    buffer: dict[int, list[int]] = field(default_factory=dict)  # core -> step per slot
    queue: dict[int, list[int]] = field(default_factory=dict)  # core -> step per slot
    tlb: dict[int, int] = field(default_factory=dict)  # te field -> step
    memory: dict[int, int] = field(default_factory=dict)  # word field -> step of its store
    # under `arm`, per issuing core: its broadcast tlbis not yet completed by a full dsb,
    # and the accesses (of other cores) that their marks made it wait for
    broadcasts: dict[int, list[int]] = field(default_factory=dict)
    waited: dict[int, list[int]] = field(default_factory=dict)

    def track(
        self, cmd: Command, pre: State, post: State, idx: int
    ) -> tuple[list[int], int | None]:
        """Step ``idx`` runs ``cmd``: its links and the step its load reads from."""
        reads_from = self._reads_from(cmd, pre)
        links = self._links(cmd, pre, post, idx)
        self._record_writes(cmd, pre, post, idx, links)
        return links, reads_from

    def _reads_from(self, cmd: Command, pre: State) -> int | None:
        """The step whose store the command's load reads: the youngest buffered store of
        the same core to that word, else the store that put the value in memory."""
        addr = cmd.get("reads")
        if addr is None:
            return None
        cf = self.lay.cores[cmd.core]
        buf = self.buffer.get(cmd.core, [])
        for k in reversed(range(len(cf.sba))):
            if pre[cf.sba[k]] == addr + 1 and k < len(buf) and buf[k]:
                return buf[k]
        return self.memory.get(self.lay.mem[addr])

    def _record_writes(
        self, cmd: Command, pre: State, post: State, idx: int, links: list[int]
    ) -> None:
        """Remember which store each memory word now holds (a drain stands for the
        buffered store it completes)."""
        writer = links[0] if cmd.action == "drain" and links else idx
        for f in self.lay.mem[: self.lay.nwords]:
            if pre[f] != post[f] or (cmd.action == "drain" and self._drained(cmd, pre) == f):
                self.memory[f] = writer

    def _drained(self, cmd: Command, pre: State) -> int | None:
        kind = pre[self.lay.cores[cmd.core].sba[cmd.get("slot", 0)]]
        return self.lay.mem[kind - 1] if 1 <= kind <= self.lay.nwords else None

    def _links(self, cmd: Command, pre: State, post: State, idx: int) -> list[int]:
        links: list[int] = []
        for c, cf in enumerate(self.lay.cores):
            buf = self.buffer.setdefault(c, [0] * len(cf.sba))
            que = self.queue.setdefault(c, [0] * len(cf.qh))
            if c == cmd.core and cmd.action in _LEAVES_BUFFER:
                links += _leave(buf, cmd.get("slot", 0))
            if c == cmd.core and cmd.action == "handler-entered":
                links += _leave(que, 0)
            pushes = c == cmd.core and cmd.action not in _LEAVES_BUFFER
            for k, f in enumerate(cf.sba):
                if pushes and pre[f] == 0 and post[f] != 0:
                    buf[k] = idx
            for k, f in enumerate(cf.qh):
                entered = pre[f] == 0 or cmd.action == "handler-entered"
                if post[f] != 0 and entered and cmd.action in ("ipi-sent", "ipi-queued"):
                    que[k] = idx
            for f in (*cf.te.values(), *cf.psc.values()):
                if post[f] == 0:
                    self.tlb.pop(f, None)
                elif pre[f] == 0:
                    self.tlb[f] = idx
        links += self._dsb(cmd, pre, post, idx)
        slot = cmd.get("slot")
        if cmd.action == "access" and slot in self.tlb and self.tlb[slot] != idx:
            links.append(self.tlb[slot])
        if cmd.get("via") == "cached":  # a walk through a cached pointer: who cached it
            psc = self.lay.cores[cmd.core].psc[cmd.get("dir")]
            if psc in self.tlb and self.tlb[psc] != idx:
                links.append(self.tlb[psc])
        return sorted(set(links))

    def _dsb(self, cmd: Command, pre: State, post: State, idx: int) -> list[int]:
        """Under `arm`: a full `dsb` links to the broadcast `tlbi`s of its core it completes
        and to the accesses whose marks (set by those `tlbi`s) it waited for."""
        if self.lay.model != "arm":
            return []
        if cmd.action in ("invlpg", "flush") and cmd.get("broadcast"):
            self.broadcasts.setdefault(cmd.core, []).append(idx)
        for a in self.lay.arm:
            for (_, issuer), f in a.mark.items():
                if pre[f] and not post[f] and cmd.action in ("access", "fault"):
                    self.waited.setdefault(issuer, []).append(idx)
        if cmd.action == "fence" and cmd.get("kind") == "dsb" and cmd.get("which") == "full":
            return self.broadcasts.pop(cmd.core, []) + self.waited.pop(cmd.core, [])
        return []


def _leave(slots: list[int], i: int) -> list[int]:
    """Slot ``i`` of a buffer or queue leaves it (later slots move up): its origin."""
    step = slots[i]
    del slots[i]
    slots.append(0)
    return [step] if step else []
