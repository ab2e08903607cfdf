"""One test per lever: the direction of its effect on the small test region (DESIGN §4).

Each case runs a control and a treatment package that differ in that lever only (the same
replications and draws: common random numbers) and checks the sign of the difference in an
outcome the lever should move. A final test checks that every lever field has a case, so a
lever that is parsed but changes nothing cannot slip in.
"""

from __future__ import annotations

from typing import Any, Callable

import polars as pl
import pytest

from sim.configuration import PER_TOWN_GROUPS, REGION_WIDE_GROUPS, PointsWeights
from tests.conftest import simulate

Out = dict[str, pl.DataFrame]


def total(col: str) -> Callable[[Out], float]:
    return lambda o: float(o["metrics"].filter(pl.col("year") > pl.col("year").min())[col].sum())


def final(col: str) -> Callable[[Out], float]:
    return lambda o: float(o["metrics"].filter(pl.col("year") == pl.col("year").max())[col].mean())


def mean(col: str) -> Callable[[Out], float]:
    return lambda o: float(o["metrics"].filter(pl.col("year") > pl.col("year").min())[col].mean())


def group(name: str, col: str = "settled_persons") -> Callable[[Out], float]:
    return lambda o: float(o["groups"].filter(pl.col("group") == name)[col].sum())


def towns_final(col: str) -> Callable[[Out], float]:
    return lambda o: float(o["towns"].filter(pl.col("year") == pl.col("year").max())[col].sum())


def towns_total(col: str) -> Callable[[Out], float]:
    return lambda o: float(o["towns"].filter(pl.col("year") > pl.col("year").min())[col].sum())


def flows(kind: str) -> Callable[[Out], float]:
    return lambda o: float(o["flows"].filter(pl.col("kind") == kind)["persons"].sum())


def hk(**kw: Any) -> dict:
    return {"hukou": {"default": kw}}


OPEN = {"purchase_required": False}  # with nothing else set: no route at all (closed)
RES = {"purchase_required": False, "residence": True, "rental_counts": True}


def merge(*trees: dict) -> dict:
    from sim.configuration import deep_merge

    out: dict = {}
    for t in trees:
        out = deep_merge(out, t)
    return out


