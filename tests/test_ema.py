"""The EMA Workbench connector (issue 17 §5): the model as an EMA ReplicatorModel, with levers,
uncertainties and outcomes named from the package and behaviour files."""

from __future__ import annotations

import re
import warnings

import pytest

from sim.configuration import POLICIES, ConfigError, load_policy
from sim.experiments.ema import ema_model, package_levers, prior_ranges
from tests.conftest import DATA

LINKED = [{"name": "build_per_year", "range": [0, 50], "integer": True,
           "paths": ["housing.tiers.central_city.public_rental_build_per_year",
                     "housing.tiers.sub_center.public_rental_build_per_year"]}]


def test_perform_experiments_runs_two_scenarios_by_two_policies():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench import perform_experiments

    model = ema_model(DATA / "base_policy.toml", levers=LINKED,
                      uncertainties={"asc_hukou": (-2.5, 1.0), "beta_income": (0.5, 3.0)},
                      replications=2, scale=20.0, start=2016, end=2018)
    experiments, outcomes = perform_experiments(model, scenarios=2, policies=2)
    assert len(experiments) == 4
    assert {"asc_hukou", "beta_income", "build_per_year"} <= set(experiments.columns)
    assert experiments["build_per_year"].nunique() == 2 and experiments["asc_hukou"].nunique() == 2
    assert set(outcomes) == {"resident_urbanization", "hukou_urbanization", "settled_persons",
                             "public_cost_yuan"}
    # the linked lever reached both tiers: each tier's town builds b flats a year at 150,000
    cost = outcomes["public_cost_yuan"]
    for b, c in zip(experiments["build_per_year"], cost):
        assert c >= 2 * int(b) * 150000
    assert (outcomes["resident_urbanization"] > 0.3).all()


def test_levers_and_uncertainties_are_named_from_the_package_and_behaviour_files():
    model = ema_model(POLICIES / "xuchang_2024.toml", replications=1)
    names = {p.name for p in model.levers}
    assert "housing__purchase_subsidy_yuan" in names
    subsidy = next(p for p in model.levers if p.name == "housing__purchase_subsidy_yuan")
    assert set(subsidy.variable_name) >= {"housing.tiers.central_city.purchase_subsidy_yuan",
                                          "housing.tiers.sub_center.purchase_subsidy_yuan"}
    assert {u.name for u in model.uncertainties} == set(prior_ranges())
    assert "target_0_share" in {o.name for o in model.outcomes}
    assert len(package_levers(load_policy(POLICIES / "xuchang_2024.toml"))) == len(model.levers)


def test_bad_lever_path_is_refused():
    with pytest.raises(ConfigError, match=re.escape("path 'housing.default.no_such'")):
        ema_model(DATA / "base_policy.toml", levers=[{"path": "housing.default.no_such", "range": [0, 1]}])
