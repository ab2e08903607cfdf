"""Lever response curves (issue 15 item 2): every lever of the policy schema, its plausible range,
and its dose-response on each seed region through the sweep machinery.

:data:`CATALOGUE` declares one :class:`Lever` per lever field of the policy schema
(:func:`schema_levers` enumerates them, so a new field without an entry fails
``tests/test_response.py``). An entry names the field as ``group.field`` (``rights.land.paid_exit``,
``hukou.points_weights.owns_home``), the values it is run at over its plausible range and where
that range comes from, its "off" value (the package without the lever: the schema's no-policy
default), the direction theory expects for settlement (or ``None``), the literature's magnitude
or "no published magnitude", and the outcome its direction and flatness are judged on.

A lever is applied **region-wide**: for a per-town group the value is written to ``default`` and
to every tier and town where the package (any layer or dated change) sets that field, so no tier
or town override masks it; for ``hukou_outsiders`` also where the natives' ``hukou`` rules set it
(they come before the outsiders' default in the merge, ``sim.engine.levers.resolve``). The
override is the top layer, so it beats the package's dated changes too. Some levers act only
when another lever is set (a points weight needs a points threshold; a floor-area minimum needs
``purchase_required``): their entry's ``context`` sets those levers, region-wide, at every value,
off included, and says why.

:func:`run_responses` makes one :class:`~sim.experiments.spec.Experiment` per (lever, region)
— the region's seed package, one design point per value — and runs it with
:func:`~sim.experiments.sweep.run_sweep` on one shared worker pool, so replication r of every
value uses the same households and draws (common random numbers). It returns one row per
(lever, value, region, replication) with the paired differences from the lever's off value.
:func:`verdicts` tells, per lever and region, whether the response is flat and whether its
direction is the expected one.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel

from sim.configuration import (
    PER_TOWN_GROUPS,
    POLICIES,
    RATE_METRICS,
    REGION_WIDE_GROUPS,
    Policy,
    load_policy,
    load_region,
)
from sim.errors import SimError, UsageError

SEED_REGIONS: dict[str, str] = {
    "dehong": "dehong_2011",
    "qingdao": "qingdao_2017",
    "changji": "changji_2018",
    "xuchang": "xuchang_2024",
    "dashiqiao": "dashiqiao_2020",
}
"""Each seed region and the package of its own document (``configs/policies``)."""

DEFAULT_SCALE = 50.0
"""Households per agent of a response run: 1,000-62,000 agents a region, ~0.04-0.3 s a run."""

DEFAULT_REPLICATIONS = 3

STOCKS = frozenset({"left_behind_children", "non_hukou_residents", "urban_hukou_persons",
                    "hukou_population", "population", "households", "migrant_pupils_public"})
"""Outcomes read in the final year (with the rates); every other metric is summed over the
simulated years."""

RATE_TOLERANCE = 0.001
"""A change in a rate outcome smaller than this (0.1 percentage point) is negligible."""

COUNT_TOLERANCE = 0.01
"""A change in a count or yuan outcome smaller than this share of its off value is negligible."""


# --------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------


HORIZON_YEARS = 10  # every response is run over ten years from its package's start


def response_behaviour() -> Path | None:
    """The one behaviour set lever responses run with: the posterior mean where it exists (a
    response is the model's mechanism at one behaviour; with a posterior draw per replication,
    behaviour spread would swamp the paired changes), else the default file."""
    from sim.configuration import BEHAVIOUR_DIR

    mean = BEHAVIOUR_DIR / "posterior.mean.toml"
    return mean if mean.is_file() else None


@dataclass(frozen=True)
class Lever:
    """One lever field of the policy schema, with its plausible range and expectations."""

    name: str  # group.field (rights.land.paid_exit; hukou.points_weights.owns_home)
    what: str
    values: tuple[Any, ...]  # run over the plausible range, in increasing order (x axis)
    off: Any  # the package without the lever (the schema's default); run too
    range_source: str
    direction: Literal["+", "-"] | None  # of the outcome from values[0] to values[-1]
    reason: str
    literature: str
    outcome: str = "settled_persons"  # a metric, or "group:<group>:<column>" of groups.parquet
    context: dict[str, Any] = field(default_factory=dict)  # other levers (group.field) set throughout
    context_reason: str = ""
    kind: Literal["lever", "parameter"] = "lever"  # parameter: a unit cost, not a planner's choice
    test_region: str = "dehong"  # where tests/test_response.py checks the direction
    why: str = ""  # where the response is flat, weak or against expectation: why (found by reading the model)
    # the replications tests/test_response.py's direction test runs the entry at (more than the
    # default 3 where replication noise hides an effect larger than the tolerance; say why in why)
    test_replications: int = 3
    # where the lever's stake is too small for a response beyond the tolerance (the stake measured
    # in why): the test (tests/<file>.py::<name>) that its yuan enter the decision as the same
    # yuan of another lever do; tests/test_response.py's direction test skips the entry
    mechanism_test: str = ""

    @property
    def group(self) -> str:
        return self.name.split(".")[0]

    @property
    def categorical(self) -> bool:
        return not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in (*self.values, self.off))

    def run_values(self, endpoints: bool = False) -> list[Any]:
        """The values run: the range (or its two ends) and the off value, in x order."""
        vals = [self.values[0], self.values[-1]] if endpoints else list(self.values)
        if self.off not in vals:
            vals.append(self.off)
        return sorted(vals, key=self.x)

    def x(self, value: Any) -> float:
        """Position on the x axis: the number itself, or the index in ``values`` (off, if not
        among them, just before them)."""
        if not self.categorical:
            return float(value)
        return float(self.values.index(value)) if value in self.values else -1.0


def label(value: Any) -> str:
    """A lever value as the docs print it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value) + "]" if value else "[]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def schema_levers() -> list[str]:
    """Every lever field of the policy schema as ``group.field`` (nested tables recursed into:
    ``rights.land.paid_exit``), in schema order."""
    out: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            if name in ("source", "sources"):
                continue
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{prefix}{name}.")
            else:
                out.append(prefix + name)

    for group, model in {**PER_TOWN_GROUPS, **REGION_WIDE_GROUPS}.items():
        walk(model, f"{group}.")
    return out


NO_MAGNITUDE = "no published magnitude"
PUBLIC_RENTAL_WHY = (
    "the units are full whoever may apply, so the rules only reallocate them. Measured on Dehong "
    "(dehong_2011, 2011-2020, 3 replications at scale 50, posterior mean; 2026-11-30): in 2020 "
    "its towns have 14,350 public rental units and 13,450 tenants against 294,000 non-hukou "
    "residents; opening the units to residents lengthens the queue from 34,550 to 55,400 "
    "households and leaves the tenants as they were; settlement intention 0.353 -> 0.349, "
    "settled persons 246,300 -> 245,600 (noise ± 1,200). A rule on who may apply, or the rent, "
    "reaches at most the few percent of migrants a unit could house, and opening it raises the "
    "resident's option as it lowers hukou's advantage, so theory gives no direction; the lever "
    "that adds units is housing.public_rental_build_per_year (or the transfer's housing share)")
PURCHASE_SUBSIDY_WHY = (
    "it acts, but mostly as a transfer to buyers who would have bought anyway, and a bought home "
    "seldom becomes a hukou. Measured on Xuchang (seed 003's 18,000 yuan in both tiers against "
    "none, deed-tax refund kept; 2024-2025, 3 replications at scale 10, posterior mean; "
    "2026-11-30): 105,810 homes bought by rural-origin town dwellers in two years, of which "
    "14,897 (14%) not without the subsidy; +630 settled persons; 15.4亿 of support paid, so "
    "103,000 yuan per additional purchase and 2.4 million per additional settler. At 100,000 "
    "yuan: +79,860 purchases (47% of 170,773), +3,177 settlers, 175,000 per additional purchase, "
    "4.4 million per additional settler. The chain is: the subsidy lowers the up-front cost, so "
    "some who could not afford a home buy one (stage 4, buy_homes); an owner values hukou more "
    "(beta_hukou_owner, an assumption) and meets a purchase route, but in an open-hukou town that "
    "adds little. Villagers buying a town home before they move (进城购房 from the village) are "
    "not modelled: the subsidy reaches only households already living in the town, so it moves "
    "no one from a village (a limit of the model, docs/ODD.md)")
AN_YAN = ("An & Yan (2024), 当代经济科学 2024(1), CFPS 2012-2018, for the post-2014 hukou reform "
          "as a whole: the share of rural-hukou labour in treatment cities fell 3.4% against control "
          "cities (urban-hukou labour +1.9%, city migrants +1.5%); no magnitude for this condition "
          "alone")
NATIONAL_2014 = ("国发〔2014〕25号 (2014): social-insurance years asked of settlers at most 3 in "
                 "medium cities, at most 5 in large cities; seed 002 §(五): at most 2 in Changji")


def _route_only(group: str) -> dict[str, Any]:
    """No basic route and no open entry: a route lever measured as a route of its own."""
    return {f"{group}.open": False, f"{group}.residence": False, f"{group}.job": False,
            f"{group}.purchase_required": False}


ROUTE_REASON = ("measured as a route of its own: the basic route closed (open, residence, job and "
                "purchase_required false), since where the basic route admits nearly every migrant "
                "(every seed package) a further route adds almost no one")
OR_REASON = ("residence and job as alternatives ('or', seed 001 §(十一)): under 'and' (Dehong's "
             "outsiders, seed 001 §(十四)) a second condition narrows the route instead")
OWNS_HOME_WHY = ("replication noise, not a weak lever (issue 15 review, means d): few migrants own a "
                 "home in town, and whether the 20-40 points bring one over the threshold of 100 "
                 "changes who settles, so the paired runs drift apart; at 3 replications +2,317 ± "
                 "2,500 settled persons on Dehong from 5 to 40 points (tolerance 785: "
                 "inconclusive), at 8 (the direction test's) +2,988 ± 1,077 (tolerance 771), "
                 "scale 50, posterior mean; after the posterior's re-fit (main 6b566a5) +3,344 ± 1,317 (tolerance 842)")
