"""Rationing a finite good (quota, reserved jobs, public rental, school seats) among
candidates in the policy's priority order, and the priority ranks themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine.compiled import njit
from sim.engine.eligibility import priority_ranks

if TYPE_CHECKING:
    from sim.engine.model import SettlementModel


def priority_rank(m: SettlementModel, rows: np.ndarray, goods: bool = False) -> np.ndarray:
    """Rank of each household in the policy's priority order (0 = first group listed; households
    in no listed group come last): settlement priority (``priority.order``) for the settlement
    quota, or with ``goods`` the order for seats, public rental, reserved jobs, placements and
    training (``priority.goods_order``)."""
    p = m.levers.priority
    return priority_ranks(m.hh, rows, p.goods_order if goods else p.order, p.long_resident_years, m.T)


def ration(town: np.ndarray, rank: np.ndarray, tiebreak: np.ndarray, weight: np.ndarray,
           capacity: np.ndarray) -> np.ndarray:
    """Serve candidates town by town in (rank, random tiebreak) order while their cumulative
    weight fits the town's capacity; once a candidate does not fit, no later one in that town is
    served. Returns a boolean mask of those served. A capacity of ``inf`` serves everyone. No
    town ever exceeds its capacity.

    Done without sorting everyone (:func:`_ration`): the (town, rank) groups that fit whole are
    served whole, those after the first that does not fit are refused, and only that boundary
    group is ordered by the tiebreak."""
    served = np.zeros(town.size, dtype=np.bool_)
    if town.size:
        _ration(np.asarray(town, dtype=np.int64), np.asarray(rank, dtype=np.int64),
                np.asarray(tiebreak, dtype=np.float64), np.asarray(weight, dtype=np.float64),
                np.asarray(capacity, dtype=np.float64), int(rank.max()) + 1, served)
    return served


@njit(cache=True)
def _ration(town, rank, tiebreak, weight, capacity, n_ranks, served):
    """:func:`ration`: marks ``served`` (all False on entry)."""
    n_towns = capacity.size
    group = town * n_ranks + rank
    demand = np.zeros(n_towns * n_ranks)
    for i in range(town.size):
        demand[group[i]] += weight[i]
    # per (town, rank) group: 1 served whole, 2 the boundary (the first that does not fit), 0
    # refused; and the room left for it once the groups ahead in its town are served
    status = np.zeros(n_towns * n_ranks, dtype=np.int8)
    room = np.zeros(n_towns * n_ranks)
    for j in range(n_towns):
        total = 0.0
        state = 1
        for g in range(j * n_ranks, (j + 1) * n_ranks):
            total += demand[g]
            if state == 1 and not total <= capacity[j] + 1e-9:
                state = 2
            status[g] = state
            room[g] = capacity[j] - (total - demand[g])
            if state == 2:
                state = 0
    # the boundary groups' candidates, grouped (in candidate order within a group)
    start = np.zeros(n_towns * n_ranks + 1, dtype=np.int64)
    for i in range(town.size):
        served[i] = status[group[i]] == 1
        if status[group[i]] == 2:
            start[group[i] + 1] += 1
    start = np.cumsum(start)
    members = np.empty(start[-1], dtype=np.int64)
    fill = start[:-1].copy()
    for i in range(town.size):
        if status[group[i]] == 2:
            members[fill[group[i]]] = i
            fill[group[i]] += 1
    for g in range(n_towns * n_ranks):
        if start[g + 1] == start[g]:
            continue
        ms = members[start[g]:start[g + 1]]
        # only the first k in tiebreak order can be served, or be the first who does not fit
        k = max(int(min(ms.size, np.floor(room[g] / max(weight[ms].min(), 1e-12) + 1e-9) + 1)), 1)
        if k < ms.size:
            ms = ms[tiebreak[ms] <= np.partition(tiebreak[ms], k - 1)[k - 1]]
        ms = ms[np.argsort(tiebreak[ms], kind="mergesort")]
        used = 0.0
        for i in ms:  # in tiebreak order, while they fit
            used += weight[i]
            if not used <= room[g] + 1e-9:
                break
            served[i] = True


def per_town_capacity(count: np.ndarray) -> np.ndarray:
    """A lever count per town where 0 means 'no limit' (quota) becomes +inf."""
    return np.where(count > 0, count, np.inf)



def reserved_vacancies(m: SettlementModel) -> np.ndarray:
    """[T] the vacant posts of each town's standing reserve of jobs (``jobs.reserved_jobs``): the
    stock less the posts households hold there (real households: rows x scale), at least 0."""
    hh, T = m.hh, m.T
    held = np.bincount(hh.place[hh.reserved_job & (hh.place < T)], minlength=T) * m.scale
    return np.maximum(m.levers.col("jobs", "reserved_jobs") - held, 0.0)
