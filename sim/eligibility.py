"""Hukou eligibility (DESIGN §3 step 3, §4 hukou entry): may household h take hukou in town j?

All of a town's entry conditions are evaluated here, for natives with ``hukou`` rules and for
outsiders with ``hukou_outsiders`` rules (natives' rules plus the outsiders' overrides).
"""

from __future__ import annotations

import numpy as np

from sim.config import GROUPS
from sim.households import OWNED, PUBLIC_RENTAL, RENTED, Households
from sim.levers import Levers


def in_group(hh: Households, rows: np.ndarray, group: str, year: int, long_years: int,
             n_towns: int) -> np.ndarray:
    """Membership of the priority groups the documents name (students, soldiers, residents of
    ``long_years`` or more, whole-family migrants, the new generation born 1980 or later)."""
    if group == "students":
        return hh.graduate[rows]
    if group == "soldiers":
        return hh.veteran[rows]
    if group == "long_resident":
        return (hh.place[rows] < n_towns) & (hh.years_in_town[rows] >= long_years)
    if group == "whole_family":
        return (hh.place[rows] < n_towns) & (hh.kids_with[rows] == hh.kids_school[rows]) & \
            ((hh.elders[rows] == 0) | ~hh.native[rows])
    if group == "new_generation":
        return hh.birth_year[rows] >= 1980
    raise ValueError(f"unknown group {group!r}; allowed: {GROUPS}")


def points(hh: Households, rows: np.ndarray, levers: Levers, group: str) -> np.ndarray:
    """Points score [rows, towns] under each town's points weights (积分)."""
    models = levers.per_town[group]
    w = np.array([[m.points_weights.per_year_resident, m.points_weights.per_insurance_year,
                   m.points_weights.per_education_level, m.points_weights.per_skill_level,
                   m.points_weights.owns_home, m.points_weights.stable_job] for m in models])
    attrs = np.stack([hh.years_in_town[rows], hh.insurance_years[rows], hh.education[rows],
                      hh.skill[rows], hh.owned_town[rows] >= 0, hh.stable_job[rows]],
                     axis=1).astype(np.float64)
    return attrs @ w.T


def _rules_matrix(hh: Households, rows: np.ndarray, levers: Levers, group: str,
                  home_area_m2: float) -> np.ndarray:
    T = levers.n_towns
    col = levers.col
    towns = np.arange(T)
    here = hh.place[rows][:, None] == towns[None, :]  # lives in town j
    owns = hh.owned_town[rows][:, None] == towns[None, :]
    renting = np.isin(hh.tenure[rows], (RENTED, PUBLIC_RENTAL))[:, None]
    residence_ok = here & (owns | (renting & col(group, "rental_counts")[None, :]))
    job_ok = here & (hh.stable_job[rows] & (hh.employed[rows] > 0))[:, None]

    use_res = col(group, "residence")[None, :]
    use_job = col(group, "job")[None, :]
    both = np.where(levers.is_(group, "combine", "and")[None, :],
                    residence_ok & job_ok, residence_ok | job_ok)
    combo = np.where(use_res & use_job, both,
                     np.where(use_res, residence_ok, np.where(use_job, job_ok, True)))
    purchase_req = col(group, "purchase_required")[None, :]
    purchase_ok = owns & (home_area_m2 >= col(group, "min_floor_area_m2"))[None, :]
    years_ok = here & (hh.years_in_town[rows][:, None] >= col(group, "min_years_resident")[None, :])
    ins_ok = hh.insurance_years[rows][:, None] >= col(group, "min_insurance_years")[None, :]
    tax_thr = col(group, "tax_threshold_yuan")[None, :]
    skill_min = col(group, "skill_min_level")[None, :]
    talent_ok = ((tax_thr > 0) & (hh.tax_paid[rows][:, None] >= tax_thr)) | \
        ((skill_min > 0) & (hh.skill[rows][:, None] >= skill_min))
    talent_required = levers.is_(group, "talent", "required")[None, :]
    basic = (use_res | use_job | purchase_req) & combo & years_ok & ins_ok & \
        (purchase_ok | ~purchase_req) & (talent_ok | ~talent_required)

    talent_route = levers.is_(group, "talent", "route")[None, :] & talent_ok & here
    thr = col(group, "points_threshold")[None, :]
    points_route = (thr > 0) & here & (points(hh, rows, levers, group) >= thr)

    exempt = np.zeros_like(basic)
    for g in GROUPS:
        listed = levers.has_group(group, g)[None, :]
        if listed.any():
            member = in_group(hh, rows, g, levers.year, levers.priority.long_resident_years, T)
            # students and soldiers may register anywhere (talent-centre collective hukou);
            # the other groups are defined by living in the town
            where = member[:, None] if g in ("students", "soldiers") else (member[:, None] & here)
            exempt |= listed & where

    kin = hh.kin[rows]
    has_kin = kin >= 0
    kin_safe = np.where(has_kin, kin, 0)
    kin_town = np.where(has_kin & hh.hukou_urban[kin_safe], hh.hukou[kin_safe], -1)
    kin_ok = (kin_town[:, None] == towns[None, :]) & \
        (hh.kin_gen[rows][:, None] <= col(group, "kin_generations")[None, :])

    return col(group, "open")[None, :] | basic | talent_route | points_route | exempt | kin_ok


def eligible(hh: Households, rows: np.ndarray, levers: Levers, home_area_m2: float) -> np.ndarray:
    """Boolean [len(rows), towns]: eligible for urban hukou in each town this year."""
    native = _rules_matrix(hh, rows, levers, "hukou", home_area_m2)
    outsider = _rules_matrix(hh, rows, levers, "hukou_outsiders", home_area_m2)
    return np.where(hh.native[rows][:, None], native, outsider)