POINTS_WEIGHTS = {"per_year_resident": 5, "per_insurance_year": 10, "per_education_level": 10,
                  "per_skill_level": 10, "owns_home": 20, "stable_job": 10}
"""configs/policies/qingdao_pre_reform.toml's points scheme (assumption there)."""


def _hukou(g: str) -> list[Lever]:
    """The entry rules, for natives (``hukou``), outsiders (``hukou_outsiders``) or outsiders
    from the same province (``hukou_province``)."""
    who = {"hukou": "natives (and outsiders, where the package sets no outsiders' rule for the field)",
           "hukou_outsiders": "outsiders (households whose hukou is outside the region)",
           "hukou_province": "outsiders from the region's own province (on top of the outsiders' "
                             "rules)"}[g]
    route = _route_only(g)
    points = {**route, f"{g}.points_threshold": 100.0}
    out = [
        Lever(f"{g}.open", f"Settlement open to every migrant resident in town, for {who}.",
              (False, True), False, "switch: seed 003 (anyone willing may register), seed 004 §(一) "
              "全面取消落户限制", "+", "an extra route to hukou, taken by those who want it", AN_YAN),
        Lever(f"{g}.residence", f"A legal stable residence (合法稳定住所) is a basic condition, for {who}.",
              (False, True), False, "switch: seed 000 §二(一), seed 001 §(十一)", "+",
              "adds a basic route, an alternative to the job condition", AN_YAN,
              context={f"{g}.combine": "or"}, context_reason=OR_REASON),
        Lever(f"{g}.rental_counts", f"A rented home counts as a legal stable residence, for {who}.",
              (False, True), False, "switch: seed 000 §二(一) (含租赁), seed 001 §(十二)", "+",
              "renters meet the residence condition", NO_MAGNITUDE),
        Lever(f"{g}.job", f"A legal stable job (合法稳定就业) is a basic condition, for {who}.",
              (False, True), False, "switch: seed 000 §二(一), seed 001 §(十一)", "+",
              "adds a basic route, an alternative to the residence condition", AN_YAN,
              context={f"{g}.combine": "or"}, context_reason=OR_REASON),
        Lever(f"{g}.combine", f"Residence and job conditions combined by 'or' or 'and', for {who}.",
              ("or", "and"), "or", "seed 001 §(十一) (natives: 或) against §(十四) (outsiders: 并)", "-",
              "'and' asks for both conditions", NO_MAGNITUDE),
        Lever(f"{g}.min_years_resident", f"Minimum years resident in the town, for {who}.",
              (0, 1, 2, 3, 5), 0, "seed 000 §二(一) cancels 就业年限 (qingdao_pre_reform: 2 years in "
              "small towns, assumption); seed 000's priority group 居住5年以上 bounds it at 5",
              "-", "fewer migrants meet a longer residence condition", NO_MAGNITUDE),
        Lever(f"{g}.min_insurance_years", f"Minimum years of urban social insurance, for {who}.",
              (0, 1, 2, 3, 5), 0, NATIONAL_2014, "-",
              "fewer migrants meet a longer contribution condition", NO_MAGNITUDE),
        Lever(f"{g}.min_insurance_years_residence", f"Minimum years of urban social insurance on the "
              f"residence path only, for {who}.", (0, 1, 2, 3, 5), 0, NATIONAL_2014, "-",
              "fewer migrants meet the residence path (the job path is closed here)", NO_MAGNITUDE,
              context={f"{g}.residence": True, f"{g}.job": False, f"{g}.open": False},
              context_reason="the residence path alone (job condition off, entry not open), so the "
              "condition is not bypassed by the other path"),
        Lever(f"{g}.min_insurance_years_job", f"Minimum years of urban social insurance on the job "
              f"path only (就业年限 shown by contributions), for {who}.", (0, 1, 2, 3, 5), 0,
              NATIONAL_2014 + "; qingdao_pre_reform (就业年限, seed 000 §二(一) cancels it)", "-",
              "fewer migrants meet the job path (the residence path is closed here)", NO_MAGNITUDE,
              context={f"{g}.job": True, f"{g}.residence": False, f"{g}.open": False},
              context_reason="the job path alone (residence condition off, entry not open), so the "
              "condition is not bypassed by the other path"),
        Lever(f"{g}.purchase_required", f"An owned home in town is required, for {who}.",
              (False, True), False, "seed 001 §(二) 放宽购房落户条件 (dehong_pre_reform), seed 000 §二(一) "
              "加快取消购房面积", "-", "the basic route then needs an owned home", NO_MAGNITUDE),
        Lever(f"{g}.min_floor_area_m2", f"Minimum floor area of the owned home, for {who}.",
              (0.0, 60.0, 90.0, 120.0), 0.0, "qingdao_pre_reform: 60 m2, 90 m2 in the central districts "
              "(assumption); seed 000 §二(一) 取消购房面积; every model home has the region's "
              "home_floor_area_m2 (90 m2)", "-", "a line above the home size closes the purchase route",
              NO_MAGNITUDE, context={f"{g}.purchase_required": True},
              context_reason="the area applies only where a purchase is required"),
        Lever(f"{g}.talent", f"Talent condition (tax paid or skill): none, a condition on the basic "
              f"route (required), or a route of its own (route), for {who}.",
              ("required", "none", "route"), "none", "seed 001 §(十四) (required, outsiders); "
              "qingdao_pre_reform and changji_pre_reform (route)", "+",
              "'required' narrows the basic route, 'route' adds one",
              NO_MAGNITUDE, context={f"{g}.tax_threshold_yuan": 100000.0, f"{g}.skill_min_level": 2},
              context_reason="seed 001 §(十四)'s talent condition (10万 yuan of tax in 3 years, or "
              "skill level 2), without which the talent condition is never met"),
        Lever(f"{g}.tax_threshold_yuan", f"Tax paid over three years that qualifies by the talent "
              f"condition, for {who}.", (20000.0, 50000.0, 100000.0, 200000.0), 0.0,
              "seed 001 §(十四) 3年累计纳税10万元; qingdao/changji_pre_reform 10万 (assumption)", "-",
              "fewer households paid more tax", NO_MAGNITUDE,
              context={**route, f"{g}.talent": "route"}, context_reason=ROUTE_REASON),
        Lever(f"{g}.skill_min_level", f"Skill level (0-3) that qualifies by the talent condition, "
              f"for {who}.", (1, 2, 3), 0, "seed 001 §(十四) 中级技工 (level 2); seed 002 §(四) 技术工人",
              "-", "fewer households hold a higher skill", NO_MAGNITUDE,
              context={**route, f"{g}.talent": "route"}, context_reason=ROUTE_REASON),
        Lever(f"{g}.points_threshold", f"Points needed by the points route (积分落户), for {who}.",
              (40.0, 60.0, 80.0, 100.0, 120.0), 0.0, "qingdao_pre_reform: 80 (county cities), 100, "
              "120 (central districts), assumption; seed 000 §二(一) cancels 积分制", "-",
              "fewer households reach a higher threshold", NO_MAGNITUDE,
              context={**route, **{f"{g}.points_weights.{k}": float(v) for k, v in POINTS_WEIGHTS.items()}},
              context_reason=ROUTE_REASON + "; weights of qingdao_pre_reform's scheme"),
    ]
    for k in POINTS_WEIGHTS:
        others = {f"{g}.points_weights.{o}": float(v) for o, v in POINTS_WEIGHTS.items() if o != k}
        more = {"test_replications": 8, "why": OWNS_HOME_WHY} if (g, k) == ("hukou", "owns_home") else {}
        out.append(Lever(
            f"{g}.points_weights.{k}", f"Points per unit of '{k}' in the points route, for {who}.",
            (5.0, 10.0, 20.0, 40.0), 0.0, "qingdao_pre_reform's scheme (5-20 points a unit, assumption); "
            "doubled at the top", "+", "more points for the attribute bring more households over the "
            "threshold", NO_MAGNITUDE, context={**points, **others},
            context_reason=ROUTE_REASON + "; points_threshold 100 and the other weights of "
            "qingdao_pre_reform's scheme", **more))
    out += [
        Lever(f"{g}.exempt_groups", f"Priority groups exempt from the conditions, for {who}.",
              ((), ("students",), ("students", "soldiers"), ("students", "soldiers", "whole_family"),
               ("students", "soldiers", "whole_family", "long_resident", "new_generation")), (),
              "seed 000 §二(一) (students, soldiers, 5-year residents, whole families, new "
              "generation), seed 001 §(十三), seed 002 §(四)", "+", "each group exempted adds "
              "households that may settle", NO_MAGNITUDE, context=route, context_reason=ROUTE_REASON),
        Lever(f"{g}.kin_generations", f"Kin reunification (投靠) up to this many generations, for {who}.",
              (1, 2, 3), 0, "seed 001 §(十二) 3代以内; qingdao_2017 1 generation (assumption)", "+",
              "more kin qualify", NO_MAGNITUDE, context=route, context_reason=ROUTE_REASON),
        Lever(f"{g}.annual_quota", f"Settlement quota per town and year, in persons (0 = none), for {who}.",
              (500, 1000, 2000, 5000), 0, "assumption: no seed document sets a quota; the range "
              "spans Dehong's ~20,000 settlers a year (seed 001) over its 11 towns", "+",
              "a larger quota refuses fewer", NO_MAGNITUDE),
    ]
    return out


