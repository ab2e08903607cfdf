"""Stage 1, the labour market: employment, wages, placements and training; households earn and save."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine.compiled import (
    at,
    exp,
    n_blocks,
    njit,
    normal,
    prange,
    slot_uniform,
    town_values,
    uniform,
)
from sim.engine.levers import SURRENDERED
from sim.engine.rationing import priority_rank, ration, reserved_vacancies
from sim.world.households import NO_PLACE

if TYPE_CHECKING:
    from sim.engine.model import SettlementModel


LABOUR_SLOTS = 6  # per household: employment, job loss, job gain, placement and training
# tiebreaks, wage noise


@njit(cache=True, parallel=True, error_model="numpy")
def _employment(key, T, place, hukou, hukou_urban, workers, skill, employed, stable_job, job_years,
                towns, retention, entry):
    """Per household: town dwellers' workers are employed at the town's rate (stable jobs are
    kept at least at ``retention``); stable jobs are lost, or gained by the employed, and the
    years in a stable job counted. Villagers have no town job."""
    for b in prange(n_blocks(place.size)):
        lo, size, town = town_values(b, place.size, place, T, towns)  # employment rate
        for i in range(size):  # selects, not branches: the loop is vectorised
            h = at(lo, i)
            pl = place[h]
            in_town = (pl < T) & (hukou_urban[h] | (pl != hukou[h]))
            was_stable = stable_job[h]
            years = job_years[h]
            rate = town[0, i]
            p = max(rate, retention) if was_stable else rate
            lost = uniform(key, h, LABOUR_SLOTS, 0) >= p
            employed_ = max(workers[h] - lost, 0) if in_town else 0
            kept = uniform(key, h, LABOUR_SLOTS, 1) < retention
            gained = (employed_ > 0) & (uniform(key, h, LABOUR_SLOTS, 2) < entry * (1.0 + skill[h]))
            stable = in_town & (kept if was_stable else gained)
            employed[h] = employed_
            stable_job[h] = stable
            job_years[h] = min(years + 1, 100) if stable else 0


@njit(cache=True, parallel=True, error_model="numpy")
def _earnings(key, T, place, hukou, hukou_urban, native, workers, skill, employed, land_mu,
              land_exited, dividend, collective_exited, income, savings, towns, s):
    """Per household: income this year and savings. Town dwellers earn wages (by skill, with
    log-normal noise) plus the non-wage income of rural assets while away (or, settled, of the
    rights kept under the rule of the town where it settled); households at home farm their land.
    The non-wage terms are those of :func:`sim.engine.decision.non_wage_income` (an outsider's
    rights, outside the region, are kept on settling by the national rule)."""
    (skill_premium, wage_sd, savings_rate, farm_pm, local_nf, agri_pm, rent_pm, rural, land_rental) = s
    for b in prange(n_blocks(place.size)):
        # wage, agri subsidies kept, land kept, collective shares kept
        lo, size, town = town_values(b, place.size, place, T, towns)
        for i in range(size):  # selects, not branches: the loop is vectorised
            h = at(lo, i)
            pl = place[h]
            in_town = (pl < T) & (hukou_urban[h] | (pl != hukou[h]))
            land = 0.0 if land_exited[h] else float(land_mu[h])
            div = 0.0 if collective_exited[h] else float(dividend[h])
            subsidy = land * agri_pm
            at_home = land * farm_pm * rural + workers[h] * local_nf * rural + subsidy + div
            noise = exp(wage_sd * normal(key, h, LABOUR_SLOTS, 5) - 0.5 * wage_sd * wage_sd)
            wages = employed[h] * town[0, i] * (1.0 + skill_premium * skill[h]) * noise
            land_rent = land * rent_pm * rural * land_rental
            lk = town[2, i] if native[h] else 1.0
            ck = town[3, i] if native[h] else 1.0
            settled = land_rent * lk + div * ck + (subsidy * lk if town[1, i] > 0.5 else 0.0)
            away = land_rent + div + subsidy
            y = (wages + (settled if hukou_urban[h] else away)) if in_town else at_home
            income[h] = y
            savings[h] = max(savings[h] + savings_rate * y, 0.0)


def reserved_offers(m: SettlementModel) -> None:
    """The vacant posts of each town's standing reserve of jobs (``jobs.reserved_jobs`` less the
    posts held, :func:`sim.engine.rationing.reserved_vacancies`) go, in one draw by goods priority
    (a tie-break of the reserved stream), to job seekers: migrants in the town without a stable
    job, who take the post at once (a stable job), and native villagers at home with workers and
    no placement, each at the nearest town with vacant posts, who hold the offer for the year as a
    placement (taken by moving there, :func:`sim.engine.stages.apply_moves`)."""
    hh, T = m.hh, m.T
    if m.levers.col("jobs", "reserved_jobs").sum() == 0:
        return
    vacant = reserved_vacancies(m)
    if not (vacant > 0).any():
        return
    in_town = np.minimum(hh.place, T - 1)
    residents = np.flatnonzero(hh.migrant(T) & ~hh.stable_job & (hh.workers > 0) & (vacant[in_town] > 0))
    villagers = np.flatnonzero(hh.native & hh.at_home_rural() & (hh.workers > 0) & (hh.placement < 0))
    km = np.where(vacant[None, :] > 0, m.places.km[hh.home(villagers)][:, :T], np.inf)
    cand = np.concatenate([residents, villagers])
    target = np.concatenate([hh.place[residents].astype(np.int64), km.argmin(axis=1)])
    ok = ration(target, priority_rank(m, cand, goods=True), slot_uniform(m.key("reserved"), cand, 1, 0),
                np.full(cand.size, m.scale), vacant)
    took = residents[ok[:residents.size]]
    hh.stable_job[took] = True
    hh.employed[took] = np.maximum(hh.employed[took], 1)
    hh.reserved_job[took] = True
    offered = ok[residents.size:]
    hh.placement[villagers[offered]] = target[residents.size:][offered]
    hh.reserved_offer[villagers[offered]] = True
    m.year_counts["reserved_jobs_filled"] += took.size * m.scale


def labour_market(m: SettlementModel) -> None:
    """Wages and rural incomes grow; town workers are employed or not; stable jobs are kept or
    lost; job placements are offered to villagers, the vacant posts of the towns' standing
    reserves of jobs to job seekers, and training places raise migrants' skills; households earn
    and save."""
    hh, beh, lv, eco, T = m.hh, m.behaviour, m.levers, m.economy, m.T
    key = m.key("labour")
    m.wage *= 1.0 + beh.wage_growth
    m.rural_index *= 1.0 + beh.rural_income_growth
    _employment(key, T, hh.place, hh.hukou, hh.hukou_urban, hh.workers, hh.skill, hh.employed,
                hh.stable_job, hh.job_years, np.asarray(m.employment_rate, dtype=np.float64)[None, :],
                float(beh.stable_job_retention), float(beh.stable_job_entry))
    # a post of the town's reserve of jobs is held while its stable job lasts (it falls vacant)
    hh.reserved_job &= hh.stable_job

    # job placements (转移就业): offers to villagers, each to the nearest town offering them
    hh.placement[:] = NO_PLACE
    hh.reserved_offer[:] = False
    offers = lv.col("jobs", "placements")
    if offers.sum() > 0:
        cand = np.flatnonzero(hh.native & hh.at_home_rural() & (hh.workers > 0))
        km = np.where(offers[None, :] > 0, m.places.km[hh.home(cand)][:, :T], np.inf)
        target = km.argmin(axis=1)
        ok = ration(target, priority_rank(m, cand, goods=True), slot_uniform(key, cand, LABOUR_SLOTS, 3),
                    np.full(cand.size, m.scale), offers)
        hh.placement[cand[ok]] = target[ok]

    reserved_offers(m)

    # training places: migrants in town below the top skill level, by priority
    places_ = lv.col("jobs", "training_places")
    if places_.sum() > 0:
        cand = np.flatnonzero(hh.migrant(T) & (hh.skill < 3))
        ok = ration(hh.place[cand], priority_rank(m, cand, goods=True), slot_uniform(key, cand, LABOUR_SLOTS, 4),
                    np.full(cand.size, m.scale), places_)
        hh.skill[cand[ok]] += 1
        m.year_counts["trained"] = ok.sum() * m.scale

    s = (beh.skill_premium, beh.wage_sd, beh.savings_rate, eco.farm_income_per_mu,
         eco.local_nonfarm_income, eco.agri_subsidy_per_mu, eco.land_rent_per_mu, m.rural_index,
         float(lv.rights.land_rental))
    _earnings(key, T, hh.place, hh.hukou, hh.hukou_urban, hh.native, hh.workers, hh.skill, hh.employed,
              hh.land_mu, hh.land_exited, hh.dividend, hh.collective_exited, hh.income, hh.savings,
              np.stack([np.asarray(m.wage, dtype=np.float64),
                        lv.col("services", "agri_subsidies_kept").astype(np.float64),
                        (lv.on_settle("land") != SURRENDERED).astype(np.float64),
                        (lv.on_settle("collective") != SURRENDERED).astype(np.float64)]),
              tuple(float(x) for x in s))


