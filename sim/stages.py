"""The yearly step (DESIGN §3), one function per stage, in the order the year runs:

1. :func:`labour_market`  employment, wages, placements and training
2. :func:`ageing`         heads age, children move through school, births and deaths
3. :func:`eligibility`    hukou eligibility of every migrant in the town where it lives
4. :func:`choice`         each household picks its alternative (and buys a home if it can)
5. :func:`capacity`       settlement quota, moves, reserved jobs, public rental, school seats
6. :func:`rights`         surrender or paid exit of land, homestead and collective shares
7. :func:`feedback`       人地钱挂钩 seats/units/land, rents, reclassification of communities
8. :func:`record`         metrics, groups, towns and flows of the year

Each stage reads and writes the model's household arrays (``m.hh``) and town arrays. The
per-household passes are compiled loops (``_name`` functions beside their stage, numba), so a
household's year reads as plain code. All randomness is counter-based: household ``h``'s draw
in a slot of a stage's stream is a hash of (seed, replication, stream, year, h, slot)
(``m.key(name)``, :mod:`sim.kernels`), so replications share draws across packages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import decision, kernels
from sim.eligibility import eligible, priority_ranks
from sim.households import DORM, NO_PLACE, OWNED, PUBLIC_RENTAL, RENTED, VILLAGE_HOME
from sim.kernels import (BLOCK, at, chunk, exp, n_blocks, n_chunks, njit, normal, persons_here, prange,
                         slot_uniform, town_values, uniform)
from sim.outputs import group_bits
from sim.places import RURAL_COMMUNITY

if TYPE_CHECKING:
    from sim.model import SettlementModel

CHUNK = 32768  # households per block in the choice stage (keeps [rows, alternatives] in cache)

# kinds of flow recorded in flows.parquet
MIGRATED, MOVED, RETURNED, SETTLED, RECLASSIFIED = "migrated", "moved", "returned", "settled", "reclassified"


# ---------------------------------------------------------------------------------------------
# Rationing
# ---------------------------------------------------------------------------------------------


def priority_rank(m: SettlementModel, rows: np.ndarray) -> np.ndarray:
    """Rank of each household in the policy's priority order (0 = first group listed; households
    in no listed group come last). Used by every rationing: quota, seats, units, jobs."""
    return priority_ranks(m.hh, rows, m.levers.priority.order, m.levers.priority.long_resident_years, m.T)


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


# ---------------------------------------------------------------------------------------------
# 1. Labour market
# ---------------------------------------------------------------------------------------------


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
def _earnings(key, T, place, hukou, hukou_urban, workers, skill, employed, land_mu, land_exited,
              dividend, collective_exited, income, savings, towns, s):
    """Per household: income this year and savings. Town dwellers earn wages (by skill, with
    log-normal noise) plus the non-wage income of rural assets while away (or, settled, of the
    rights kept); households at home farm their land. The non-wage terms are those of
    :func:`sim.decision.non_wage_income`."""
    (skill_premium, wage_sd, savings_rate, farm_pm, local_nf, agri_pm, rent_pm, rural, land_rental,
     land_kept, coll_kept) = s
    for b in prange(n_blocks(place.size)):
        lo, size, town = town_values(b, place.size, place, T, towns)  # wage, agri subsidies kept
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
            settled = land_rent * land_kept + div * coll_kept + (subsidy * land_kept if town[1, i] > 0.5 else 0.0)
            away = land_rent + div + subsidy
            y = (wages + (settled if hukou_urban[h] else away)) if in_town else at_home
            income[h] = y
            savings[h] = max(savings[h] + savings_rate * y, 0.0)


def labour_market(m: SettlementModel) -> None:
    """Wages and rural incomes grow; town workers are employed or not; stable jobs are kept or
    lost; job placements are offered to villagers and training places raise migrants' skills;
    households earn and save."""
    hh, beh, lv, eco, T = m.hh, m.behaviour, m.levers, m.economy, m.T
    key = m.key("labour")
    m.wage *= 1.0 + beh.wage_growth
    m.rural_index *= 1.0 + beh.rural_income_growth
    _employment(key, T, hh.place, hh.hukou, hh.hukou_urban, hh.workers, hh.skill, hh.employed,
                hh.stable_job, hh.job_years, np.asarray(m.employment_rate, dtype=np.float64)[None, :],
                float(beh.stable_job_retention), float(beh.stable_job_entry))

    # job placements (转移就业): offers to villagers, each to the nearest town offering them
    hh.placement[:] = NO_PLACE
    offers = lv.col("jobs", "placements")
    if offers.sum() > 0:
        cand = np.flatnonzero(hh.native & hh.at_home_rural() & (hh.workers > 0))
        km = np.where(offers[None, :] > 0, m.places.km[hh.home(cand)][:, :T], np.inf)
        target = km.argmin(axis=1)
        ok = ration(target, priority_rank(m, cand), slot_uniform(key, cand, LABOUR_SLOTS, 3),
                    np.full(cand.size, m.scale), offers)
        hh.placement[cand[ok]] = target[ok]

    # training places: migrants in town below the top skill level, by priority
    places_ = lv.col("jobs", "training_places")
    if places_.sum() > 0:
        cand = np.flatnonzero(hh.migrant(T) & (hh.skill < 3))
        ok = ration(hh.place[cand], priority_rank(m, cand), slot_uniform(key, cand, LABOUR_SLOTS, 4),
                    np.full(cand.size, m.scale), places_)
        hh.skill[cand[ok]] += 1
        m.year_counts["trained"] = ok.sum() * m.scale

    s = (beh.skill_premium, beh.wage_sd, beh.savings_rate, eco.farm_income_per_mu,
         eco.local_nonfarm_income, eco.agri_subsidy_per_mu, eco.land_rent_per_mu, m.rural_index,
         float(lv.rights.land_rental), float(lv.rights.land.on_settle != "surrendered"),
         float(lv.rights.collective.on_settle != "surrendered"))
    _earnings(key, T, hh.place, hh.hukou, hh.hukou_urban, hh.workers, hh.skill, hh.employed,
              hh.land_mu, hh.land_exited, hh.dividend, hh.collective_exited, hh.income, hh.savings,
              np.stack([np.asarray(m.wage, dtype=np.float64),
                        lv.col("services", "agri_subsidies_kept").astype(np.float64)]),
              tuple(float(x) for x in s))


# ---------------------------------------------------------------------------------------------
# 2. Ageing and demography
# ---------------------------------------------------------------------------------------------


DEMOGRAPHY_SLOTS = 11  # per household: school start, school leaving, birth, eight elders' deaths


@njit(cache=True, parallel=True)
def _population(head_age, workers, elders, kids_pre, kids_school):
    """Persons, heads under 45 next year, and elders: the denominators of the crude rates."""
    pop = 0
    young = 0
    old = 0
    for h in prange(head_age.size):
        pop += int(workers[h]) + int(elders[h]) + int(kids_pre[h]) + int(kids_school[h])
        young += 1 if head_age[h] + 1 < 45 else 0
        old += int(elders[h])
    return pop, young, old


@njit(cache=True, parallel=True, error_model="numpy")
def _age(key, T, place, hukou, hukou_urban, stable_job, employed, head_age, birth_year, workers,
         elders, kids_pre, kids_school, kids_with, years_in_town, insurance_years,
         collective_for_life, collective_exited, p_birth, p_death, births_out, deaths_out):
    """Per household: a year older; years in town and insurance years accrue; children start
    school and leave it to work; a birth; each elder dies with probability ``p_death``; an old
    head hands over to the next generation."""
    for h in prange(place.size):  # selects, not branches: the loop is vectorised
        pl = place[h]
        age = head_age[h] + 1
        years_in_town[h] = min(years_in_town[h] + 1, 100) if pl < T else 0
        town_dweller = (pl < T) & (hukou_urban[h] | (pl != hukou[h]))
        insured = town_dweller & stable_job[h] & (employed[h] > 0)
        insurance_years[h] = min(insurance_years[h] + 1, 100) if insured else insurance_years[h]
        pre, school, work = kids_pre[h], kids_school[h], workers[h]
        start = (pre > 0) & (uniform(key, h, DEMOGRAPHY_SLOTS, 0) < pre / 6.0)
        pre, school = pre - start, school + start
        leave = (school > 0) & (uniform(key, h, DEMOGRAPHY_SLOTS, 1) < school / 9.0)
        school, work = school - leave, work + leave
        kids_with[h] = min(kids_with[h], school)
        born = (age < 45) & (pre < 3) & (uniform(key, h, DEMOGRAPHY_SLOTS, 2) < p_birth)
        pre += born
        births_out[h] = born
        old = elders[h]
        died = 0
        for e in range(8):  # eight draws: elders beyond eight never die
            died += (e < old) & (uniform(key, h, DEMOGRAPHY_SLOTS, 3 + e) < p_death)
        deaths_out[h] = died
        hand_over = (age >= 70) & (work >= 2)
        kids_pre[h], kids_school[h] = pre, school
        workers[h] = work - hand_over
        elders[h] = old - died + hand_over
        head_age[h] = age - 30 * hand_over
        birth_year[h] += 30 * hand_over
        # collective shares kept only for the holder's life are not inherited (seed 001 §(二十九))
        collective_exited[h] |= hand_over & collective_for_life[h]


def ageing(m: SettlementModel) -> None:
    """Heads age; years in town and insurance years accrue; children start school and leave it
    to work; births (to households with heads under 45) and deaths (of elders) at the
    behaviour's crude rates; an old head hands over to the next generation."""
    hh, beh, T = m.hh, m.behaviour, m.T
    pop, young, old = _population(hh.head_age, hh.workers, hh.elders, hh.kids_pre, hh.kids_school)
    p_birth = beh.birth_rate * pop / max(young, 1)
    # each elder dies with the same probability, set so deaths match the crude death rate
    p_death = min(beh.death_rate * pop / max(old, 1), 1.0)
    births = np.empty(hh.n, dtype=np.bool_)
    deaths = np.empty(hh.n, dtype=np.int8)
    _age(m.key("demography"), T, hh.place, hh.hukou, hh.hukou_urban, hh.stable_job, hh.employed,
         hh.head_age, hh.birth_year, hh.workers, hh.elders, hh.kids_pre, hh.kids_school,
         hh.kids_with, hh.years_in_town, hh.insurance_years, hh.collective_for_life,
         hh.collective_exited, float(p_birth), float(p_death), births, deaths)
    m.year_counts["births"] = int(np.count_nonzero(births)) * m.scale
    m.year_counts["deaths"] = int(deaths.sum(dtype=np.int64)) * m.scale


