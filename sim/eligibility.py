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


@njit(cache=True, parallel=True)
def _memberships(rows, place, years_in_town, kids_with, kids_school, elders, native, graduate,
                 veteran, birth_year, long_years, n_towns, out):
    for i in prange(rows.size):
        h = rows[i]
        in_town = place[h] < n_towns
        out[i] = (graduate[h] * 1  # students
                  + veteran[h] * 2  # soldiers
                  + (in_town and years_in_town[h] >= long_years) * 4  # long_resident
                  + (in_town and kids_with[h] == kids_school[h] and (elders[h] == 0 or not native[h])) * 8
                  + (birth_year[h] >= 1980) * 16)  # new_generation


def memberships(hh: Households, rows: np.ndarray, long_years: int, n_towns: int) -> np.ndarray:
    """The priority groups the documents name, one bit each in the order of ``GROUPS``:
    students (student route), soldiers (veterans), residents of ``long_years`` or more in town,
    whole-family migrants (school-age children with them and no elders left at home), and the
    new generation (born 1980 or later). uint8 per row."""
    out = np.empty(rows.size, dtype=np.uint8)
    _memberships(np.asarray(rows, dtype=np.int64), hh.place, hh.years_in_town, hh.kids_with,
                 hh.kids_school, hh.elders, hh.native, hh.graduate, hh.veteran, hh.birth_year,
                 long_years, n_towns, out)
    return out


def points(hh: Households, rows: np.ndarray, town: np.ndarray, levers: Levers, group: str) -> np.ndarray:
    """Points score of each row under its town's points weights (积分)."""
    models = levers.per_town[group]
    w = np.array([[m.points_weights.per_year_resident, m.points_weights.per_insurance_year,
                   m.points_weights.per_education_level, m.points_weights.per_skill_level,
                   m.points_weights.owns_home, m.points_weights.stable_job] for m in models])
    score = np.zeros(rows.size)
    for c, attr in enumerate((hh.years_in_town[rows], hh.insurance_years[rows], hh.education[rows],
                              hh.skill[rows], hh.owned_town[rows] == town, hh.stable_job[rows])):
        if w[:, c].any():
            score += attr * w[town, c]
    return score


def _rules(hh: Households, rows: np.ndarray, town: np.ndarray, levers: Levers, group: str,
           home_area_m2: float) -> np.ndarray:
    """Eligibility of each row in the town ``town[i]`` where it lives, under ``group``'s rules."""
    def col(name: str) -> np.ndarray:
        return levers.col(group, name)[town]

    def is_(name: str, value: str) -> np.ndarray:
        return levers.is_(group, name, value)[town]

    owns = hh.owned_town[rows] == town
    tenure = hh.tenure[rows]
    renting = (tenure == RENTED) | (tenure == PUBLIC_RENTAL)
    residence_ok = owns | (renting & col("rental_counts"))
    job_ok = hh.stable_job[rows] & (hh.employed[rows] > 0)
    use_res, use_job = col("residence"), col("job")
    both = np.where(is_("combine", "and"), residence_ok & job_ok, residence_ok | job_ok)
    combo = np.where(use_res & use_job, both,
                     np.where(use_res, residence_ok, np.where(use_job, job_ok, True)))
    purchase_req = col("purchase_required")
    purchase_ok = owns & (home_area_m2 >= col("min_floor_area_m2"))
    years_ok = hh.years_in_town[rows] >= col("min_years_resident")
    ins_ok = hh.insurance_years[rows] >= col("min_insurance_years")
    tax_thr, skill_min = col("tax_threshold_yuan"), col("skill_min_level")
    talent_ok = ((tax_thr > 0) & (hh.tax_paid[rows] >= tax_thr)) | \
        ((skill_min > 0) & (hh.skill[rows] >= skill_min))
    basic = (use_res | use_job | purchase_req) & combo & years_ok & ins_ok & \
        (purchase_ok | ~purchase_req) & (talent_ok | ~is_("talent", "required"))
    talent_route = is_("talent", "route") & talent_ok
    thr = col("points_threshold")
    points_route = (thr > 0) & (points(hh, rows, town, levers, group) >= thr) if (thr > 0).any() \
        else np.zeros(rows.size, dtype=bool)

    exempt = np.zeros(rows.size, dtype=bool)
    member = memberships(hh, rows, levers.priority.long_resident_years, levers.n_towns)
    for bit, g in enumerate(GROUPS):
        listed = levers.has_group(group, g)[town]
        if listed.any():
            exempt |= listed & ((member >> bit) & 1 == 1)

    kin = hh.kin[rows]
    has_kin = kin >= 0
    kin_safe = np.where(has_kin, kin, 0)
    kin_ok = has_kin & hh.hukou_urban[kin_safe] & (hh.hukou[kin_safe] == town) & \
        (hh.kin_gen[rows] <= col("kin_generations"))

    return col("open") | basic | talent_route | points_route | exempt | kin_ok


def eligible(hh: Households, rows: np.ndarray, levers: Levers, home_area_m2: float) -> np.ndarray:
    """Boolean per row: may the household take urban hukou in the town where it lives this year
    (natives under ``hukou`` rules, outsiders under ``hukou_outsiders``)? Rows must live in a
    town; settling is only ever in one's own town (DESIGN §5)."""
    town = hh.place[rows]
    native = hh.native[rows]
    out = np.zeros(rows.size, dtype=bool)
    if native.any():
        out[native] = _rules(hh, rows[native], town[native], levers, "hukou", home_area_m2)
    if (~native).any():
        out[~native] = _rules(hh, rows[~native], town[~native], levers, "hukou_outsiders",
                              home_area_m2)
    return out