def _rights(right: str) -> list[Lever]:
    zh = {"land": "contract land (承包地)", "homestead": "homestead (宅基地)",
          "collective": "collective income shares (集体收益分配权)"}[right]
    lit = {"land": "nearest: Giles & Mu (2018), AJAE 100(2): an expected land reallocation lowers the "
                   "probability of migrating out of the county by 2.4 points (15% of the annual "
                   "migrant share) — migration, not hukou transfer; Yan & Li (2021): each point of "
                   "household income from farmland lowers the probability of staying in the city by "
                   "~0.7 points (data/README.md)",
           "homestead": "Gu, Ling, Shen & Yang (2020), Habitat International 102267, CMDS 2017: a "
                        "rural homestead lowers the propensity to transfer hukou by ~12% "
                        "(data/README.md); Hao & Tang (2015): direction only",
           "collective": "Tianjin migrant survey 2017 (N = 5,000, 'if there were no hukou "
                         "restriction'; 天津市流动人口发展报告 2017, table 1.2.8): 41.3% of migrants "
                         "whose village pays a collective dividend would move hukou, against 58.9% "
                         "of those whose does not (bivariate, so dividend villages' other traits are "
                         "in it too; data/README.md); no published effect of keeping or losing the "
                         "shares themselves"}[right]
    surrender = {f"rights.{right}.on_settle": "surrendered"}
    where = "qingdao" if right == "collective" else "dehong"  # Dehong's dividends: 150-300 yuan
    out = [
        Lever(f"rights.{right}.on_settle", f"What happens to the {zh} when a household settles.",
              ("surrendered", "kept_for_life", "kept"), "kept", "dehong_pre_reform (collective "
              "surrendered), seed 001 §(二十九) (kept for life), seeds 000-004 (kept; 国发〔2014〕25号 "
              "forbids making exit a condition)", "+", "keeping the right lowers what settling costs",
              lit),
        Lever(f"rights.{right}.paid_exit", f"A paid exit of the {zh} is offered.", (False, True), False,
              "seeds 000-004 (依法自愿有偿); pre-reform packages (none)", "+",
              "compensation lowers what surrendering the right on settling costs", NO_MAGNITUDE,
              context={**surrender, f"rights.{right}.compensation_share": 0.5},
              context_reason="a paid exit changes the settling decision only where settling "
              "surrenders the right; compensation at half the value"),
        Lever(f"rights.{right}.compensation_share", f"Compensation of a paid exit of the {zh}, as a "
              "share of its value.", (0.0, 0.25, 0.5, 1.0), 0.0, "packages 0.4-0.8 (assumptions on "
              "'适当补偿' and market exits); 1 = the full value", "+",
              "more compensation lowers what surrendering the right costs", NO_MAGNITUDE,
              context={**surrender, f"rights.{right}.paid_exit": True},
              context_reason="compensation changes the settling decision only where settling "
              "surrenders the right and the exit is paid"),
        Lever(f"rights.{right}.on_settle_tiers", f"The {zh}'s rule in chosen tiers: surrendered on "
              "settling in them (else the region-wide on_settle).",
              ({}, {"small_town": "surrendered"}, {"small_town": "surrendered", "sub_center": "surrendered"},
               {"small_town": "surrendered", "sub_center": "surrendered", "central_city": "surrendered"}),
              {}, "Rural Land Contract Law 2003 art. 26 (a household moving into a 设区的市 hands back its "
              "contract land; one moving into a small town keeps it), dehong_pre_reform", "-",
              "surrendering the right in more tiers makes settling there cost more", lit),
        Lever(f"rights.{right}.kept_until_year", f"A kept {zh} ends in this year for settled "
              "households (the contract round's end); None: kept without end.",
              (None, 2058, 2040, 2030, 2028), None, "Rural Land Contract Law 2003 art. 26 ¶2 and seed 001 "
              "§(二十七) 至本轮承包期满 (2028 in dehong_pre_reform; 2058 after the 30-year extension "
              "of 2017)", "-", "an earlier end leaves less of the kept right, so settling costs more",
              lit),
    ]
    out = [replace(e, test_region=where) for e in out]
    if right == "collective":
        out = [replace(e, outcome=COLLECTIVE_GROUP, why=COLLECTIVE_WHY.format(COLLECTIVE_MEASURED[e.name]),
                       test_replications=8 if e.name == "rights.collective.paid_exit" else 3)
               for e in out]
    return out


COLLECTIVE_GROUP = "group:with_collective_dividend:settled_persons"
COLLECTIVE_WHY = (
    "judged on the households the lever acts on (issue 15 review, means b): the package's "
    "collective rules reach only natives' shares (outsiders' lie outside the region, "
    "decision.rights_governed), and shares put much at stake only where they pay: Qingdao's "
    "ordinary villages pay 200-500 yuan a year (3,000-7,500 yuan at rights_discount_years 15, of "
    "which a household fears losing the posterior's rights_tenure_risk, 0.49 (0.55 after its re-fit), even when the rule "
    "keeps them, so a rule moves only the rest), its mountain villages 1,500 and its urban villages "
    "4,000-8,000 (whose households are converted in place, not migrants). The group "
    "with_collective_dividend (natives holding shares of at least 1,000 yuan a year, "
    "names.COLLECTIVE_DIVIDEND_MIN_YUAN) settles about 43,000-50,000 persons over ten years of "
    "Qingdao's 920,000. Only Qingdao among the seed regions has such villages (the others pay 100-800 yuan a "
    "year), so elsewhere the group is empty and the lever reads flat on this outcome; the "
    "settled-persons columns show its small effect over all settlers. Measured "
    "(tests/test_response.py's budget, scale 50, posterior mean, ten years; "
    "change over the range ± 90% half-width, tolerance 1% of the off value): {}")
COLLECTIVE_MEASURED = {
    "rights.collective.compensation_share": "whole region +8,967 ± 1,061 settled persons from 0 to 1 "
        "(tolerance 9,099: weak); the group +2,983 ± 947 (tolerance 405); after the posterior's re-fit (main 6b566a5) the group "
        "+3,367 ± 644 (tolerance 471)",
    "rights.collective.on_settle": "whole region +4,733 ± 1,193 from 'surrendered' to 'kept' "
        "(tolerance 9,189: weak); the group +1,633 ± 398 (tolerance 434); after the posterior's re-fit (main 6b566a5) the group "
        "+1,483 ± 296 (tolerance 503)",
    "rights.collective.paid_exit": "whole region +4,267 ± 783 (tolerance 9,099: weak); the group "
        "+1,300 ± 1,247 at 3 replications, so the direction test runs 8 (means d): +1,131 ± 367 "
        "(tolerance 431); after the posterior's re-fit (main 6b566a5) +1,488 ± 244 (tolerance 499)",
    "rights.collective.on_settle_tiers": "whole region -4,733 ± 1,193 from no tier to every tier "
        "surrendering (tolerance 9,189: weak); the group -1,633 ± 398 (tolerance 434); after the posterior's re-fit (main 6b566a5) "
        "the group -1,483 ± 296 (tolerance 503)",
    "rights.collective.kept_until_year": "whole region -4,767 ± 1,480 from no end to 2028 "
        "(tolerance 9,189: weak); the group -1,867 ± 49 (tolerance 434); after the posterior's re-fit (main 6b566a5) the group "
        "-1,550 ± 223 (tolerance 503)",
}
"""What the collective-rights entries measured over the region and on their group (issue 15
review; the commands in the report of that change)."""


PURCHASE_TEST = "tests/test_response.py::test_purchase_support_yuan_buy_homes_as_the_subsidy_does"
PURCHASE_STAKE_WHY = (
    "a small stake, valued as any yuan of purchase support (issue 15 review, means f): {what}. The "
    "purchase subsidy of 40,000 yuan moves Dehong's settled persons +5,883 ± 1,520 over ten years "
    "(2.7% of 219,767; 147 a 1,000 yuan of support a purchase), at which rate this lever would move "
    "{expect}, {share} of the off value, under the 1% tolerance; measured {measured} (3 replications, "
    "scale 50, posterior mean). After the posterior's re-fit (main 6b566a5): the subsidy +5,900 ± 1,022 (2.4% of 245,550), this lever "
    "{refit} (tolerance 2,456). The yuan buy homes at the subsidy's rate ({homes}, against the "
    "subsidy's +11,775, 294 a 1,000 yuan; 2 replications), and only some buyers go on to settle. "
    "The weak response is the model's honest answer; the test is that the support's yuan enter the "
    "purchase exactly as the same yuan of purchase subsidy do")
TRANSFER_HOUSING_WHY = (
    "measured on Dehong (issue 15 review; scale 50, seed 0, posterior mean, ten years, the context's "
    "3,000 yuan a settler): the transfer buys 3,000 x share / 150,000 (rental_unit_cost_yuan) = 0.02 "
    "units a settled person (0.01 on Qingdao at 300,000 a unit). Dehong's 23,900 settlers a year "
    "bring 72 million yuan, 479 units a year at share 1: by the tenth year 18,874 units against "
    "14,350 at share 0 (the package's stock and building), 17,050 tenants against 13,450, while "
    "52,450 households still queue (55,950 at share 0), so the share of applicants housed rises "
    "from about 19% to 25%. A household counts public rental as that chance times the discount "
    "(40% of market rent): 0.05 x 0.4 x 12 months of a rent of 260-700 yuan a month in 2011 "
    "(dehong.toml, rising with wages) is about 60-400 yuan a year, 1% of a migrant household's "
    "37,000 yuan income at most (beta_housing 1.2: 0.01 of utility); and on Dehong public rental is "
    "open to residents too, so it lowers the cost of staying as a resident as much as of settling: "
    "no choice changed (settled persons identical at shares 0 and 1). More units matter for who is housed (towns.parquet), not for who settles")
SCHOOL_OUTCOME_WHY = ("so the direction is judged on the outcome theory signs (issue 15 review, means e): "
                      "the non-hukou pupils who hold a public seat in town (metric "
                      "migrant_pupils_public), which admission rules and the money that follows a "
                      "pupil raise whatever the migration they cause; measured (tests/test_response.py's "
                      "budget: 3 replications, scale 50, posterior mean, ten years): {}")
