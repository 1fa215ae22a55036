"""The explicit search's state store (`search/store.py`): one flat buffer and a hash
table, numbering states exactly as a dict would, and read like a list of states."""

from __future__ import annotations

import random
from array import array

import pytest

from verifier.ir.lower import lower
from verifier.lang.frontend import load_text
from verifier.machine.semantics import build
from verifier.run.compile import State
from verifier.search.explicit import explore
from verifier.search.store import FlatStates, Links, ListStates

WIDTH = 5


def _state(rng: random.Random) -> bytes:
    return bytes(rng.randrange(3) for _ in range(WIDTH))  # 243 states: many revisits


def _search(store: FlatStates | ListStates, seed: int, canon: bool) -> tuple[list[int], ...]:
    """A breadth-first search over a random graph, through ``add_all``."""
    rng = random.Random(seed)
    succs: dict[State, list[tuple[int, State | None]]] = {}
    key = (lambda s: bytes(sorted(s))) if canon else None
    parent, via, succ = array("i", [-1]), array("i", [-1]), array("i")
    store.add(b"\0" * WIDTH, key(b"\0" * WIDTH) if key else None)
    i = 0
    while i < len(store):
        s = store[i]
        out = succs.setdefault(s, [(rng.randrange(9), _state(rng)) for _ in range(3)])
        store.add_all(i, [*out, (9, None)], key, Links(parent, via, succ))
        i += 1
    return list(parent), list(via), list(succ)


@pytest.mark.parametrize("canon", [False, True])
def test_flat_store_numbers_states_as_a_dict_does(canon: bool) -> None:
    for seed in range(5):
        flat, ref = FlatStates(WIDTH, keyed=canon), ListStates()
        assert _search(flat, seed, canon) == _search(ref, seed, canon)
        assert len(flat) == len(ref) > 10
        assert list(flat) == list(ref) and flat[2:7] == ref[2:7] and flat[-1] == ref[-1]


def test_flat_store_grows_and_finds_every_state() -> None:
    rng = random.Random(7)
    store = FlatStates(16)
    states = list(dict.fromkeys(rng.randbytes(16) for _ in range(20_000)))
    for j, s in enumerate(states):
        assert store.add(s) == j
    assert len(store.table) > 2 * len(states)  # grew, stays at most half full
    assert all(store.find(s) == j for j, s in enumerate(states))
    assert all(store.add(states[j]) == j for j in range(0, len(states), 97))  # no duplicate
    assert store.find(bytes(16)) == -1 and len(store) == len(states)
    assert store[123] == states[123] and isinstance(store[123], bytes)
    with pytest.raises(IndexError):
        store[len(states)]


def test_keyed_store_keeps_the_first_state_of_each_key() -> None:
    store = FlatStates(3, keyed=True)
    assert store.add(b"\2\1\0", b"\0\1\2") == 0
    assert store.add(b"\0\2\1", b"\0\1\2") == 0
    assert store.add(b"\1\1\0", b"\0\1\1") == 1
    assert list(store) == [b"\2\1\0", b"\1\1\0"] and store.find(b"\0\1\2") == 0


def test_flat_store_refuses_a_state_of_another_width() -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        FlatStates(3).add(b"\0\0\0\0")


def test_search_stores_byte_states_flat_and_wide_ones_in_a_list() -> None:
    small = 'spec "s"\nframe A\npage V -> A rw\nvar x = 0\ncore c {\n    x := 1\n}\n'
    wide = small.replace("var x = 0", "var x : 0..300 = 0").replace("x := 1", "x := 300")
    for text, kind in ((small, FlatStates), (wide, ListStates)):
        ex = explore(build(lower(load_text(text, "s.tlb", [])), "sc"))
        assert isinstance(ex.states, kind) and ex.complete
        x = [f.name for f in ex.system.fields].index("mem.x")
        assert len(ex.states) == 2 and ex.state(1)[x] == (300 if kind is ListStates else 1)
