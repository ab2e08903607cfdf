"""The yearly step (DESIGN §3), one function per stage, in the order the year runs:

1. :func:`labour_market`  employment, wages, placements and training
2. :func:`ageing`         heads age, children move through school, births and deaths
3. :func:`eligibility`    hukou eligibility of every migrant in the town where it lives
4. :func:`choice`         each household picks its alternative (and buys a home if it can)
5. :func:`capacity`       settlement quota, moves, reserved jobs, public rental, school seats
6. :func:`rights`         surrender or paid exit of land, homestead and collective shares
7. :func:`feedback`       人地钱挂钩 seats/units/land, rents, reclassification of communities
8. :func:`record`         metrics, groups, towns and flows of the year

Each stage reads and writes the model's household arrays (``m.hh``) and town arrays; all
randomness comes from ``m.stream(name)`` so that replications share draws across packages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim import decision, kernels
from sim.eligibility import eligible, in_group
from sim.households import DORM, NO_PLACE, OWNED, PUBLIC_RENTAL, RENTED, VILLAGE_HOME
from sim.outputs import group_masks
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
    order = m.levers.priority.order
    rank = np.full(rows.size, len(order), dtype=np.int16)
    for i, group in enumerate(reversed(order)):
        member = in_group(m.hh, rows, group, m.year, m.levers.priority.long_resident_years, m.T)
        rank[member] = len(order) - 1 - i
    return rank


def ration(town: np.ndarray, rank: np.ndarray, tiebreak: np.ndarray, weight: np.ndarray,
           capacity: np.ndarray) -> np.ndarray:
    """Serve candidates town by town in (rank, random tiebreak) order while their cumulative
    weight fits the town's capacity. Returns a boolean mask of those served. A capacity of
    ``inf`` serves everyone. No town ever exceeds its capacity."""
    if town.size == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((tiebreak, rank, town))
    t_sorted = town[order]
    w_sorted = weight[order].astype(np.float64)
    cum = np.cumsum(w_sorted)
    starts = np.searchsorted(t_sorted, t_sorted, side="left")
    before = np.where(starts > 0, cum[starts - 1], 0.0)
    within = cum - before
    ok_sorted = within <= capacity[t_sorted] + 1e-9
    # once a town is full, later (lower-priority) candidates are not served even if smaller
    full = ~ok_sorted
    first_fail = np.full(capacity.size, np.iinfo(np.int64).max)
    np.minimum.at(first_fail, t_sorted[full], np.flatnonzero(full))
    ok_sorted &= np.arange(t_sorted.size) < first_fail[t_sorted]
    served = np.zeros(town.size, dtype=bool)
    served[order] = ok_sorted
    return served


def per_town_capacity(count: np.ndarray) -> np.ndarray:
    """A lever count per town where 0 means 'no limit' (quota) becomes +inf."""
    return np.where(count > 0, count, np.inf)


# ---------------------------------------------------------------------------------------------
# 1. Labour market
# ---------------------------------------------------------------------------------------------


def labour_market(m: SettlementModel) -> None:
    """Wages and rural incomes grow; town workers are employed or not; stable jobs are kept or
    lost; job placements are offered to villagers and training places raise migrants' skills;
    households earn and save."""
    hh, beh, lv, T = m.hh, m.behaviour, m.levers, m.T
    rng = m.stream("labour")
    u = rng.random((hh.n, 5), dtype=np.float32)
    z = rng.standard_normal(hh.n, dtype=np.float32)
    m.wage *= 1.0 + beh.wage_growth
    m.rural_index *= 1.0 + beh.rural_income_growth

    in_town = hh.town_dweller(T)  # town labour market: migrants and hukou holders in town
    town = np.where(in_town, hh.place, 0)
    p = np.where(hh.stable_job, np.maximum(m.employment_rate[town], beh.stable_job_retention),
                 m.employment_rate[town])
    hh.employed[:] = np.where(in_town, np.maximum(hh.workers - (u[:, 0] >= p), 0), 0)
    lose = hh.stable_job & (u[:, 1] >= beh.stable_job_retention)
    gain = in_town & ~hh.stable_job & (hh.employed > 0) & \
        (u[:, 2] < beh.stable_job_entry * (1.0 + hh.skill))
    hh.stable_job[:] = (hh.stable_job & ~lose) | gain
    hh.stable_job &= in_town
    hh.job_years[:] = np.where(hh.stable_job, np.minimum(hh.job_years + 1, 100), 0)

    # job placements (转移就业): offers to villagers, each to the nearest town offering them
    hh.placement[:] = NO_PLACE
    offers = lv.col("jobs", "placements")
    if offers.sum() > 0:
        cand = np.flatnonzero(hh.native & hh.at_home_rural() & (hh.workers > 0))
        km = np.where(offers[None, :] > 0, m.places.km[hh.home()[cand]][:, :T], np.inf)
        target = km.argmin(axis=1)
        ok = ration(target, priority_rank(m, cand), u[cand, 3], np.full(cand.size, m.scale), offers)
        hh.placement[cand[ok]] = target[ok]

    # training places: migrants in town below the top skill level, by priority
    places_ = lv.col("jobs", "training_places")
    if places_.sum() > 0:
        cand = np.flatnonzero(hh.migrant(T) & (hh.skill < 3))
        ok = ration(hh.place[cand], priority_rank(m, cand), u[cand, 4],
                    np.full(cand.size, m.scale), places_)
        hh.skill[cand[ok]] += 1
        m.year_counts["trained"] = ok.sum() * m.scale

    skill = 1.0 + beh.skill_premium * hh.skill
    noise = np.exp(beh.wage_sd * z - 0.5 * beh.wage_sd**2)
    town_income = hh.employed * m.wage[town] * skill * noise
    home, away, settled = decision.non_wage_income(hh, slice(None), m.context(), settled_town=hh.place)
    income = np.where(~in_town, home, town_income + np.where(hh.hukou_urban, settled, away))
    hh.income[:] = income
    hh.savings[:] = np.maximum(hh.savings + beh.savings_rate * income, 0.0)


# ---------------------------------------------------------------------------------------------
# 2. Ageing and demography
# ---------------------------------------------------------------------------------------------


def ageing(m: SettlementModel) -> None:
    """Heads age; years in town and insurance years accrue; children start school and leave it
    to work; births (to households with heads under 45) and deaths (of elders) at the
    behaviour's crude rates; an old head hands over to the next generation."""
    hh, beh, T = m.hh, m.behaviour, m.T
    rng = m.stream("demography")
    u = rng.random((hh.n, 3), dtype=np.float32)
    u_elder = rng.random((hh.n, 8), dtype=np.float32)  # one draw per elder (up to eight)
    in_town = hh.place < T
    hh.head_age += 1
    hh.years_in_town[:] = np.where(in_town, np.minimum(hh.years_in_town + 1, 100), 0)
    contributes = hh.town_dweller(T) & hh.stable_job & (hh.employed > 0)
    hh.insurance_years[:] = np.minimum(hh.insurance_years + contributes, 100)

    start = (hh.kids_pre > 0) & (u[:, 0] < hh.kids_pre / 6.0)
    hh.kids_pre -= start
    hh.kids_school += start
    leave = (hh.kids_school > 0) & (u[:, 1] < hh.kids_school / 9.0)
    hh.kids_school -= leave
    hh.kids_with[:] = np.minimum(hh.kids_with, hh.kids_school)
    hh.workers += leave

    size = hh.size()
    pop = size.sum()
    young = hh.head_age < 45
    p_birth = beh.birth_rate * pop / max(young.sum(), 1)
    births = young & (u[:, 2] < p_birth) & (hh.kids_pre < 3)
    hh.kids_pre += births
    # each elder dies with the same probability, set so deaths match the crude death rate
    p_death = min(beh.death_rate * pop / max(hh.elders.sum(), 1), 1.0)
    slots = np.arange(8)[None, :] < hh.elders[:, None]
    deaths = ((u_elder < p_death) & slots).sum(axis=1).astype(np.int8)
    hh.elders -= deaths
    hand_over = (hh.head_age >= 70) & (hh.workers >= 2)
    hh.workers -= hand_over
    hh.elders += hand_over
    hh.head_age[hand_over] -= 30
    hh.birth_year[hand_over] += 30
    # collective shares kept only for the holder's life are not inherited (seed 001 §(二十九))
    ended = hand_over & hh.collective_for_life & ~hh.collective_exited
    hh.collective_exited[ended] = True
    m.year_counts["births"] = births.sum() * m.scale
    m.year_counts["deaths"] = int(deaths.sum()) * m.scale


