"""Hukou eligibility (DESIGN §3 step 3, §4 hukou entry): may household h take hukou in town j?

All of a town's entry conditions are evaluated here, for natives with ``hukou`` rules and for
outsiders with ``hukou_outsiders`` rules (natives' rules plus the outsiders' overrides).
"""

from __future__ import annotations

import numpy as np

from sim.config import GROUPS
from sim.households import PUBLIC_RENTAL, RENTED, Households
from sim.kernels import njit, prange
from sim.levers import Levers


@njit(cache=True, inline="always")
def _membership(h, place, years_in_town, kids_with, kids_school, elders, native, graduate, veteran,
                birth_year, long_years, n_towns):
    """The priority groups the documents name that household h belongs to, one bit each in the
    order of ``GROUPS``: students (student route), soldiers (veterans), residents of
    ``long_years`` or more in town, whole-family migrants (school-age children with them and no
    elders left at home), and the new generation (born 1980 or later)."""
    in_town = place[h] < n_towns
    return (graduate[h] * 1  # students
            + veteran[h] * 2  # soldiers
            + (in_town and years_in_town[h] >= long_years) * 4  # long_resident
            + (in_town and kids_with[h] == kids_school[h] and (elders[h] == 0 or not native[h])) * 8
            + (birth_year[h] >= 1980) * 16)  # new_generation


@njit(cache=True, parallel=True)
def _ranks(rows, order_bits, place, years_in_town, kids_with, kids_school, elders, native, graduate,
           veteran, birth_year, long_years, n_towns, out):
    for i in prange(rows.size):
        member = _membership(rows[i], place, years_in_town, kids_with, kids_school, elders, native,
                             graduate, veteran, birth_year, long_years, n_towns)
        rank = order_bits.size
        for r in range(order_bits.size):
            if (member >> order_bits[r]) & 1:
                rank = r
                break
        out[i] = rank


def priority_ranks(hh: Households, rows: np.ndarray, order: tuple[str, ...] | list[str],
                   long_years: int, n_towns: int) -> np.ndarray:
    """Rank of each row in a priority ``order`` of groups: the first group listed that it belongs
    to (0 = first), ``len(order)`` if none. int16 per row."""
    out = np.empty(rows.size, dtype=np.int16)
    _ranks(np.asarray(rows, dtype=np.int64), np.array([GROUPS.index(g) for g in order], dtype=np.int64),
           hh.place, hh.years_in_town, hh.kids_with, hh.kids_school, hh.elders, hh.native,
           hh.graduate, hh.veteran, hh.birth_year, long_years, n_towns, out)
    return out


# The columns of a rule table: one row per town, the levers of one rule group (``hukou`` for
# natives, ``hukou_outsiders`` for outsiders), switches as 0/1.
(OPEN, RENTAL_COUNTS, RESIDENCE, JOB, COMBINE_AND, PURCHASE_REQUIRED, MIN_FLOOR_AREA, MIN_YEARS,
 MIN_INSURANCE_YEARS, TAX_THRESHOLD, SKILL_MIN, TALENT_REQUIRED, TALENT_ROUTE, POINTS_THRESHOLD,
 KIN_GENERATIONS, EXEMPT_GROUPS, W_YEAR, W_INSURANCE, W_EDUCATION, W_SKILL, W_HOME, W_JOB) = range(22)


def rule_table(levers: Levers, group: str) -> np.ndarray:
    """[towns, 22] float table of ``group``'s entry conditions (columns named above)."""
    def col(name: str) -> np.ndarray:
        return levers.col(group, name).astype(np.float64)

    def is_(name: str, value: str) -> np.ndarray:
        return levers.is_(group, name, value).astype(np.float64)

    exempt = sum(levers.has_group(group, g).astype(np.float64) * (1 << bit) for bit, g in enumerate(GROUPS))
    w = [[m.points_weights.per_year_resident, m.points_weights.per_insurance_year,
          m.points_weights.per_education_level, m.points_weights.per_skill_level,
          m.points_weights.owns_home, m.points_weights.stable_job] for m in levers.per_town[group]]
    return np.column_stack([
        col("open"), col("rental_counts"), col("residence"), col("job"), is_("combine", "and"),
        col("purchase_required"), col("min_floor_area_m2"), col("min_years_resident"),
        col("min_insurance_years"), col("tax_threshold_yuan"), col("skill_min_level"),
        is_("talent", "required"), is_("talent", "route"), col("points_threshold"),
        col("kin_generations"), exempt, np.array(w, dtype=np.float64),
    ])


