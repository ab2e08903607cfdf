"""Stage 5, capacity: settlement quota, moves, reserved jobs, public rental and school seats,
rationed in the policy's priority order; the refused take their next-best alternative."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.configuration import MIGRATED, MOVED, RETURNED, SETTLED
from sim.engine.compiled import (
    BLOCK,
    at,
    chunk,
    n_blocks,
    n_chunks,
    njit,
    persons_here,
    prange,
    slot_uniform,
    town_values,
    uniform,
)
from sim.engine.decision import (
    admission_share,
    private_school_share,
    support_income_limit,
)
from sim.engine.rationing import (
    per_town_capacity,
    priority_rank,
    ration,
    reserved_vacancies,
)
from sim.world.households import DORM, OWNED, PUBLIC_RENTAL, RENTED, VILLAGE_HOME

if TYPE_CHECKING:
    from sim.engine.model import SettlementModel


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
        # one quota per town (the ``hukou`` rules'); each class of outsiders' own quota caps its
        # part of it (from another province: ``hukou_outsiders``; same province: ``hukou_province``)
        rank, w = priority_rank(m, rows), hh.size(rows) * m.scale
        tie = slot_uniform(key, rows, CAPACITY_SLOTS, 0)
        served = np.ones(rows.size, dtype=bool)
        for group, cls in (("hukou_outsiders", ~hh.native[rows] & ~hh.same_province[rows]),
                           ("hukou_province", hh.same_province[rows])):
            if cls.any():
                served[cls] = ration(town[cls], rank[cls], tie[cls], w[cls],
                                     per_town_capacity(lv.col(group, "annual_quota")))
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
          kids_pre, kids_school, kids_with, insurance_years, years_in_town, placement, reserved_offer,
          reserved_job, stable_job, job_years, employed, owned_town, tenure, settled_year, kind,
          flow_origin, persons):
    """Per household that decided (``rows``): move to the chosen place (a new town job is a
    placement's stable job or the old employment, and a post of the town's reserve of jobs if
    the placement offered one; a post held elsewhere is left; housing is owned, a dormitory with
    a placement, or rented; insurance years are kept only between towns where both make them
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
            reserved_job[h] = placed & reserved_offer[h]
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
    held = hh.reserved_job[rows]
    _move(rows, want, T, m.year, m.levers.col("services", "insurance_portable"), hh.place, hh.hukou,
          hh.hukou_urban, hh.origin, hh.native, hh.workers, hh.elders, hh.kids_pre, hh.kids_school,
          hh.kids_with, hh.insurance_years, hh.years_in_town, hh.placement, hh.reserved_offer,
          hh.reserved_job, hh.stable_job, hh.job_years, hh.employed, hh.owned_town, hh.tenure,
          hh.settled_year, kind, flow_origin, persons)
    # villagers who came to take a reserved post they were offered
    m.year_counts["reserved_jobs_filled"] += np.count_nonzero(hh.reserved_job[rows] & ~held) * k
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
    """The posts of each town's standing reserve of jobs still vacant after the year's moves (the
    offers villagers did not take, :func:`sim.engine.stages.s1_labour.reserved_offers`) go, in
    priority order, to non-hukou residents without a stable job, this year's arrivals included;
    they gain a labour contract and hold the post."""
    hh, T = m.hh, m.T
    if m.levers.col("jobs", "reserved_jobs").sum() == 0:
        return
    vacant = reserved_vacancies(m)
    cand = np.flatnonzero(hh.migrant(T) & ~hh.stable_job & (hh.workers > 0))
    ok = ration(hh.place[cand], priority_rank(m, cand, goods=True), slot_uniform(key, cand, CAPACITY_SLOTS, 1),
                np.full(cand.size, m.scale), vacant)
    got = cand[ok]
    hh.stable_job[got] = True
    hh.employed[got] = np.maximum(hh.employed[got], 1)
    hh.reserved_job[got] = True
    m.year_counts["reserved_jobs_filled"] += got.size * m.scale


@njit(cache=True, parallel=True)
def _rental_applicants(T, place, hukou, hukou_urban, native, same_province, tenure, owned_town,
                       stable_job, job_years, income, workers, elders, kids_pre, kids_school, rules,
                       tenants, out):
    """Per town dweller: a public-rental tenant (counted per town, in chunks), or an applicant
    who may apply in its town (:func:`sim.engine.decision.public_rental_eligible`): not owning a home
    there, with an income per person within the town's income test, and holding hukou there or,
    where units are open to residents, with enough years of stable work (natives only, or natives
    and same-province outsiders only, where so restricted)."""
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
                origin = native[h] | ((town[2, i] == 0) & ((town[4, i] == 0) | same_province[h]))
                resident_ok = (town[0, i] > 0) & stable_job[h] & (job_years[h] >= town[1, i]) & origin
                persons = max(int(workers[h]) + int(elders[h]) + int(kids_pre[h]) + int(kids_school[h]), 1)
                need = float(income[h]) / persons <= town[3, i]
                out[h] = (dweller & (tenure[h] != PUBLIC_RENTAL) & (owned_town[h] != j) & need
                          & (resident_ok | (hukou_urban[h] & (hukou[h] == j))))
            for i in range(size):
                tenants[c, min(place[at(lo, i)], T - 1)] += tenant[i]


def rental_rules(lv) -> np.ndarray:
    """[5, towns]: public rental open to residents (0/1), the years of stable work it requires
    of them, natives only (0/1), the income limit per person of housing security (+inf: none),
    natives and same-province outsiders only (0/1)."""
    return np.stack([lv.is_("housing", "public_rental_open_to", "residents").astype(np.float64),
                     lv.col("housing", "public_rental_min_job_years").astype(np.float64),
                     lv.col("housing", "public_rental_natives_only").astype(np.float64),
                     support_income_limit(lv),
                     lv.col("housing", "public_rental_province_only").astype(np.float64)])


def public_rental(m: SettlementModel, key: np.uint64) -> None:
    """Free public rental units go to eligible applicants in priority order; the rest queue."""
    hh, T, lv = m.hh, m.T, m.levers
    tenants = np.zeros((n_chunks(), T))
    applicant = np.empty(hh.n, dtype=np.bool_)
    _rental_applicants(T, hh.place, hh.hukou, hh.hukou_urban, hh.native, hh.same_province, hh.tenure,
                       hh.owned_town, hh.stable_job, hh.job_years, hh.income, hh.workers, hh.elders,
                       hh.kids_pre, hh.kids_school, rental_rules(lv), tenants, applicant)
    free = np.maximum(m.rental_units - tenants.sum(axis=0) * m.scale, 0.0)
    cand = np.flatnonzero(applicant)
    town = hh.place[cand]
    ok = ration(town, priority_rank(m, cand, goods=True), slot_uniform(key, cand, CAPACITY_SLOTS, 2),
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
    enrolled, then to non-hukou children admitted under the admission share (raised by operating
    money that follows them: :func:`sim.engine.decision.admission_share`), in priority order.
    A native migrant's child without a seat is left behind in the village, unless a subsidised
    private school takes it (:func:`sim.engine.decision.private_school_share`)."""
    hh, T, lv = m.hh, m.T, m.levers
    pupils = np.empty(hh.n, dtype=np.bool_)
    _pupils(T, hh.place, hh.hukou, hh.hukou_urban, hh.kids_school, pupils)
    rows = np.flatnonzero(pupils)
    claim = np.empty(rows.size, dtype=np.int16)
    _seat_classes(key, rows, hh.place, hh.hukou, hh.hukou_urban, hh.public_seat, hh.years_in_town,
                  lv.col("services", "permit_min_years").astype(np.float64),
                  lv.is_("schools", "enrolment_basis", "residence_permit"),
                  admission_share(lv).astype(np.float64), claim)
    admitted = claim != SEAT_NOT_ADMITTED
    want = rows[admitted]
    rank = claim[admitted]
    newcomer = rank == SEAT_NEWCOMER
    rank[newcomer] = priority_rank(m, want[newcomer], goods=True) + SEAT_NEWCOMER
    town = hh.place[want].astype(np.intp)
    kids = hh.kids_school[want].astype(np.float64) * m.scale
    ok = ration(town, rank, slot_uniform(key, want, CAPACITY_SLOTS, 4), kids, m.seats)
    seated = want[ok]
    hh.public_seat[:] = False
    hh.public_seat[seated] = True
    # children without a seat stay in the village (native migrants) or attend a private school
    # (outsiders; natives where a subsidised private school takes them: a draw of the schools
    # stream against the town's private-school share)
    native_migrant = ~hh.hukou_urban[rows] & hh.native[rows]
    unseated = ~hh.public_seat[rows]
    private = native_migrant & unseated & (
        slot_uniform(m.key("schools"), rows, 1, 0) < private_school_share(lv)[hh.place[rows]])
    hh.kids_with[rows] = np.where(hh.public_seat[rows] | ~native_migrant | private, hh.kids_school[rows], 0)
    at_private = unseated & ~hh.hukou_urban[rows] & (~hh.native[rows] | private)  # non-hukou pupils
    m.private_pupils = np.bincount(hh.place[rows], weights=hh.kids_school[rows] * at_private * m.scale,
                                   minlength=T)
    demand = np.bincount(town, weights=kids, minlength=T)
    m.seats_used = np.bincount(town, weights=kids * ok, minlength=T)
    m.seat_shortfall = demand - m.seats_used
    m.seat_access = np.where(demand > 0, m.seats_used / np.maximum(demand, 1e-9), 1.0)
    migrant_kids = ok & ~(hh.hukou_urban[want] & (hh.hukou[want] == town))
    m.migrant_pupils = np.bincount(town, weights=kids * migrant_kids, minlength=T)