# lever id -> (control override, treatment override, outcome, expected sign (0: unchanged), region
# tweak: economy values, and region values under "region")
CASES: dict[str, tuple[dict, dict, Callable[[Out], float], int, dict]] = {
    # hukou entry
    "hukou.open": ({}, hk(open=True), total("settled_persons"), +1, {}),
    "hukou.residence": (hk(**OPEN), hk(**OPEN, residence=True), total("settled_persons"), +1, {}),
    "hukou.rental_counts": (hk(**OPEN, residence=True), hk(**RES), total("settled_persons"), +1, {}),
    "hukou.job": (hk(**OPEN), hk(**OPEN, job=True), total("settled_persons"), +1, {}),
    "hukou.combine": (hk(**RES, job=True, combine="and"), hk(**RES, job=True, combine="or"),
                      total("settled_persons"), +1, {}),
    "hukou.min_years_resident": (hk(**RES), hk(**RES, min_years_resident=5),
                                 total("settled_persons"), -1, {}),
    "hukou.min_insurance_years": (hk(**RES), hk(**RES, min_insurance_years=5),
                                  total("settled_persons"), -1, {}),
    "hukou.min_insurance_years_residence": (hk(**RES), hk(**RES, min_insurance_years_residence=3),
                                            total("settled_persons"), -1, {}),
    "hukou.min_insurance_years_job": (hk(**OPEN, job=True), hk(**OPEN, job=True, min_insurance_years_job=3),
                                      total("settled_persons"), -1, {}),
    # insurance asked of the job path only leaves the residence path open: more settle than
    # when the whole basic route asks it
    "hukou.min_insurance_years_job/per_route": (hk(**RES, job=True, min_insurance_years=3),
                                                hk(**RES, job=True, min_insurance_years_job=3),
                                                total("settled_persons"), +1, {}),
    "hukou.purchase_required": (hk(**RES), hk(**RES) | {"hukou": {"default": {**RES, "purchase_required": True}}},
                                total("settled_persons"), -1, {}),
    "hukou.min_floor_area_m2": ({}, hk(min_floor_area_m2=120), total("settled_persons"), -1, {}),
    "hukou.talent": (hk(**OPEN, skill_min_level=1), hk(**OPEN, skill_min_level=1, talent="route"),
                     total("settled_persons"), +1, {}),
    "hukou.tax_threshold_yuan": (hk(**OPEN, talent="route"),
                                 hk(**OPEN, talent="route", tax_threshold_yuan=30000),
                                 total("settled_persons"), +1, {}),
    "hukou.skill_min_level": (hk(**OPEN, talent="route"), hk(**OPEN, talent="route", skill_min_level=1),
                              total("settled_persons"), +1, {}),
    "hukou.points_threshold": (hk(**OPEN, points_weights={"per_year_resident": 10}),
                               hk(**OPEN, points_weights={"per_year_resident": 10}, points_threshold=30),
                               total("settled_persons"), +1, {}),
    "hukou.exempt_groups": ({}, hk(exempt_groups=["new_generation"]),
                            group("new_generation"), +1, {}),
    "hukou.kin_generations": (hk(**OPEN), hk(**OPEN, kin_generations=3), total("settled_persons"), +1, {}),
    "hukou.annual_quota": (hk(open=True), hk(open=True, annual_quota=100), total("settled_persons"), -1, {}),
    "hukou_outsiders": (hk(open=True), merge(hk(open=True), {"hukou_outsiders": {"default": {"open": False}}}),
                        group("outsider"), -1, {}),
    # the third origin class (seed 001: 德宏籍 / 云南籍 / 外省籍): outsiders from the same province
    # have rules of their own on top of the outsiders' (half the small region's outsiders here)
    "hukou_province": (merge(hk(open=True), {"hukou_outsiders": {"default": {"open": False}}}),
                       merge(hk(open=True), {"hukou_outsiders": {"default": {"open": False}},
                                             "hukou_province": {"default": {"open": True}}}),
                       group("outsider"), +1, {"region": {"province_share_of_outsiders": 0.5}}),
    # housing
    "housing.purchase_subsidy_yuan": ({}, {"housing": {"default": {"purchase_subsidy_yuan": 100000}}},
                                      total("settled_persons"), +1, {}),
    "housing.deed_tax_subsidy_share": ({}, {"housing": {"default": {"deed_tax_subsidy_share": 1.0}}},
                                       total("homes_bought"), +1, {}),
    "housing.purchase_fee_relief_share": ({}, {"housing": {"default": {"purchase_fee_relief_share": 1.0}}},
                                          total("homes_bought"), +1, {}),
    "housing.purchase_support_requires_hukou": (
        {"housing": {"default": {"purchase_subsidy_yuan": 100000}}},
        {"housing": {"default": {"purchase_subsidy_yuan": 100000, "purchase_support_requires_hukou": True}}},
        total("homes_bought"), -1, {}),
    "housing.rental_subsidy_yuan": ({"housing": {"default": {"rental_subsidy_to": "permit"}}},
                                    {"housing": {"default": {"rental_subsidy_to": "permit",
                                                             "rental_subsidy_yuan": 8000}}},
                                    total("returned_persons"), -1, {}),
    "housing.rental_subsidy_to": (merge(hk(open=True), {"housing": {"default": {"rental_subsidy_yuan": 8000}}}),
                                  merge(hk(open=True), {"housing": {"default": {"rental_subsidy_yuan": 8000,
                                                                                "rental_subsidy_to": "hukou"}}}),
                                  total("settled_persons"), +1, {}),
    # the income test of housing security: fewer renters qualify for the subsidy (and public
    # rental), so less is paid and more go home
    "housing.support_income_limit_yuan": (
        {"housing": {"default": {"rental_subsidy_to": "permit", "rental_subsidy_yuan": 8000}}},
        {"housing": {"default": {"rental_subsidy_to": "permit", "rental_subsidy_yuan": 8000,
                                 "support_income_limit_yuan": 15000}}},
        total("rental_subsidy_yuan"), -1, {}),
    "housing.support_income_limit_yuan/returns": (
        {"housing": {"default": {"rental_subsidy_to": "permit", "rental_subsidy_yuan": 8000}}},
        {"housing": {"default": {"rental_subsidy_to": "permit", "rental_subsidy_yuan": 8000,
                                 "support_income_limit_yuan": 15000}}},
        total("returned_persons"), +1, {}),
    "housing.support_income_limit_yuan/public_rental": (
        {"housing": {"default": {"public_rental_open_to": "residents"}}},
        {"housing": {"default": {"public_rental_open_to": "residents", "support_income_limit_yuan": 15000}}},
        towns_total("public_rental_tenants"), -1, {}),
    # a take-up share below one: households count the subsidy's expected value, the cost pays it
    "housing.rental_subsidy_takeup": (
        {"housing": {"default": {"rental_subsidy_to": "permit", "rental_subsidy_yuan": 8000}}},
        {"housing": {"default": {"rental_subsidy_to": "permit", "rental_subsidy_yuan": 8000,
                                 "rental_subsidy_takeup": 0.2}}},
        total("returned_persons"), +1, {}),
    "housing.rental_subsidy_takeup/cost": (
        {"housing": {"default": {"rental_subsidy_to": "permit", "rental_subsidy_yuan": 8000}}},
        {"housing": {"default": {"rental_subsidy_to": "permit", "rental_subsidy_yuan": 8000,
                                 "rental_subsidy_takeup": 0.2}}},
        total("rental_subsidy_yuan"), -1, {}),
    "housing.public_rental_open_to": ({}, {"housing": {"default": {"public_rental_open_to": "residents"}}},
                                      towns_total("public_rental_tenants"), +1, {}),
    "housing.public_rental_min_job_years": (
        {"housing": {"default": {"public_rental_open_to": "residents"}}},
        {"housing": {"default": {"public_rental_open_to": "residents", "public_rental_min_job_years": 3}}},
        towns_total("public_rental_queue"), -1, {}),
    "housing.public_rental_natives_only": (
        {"housing": {"default": {"public_rental_open_to": "residents"}}},
        {"housing": {"default": {"public_rental_open_to": "residents", "public_rental_natives_only": True}}},
        towns_total("public_rental_queue"), -1, {}),
    # public rental for natives and same-province outsiders (seed 001 §(十六) 云南籍): fewer
    # applicants than open to all, more than natives only
    "housing.public_rental_province_only": (
        {"housing": {"default": {"public_rental_open_to": "residents"}}},
        {"housing": {"default": {"public_rental_open_to": "residents", "public_rental_province_only": True}}},
        towns_total("public_rental_queue"), -1, {"region": {"province_share_of_outsiders": 0.5}}),
    "housing.public_rental_province_only/admits_province": (
        {"housing": {"default": {"public_rental_open_to": "residents", "public_rental_natives_only": True}}},
        {"housing": {"default": {"public_rental_open_to": "residents", "public_rental_province_only": True}}},
        towns_total("public_rental_queue"), +1, {"region": {"province_share_of_outsiders": 0.5}}),
    "housing.public_rental_build_per_year": ({}, {"housing": {"default": {"public_rental_build_per_year": 100}}},
                                             towns_final("public_rental_units"), +1, {}),
    "housing.public_rental_rent_share": (
        {"housing": {"default": {"public_rental_open_to": "residents", "public_rental_rent_share": 1.0,
                                 "public_rental_build_per_year": 2000}}},
        {"housing": {"default": {"public_rental_open_to": "residents", "public_rental_rent_share": 0.1,
                                 "public_rental_build_per_year": 2000}}},
        total("returned_persons"), -1, {}),
    "housing.provident_fund_migrants": ({}, {"housing": {"default": {"provident_fund_migrants": True}}},
                                        total("homes_bought"), +1, {}),
    # schools
    "schools.nonhukou_admission_share": ({}, {"schools": {"default": {"nonhukou_admission_share": 1.0}}},
                                         mean("left_behind_children"), -1, {}),
    "schools.nonhukou_admission_share/pull_of_hukou": (
        {}, {"schools": {"default": {"nonhukou_admission_share": 1.0}}}, mean("settlement_intention"), -1, {}),
    "schools.enrolment_basis": ({}, {"schools": {"default": {"enrolment_basis": "residence_permit"}}},
                                mean("left_behind_children"), -1, {}),
    "schools.seat_growth_per_year": ({}, {"schools": {"default": {"seat_growth_per_year": 0.1}}},
                                     towns_final("school_seats"), +1, {}),
    "schools.funding_per_migrant_child_yuan": (
        {"schools": {"default": {"nonhukou_admission_share": 1.0}}},
        {"schools": {"default": {"nonhukou_admission_share": 1.0, "funding_per_migrant_child_yuan": 5000}}},
        towns_final("school_seats"), +1, {}),
    # operating money that follows migrant pupils: receiving schools admit more of them, so
    # fewer are left behind (and it buys no seat)
    "schools.operating_funds_per_migrant_pupil_yuan": (
        {"schools": {"default": {"nonhukou_admission_share": 0.3}}},
        {"schools": {"default": {"nonhukou_admission_share": 0.3, "operating_funds_per_migrant_pupil_yuan": 5000}}},
        mean("left_behind_children"), -1, {}),
    "schools.operating_funds_per_migrant_pupil_yuan/no_seats": (
        {"schools": {"default": {"nonhukou_admission_share": 1.0}}},
        {"schools": {"default": {"nonhukou_admission_share": 1.0, "operating_funds_per_migrant_pupil_yuan": 5000}}},
        towns_final("school_seats"), 0, {}),
    # a subsidy to private schools for migrant children: native migrants' pupils without a public
    # seat study in town instead of being left behind
    "schools.private_school_subsidy_yuan": (
        {}, {"schools": {"default": {"private_school_subsidy_yuan": 1500}}}, mean("left_behind_children"), -1, {}),
    "fiscal.pupil_operating_cost_yuan": (
        {"schools": {"default": {"nonhukou_admission_share": 0.3, "operating_funds_per_migrant_pupil_yuan": 2000}},
         "fiscal": {"default": {"pupil_operating_cost_yuan": 20000}}},
        {"schools": {"default": {"nonhukou_admission_share": 0.3, "operating_funds_per_migrant_pupil_yuan": 2000}},
         "fiscal": {"default": {"pupil_operating_cost_yuan": 4000}}},
        mean("left_behind_children"), -1, {}),
    "fiscal.private_school_cost_yuan": (
        {"schools": {"default": {"private_school_subsidy_yuan": 1000}}, "fiscal": {"default": {"private_school_cost_yuan": 8000}}},
        {"schools": {"default": {"private_school_subsidy_yuan": 1000}}, "fiscal": {"default": {"private_school_cost_yuan": 2000}}},
        mean("left_behind_children"), -1, {}),
    "schools.local_exam_nonhukou": (
        {"schools": {"default": {"nonhukou_admission_share": 1.0}}},
        {"schools": {"default": {"nonhukou_admission_share": 1.0, "local_exam_nonhukou": True}}},
        mean("settlement_intention"), -1, {}),
    # services
    "services.permit_coverage": ({}, {"services": {"default": {"permit_coverage": 1.0}}},
                                 mean("settlement_intention"), -1, {}),
    "services.permit_min_years": ({"services": {"default": {"permit_coverage": 1.0, "permit_min_years": 0}}},
                                  {"services": {"default": {"permit_coverage": 1.0, "permit_min_years": 5}}},
                                  mean("settlement_intention"), +1, {}),
    "services.insurance_portable": ({}, {"services": {"default": {"insurance_portable": True}}},
                                    flows("moved"), +1, {}),
    # flexible and self-employed workers who contribute accrue insurance years, which a route
    # asking for them counts
    "services.flexible_insurance_share": (
        hk(**RES, min_insurance_years=2),
        merge(hk(**RES, min_insurance_years=2), {"services": {"default": {"flexible_insurance_share": 1.0}}}),
        total("settled_persons"), +1, {}),
    "services.agri_subsidies_kept": (hk(open=True), merge(hk(open=True), {"services": {"default": {"agri_subsidies_kept": True}}}),
                                     group("with_land"), +1, {"agri_subsidy_per_mu": 2000}),
    # jobs
    "jobs.reserved_jobs": (hk(**OPEN, job=True), merge(hk(**OPEN, job=True), {"jobs": {"default": {"reserved_jobs": 200}}}),
                           total("settled_persons"), +1, {}),
    # the reserve's vacant posts are offered to villagers too (an offer like a placement): more move
    "jobs.reserved_jobs/villagers": ({}, {"jobs": {"default": {"reserved_jobs": 200}}},
                                     total("migrated_persons"), +1, {}),
    "jobs.training_places": (hk(**OPEN, talent="route", skill_min_level=2),
                             merge(hk(**OPEN, talent="route", skill_min_level=2),
                                   {"jobs": {"default": {"training_places": 300}}}),
                             total("settled_persons"), +1, {}),
    "jobs.placements": ({}, {"jobs": {"default": {"placements": 200}}}, total("migrated_persons"), +1, {}),
    # fiscal
    "fiscal.transfer_per_settler_yuan": (hk(open=True), merge(hk(open=True), {"fiscal": {"default": {"transfer_per_settler_yuan": 50000}}}),
                                         towns_final("school_seats"), +1, {}),
    "fiscal.transfer_share_schools": (
        merge(hk(open=True), {"fiscal": {"default": {"transfer_per_settler_yuan": 50000, "transfer_share_schools": 0.0,
                                                     "transfer_share_housing": 0.0}}}),
        merge(hk(open=True), {"fiscal": {"default": {"transfer_per_settler_yuan": 50000, "transfer_share_schools": 1.0,
                                                     "transfer_share_housing": 0.0}}}),
        towns_final("school_seats"), +1, {}),
    "fiscal.transfer_share_housing": (
        merge(hk(open=True), {"fiscal": {"default": {"transfer_per_settler_yuan": 50000, "transfer_share_housing": 0.0,
                                                     "transfer_share_schools": 0.0}}}),
        merge(hk(open=True), {"fiscal": {"default": {"transfer_per_settler_yuan": 50000, "transfer_share_housing": 1.0,
                                                     "transfer_share_schools": 0.0}}}),
        towns_final("public_rental_units"), +1, {}),
    "fiscal.land_per_settler_m2": (hk(open=True), merge(hk(open=True), {"fiscal": {"default": {"land_per_settler_m2": 200}}}),
                                   towns_final("rent_yuan_month"), -1, {}),
    "fiscal.seat_cost_yuan": (
        merge(hk(open=True), {"fiscal": {"default": {"transfer_per_settler_yuan": 50000, "seat_cost_yuan": 90000}}}),
        merge(hk(open=True), {"fiscal": {"default": {"transfer_per_settler_yuan": 50000, "seat_cost_yuan": 20000}}}),
        towns_final("school_seats"), +1, {}),
    "fiscal.rental_unit_cost_yuan": (
        merge(hk(open=True), {"fiscal": {"default": {"transfer_per_settler_yuan": 50000, "rental_unit_cost_yuan": 300000}}}),
        merge(hk(open=True), {"fiscal": {"default": {"transfer_per_settler_yuan": 50000, "rental_unit_cost_yuan": 50000}}}),
        towns_final("public_rental_units"), +1, {}),
    "fiscal.service_cost_per_person_yuan": (hk(open=True), merge(hk(open=True), {"fiscal": {"default": {"service_cost_per_person_yuan": 80000}}}),
                                            total("public_cost_yuan"), +1, {}),
    # rural rights
    "rights.land.on_settle": (hk(open=True), merge(hk(open=True), {"rights": {"land": {"on_settle": "surrendered"}}}),
                              group("with_land"), -1, {}),
    "rights.homestead.on_settle": (hk(open=True), merge(hk(open=True), {"rights": {"homestead": {"on_settle": "surrendered"}}}),
                                   total("settled_persons"), -1, {}),
    "rights.collective.on_settle": (hk(open=True), merge(hk(open=True), {"rights": {"collective": {"on_settle": "surrendered"}}}),
                                    total("settled_persons"), -1, {}),
    "rights.collective.on_settle/kept_for_life": (
        hk(open=True), merge(hk(open=True), {"rights": {"collective": {"on_settle": "kept_for_life"}}}),
        total("settled_persons"), -1, {}),
    # the Land Contract Law 2003 art. 26 rule: land handed back in a 设区的市 (the central city),
    # kept in the other towns; fewer land holders settle, and fewer in the central city
    "rights.land.on_settle_tiers": (hk(open=True), merge(hk(open=True), {"rights": {"land": {
        "on_settle_tiers": {"central_city": "surrendered"}}}}), group("with_land"), -1, {}),
    "rights.land.on_settle_tiers/only_that_tier": (
        hk(open=True), merge(hk(open=True), {"rights": {"land": {"on_settle_tiers": {"central_city": "surrendered"}}}}),
        group("in_central_city"), -1, {}),
    # a kept right that ends with the contract round: settlers weigh the years left (fewer land
    # holders settle), and after it settled households no longer hold it (nothing to exit)
    "rights.land.kept_until_year": (hk(open=True), merge(hk(open=True), {"rights": {"land": {
        "kept_until_year": 2019}}}), group("with_land"), -1, {}),
    "rights.land.kept_until_year/ends": (
        merge(hk(open=True), {"rights": {"land": {"paid_exit": True, "compensation_share": 1.0}}}),
        merge(hk(open=True), {"rights": {"land": {"paid_exit": True, "compensation_share": 1.0,
                                                   "kept_until_year": 2018}}}),
        total("land_exited_mu"), -1, {}),
    "rights.land.paid_exit": (hk(open=True), merge(hk(open=True), {"rights": {"land": {"paid_exit": True, "compensation_share": 1.0}}}),
                              total("land_exited_mu"), +1, {}),
    "rights.land.compensation_share": (
        merge(hk(open=True), {"rights": {"land": {"paid_exit": True, "compensation_share": 0.2}}}),
        merge(hk(open=True), {"rights": {"land": {"paid_exit": True, "compensation_share": 1.5}}}),
        total("land_exited_mu"), +1, {}),
    "rights.land_rental": ({}, {"rights": {"land_rental": True}}, total("migrated_persons"), +1, {}),
    "rights.homestead_voucher": (
        merge(hk(open=True), {"rights": {"homestead": {"paid_exit": True, "compensation_share": 1.0},
                                         "voucher_bonus_share": 0.5}}),
        merge(hk(open=True), {"rights": {"homestead": {"paid_exit": True, "compensation_share": 1.0},
                                         "voucher_bonus_share": 0.5, "homestead_voucher": True}}),
        total("compensation_paid_yuan"), +1, {}),
    "rights.voucher_bonus_share": (
        merge(hk(open=True), {"rights": {"homestead": {"paid_exit": True, "compensation_share": 1.0},
                                         "homestead_voucher": True}}),
        merge(hk(open=True), {"rights": {"homestead": {"paid_exit": True, "compensation_share": 1.0},
                                         "homestead_voucher": True, "voucher_bonus_share": 0.5}}),
        total("compensation_paid_yuan"), +1, {}),
    # in-situ urbanisation
    "in_situ.reclassify": ({}, {"in_situ": {"reclassify": True, "nonfarm_threshold": 0.5}},
                           total("reclassified_persons"), +1, {}),
    "in_situ.nonfarm_threshold": ({"in_situ": {"reclassify": True, "nonfarm_threshold": 0.95}},
                                  {"in_situ": {"reclassify": True, "nonfarm_threshold": 0.5}},
                                  total("reclassified_persons"), +1, {}),
    "in_situ.urban_village_conversion_share": ({}, {"in_situ": {"urban_village_conversion_share": 0.3}},
                                               final("hukou_urbanization"), +1, {}),
    # priority
    "priority.order": (hk(open=True, annual_quota=100),
                       merge(hk(open=True, annual_quota=100), {"priority": {"order": ["new_generation"]}}),
                       group("new_generation"), +1, {}),
    # goods priority: new-generation migrants first for scarce public rental, which counts as a
    # residence for settling, so more of them settle (and fewer older ones)
    "priority.goods_order": (
        merge(hk(**RES), {"housing": {"default": {"public_rental_open_to": "residents"}}}),
        merge(hk(**RES), {"housing": {"default": {"public_rental_open_to": "residents"}},
                          "priority": {"goods_order": ["new_generation"]}}),
        group("new_generation"), +1, {}),
    "priority.long_resident_years": (
        merge(hk(exempt_groups=["long_resident"]), {"priority": {"long_resident_years": 10}}),
        merge(hk(exempt_groups=["long_resident"]), {"priority": {"long_resident_years": 2}}),
        total("settled_persons"), +1, {}),
}

