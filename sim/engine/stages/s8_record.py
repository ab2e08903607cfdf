"""Stage 8, record: the year's metrics, settlement by group, town table and flows (DESIGN §6)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from sim.engine.compiled import BLOCK, at, chunk, n_chunks, njit, persons_here, prange
from sim.engine.decision import support_income_limit
from sim.world.households import PUBLIC_RENTAL, RENTED

if TYPE_CHECKING:
    from sim.engine.model import SettlementModel

from dataclasses import fields

from sim.configuration import METRIC_NAMES
from sim.configuration import SETTLEMENT_GROUPS as GROUPS

# scalar tallies of a year, and per group: residents (migrants at the start of the year),
# eligible, sum and count of intention, settled households and persons, settled residents
POP, URBAN_RES, HUKOU_URBAN, LEFT_BEHIND, NON_HUKOU, RENTAL_SUBSIDY, HUKOU_POP, MIGRANT_PUPILS = range(8)
G_RES, G_ELIG, G_INT, G_INT_N, G_SET, G_SET_PERSONS, G_SET_RES = range(7)


@njit(cache=True, parallel=True)
def _tally(T, place, hukou, hukou_urban, native, origin, workers, elders, kids_pre, kids_school,
           kids_with, tenure, years_in_town, income, urban, start_migrant, groups, eligible, intention,
           settled, sub_yuan, sub_hukou, sub_permit, sub_limit, permit_min_years, scal, towns, grp):
    """One pass over households, in chunks (one row of the accumulators each): persons, urban
    residents (each person where they live), urban-hukou persons, left-behind children, non-hukou
    residents, rental subsidy paid (``sub_yuan`` is the amount times the take-up share, to renters
    who qualify and pass the income test ``sub_limit``); per town residents, hukou holders,
    public-rental tenants; per group the settlement tallies."""
    for c in prange(scal.shape[0]):
        lo, hi = chunk(c, scal.shape[0], place.size)
        pop = hukou_pop = registered = left_behind = pupils = non_hukou = np.int64(0)  # (not int8 in plain Python)
        urban_res = subsidy = 0.0
        here = np.empty(BLOCK, dtype=np.int64)  # persons at their place, per household of a block
        for b in range(lo, hi, BLOCK):
            for i in range(min(BLOCK, hi - b)):  # persons, counted in a loop that is vectorised
                h = at(b, i)
                size = workers[h] + elders[h] + kids_pre[h] + kids_school[h]
                here[i] = persons_here(h, T, place, hukou, hukou_urban, native, workers, elders,
                                       kids_pre, kids_school, kids_with)
                away = (place[h] < T) & (not hukou_urban[h]) & (place[h] != hukou[h])  # a migrant
                pop += size
                hukou_pop += size if hukou_urban[h] else 0
                registered += size if (native[h] or hukou_urban[h]) else 0  # hukou in the region
                non_hukou += here[i] if away else 0
                left_behind += (kids_school[h] - kids_with[h]) if (away & native[h]) else 0
                pupils += kids_school[h] if (away & native[h]) else 0
            for i in range(min(BLOCK, hi - b)):  # per place, town and group
                h = at(b, i)
                size = workers[h] + elders[h] + kids_pre[h] + kids_school[h]
                pl = place[h]
                in_town = pl < T
                away = in_town and not hukou_urban[h] and pl != hukou[h]
                at_place = here[i]
                home = hukou[h] if hukou[h] >= 0 else origin[h]
                urban_res += at_place * urban[pl] + (size - at_place) * urban[home]
                if hukou_urban[h] and 0 <= hukou[h] < T:
                    towns[c, 1, hukou[h]] += size
                if in_town:
                    towns[c, 0, pl] += at_place
                    if tenure[h] == PUBLIC_RENTAL:
                        towns[c, 2, pl] += 1
                    # rental subsidy to renters who qualify (town dwellers only)
                    if (away or hukou_urban[h]) and (tenure[h] == RENTED or tenure[h] == PUBLIC_RENTAL):
                        hk = hukou_urban[h] and hukou[h] == pl
                        permit = years_in_town[h] >= permit_min_years[pl]
                        need = float(income[h]) / max(size, 1) <= sub_limit[pl]
                        if need and ((sub_hukou[pl] and hk) or (sub_permit[pl] and (permit or hk))):
                            subsidy += sub_yuan[pl]
                if not (start_migrant[h] or settled[h]):
                    continue
                # the group count from the array, not the global: numba's cache would freeze it
                for g in range(grp.shape[1]):
                    if g > 0 and not (groups[h] >> (g - 1)) & 1:
                        continue
                    if start_migrant[h]:
                        grp[c, g, G_RES] += 1
                        grp[c, g, G_ELIG] += eligible[h]
                        if not math.isnan(intention[h]):
                            grp[c, g, G_INT] += intention[h]
                            grp[c, g, G_INT_N] += 1
                        if settled[h]:
                            grp[c, g, G_SET_RES] += 1
                    if settled[h]:
                        grp[c, g, G_SET] += 1
                        grp[c, g, G_SET_PERSONS] += size
        scal[c, POP], scal[c, HUKOU_URBAN] = pop, hukou_pop
        scal[c, LEFT_BEHIND], scal[c, NON_HUKOU] = left_behind, non_hukou
        scal[c, URBAN_RES], scal[c, RENTAL_SUBSIDY] = urban_res, subsidy
        scal[c, HUKOU_POP], scal[c, MIGRANT_PUPILS] = registered, pupils


def tally(m: SettlementModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The year's tallies (unscaled): scalars, [3, towns] and [groups, 7] (see :func:`_tally`)."""
    hh, T, lv = m.hh, m.T, m.levers
    chunks = n_chunks()
    scal = np.zeros((chunks, 8))
    towns = np.zeros((chunks, 3, T))
    grp = np.zeros((chunks, len(GROUPS), 7))
    settled = np.zeros(hh.n, dtype=np.bool_)
    settled[m.settled_now] = True
    _tally(T, hh.place, hh.hukou, hh.hukou_urban, hh.native, hh.origin, hh.workers, hh.elders,
           hh.kids_pre, hh.kids_school, hh.kids_with, hh.tenure, hh.years_in_town, hh.income,
           m.places.urban.astype(np.float64), m.start_migrants, m.start_groups, m.eligible_here,
           m.intention, settled,
           (lv.col("housing", "rental_subsidy_yuan") * lv.col("housing", "rental_subsidy_takeup")).astype(np.float64),
           lv.is_("housing", "rental_subsidy_to", "hukou"), lv.is_("housing", "rental_subsidy_to", "permit"),
           support_income_limit(lv), lv.col("services", "permit_min_years").astype(np.float64),
           scal, towns, grp)
    return scal.sum(axis=0), towns.sum(axis=0), grp.sum(axis=0)


