"""The compiled twin of :mod:`sim.engine.decision`.


:mod:`sim.engine.decision` is the specification of the decision rule: readable numpy terms, one per
named utility component. This module computes exactly the same utilities in one compiled pass
per household (numba), with no [rows, alternatives] temporaries, and draws the choice noise from
a counter-based generator: the Gumbel noise of household ``h``, alternative ``a`` in a year is a
hash of (seed, replication, year, h, a). Draws therefore exist only for the households that
decide, yet stay identical whatever the policy (common random numbers).

``SettlementModel(engine="numpy")`` runs the specification itself (same noise, via
:func:`counter_uniform`); ``tests/test_kernels.py`` checks that both engines give identical
outputs. If numba is not installed, the model falls back to the numpy engine.
"""

from __future__ import annotations

import math

import numpy as np

from sim.engine.compiled import chunk, exp, gumbel, log, n_chunks, njit, prange
from sim.engine.levers import SURRENDERED
from sim.world.households import PUBLIC_RENTAL


# Household arrays r[0..23], full length, in the order :func:`pack` lists them: place, hukou,
# origin, kin, workers, skill, placement, land_mu, land_exited, dividend, collective_exited,
# kids_school, native, elders, kids_pre, birth_year, head_age, insurance_years, years_in_town,
# owned_town, tenure, stable_job, job_years, income, same_province. Row k of a call is household
# rows[k]; ``eligible`` and ``lost`` (rights lost by settling) are per row. The town table ``t``
# is [25, towns]: one lever or town quantity per row (see :func:`pack`), contiguous over towns.
@njit(cache=True, inline="always", error_model="numpy")
def _row(h, lost, r, s):
    """The town-independent quantities of household h that :func:`_resident` and
    :func:`_settled` need (computed once per row)."""
    (b_inc, b_house, b_school, b_lb, b_exam, b_serv, b_rights, skill_premium, farm_pm, local_nf,
     agri_pm, rent_pm, rural, land_rental, b_hk_kids, b_hk_newgen, b_hk_age,
     b_hk_ins, b_hk_owner) = s
    ld = _land(h, r)
    dv = _dividend(h, r)
    subsidy = ld * agri_pm
    land_rent = ld * rent_pm * rural * land_rental
    nat = r[12][h]
    kd = float(r[11][h])
    # the household's own part of the value of hukou (decision.household_hukou_value)
    hk = (b_hk_kids * kd + (b_hk_newgen if r[15][h] >= 1980 else 0.0)
          - b_hk_age * max(float(r[16][h]) - 40.0, 0.0))
    sz = _size(h, r)
    return (r[0][h], float(r[4][h]) * (1.0 + skill_premium * float(r[5][h])), r[6][h],
            land_rent + dv + subsidy, land_rent, subsidy,
            sz, nat, r[18][h], r[19][h], r[20][h] == PUBLIC_RENTAL,
            r[21][h], float(r[22][h]), kd, (b_lb if nat else 0.0), lost, hk,
            b_hk_ins * float(r[17][h]), float(r[23][h]) / sz, dv, r[24][h])


@njit(cache=True, inline="always")
def _land(h, r):
    mu = float(r[7][h])  # (loaded first: a load under a condition stops vectorisation)
    return 0.0 if r[8][h] else mu


@njit(cache=True, inline="always")
def _dividend(h, r):
    dividend = float(r[9][h])
    return 0.0 if r[10][h] else dividend


@njit(cache=True, inline="always")
def _size(h, r):
    return float(max(r[4][h] + r[13][h] + r[14][h] + r[11][h], 1))


@njit(cache=True, inline="always", error_model="numpy")
def _wage(j, h, t):
    """Expected wage income of a row (town-independent part ``h``) at town j."""
    return h[1] * t[0, j] * (1.0 if h[2] == j else t[1, j])