SEATS_WHY = "measured on Dehong (scale 100, 3 replications, ten years): {what} draws families with school-age children into the towns ({numbers}); public seats do not grow with them (the package's stock and growth), so the newcomers' children, ranked after enrolled pupils, mostly get no seat and the share left behind rises. The lever lowers the share only where seats are free: pair it with seat growth or funding per migrant pupil"
"""Why school access measured by the share left behind can rise (the school entries' why)."""

PROVINCE_WHY = ("the rules of outsiders from the region's own province act as the outsiders' rules "
                "of the same name do (the same eligibility code, tested there on Qingdao), on a "
                "class that is 10% of Dehong's migrants; only the class's own switch "
                "(hukou_province.open) is direction-tested here")

PROVINCE_OPEN_WHY = (
    "judged on the households it acts on (issue 15 review, means b, with 8 replications, means d): "
    "only Dehong has outsiders from its own province (10% of its migrants; the other seed regions "
    "set none, so the lever has no one to act on there), and dehong_2011 already lets them settle "
    "on a stable job or a residence, either one (rented homes counting), which most migrants in "
    "town meet, so opening entry adds few. Over all of Dehong's settlers the change, +800 ± 927 "
    "settled persons over ten years (tolerance 2,198), was lost in the other 90%'s noise; in the "
    "group same_province it is +650 ± 720 at 3 replications (off value 9,650, tolerance 97) and "
    "+600 ± 243 at 8 (tests/test_response.py's budget, scale 50, posterior mean); after the posterior's re-fit (main 6b566a5) +569 ± "
    "261 (off value 10,875, tolerance 109)")

_VOUCHER = {"rights.homestead.on_settle": "surrendered", "rights.homestead.paid_exit": True,
            "rights.homestead.compensation_share": 0.5}


