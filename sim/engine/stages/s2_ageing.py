"""Stage 2, ageing and demography: heads age, children move through school, births and deaths;
years in town and insurance years accrue."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine.compiled import njit, prange, uniform

if TYPE_CHECKING:
    from sim.engine.model import SettlementModel


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
def _age(key, flex_key, T, place, hukou, hukou_urban, stable_job, employed, head_age, birth_year,
         workers, elders, kids_pre, kids_school, kids_with, years_in_town, insurance_years,
         collective_for_life, collective_exited, flexible_share, p_birth, p_death, births_out,
         deaths_out):
    """Per household: a year older; years in town and insurance years accrue (with a labour
    contract, or as a flexible or self-employed worker who contributes where the town lets them
    enrol: ``flexible_share`` of its town, a draw of the insurance stream); children start
    school and leave it to work; a birth; each elder dies with probability ``p_death``; an old
    head hands over to the next generation."""
    for h in prange(place.size):  # selects, not branches: the loop is vectorised
        pl = place[h]
        age = head_age[h] + 1
        years_in_town[h] = min(years_in_town[h] + 1, 100) if pl < T else 0
        town_dweller = (pl < T) & (hukou_urban[h] | (pl != hukou[h]))
        flexible = uniform(flex_key, h, 1, 0) < flexible_share[min(pl, T - 1)]
        insured = town_dweller & (employed[h] > 0) & (stable_job[h] | flexible)
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
    """Heads age; years in town and insurance years accrue (workers with a labour contract, and
    flexible or self-employed workers where ``services.flexible_insurance_share`` lets them
    contribute); children start school and leave it to work; births (to households with heads
    under 45) and deaths (of elders) at the behaviour's crude rates; an old head hands over to
    the next generation."""
    hh, beh, T = m.hh, m.behaviour, m.T
    pop, young, old = _population(hh.head_age, hh.workers, hh.elders, hh.kids_pre, hh.kids_school)
    p_birth = beh.birth_rate * pop / max(young, 1)
    # each elder dies with the same probability, set so deaths match the crude death rate
    p_death = min(beh.death_rate * pop / max(old, 1), 1.0)
    births = np.empty(hh.n, dtype=np.bool_)
    deaths = np.empty(hh.n, dtype=np.int8)
    _age(m.key("demography"), m.key("insurance"), T, hh.place, hh.hukou, hh.hukou_urban,
         hh.stable_job, hh.employed, hh.head_age, hh.birth_year, hh.workers, hh.elders,
         hh.kids_pre, hh.kids_school, hh.kids_with, hh.years_in_town, hh.insurance_years,
         hh.collective_for_life, hh.collective_exited,
         m.levers.col("services", "flexible_insurance_share").astype(np.float64),
         float(p_birth), float(p_death), births, deaths)
    m.year_counts["births"] = int(np.count_nonzero(births)) * m.scale
    m.year_counts["deaths"] = int(deaths.sum(dtype=np.int64)) * m.scale


