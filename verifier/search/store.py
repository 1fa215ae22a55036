"""The explicit search's state store: every stored state by number, and the visited set.

`FlatStates` keeps fixed-width ``bytes`` states end to end in one ``bytearray`` and
finds them through an open-addressing hash table of state numbers (``array('i')``,
linear probing, at most half full): no Python object per state, so a state costs its
width, 4 bytes of hash (to grow the table without hashing every state again) and
8 to 16 bytes of table.  Most successors of a breadth-first layer are in that layer
or the next, so the keys of those two layers are also kept in a dict, looked up
first (in C; the table probe is Python code).  With symmetry reduction the states are
looked up by a canonical key that differs from the stored (concrete) state; the keys
are then kept in a second flat buffer.  `ListStates` is the same interface over a list and a
dict, for tuple states (a field outside 0..255).

Both read like a sequence of states (``len``, ``[i]``, ``[a:b]``, iteration), which is
what the consumers of `Exploration.states` use.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple, overload

from verifier.run.compile import State

_FIRST = 1 << 12  # initial table slots (a power of two)
_LOW = (1 << 32) - 1  # the hash bits kept per state: enough for a table of 2**31 states

Out = list[tuple[int, State | None]]  # a state's successors: (command, state or None)
CanonFn = Callable[[bytes], bytes]


class Links(NamedTuple):
    """Where `add_all` records the search graph: each new state's parent and command,
    and each successor's number (``succ`` None: the edges are not kept)."""

    parent: array  # type: ignore[type-arg]
    via: array  # type: ignore[type-arg]
    succ: array | None  # type: ignore[type-arg]


class FlatStates(Sequence[bytes]):
    """Fixed-width bytes states in one buffer, looked up by hash."""

    def __init__(self, width: int, keyed: bool = False) -> None:
        self.width = width
        self.data = bytearray()
        self.keys = bytearray() if keyed else self.data  # canonical keys, when they differ
        self.n = 0
        self.mask = _FIRST - 1
        self.table = array("i", [-1]) * _FIRST
        self.hashes = array("I")  # per state: the low 32 bits of its key's hash (to grow)
        # the keys of the states of the layer being expanded and of the next one, where
        # most successors are (a dict lookup in C, before probing the table)
        self.recent: dict[bytes, int] = {}
        self.layer = (0, 1)  # the numbers of the states of the layer being expanded

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> bytes: ...
    @overload
    def __getitem__(self, i: slice) -> list[bytes]: ...
    def __getitem__(self, i: int | slice) -> bytes | list[bytes]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self.n))]
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError("state number out of range")
        w = self.width
        return bytes(self.data[i * w : i * w + w])

    def __iter__(self) -> Iterator[bytes]:
        data, w = self.data, self.width
        for a in range(0, self.n * w, w):
            yield bytes(data[a : a + w])

    def find(self, key: bytes) -> int:
        """The number of the state stored under ``key``, or -1."""
        j = self.recent.get(key, -1)
        if j >= 0:
            return j
        keys, w, mask, table = self.keys, self.width, self.mask, self.table
        slot = hash(key) & mask
        j = table[slot]
        while j >= 0 and not keys.startswith(key, j * w):
            slot = (slot + 1) & mask
            j = table[slot]
        return j

    def add(self, state: bytes, key: bytes | None = None) -> int:
        """The number of the state stored under ``key`` (``state`` itself when None);
        stores ``state`` under a new number, ``len(self)`` before the call, if none is."""
        if len(state) != self.width or (key is not None and len(key) != self.width):
            raise ValueError(f"a state of {len(state)} bytes in a store of {self.width}-byte ones")
        return _add_one(self, state, key)

    def add_all(self, i: int, out: Out, canon: CanonFn | None, links: Links) -> None:
        """Looks up the successors ``out`` of state ``i`` (``None`` states, ends of
        failing paths, are skipped) by ``canon(state)`` or the state itself, stores each
        new one, appending ``i`` and the command to ``parent`` and ``via``, and appends
        every successor's number to ``succ`` (see `Links`).  One call per expanded state:
        the search's innermost loop, with the table in local variables."""
        parent, via, succ = links
        if i >= self.layer[1]:  # a new breadth-first layer: forget the one before it
            start = self.layer[1]
            self.layer = (start, self.n)
            self.recent = {k: j for k, j in self.recent.items() if j >= start}
        recent = self.recent
        get, record = recent.get, None if succ is None else succ.append
        data, keys, w, mask, table = self.data, self.keys, self.width, self.mask, self.table
        keyed, hashes = keys is not data, self.hashes
        for cid, n in out:
            if n is None:
                continue
            key = n if canon is None else canon(n)  # type: ignore[arg-type]
            j = get(key)  # type: ignore[arg-type]
            if j is None:
                h = hash(key)
                slot = h & mask
                j = table[slot]
                while j >= 0:
                    if keys.startswith(key, j * w):  # type: ignore[arg-type]
                        break
                    slot = (slot + 1) & mask
                    j = table[slot]
                else:  # a new state
                    j = self.n
                    table[slot] = j
                    hashes.append(h & _LOW)
                    recent[key] = j  # type: ignore[index]
                    data += n  # type: ignore[arg-type]
                    if keyed:
                        keys += key  # type: ignore[arg-type]
                    self.n = j + 1
                    parent.append(i)
                    via.append(cid)
                    if 2 * j >= mask:
                        self._grow()
                        mask, table = self.mask, self.table
            if record is not None:
                record(j)

    def _grow(self) -> None:
        size = 2 * (self.mask + 1)
        mask = size - 1
        table = array("i", [-1]) * size
        for j, h in enumerate(self.hashes):
            slot = h & mask
            while table[slot] >= 0:
                slot = (slot + 1) & mask
            table[slot] = j
        self.mask, self.table = mask, table

    def nbytes(self) -> int:
        """Bytes held (buffers and table; the buffers may hold some spare capacity)."""
        keys = len(self.keys) if self.keys is not self.data else 0
        tables = self.table.itemsize * len(self.table) + self.hashes.itemsize * len(self.hashes)
        return len(self.data) + keys + tables


