"""Reference implementation of the yearly rules in the idiomatic Mesa way (issue 6).

One :class:`HouseholdAgent` (a ``mesa.Agent``) per household, holding its state as plain Python
scalars; :class:`ReferenceModel` (a ``mesa.Model``) runs the same eight stages as
:class:`sim.engine.model.SettlementModel` in the same order. What a household does on its own (work,
age, check its eligibility, choose, buy a home, move, exit its rights) is an agent method run
with ``self.agents.shuffle_do(...)`` in scalar Python (``math.log``, a loop over towns for the
utility of each alternative, draws from ``self.random``); what is town-level by nature (the
rationing of placements, training, quota, reserved jobs, public rental and school seats in the
policy's priority order; 人地钱挂钩 feedback; rents; reclassification; the yearly record) is a
model method.

It is an oracle and a yardstick, not a second engine:

* **oracle** - ``tests/test_reference.py`` runs both models on the same seeds and checks that the
  headline metrics agree within sampling error. The starting population is the engine's own
  (:func:`sim.world.households.synthesize` on the same stream, converted row by row into agents), so
  the comparison is paired at the start; the draws after it are Mesa's (``self.random``), so the
  agreement is statistical, not draw for draw;
* **yardstick** - ``python benchmarks/reference_mesa.py`` times it (agent-steps per second).

Every rule mirrors ``sim/engine/stages/``, ``sim/engine/decision.py`` and ``sim/engine/eligibility.py``; the
docstrings name the engine function each method mirrors. Configs, lever resolution
(:func:`sim.engine.levers.resolve`) and the place graph (:func:`sim.world.places.build_places`) are shared.

    .venv/bin/python benchmarks/reference_mesa.py [--policy configs/policies/qingdao_2017.toml]
        [--scale 31] [--years 3]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from dataclasses import fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mesa
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.configuration import (  # noqa: E402
    Behaviour,
    ConfigError,
    Policy,
    RegionFile,
    check_policy_against_region,
    load_behaviour,
    load_policy,
    load_region,
)
from sim.engine.levers import KEPT_FOR_LIFE, SURRENDERED, Levers, resolve  # noqa: E402
from sim.world.households import (  # noqa: E402
    DORM,
    NO_PLACE,
    OWNED,
    PUBLIC_RENTAL,
    RENTED,
    VILLAGE_HOME,
    Households,
    synthesize,
)
from sim.world.places import RURAL_COMMUNITY, Places, build_places  # noqa: E402

POPULATION_STREAM = 0  # sim.engine.model.STREAMS["population"]: the same starting households as the engine
KEPT_FOR_LIFE_LOSS = 0.3  # sim.engine.decision.KEPT_FOR_LIFE_LOSS
RIGHTS = (("land", "land_exited"), ("homestead", "homestead_exited"), ("collective", "collective_exited"))
HH_FIELDS = [f.name for f in fields(Households)]
GROUP_NAMES = ("all", "new_generation", "with_children", "with_land", "native", "outsider")  # sim.configuration.SETTLEMENT_GROUPS
INF = math.inf


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(max(x, -745.0))
    return e / (1.0 + e)


def _gumbel(u: float) -> float:
    u = min(max(u, 1e-12), 1.0 - 1e-12)
    return -math.log(-math.log(u))


# =============================================================================================
# Household agent
# =============================================================================================


class HouseholdAgent(mesa.Agent):
    """One household; its state is the engine's household row as Python scalars (see
    :class:`sim.world.households.Households` for the meaning of each attribute)."""

    def __init__(self, model: ReferenceModel, index: int, state: dict[str, Any]):
        super().__init__(model)
        self.index = index  # row in the engine's arrays (kin refers to rows)
        self.__dict__.update(state)
        self.want = -1
        self.fallback = -1
        self.intention = math.nan
        self.eligible_here = False
        self.start_migrant = False

    # ---- derived state (sim.world.households.Households methods) ----------------------------------

    @property
    def size(self) -> int:
        return self.workers + self.elders + self.kids_pre + self.kids_school

    @property
    def home(self) -> int:
        return self.hukou if self.hukou >= 0 else self.origin

    def at_home_rural(self) -> bool:
        return (not self.hukou_urban) and self.place == self.hukou

    def town_dweller(self) -> bool:
        return self.place < self.model.T and not self.at_home_rural()

    def is_migrant(self) -> bool:
        return self.place < self.model.T and not self.hukou_urban and self.place != self.hukou

    def persons_at_place(self) -> int:
        if self.native and self.is_migrant():
            return self.workers + self.kids_pre + self.kids_with
        return self.size

    def left_behind(self) -> int:
        if self.native and self.is_migrant():
            return self.kids_school - self.kids_with
        return 0

    def in_group(self, group: str) -> bool:
        """sim.engine.eligibility._membership."""
        if group == "students":
            return self.graduate
        if group == "soldiers":
            return self.veteran
        if group == "long_resident":
            return self.place < self.model.T and \
                self.years_in_town >= self.model.levers.priority.long_resident_years
        if group == "whole_family":
            return self.place < self.model.T and self.kids_with == self.kids_school and \
                (self.elders == 0 or not self.native)
        if group == "new_generation":
            return self.birth_year >= 1980
        raise ValueError(f"unknown group {group!r}")

    def priority_rank(self, goods: bool = True) -> int:
        """sim.engine.rationing.priority_rank: index of the first listed group the household is in
        (settlement priority for the quota, the goods order for everything else)."""
        priority = self.model.levers.priority
        order = priority.goods_order if goods else priority.order
        for i, group in enumerate(order):
            if self.in_group(group):
                return i
        return len(order)

    def origin_admitted(self, town: int) -> bool:
        """sim.engine.decision.origin_ok: public rental for every origin class, natives only, or
        natives and same-province outsiders only."""
        tl = self.model.tl
        if self.native:
            return True
        if tl.public_rental_natives_only[town]:
            return False
        return self.same_province or not tl.public_rental_province_only[town]

    def income_per_person(self) -> float:
        """sim.engine.decision.income_per_person: this year's income per person (the income test
        of housing security)."""
        return self.income / max(self.size, 1)

    def has_permit(self, town: int) -> bool:
        """sim.engine.decision.has_permit."""
        years = self.years_in_town if self.place == town else 0
        return years >= self.model.tl.permit_min_years[town]

    def non_wage_income(self) -> tuple[float, float, float, float]:
        """sim.engine.decision.non_wage_income: (home, away, settled before the subsidy, the subsidy
        added when settled in a town that keeps agricultural subsidies); settled in the town where
        the household lives (the only one it can settle in), under that town's rule."""
        m = self.model
        eco, rights = m.economy, m.levers.rights
        town = min(self.place, m.T - 1)
        rural = m.rural_index
        land = 0.0 if self.land_exited else self.land_mu
        dividend = 0.0 if self.collective_exited else self.dividend
        farm = land * eco.farm_income_per_mu * rural + self.workers * eco.local_nonfarm_income * rural
        subsidy = land * eco.agri_subsidy_per_mu
        land_rent = land * eco.land_rent_per_mu * rural * float(rights.land_rental)
        home = farm + subsidy + dividend
        away = land_rent + dividend + subsidy
        # an outsider's rights lie outside the region: the national rule keeps them
        land_kept = m.levers.on_settle("land")[town] != SURRENDERED or not self.native
        coll_kept = m.levers.on_settle("collective")[town] != SURRENDERED or not self.native
        settled = land_rent * land_kept + dividend * coll_kept
        return home, away, settled, subsidy * land_kept

    def rights_values(self) -> dict[str, float]:
        """sim.engine.decision.rights_value."""
        m = self.model
        return {
            "land": 0.0 if self.land_exited else self.land_mu * m.economy.land_value_per_mu,
            "homestead": 0.0 if self.homestead_exited else self.homestead_value,
            "collective": 0.0 if self.collective_exited else
            self.dividend * m.behaviour.rights_discount_years,
        }

    def rights_lost_on_settling(self) -> float:
        """sim.engine.decision.rights_lost_on_settling, under the rule of the town where the
        household lives (or of its tier)."""
        m = self.model
        lv = m.levers
        risk = m.behaviour.rights_tenure_risk
        town = min(self.place, m.T - 1)
        lost = 0.0
        for name, value in self.rights_values().items():
            rule = getattr(lv.rights, name)
            code = lv.on_settle(name)[town]
            comp = rule.compensation_share if rule.paid_exit else 0.0
            if name == "homestead" and lv.rights.homestead_voucher:
                comp *= 1.0 + lv.rights.voucher_bonus_share
            uncovered = max(0.0, 1.0 - comp)
            if not self.native:  # outside the region: kept by the national rule
                share = risk
            elif code == SURRENDERED:
                share = uncovered
            else:
                if code == KEPT_FOR_LIFE:
                    share = (KEPT_FOR_LIFE_LOSS + risk * (1.0 - KEPT_FOR_LIFE_LOSS)) * uncovered
                else:
                    share = risk * uncovered
                if rule.kept_until_year is not None:  # the right ends with the contract round
                    kept = min(max(rule.kept_until_year - lv.year, 0) / m.behaviour.rights_discount_years, 1.0)
                    share = 1.0 - (1.0 - share) * kept
            lost += value * share
        return lost

    # ---- 1. labour market ------------------------------------------------------------------

    def labour(self) -> None:
        """sim.engine.stages.labour_market, the household part before the job programmes: employment
        (one draw for the household: all workers or one fewer), stable jobs kept, lost or
        gained; last year's placement offer lapses."""
        m, beh = self.model, self.model.behaviour
        r = m.random
        u0, u1, u2 = r.random(), r.random(), r.random()
        in_town = self.town_dweller()
        rate = m.employment_rate[self.place if in_town else 0]
        p = max(rate, beh.stable_job_retention) if self.stable_job else rate
        self.employed = max(self.workers - (1 if u0 >= p else 0), 0) if in_town else 0
        lose = self.stable_job and u1 >= beh.stable_job_retention
        gain = in_town and not self.stable_job and self.employed > 0 and \
            u2 < beh.stable_job_entry * (1.0 + self.skill)
        self.stable_job = ((self.stable_job and not lose) or gain) and in_town
        self.job_years = min(self.job_years + 1, 100) if self.stable_job else 0
        self.reserved_job = self.reserved_job and self.stable_job  # a reserved post lasts with its job
        self.placement = NO_PLACE
        self.reserved_offer = False

    def earn(self) -> None:
        """sim.engine.stages.labour_market, the end: realised income and savings."""
        m, beh = self.model, self.model.behaviour
        home, away, settled, subsidy = self.non_wage_income()
        if not self.town_dweller():
            income = home
        else:
            town = self.place
            z = m.random.gauss(0.0, 1.0)
            noise = math.exp(beh.wage_sd * z - 0.5 * beh.wage_sd ** 2)
            wage = self.employed * m.wage[town] * (1.0 + beh.skill_premium * self.skill) * noise
            if self.hukou_urban:
                income = wage + settled + (subsidy if m.tl.agri_subsidies_kept[town] else 0.0)
            else:
                income = wage + away
        self.income = income
        self.savings = max(self.savings + beh.savings_rate * income, 0.0)

    # ---- 2. ageing ---------------------------------------------------------------------------

    def age(self) -> None:
        """sim.engine.stages.ageing (the model sets this year's birth and death probabilities)."""
        m = self.model
        r = m.random
        self.head_age += 1
        self.years_in_town = min(self.years_in_town + 1, 100) if self.place < m.T else 0
        if self.town_dweller() and self.employed > 0:
            # a labour contract, or flexible work where the town lets flexible workers contribute
            share = m.tl.flexible_insurance_share[min(self.place, m.T - 1)]
            if self.stable_job or (share > 0 and r.random() < share):
                self.insurance_years = min(self.insurance_years + 1, 100)
        if self.kids_pre > 0 and r.random() < self.kids_pre / 6.0:
            self.kids_pre -= 1
            self.kids_school += 1
        if self.kids_school > 0 and r.random() < self.kids_school / 9.0:
            self.kids_school -= 1
            self.workers += 1
        self.kids_with = min(self.kids_with, self.kids_school)
        if self.head_age < 45 and r.random() < m.p_birth and self.kids_pre < 3:
            self.kids_pre += 1
            m.year_counts["births"] += m.scale
        deaths = sum(1 for _ in range(min(self.elders, 4)) if r.random() < m.p_death)
        self.elders -= deaths
        m.year_counts["deaths"] += deaths * m.scale
        if self.head_age >= 70 and self.workers >= 2:  # the next generation takes over
            self.workers -= 1
            self.elders += 1
            self.head_age -= 30
            self.birth_year += 30
            if self.collective_for_life and not self.collective_exited:
                self.collective_exited = True

    # ---- 3. eligibility ----------------------------------------------------------------------

    def check_eligibility(self) -> None:
        """sim.engine.stages.eligibility: a migrant's eligibility in the town where it lives (and its
        groups as the year's decisions begin, sim.engine.groups.group_bits)."""
        self.start_groups = (True, self.birth_year >= 1980, self.kids_school > 0,
                             self.land_mu > 0 and not self.land_exited, self.native, not self.native)
        self.start_migrant = self.is_migrant()
        self.eligible_here = self.start_migrant and self.eligible_in_own_town()

    def eligible_in_own_town(self) -> bool:
        """sim.engine.eligibility._eligible for the town where the household lives (natives under the
        ``hukou`` rules, outsiders under ``hukou_outsiders``, same-province outsiders under
        ``hukou_province``)."""
        m = self.model
        town = self.place
        group = "hukou" if self.native else ("hukou_province" if self.same_province else "hukou_outsiders")
        rules = m.levers.per_town[group][town]
        if rules.open:
            return True
        owns = self.owned_town == town
        renting = self.tenure in (RENTED, PUBLIC_RENTAL)
        # each path with the insurance years it asks of its own
        residence_ok = (owns or (renting and rules.rental_counts)) and \
            self.insurance_years >= rules.min_insurance_years_residence
        job_ok = self.stable_job and self.employed > 0 and \
            self.insurance_years >= rules.min_insurance_years_job
        if rules.residence and rules.job:
            combo = (residence_ok and job_ok) if rules.combine == "and" else (residence_ok or job_ok)
        elif rules.residence:
            combo = residence_ok
        elif rules.job:
            combo = job_ok
        else:
            combo = True
        tax_thr, skill_min = rules.tax_threshold_yuan, rules.skill_min_level
        talent_ok = (tax_thr > 0 and self.tax_paid >= tax_thr) or \
            (skill_min > 0 and self.skill >= skill_min)
        purchase_ok = owns and m.economy.home_floor_area_m2 >= rules.min_floor_area_m2
        basic = ((rules.residence or rules.job or rules.purchase_required) and combo
                 and self.years_in_town >= rules.min_years_resident
                 and self.insurance_years >= rules.min_insurance_years
                 and (purchase_ok or not rules.purchase_required)
                 and (talent_ok or rules.talent != "required"))
        if basic:
            return True
        if rules.talent == "route" and talent_ok:
            return True
        if rules.points_threshold > 0:
            w = rules.points_weights
            points = (w.per_year_resident * self.years_in_town
                      + w.per_insurance_year * self.insurance_years
                      + w.per_education_level * self.education
                      + w.per_skill_level * self.skill
                      + w.owns_home * float(owns) + w.stable_job * float(self.stable_job))
            if points >= rules.points_threshold:
                return True
        if any(self.in_group(g) for g in rules.exempt_groups):
            return True
        if self.kin >= 0:
            kin = m.households[self.kin]
            if kin.hukou_urban and kin.hukou == town and self.kin_gen <= rules.kin_generations:
                return True
        return False

    # ---- 4. choice ---------------------------------------------------------------------------

    def _invariants(self) -> SimpleNamespace:
        """Parts of the utility that do not depend on the alternative."""
        m, beh = self.model, self.model.behaviour
        T = m.T
        home, away, settled, subsidy = self.non_wage_income()
        place = self.place
        in_town = place < T
        return SimpleNamespace(
            home_income=home, away=away, settled=settled, settled_subsidy=subsidy,
            earn=self.workers * (1.0 + beh.skill_premium * self.skill),
            size=max(self.size, 1),
            lost=self.rights_lost_on_settling(),
            generation=(beh.beta_new_generation * (self.birth_year >= 1980)
                        - beh.beta_age * max(self.head_age - 45.0, 0.0)),
            in_town=in_town,
            here_portable=in_town and m.tl.insurance_portable[min(place, T - 1)],
            kin_place=m.households[self.kin].place if self.kin >= 0 else -1,
            distance=m.distance_term[self.home] if self.native else m.zero_towns,
            network=m.network[self.origin],
        )

    def village_utility(self, pre: SimpleNamespace) -> float:
        """Utility of living at home (alternative 0): income, and the cost of moving back."""
        beh = self.model.behaviour
        inc = max(pre.home_income, 1000.0)
        v = beh.beta_income * math.log(inc / pre.size)
        if self.home != self.place:
            v -= beh.beta_move
            if pre.in_town:  # contributions never carry over to the village
                v -= beh.beta_insurance_loss * self.insurance_years
        return v

    def town_utility(self, j: int, settle: bool, pre: SimpleNamespace) -> float:
        """Utility of living in town ``j`` as a resident (``settle`` False) or with its hukou:
        the sum of the terms of sim.engine.decision.utilities for this one alternative."""
        m, beh, tl = self.model, self.model.behaviour, self.model.tl
        here = self.place == j
        permit = (self.years_in_town if here else 0) >= tl.permit_min_years[j]

        # income (sim.engine.decision.income)
        p_emp = 1.0 if self.placement == j else m.employment_rate[j]
        wage = pre.earn * m.wage[j] * p_emp
        if settle:
            other = pre.settled + (pre.settled_subsidy if tl.agri_subsidies_kept[j] else 0.0)
        else:
            other = pre.away
        inc = max(wage + other, 1000.0)

        # housing (sim.engine.decision.housing_cost, public_rental_eligible): public rental and
        # the rental subsidy (its expected value: amount x take-up) under the income test
        if self.owned_town == j:
            housing = 0.0
        else:
            need = self.income_per_person() <= tl.support_limit[j]
            if here and self.tenure == PUBLIC_RENTAL:
                p_unit = 1.0
            else:
                resident_ok = (tl.public_rental_open_residents[j] and self.stable_job
                               and self.job_years >= tl.public_rental_min_job_years[j]
                               and self.origin_admitted(j))
                p_unit = m.rental_access[j] if ((settle or resident_ok) and need) else 0.0
            cost = m.rent[j] * 12.0 * (1.0 - p_unit * tl.rent_discount[j])
            subsidy = 0.0
            if need and settle and tl.subsidy_to_hukou[j]:
                subsidy += tl.rental_subsidy_expected[j]
            if need and tl.subsidy_to_permit[j] and (permit or settle):
                subsidy += tl.rental_subsidy_expected[j]
            housing = max(cost - subsidy, 0.0)

        v = beh.beta_income * math.log(inc / pre.size) - beh.beta_housing * housing / inc

        # schooling (sim.engine.decision.schooling, school_access)
        kids = self.kids_school
        if kids:
            seat = m.seat_access[j]
            # of the pupils without a public seat, a subsidised private school takes a share
            native = (1.0 if self.native else 0.0) * (1.0 - tl.private_share[j])
            if settle:
                v += kids * (beh.beta_school * seat - beh.beta_left_behind * (1.0 - seat) * native)
            else:
                share = 1.0 if (tl.permit_basis[j] and permit) else tl.admission_share[j]
                acc = share * seat
                v += kids * (beh.beta_school * acc - beh.beta_left_behind * (1.0 - acc) * native
                             - (beh.beta_exam * acc if not tl.local_exam[j] else 0.0))

        # services (sim.engine.decision.services) and rural rights (sim.engine.decision.rights_kept),
        # and the household's part of the value of hukou (sim.engine.decision.hukou_value)
        if settle:
            v += beh.beta_services - beh.beta_rights * math.log1p(pre.lost / inc)
            v += (beh.beta_hukou_children * kids + beh.beta_hukou_new_generation * (self.birth_year >= 1980)
                  - beh.beta_hukou_age * max(self.head_age - 40.0, 0.0))
            if not tl.insurance_portable[j]:
                v += beh.beta_hukou_insurance * self.insurance_years
            if self.owned_town == j:
                v += beh.beta_hukou_owner
        elif permit:
            v += beh.beta_services * tl.permit_coverage[j]

        # distance, network and kin, generation (sim.engine.decision.distance, network, generation)
        v += pre.distance[j] + beh.beta_network * pre.network[j] + pre.generation
        if pre.kin_place == j:
            v += beh.beta_kin

        # moving and insurance lost (sim.engine.decision.moving)
        if not here:
            v -= beh.beta_move
            if pre.in_town and not (pre.here_portable and tl.insurance_portable[j]):
                v -= beh.beta_insurance_loss * self.insurance_years

        # constants (sim.engine.decision.constants)
        return v + (m.asc_settle[j] if settle else m.asc_resident[j])

    def choose(self) -> None:
        """sim.engine.stages.choice for one household: a household without urban hukou that reviews
        its situation (or holds a placement) picks the alternative of highest utility plus
        Gumbel noise, keeping the best alternative without settling as its fallback; a migrant's
        settlement intention is the binary logit settle-here vs resident-here."""
        m = self.model
        T, r = m.T, m.random
        self.want = self.fallback = -1
        self.intention = math.nan
        if self.hukou_urban:
            return
        review = r.random() < m.behaviour.review_rate
        migrant = self.is_migrant()
        if not (review or self.placement >= 0 or migrant):
            return
        pre = self._invariants()
        place, home = self.place, self.home
        can_settle_here = place < T and m.urban[place]  # settle only in one's own, urban town
        v_res_here = v_settle_here = None
        if migrant:
            v_res_here = self.town_utility(place, False, pre)
            v_settle_here = self.town_utility(place, True, pre) if can_settle_here else None
            diff = -50.0 if v_settle_here is None else v_settle_here - v_res_here
            self.intention = _sigmoid(diff)
        if not (review or self.placement >= 0):
            return
        best, best_alt = -INF, 0
        if self.native:  # outsiders' home lies outside the region
            best = self.village_utility(pre) + _gumbel(r.random())
        for j in range(T):
            if j == home:  # not a migrant in one's own community
                continue
            v = v_res_here if (j == place and v_res_here is not None) else self.town_utility(j, False, pre)
            v += _gumbel(r.random())
            if v > best:
                best, best_alt = v, 1 + j
        self.fallback = best_alt
        if can_settle_here and self.eligible_here:
            v = v_settle_here if v_settle_here is not None else self.town_utility(place, True, pre)
            v += _gumbel(r.random())
            if v > best:
                best_alt = 1 + T + place
        self.want = best_alt

    def baseline_intention(self) -> None:
        """Settlement intention in the starting state (sim.engine.model.SettlementModel._baseline)."""
        self.intention = math.nan
        self.want = -1
        if self.is_migrant():
            pre = self._invariants()
            place = self.place
            diff = -50.0
            if self.model.urban[place]:
                diff = self.town_utility(place, True, pre) - self.town_utility(place, False, pre)
            self.intention = _sigmoid(diff)

    def buy_home(self) -> None:
        """sim.engine.stages.buy_homes: a town resident staying in its town who owns no home buys
        one with probability ``purchase_rate`` when savings cover the up-front cost."""
        m = self.model
        T, place, want = m.T, self.place, self.want
        if not self.town_dweller() or self.owned_town >= 0:
            return
        if not (want < 0 or want == 1 + place or want == 1 + T + place):
            return
        u = m.random.random()
        cost, support = m.purchase_cost(self, self.hukou_urban and self.hukou == place)
        if self.savings >= cost and u < m.behaviour.purchase_rate:
            self.savings -= cost
            self.owned_town = place
            self.tenure = OWNED
            m.year_counts["homes_bought"] += m.scale
            m.year_counts["purchase_support_yuan"] += support * m.scale

    # ---- 5. capacity: moves --------------------------------------------------------------------

    def move(self) -> None:
        """sim.engine.stages.apply_moves for one household (``want`` is after the quota)."""
        m = self.model
        T, want = m.T, self.want
        if want < 0:
            return
        old_place, home = self.place, self.home
        dest = home if want == 0 else (want - 1 - T if want > T else want - 1)
        settling = want > T
        moving = dest != old_place
        before = self.persons_at_place()
        if moving:
            from_town = old_place < T and old_place != home
            to_town = dest < T and dest != home
            portable = m.tl.insurance_portable
            keeps = from_town and to_town and portable[min(old_place, T - 1)] and portable[min(dest, T - 1)]
            if not keeps:
                self.insurance_years = 0
            self.place = dest
            self.years_in_town = 0
            placed = self.placement == dest
            self.stable_job = placed
            took = placed and self.reserved_offer  # a reserved post offered there; one held here is left
            if took and not self.reserved_job:
                m.year_counts["reserved_jobs_filled"] += m.scale
            self.reserved_job = took
            self.job_years = 0
            if not to_town:
                self.employed = 0
            elif placed:
                self.employed = max(self.workers, 1)
            if not to_town:
                self.tenure = VILLAGE_HOME
            elif self.owned_town == dest:
                self.tenure = OWNED
            else:
                self.tenure = DORM if placed else RENTED
            self.kids_with = 0
        if settling:
            self.hukou = dest
            self.hukou_urban = True
            self.settled_year = m.year
            self.kids_with = self.kids_school
            m.settled_now.append(self)
            m.year_counts["settled_households"] += m.scale
            m.year_counts["settled_persons"] += self.size * m.scale
        elif moving:
            if dest == home:
                m.year_counts["returned_persons"] += before * m.scale
            elif old_place == home:
                m.year_counts["migrated_persons"] += self.persons_at_place() * m.scale

    # ---- 6. rights -----------------------------------------------------------------------------

    def exit_rights(self) -> None:
        """sim.engine.stages.rights for one settled native household."""
        m = self.model
        if not (self.hukou_urban and self.native and self.origin >= m.T):
            return
        lv, beh = m.levers, m.behaviour
        values = self.rights_values()
        new = self.settled_year == m.year
        income = max(self.income, 1000.0)
        town = min(max(self.hukou, 0), m.T - 1)  # where it settled: that town's rule
        for name, flag in RIGHTS:
            u = m.random.random()
            rule = getattr(lv.rights, name)
            code = lv.on_settle(name)[town]
            value = values[name]
            held = not getattr(self, flag) and value > 0
            if held and rule.kept_until_year is not None and m.year >= rule.kept_until_year \
                    and code != SURRENDERED:  # the contract round is over: the right ends
                setattr(self, flag, True)
                held = False
            comp = value * rule.compensation_share * float(rule.paid_exit)
            if name == "homestead" and lv.rights.homestead_voucher:  # worth more as a voucher
                comp *= 1.0 + lv.rights.voucher_bonus_share
            forced = held and new and code == SURRENDERED
            keep = value * (0.5 if (name == "land" and not lv.rights.land_rental) else 1.0)
            gain = (comp - keep) / income
            p = beh.exit_rate / (1.0 + math.exp(min(max(-beh.beta_rights * gain * 4.0, -50.0), 50.0)))
            voluntary = held and not forced and rule.paid_exit and u < p
            if forced or voluntary:
                setattr(self, flag, True)
                paid = comp
                self.savings += paid
                m.year_counts["compensation_paid_yuan"] += paid * m.scale
                if name == "land":
                    m.year_counts["land_exited_mu"] += self.land_mu * m.scale
                elif name == "homestead":
                    m.year_counts["homesteads_exited"] += m.scale
                else:
                    m.year_counts["collective_shares_exited"] += m.scale
            if name == "collective" and code == KEPT_FOR_LIFE and new and held:
                self.collective_for_life = True