# ---------------------------------------------------------------------------------------------
# 3. Eligibility
# ---------------------------------------------------------------------------------------------


def eligibility(m: SettlementModel) -> None:
    """Evaluate the hukou conditions of the town where each migrant lives (``m.eligible_here``;
    settling is only ever in one's own town, DESIGN §5)."""
    hh = m.hh
    m.start_migrants = hh.migrant(m.T)
    m.start_groups = group_bits(m)  # group membership as the year's decisions begin
    mig = np.flatnonzero(m.start_migrants)
    m.eligible_here = np.zeros(hh.n, dtype=bool)
    m.eligible_here[mig] = eligible(hh, mig, m.levers, m.economy.home_floor_area_m2)


# ---------------------------------------------------------------------------------------------
# 4. Choice
# ---------------------------------------------------------------------------------------------


CHOICE_SLOTS = 2  # per household: reviewing this year, buying a home


@njit(cache=True, parallel=True)
def _deciders(key, hukou_urban, placement, review_rate, out):
    """Households without urban hukou that review their situation this year (at the behaviour's
    rate) or hold a job placement."""
    for h in prange(out.size):
        out[h] = (not hukou_urban[h]) & ((placement[h] >= 0) | (uniform(key, h, CHOICE_SLOTS, 0) < review_rate))


