"""Rationing (sim.engine.rationing.ration) serves exactly whom the plain rule says: everyone sorted by
(town, rank, tiebreak), served while the cumulative weight fits the town's capacity, and no one
after the first who does not fit."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.rationing import ration


def ration_by_sorting(town, rank, tiebreak, weight, capacity):
    served = np.zeros(town.size, dtype=bool)
    used = np.zeros(capacity.size)
    closed = np.zeros(capacity.size, dtype=bool)
    for i in np.lexsort((tiebreak, rank, town)):
        t = town[i]
        if closed[t]:
            continue
        if used[t] + weight[i] <= capacity[t] + 1e-9:
            used[t] += weight[i]
            served[i] = True
        else:
            closed[t] = True
    return served


@pytest.mark.parametrize("seed", range(40))
def test_ration_matches_the_plain_rule(seed):
    rng = np.random.default_rng(seed)
    n, towns, ranks = int(rng.integers(1, 2000)), int(rng.integers(1, 6)), int(rng.integers(1, 5))
    town = rng.integers(0, towns, n)
    rank = rng.integers(0, ranks, n).astype(np.int16)
    tiebreak = rng.random(n)
    weight = rng.integers(1, 6, n) * 3.1
    capacity = rng.choice([0.0, 5.0, 31.0, 200.0, 1000.0, 4000.0, np.inf], towns)
    got = ration(town, rank, tiebreak, weight, capacity)
    assert (got == ration_by_sorting(town, rank, tiebreak, weight, capacity)).all()
    used = np.bincount(town[got], weights=weight[got], minlength=towns)
    assert (used <= capacity + 1e-9).all()


def test_ration_of_no_one_and_of_everyone():
    assert ration(np.zeros(0, int), np.zeros(0, np.int16), np.zeros(0), np.zeros(0), np.ones(2)).size == 0
    town = np.array([0, 1, 1])
    got = ration(town, np.zeros(3, np.int16), np.array([0.3, 0.2, 0.1]), np.ones(3), np.array([np.inf, 1.0]))
    assert got.tolist() == [True, False, True]