# every points weight is a lever of its own: weight 1 per unit with threshold 1
for _w in PointsWeights.model_fields:
    if _w in ("source", "sources"):
        continue
    CASES[f"hukou.points_weights.{_w}"] = (
        hk(**OPEN, points_threshold=1), hk(**OPEN, points_threshold=1, points_weights={_w: 1.0}),
        total("settled_persons"), +1, {})


def tweak(region, eco: dict):
    """The region with a case's changes: economy values, and region values under "region"."""
    meta = eco.get("region", {})
    eco = {k: v for k, v in eco.items() if k != "region"}
    if eco:
        region = region.model_copy(update={"economy": region.economy.model_copy(update=eco)})
    if meta:
        region = region.model_copy(update={"region": region.region.model_copy(update=meta)})
    return region


@pytest.mark.parametrize("lever", sorted(CASES))
def test_lever_moves_its_outcome(lever, base, region, behaviour):
    control, treatment, outcome, sign, eco = CASES[lever]
    reg = tweak(region, eco)
    a = outcome(simulate(base.with_levers(control), reg, behaviour))
    b = outcome(simulate(base.with_levers(treatment), reg, behaviour))
    if sign == 0:  # the lever must leave this outcome alone
        assert b == pytest.approx(a, rel=1e-9), f"{lever}: control {a:.6g}, treatment {b:.6g}, expected no change"
        return
    assert (b - a) * sign > 0, f"{lever}: control {a:.4g}, treatment {b:.4g}, expected sign {sign:+d}"