def choice(m: SettlementModel) -> None:
    """Each household without urban hukou that reviews its situation this year (or holds a job
    placement) picks the alternative of highest utility plus Gumbel noise; its next-best
    alternative without settling is kept for when the quota runs out. Settlement intention is
    computed for every non-hukou town resident. Town residents who stay then buy a home if
    they can afford it."""
    hh, beh, T = m.hh, m.behaviour, m.T
    choice_key = m.key("choice")
    A = decision.n_alternatives(T)
    ctx = m.context()
    deciders = np.empty(hh.n, dtype=np.bool_)
    _deciders(choice_key, hh.hukou_urban, hh.placement, float(beh.review_rate), deciders)
    want = np.full(hh.n, -1, dtype=np.int16)
    fallback = np.full(hh.n, -1, dtype=np.int16)
    intention = np.full(hh.n, np.nan, dtype=np.float32)
    # Gumbel noise from a counter-based generator keyed by (seed, replication, year, household,
    # alternative): common random numbers whatever the policy, drawn only for the deciders
    key = m.key("choice_noise")
    rows = np.flatnonzero(deciders)
    mig = np.flatnonzero(m.start_migrants)  # nobody has moved since the eligibility stage
    if m.engine == "numba":
        for lo in range(0, rows.size, CHUNK * 8):
            part = rows[lo:lo + CHUNK * 8]
            want[part], fallback[part] = kernels.choose_rows(hh, part, ctx, m.eligible_here[part], key)
        for lo in range(0, mig.size, CHUNK * 8):
            part = mig[lo:lo + CHUNK * 8]
            intention[part] = kernels.intention_rows(hh, part, ctx)
    else:  # the specification itself (sim.decision), in blocks
        for lo in range(0, rows.size, CHUNK):
            part = rows[lo:lo + CHUNK]
            noise = -np.log(-np.log(kernels.counter_uniform(key, part, A)))
            v = decision.utilities(hh, part, ctx, m.year, m.eligible_here[part]) + noise
            want[part] = v.argmax(axis=1)
            fallback[part] = v[:, : 1 + T].argmax(axis=1)
        for lo in range(0, mig.size, CHUNK):
            part = mig[lo:lo + CHUNK]
            intention[part] = decision.settlement_intention(hh, part, ctx, m.year)
    m.want, m.fallback, m.intention, m.deciders = want, fallback, intention, rows
    buy_homes(m, choice_key)