# =============================================================================================
# Model
# =============================================================================================


class ReferenceModel(mesa.Model):
    """One replication of a policy package on a region, with one Mesa agent per household.

    Same parameters as :class:`sim.engine.model.SettlementModel` (paths or loaded objects). The
    starting population is the engine's (same seed, replication and population stream); the
    agents' later draws come from Mesa's ``self.random``, seeded from ``seed`` and
    ``replication``.
    """

    def __init__(self, policy: str | Path | Policy, region: str | Path | RegionFile | None = None,
                 behaviour: str | Path | Behaviour | None = None, seed: int = 0,
                 replication: int = 0, start: int | None = None, end: int | None = None,
                 scale: float | None = None):
        self.seed, self.replication = int(seed), int(replication)
        mesa_seed = int(np.random.SeedSequence(self.seed, spawn_key=(self.replication, 1000))
                        .generate_state(1)[0])
        super().__init__(rng=mesa_seed)
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy)
        if region is None:
            if self.policy.region_path is None:
                raise ConfigError(f"{self.policy.path}: no region given and the package names none")
            region = self.policy.region_path
        self.region = region if isinstance(region, RegionFile) else load_region(region)
        check_policy_against_region(self.policy, self.region)
        self.behaviour = behaviour if isinstance(behaviour, Behaviour) else load_behaviour(behaviour)
        self.economy = self.region.economy
        base = self.region.region.base_year
        self.start = start or self.policy.meta.start or base + 1
        self.end = end or self.policy.meta.end or self.start + 9
        if self.start <= base or self.end < self.start:
            raise ConfigError(f"bad years: start {self.start}, end {self.end}, base {base}")
        self.scale = float(scale or self.region.region.default_scale)
        self.year = self.start - 1

        self.places: Places = build_places(self.region)  # our own: reclassification changes it
        T = self.T = self.places.n_towns
        P = self.places.n_places
        self.levers_by_year = {y: resolve(self.policy, self.places, y)
                               for y in range(self.start, self.end + 1)}

        # the engine's starting population (SettlementModel.__init__), one agent per row
        ss = np.random.SeedSequence(self.seed, spawn_key=(self.replication, POPULATION_STREAM, max(base, 0)))
        hh = synthesize(self.region, self.places, np.random.Generator(np.random.PCG64(ss)), self.scale)
        hh.birth_year += np.int16(self.start - 1 - base)
        columns = {name: getattr(hh, name).tolist() for name in HH_FIELDS}
        self.households: list[HouseholdAgent] = [
            HouseholdAgent(self, i, {name: columns[name][i] for name in HH_FIELDS})
            for i in range(hh.n)
        ]
        self.n = hh.n

        # towns (SettlementModel._init_towns)
        reg, eco = self.region, self.economy
        self.wage = [eco.urban_wage_yuan * t.wage_index for t in reg.towns]
        self.employment_rate = [t.employment_rate for t in reg.towns]
        self.rent = [float(t.rent_yuan_month) for t in reg.towns]
        self.price = [float(t.price_yuan_m2) for t in reg.towns]
        self.rural_index = 1.0
        self.urban = self.places.urban.tolist()  # per place; reclassification writes both
        kids = [0.0] * T
        residents = [0.0] * T
        for a in self.households:
            if a.place < T:
                kids[a.place] += a.kids_with * self.scale
                residents[a.place] += a.persons_at_place() * self.scale
        self.seats = [max(k * (1.0 + t.school_seat_slack), 0.0) for k, t in zip(kids, reg.towns)]
        self.rental_units = [float(t.public_rental_units) for t in reg.towns]
        self.nonfarm = [float(t.nonfarm_share) for t in reg.towns]
        self.community_nonfarm = list(self.nonfarm)
        self.residents_last = residents
        self.urban_land = [r * 100.0 for r in residents]
        self.seat_access = [1.0] * T
        self.rental_access = [1.0] * T
        self.seats_used = kids
        self.seat_shortfall = [0.0] * T
        self.rental_used = [0.0] * T
        self.rental_queue = [0.0] * T
        self.migrant_pupils = [0.0] * T
        self.private_pupils = [0.0] * T
        self.urban_village_town = [-1] * P
        for i, v in enumerate(reg.villages):
            if v.urban_village_of is not None:
                self.urban_village_town[T + i] = self.places.town_index[v.urban_village_of]
        self.settled_now: list[HouseholdAgent] = []

        beh = self.behaviour
        km = self.places.km.astype(np.float64)
        self.km_towns = [[float(km[p, j]) for j in range(T)] for p in range(P)]
        self.distance_term = [[-beh.beta_distance * math.log1p(km[p, j]) for j in range(T)]
                              for p in range(P)]
        self.zero_towns = [0.0] * T
        bonus = {"central_city": beh.tier_bonus_central_city, "sub_center": beh.tier_bonus_sub_center,
                 "small_town": beh.tier_bonus_small_town,
                 "rural_community": beh.tier_bonus_rural_community}
        self.asc_resident = [beh.asc_town + bonus[self.places.tier_name(j)] for j in range(T)]
        # the town's part of the value of hukou (sim.engine.decision.town_hukou_value)
        size = {"rural_community": 0.0, "small_town": 1.0 / 3.0, "sub_center": 2.0 / 3.0, "central_city": 1.0}
        self.asc_settle = [a + beh.asc_hukou + beh.beta_hukou_city_size * size[self.places.tier_name(j)]
                           for j, a in enumerate(self.asc_resident)]
        self.update_network()

        self.metrics: list[dict[str, Any]] = []
        self.towns_rows: list[dict[str, Any]] = []
        self.groups: list[dict[str, Any]] = []
        self._baseline()

    # ---- levers ------------------------------------------------------------------------------

    def set_levers(self, year: int) -> None:
        """The year's levers, and their per-town values as Python lists (``self.tl``)."""
        lv: Levers = self.levers_by_year[year]
        self.levers = lv

        def col(group: str, name: str) -> list:
            return lv.col(group, name).tolist()

        def is_(group: str, name: str, value: str) -> list:
            return lv.is_(group, name, value).tolist()

        def quota(group: str) -> list:
            return [q if q > 0 else INF for q in col(group, "annual_quota")]

        self.tl = SimpleNamespace(
            permit_min_years=col("services", "permit_min_years"),
            permit_coverage=col("services", "permit_coverage"),
            insurance_portable=col("services", "insurance_portable"),
            agri_subsidies_kept=col("services", "agri_subsidies_kept"),
            flexible_insurance_share=col("services", "flexible_insurance_share"),
            rental_subsidy_yuan=col("housing", "rental_subsidy_yuan"),
            # the subsidy's expected value (and its cost): amount x take-up share
            rental_subsidy_expected=[a * b for a, b in zip(col("housing", "rental_subsidy_yuan"),
                                                           col("housing", "rental_subsidy_takeup"))],
            support_limit=[x if x > 0 else INF for x in col("housing", "support_income_limit_yuan")],
            subsidy_to_hukou=is_("housing", "rental_subsidy_to", "hukou"),
            subsidy_to_permit=is_("housing", "rental_subsidy_to", "permit"),
            rent_discount=[1.0 - s for s in col("housing", "public_rental_rent_share")],
            public_rental_open_residents=is_("housing", "public_rental_open_to", "residents"),
            public_rental_min_job_years=col("housing", "public_rental_min_job_years"),
            public_rental_natives_only=col("housing", "public_rental_natives_only"),
            public_rental_province_only=col("housing", "public_rental_province_only"),
            public_rental_build=col("housing", "public_rental_build_per_year"),
            provident_fund_migrants=col("housing", "provident_fund_migrants"),
            support_requires_hukou=col("housing", "purchase_support_requires_hukou"),
            purchase_subsidy=col("housing", "purchase_subsidy_yuan"),
            deed_tax_subsidy=col("housing", "deed_tax_subsidy_share"),
            fee_relief=col("housing", "purchase_fee_relief_share"),
            # the admission share, raised by operating money that follows migrant pupils
            # (sim.engine.decision.admission_share)
            admission_share=[a + (1.0 - a) * min(f / c, 1.0) for a, f, c in zip(
                col("schools", "nonhukou_admission_share"),
                col("schools", "operating_funds_per_migrant_pupil_yuan"),
                col("fiscal", "pupil_operating_cost_yuan"))],
            # sim.engine.decision.private_school_share
            private_share=[min(sub / c, 1.0) for sub, c in zip(col("schools", "private_school_subsidy_yuan"),
                                                             col("fiscal", "private_school_cost_yuan"))],
            operating_funds=col("schools", "operating_funds_per_migrant_pupil_yuan"),
            private_subsidy=col("schools", "private_school_subsidy_yuan"),
            permit_basis=is_("schools", "enrolment_basis", "residence_permit"),
            local_exam=col("schools", "local_exam_nonhukou"),
            seat_growth=col("schools", "seat_growth_per_year"),
            funding_per_migrant_child=col("schools", "funding_per_migrant_child_yuan"),
            reserved_jobs=col("jobs", "reserved_jobs"),
            training_places=col("jobs", "training_places"),
            placements=col("jobs", "placements"),
            transfer=col("fiscal", "transfer_per_settler_yuan"),
            transfer_schools=col("fiscal", "transfer_share_schools"),
            transfer_housing=col("fiscal", "transfer_share_housing"),
            land_per_settler=col("fiscal", "land_per_settler_m2"),
            seat_cost=col("fiscal", "seat_cost_yuan"),
            unit_cost=col("fiscal", "rental_unit_cost_yuan"),
            service_cost=col("fiscal", "service_cost_per_person_yuan"),
            quota=quota("hukou"),
            quota_outsiders=quota("hukou_outsiders"),
            quota_province=quota("hukou_province"),
        )

    # ---- rationing -----------------------------------------------------------------------------

    @staticmethod
    def ration(candidates: list[tuple[int, int, float, float, HouseholdAgent]],
               capacity: list[float]) -> list[HouseholdAgent]:
        """sim.engine.rationing.ration: candidates ``(town, rank, tiebreak, weight, agent)`` are served
        town by town in (rank, tiebreak) order while their cumulative weight fits the town's
        capacity; once a town is full, nobody after is served."""
        by_town: dict[int, list] = defaultdict(list)
        for c in candidates:
            by_town[c[0]].append(c)
        served = []
        for town, queue in by_town.items():
            cap = capacity[town] + 1e-9
            queue.sort(key=lambda c: (c[1], c[2]))
            cum = 0.0
            for c in queue:
                cum += c[3]
                if cum > cap:
                    break
                served.append(c[4])
        return served

    # ---- 1. labour market ------------------------------------------------------------------------

    def labour_market(self) -> None:
        """sim.engine.stages.labour_market."""
        beh = self.behaviour
        self.wage = [w * (1.0 + beh.wage_growth) for w in self.wage]
        self.rural_index *= 1.0 + beh.rural_income_growth
        self.agents.shuffle_do("labour")
        self.job_programmes()
        self.agents.shuffle_do("earn")

    def job_programmes(self) -> None:
        """Placements to villagers at the nearest town offering them, and training places to
        migrants, each rationed by priority (sim.engine.stages.labour_market)."""
        T, tl, r = self.T, self.tl, self.random
        offers = tl.placements
        if sum(offers) > 0:
            cand, target = [], {}
            for a in self.households:
                if a.native and a.at_home_rural() and a.workers > 0:
                    row = self.km_towns[a.home]
                    # the nearest town offering placements (the first such town on a tie)
                    t = min(range(T), key=lambda j: (row[j] if offers[j] > 0 else INF, j))
                    target[id(a)] = t
                    cand.append((t, a.priority_rank(), r.random(), self.scale, a))
            for a in self.ration(cand, offers):
                a.placement = target[id(a)]
        self.reserved_offers()
        places_ = tl.training_places
        if sum(places_) > 0:
            cand = [(a.place, a.priority_rank(), r.random(), self.scale, a)
                    for a in self.households if a.is_migrant() and a.skill < 3]
            served = self.ration(cand, places_)
            for a in served:
                a.skill += 1
            self.year_counts["trained"] = len(served) * self.scale

    # ---- 2. ageing -------------------------------------------------------------------------------

    def ageing(self) -> None:
        """sim.engine.stages.ageing: the crude birth and death rates become per-household and
        per-elder probabilities from this year's totals, then every household ages."""
        beh = self.behaviour
        pop = young = elders = 0
        for a in self.households:
            pop += a.size
            young += a.head_age + 1 < 45
            elders += a.elders
        self.p_birth = beh.birth_rate * pop / max(young, 1)
        self.p_death = min(beh.death_rate * pop / max(elders, 1), 1.0)
        self.agents.shuffle_do("age")

    # ---- 4. choice: purchase cost ----------------------------------------------------------------

    def purchase_cost(self, a: HouseholdAgent, will_have_hukou: bool) -> tuple[float, float]:
        """sim.engine.stages.purchase_cost."""
        eco, tl = self.economy, self.tl
        town = a.place
        value = self.price[town] * eco.home_floor_area_m2
        fund = (tl.provident_fund_migrants[town] or will_have_hukou) and a.stable_job
        down = value * (eco.provident_down_payment_share if fund else eco.down_payment_share)
        deed = value * eco.deed_tax_rate
        fees = value * eco.transaction_fee_rate
        entitled = (not tl.support_requires_hukou[town]) or will_have_hukou
        support = (tl.purchase_subsidy[town] + deed * tl.deed_tax_subsidy[town]
                   + fees * tl.fee_relief[town]) if entitled else 0.0
        gross = down + deed + fees
        support = min(support, gross)
        return gross - support, support

    # ---- 5. capacity -------------------------------------------------------------------------------

    def capacity(self) -> None:
        """sim.engine.stages.capacity: quota (refused households take their fallback), moves, reserved
        jobs, public rental, school seats."""
        self.quota()
        self.agents.shuffle_do("move")
        self.reserved_jobs()
        self.public_rental()
        self.school_seats()

    def quota(self) -> None:
        T, r, tl = self.T, self.random, self.tl
        cand = [(a.want - 1 - T, a.priority_rank(goods=False), r.random(), a.size * self.scale, a)
                for a in self.households if a.want > T]
        if not cand:
            return
        # each class of outsiders against its own quota, then everyone against the town's
        outsiders = [c for c in cand if not c[4].native and not c[4].same_province]
        province = [c for c in cand if c[4].same_province]
        passed = {id(a) for a in self.ration(outsiders, tl.quota_outsiders)}
        passed |= {id(a) for a in self.ration(province, tl.quota_province)}
        second = [c for c in cand if c[4].native or id(c[4]) in passed]
        served = {id(a) for a in self.ration(second, tl.quota)}
        refused = [c[4] for c in cand if id(c[4]) not in served]
        for a in refused:
            a.want = a.fallback
        self.year_counts["quota_refused_households"] = len(refused) * self.scale

    def reserved_vacancies(self) -> list[float]:
        """sim.engine.rationing.reserved_vacancies: each town's stock of reserved posts less those held."""
        held = [0.0] * self.T
        for a in self.households:
            if a.reserved_job and a.place < self.T:
                held[a.place] += self.scale
        return [max(s - h, 0.0) for s, h in zip(self.tl.reserved_jobs, held)]

    def reserved_offers(self) -> None:
        """sim.engine.stages.s1_labour.reserved_offers: the vacant reserved posts, in one draw by
        priority, to migrants in town without a stable job (they take the post at once) and to
        native villagers at home without a placement, at the nearest town with vacant posts (an
        offer held for the year)."""
        T, r = self.T, self.random
        if sum(self.tl.reserved_jobs) == 0:
            return
        vacant = self.reserved_vacancies()
        if not any(v > 0 for v in vacant):
            return
        cand, target = [], {}
        for a in self.households:
            if a.is_migrant() and not a.stable_job and a.workers > 0 and vacant[a.place] > 0:
                cand.append((a.place, a.priority_rank(), r.random(), self.scale, a))
            elif a.native and a.at_home_rural() and a.workers > 0 and a.placement < 0:
                row = self.km_towns[a.home]
                t = min(range(T), key=lambda j: (row[j] if vacant[j] > 0 else INF, j))
                target[id(a)] = t
                cand.append((t, a.priority_rank(), r.random(), self.scale, a))
        for a in self.ration(cand, vacant):
            if id(a) in target:  # a villager: an offer for the year
                a.placement = target[id(a)]
                a.reserved_offer = True
            else:
                a.stable_job = True
                a.employed = max(a.employed, 1)
                a.reserved_job = True
                self.year_counts["reserved_jobs_filled"] += self.scale

    def reserved_jobs(self) -> None:
        """sim.engine.stages.reserved_jobs: the posts still vacant after the moves, to migrants in
        town without a stable job (arrivals included)."""
        if sum(self.tl.reserved_jobs) == 0:
            return
        r = self.random
        cand = [(a.place, a.priority_rank(), r.random(), self.scale, a) for a in self.households
                if a.is_migrant() and not a.stable_job and a.workers > 0]
        got = self.ration(cand, self.reserved_vacancies())
        for a in got:
            a.stable_job = True
            a.employed = max(a.employed, 1)
            a.reserved_job = True
        self.year_counts["reserved_jobs_filled"] += len(got) * self.scale

    def public_rental(self) -> None:
        """sim.engine.stages.public_rental: free units to eligible applicants by priority."""
        T, tl, r, k = self.T, self.tl, self.random, self.scale
        used = [0.0] * T
        cand = []
        for a in self.households:
            if not a.town_dweller():
                continue
            j = a.place
            if a.tenure == PUBLIC_RENTAL:
                used[j] += k
                continue
            if a.owned_town == j:
                continue
            hukou_here = a.hukou_urban and a.hukou == j
            resident_ok = (tl.public_rental_open_residents[j] and a.stable_job
                           and a.job_years >= tl.public_rental_min_job_years[j]
                           and a.origin_admitted(j))
            need = a.income_per_person() <= tl.support_limit[j]  # the income test
            if (hukou_here or resident_ok) and need:
                cand.append((j, a.priority_rank(), r.random(), k, a))
        free = [max(u - x, 0.0) for u, x in zip(self.rental_units, used)]
        served = self.ration(cand, free)
        housed = [0.0] * T
        for a in served:
            a.tenure = PUBLIC_RENTAL
            housed[a.place] += k
        applicants = [0.0] * T
        for c in cand:
            applicants[c[0]] += k
        self.rental_used = [u + h for u, h in zip(used, housed)]
        self.rental_queue = [ap - h for ap, h in zip(applicants, housed)]
        self.rental_access = [h / max(ap, 1e-9) if ap > 0 else 1.0 for ap, h in zip(applicants, housed)]

    def school_seats(self) -> None:
        """sim.engine.stages.school_seats: hukou (or permit-basis) children first, then incumbents,
        then non-hukou children admitted under the admission share (raised by operating money), by
        priority; a native migrant's child without a seat is left behind unless a subsidised
        private school takes it."""
        T, tl, r, k = self.T, self.tl, self.random, self.scale
        rows, cand = [], []
        is_hukou = {}
        for a in self.households:
            if a.kids_school <= 0 or not a.town_dweller():
                continue
            rows.append(a)
            j = a.place
            hukou = a.hukou_urban and a.hukou == j
            as_hukou = hukou or (tl.permit_basis[j] and a.years_in_town >= tl.permit_min_years[j])
            incumbent = a.public_seat and a.years_in_town > 0
            if as_hukou or incumbent or r.random() < tl.admission_share[j]:
                rank = 0 if as_hukou else (1 if incumbent else a.priority_rank() + 2)
                cand.append((j, rank, r.random(), a.kids_school * k, a))
                is_hukou[id(a)] = hukou
        served = self.ration(cand, self.seats)
        seated = {id(a) for a in served}
        for a in self.households:
            a.public_seat = id(a) in seated
        private_pupils = [0.0] * T
        for a in rows:
            native_migrant = (not a.hukou_urban) and a.native
            # a subsidised private school takes a native migrant's pupils with the town's share
            private = native_migrant and not a.public_seat and r.random() < tl.private_share[a.place]
            a.kids_with = a.kids_school if (a.public_seat or not native_migrant or private) else 0
            if not a.public_seat and not a.hukou_urban and (not a.native or private):
                private_pupils[a.place] += a.kids_school * k
        self.private_pupils = private_pupils
        demand, used, pupils = [0.0] * T, [0.0] * T, [0.0] * T
        for c in cand:
            demand[c[0]] += c[3]
        for a in served:
            used[a.place] += a.kids_school * k
            if not is_hukou[id(a)]:
                pupils[a.place] += a.kids_school * k
        self.seats_used = used
        self.seat_shortfall = [d - u for d, u in zip(demand, used)]
        self.seat_access = [u / max(d, 1e-9) if d > 0 else 1.0 for d, u in zip(demand, used)]
        self.migrant_pupils = pupils

    # ---- 7. feedback --------------------------------------------------------------------------------

    def feedback(self) -> None:
        """sim.engine.stages.feedback: 人地钱挂钩 transfers buy seats and units and bring land; seats
        grow; public rental is built; rents and prices follow wages, demand and land."""
        T, tl, beh, k = self.T, self.tl, self.behaviour, self.scale
        settlers = [0.0] * T
        for a in self.settled_now:
            settlers[a.place] += a.size * k
        residents = [0.0] * T
        for a in self.households:
            if a.place < T:
                residents[a.place] += a.persons_at_place() * k
        transfer_total = funding_total = growth_cost = built_cost = service_cost = 0.0
        for j in range(T):
            transfer = settlers[j] * tl.transfer[j]
            self.seats[j] += transfer * tl.transfer_schools[j] / tl.seat_cost[j]
            self.rental_units[j] += transfer * tl.transfer_housing[j] / tl.unit_cost[j]
            funding = self.migrant_pupils[j] * tl.funding_per_migrant_child[j]
            self.seats[j] += funding / tl.seat_cost[j]
            # operating money and private-school subsidies buy no seat (sim.engine.stages.feedback)
            funding += (self.migrant_pupils[j] * tl.operating_funds[j]
                        + self.private_pupils[j] * tl.private_subsidy[j])
            grown = self.seats[j] * tl.seat_growth[j]
            self.seats[j] += grown
            growth_cost += grown * tl.seat_cost[j]
            self.rental_units[j] += tl.public_rental_build[j]
            transfer_total += transfer
            funding_total += funding
            built_cost += tl.public_rental_build[j] * tl.unit_cost[j]
            service_cost += settlers[j] * tl.service_cost[j]

            growth = residents[j] / max(self.residents_last[j], 1.0) - 1.0
            land = settlers[j] * tl.land_per_settler[j]
            self.urban_land[j] += land
            land_growth = land / max(self.urban_land[j], 1.0)
            factor = (1.0 + beh.wage_growth) * (1.0 + beh.rent_elasticity * growth
                                                - beh.land_supply_elasticity * land_growth)
            factor = min(max(factor, 0.7), 1.5)
            self.rent[j] *= factor
            self.price[j] *= factor
        self.residents_last = residents
        c = self.year_counts
        c["seat_growth_cost_yuan"] = growth_cost
        c["transfer_yuan"] = transfer_total
        c["school_funding_yuan"] = funding_total
        c["public_rental_built_yuan"] = built_cost
        c["service_cost_yuan"] = service_cost
        self.reclassify()

    def reclassify(self) -> None:
        """sim.engine.stages.reclassify: rural communities past the non-farm threshold become urban
        (their resident members take local urban hukou); urban-village households are converted
        at the scheduled share."""
        T, lv, r, k = self.T, self.levers, self.random, self.scale
        growth = self.behaviour.local_nonfarm_growth
        self.nonfarm = [x + growth * (1.0 - x) for x in self.nonfarm]
        converted: list[HouseholdAgent] = []
        if lv.in_situ.reclassify:
            communities = [j for j in range(T)
                           if self.places.tier[j] == RURAL_COMMUNITY and not self.urban[j]]
            for j in communities:
                members = [a for a in self.households if a.hukou == j and not a.hukou_urban]
                away = sum(1 for a in members if a.place != j and a.place < T and a.employed > 0)
                share = (away + self.nonfarm[j] * (len(members) - away)) / max(len(members), 1)
                self.community_nonfarm[j] = share
                if share > lv.in_situ.nonfarm_threshold:
                    self.urban[j] = True
                    self.places.urban[j] = True
                    converted += [a for a in members if a.place == j]
        conv_share = lv.in_situ.urban_village_conversion_share
        village_persons = 0.0
        if conv_share > 0:
            for a in self.households:
                town = self.urban_village_town[a.hukou] if a.hukou >= 0 else -1
                if town >= 0 and not a.hukou_urban and a.place == a.hukou and r.random() < conv_share:
                    a.hukou = a.place = a.owned_town = town
                    converted.append(a)
                    village_persons += a.size * k
        self.year_counts["urban_village_converted_persons"] = village_persons
        persons = 0.0
        for a in converted:
            a.hukou_urban = True
            a.tenure = OWNED
            a.owned_town = a.place
            a.settled_year = self.year
            a.kids_with = a.kids_school
            persons += a.size * k
        self.year_counts["reclassified_persons"] = persons

    # ---- 8. record ------------------------------------------------------------------------------------

    def record(self) -> None:
        """sim.engine.stages.s8_record.record: the year's metrics (the households' part of the row)."""
        k, c, urban, tl = self.scale, self.year_counts, self.urban, self.tl
        population = urban_res = hukou_urban = left = pupils = non_hukou = rental_sub = 0.0
        n_mig = n_elig = 0
        intentions = []
        for a in self.households:
            size = a.size
            at_place = a.persons_at_place()
            population += size
            urban_res += at_place * urban[a.place] + (size - at_place) * urban[a.home]
            if a.hukou_urban:
                hukou_urban += size
            left += a.left_behind()
            pupils += a.kids_school if (a.native and a.is_migrant()) else 0
            migrant = a.is_migrant()
            if migrant:
                non_hukou += at_place
            if a.start_migrant:
                n_mig += 1
                n_elig += a.eligible_here
                if not math.isnan(a.intention):
                    intentions.append(a.intention)
            if self.year >= self.start and a.tenure in (RENTED, PUBLIC_RENTAL) and a.town_dweller():
                j = a.place
                hukou = a.hukou_urban and a.hukou == j
                permit = a.years_in_town >= tl.permit_min_years[j]
                need = a.income_per_person() <= tl.support_limit[j]
                if need and ((tl.subsidy_to_hukou[j] and hukou) or (tl.subsidy_to_permit[j] and (permit or hukou))):
                    rental_sub += tl.rental_subsidy_expected[j]
        population *= k
        urban_res *= k
        hukou_urban *= k
        rental_sub *= k
        public_cost = (c["purchase_support_yuan"] + rental_sub + c["school_funding_yuan"]
                       + c["service_cost_yuan"] + c["public_rental_built_yuan"]
                       + c["seat_growth_cost_yuan"])
        self.metrics.append({
            "replication": self.replication,
            "seed": self.seed,
            "year": self.year,
            "population": population,
            "households": self.n * k,
            "resident_urbanization": urban_res / population,
            "hukou_urbanization": hukou_urban / population,
            "urbanization_gap": (urban_res - hukou_urban) / population,
            "migrated_persons": c["migrated_persons"],
            "settled_households": c["settled_households"],
            "settled_persons": c["settled_persons"],
            "returned_persons": c["returned_persons"],
            "reclassified_persons": c["reclassified_persons"],
            "urban_village_converted_persons": c["urban_village_converted_persons"],
            "new_hukou_persons": c["settled_persons"] + c["reclassified_persons"],
            "settlement_intention": sum(intentions) / len(intentions) if intentions else math.nan,
            "eligible_share": n_elig / n_mig if n_mig else math.nan,
            "left_behind_children": left * k,
            "left_behind_share": left / pupils if pupils else float("nan"),
            "land_exited_mu": c["land_exited_mu"],
            "homesteads_exited": c["homesteads_exited"],
            "collective_shares_exited": c["collective_shares_exited"],
            "compensation_paid_yuan": c["compensation_paid_yuan"],
            "public_cost_yuan": public_cost,
            "migrant_pupils_public": sum(self.migrant_pupils),  # non-hukou pupils seated (stage 5)
            "rental_subsidy_yuan": rental_sub,
            "purchase_support_yuan": c["purchase_support_yuan"],
            "transfer_yuan": c["transfer_yuan"],
            "births": c["births"],
            "deaths": c["deaths"],
            "homes_bought": c["homes_bought"],
            "trained": c["trained"],
            "reserved_jobs_filled": c["reserved_jobs_filled"],
            "quota_refused_households": c["quota_refused_households"],
            "non_hukou_residents": non_hukou * k,
            # as published: the simulated rate plus any change in how the statistic is measured
            "resident_urbanization_reported": urban_res / population
            + self.policy.statistical_shift("resident_urbanization", self.year),
            "hukou_urbanization_reported": hukou_urban / population
            + self.policy.statistical_shift("hukou_urbanization", self.year),
        })
        self.record_groups()
        self.record_towns()

    def record_groups(self) -> None:
        """Settlement by group (sim.engine.stages.s8_record.record, groups.parquet): the year's starting
        migrants of each group, their eligibility and intention, and the group's settlers."""
        k = self.scale
        n = len(GROUP_NAMES)
        res, elig, settled_hh, settled_p, settled_res = [0] * n, [0] * n, [0] * n, [0] * n, [0] * n
        intent: list[list[float]] = [[] for _ in range(n)]
        settled_ids = {id(a) for a in self.settled_now}
        for a in self.households:
            settled = id(a) in settled_ids
            if not (a.start_migrant or settled):
                continue
            for g, member in enumerate(a.start_groups):
                if not member:
                    continue
                if a.start_migrant:
                    res[g] += 1
                    elig[g] += a.eligible_here
                    if not math.isnan(a.intention):
                        intent[g].append(a.intention)
                if settled:
                    settled_hh[g] += 1
                    settled_p[g] += a.size
                    settled_res[g] += a.start_migrant
        for g, name in enumerate(GROUP_NAMES):
            self.groups.append({
                "replication": self.replication, "year": self.year, "group": name,
                "residents_households": res[g] * k,
                "eligible_share": elig[g] / res[g] if res[g] else math.nan,
                "intention": sum(intent[g]) / len(intent[g]) if intent[g] else math.nan,
                "settled_households": settled_hh[g] * k,
                "settled_persons": settled_p[g] * k,
                "settlement_rate": settled_res[g] / res[g] if res[g] else math.nan,
            })

    def record_towns(self) -> None:
        """The year's town table (sim.engine.stages.s8_record.record, towns.parquet)."""
        T, k = self.T, self.scale
        residents, holders, tenants, held_posts = [0.0] * T, [0.0] * T, [0.0] * T, [0.0] * T
        for a in self.households:
            if a.place < T:
                residents[a.place] += a.persons_at_place() * k
                if a.tenure == PUBLIC_RENTAL:
                    tenants[a.place] += k
                if a.reserved_job:
                    held_posts[a.place] += k
            if a.hukou_urban and 0 <= a.hukou < T:
                holders[a.hukou] += a.size * k
        for j in range(T):
            self.towns_rows.append({
                "replication": self.replication, "year": self.year, "town": self.places.names[j],
                "tier": self.places.tier_name(j), "urban": bool(self.urban[j]),
                "residents": residents[j], "hukou_holders": holders[j],
                "school_seats": self.seats[j], "seats_used": self.seats_used[j],
                "seat_shortfall": self.seat_shortfall[j],
                "public_rental_units": self.rental_units[j], "public_rental_tenants": tenants[j],
                "public_rental_queue": self.rental_queue[j],
                "rent_yuan_month": self.rent[j], "price_yuan_m2": self.price[j],
                "nonfarm_share": self.community_nonfarm[j],
                "reserved_jobs_held": held_posts[j],
            })

    def update_network(self) -> None:
        """Share of each origin's households living in each town (SettlementModel.update_network)."""
        T, P = self.T, self.places.n_places
        counts = [[0] * T for _ in range(P)]
        per_origin = [0] * P
        for a in self.households:
            per_origin[a.origin] += 1
            if a.place < T:
                counts[a.origin][a.place] += 1
        self.network = [[c / max(n, 1) for c in row] for row, n in zip(counts, per_origin)]

    # ---- the year --------------------------------------------------------------------------------------

    def _baseline(self) -> None:
        """The starting row (year start - 1) under the first year's levers."""
        self.set_levers(self.start)
        self.year_counts: dict[str, float] = defaultdict(float)
        self.agents.shuffle_do("check_eligibility")
        self.agents.shuffle_do("baseline_intention")
        self.record()

    def step(self) -> None:
        """One year: the eight stages in the engine's order."""
        self.year += 1
        self.set_levers(self.year)
        self.year_counts = defaultdict(float)
        self.settled_now = []
        self.labour_market()                            # 1
        self.ageing()                                   # 2
        self.agents.shuffle_do("check_eligibility")     # 3
        self.agents.shuffle_do("choose")                # 4
        self.agents.shuffle_do("buy_home")
        self.capacity()                                 # 5
        self.agents.shuffle_do("exit_rights")           # 6
        self.feedback()                                 # 7
        self.record()                                   # 8
        self.update_network()
        if self.year >= self.end:
            self.running = False

    def run(self) -> ReferenceModel:
        while self.running:
            self.step()
        return self