def test_reserved_jobs_are_a_standing_stock(base, region, behaviour):
    """Seed 003 §二(二)4's 动态储备 is a stock of posts, not a yearly flow of contracts: at no year's
    end do more households hold a town's reserved posts than its stock, and after the first
    year only the posts that fall vacant (jobs lost, holders moving away) are filled again."""
    stock = 300
    out = simulate(base.with_levers(merge(hk(**OPEN, job=True), {"jobs": {"default": {"reserved_jobs": stock}}})),
                   region, behaviour)
    towns = out["towns"].filter(pl.col("year") > pl.col("year").min())
    assert towns["reserved_jobs_held"].max() <= stock + 1e-9
    assert towns["reserved_jobs_held"].sum() > 0
    filled = out["metrics"].filter(pl.col("year") > pl.col("year").min()).group_by("year").agg(
        pl.col("reserved_jobs_filled").mean()).sort("year")["reserved_jobs_filled"]
    n_towns = towns["town"].n_unique()
    assert filled[0] > 0
    assert filled[1:].mean() < 0.5 * filled[0] < 0.5 * stock * n_towns  # not the stock again each year


def test_every_lever_has_a_direction_test():
    """No dead levers: every field of every lever group is exercised by a case above."""
    covered = {k.split("/")[0] for k in CASES}
    missing = []
    for group, model in {**PER_TOWN_GROUPS, **REGION_WIDE_GROUPS}.items():
        if group in ("hukou_outsiders", "hukou_province"):  # the natives' fields, for a class
            assert group in covered
            continue
        for name, field in model.model_fields.items():
            if name in ("source", "sources"):
                continue
            sub = getattr(field.annotation, "model_fields", None)
            if name == "points_weights":
                keys = [f"hukou.points_weights.{w}" for w in sub if w not in ("source", "sources")]
            elif group == "rights" and sub is not None:
                keys = [f"rights.land.{f}" if name == "land" else None for f in sub
                        if f not in ("source", "sources")]
                keys = [k for k in keys if k] + [f"rights.{name}.on_settle"]
            else:
                keys = [f"{group}.{name}"]
            missing += [k for k in keys if k not in covered]
    assert not missing, f"levers without a direction test: {missing}"