@njit(cache=True, parallel=True, error_model="numpy")
def _buy_homes(key, T, want, place, hukou, hukou_urban, owned_town, stable_job, savings, tenure,
               price, levers, e, purchase_rate, support_out):
    """Per household: a town dweller staying in its town who owns no home buys one with
    probability ``purchase_rate`` when its savings cover the up-front cost: the down payment
    (lower with the housing provident fund), deed tax and fees, less the policy's subsidy,
    deed-tax subsidy and fee relief (support may be for hukou holders only). Writes the support
    received (-1 if no purchase)."""
    area, down_share, provident_share, deed_rate, fee_rate = e
    for h in prange(place.size):
        support_out[h] = -1.0
        pl = place[h]
        w = want[h]
        if not (pl < T and (hukou_urban[h] or pl != hukou[h])) or owned_town[h] >= 0:
            continue
        if not (w < 0 or w == 1 + pl or w == 1 + T + pl):
            continue
        fund_migrants, requires_hukou, subsidy, deed_subsidy, fee_relief = levers[pl]
        # support reserved for hukou holders goes to those who hold hukou here now (a household
        # asking to settle this year may still be refused by the quota)
        hukou_here = hukou_urban[h] and hukou[h] == pl
        value = price[pl] * area
        fund = (fund_migrants > 0 or hukou_here) and stable_job[h]
        down = value * (provident_share if fund else down_share)
        deed = value * deed_rate
        fees = value * fee_rate
        support = subsidy + deed * deed_subsidy + fees * fee_relief if (requires_hukou == 0 or hukou_here) else 0.0
        gross = down + deed + fees
        support = min(support, gross)
        cost = gross - support
        if savings[h] >= cost and uniform(key, h, CHOICE_SLOTS, 1) < purchase_rate:
            savings[h] -= cost
            owned_town[h] = pl
            tenure[h] = OWNED
            support_out[h] = support


def buy_homes(m: SettlementModel, key: np.uint64) -> None:
    """Town residents staying in their town who own no home buy a first home (see
    :func:`_buy_homes`)."""
    hh, eco, lv = m.hh, m.economy, m.levers
    levers = np.column_stack([lv.col("housing", name).astype(np.float64) for name in (
        "provident_fund_migrants", "purchase_support_requires_hukou", "purchase_subsidy_yuan",
        "deed_tax_subsidy_share", "purchase_fee_relief_share")])
    e = (eco.home_floor_area_m2, eco.down_payment_share, eco.provident_down_payment_share,
         eco.deed_tax_rate, eco.transaction_fee_rate)
    support = np.empty(hh.n)
    _buy_homes(key, m.T, m.want, hh.place, hh.hukou, hh.hukou_urban, hh.owned_town, hh.stable_job,
               hh.savings, hh.tenure, m.price.astype(np.float64), levers, tuple(float(x) for x in e),
               float(m.behaviour.purchase_rate), support)
    bought = support[support >= 0]
    m.year_counts["homes_bought"] = bought.size * m.scale
    m.year_counts["purchase_support_yuan"] = float(bought.sum()) * m.scale


# ---------------------------------------------------------------------------------------------
# 5. Capacity
# ---------------------------------------------------------------------------------------------


CAPACITY_SLOTS = 5  # per household: tiebreaks for quota, reserved jobs and public rental; school
# admission and its tiebreak


