"""The relational abstraction: projections onto k-tuples of groups over-approximate a set."""

from __future__ import annotations

from itertools import product

from verifier.engines.invariants import Relations

GROUPS = ((0,), (1,), (2, 3))


def member(rel: Relations, s: tuple[int, ...]) -> bool:
    return all(tuple(s[i] for i in idx) in set(allowed) for idx, allowed in rel.constraints())


def test_contains_every_added_state_and_is_a_superset() -> None:
    states = [(0, 0, 0, 0), (1, 1, 0, 1), (1, 0, 1, 1), (0, 1, 1, 0)]
    for arity in (1, 2, 3):
        rel = Relations(GROUPS, arity)
        rel.add(states)
        assert all(member(rel, s) for s in states)
    # arity 3 = all groups: exactly the set
    rel = Relations(GROUPS, 3)
    rel.add(states)
    universe = product(range(2), repeat=4)
    assert {s for s in universe if member(rel, s)} == set(states)


def test_pairs_lose_three_way_relations() -> None:
    # g0 + g1 == g2[0] over bits: every pair of groups takes every value pair, so the
    # pairwise abstraction admits (1, 1, 0, *), which no added state has.
    states = [(a, b, a ^ b, 0) for a in (0, 1) for b in (0, 1)]
    rel = Relations(GROUPS, 2)
    rel.add(states)
    assert member(rel, (1, 1, 1, 0))
    assert len(rel.tuples) == 3


def test_grows_only_when_something_new_appears() -> None:
    rel = Relations(GROUPS, 2)
    assert rel.add([(0, 0, 0, 0)])
    assert not rel.add([(0, 0, 0, 0)])
    assert rel.add([(0, 1, 0, 0)])
    assert rel.varying == (1,)
    assert rel.add([(1, 1, 0, 0)])  # a second varying group: tuples recomputed
    assert set(rel.tuples) == {(0, 1)}
    assert rel.tuples[(0, 1)] == {(0, 0), (0, 1), (1, 1)}