@njit(cache=True, inline="always", error_model="numpy")
def _resident(j, h, t, s):
    """The terms of a row's utility of living at town j without its hukou that differ from
    settling there: income, housing, schooling and services (as :mod:`sim.engine.decision`). Written
    without branches (only selects), so that a loop over towns is vectorised."""
    (b_inc, b_house, b_school, b_lb, b_exam, b_serv, b_rights, skill_premium, farm_pm, local_nf,
     agri_pm, rent_pm, rural, land_rental, b_hk_kids, b_hk_newgen, b_hk_age,
     b_hk_ins, b_hk_owner) = s
    (pl, w_skill, placement, away, _land_rent, _subsidy_rural, sz, nat, years, owned_town, tenant,
     job_ok, job_years, kd, lbn, lost, hk, ins, per_person, _dv, prov) = h
    here = pl == j
    inc = max(_wage(j, h, t) + away, 1000.0)
    permit = (years if here else 0) >= t[5, j]
    need = per_person <= t[20, j]  # the income test of housing security
    # public rental open to residents with a stable job held long enough (natives only, or natives
    # and same-province outsiders only, if so set: decision.origin_ok)
    origin = nat | ((t[17, j] < 0.5) & ((t[23, j] < 0.5) | prov))
    res_ok = (t[15, j] > 0.5) & job_ok & (job_years >= t[16, j]) & origin & need
    p_rental = 1.0 if (tenant & here) else (t[4, j] if res_ok else 0.0)
    subsidy = t[11, j] if ((t[13, j] > 0.5) & permit & need) else 0.0
    cost = 0.0 if owned_town == j else max(t[2, j] * 12.0 * (1.0 - p_rental * t[14, j]) - subsidy, 0.0)
    access = (1.0 if ((t[8, j] > 0.5) & permit) else t[7, j]) * t[3, j]
    exam = 0.0 if t[9, j] > 0.5 else b_exam * access
    school = kd * (b_school * access - lbn * (1.0 - access) * t[24, j] - exam)
    serv = b_serv * t[6, j] if permit else 0.0
    return b_inc * log(inc / sz) - b_house * cost / inc + school + serv


@njit(cache=True, inline="always", error_model="numpy")
def _settled(j, h, t, s):
    """The same terms for settling at town j (with its hukou), plus the rights lost and the
    value of hukou (the town's part, the household's, insurance where not portable, and a home
    owned there)."""
    (b_inc, b_house, b_school, b_lb, b_exam, b_serv, b_rights, skill_premium, farm_pm, local_nf,
     agri_pm, rent_pm, rural, land_rental, b_hk_kids, b_hk_newgen, b_hk_age,
     b_hk_ins, b_hk_owner) = s
    (pl, w_skill, placement, away, land_rent, subsidy_rural, sz, nat, years, owned_town, tenant,
     job_ok, job_years, kd, lbn, lost, hk, ins, per_person, dv, _prov) = h
    # the rights kept where one settles in town j (an outsider's lie outside the region: the
    # national rule keeps them)
    lk = t[21, j] if nat else 1.0
    ck = t[22, j] if nat else 1.0
    settled_kept = land_rent * lk + dv * ck
    inc = max(_wage(j, h, t) + settled_kept + (subsidy_rural * lk if t[10, j] > 0.5 else 0.0), 1000.0)
    need = per_person <= t[20, j]  # the income test of housing security
    p_rental = 1.0 if (tenant & (pl == j)) else (t[4, j] if need else 0.0)
    subsidy = ((t[11, j] if t[12, j] > 0.5 else 0.0) + (t[11, j] if t[13, j] > 0.5 else 0.0)) if need else 0.0
    cost = 0.0 if owned_town == j else max(t[2, j] * 12.0 * (1.0 - p_rental * t[14, j]) - subsidy, 0.0)
    access = t[3, j]
    school = kd * (b_school * access - lbn * (1.0 - access) * t[24, j])
    return (b_inc * log(inc / sz) - b_house * cost / inc + school + b_serv
            - b_rights * log(1.0 + lost / inc) + t[18, j] + hk + ins * t[19, j]
            + (b_hk_owner if owned_town == j else 0.0))


