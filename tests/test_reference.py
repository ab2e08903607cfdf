"""The engine against the Mesa reference implementation (issue 6).

``benchmarks/reference_mesa.py`` restates every yearly rule with one ``mesa.Agent`` per
household and plain-Python scalar maths. Both models start from the same households (the same
population stream), so the starting row must agree exactly; after that their draws differ, so the
yearly outcomes are compared statistically: over R replications with the same seeds, the means
of each headline metric must agree within sampling error (|mean difference| < 3.5 combined
standard errors + a small absolute floor). Three packages: the neutral test package (settling
only by home purchase), the same with hukou open everywhere (settlement at scale), and a "rich"
package that switches on every lever the engine has (quota, placements, training, reserved jobs,
subsidies, public rental for residents, permit-based schooling, portable insurance, paid rights
exit, reclassification and urban-village conversion, a priority order) so that every rule is
exercised (insurance asked of the job path, flexible workers contributing, housing
security under an income test with a take-up share, land kept in small towns only, a
homestead kept until a stated year, outsiders from the same province under rules and a
public-rental condition of their own, school money of every type). Besides the metrics, the town table (tenants, queues, seats, hukou holders, rent) and
settlement by group (natives, outsiders, ...) are compared, so that a wrong rationing rule
shows even where the headline rates barely move.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.reference_mesa import ReferenceModel  # noqa: E402
from sim.engine.model import SettlementModel  # noqa: E402

REPS = 10
SEED = 7
SCALE = 4.0  # ~4,400 households: a run of the reference takes about half a second
Z = 3.5

# (metric, how a replication is summarised, absolute floor added to the tolerance)
CHECKS = [
    ("resident_urbanization", "final", 0.002),
    ("hukou_urbanization", "final", 0.002),
    ("settled_persons", "mean", 20.0),
    ("migrated_persons", "mean", 20.0),
    ("returned_persons", "mean", 20.0),
    ("left_behind_children", "final", 30.0),
    ("left_behind_share", "final", 0.01),
    ("migrant_pupils_public", "final", 30.0),
    ("settlement_intention", "final", 0.005),
    ("eligible_share", "final", 0.005),
]
# metrics only the rich package moves
RICH_CHECKS = [
    ("reclassified_persons", "mean", 30.0),
    ("urban_village_converted_persons", "mean", 30.0),
    ("compensation_paid_yuan", "mean", 2e5),
    ("land_exited_mu", "mean", 20.0),
    ("trained", "mean", 10.0),
    ("reserved_jobs_filled", "mean", 10.0),
    ("quota_refused_households", "mean", 4.0),
    ("homes_bought", "mean", 10.0),
    ("rental_subsidy_yuan", "final", 2e5),
    ("public_cost_yuan", "final", 1e6),
]
RICH = {
    "hukou": {
        "default": {"residence": True, "rental_counts": True, "job": True, "combine": "and",
                    "min_years_resident": 2, "talent": "route", "skill_min_level": 2,
                    "points_threshold": 10.0,
                    "points_weights": {"per_year_resident": 1.0, "per_insurance_year": 1.0,
                                       "per_education_level": 1.0, "owns_home": 3.0},
                    "exempt_groups": ["students", "soldiers"], "kin_generations": 2,
                    "min_insurance_years_job": 1, "annual_quota": 60},
        "tiers": {"small_town": {"open": True, "annual_quota": 0}},
    },
    "hukou_outsiders": {"default": {"annual_quota": 8}},
    "hukou_province": {"default": {"annual_quota": 6, "kin_generations": 1}},
    "housing": {"default": {"purchase_subsidy_yuan": 20000, "deed_tax_subsidy_share": 0.5,
                            "purchase_fee_relief_share": 0.5, "purchase_support_requires_hukou": True,
                            "rental_subsidy_yuan": 3000, "rental_subsidy_to": "permit",
                            "rental_subsidy_takeup": 0.5, "support_income_limit_yuan": 25000,
                            "public_rental_open_to": "residents", "public_rental_min_job_years": 1,
                            "public_rental_province_only": True, "public_rental_build_per_year": 20,
                            "provident_fund_migrants": True}},
    "schools": {"default": {"nonhukou_admission_share": 0.5, "enrolment_basis": "residence_permit",
                            "seat_growth_per_year": 0.02, "funding_per_migrant_child_yuan": 5000,
                            "operating_funds_per_migrant_pupil_yuan": 3000,
                            "private_school_subsidy_yuan": 1500, "local_exam_nonhukou": True}},
    "services": {"default": {"permit_coverage": 0.5, "permit_min_years": 1,
                             "insurance_portable": True, "agri_subsidies_kept": True,
                             "flexible_insurance_share": 0.5}},
    "jobs": {"default": {"reserved_jobs": 40, "training_places": 40},
             "towns": {"Smalltown": {"placements": 60}, "Countyseat": {"placements": 30}}},
    "fiscal": {"default": {"transfer_per_settler_yuan": 10000, "land_per_settler_m2": 50,
                           "service_cost_per_person_yuan": 1000}},
    "rights": {"land": {"on_settle": "surrendered", "paid_exit": True, "compensation_share": 0.8,
                        "on_settle_tiers": {"small_town": "kept"}},
               "homestead": {"on_settle": "kept", "paid_exit": True, "compensation_share": 1.2,
                             "kept_until_year": 2019},
               "collective": {"on_settle": "kept_for_life"},
               "land_rental": True, "homestead_voucher": True, "voucher_bonus_share": 0.5},
    "in_situ": {"reclassify": True, "nonfarm_threshold": 0.62, "urban_village_conversion_share": 0.1},
    "priority": {"order": ["long_resident", "whole_family", "new_generation"],
                 "goods_order": ["whole_family", "new_generation"], "long_resident_years": 3},
}
# town table, final year, summed over towns (or the central city's rent): the rationing of
# public rental and school seats, 人地钱挂钩 feedback and rents
TOWN_CHECKS = [
    ("public_rental_tenants", 10.0),
    ("public_rental_queue", 10.0),
    ("seats_used", 10.0),
    ("school_seats", 10.0),
    ("hukou_holders", 100.0),
    ("rent_yuan_month", 5.0),
    ("reserved_jobs_held", 10.0),
]
# settlement by group (groups.parquet), mean settled persons a year: who gets the quota
GROUP_CHECKS = [("native", 20.0), ("outsider", 8.0), ("new_generation", 20.0), ("with_children", 20.0)]
VARIANTS = ["base", "open", "rich"]
START_ROW = ["population", "households", "resident_urbanization", "hukou_urbanization",
             "left_behind_children", "eligible_share", "non_hukou_residents"]


def summarise(run: dict, how: str, name: str) -> float:
    metrics = run["metrics"]
    if how == "group":  # settled persons of the group, mean per simulated year
        return float(np.mean([row["settled_persons"] for row in run["groups"]
                              if row["group"] == name and row["year"] > metrics[0]["year"]]))
    if how == "town":  # final year, summed over towns (rent: the first town's)
        final = [row for row in run["towns"] if row["year"] == metrics[-1]["year"]]
        return float(final[0][name]) if name == "rent_yuan_month" else float(sum(r[name] for r in final))
    if how == "final":
        return float(metrics[-1][name])
    return float(np.mean([row[name] for row in metrics[1:]]))  # per simulated year


@pytest.fixture(scope="module")
def runs(base, region, province_region, behaviour):
    variants = {  # the rich package on the region with same-province outsiders (three classes)
        "base": (base, region),
        "open": (base.with_levers({"hukou": {"default": {"open": True}}}), region),
        "rich": (base.with_levers(RICH), province_region),
    }
    out = {}
    for name, (policy, reg) in variants.items():
        for label, cls in (("engine", SettlementModel), ("reference", ReferenceModel)):
            models = [cls(policy, reg, behaviour, seed=SEED, replication=r, scale=SCALE).run()
                      for r in range(REPS)]
            out[name, label] = [{"metrics": m.metrics, "towns": m.towns_rows, "groups": m.groups}
                                for m in models]
    return out


@pytest.mark.parametrize("variant", VARIANTS)
def test_same_start(runs, variant):
    """Same households at the start: the starting row agrees exactly (intention up to the
    engine's float32 storage)."""
    for e, r in zip(runs[variant, "engine"], runs[variant, "reference"]):
        eng, ref = e["metrics"], r["metrics"]
        assert [r["year"] for r in ref] == [r["year"] for r in eng]
        for name in START_ROW:
            assert ref[0][name] == pytest.approx(eng[0][name], rel=1e-9, abs=1e-12), name
        assert ref[0]["settlement_intention"] == pytest.approx(eng[0]["settlement_intention"],
                                                               rel=1e-5)


def agree(runs, variant: str, name: str, how: str, floor: float) -> None:
    eng = np.array([summarise(m, how, name) for m in runs[variant, "engine"]])
    ref = np.array([summarise(m, how, name) for m in runs[variant, "reference"]])
    se = math.sqrt(eng.var(ddof=1) / eng.size + ref.var(ddof=1) / ref.size)
    diff = ref.mean() - eng.mean()
    assert abs(diff) < Z * se + floor, (
        f"{variant}: {name} ({how}) engine {eng.mean():.6g} vs reference {ref.mean():.6g}: "
        f"difference {diff:.4g} exceeds {Z} x SE {se:.4g} + {floor}")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name,how,floor", CHECKS)
def test_statistical_agreement(runs, variant, name, how, floor):
    agree(runs, variant, name, how, floor)


@pytest.mark.parametrize("name,how,floor", RICH_CHECKS)
def test_statistical_agreement_rich(runs, name, how, floor):
    agree(runs, "rich", name, how, floor)


@pytest.mark.parametrize("variant", ["open", "rich"])
@pytest.mark.parametrize("name,floor", GROUP_CHECKS)
def test_statistical_agreement_groups(runs, variant, name, floor):
    agree(runs, variant, name, "group", floor)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name,floor", TOWN_CHECKS)
def test_statistical_agreement_towns(runs, variant, name, floor):
    agree(runs, variant, name, "town", floor)


def test_variants_exercise_the_rules(runs):
    """The comparison is not vacuous: the open package settles many, and the rich package
    moves every lever-driven count."""
    for label in ("engine", "reference"):
        assert np.mean([summarise(m, "mean", "settled_persons") for m in runs["open", label]]) > 200
        for name, how, _ in RICH_CHECKS:
            assert np.mean([summarise(m, how, name) for m in runs["rich", label]]) > 0, name