@njit(cache=True, parallel=True)
def _eligible(rows, natives, outsiders, home_area_m2, long_years, n_towns, place, native, owned_town,
              tenure, stable_job, employed, years_in_town, insurance_years, tax_paid, skill,
              education, kin, kin_gen, hukou_urban, hukou, kids_with, kids_school, elders, graduate,
              veteran, birth_year, out):
    """Per row: may the household take urban hukou in the town where it lives? Any one route
    suffices: the town is open; the basic conditions (residence and/or a stable job as the town
    combines them, a home purchase where required, years of residence and of insurance, talent
    where required); the talent route; the points route (积分); a group the town exempts;
    kin holding hukou there within the generations the town allows (投靠)."""
    for i in prange(rows.size):
        h = rows[i]
        j = place[h]
        r = natives[j] if native[h] else outsiders[j]
        owns = owned_town[h] == j
        renting = tenure[h] == RENTED or tenure[h] == PUBLIC_RENTAL
        residence_ok = owns or (renting and r[RENTAL_COUNTS] > 0)
        job_ok = stable_job[h] and employed[h] > 0
        use_res, use_job = r[RESIDENCE] > 0, r[JOB] > 0
        if use_res and use_job:
            combo = (residence_ok and job_ok) if r[COMBINE_AND] > 0 else (residence_ok or job_ok)
        elif use_res:
            combo = residence_ok
        elif use_job:
            combo = job_ok
        else:
            combo = True
        purchase_req = r[PURCHASE_REQUIRED] > 0
        purchase_ok = owns and home_area_m2 >= r[MIN_FLOOR_AREA]
        talent_ok = ((r[TAX_THRESHOLD] > 0 and tax_paid[h] >= r[TAX_THRESHOLD])
                     or (r[SKILL_MIN] > 0 and skill[h] >= r[SKILL_MIN]))
        basic = ((use_res or use_job or purchase_req) and combo
                 and years_in_town[h] >= r[MIN_YEARS] and insurance_years[h] >= r[MIN_INSURANCE_YEARS]
                 and (purchase_ok or not purchase_req) and (talent_ok or r[TALENT_REQUIRED] == 0))
        talent_route = r[TALENT_ROUTE] > 0 and talent_ok
        points_route = False
        if r[POINTS_THRESHOLD] > 0:
            score = (r[W_YEAR] * years_in_town[h] + r[W_INSURANCE] * insurance_years[h]
                     + r[W_EDUCATION] * education[h] + r[W_SKILL] * skill[h]
                     + r[W_HOME] * owns + r[W_JOB] * stable_job[h])
            points_route = score >= r[POINTS_THRESHOLD]
        exempt = False
        if r[EXEMPT_GROUPS] > 0:
            member = _membership(h, place, years_in_town, kids_with, kids_school, elders, native,
                                 graduate, veteran, birth_year, long_years, n_towns)
            exempt = (member & int(r[EXEMPT_GROUPS])) != 0
        k = kin[h]
        kin_ok = k >= 0 and hukou_urban[k] and hukou[k] == j and kin_gen[h] <= r[KIN_GENERATIONS]
        out[i] = r[OPEN] > 0 or basic or talent_route or points_route or exempt or kin_ok


def eligible(hh: Households, rows: np.ndarray, levers: Levers, home_area_m2: float) -> np.ndarray:
    """Boolean per row: may the household take urban hukou in the town where it lives this year
    (natives under ``hukou`` rules, outsiders under ``hukou_outsiders``)? Rows must live in a
    town; settling is only ever in one's own town (DESIGN §5)."""
    out = np.empty(rows.size, dtype=np.bool_)
    _eligible(np.asarray(rows, dtype=np.int64), rule_table(levers, "hukou"),
              rule_table(levers, "hukou_outsiders"), float(home_area_m2),
              levers.priority.long_resident_years, levers.n_towns, hh.place, hh.native,
              hh.owned_town, hh.tenure, hh.stable_job, hh.employed, hh.years_in_town,
              hh.insurance_years, hh.tax_paid, hh.skill, hh.education, hh.kin, hh.kin_gen,
              hh.hukou_urban, hh.hukou, hh.kids_with, hh.kids_school, hh.elders, hh.graduate,
              hh.veteran, hh.birth_year, out)
    return out