@njit(cache=True, parallel=True, error_model="numpy")
def choose(key, rows, r, eligible, lost, t, g, s, want_out, fallback_out, draw_noise, nc):
    """For each row: the utilities of all alternatives (as :func:`sim.engine.decision.utilities`),
    plus counter-based Gumbel noise when ``draw_noise``; writes the best alternative and the
    best alternative without settling (for when the quota runs out)."""
    portable, c_town, urban, dist_term, network = g
    (b_inc, b_house, b_school, b_lb, b_exam, b_serv, b_rights, skill_premium, farm_pm, local_nf,
     agri_pm, rent_pm, rural, land_rental, b_hk_kids, b_hk_newgen, b_hk_age,
     b_hk_ins, b_hk_owner, b_dist, b_net, b_kin, b_newgen, b_age, b_move, b_ins) = s
    s_core = (b_inc, b_house, b_school, b_lb, b_exam, b_serv, b_rights, skill_premium, farm_pm,
              local_nf, agri_pm, rent_pm, rural, land_rental, b_hk_kids,
              b_hk_newgen, b_hk_age, b_hk_ins, b_hk_owner)
    T = c_town.size
    A = 1 + 2 * T
    for c in prange(nc):  # blocks of rows, each with its own scratch row of utilities
        lo, hi = chunk(c, nc, rows.size)
        v = np.empty(T)  # utilities of living in each town without its hukou
        for k in range(lo, hi):
            hh = rows[k]
            base = np.uint64(hh) * np.uint64(A)
            pl = r[0][hh]
            org = r[2][hh]
            hm = r[1][hh] if r[1][hh] >= 0 else org
            nat = r[12][hh]
            in_town = pl < T
            ins_loss = b_ins * float(r[17][hh]) if in_town else 0.0
            gen = b_newgen * (1.0 if r[15][hh] >= 1980 else 0.0) - b_age * max(float(r[16][hh]) - 45.0, 0.0)
            here_portable = in_town and portable[min(pl, T - 1)]
            h = _row(hh, lost[k], r, s_core)
            kin_pl = r[0][r[3][hh]] if r[3][hh] >= 0 else -1
            for j in range(T):  # terms shared by living in town j with or without its hukou
                move = 0.0 if pl == j else b_move + (0.0 if (here_portable & portable[j]) else ins_loss)
                v[j] = ((dist_term[hm, j] if nat else 0.0) + b_net * network[org, j]
                        + (b_kin if kin_pl == j else 0.0) + gen - move + c_town[j])
            settle = in_town and urban[min(pl, T - 1)] and eligible[k]
            v_settle = _settled(pl, h, t, s_core) + v[pl] if settle else -np.inf
            for j in range(T):  # living there without its hukou (unavailable in one's home town)
                v[j] = _resident(j, h, t, s_core) + v[j] if hm != j else -np.inf
            best = -np.inf
            best_a = 0
            if nat:  # alternative 0: home
                ld = _land(hh, r)
                farm = ld * farm_pm * rural + float(r[4][hh]) * local_nf * rural
                best = b_inc * math.log(max(farm + ld * agri_pm + _dividend(hh, r), 1000.0) / _size(hh, r))
                if hm != pl:
                    best -= b_move + ins_loss
            if draw_noise:
                if nat:
                    best += gumbel(key, base)
                for j in range(T):
                    v[j] += gumbel(key, base + np.uint64(1 + j))
                if settle:
                    v_settle += gumbel(key, base + np.uint64(1 + T + pl))
            for j in range(T):  # the first best (selects: the winner is random, a branch mispredicts)
                better = v[j] > best
                best_a = 1 + j if better else best_a
                best = v[j] if better else best
            fallback_out[k] = best_a
            want_out[k] = 1 + T + pl if v_settle > best else best_a


@njit(cache=True, parallel=True, error_model="numpy")
def intention(rows, r, lost, t, g, s, out):
    """Settlement intention of each row (a non-hukou town resident): the binary logit of
    settling in its town against staying there as a resident, on the same utilities."""
    urban = g[2]
    s_core = s[:19]
    for k in prange(rows.size):  # the utility differences (a loop without branches: vectorised)
        h = rows[k]
        j = r[0][h]
        hk = _row(h, lost[k], r, s_core)
        hukou, origin, urban_j = r[1][h], r[2][h], urban[j]
        diff = _settled(j, hk, t, s_core) - _resident(j, hk, t, s_core)
        # an alternative is unavailable: -50 as the specification does
        out[k] = diff if ((hukou if hukou >= 0 else origin) != j) & urban_j else -50.0
    for k in prange(rows.size):
        out[k] = 1.0 / (1.0 + exp(-out[k]))