def capacity(m: SettlementModel) -> None:
    """Ration what is finite, in the policy's priority order: the annual settlement quota
    (those over it take their next-best alternative), then apply everyone's move, then reserved
    jobs, public rental units and school seats (children without a seat are left behind)."""
    hh, T, lv = m.hh, m.T, m.levers
    key = m.key("capacity")
    want = m.want.copy()

    settle = want > T
    rows = np.flatnonzero(settle)
    if rows.size:
        town = (want[rows] - 1 - T).astype(np.int64)
        # one quota per town (the ``hukou`` rules'); outsiders' own quota caps their part of it
        rank, w = priority_rank(m, rows), hh.size(rows) * m.scale
        tie = slot_uniform(key, rows, CAPACITY_SLOTS, 0)
        served = np.ones(rows.size, dtype=bool)
        out = ~hh.native[rows]
        served[out] = ration(town[out], rank[out], tie[out], w[out],
                             per_town_capacity(lv.col("hukou_outsiders", "annual_quota")))
        idx = np.flatnonzero(served)
        served[idx] = ration(town[idx], rank[idx], tie[idx], w[idx],
                             per_town_capacity(lv.col("hukou", "annual_quota")))
        refused = rows[~served]
        want[refused] = m.fallback[refused]
        m.year_counts["quota_refused_households"] = refused.size * m.scale
    apply_moves(m, want)
    reserved_jobs(m, key)
    public_rental(m, key)
    school_seats(m, key)


NO_FLOW, FLOW_RETURNED, FLOW_MIGRATED, FLOW_MOVED, FLOW_SETTLED = 0, 1, 2, 3, 4


@njit(cache=True, parallel=True)
def _move(rows, want, T, year, portable, place, hukou, hukou_urban, origin, native, workers, elders,
          kids_pre, kids_school, kids_with, insurance_years, years_in_town, placement, stable_job,
          job_years, employed, owned_town, tenure, settled_year, kind, flow_origin, persons):
    """Per household that decided (``rows``): move to the chosen place (a new town job is a
    placement's stable job or the old employment; housing is owned, a dormitory with a
    placement, or rented; insurance years are kept only between towns where both make them
    portable) and/or settle there (urban hukou, children with the household). Writes, per row,
    the kind of flow, its origin and its persons (before a return, after any other move)."""
    for i in prange(rows.size):
        h = rows[i]
        w = want[h]
        kind[i] = NO_FLOW
        pl = place[h]
        home = hukou[h] if hukou[h] >= 0 else origin[h]
        dest = home if w == 0 else (w - 1 - T if w > T else w - 1)
        settling = w > T
        moving = dest != pl
        before = persons_here(h, T, place, hukou, hukou_urban, native, workers, elders, kids_pre,
                               kids_school, kids_with)
        flow_origin[i] = pl
        if settling:
            flow_origin[i] = hukou[h] if hukou[h] >= 0 else pl
        if moving:
            from_town = pl < T and pl != home
            to_town = dest < T and dest != home
            if not (from_town and to_town and portable[pl] and portable[dest]):
                insurance_years[h] = 0
            place[h] = dest
            years_in_town[h] = 0
            placed = placement[h] == dest
            stable_job[h] = placed
            job_years[h] = 0
            if not to_town:
                employed[h] = 0
                tenure[h] = VILLAGE_HOME
            else:
                if placed:
                    employed[h] = max(workers[h], 1)
                tenure[h] = OWNED if owned_town[h] == dest else (DORM if placed else RENTED)
            kids_with[h] = 0
        if settling:
            hukou[h] = dest
            hukou_urban[h] = True
            settled_year[h] = year
            kids_with[h] = kids_school[h]
            kind[i] = FLOW_SETTLED
        elif moving:
            kind[i] = FLOW_RETURNED if dest == home else (FLOW_MIGRATED if pl == home else FLOW_MOVED)
        if kind[i] == FLOW_RETURNED:
            persons[i] = before
        else:
            persons[i] = persons_here(h, T, place, hukou, hukou_urban, native, workers, elders,
                                       kids_pre, kids_school, kids_with)


