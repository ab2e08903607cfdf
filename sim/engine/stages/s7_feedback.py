"""Stage 7, feedback: 人地钱挂钩 turns settlers into seats, rental units and land; rents and
prices respond to demand; rural communities past the non-farm threshold are reclassified."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.configuration import RECLASSIFIED
from sim.engine.compiled import (
    BLOCK,
    at,
    chunk,
    n_chunks,
    njit,
    persons_here,
    prange,
    slot_uniform,
)
from sim.world.households import OWNED
from sim.world.places import RURAL_COMMUNITY

if TYPE_CHECKING:
    from sim.engine.model import SettlementModel


def feedback(m: SettlementModel) -> None:
    """人地钱挂钩: each settler brings a transfer that buys next year's school seats and public
    rental units, and construction land that eases rents; seats also grow by the policy's rate
    and by building money per migrant pupil (operating money and private-school subsidies are
    paid, and buy no seat); public rental is built; rents and prices follow wages and
    demand; rural communities past the non-farm threshold and scheduled urban villages are
    reclassified as urban (in-situ urbanisation)."""
    hh, T, lv, beh = m.hh, m.T, m.levers, m.behaviour
    fiscal = lambda name: lv.col("fiscal", name)  # noqa: E731
    settled = m.settled_now
    settlers = np.bincount(hh.place[settled], weights=hh.size(settled), minlength=T) * m.scale
    transfer = settlers * fiscal("transfer_per_settler_yuan")
    m.seats += transfer * fiscal("transfer_share_schools") / fiscal("seat_cost_yuan")
    m.rental_units += transfer * fiscal("transfer_share_housing") / fiscal("rental_unit_cost_yuan")
    # school money by type: building money adds seats; operating money that follows migrant
    # pupils (it raises admission, decision.admission_share) and private-school subsidies
    # (decision.private_school_share) add none, and are paid for the year's pupils
    funding = m.migrant_pupils * lv.col("schools", "funding_per_migrant_child_yuan")
    m.seats += funding / fiscal("seat_cost_yuan")
    operating = m.migrant_pupils * lv.col("schools", "operating_funds_per_migrant_pupil_yuan")
    private = m.private_pupils * lv.col("schools", "private_school_subsidy_yuan")
    grown = m.seats * lv.col("schools", "seat_growth_per_year")
    m.seats += grown
    m.year_counts["seat_growth_cost_yuan"] = float((grown * fiscal("seat_cost_yuan")).sum())
    built = lv.col("housing", "public_rental_build_per_year")
    m.rental_units += built
    m.year_counts["transfer_yuan"] = float(transfer.sum())
    m.year_counts["school_funding_yuan"] = float(funding.sum() + operating.sum() + private.sum())
    m.year_counts["public_rental_built_yuan"] = float((built * fiscal("rental_unit_cost_yuan")).sum())
    m.year_counts["service_cost_yuan"] = float((settlers * fiscal("service_cost_per_person_yuan")).sum())

    residents = town_residents(m) * m.scale
    growth = residents / np.maximum(m.residents_last, 1.0) - 1.0
    land = settlers * fiscal("land_per_settler_m2")
    m.urban_land += land
    land_growth = land / np.maximum(m.urban_land, 1.0)
    factor = (1.0 + beh.wage_growth) * (1.0 + beh.rent_elasticity * growth
                                        - beh.land_supply_elasticity * land_growth)
    factor = np.clip(factor, 0.7, 1.5)
    m.rent *= factor
    m.price *= factor
    m.residents_last = residents

    reclassify(m)


@njit(cache=True, parallel=True)
def _town_residents(T, place, hukou, hukou_urban, native, workers, elders, kids_pre, kids_school,
                    kids_with, out):
    for c in prange(out.shape[0]):
        lo, hi = chunk(c, out.shape[0], place.size)
        here = np.empty(BLOCK, dtype=np.int64)
        for b in range(lo, hi, BLOCK):
            for i in range(min(BLOCK, hi - b)):  # persons in towns (a loop that is vectorised)
                h = at(b, i)
                n = persons_here(h, T, place, hukou, hukou_urban, native, workers, elders, kids_pre,
                                 kids_school, kids_with)
                here[i] = n if place[h] < T else 0
            for i in range(min(BLOCK, hi - b)):  # added up by town
                out[c, min(place[at(b, i)], T - 1)] += here[i]


def town_residents(m: SettlementModel) -> np.ndarray:
    """Persons living in each town (unscaled)."""
    hh = m.hh
    out = np.zeros((n_chunks(), m.T))
    _town_residents(m.T, hh.place, hh.hukou, hh.hukou_urban, hh.native, hh.workers, hh.elders,
                    hh.kids_pre, hh.kids_school, hh.kids_with, out)
    return out.sum(axis=0)


@njit(cache=True, parallel=True)
def _registered(T, hukou, hukou_urban, place, employed, members, away):
    """Per place of registration: rural-hukou households, and those of them employed in a town
    elsewhere (in chunks: one row of the accumulators each)."""
    for c in prange(members.shape[0]):
        lo, hi = chunk(c, members.shape[0], hukou.size)
        for h in range(lo, hi):
            j = hukou[h]
            rural = (not hukou_urban[h]) & (j >= 0)
            members[c, max(j, 0)] += rural
            away[c, max(j, 0)] += rural & (place[h] != j) & (place[h] < T) & (employed[h] > 0)


@njit(cache=True, parallel=True)
def _at_home_in(flag, hukou, hukou_urban, place, out):
    """Rural-hukou households living where they are registered, in a flagged place."""
    for h in prange(out.size):
        out[h] = (not hukou_urban[h]) & (place[h] == hukou[h]) & flag[place[h]]


def reclassify(m: SettlementModel) -> None:
    """In-situ urbanisation. A rural community whose non-farm employment share (of the workers
    registered there) passes the threshold becomes urban (村改居): its residents count as urban
    and the rural-hukou households living there take local urban hukou — this year, and in later
    years those who come home to it. Urban-village (城中村) households living in their village
    are converted to urban hukou at the scheduled yearly share."""
    hh, T, lv, places = m.hh, m.T, m.levers, m.places
    m.nonfarm += m.behaviour.local_nonfarm_growth * (1.0 - m.nonfarm)
    community = np.zeros(places.n_places, dtype=bool)  # rural communities are towns (tier)
    community[:T] = places.tier[:T] == RURAL_COMMUNITY
    if lv.in_situ.reclassify and (community & ~places.urban).any():
        chunks = n_chunks()
        members = np.zeros((chunks, places.n_places))
        away = np.zeros((chunks, places.n_places))
        _registered(T, hh.hukou, hh.hukou_urban, hh.place, hh.employed, members, away)
        members, away = members.sum(axis=0), away.sum(axis=0)
        for j in np.flatnonzero(community & ~places.urban):
            share = (away[j] + m.nonfarm[j] * (members[j] - away[j])) / max(members[j], 1)
            m.community_nonfarm[j] = share
            if share > lv.in_situ.nonfarm_threshold:
                places.urban[j] = True
    # residents are converted where they live
    urban_community = community & places.urban if lv.in_situ.reclassify else np.zeros_like(community)
    conv_share = lv.in_situ.urban_village_conversion_share
    urban_village = (m.urban_village_town >= 0) & (conv_share > 0)
    if not (urban_community | urban_village).any():
        return
    at_home = np.empty(hh.n, dtype=np.bool_)
    _at_home_in(urban_community | urban_village, hh.hukou, hh.hukou_urban, hh.place, at_home)
    cand = np.flatnonzero(at_home)
    before = hh.place[cand]
    uv = urban_village[before]
    keep = ~uv | (slot_uniform(m.key("reclassify"), cand, 1, 0) < conv_share)
    converted, before = cand[keep], before[keep]
    from_village = converted[urban_village[hh.place[converted]]]
    town = m.urban_village_town[hh.place[from_village]]
    hh.hukou[from_village] = town
    hh.place[from_village] = town  # the rebuilt village house is their home in town
    m.year_counts["urban_village_converted_persons"] = hh.size(from_village).sum() * m.scale
    hh.hukou_urban[converted] = True
    hh.tenure[converted] = OWNED
    hh.owned_town[converted] = hh.place[converted]
    hh.settled_year[converted] = m.year
    hh.kids_with[converted] = hh.kids_school[converted]
    m.add_flows(before, hh.place[converted], RECLASSIFIED, hh.size(converted))
    m.year_counts["reclassified_persons"] = hh.size(converted).sum() * m.scale