# ---------------------------------------------------------------------------------------------
# 3. Eligibility
# ---------------------------------------------------------------------------------------------


def eligibility(m: SettlementModel) -> None:
    """Evaluate the hukou conditions of the town where each migrant lives (``m.eligible_here``;
    settling is only ever in one's own town, DESIGN §5)."""
    hh = m.hh
    m.start_migrants = hh.migrant(m.T)
    m.start_groups = group_masks(m)  # group membership as the year's decisions begin
    mig = np.flatnonzero(m.start_migrants)
    m.eligible_here = np.zeros(hh.n, dtype=bool)
    m.eligible_here[mig] = eligible(hh, mig, m.levers, m.economy.home_floor_area_m2)


# ---------------------------------------------------------------------------------------------
# 4. Choice
# ---------------------------------------------------------------------------------------------


def choice(m: SettlementModel) -> None:
    """Each household without urban hukou that reviews its situation this year (or holds a job
    placement) picks the alternative of highest utility plus Gumbel noise; its next-best
    alternative without settling is kept for when the quota runs out. Settlement intention is
    computed for every non-hukou town resident. Town residents who stay then buy a home if
    they can afford it."""
    hh, beh, T = m.hh, m.behaviour, m.T
    rng = m.stream("choice")
    A = decision.n_alternatives(T)
    ctx = m.context()
    review = rng.random(hh.n, dtype=np.float32) < beh.review_rate
    deciders = ~hh.hukou_urban & (review | (hh.placement >= 0))
    want = np.full(hh.n, -1, dtype=np.int16)
    fallback = np.full(hh.n, -1, dtype=np.int16)
    intention = np.full(hh.n, np.nan, dtype=np.float32)
    # Gumbel noise from a counter-based generator keyed by (seed, replication, year, household,
    # alternative): common random numbers whatever the policy, drawn only for the deciders
    key = kernels.stream_key(m.seed, m.replication, m.stream_id("choice_noise"), m.year)
    rows = np.flatnonzero(deciders)
    mig = np.flatnonzero(hh.migrant(T))
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
    m.want, m.fallback, m.intention = want, fallback, intention
    buy_homes(m, rng.random(hh.n, dtype=np.float32))