def record(m: SettlementModel) -> None:
    """Append the year's metrics, settlement by group, town table and flows (DESIGN §6)."""
    hh, T, k, c = m.hh, m.T, m.scale, m.year_counts
    scal, towns, grp = tally(m)
    population = scal[POP] * k
    urban_res = scal[URBAN_RES] * k
    hukou_urban = scal[HUKOU_URBAN] * k
    hukou_population = scal[HUKOU_POP] * k
    previous_urban_hukou = m.metrics[-1]["urban_hukou_persons"] if m.metrics else hukou_urban
    all_ = grp[0]
    rental_sub = scal[RENTAL_SUBSIDY] * k if m.year >= m.start else 0.0  # not in the start row
    public_cost = (c["purchase_support_yuan"] + rental_sub + c["school_funding_yuan"]
                   + c["service_cost_yuan"] + c["public_rental_built_yuan"]
                   + c["seat_growth_cost_yuan"])
    nan = float("nan")
    row: dict[str, Any] = {
        "replication": m.replication,
        "seed": m.seed,
        "year": m.year,
        "population": population,
        "households": hh.n * k,
        "resident_urbanization": urban_res / population,
        "hukou_urbanization": hukou_urban / population,
        "urbanization_gap": (urban_res - hukou_urban) / population,
        "migrated_persons": c["migrated_persons"],
        "settled_households": c["settled_households"],
        "settled_persons": c["settled_persons"],
        "returned_persons": c["returned_persons"],
        "reclassified_persons": c["reclassified_persons"],
        "urban_village_converted_persons": c["urban_village_converted_persons"],
        "new_hukou_persons": c["settled_persons"] + c["reclassified_persons"],
        "settled_and_in_situ_persons": c["settled_persons"] + c["reclassified_persons"]
        - c["urban_village_converted_persons"],
        "settlement_intention": all_[G_INT] / all_[G_INT_N] if all_[G_INT_N] else nan,
        "eligible_share": all_[G_ELIG] / all_[G_RES] if all_[G_RES] else nan,
        "left_behind_children": scal[LEFT_BEHIND] * k,
        # of the school-age children of native migrants without town hukou: the count moves with
        # how many migrants settle (settlers leave it), the share with school access
        "left_behind_share": scal[LEFT_BEHIND] / scal[MIGRANT_PUPILS] if scal[MIGRANT_PUPILS] else nan,
        "land_exited_mu": c["land_exited_mu"],
        "homesteads_exited": c["homesteads_exited"],
        "collective_shares_exited": c["collective_shares_exited"],
        "compensation_paid_yuan": c["compensation_paid_yuan"],
        "public_cost_yuan": public_cost,
        "rental_subsidy_yuan": rental_sub,
        "purchase_support_yuan": c["purchase_support_yuan"],
        "transfer_yuan": c["transfer_yuan"],
        "births": c["births"],
        "deaths": c["deaths"],
        "homes_bought": c["homes_bought"],
        "trained": c["trained"],
        "reserved_jobs_filled": c["reserved_jobs_filled"],
        "quota_refused_households": c["quota_refused_households"],
        "non_hukou_residents": scal[NON_HUKOU] * k,
        # as published: the simulated rate plus any change in how the statistic is measured
        "resident_urbanization_reported": urban_res / population
        + m.policy.statistical_shift("resident_urbanization", m.year),
        "hukou_urbanization_reported": hukou_urban / population
        + m.policy.statistical_shift("hukou_urbanization", m.year),
        "hukou_population": hukou_population,
        "urban_hukou_persons": hukou_urban,
        "urban_hukou_net_increase": hukou_urban - previous_urban_hukou,
        "hukou_urbanization_hukou_base": hukou_urban / hukou_population if hukou_population else nan,
        # non-hukou pupils seated in public town schools by the year's capacity stage (scaled)
        "migrant_pupils_public": float(m.migrant_pupils.sum()),
    }
    assert tuple(k for k in row if k not in ("replication", "seed", "year")) == METRIC_NAMES
    m.metrics.append(row)

    for name, g in zip(GROUPS, grp):
        n_res = g[G_RES]
        m.groups.append({
            "replication": m.replication, "year": m.year, "group": name,
            "residents_households": n_res * k,
            "eligible_share": g[G_ELIG] / n_res if n_res else nan,
            "intention": g[G_INT] / g[G_INT_N] if g[G_INT_N] else nan,
            "settled_households": g[G_SET] * k,
            "settled_persons": g[G_SET_PERSONS] * k,
            "settlement_rate": g[G_SET_RES] / n_res if n_res else nan,
        })

    urban = m.places.urban
    residents, holders, tenants = towns * k
    reserved_held = np.bincount(hh.place[hh.reserved_job & (hh.place < T)], minlength=T) * k
    m.last_towns = {"residents": residents}
    for j in range(T):
        m.towns_rows.append({
            "replication": m.replication, "year": m.year, "town": m.places.names[j],
            "tier": m.places.tier_name(j), "urban": bool(urban[j]),
            "residents": float(residents[j]), "hukou_holders": float(holders[j]),
            "school_seats": float(m.seats[j]), "seats_used": float(m.seats_used[j]),
            "seat_shortfall": float(m.seat_shortfall[j]),
            "public_rental_units": float(m.rental_units[j]),
            "public_rental_tenants": float(tenants[j]),
            "public_rental_queue": float(m.rental_queue[j]),
            "rent_yuan_month": float(m.rent[j]), "price_yuan_m2": float(m.price[j]),
            "nonfarm_share": float(m.community_nonfarm[j]),
            "reserved_jobs_held": float(reserved_held[j]),
        })

    if m._flows:
        m.flows.append(flow_table(m))

    if m.year in m.snapshot_years:
        m.snapshots.append(snapshot(m))