class ListStates(Sequence[State]):
    """The `FlatStates` interface for tuple states: a list and a dict."""

    def __init__(self) -> None:
        self.states: list[State] = []
        self.numbers: dict[State, int] = {}

    def __len__(self) -> int:
        return len(self.states)

    @overload
    def __getitem__(self, i: int) -> State: ...
    @overload
    def __getitem__(self, i: slice) -> list[State]: ...
    def __getitem__(self, i: int | slice) -> State | list[State]:
        return self.states[i]

    def __iter__(self) -> Iterator[State]:
        return iter(self.states)

    def find(self, key: State) -> int:
        return self.numbers.get(key, -1)

    def add(self, state: State, key: State | None = None) -> int:
        return _add_one(self, state, key)

    def add_all(self, i: int, out: Out, canon: CanonFn | None, links: Links) -> None:
        """As `FlatStates.add_all`."""
        parent, via, succ = links
        states, numbers = self.states, self.numbers
        for cid, n in out:
            if n is None:
                continue
            key = n if canon is None else canon(n)  # type: ignore[arg-type]
            j = numbers.setdefault(key, len(states))
            if j == len(states):
                states.append(n)
                parent.append(i)
                via.append(cid)
            if succ is not None:
                succ.append(j)


def _add_one(store: FlatStates | ListStates, state: State, key: State | None) -> int:
    got = Links(array("i"), array("i"), array("i"))
    store.add_all(-1, [(-1, state)], None if key is None else (lambda _: key), got)  # type: ignore[arg-type,return-value]
    return got.succ[0]  # type: ignore[index]


Store = FlatStates | ListStates