def purchase_cost(m: SettlementModel, rows: np.ndarray, will_have_hukou: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Up-front cost of buying a home in the household's town, and the public support in it:
    down payment (lower with the housing provident fund), deed tax and fees less the policy's
    subsidy, deed-tax subsidy and fee relief (support may be for hukou holders only)."""
    hh, eco, lv = m.hh, m.economy, m.levers
    town = hh.place[rows]
    value = m.price[town] * eco.home_floor_area_m2
    fund = (lv.col("housing", "provident_fund_migrants")[town] | will_have_hukou) & hh.stable_job[rows]
    down = value * np.where(fund, eco.provident_down_payment_share, eco.down_payment_share)
    deed = value * eco.deed_tax_rate
    fees = value * eco.transaction_fee_rate
    entitled = ~lv.col("housing", "purchase_support_requires_hukou")[town] | will_have_hukou
    support = entitled * (lv.col("housing", "purchase_subsidy_yuan")[town]
                          + deed * lv.col("housing", "deed_tax_subsidy_share")[town]
                          + fees * lv.col("housing", "purchase_fee_relief_share")[town])
    gross = down + deed + fees
    support = np.minimum(support, gross)
    return gross - support, support


def buy_homes(m: SettlementModel, u: np.ndarray) -> None:
    """Town residents staying in their town who own no home buy a first home with
    probability ``purchase_rate`` when their savings cover the up-front cost."""
    hh, T = m.hh, m.T
    place = hh.place
    stays = hh.town_dweller(T) & ((m.want < 0) | (m.want == 1 + place) | (m.want == 1 + T + place))
    rows = np.flatnonzero(stays & (hh.owned_town != place) & (hh.owned_town < 0))
    if rows.size == 0:
        return
    # support reserved for hukou holders goes to those who hold hukou here now (a household
    # asking to settle this year may still be refused by the quota)
    hukou_here = hh.hukou_urban[rows] & (hh.hukou[rows] == place[rows])
    cost, support = purchase_cost(m, rows, hukou_here)
    buy = (hh.savings[rows] >= cost) & (u[rows] < m.behaviour.purchase_rate)
    b = rows[buy]
    hh.savings[b] -= cost[buy]
    hh.owned_town[b] = place[b]
    hh.tenure[b] = OWNED
    m.year_counts["homes_bought"] = buy.sum() * m.scale
    m.year_counts["purchase_support_yuan"] = float(support[buy].sum()) * m.scale


# ---------------------------------------------------------------------------------------------
# 5. Capacity
# ---------------------------------------------------------------------------------------------


def capacity(m: SettlementModel) -> None:
    """Ration what is finite, in the policy's priority order: the annual settlement quota
    (those over it take their next-best alternative), then apply everyone's move, then reserved
    jobs, public rental units and school seats (children without a seat are left behind)."""
    hh, T, lv = m.hh, m.T, m.levers
    rng = m.stream("capacity")
    u = rng.random((hh.n, 5), dtype=np.float32)
    want = m.want.copy()

    settle = want > T
    rows = np.flatnonzero(settle)
    if rows.size:
        town = (want[rows] - 1 - T).astype(np.int64)
        # one quota per town (the ``hukou`` rules'); outsiders' own quota caps their part of it
        rank, tie, w = priority_rank(m, rows), u[rows, 0], hh.size()[rows] * m.scale
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
    reserved_jobs(m, u[:, 1])
    public_rental(m, u[:, 2])
    school_seats(m, u[:, 3], u[:, 4])


def apply_moves(m: SettlementModel, want: np.ndarray) -> None:
    """Carry out the chosen alternatives and record the year's flows."""
    hh, T, lv = m.hh, m.T, m.levers
    old_place = hh.place.copy()
    old_hukou = hh.hukou.copy()
    home = hh.home()
    dest = np.where(want == 0, home, np.where(want > T, want - 1 - T, want - 1)).astype(np.int32)
    decided = want >= 0
    moving = decided & (dest != old_place)
    settling = decided & (want > T)
    persons_before = hh.persons_at_place(T)

    mv = np.flatnonzero(moving)
    from_town = (old_place[mv] < T) & (old_place[mv] != home[mv])
    to_town = (dest[mv] < T) & (dest[mv] != home[mv])
    portable = lv.col("services", "insurance_portable")
    keeps_ins = from_town & to_town & portable[np.minimum(old_place[mv], T - 1)] & \
        portable[np.minimum(dest[mv], T - 1)]
    hh.insurance_years[mv] = np.where(keeps_ins, hh.insurance_years[mv], 0)
    hh.place[mv] = dest[mv]
    hh.years_in_town[mv] = 0
    placed = hh.placement[mv] == dest[mv]
    hh.stable_job[mv] = placed
    hh.job_years[mv] = 0
    hh.employed[mv] = np.where(to_town, np.where(placed, np.maximum(hh.workers[mv], 1), hh.employed[mv]), 0)
    owns = hh.owned_town[mv] == dest[mv]
    hh.tenure[mv] = np.where(~to_town, VILLAGE_HOME, np.where(owns, OWNED, np.where(placed, DORM, RENTED)))
    hh.kids_with[mv] = 0

    st = np.flatnonzero(settling)
    hh.hukou[st] = dest[st]
    hh.hukou_urban[st] = True
    hh.settled_year[st] = m.year
    hh.kids_with[st] = hh.kids_school[st]
    m.settled_now = st

    persons_after = hh.persons_at_place(T)
    returned = moving & (dest == home)
    migrated = moving & (old_place == home) & ~settling
    moved = moving & (dest != home) & (old_place != home) & ~settling
    origin_of_flow = np.where(settling, np.where(old_hukou >= 0, old_hukou, old_place), old_place)
    persons = np.where(returned, persons_before, persons_after)
    for mask, kind in ((returned, RETURNED), (migrated, MIGRATED), (moved, MOVED), (settling, SETTLED)):
        idx = np.flatnonzero(mask)
        m.add_flows(origin_of_flow[idx], dest[idx], kind, persons[idx])
    m.year_counts["migrated_persons"] = persons_after[migrated].sum() * m.scale
    m.year_counts["returned_persons"] = persons_before[returned].sum() * m.scale
    m.year_counts["settled_households"] = st.size * m.scale
    m.year_counts["settled_persons"] = hh.size()[st].sum() * m.scale


def reserved_jobs(m: SettlementModel, u: np.ndarray) -> None:
    """Jobs reserved for rural migrants in each town go, in priority order, to non-hukou
    residents without a stable job; they gain a labour contract."""
    hh, T = m.hh, m.T
    jobs = m.levers.col("jobs", "reserved_jobs")
    if jobs.sum() == 0:
        return
    cand = np.flatnonzero(hh.migrant(T) & ~hh.stable_job & (hh.workers > 0))
    ok = ration(hh.place[cand], priority_rank(m, cand), u[cand], np.full(cand.size, m.scale), jobs)
    got = cand[ok]
    hh.stable_job[got] = True
    hh.employed[got] = np.maximum(hh.employed[got], 1)
    m.year_counts["reserved_jobs_filled"] = got.size * m.scale


def public_rental(m: SettlementModel, u: np.ndarray) -> None:
    """Free public rental units go to eligible applicants in priority order; the rest queue."""
    hh, T = m.hh, m.T
    in_town = hh.town_dweller(T)
    tenants = in_town & (hh.tenure == PUBLIC_RENTAL)
    used = np.bincount(hh.place[tenants], minlength=T) * m.scale
    free = np.maximum(m.rental_units - used, 0.0)
    cand = np.flatnonzero(in_town & ~tenants & (hh.owned_town != hh.place))
    hukou_here = hh.hukou_urban[cand] & (hh.hukou[cand] == hh.place[cand])
    elig = decision.public_rental_eligible(hh, cand, m.context(), hukou_here, here_only=True)
    cand = cand[elig]
    ok = ration(hh.place[cand], priority_rank(m, cand), u[cand], np.full(cand.size, m.scale), free)
    hh.tenure[cand[ok]] = PUBLIC_RENTAL
    m.rental_queue = np.bincount(hh.place[cand[~ok]], minlength=T) * m.scale
    applicants = np.bincount(hh.place[cand], minlength=T) * m.scale
    m.rental_access = np.where(applicants > 0, np.bincount(hh.place[cand[ok]], minlength=T) * m.scale
                               / np.maximum(applicants, 1e-9), 1.0)


def school_seats(m: SettlementModel, u: np.ndarray, tiebreak: np.ndarray) -> None:
    """Public school seats in each town go first to hukou children (and, where enrolment is
    based on the residence permit, to permit holders' children alike), then to children already
    enrolled, then to non-hukou children admitted under the admission share, in priority order.
    A native migrant's child without a seat is left behind in the village."""
    hh, T, lv = m.hh, m.T, m.levers
    rows = np.flatnonzero(hh.town_dweller(T) & (hh.kids_school > 0))
    town = hh.place[rows]
    hukou = hh.hukou_urban[rows] & (hh.hukou[rows] == town)
    permit = decision.has_permit(hh, rows, m.context(), here_only=True)
    permit_basis = lv.is_("schools", "enrolment_basis", "residence_permit")[town]
    as_hukou = hukou | (permit_basis & permit)
    incumbent = hh.public_seat[rows] & (hh.years_in_town[rows] > 0)
    admitted = as_hukou | incumbent | (u[rows] < lv.col("schools", "nonhukou_admission_share")[town])
    rank = priority_rank(m, rows).astype(np.int32) + 2
    rank = np.where(as_hukou, 0, np.where(incumbent, 1, rank))
    kids = hh.kids_school[rows].astype(np.float64) * m.scale
    want = rows[admitted]
    ok = ration(town[admitted], rank[admitted], tiebreak[want], kids[admitted], m.seats)
    seated = np.zeros(hh.n, dtype=bool)
    seated[want[ok]] = True
    hh.public_seat[:] = seated
    native_migrant = ~hh.hukou_urban & hh.native
    hh.kids_with[rows] = np.where(seated[rows] | ~native_migrant[rows], hh.kids_school[rows], 0)
    demand = np.bincount(town[admitted], weights=kids[admitted], minlength=T)
    m.seats_used = np.bincount(town[admitted][ok], weights=kids[admitted][ok], minlength=T)
    m.seat_shortfall = demand - m.seats_used
    m.seat_access = np.where(demand > 0, m.seats_used / np.maximum(demand, 1e-9), 1.0)
    migrant_kids = ~hukou[admitted][ok]
    m.migrant_pupils = np.bincount(town[admitted][ok][migrant_kids],
                                   weights=kids[admitted][ok][migrant_kids], minlength=T)


# ---------------------------------------------------------------------------------------------
# 6. Rights
# ---------------------------------------------------------------------------------------------


def rights(m: SettlementModel) -> None:
    """Settled native households surrender a right where the policy demands it (with the
    compensation a paid exit gives), or exit it voluntarily where a paid exit is offered and the
    compensation beats keeping it. A homestead exit may be paid as a housing voucher (房票)
    worth more than cash, added to savings for buying a home."""
    hh, lv, beh = m.hh, m.levers, m.behaviour
    rng = m.stream("rights")
    u = rng.random((hh.n, 3), dtype=np.float32)
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
        voluntary = held & ~forced & rule.paid_exit & (u[rows, k] < p)
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
    settlers = np.bincount(hh.place[settled], weights=hh.size()[settled], minlength=T) * m.scale
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

    residents = np.bincount(hh.place[hh.place < T], weights=hh.persons_at_place(T)[hh.place < T],
                            minlength=T) * m.scale
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


def reclassify(m: SettlementModel) -> None:
    """In-situ urbanisation. A rural community whose non-farm employment share (of the workers
    registered there) passes the threshold becomes urban (村改居): its residents count as urban
    and the rural-hukou households living there take local urban hukou — this year, and in later
    years those who come home to it. Urban-village (城中村) households living in their village
    are converted to urban hukou at the scheduled yearly share."""
    hh, T, lv = m.hh, m.T, m.levers
    rng = m.stream("reclassify")
    u = rng.random(hh.n, dtype=np.float32)
    before = hh.place.copy()
    m.nonfarm += m.behaviour.local_nonfarm_growth * (1.0 - m.nonfarm)
    converted = np.zeros(hh.n, dtype=bool)
    if lv.in_situ.reclassify:
        for j in np.flatnonzero(m.places.tier == RURAL_COMMUNITY):
            members = (hh.hukou == j) & ~hh.hukou_urban
            if not m.places.urban[j]:
                away = members & (hh.place != j) & (hh.place < T) & (hh.employed > 0)
                share = (away.sum() + m.nonfarm[j] * (members & ~away).sum()) / max(members.sum(), 1)
                m.community_nonfarm[j] = share
                if share > lv.in_situ.nonfarm_threshold:
                    m.places.urban[j] = True
            if m.places.urban[j]:
                converted |= members & (hh.place == j)  # residents are converted where they live
    village_conv = np.zeros(hh.n, dtype=bool)
    conv_share = lv.in_situ.urban_village_conversion_share
    if conv_share > 0:
        for v in np.flatnonzero(m.urban_village_town >= 0):
            members = (hh.hukou == v) & ~hh.hukou_urban & (hh.place == v) & (u < conv_share)
            town = m.urban_village_town[v]
            hh.hukou[members] = town
            hh.place[members] = town
            hh.owned_town[members] = town  # the rebuilt village house is their home in town
            village_conv |= members
    m.year_counts["urban_village_converted_persons"] = hh.size()[village_conv].sum() * m.scale
    converted |= village_conv
    idx = np.flatnonzero(converted)
    hh.hukou_urban[idx] = True
    hh.tenure[idx] = OWNED
    hh.owned_town[idx] = hh.place[idx]
    hh.settled_year[idx] = m.year
    hh.kids_with[idx] = hh.kids_school[idx]
    m.add_flows(before[idx], hh.place[idx], RECLASSIFIED, hh.size()[idx])
    m.year_counts["reclassified_persons"] = hh.size()[idx].sum() * m.scale


# ---------------------------------------------------------------------------------------------
# 8. Record
# ---------------------------------------------------------------------------------------------


def record(m: SettlementModel) -> None:
    """Append the year's metrics, settlement by group, town table and flows (DESIGN §6)."""
    from sim.outputs import record_year

    record_year(m)