# =============================================================================================
# Speed
# =============================================================================================


def main() -> int:
    ap = argparse.ArgumentParser(description="Time the Mesa reference model (agent-steps per second).")
    ap.add_argument("--policy", default=str(ROOT / "configs" / "policies" / "qingdao_2017.toml"))
    ap.add_argument("--scale", type=float, default=31.0)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engine", action="store_true", help="also time SettlementModel on the same run")
    args = ap.parse_args()
    policy = load_policy(args.policy)
    region = load_region(policy.region_path)
    start = policy.meta.start or region.region.base_year + 1
    end = start + args.years - 1
    t0 = time.perf_counter()
    m = ReferenceModel(policy, region, seed=args.seed, start=start, end=end, scale=args.scale)
    t1 = time.perf_counter()
    m.run()
    t2 = time.perf_counter()
    steps = m.n * args.years
    print(f"reference: {m.n} households, {args.years} years: setup {t1 - t0:.1f} s, "
          f"steps {t2 - t1:.1f} s, {steps / (t2 - t1):,.0f} agent-steps/s")
    if args.engine:
        from sim.engine.model import SettlementModel

        t0 = time.perf_counter()
        e = SettlementModel(policy, region, seed=args.seed, start=start, end=end, scale=args.scale)
        t1 = time.perf_counter()
        e.run()
        t2 = time.perf_counter()
        print(f"engine:    {e.hh.n} households, {args.years} years: setup {t1 - t0:.1f} s, "
              f"steps {t2 - t1:.1f} s, {e.hh.n * args.years / (t2 - t1):,.0f} agent-steps/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