def apply_moves(m: SettlementModel, want: np.ndarray) -> None:
    """Carry out the chosen alternatives and record the year's flows."""
    hh, T, k = m.hh, m.T, m.scale
    rows = m.deciders  # only households that decided this year can move
    kind = np.empty(rows.size, dtype=np.int8)
    flow_origin = np.empty(rows.size, dtype=np.int32)
    persons = np.empty(rows.size, dtype=np.int32)
    _move(rows, want, T, m.year, m.levers.col("services", "insurance_portable"), hh.place, hh.hukou,
          hh.hukou_urban, hh.origin, hh.native, hh.workers, hh.elders, hh.kids_pre, hh.kids_school,
          hh.kids_with, hh.insurance_years, hh.years_in_town, hh.placement, hh.stable_job,
          hh.job_years, hh.employed, hh.owned_town, hh.tenure, hh.settled_year, kind, flow_origin,
          persons)
    for code, name in ((FLOW_RETURNED, RETURNED), (FLOW_MIGRATED, MIGRATED), (FLOW_MOVED, MOVED),
                       (FLOW_SETTLED, SETTLED)):
        of_kind = np.flatnonzero(kind == code)
        idx = rows[of_kind]
        m.add_flows(flow_origin[of_kind], hh.place[idx], name, persons[of_kind])
        if code == FLOW_RETURNED:
            m.year_counts["returned_persons"] = persons[of_kind].sum() * k
        elif code == FLOW_MIGRATED:
            m.year_counts["migrated_persons"] = persons[of_kind].sum() * k
        elif code == FLOW_SETTLED:
            m.settled_now = idx
            m.year_counts["settled_households"] = idx.size * k
            m.year_counts["settled_persons"] = hh.size(idx).sum() * k


def reserved_jobs(m: SettlementModel, key: np.uint64) -> None:
    """Jobs reserved for rural migrants in each town go, in priority order, to non-hukou
    residents without a stable job; they gain a labour contract."""
    hh, T = m.hh, m.T
    jobs = m.levers.col("jobs", "reserved_jobs")
    if jobs.sum() == 0:
        return
    cand = np.flatnonzero(hh.migrant(T) & ~hh.stable_job & (hh.workers > 0))
    ok = ration(hh.place[cand], priority_rank(m, cand), slot_uniform(key, cand, CAPACITY_SLOTS, 1),
                np.full(cand.size, m.scale), jobs)
    got = cand[ok]
    hh.stable_job[got] = True
    hh.employed[got] = np.maximum(hh.employed[got], 1)
    m.year_counts["reserved_jobs_filled"] = got.size * m.scale


@njit(cache=True, parallel=True)
def _rental_applicants(T, place, hukou, hukou_urban, native, tenure, owned_town, stable_job,
                       job_years, rules, tenants, out):
    """Per town dweller: a public-rental tenant (counted per town, in chunks), or an applicant
    who may apply in its town (:func:`sim.decision.public_rental_eligible`): not owning a home
    there, and holding hukou there or, where units are open to residents, with enough years of
    stable work (natives only where so restricted)."""
    for c in prange(tenants.shape[0]):
        first, last = chunk(c, tenants.shape[0], n_blocks(place.size))
        tenant = np.empty(BLOCK, dtype=np.int64)
        for b in range(first, last):
            # open to residents, years of stable work required, natives only: of each one's town
            lo, size, town = town_values(b, place.size, place, T, rules)
            for i in range(size):  # selects, not branches: the loop is vectorised
                h = at(lo, i)
                j = place[h]
                dweller = (j < T) & (hukou_urban[h] | (j != hukou[h]))
                tenant[i] = dweller & (tenure[h] == PUBLIC_RENTAL)
                resident_ok = ((town[0, i] > 0) & stable_job[h] & (job_years[h] >= town[1, i])
                               & (native[h] | (town[2, i] == 0)))
                out[h] = (dweller & (tenure[h] != PUBLIC_RENTAL) & (owned_town[h] != j)
                          & (resident_ok | (hukou_urban[h] & (hukou[h] == j))))
            for i in range(size):
                tenants[c, min(place[at(lo, i)], T - 1)] += tenant[i]


def rental_rules(lv) -> np.ndarray:
    """[3, towns]: public rental open to residents (0/1), the years of stable work it requires
    of them, natives only (0/1)."""
    return np.stack([lv.is_("housing", "public_rental_open_to", "residents").astype(np.float64),
                     lv.col("housing", "public_rental_min_job_years").astype(np.float64),
                     lv.col("housing", "public_rental_natives_only").astype(np.float64)])


