"""Hukou eligibility (DESIGN §3 step 3, §4 hukou entry): may household h take hukou in town j?

All of a town's entry conditions are evaluated here, for natives with ``hukou`` rules, for
outsiders with ``hukou_outsiders`` rules (natives' rules plus the outsiders' overrides) and for
outsiders from the same province with ``hukou_province`` rules (the outsiders' plus its own).
"""

from __future__ import annotations

import numpy as np

from sim.configuration import PRIORITY_GROUPS as GROUPS
from sim.engine.compiled import njit, prange
from sim.engine.levers import Levers
from sim.world.households import PUBLIC_RENTAL, RENTED, Households


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
            + (in_town & (years_in_town[h] >= long_years)) * 4  # long_resident
            + (in_town & (kids_with[h] == kids_school[h]) & ((elders[h] == 0) | (not native[h]))) * 8
            + (birth_year[h] >= 1980) * 16)  # new_generation


@njit(cache=True, parallel=True)
def _ranks(rows, order_bits, place, years_in_town, kids_with, kids_school, elders, native, graduate,
           veteran, birth_year, long_years, n_towns, out):
    for i in prange(rows.size):
        member = _membership(rows[i], place, years_in_town, kids_with, kids_school, elders, native,
                             graduate, veteran, birth_year, long_years, n_towns)
        rank = order_bits.size
        for r in range(order_bits.size - 1, -1, -1):  # the first group listed that it belongs to
            rank = r if (member >> order_bits[r]) & 1 else rank
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
# natives, ``hukou_outsiders`` for outsiders, ``hukou_province`` for same-province outsiders),
# switches as 0/1.
(OPEN, RENTAL_COUNTS, RESIDENCE, JOB, COMBINE_AND, PURCHASE_REQUIRED, MIN_FLOOR_AREA, MIN_YEARS,
 MIN_INSURANCE_YEARS, TAX_THRESHOLD, SKILL_MIN, TALENT_REQUIRED, TALENT_ROUTE, POINTS_THRESHOLD,
 KIN_GENERATIONS, EXEMPT_GROUPS, W_YEAR, W_INSURANCE, W_EDUCATION, W_SKILL, W_HOME, W_JOB,
 MIN_INSURANCE_RESIDENCE, MIN_INSURANCE_JOB) = range(24)


def rule_table(levers: Levers, group: str) -> np.ndarray:
    """[towns, 24] float table of ``group``'s entry conditions (columns named above)."""
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
        col("min_insurance_years_residence"), col("min_insurance_years_job"),
    ])


@njit(cache=True, parallel=True)
def _eligible(rows, rules, home_area_m2, long_years, n_towns, place, native, same_province, owned_town,
              tenure, stable_job, employed, years_in_town, insurance_years, tax_paid, skill,
              education, kin, kin_gen, hukou_urban, hukou, kids_with, kids_school, elders, graduate,
              veteran, birth_year, out):
    """Per row: may the household take urban hukou in the town where it lives? Any one route
    suffices: the town is open; the basic conditions (residence and/or a stable job as the town
    combines them, each with the insurance years its own path asks, a home purchase where
    required, years of residence and of insurance, talent where required); the talent route; the points route (积分); a group the town exempts;
    kin holding hukou there within the generations the town allows (投靠). ``rules`` holds the
    natives' :func:`rule_table`, the outsiders' and the same-province outsiders' ([3 × towns, 24]):
    a row is read in place, never taken as a view (a view per household costs a reference count
    shared by threads)."""
    for i in prange(rows.size):  # selects, not branches
        h = rows[i]
        j = place[h]
        # natives' rules, then outsiders' (from another province), then same-province outsiders'
        row = j if native[h] else (2 * n_towns + j if same_province[h] else n_towns + j)
        owns = owned_town[h] == j
        renting = (tenure[h] == RENTED) | (tenure[h] == PUBLIC_RENTAL)
        ins = insurance_years[h]
        residence_ok = ((owns | (renting & (rules[row, RENTAL_COUNTS] > 0)))
                        & (ins >= rules[row, MIN_INSURANCE_RESIDENCE]))
        job_ok = stable_job[h] & (employed[h] > 0) & (ins >= rules[row, MIN_INSURANCE_JOB])
        use_res, use_job = rules[row, RESIDENCE] > 0, rules[row, JOB] > 0
        either = (residence_ok & job_ok) if rules[row, COMBINE_AND] > 0 else (residence_ok | job_ok)
        combo = either if (use_res & use_job) else residence_ok if use_res else job_ok if use_job else True
        purchase_req = rules[row, PURCHASE_REQUIRED] > 0
        purchase_ok = owns & (home_area_m2 >= rules[row, MIN_FLOOR_AREA])
        talent_ok = (((rules[row, TAX_THRESHOLD] > 0) & (tax_paid[h] >= rules[row, TAX_THRESHOLD]))
                     | ((rules[row, SKILL_MIN] > 0) & (skill[h] >= rules[row, SKILL_MIN])))
        basic = ((use_res | use_job | purchase_req) & combo
                 & (years_in_town[h] >= rules[row, MIN_YEARS])
                 & (insurance_years[h] >= rules[row, MIN_INSURANCE_YEARS])
                 & (purchase_ok | (not purchase_req)) & (talent_ok | (rules[row, TALENT_REQUIRED] == 0)))
        talent_route = (rules[row, TALENT_ROUTE] > 0) & talent_ok
        score = (rules[row, W_YEAR] * years_in_town[h] + rules[row, W_INSURANCE] * insurance_years[h]
                 + rules[row, W_EDUCATION] * education[h] + rules[row, W_SKILL] * skill[h]
                 + rules[row, W_HOME] * owns + rules[row, W_JOB] * stable_job[h])
        points_route = (rules[row, POINTS_THRESHOLD] > 0) & (score >= rules[row, POINTS_THRESHOLD])
        member = _membership(h, place, years_in_town, kids_with, kids_school, elders, native,
                             graduate, veteran, birth_year, long_years, n_towns)
        exempt = (member & int(rules[row, EXEMPT_GROUPS])) != 0
        k = kin[h]
        kin_ok = ((k >= 0) & hukou_urban[max(k, 0)] & (hukou[max(k, 0)] == j)
                  & (kin_gen[h] <= rules[row, KIN_GENERATIONS]))
        out[i] = (rules[row, OPEN] > 0) | basic | talent_route | points_route | exempt | kin_ok


def eligible(hh: Households, rows: np.ndarray, levers: Levers, home_area_m2: float) -> np.ndarray:
    """Boolean per row: may the household take urban hukou in the town where it lives this year
    (natives under ``hukou`` rules, outsiders under ``hukou_outsiders``, outsiders from the same
    province under ``hukou_province``)? Rows must live in a town; settling is only ever in one's
    own town (DESIGN §5)."""
    out = np.empty(rows.size, dtype=np.bool_)
    rules = np.concatenate([rule_table(levers, "hukou"), rule_table(levers, "hukou_outsiders"),
                            rule_table(levers, "hukou_province")])
    _eligible(np.asarray(rows, dtype=np.int64), rules, float(home_area_m2),
              levers.priority.long_resident_years, levers.n_towns, hh.place, hh.native, hh.same_province,
              hh.owned_town, hh.tenure, hh.stable_job, hh.employed, hh.years_in_town,
              hh.insurance_years, hh.tax_paid, hh.skill, hh.education, hh.kin, hh.kin_gen,
              hh.hukou_urban, hh.hukou, hh.kids_with, hh.kids_school, hh.elders, hh.graduate,
              hh.veteran, hh.birth_year, out)
    return out