def flow_table(m: SettlementModel) -> pl.DataFrame:
    """The year's flows summed by (kind, origin, destination), in that order."""
    kinds = sorted({f[2] for f in m._flows})
    names = np.array(m.places.names + ["(outside region)"], dtype=object)
    n = names.size
    key = np.concatenate([(kinds.index(kind) * n + o.astype(np.int64)) * n + d
                          for o, d, kind, _ in m._flows])
    persons = np.concatenate([f[3] for f in m._flows]).astype(np.float64)
    if len(kinds) * n * n <= 1 << 22:  # few places: count in a dense table
        households = np.bincount(key, minlength=len(kinds) * n * n)
        cells = np.flatnonzero(households)
        households, persons = households[cells], np.bincount(key, weights=persons)[cells]
    else:
        cells, inverse = np.unique(key, return_inverse=True)
        households, persons = np.bincount(inverse), np.bincount(inverse, weights=persons)
    kind, rest = np.divmod(cells, n * n)
    origin, dest = np.divmod(rest, n)
    k = m.scale
    return pl.DataFrame({
        "replication": np.full(cells.size, m.replication, dtype=np.int64),
        "year": np.full(cells.size, m.year, dtype=np.int64),
        "origin": pl.Series(names[origin], dtype=pl.String),
        "destination": pl.Series(names[dest], dtype=pl.String),
        "kind": pl.Series(np.array(kinds, dtype=object)[kind], dtype=pl.String),
        "households": households.astype(np.float64) * k,
        "persons": persons * k,
    })


def snapshot(m: SettlementModel) -> pl.DataFrame:
    """Household state as a table (one row per agent; ``weight`` households each)."""

    hh = m.hh
    # copies: polars may share a numpy array's memory, and later years change the household arrays
    cols = {f.name: getattr(hh, f.name).copy() for f in fields(hh)}
    df = pl.DataFrame(cols)
    return df.with_columns(pl.lit(m.replication).alias("replication"), pl.lit(m.year).alias("year"),
                           pl.lit(m.scale).alias("weight"),
                           pl.Series("persons", hh.size()),
                           # the survey's fields, named: intention (NaN for non-migrants) and the
                           # circumstances the surveys compare
                           pl.Series("intention", m.intention.astype(np.float64)),
                           pl.Series("new_generation", hh.birth_year >= 1980),
                           pl.Series("with_children", hh.kids_school > 0),
                           pl.Series("with_homestead", (hh.homestead_value > 0) & ~hh.homestead_exited),
                           pl.Series("with_land", (hh.land_mu > 0) & ~hh.land_exited))