def public_rental(m: SettlementModel, key: np.uint64) -> None:
    """Free public rental units go to eligible applicants in priority order; the rest queue."""
    hh, T, lv = m.hh, m.T, m.levers
    tenants = np.zeros((n_chunks(), T))
    applicant = np.empty(hh.n, dtype=np.bool_)
    _rental_applicants(T, hh.place, hh.hukou, hh.hukou_urban, hh.native, hh.tenure, hh.owned_town,
                       hh.stable_job, hh.job_years, rental_rules(lv), tenants, applicant)
    free = np.maximum(m.rental_units - tenants.sum(axis=0) * m.scale, 0.0)
    cand = np.flatnonzero(applicant)
    town = hh.place[cand]
    ok = ration(town, priority_rank(m, cand), slot_uniform(key, cand, CAPACITY_SLOTS, 2),
                np.full(cand.size, m.scale), free)
    hh.tenure[cand[ok]] = PUBLIC_RENTAL
    m.rental_queue = np.bincount(town[~ok], minlength=T) * m.scale
    applicants = np.bincount(town, minlength=T) * m.scale
    m.rental_access = np.where(applicants > 0, np.bincount(town[ok], minlength=T) * m.scale
                               / np.maximum(applicants, 1e-9), 1.0)


SEAT_HUKOU, SEAT_INCUMBENT, SEAT_NEWCOMER, SEAT_NOT_ADMITTED = 0, 1, 2, -1


@njit(cache=True, parallel=True)
def _pupils(T, place, hukou, hukou_urban, kids_school, out):
    for h in prange(place.size):
        pl = place[h]
        out[h] = (pl < T) & (hukou_urban[h] | (pl != hukou[h])) & (kids_school[h] > 0)


@njit(cache=True, parallel=True)
def _seat_classes(key, rows, place, hukou, hukou_urban, public_seat, years_in_town, permit_min_years,
                  permit_basis, admission_share, out):
    """Per household with school-age children in town: its claim on a public seat. Hukou
    children (and, where enrolment is based on the residence permit, permit holders' children)
    first, then children already enrolled, then others admitted under the admission share."""
    for i in prange(rows.size):
        h = rows[i]
        j = place[h]
        if (hukou_urban[h] and hukou[h] == j) or (permit_basis[j] and years_in_town[h] >= permit_min_years[j]):
            out[i] = SEAT_HUKOU
        elif public_seat[h] and years_in_town[h] > 0:
            out[i] = SEAT_INCUMBENT
        elif uniform(key, h, CAPACITY_SLOTS, 3) < admission_share[j]:
            out[i] = SEAT_NEWCOMER
        else:
            out[i] = SEAT_NOT_ADMITTED


def school_seats(m: SettlementModel, key: np.uint64) -> None:
    """Public school seats in each town go first to hukou children (and, where enrolment is
    based on the residence permit, to permit holders' children alike), then to children already
    enrolled, then to non-hukou children admitted under the admission share, in priority order.
    A native migrant's child without a seat is left behind in the village."""
    hh, T, lv = m.hh, m.T, m.levers
    pupils = np.empty(hh.n, dtype=np.bool_)
    _pupils(T, hh.place, hh.hukou, hh.hukou_urban, hh.kids_school, pupils)
    rows = np.flatnonzero(pupils)
    claim = np.empty(rows.size, dtype=np.int16)
    _seat_classes(key, rows, hh.place, hh.hukou, hh.hukou_urban, hh.public_seat, hh.years_in_town,
                  lv.col("services", "permit_min_years").astype(np.float64),
                  lv.is_("schools", "enrolment_basis", "residence_permit"),
                  lv.col("schools", "nonhukou_admission_share").astype(np.float64), claim)
    admitted = claim != SEAT_NOT_ADMITTED
    want = rows[admitted]
    rank = claim[admitted]
    newcomer = rank == SEAT_NEWCOMER
    rank[newcomer] = priority_rank(m, want[newcomer]) + SEAT_NEWCOMER
    town = hh.place[want].astype(np.intp)
    kids = hh.kids_school[want].astype(np.float64) * m.scale
    ok = ration(town, rank, slot_uniform(key, want, CAPACITY_SLOTS, 4), kids, m.seats)
    seated = want[ok]
    hh.public_seat[:] = False
    hh.public_seat[seated] = True
    # children without a seat stay in the village (native migrants) or attend a private school
    native_migrant = ~hh.hukou_urban[rows] & hh.native[rows]
    hh.kids_with[rows] = np.where(hh.public_seat[rows] | ~native_migrant, hh.kids_school[rows], 0)
    demand = np.bincount(town, weights=kids, minlength=T)
    m.seats_used = np.bincount(town, weights=kids * ok, minlength=T)
    m.seat_shortfall = demand - m.seats_used
    m.seat_access = np.where(demand > 0, m.seats_used / np.maximum(demand, 1e-9), 1.0)
    migrant_kids = ok & ~(hh.hukou_urban[want] & (hh.hukou[want] == town))
    m.migrant_pupils = np.bincount(town, weights=kids * migrant_kids, minlength=T)