def pack(hh, rows, ctx):
    """The kernels' inputs from the household arrays and a Context: household arrays (not
    copied), the rights each row would lose by settling, per-town arrays, global arrays and
    scalars."""
    from sim.engine.decision import (
        admission_share,
        private_school_share,
        rights_lost_on_settling,
        support_income_limit,
        town_hukou_value,
    )

    lv, beh, eco, ts, places = ctx.levers, ctx.behaviour, ctx.economy, ctx.towns, ctx.places
    T = places.n_towns
    bonus = {"central_city": beh.tier_bonus_central_city, "sub_center": beh.tier_bonus_sub_center,
             "small_town": beh.tier_bonus_small_town, "rural_community": beh.tier_bonus_rural_community}
    c_town = np.array([beh.asc_town + bonus[places.tier_name(j)] for j in range(T)])
    r = (hh.place, hh.hukou, hh.origin, hh.kin, hh.workers, hh.skill, hh.placement, hh.land_mu,
         hh.land_exited, hh.dividend, hh.collective_exited, hh.kids_school, hh.native, hh.elders,
         hh.kids_pre, hh.birth_year, hh.head_age, hh.insurance_years, hh.years_in_town,
         hh.owned_town, hh.tenure, hh.stable_job, hh.job_years, hh.income, hh.same_province)
    lost = rights_lost_on_settling(hh, rows, ctx).astype(np.float64)
    col, is_ = lv.col, lv.is_
    t = np.stack([np.asarray(c, dtype=np.float64) for c in (
        ts.wage.astype(np.float64), ts.employment_rate.astype(np.float64), ts.rent.astype(np.float64),
        ts.seat_access.astype(np.float64), ts.rental_access.astype(np.float64),
        col("services", "permit_min_years").astype(np.float64), col("services", "permit_coverage"),
        admission_share(lv), is_("schools", "enrolment_basis", "residence_permit"),
        col("schools", "local_exam_nonhukou"), col("services", "agri_subsidies_kept"),
        col("housing", "rental_subsidy_yuan") * col("housing", "rental_subsidy_takeup"),
        is_("housing", "rental_subsidy_to", "hukou"),
        is_("housing", "rental_subsidy_to", "permit"), 1.0 - col("housing", "public_rental_rent_share"),
        is_("housing", "public_rental_open_to", "residents"),
        col("housing", "public_rental_min_job_years"), col("housing", "public_rental_natives_only"),
        town_hukou_value(ctx), ~col("services", "insurance_portable"), support_income_limit(lv),
        lv.on_settle("land") != SURRENDERED, lv.on_settle("collective") != SURRENDERED,
        col("housing", "public_rental_province_only"), 1.0 - private_school_share(lv),
    )])  # [25, towns]: one lever or town quantity per row
    g = (col("services", "insurance_portable"), c_town, places.urban[:T].copy(),
         -float(beh.beta_distance) * np.log1p(places.km.astype(np.float64)), ts.network.astype(np.float64))
    s = (beh.beta_income, beh.beta_housing, beh.beta_school, beh.beta_left_behind, beh.beta_exam,
         beh.beta_services, beh.beta_rights, beh.skill_premium,
         eco.farm_income_per_mu, eco.local_nonfarm_income, eco.agri_subsidy_per_mu,
         eco.land_rent_per_mu, float(ts.rural_income_index), float(lv.rights.land_rental),
         beh.beta_hukou_children, beh.beta_hukou_new_generation, beh.beta_hukou_age,
         beh.beta_hukou_insurance, beh.beta_hukou_owner, beh.beta_distance, beh.beta_network, beh.beta_kin, beh.beta_new_generation, beh.beta_age,
         beh.beta_move, beh.beta_insurance_loss)
    s = tuple(float(x) for x in s)
    return r, lost, t, g, s


def choose_rows(hh, rows: np.ndarray, ctx, eligible: np.ndarray, key: np.uint64,
                draw_noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Best alternative and best non-settle alternative of each row (compiled)."""
    r, lost, t, g, s = pack(hh, rows, ctx)
    want = np.empty(rows.size, dtype=np.int16)
    fallback = np.empty(rows.size, dtype=np.int16)
    choose(key, rows.astype(np.int64), r, np.ascontiguousarray(eligible, dtype=np.bool_), lost, t, g, s,
           want, fallback, draw_noise, n_chunks())
    return want, fallback


def intention_rows(hh, rows: np.ndarray, ctx) -> np.ndarray:
    """Settlement intention of each row (compiled); see :func:`sim.engine.decision.settlement_intention`."""
    r, lost, t, g, s = pack(hh, rows, ctx)
    out = np.empty(rows.size, dtype=np.float64)
    intention(rows.astype(np.int64), r, lost, t, g, s, out)
    return out
