"""Sweep outputs labelled by lever value (issue 17 §2): linked factors set every path they name,
points.parquet gives cost and target attainment per design point, and the console shows the
factor values, not point numbers."""

from __future__ import annotations

import re

import polars as pl
import pytest

from sim.cli import main
from sim.configuration import ConfigError
from sim.experiments.spec import load_experiment
from tests.conftest import DATA

PACKAGE = f"""
[package]
name = "test_rental_goal"
extends = "{DATA / 'base_policy.toml'}"
source = "assumption: test package"

[[targets]]
metric = "public_rental_units"
town = "Capital"
year = 2021
op = ">="
value = 420
label = "420 public rental flats in Capital"
source = "assumption: test target (300 + 6 years x 20)"
"""

EXPERIMENT = """
[experiment]
name = "linked"
packages = ["pkg.toml"]
replications = 2
scale = 20.0
outputs = ["metrics", "towns"]
source = "test"
[design]
method = "grid"
[[design.levers]]
{lever}
values = [10, 20]
"""

LINKED = ('name = "build_per_year"\npaths = ["housing.tiers.central_city.public_rental_build_per_year", '
          '"housing.tiers.sub_center.public_rental_build_per_year"]')


def write(tmp_path, lever: str = LINKED):
    (tmp_path / "pkg.toml").write_text(PACKAGE)
    p = tmp_path / "exp.toml"
    p.write_text(EXPERIMENT.format(lever=lever))
    return p


def test_linked_factor_points_table_and_console_labels(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sweep", str(write(tmp_path)), "--workers", "1", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    points = pl.read_parquet(out / "points.parquet").sort("build_per_year")
    assert points["build_per_year"].to_list() == [10, 20]
    # one value, both tiers: Capital (central city) and Countyseat (sub-centre) each build b a year
    towns = pl.read_parquet(list((out / "towns").glob("p00001-*.parquet"))[0])
    final = towns.filter(pl.col("year") == 2021)
    assert final.filter(pl.col("town") == "Capital")["public_rental_units"][0] == 300 + 6 * 20
    assert final.filter(pl.col("town") == "Countyseat")["public_rental_units"][0] == 100 + 6 * 20
    assert points["public_cost_yuan_per_year"].to_list() == pytest.approx([2 * 10 * 150000, 2 * 20 * 150000])
    met = "met: 420 public rental flats in Capital (2021)"
    assert points[met].to_list() == [0.0, 1.0]
    # the console names the factor and its values; no bare point numbers
    assert "build_per_year" in printed and "P(1) = share of replications meeting" in printed
    row = next(ln for ln in printed.splitlines() if ln.strip().startswith("20 "))
    assert row.rstrip().endswith("100%")
    assert "point" not in printed.split("Design points by factor value")[1].splitlines()[1]


def test_linked_factor_gets_a_default_label():
    from sim.experiments.spec import linked_label

    assert linked_label(["housing.tiers.central_city.x", "housing.tiers.sub_center.x"]) == \
        "housing.tiers.{central_city,sub_center}.x"


@pytest.mark.parametrize("lever, needle", [
    ('paths = ["housing.tiers.central_city.public_rental_build_per_year", "housing.tiers.nowhere.public_rental_build_per_year"]',
     "key 'design.levers[0]' (path 'housing.tiers.nowhere.public_rental_build_per_year'"),
    ('path = "housing.default.public_rental_build_per_year"\npaths = ["housing.default.public_rental_build_per_year"]',
     "give exactly one of 'path' (one lever) or 'paths'"),
])
def test_bad_linked_factor_is_refused_naming_the_key(tmp_path, lever, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        load_experiment(write(tmp_path, lever))


def test_sim_levers_shows_inherited_and_overridden_values(tmp_path, capsys):
    """`sim levers` on a package that extends a seed package: every path with its value, the
    parent's values marked with their file, an overridden value marked with the file that wins."""
    from sim.configuration import POLICIES

    child = tmp_path / "child.toml"
    child.write_text(f'[package]\nname = "xuchang_more"\nextends = "{POLICIES / "xuchang_2024.toml"}"\n'
                     'source = "assumption: test"\n[levers.housing.tiers.central_city]\n'
                     'purchase_subsidy_yuan = 40000\nsource = "assumption: test"\n')
    assert main(["levers", str(child), "--sources"]) == 0
    lines = capsys.readouterr().out.splitlines()
    path = "housing.tiers.central_city.purchase_subsidy_yuan"
    mine = [ln for ln in lines if ln.startswith(path)]
    assert len(mine) == 2
    assert "= 18000" in mine[0] and "from xuchang_2024.toml; overridden by child.toml" in mine[0]
    assert "= 40000" in mine[1] and "from" not in mine[1]
    assert any(ln.startswith("housing.tiers.sub_center.purchase_subsidy_yuan") and "= 18000" in ln
               and "(from xuchang_2024.toml)" in ln for ln in lines)