# ---------------------------------------------------------------------------------------------
# 6. Rights
# ---------------------------------------------------------------------------------------------


def rights(m: SettlementModel) -> None:
    """Settled native households surrender a right where the policy demands it (with the
    compensation a paid exit gives), or exit it voluntarily where a paid exit is offered and the
    compensation beats keeping it. A homestead exit may be paid as a housing voucher (房票)
    worth more than cash, added to savings for buying a home."""
    hh, lv, beh = m.hh, m.levers, m.behaviour
    key = m.key("rights")
    rows = np.flatnonzero(hh.hukou_urban & hh.native & (hh.origin >= m.T))
    values = decision.rights_value(hh, rows, m.economy, beh)
    new = hh.settled_year[rows] == m.year
    income = np.maximum(hh.income[rows], 1000.0)
    comp_total = 0.0
    for k, (name, flag) in enumerate((("land", "land_exited"), ("homestead", "homestead_exited"),
                                      ("collective", "collective_exited"))):
        rule = getattr(lv.rights, name)
        held = ~getattr(hh, flag)[rows] & (values[name] > 0)
        comp = values[name] * rule.compensation_share * float(rule.paid_exit)
        forced = held & new & (rule.on_settle == "surrendered")
        # keeping is worth less away from the village when land cannot be rented out
        keep = values[name] * (0.5 if (name == "land" and not lv.rights.land_rental) else 1.0)
        gain = (comp - keep) / income
        p = beh.exit_rate / (1.0 + np.exp(np.clip(-beh.beta_rights * gain * 4.0, -50, 50)))
        voluntary = held & ~forced & rule.paid_exit & (slot_uniform(key, rows, 3, k) < p)
        out = forced | voluntary
        idx = rows[out]
        getattr(hh, flag)[idx] = True
        paid = comp[out]
        if name == "homestead" and lv.rights.homestead_voucher:
            paid = paid * (1.0 + lv.rights.voucher_bonus_share)
        hh.savings[idx] += paid.astype(np.float32)
        comp_total += float(paid.sum())
        if name == "land":
            m.year_counts["land_exited_mu"] = float(hh.land_mu[idx].sum()) * m.scale
        elif name == "homestead":
            m.year_counts["homesteads_exited"] = idx.size * m.scale
        else:
            m.year_counts["collective_shares_exited"] = idx.size * m.scale
        if name == "collective" and rule.on_settle == "kept_for_life":
            hh.collective_for_life[rows[new & held]] = True
    m.year_counts["compensation_paid_yuan"] = comp_total * m.scale


# ---------------------------------------------------------------------------------------------
# 7. Feedback
# ---------------------------------------------------------------------------------------------


def feedback(m: SettlementModel) -> None:
    """人地钱挂钩: each settler brings a transfer that buys next year's school seats and public
    rental units, and construction land that eases rents; seats also grow by the policy's rate
    and by funding per migrant pupil; public rental is built; rents and prices follow wages and
    demand; rural communities past the non-farm threshold and scheduled urban villages are
    reclassified as urban (in-situ urbanisation)."""
    hh, T, lv, beh = m.hh, m.T, m.levers, m.behaviour
    fiscal = lambda name: lv.col("fiscal", name)  # noqa: E731
    settled = m.settled_now
    settlers = np.bincount(hh.place[settled], weights=hh.size(settled), minlength=T) * m.scale
    transfer = settlers * fiscal("transfer_per_settler_yuan")
    m.seats += transfer * fiscal("transfer_share_schools") / fiscal("seat_cost_yuan")
    m.rental_units += transfer * fiscal("transfer_share_housing") / fiscal("rental_unit_cost_yuan")
    funding = m.migrant_pupils * lv.col("schools", "funding_per_migrant_child_yuan")
    m.seats += funding / fiscal("seat_cost_yuan")
    grown = m.seats * lv.col("schools", "seat_growth_per_year")
    m.seats += grown
    m.year_counts["seat_growth_cost_yuan"] = float((grown * fiscal("seat_cost_yuan")).sum())
    built = lv.col("housing", "public_rental_build_per_year")
    m.rental_units += built
    m.year_counts["transfer_yuan"] = float(transfer.sum())
    m.year_counts["school_funding_yuan"] = float(funding.sum())
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


# ---------------------------------------------------------------------------------------------
# 8. Record
# ---------------------------------------------------------------------------------------------


def record(m: SettlementModel) -> None:
    """Append the year's metrics, settlement by group, town table and flows (DESIGN §6)."""
    from sim.outputs import record_year

    record_year(m)
