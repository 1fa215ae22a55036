"""Candidate invariants: projections onto k-tuples of groups over-approximate a set;
decision diagrams hold it exactly."""

from __future__ import annotations

import random
from itertools import product

import pytest

from verifier.smt.invariants import Diagram, OutOfTime, Relations, TooLarge

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


# ---------------------------------------------------------------- decision diagrams


def test_diagram_holds_exactly_its_states() -> None:
    rng = random.Random(7)
    for _ in range(30):
        width = rng.randint(1, 4)
        states = [
            tuple(rng.randint(-2, 3) for _ in range(width)) for _ in range(rng.randint(1, 40))
        ]
        d = Diagram.of(states)
        universe = product(range(-2, 4), repeat=width)
        assert {s for s in universe if s in d} == set(states)


def test_diagram_shares_equal_subsets() -> None:
    """Independent fields: one node per level, whatever the number of states."""
    states = list(product(range(3), repeat=5))  # 243 states
    d = Diagram.of(states)
    assert len(d.nodes) == 1 + 5 and d.edges() == 15
    d = Diagram.of([(1, 0, 5), (1, 1, 5)])
    assert d.fixed == ((0, 1), (2, 5)) and d.order == (1,)


def test_diagram_stops_when_told() -> None:
    with pytest.raises(OutOfTime):
        Diagram.of(list(product(range(4), repeat=6)), stop=lambda: True)


def test_relations_refuse_too_much_work() -> None:
    rel = Relations(((0,), (1,), (2,), (3,)), 3, max_work=3)
    with pytest.raises(TooLarge):
        rel.add(list(product(range(2), repeat=4)))  # 4 combinations x 16 states
    rel = Relations(GROUPS, 2)
    with pytest.raises(OutOfTime):
        rel.add(list(product(range(2), repeat=4)), stop=lambda: True)


def test_diagram_of_packed_states_is_the_same() -> None:
    states = [(1, 0, 5), (1, 1, 5), (2, 1, 7), (0, 0, 0)]
    a, b = Diagram.of(states), Diagram.of([bytes(s) for s in states])
    assert (a.fixed, a.order, a.nodes, a.root) == (b.fixed, b.order, b.nodes, b.root)