def _catalogue() -> list[Lever]:
    # outsiders are 15% of Dehong's migrants, under a talent condition: tested on Qingdao (60%)
    out = _hukou("hukou") + [replace(e, test_region="qingdao") for e in _hukou("hukou_outsiders")]
    # the same-province class: the outsiders' rules again for 10% of Dehong's migrants (云南籍 not
    # 德宏籍, seed 001 §(十六)); its curves are drawn, but its directions are those of the outsiders'
    # entries and are tested once, on the class's own switch (tests/test_levers.py tests the group)
    out += [replace(e, test_region="dehong", direction=None, why=PROVINCE_WHY)
            if e.name != "hukou_province.open" else
            replace(e, test_region="dehong", outcome="group:same_province:settled_persons",
                    why=PROVINCE_OPEN_WHY, test_replications=8)
            for e in _hukou("hukou_province")]
    rental_open = {"housing.public_rental_open_to": "residents"}
    out += [
        # housing
        Lever("housing.purchase_subsidy_yuan", "Subsidy per home bought in town (yuan).",
              (0.0, 10000.0, 20000.0, 40000.0), 0.0, "seed 000 §二(三) 适当补贴 (15,000, assumption), "
              "seed 003 (18,000)", "+", "cheaper homes in town; owners qualify by residence and "
              "pay no rent there", "no published deadweight or elasticity for the 去库存 subsidies "
              "to rural buyers (over 100 cities by 2016: Puyang 150 yuan/m2, Meishan about 50,000 "
              "yuan on a 420,000-yuan flat; data/README.md); county-town purchases are largely "
              "life-cycle driven (marriage, schooling: Du & Che 2019, 当代经济管理 2019(8), direction "
              "only); CMDS 2016: migrants who bought a home where they live are not especially "
              "willing to transfer hukou",
              why=PURCHASE_SUBSIDY_WHY),
        Lever("housing.deed_tax_subsidy_share", "Share of the deed tax refunded to buyers.",
              (0.0, 0.5, 1.0), 0.0, "seed 000 §二(三) 税收减免 (half, assumption), seed 003 (0.5)", "+",
              "cheaper homes in town", NO_MAGNITUDE,
              why=PURCHASE_STAKE_WHY.format(
                  what="the deed tax is 1% of a home's value on Dehong (dehong.toml, a first home of "
                  "90 m2), so refunding all of it pays 6,579 yuan a purchase on average over the ten "
                  "years (prices rise), a sixth of the subsidy's 40,000",
                  expect="about 970", share="0.44%", measured="+133 ± 195 (+67 ± 195 when first "
                  "catalogued)", homes="+1,675 homes (255 a 1,000 yuan)", refit="+350 ± 253"),
              mechanism_test=PURCHASE_TEST),
        Lever("housing.purchase_fee_relief_share", "Share of transaction fees waived for buyers.",
              (0.0, 0.5, 1.0), 0.0, "seed 000 §二(三) 规费减免 (half, assumption)", "+",
              "cheaper homes in town", NO_MAGNITUDE,
              why=PURCHASE_STAKE_WHY.format(
                  what="the fees are 2% of a home's value on Dehong (dehong.toml, assumption), so "
                  "waiving all of them pays 13,204 yuan a purchase on average over the ten years, a "
                  "third of the subsidy's 40,000",
                  expect="about 1,940", share="0.88%", measured="+733 ± 1,307 (+117 ± 341 when "
                  "first catalogued)", homes="+3,775 homes (286 a 1,000 yuan)", refit="+867 ± 1,013"),
              mechanism_test=PURCHASE_TEST),
        Lever("housing.purchase_support_requires_hukou", "Purchase support only for hukou holders.",
              (False, True), False, "switch (assumption: none of the seeds ties support to hukou "
              "explicitly)", None, "it raises the value of hukou for would-be buyers but withdraws "
              "support from non-hukou buyers", NO_MAGNITUDE,
              context={"housing.purchase_subsidy_yuan": 18000.0, "housing.deed_tax_subsidy_share": 0.5},
              context_reason="seed 003's purchase support (18,000 yuan and half the deed tax), "
              "without which there is nothing to restrict"),
        Lever("housing.rental_subsidy_yuan", "Rental subsidy per household and year (yuan).",
              (0.0, 1200.0, 2400.0, 3600.0, 6000.0), 0.0, "seeds 000 (1,200, expected value), 003 "
              "(2,400), 002 (3,600); 6,000 = Qingdao's full subsidy to the ~20% who pass its income "
              "test", "+", "paid to hukou holders (context), so it adds to the value of hukou",
              NO_MAGNITUDE, context={"housing.rental_subsidy_to": "hukou"},
              context_reason="paid to hukou holders, as in seed 002 (the default 'none' pays nobody)"),
        Lever("housing.rental_subsidy_to", "Who receives the rental subsidy: nobody, permit holders "
              "(and hukou holders), or hukou holders only.", ("none", "permit", "hukou"), "none",
              "seeds 000, 003 (permit), 002 (hukou)", "+", "a subsidy for hukou holders alone adds "
              "to the value of hukou; one for permit holders keeps more migrants in town",
              NO_MAGNITUDE, context={"housing.rental_subsidy_yuan": 2400.0},
              context_reason="seed 003's 2,400 yuan a year"),
        Lever("housing.rental_subsidy_takeup", "Share of qualifying renters who apply for and receive "
              "the rental subsidy.", (0.1, 0.3, 0.6, 1.0), 1.0, "qingdao_2017 and xuchang_2024: 0.3 "
              "(assumption: applying needs proof of income and a registered tenancy); 1 = every "
              "qualifying renter", "+", "households count the subsidy's expected value",
              NO_MAGNITUDE, context={"housing.rental_subsidy_yuan": 6000.0,
                                     "housing.rental_subsidy_to": "permit"},
              context_reason="a subsidy of 6,000 yuan a year to permit holders (seed 004's 500 "
              "yuan a month), without which take-up has nothing to take up"),
        Lever("housing.support_income_limit_yuan", "Income test of housing support: income per "
              "person at most this (0 = no income test, drawn at the left although it is the loosest).",
              (10000.0, 20000.0, 30000.0, 60000.0), 0.0,
              "qingdao_2017 28,300 and xuchang_2024 24,600 (local 住房保障 income lines, cited there); "
              "0 = none", None, "a looser test serves more renters, but support without hukou (permit "
              "holders) and with it move the value of hukou in opposite directions", NO_MAGNITUDE,
              context={"housing.rental_subsidy_yuan": 6000.0, "housing.rental_subsidy_to": "hukou"},
              context_reason="a subsidy of 6,000 yuan a year to hukou holders, so the test gates a "
              "benefit of settling"),
        Lever("housing.public_rental_open_to", "Public rental (公租房) open to hukou holders only or to "
              "non-hukou residents too.", ("hukou", "residents"), "hukou",
              "seeds 000 §二(二), 001 §(十六), 004 §(三) (residents)", None,
              "it keeps more migrants in town but removes an advantage of hukou",
              "Du, Lou, Qiao & Zhang (2024), Buildings 14:2774, CMDS: living in public rental raises "
              "renters' long-term settlement intention (direction only); " + NO_MAGNITUDE,
              why=PUBLIC_RENTAL_WHY),
        Lever("housing.public_rental_min_job_years", "Years of stable job a non-hukou applicant "
              "needs for public rental.", (0, 1, 2, 3, 5), 0, "seed 001 §(十六) 1年以上; packages 1 "
              "(assumption)", None, "as public_rental_open_to, in reverse", NO_MAGNITUDE,
              context=rental_open, context_reason="applies only where public rental is open to "
              "residents",
              why=PUBLIC_RENTAL_WHY),
        Lever("housing.public_rental_natives_only", "Public rental for non-hukou residents restricted "
              "to natives of the region.", (False, True), False, "seed 001 §(十六) 云南籍", None,
              "as public_rental_open_to, for outsiders", NO_MAGNITUDE, context=rental_open,
              context_reason="applies only where public rental is open to residents",
              why=PUBLIC_RENTAL_WHY),
        Lever("housing.public_rental_province_only", "Public rental for non-hukou residents kept to "
              "natives of the region and outsiders from the same province.", (False, True), False,
              "seed 001 §(十六) (云南籍)", None, "it moves units between migrant classes", NO_MAGNITUDE,
              context=rental_open, context_reason="public rental open to residents",
              why=PUBLIC_RENTAL_WHY),
        Lever("housing.public_rental_build_per_year", "Public rental units built per town and year.",
              (0, 100, 300, 600), 0, "packages 100-300 a town (assumptions on seeds 000 §八(三), 001 "
              "§(十五), 004 §(三))", None, "more units serve hukou holders and, where open, residents",
              "Wang, Hu, Zhang & Chen (2022), IJERPH 19:9780: more land for security housing raises "
              "migrants' settlement intention (direction only); " + NO_MAGNITUDE),
        Lever("housing.public_rental_rent_share", "Public rental rent as a share of market rent.",
              (0.4, 0.6, 0.8, 1.0), 0.6, "schema default 0.6 (公租房 rents at 60-80% of market, "
              "assumption); 1 = no discount", None, "as public_rental_open_to", NO_MAGNITUDE,
              why=PUBLIC_RENTAL_WHY),
        Lever("housing.provident_fund_migrants", "Non-hukou migrants with stable jobs join the housing "
              "provident fund (lower down payment).", (False, True), False, "seeds 000 §二(三), 002, 003",
              "+", "cheaper home purchase in town",
              "Xie & Jiang (2021), CMDS 2016 (doi:10.17026/dans-xwe-2xsb): fund membership raises "
              "migrant workers' probability of buying a home by ~5.7 points; Chen, Deng & Chen "
              "(2024), SAGE Open doi:10.1177/21582440241247403: it raises settlement intention "
              "through purchase intention (no magnitude)"),
        # schools
        Lever("schools.nonhukou_admission_share", "Share of non-hukou pupils admitted to public "
              "schools (where enrolment is not by permit, or without a permit).",
              (0.0, 0.3, 0.6, 0.8, 1.0), 0.0, "packages 0.3-1.0: 两为主 'mainly public' read as 0.8 "
              "(seeds 000, 001), 0.6 (004), 1.0 (003)", "+", "public schools admit more non-hukou "
              "pupils; the families it draws into town add pupils, and never take a seated pupil's "
              "seat (hukou and enrolled pupils are served first)", NO_MAGNITUDE,
              outcome="migrant_pupils_public",
              why=SEATS_WHY.format(what="admission from 0 to 1", numbers="+36,000 migrants and "
                                   "+10,000 migrant pupils; share left behind 0.22 -> 0.28")
              + ". " + SCHOOL_OUTCOME_WHY.format(
                  "non-hukou pupils in public town schools in the final year +3,250 ± 438 from 0 to 1 "
                  "(off value 19,250, tolerance 193); after the posterior's re-fit (main 6b566a5) +2,867 ± 1,773 (off value 17,500, "
                  "tolerance 175)")),
        Lever("schools.enrolment_basis", "Enrolment by hukou or by residence permit.",
              ("hukou", "residence_permit"), "hukou", "seeds 001 §(二十五), 004 §(三) (permit)", "-",
              "permit holders' children enrol like hukou holders'; fewer left behind", NO_MAGNITUDE,
              outcome="left_behind_share"),
        Lever("schools.seat_growth_per_year", "Growth of public school seats per year.",
              (0.0, 0.01, 0.02, 0.04), 0.0, "packages 2-4% a year (assumptions on seeds 000 §五(五), "
              "001 §(三十四), 004 §(三))", "-", "more seats, fewer pupils left behind", NO_MAGNITUDE,
              outcome="left_behind_share"),
        Lever("schools.funding_per_migrant_child_yuan", "Funding per migrant pupil and year, turned "
              "into seats.", (0.0, 500.0, 1000.0, 2000.0), 0.0, "seed 000 §二(二) (700: 国发〔2015〕67号 "
              "benchmark), seed 003 (800)", "-", "more seats, fewer pupils left behind", NO_MAGNITUDE,
              outcome="left_behind_share"),
        Lever("schools.operating_funds_per_migrant_pupil_yuan", "Operating money per migrant pupil that "
              "follows the pupil into a public school (生均公用经费随学生流动).", (0.0, 700.0, 2000.0, 5000.0),
              0.0, "seed 000 §二(二) (700, 国发〔2015〕67号 benchmark), seed 003 §二(二)6 (800); 5,000 "
              "= half a pupil's operating cost", "+", "receiving schools admit the share of refused "
              "pupils whose cost it covers, so more non-hukou pupils hold a public seat",
              NO_MAGNITUDE, outcome="migrant_pupils_public",
              context={"schools.nonhukou_admission_share": 0.0, "schools.enrolment_basis": "hukou"},
              context_reason="a package that admits non-hukou pupils on the money alone (admission "
              "share 0, enrolment by hukou; issue 15 review, means c): Dehong's package admits 80% "
              "and enrols permit holders like hukou holders, so the money acts only on the 20% of "
              "newcomers it would refuse. There non-hukou pupils in public schools rose +333 ± 195 "
              "from 0 to 5,000 yuan (off value 21,967, tolerance 220), and after the posterior's "
              "re-fit (main 6b566a5) +183 ± 351 (tolerance 200: flat); with this context +5,233 ± "
              "1,674 (off value 533, tolerance 5), 3 replications at scale 50",
              why=SEATS_WHY.format(what="operating money from 0 to 5,000 yuan a pupil", numbers="+3,000 "
                                   "migrants and +730 migrant pupils, 60% of them left behind against "
                                   "27% on average; share 0.269 -> 0.276")
              + ". " + SCHOOL_OUTCOME_WHY.format("see the context")),
        Lever("schools.private_school_subsidy_yuan", "Subsidy per migrant pupil to private schools "
              "taking migrant children.", (0.0, 500.0, 1500.0, 3000.0), 0.0, "seed 001 §(二十五)¶3 "
              "(amount unstated; dehong_2011 assumption); 3,000 = a private school's yearly cost "
              "(fiscal.private_school_cost_yuan)", "-", "children without a public seat study in town "
              "instead of being left behind", NO_MAGNITUDE, outcome="left_behind_share"),
        Lever("schools.local_exam_nonhukou", "Non-hukou pupils may sit local entrance exams.",
              (False, True), False, "seed 001 §(二十五), seed 003 (local 中考)", "-",
              "removes the exam penalty of staying without hukou, one advantage of hukou",
              NO_MAGNITUDE, outcome="group:with_children:settled_persons", test_replications=8,
              why="judged on the households it acts on (issue 15 review, means b, with 8 "
              "replications, means d): the exam term is the household's school-age children "
              "times beta_exam, nothing for households without them; over all settlers -2,933 ± "
              "3,360 settled persons on Dehong (tolerance 2,227: inconclusive, 3 replications), "
              "in the group with_children -4,600 ± 3,489 at 3 replications and -4,938 ± 1,201 at 8 "
              "(off value 114,869, tolerance 1,149); scale 50, posterior mean, ten years; after the posterior's re-fit (main 6b566a5) "
              "-3,031 ± 1,163 (off value 128,481, tolerance 1,285)"),
        # services
        Lever("services.permit_coverage", "Residence-permit services as a share of hukou services.",
              (0.0, 0.3, 0.6, 0.8, 1.0), 0.0, "packages 0.3 (001) to 0.8 (003), assumptions on "
              "'gradually equal'", "-", "services without hukou lower the value of hukou", NO_MAGNITUDE),
        Lever("services.permit_min_years", "Years of residence before the permit's services apply.",
              (0, 1, 2, 3, 5), 1, "schema default 1 (the 2015 regulation asks half a year); seed 003 0",
              "+", "fewer permit holders, so hukou is worth more to a migrant in town: more would "
              "take it (settlement intention)", NO_MAGNITUDE, outcome="settlement_intention",
              why="judged on the outcome theory signs (issue 15 review, means e), since settlement "
              "itself moves both ways: after the posterior's re-fit (main 6b566a5) Dehong's settled "
              "persons over ten years rose +8,263 with no wait and +10,919 with 5 years against the "
              "default 1 (8 replications, scale 50), so from 0 to 5 +2,067 ± 3,362 at 3 replications "
              "(tolerance 2,456: inconclusive), while intention rises +0.029 ± 0.001 (off value "
              "0.376, 3 replications). Earlier, measured on Dashiqiao (scale 100, 3 replications, ten years): with no wait (0 "
              "years) permit services draw far more villagers into the towns (51,200 migrants against "
              "32,100 with the default 1 year) and more of them settle later (56,300 settled against "
              "48,900); from 1 to 5 years settlement rises a little (50,200), as expected. The lever "
              "acts through migration first: hukou is worth more with a longer wait, but fewer come"),
        Lever("services.insurance_portable", "Insurance contributions kept on moving between towns.",
              (False, True), False, "seeds 000 §二(二), 001 §(二十), 004 §(三)", None,
              "it eases moves between towns; settlers do not move", NO_MAGNITUDE),
        Lever("services.flexible_insurance_share", "Share of flexible and self-employed workers who "
              "contribute to urban employee insurance in a year (灵活就业人员参保).", (0.0, 0.3, 0.6, 1.0),
              0.0, "xuchang_2024 0.3 (seed 003 §二(二)7, assumption on take-up); 0 = contract workers "
              "only", "+", "more migrants accrue the insurance years an entry rule asks",
              NO_MAGNITUDE, context={"hukou.open": False, "hukou.residence": True, "hukou.job": True,
                                     "hukou.min_insurance_years": 2},
              context_reason="an entry rule asking 2 insurance years (seed 002 §(五)'s ceiling), "
              "without which accrual admits no one"),
        Lever("services.agri_subsidies_kept", "Settlers keep the agricultural subsidies of land kept.",
              (False, True), False, "seed 000 §二(三), seed 001 §(二十七)", "+",
              "settling no longer costs the subsidy", "nearest: Yan & Li (2021), 南方农村: each point "
              "of household income from farmland lowers the probability of staying in the city by "
              "~0.7 points (data/README.md)",
              why="a small stake, valued as any yuan of income (issue 15 review, means f): Dehong "
              "pays 100 yuan a mu (dehong.toml) and its native migrants hold 5.5 mu on average, so "
              "settling keeps 553 yuan a year, 1.5% of their 37,255 yuan income (scale 50, seed 0). "
              "The rental subsidy to hukou holders, 6,000 yuan a year, moves Dehong's settled persons "
              "+10,383 ± 702 over ten years (1.73 a yuan a year), at which rate 553 yuan would move "
              "about 960, 0.44% of the 218,483 settled with the subsidy lost; measured +1,283 ± 398 "
              "(3 replications, scale 50, posterior mean; tolerance 2,185: weak); after the posterior's re-fit (main 6b566a5) "
              "+1,900 ± 2,151 (tolerance 2,437), the rental subsidy +10,300 ± 3,706. The weak "
              "response is the model's honest answer; the test is that the kept subsidy enters settled income "
              "as exactly its yuan",
              mechanism_test="tests/test_response.py::test_a_kept_agri_subsidy_is_its_yuan_of_settled_income"),
        # jobs
        Lever("jobs.reserved_jobs", "Stable jobs reserved for rural migrants in a town, a standing "
              "stock (动态储备): posts held while the job lasts, vacancies offered each year.",
              (0, 100, 500, 1500), 0, "seed 003 §二(二)4: ≥1,000 per county, ≥1,500 per urban district",
              "+", "a stable job meets the job condition", NO_MAGNITUDE),
        Lever("jobs.training_places", "Vocational training places per town and year (households).",
              (0, 200, 1000, 3000), 0, "seed 000 (6,000 a year), seed 003 §二(三)9 (20,000 a year), "
              "packages 100-3,420 a town", "+", "skill raises wages and the chance of a stable job",
              NO_MAGNITUDE),
        Lever("jobs.placements", "Rural workers placed in town jobs per town and year (households).",
              (0, 100, 500, 1000), 0, "seed 003 §二(二)4: ≥5,000 a year (175-1,350 a town)", "+",
              "placed villagers move to town", NO_MAGNITUDE, outcome="resident_urbanization"),
        # fiscal
        Lever("fiscal.transfer_per_settler_yuan", "Transfer per settled person (人地钱挂钩, money).",
              (0.0, 1000.0, 3000.0, 10000.0), 0.0, "packages 1,000-3,000 (assumptions on seeds 000 "
              "§二(三), 002, 003, 004)", "+", "the transfer buys school seats and public rental "
              "where settlers go", NO_MAGNITUDE),
        Lever("fiscal.transfer_share_schools", "Share of the transfer spent on school seats.",
              (0.0, 0.5, 1.0), 0.5, "schema default 0.5 (assumption); changji_2018 0.3", None,
              "seats instead of rental units", NO_MAGNITUDE,
              context={"fiscal.transfer_per_settler_yuan": 3000.0, "fiscal.transfer_share_housing": 0.0},
              context_reason="a transfer of 3,000 yuan a settler (packages) with nothing to housing, so "
              "the shares may sum to at most 1",
              why="the transfer buys few seats: 3,000 yuan x share / seat_cost_yuan (30,000 on Dehong, "
              "40,000 on Xuchang and Changji) = 0.075-0.1 seats a settled person, so Dehong's ~24,000 "
              "settlers a year buy up to ~2,400 seats a year at share 1; where seats are full each "
              "admits a migrant child, which raises the value of living in that town as a resident "
              "and as a settler alike. Measured (docs/levers.md, 3 replications at scale 50, "
              "posterior mean, 2026-11-30): share 0 -> 1 adds +3,233 ± 1,074 settled persons over "
              "ten years on Dehong and +3,500 ± 1,314 on Xuchang (weak: at most about 1% of "
              "settlement), within noise elsewhere; theory gives no direction, as the same money "
              "could have bought rental units"),
        Lever("fiscal.transfer_share_housing", "Share of the transfer spent on public rental units.",
              (0.0, 0.5, 1.0), 0.5, "schema default 0.5 (assumption)", None,
              "rental units instead of seats", NO_MAGNITUDE, why=TRANSFER_HOUSING_WHY,
              context={"fiscal.transfer_per_settler_yuan": 3000.0, "fiscal.transfer_share_schools": 0.0},
              context_reason="a transfer of 3,000 yuan a settler (packages) with nothing to schools"),
        Lever("fiscal.land_per_settler_m2", "Urban construction land per settled person (人地钱挂钩, "
              "land).", (0.0, 50.0, 80.0, 100.0), 0.0, "国土资规〔2016〕2号: 100, 80 or 50 m2 by the "
              "city's land per person (dashiqiao_2020)", "+", "more land slows rent growth in towns",
              NO_MAGNITUDE, outcome="resident_urbanization"),
        Lever("fiscal.seat_cost_yuan", "Unit cost of a school seat (yuan).",
              (30000.0, 40000.0, 50000.0, 60000.0), 60000.0, "packages 30,000-50,000 (assumptions), "
              "schema default 60,000", "+", "seats added cost more", NO_MAGNITUDE,
              outcome="public_cost_yuan", kind="parameter"),
        Lever("fiscal.rental_unit_cost_yuan", "Unit cost of a public rental flat (yuan).",
              (100000.0, 150000.0, 300000.0), 150000.0, "schema default 150,000 (50 m2, assumption); "
              "qingdao_2017 300,000", "+", "units built cost more", NO_MAGNITUDE,
              outcome="public_cost_yuan", kind="parameter"),
        Lever("fiscal.pupil_operating_cost_yuan", "Yearly operating cost of a public-school pupil "
              "(yuan).", (8000.0, 10000.0, 12000.0, 15000.0), 10000.0, "national 生均一般公共预算教育事业费 "
              "2017: 10,199 a primary pupil (qingdao_2017, cited there); xuchang_2024 12,000", "-",
              "operating money covers a smaller share of a dearer pupil, so fewer are admitted",
              NO_MAGNITUDE, outcome="migrant_pupils_public", kind="parameter",
              context={"schools.operating_funds_per_migrant_pupil_yuan": 2000.0,
                       "schools.nonhukou_admission_share": 0.0, "schools.enrolment_basis": "hukou"},
              context_reason="operating money of 2,000 yuan a pupil, whose share of the cost this "
              "sets, in a package that admits non-hukou pupils on that money alone (admission share "
              "0, enrolment by hukou; issue 15 review, means c): Dehong's package admits 80% and "
              "enrols permit holders like hukou holders, which masks it (non-hukou pupils in public "
              "schools -167 ± 271 from 8,000 to 15,000 yuan, tolerance 222: weak); with this "
              "context -2,417 ± 797 (off value 6,800, tolerance 68), 3 replications at scale 50; "
              "after the posterior's re-fit (main 6b566a5) -1,717 ± 1,006 (off value 5,200, tolerance 52)",
              why=SCHOOL_OUTCOME_WHY.format("see the context; on the share left behind it was "
                                            "-0.005 ± 0.008 (inconclusive), the operating money "
                                            "it scales acting the wrong way on that share")),
        Lever("fiscal.private_school_cost_yuan", "Yearly cost of a private school per migrant pupil "
              "(yuan).", (2000.0, 3000.0, 5000.0, 8000.0), 3000.0, "schema default 3,000 "
              "(assumption, cited in sim/configuration/schema.py)", "+", "the subsidy covers a smaller "
              "share of a dearer school, so more children are left behind", NO_MAGNITUDE,
              outcome="left_behind_share", kind="parameter",
              context={"schools.private_school_subsidy_yuan": 1500.0},
              context_reason="a private-school subsidy of 1,500 yuan a pupil, whose share of the cost "
              "this sets"),
        Lever("fiscal.service_cost_per_person_yuan", "Public service cost per settled person (yuan).",
              (0.0, 40000.0, 80000.0, 130000.0), 0.0, "Development Research Center of the State "
              "Council (c. 2013): ~8万 yuan a person (data/README.md); 13万 as an upper bound "
              "(assumption)", "+", "each settler costs more", NO_MAGNITUDE,
              outcome="public_cost_yuan", kind="parameter"),
    ]
    for right in ("land", "homestead", "collective"):
        out += _rights(right)
    out += [
        Lever("rights.land_rental", "Contract land may be rented out (流转) while away.", (False, True),
              False, "seed 001 §(三十); Rural Land Contract Law (2018) art. 36-40", "+",
              "rent from land while in town makes town life pay more", NO_MAGNITUDE,
              outcome="resident_urbanization"),
        Lever("rights.homestead_voucher", "A homestead exit is paid as a housing voucher (房票).",
              (False, True), False, "seed 000 §四(三) (房票)", "+", "a voucher worth more than cash "
              "raises what a homestead exit is worth in town", NO_MAGNITUDE,
              context={**_VOUCHER, "rights.voucher_bonus_share": 0.2},
              context_reason="a paid homestead exit, surrendered on settling, with a 20% voucher bonus",
              why="a small stake, valued as the same yuan of compensation (issue 15 review, means "
              "f): the voucher adds the bonus to half the homestead's value, 10% of it, about 3,770 "
              "yuan for Dehong's native migrants (homesteads 37,666 yuan on average, scale 50, seed "
              "0). Compensation from 0 to the full value moves Dehong's settled persons +21,967 ± "
              "6,692 over ten years, about 2,200 per tenth of the value, and the voucher bonus from 0 "
              "to 0.3 (15% of the value) +3,167 ± 1,582; the voucher measured +1,883 ± 1,485 "
              "(3 replications, scale 50, posterior mean; tolerance 2,137: weak), as its yuan "
              "predict; after the posterior's re-fit (main 6b566a5) +2,217 ± 877 (tolerance 2,387), compensation +22,767 ± 1,355. The test is that a voucher's yuan count as compensation's in the decision "
              "and in the payment",
              mechanism_test="tests/test_response.py::test_a_voucher_counts_as_the_same_yuan_of_compensation"),
        Lever("rights.voucher_bonus_share", "Extra value of a housing voucher over cash.",
              (0.0, 0.1, 0.2, 0.3), 0.0, "assumption (seed 000 §四(三) names the 房票 without a rate)",
              "+", "as homestead_voucher", NO_MAGNITUDE,
              context={**_VOUCHER, "rights.homestead_voucher": True},
              context_reason="a paid homestead exit, surrendered on settling, paid as a voucher"),
        # in situ (Dehong has no rural community or urban village: tested on Qingdao)
        Lever("in_situ.reclassify", "Rural communities whose non-farm share passes the threshold "
              "become urban (村改居).", (False, True), False, "seed 000 §四(二)", "+",
              "residents of reclassified communities take urban hukou in place", NO_MAGNITUDE,
              outcome="hukou_urbanization", test_region="qingdao",
              context={"in_situ.nonfarm_threshold": 0.6},
              context_reason="a threshold of 0.6 (within the plausible 0.5-0.9 that "
              "in_situ.nonfarm_threshold runs), since the document's 0.7 masks the lever on "
              "Qingdao (issue 15 review, means c): its most non-farm rural community rises from "
              "0.562 in 2017 (青岛年鉴 2017 wage share) to 0.671 in 2026 (scale 50, seed 0, "
              "posterior mean; towns.parquet nonfarm_share), never passing 0.7 in ten years, so "
              "hukou urbanisation was exactly unchanged; at 0.6 it passes from 2020 and the lever "
              "raises 2026's hukou urbanisation by 1.9 points (+0.0192 ± 0.0009, 3 replications, "
              "scale 50; after the posterior's re-fit (main 6b566a5) +0.0192 ± 0.0011)"),
        Lever("in_situ.nonfarm_threshold", "Non-farm share above which a community is reclassified.",
              (0.5, 0.6, 0.7, 0.8, 0.9), 0.7, "seed 000 §四(二) 超过70%", "-",
              "fewer communities pass a higher line", NO_MAGNITUDE, outcome="hukou_urbanization",
              context={"in_situ.reclassify": True}, context_reason="applies only with reclassify",
              test_region="qingdao"),
        Lever("in_situ.urban_village_conversion_share", "Share of urban-village households converted "
              "a year (城中村改造).", (0.0, 0.1, 0.334, 0.5, 1.0), 0.0, "seed 000 §三(一): 46.4万 by "
              "2020 (qingdao_2017: 0.334, 0.5, 1.0)", "+", "converted households take urban hukou in "
              "place", NO_MAGNITUDE, outcome="hukou_urbanization", test_region="qingdao"),
        # priority
        Lever("priority.order", "Groups served first when a settlement quota binds.",
              ((), ("new_generation",)), (), "seed 001 §(八) (new generation first), seed 000 §二(一), "
              "seed 002 §(四)", "+", "the group served first settles more under a binding quota",
              NO_MAGNITUDE, outcome="group:new_generation:settled_persons",
              context={"hukou.annual_quota": 500}, context_reason="a binding quota of 500 persons "
              "per town and year; without a quota the order changes nothing"),
        Lever("priority.goods_order", "Groups served first for seats, public rental, reserved jobs, "
              "placements and training.", ((), ("new_generation",)), (), "assumption: no seed asks "
              "for one", None, "the group served first gets more of what is rationed",
              NO_MAGNITUDE, outcome="group:new_generation:settled_persons"),
        Lever("priority.long_resident_years", "Years in town that make a 'long resident'.",
              (1, 3, 5, 8, 10), 5, "seed 002 §(四) 连续居住5年以上, seed 000 §二(一) 5年以上", "-",
              "fewer households count as long residents", NO_MAGNITUDE,
              context={**_route_only("hukou"), "hukou.exempt_groups": ("long_resident",)},
              context_reason=ROUTE_REASON + "; long residents exempt"),
    ]
    return out


CATALOGUE: dict[str, Lever] = {lv.name: lv for lv in _catalogue()}
"""Every lever field of the policy schema, by name."""


def select(names: list[str] | None) -> list[Lever]:
    """Catalogue entries by name or by group prefix (``housing``, ``rights.land``); all if None.
    An unknown name raises :class:`UsageError`."""
    if not names:
        return list(CATALOGUE.values())
    out: list[Lever] = []
    for n in names:
        hits = [lv for k, lv in CATALOGUE.items() if k == n or k.startswith(n + ".")]
        if not hits:
            import difflib

            close = difflib.get_close_matches(n, CATALOGUE, n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise UsageError(f"--levers: unknown lever or group '{n}'{hint}")
        out += [h for h in hits if h not in out]
    return out


# --------------------------------------------------------------------------------------------
# Applying a lever region-wide
# --------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _sets(layer: Any, keys: list[str]) -> bool:
    for k in keys:
        if not isinstance(layer, dict) or k not in layer:
            return False
        layer = layer[k]
    return True


def region_wide(policy: Policy, lever: str, value: Any) -> dict[str, Any]:
    """The experiment paths (``group.default.field`` and every tier and town of the package that
    sets the field) that apply ``lever`` = ``value`` everywhere in the package's region."""
    group, *keys = lever.split(".")
    value = _plain(value)
    if group not in PER_TOWN_GROUPS:
        return {lever: value}
    trees = [t for base, changes in policy.layers for t in (base, *(d for _, d in changes))]
    # a class's rule is masked by a more specific layer of the classes it starts from (engine
    # levers.resolve): set it also where those set the field
    groups = {"hukou_outsiders": [group, "hukou"],
              "hukou_province": [group, "hukou_outsiders", "hukou"]}.get(group, [group])
    tiers: set[str] = set()
    towns: set[str] = set()
    for tree in trees:
        for g in groups:
            body = tree.get(g, {})
            tiers |= {t for t, layer in body.get("tiers", {}).items() if _sets(layer, keys)}
            towns |= {t for t, layer in body.get("towns", {}).items() if _sets(layer, keys)}
    name = ".".join(keys)
    paths = [f"{group}.default.{name}"] + [f"{group}.tiers.{t}.{name}" for t in sorted(tiers)] + \
        [f"{group}.towns.{t}.{name}" for t in sorted(towns)]
    return {p: value for p in paths}


def overrides(policy: Policy, entry: Lever, value: Any) -> dict[str, Any]:
    """Every experiment path a run of ``entry`` at ``value`` sets: the lever and its context."""
    out: dict[str, Any] = {}
    for lever, v in entry.context.items():
        out.update(region_wide(policy, lever, v))
    out.update(region_wide(policy, entry.name, value))
    return out


def check_entry(entry: Lever, region: str) -> None:
    """Every value of ``entry`` (off included) is a valid lever value for the region's package,
    resolved as a run resolves it (first and last year, and each year a dated change starts);
    raises ConfigError otherwise."""
    from sim.configuration import deep_merge
    from sim.engine.levers import resolve
    from sim.experiments.spec import lever_override
    from sim.world.places import build_places

    policy = load_policy(POLICIES / f"{SEED_REGIONS[region]}.toml")
    places = build_places(load_region(policy.region_path))
    for value in entry.run_values():
        tree: dict[str, Any] = {}
        for path, v in overrides(policy, entry, value).items():
            tree = deep_merge(tree, lever_override(path, v))
        pol = policy.with_levers(tree)
        for year in sorted({pol.meta.start, pol.meta.end, *(y for y, _ in pol.changes)}):
            if pol.meta.start <= year <= pol.meta.end:
                resolve(pol, places, year)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def experiment(entry: Lever, region: str, values: list[Any], *, replications: int, scale: float,
               seed: int = 0):
    """The sweep of ``entry`` on ``region``'s seed package: one design point per value."""
    from sim.experiments.spec import (
        Design,
        Experiment,
        ExperimentMeta,
        Factor,
        Sensitivity,
    )

    pkg = POLICIES / f"{SEED_REGIONS[region]}.toml"
    policy = load_policy(pkg)
    # one horizon for every region, so responses compare: HORIZON_YEARS from the package's start
    # (past a package's own end its last levers stay in force; a lever such as a purchase subsidy
    # acts through homes bought, which takes years)
    start = policy.meta.start or load_region(policy.region_path).region.base_year + 1
    points = [overrides(policy, entry, v) for v in values]
    factors = [Factor("lever", p, None, None) for p in points[0]]
    outputs = ["metrics", "groups"] if entry.outcome.startswith("group:") else ["metrics"]
    meta = ExperimentMeta(name=f"response-{region}-{entry.name}", packages=[str(pkg)],
                          replications=replications, seed=seed, scale=scale, outputs=outputs,
                          start=start, end=start + HORIZON_YEARS - 1,
                          behaviour=str(behaviour) if (behaviour := response_behaviour()) else None,
                          source=f"lever response of {entry.name} (sim.experiments.response)")
    return Experiment(Path(tempfile.gettempdir()) / f"{meta.name}.toml", meta, Design(), Sensitivity(),
                      [pkg], None, factors, points, behaviour=behaviour)


def _outcome(metrics: pl.DataFrame, groups: pl.DataFrame | None, outcome: str) -> pl.DataFrame:
    """(point, replication, outcome): a rate or stock in the final year, a flow summed."""
    y0, y1 = metrics["year"].min(), metrics["year"].max()
    if outcome.startswith("group:"):
        _, group, col = outcome.split(":")
        assert groups is not None
        sel = groups.filter((pl.col("year") > y0) & (pl.col("group") == group))
        return sel.group_by("point", "replication").agg(pl.col(col).sum().alias("outcome"))
    if outcome in RATE_METRICS or outcome in STOCKS:
        return metrics.filter(pl.col("year") == y1).select("point", "replication",
                                                           pl.col(outcome).alias("outcome"))
    return metrics.filter(pl.col("year") > y0).group_by("point", "replication").agg(
        pl.col(outcome).sum().alias("outcome"))


def measures(metrics: pl.DataFrame, groups: pl.DataFrame | None, entry: Lever, values: list[Any],
             region: str) -> pl.DataFrame:
    """One row per (value, replication) from a finished sweep, with paired differences from the
    off value of the same replication."""
    y0, y1 = metrics["year"].min(), metrics["year"].max()
    flows = metrics.filter(pl.col("year") > y0).group_by("point", "replication").agg(
        pl.col("settled_persons").sum(), pl.col("public_cost_yuan").sum().alias("public_cost_total"),
        pl.col("public_cost_yuan").mean().alias("public_cost_per_year"))
    final = metrics.filter(pl.col("year") == y1).select(
        "point", "replication", "resident_urbanization", "hukou_urbanization",
        "hukou_urbanization_hukou_base")
    df = flows.join(final, on=["point", "replication"]).join(
        _outcome(metrics, groups, entry.outcome), on=["point", "replication"])
    off_point = values.index(entry.off)
    df = df.with_columns(
        pl.lit(entry.name).alias("lever"),
        pl.col("point").map_elements(lambda p: label(values[p]), return_dtype=pl.String).alias("value"),
        pl.col("point").map_elements(lambda p: entry.x(values[p]), return_dtype=pl.Float64).alias("x"),
        (pl.col("point") == off_point).alias("is_off"),
        pl.lit(region).alias("region"), pl.lit(SEED_REGIONS[region]).alias("package"),
        pl.lit(entry.outcome).alias("outcome_name"),
        pl.lit(int(y0) + 1).alias("first_year"), pl.lit(int(y1)).alias("last_year"))
    base = df.filter(pl.col("is_off")).select(
        "replication", pl.col("settled_persons").alias("_s0"),
        pl.col("public_cost_total").alias("_c0"), pl.col("outcome").alias("_o0"))
    df = df.join(base, on="replication").with_columns(
        (pl.col("settled_persons") - pl.col("_s0")).alias("d_settled"),
        (pl.col("public_cost_total") - pl.col("_c0")).alias("d_cost_total"),
        (pl.col("outcome") - pl.col("_o0")).alias("d_outcome"))
    df = df.with_columns(pl.when(pl.col("d_settled") != 0)
                         .then(pl.col("d_cost_total") / pl.col("d_settled"))
                         .otherwise(None).alias("cost_per_additional_settler"))
    cols = ["lever", "value", "x", "is_off", "region", "package", "replication", "first_year",
            "last_year", "settled_persons", "resident_urbanization", "hukou_urbanization",
            "hukou_urbanization_hukou_base", "public_cost_per_year", "public_cost_total",
            "outcome_name", "outcome", "d_settled", "d_cost_total", "d_outcome",
            "cost_per_additional_settler"]
    return df.select(cols).sort("x", "replication")


def check_scale(regions: list[str], scale: float) -> None:
    """Every region keeps at least MIN_AGENTS agents at ``scale`` (UsageError otherwise)."""
    from sim.configuration.settings import MIN_AGENTS

    for region in regions:
        reg = load_region(load_policy(POLICIES / f"{SEED_REGIONS[region]}.toml").region_path).region
        agents = reg.population / reg.mean_household_size / scale
        if agents < MIN_AGENTS:
            raise UsageError(f"--scale: {scale:g} households per agent leave {agents:.1f} agents in "
                             f"{region}; at least {MIN_AGENTS} are needed")


def run_responses(regions: list[str] | None = None, levers: list[Lever] | None = None, *,
                  replications: int = DEFAULT_REPLICATIONS, scale: float = DEFAULT_SCALE,
                  seed: int = 0, workers: int = 2, endpoints: bool = False,
                  executor: Executor | None = None, out: str | Path | None = None,
                  progress: bool = False) -> pl.DataFrame:
    """Run every lever of ``levers`` (default: the catalogue) over its values on every region of
    ``regions`` (default: the five seed regions) and return :func:`measures`' rows for all.

    Each (lever, region) is one sweep (``out/<region>/<lever>``, a temporary folder unless
    ``out`` is given) on one shared pool of ``workers`` processes (or ``executor``); a few
    sweeps are submitted at once so the pool stays busy between them. ``endpoints`` runs only
    the ends of each range and the off value. A failed run raises SimError."""
    from sim.experiments.sweep import local_executor, read_output, run_sweep

    regions = list(regions or SEED_REGIONS)
    unknown = [r for r in regions if r not in SEED_REGIONS]
    if unknown:
        raise UsageError(f"--regions: unknown region {unknown[0]!r}; allowed: {', '.join(SEED_REGIONS)}")
    if replications < 2:
        raise UsageError("--replications: must be at least 2 (noise is measured across replications)")
    levers = list(levers or CATALOGUE.values())
    check_scale(regions, scale)
    root = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="sim-response-"))
    own_pool = executor is None
    pool = executor or local_executor(workers)
    done = [0]
    lock = threading.Lock()
    total = len(levers) * len(regions)

    def one(entry: Lever, region: str) -> pl.DataFrame:
        values = entry.run_values(endpoints)
        exp = experiment(entry, region, values, replications=replications, scale=scale, seed=seed)
        folder = root / region / entry.name
        rep = run_sweep(exp, folder, executor=pool, progress=False)
        if rep.failed:
            raise SimError(f"lever response {entry.name} on {region}: {len(rep.failed)} runs failed; "
                           f"first: {rep.failed[0]['error']}")
        metrics = read_output(folder, "metrics", rep.runs)
        groups = read_output(folder, "groups", rep.runs) if "groups" in exp.meta.outputs else None
        if out is None:
            shutil.rmtree(folder, ignore_errors=True)
        with lock:
            done[0] += 1
            if progress:
                import sys

                print(f"\r  {done[0]}/{total} lever x region sweeps", end="", file=sys.stderr,
                      flush=True)
        return measures(metrics, groups, entry, values, region)

    try:
        with ThreadPoolExecutor(max_workers=max(2, workers + 1)) as threads:
            futures = [threads.submit(one, e, r) for r in regions for e in levers]
            frames = [f.result() for f in futures]
    finally:
        if progress:
            import sys

            print(file=sys.stderr)
        if own_pool:
            pool.shutdown(wait=False, cancel_futures=True)
        if out is None:
            shutil.rmtree(root, ignore_errors=True)
    return pl.concat(frames, how="vertical_relaxed")


# --------------------------------------------------------------------------------------------
# Verdicts: flat, direction
# --------------------------------------------------------------------------------------------


def mean_ci(values: pl.Series) -> tuple[float, float]:
    """Mean and the 90% CI half-width of the mean (Student t), 0 for a constant series."""
    from sim.experiments.compare import t90

    v = values.drop_nulls().drop_nans()
    n = v.len()
    if n == 0:
        return float("nan"), float("nan")
    sd = float(v.std()) if n > 1 else 0.0
    return float(v.mean()), (t90(n - 1) * sd / math.sqrt(n) if n > 1 and sd > 0 else 0.0)


def tolerance(entry: Lever, baseline: float) -> float:
    """The size below which a change of the entry's outcome is negligible."""
    rate = entry.outcome in RATE_METRICS
    return RATE_TOLERANCE if rate else COUNT_TOLERANCE * abs(baseline)


def verdicts(frame: pl.DataFrame) -> pl.DataFrame:
    """Per (lever, region): the off value's outcome (``baseline``), the largest mean paired change
    from it over the values run (``max_change``, with its 90% half-width), a status, and the
    direction measured over the range.

    With D the mean paired change of the outcome from the off value at a value run, h its 90%
    confidence half-width (Student t across replications; 0 if every replication agrees) and the
    tolerance 1% of the off value's outcome for counts and yuan, 0.1 percentage point for rates:

    * **flat**: at every value, |D| <= tolerance and |D| <= h: negligible and not told apart from
      noise;
    * **weak**: at every value |D| <= tolerance, but some |D| > h: detected, yet negligible;
    * **inconclusive**: some |D| > tolerance, but every |D| <= h: possibly material, not detected;
    * **responds**: some value with |D| > tolerance and |D| > h.

    The direction is that of the mean paired change from ``values[0]`` to ``values[-1]``: "+" or
    "-" when its 90% confidence interval excludes 0, else "0". ``consistent``: it equals the
    expected direction and exceeds the tolerance (None where no direction is expected).
    """
    rows = []
    for (name, region), sub in frame.group_by("lever", "region", maintain_order=True):
        entry = CATALOGUE[name]
        baseline = float(sub.filter(pl.col("is_off"))["outcome"].mean())
        tol = tolerance(entry, baseline)
        changes = [mean_ci(part["d_outcome"])
                   for _, part in sub.filter(~pl.col("is_off")).group_by("x", maintain_order=True)]
        small = all(abs(m) <= tol for m, _ in changes)
        noise = all(abs(m) <= h for m, h in changes)
        status = ("flat" if small and noise else "weak" if small else "inconclusive" if noise
                  else "responds")
        worst = max(changes, key=lambda c: abs(c[0])) if changes else (0.0, 0.0)
        lo, hi = entry.x(entry.values[0]), entry.x(entry.values[-1])
        a = sub.filter(pl.col("x") == lo).select("replication", pl.col("outcome").alias("a"))
        b = sub.filter(pl.col("x") == hi).select("replication", pl.col("outcome").alias("b"))
        d, h = mean_ci(a.join(b, on="replication").select(pl.col("b") - pl.col("a"))["b"])
        measured = "+" if d > h and d > 0 else "-" if d < -h and d < 0 else "0"
        consistent = None if entry.direction is None else (measured == entry.direction and abs(d) > tol)
        rows.append({"lever": name, "region": region, "outcome_name": entry.outcome,
                     "baseline": baseline, "tolerance": tol, "max_change": worst[0],
                     "max_change_ci": worst[1], "status": status,
                     "range_change": d, "range_change_ci": h, "measured": measured,
                     "expected": entry.direction or "", "consistent": consistent})
    return pl.DataFrame(rows, schema_overrides={"consistent": pl.Boolean})
