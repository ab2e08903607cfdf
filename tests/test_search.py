"""`sim search` (issue 17 §3): the cheapest setting of a linked lever whose answer is known by
construction, "not reachable" with the closest setting, and bad search files refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from sim.cli import main
from sim.configuration import ConfigError
from sim.experiments.search import load_search, run_search
from tests.conftest import DATA

# Capital starts with 300 public rental flats and the package builds `b` a year in every
# central-city and sub-centre town, 2016-2021 (six years): 300 + 6 b flats in 2021, whatever
# households do. A goal of 457 flats needs b >= 26.17, so the cheapest whole b is 27 (cost rises
# with b: each flat costs rental_unit_cost_yuan).
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
value = {{goal}}
label = "public rental flats in Capital"
source = "assumption: test target"
"""

SEARCH = """
[search]
name = "rental_goal"
package = "pkg.toml"
replications = 2
scale = 20.0
probability = 1.0
budget = 10
population = 5
source = "test"

[[levers]]
name = "build_per_year"
paths = ["housing.tiers.central_city.public_rental_build_per_year",
         "housing.tiers.sub_center.public_rental_build_per_year"]
range = [0, 100]
step = {step}
integer = true
"""


def write(tmp_path: Path, goal: float = 457, step: int = 1, search: str | None = None) -> Path:
    (tmp_path / "pkg.toml").write_text(PACKAGE.format(goal=goal))
    p = tmp_path / "search.toml"
    p.write_text(search if search is not None else SEARCH.format(step=step))
    return p


def test_search_finds_the_cheapest_sufficient_value_known_by_construction(tmp_path, capsys):
    spec = write(tmp_path)
    assert main(["search", str(spec), "--workers", "1", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Cheapest setting meeting the targets: build_per_year = 27" in printed
    assert "build_per_year = 26 (one step lower): misses a target" in printed
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["status"] == "found" and result["chosen"]["build_per_year"] == 27
    ev = pl.read_parquet(tmp_path / "out" / "evaluations.parquet")
    # every candidate meets the goal exactly when 300 + 6 b >= 457
    assert (ev["feasible"] == (300 + 6 * ev["build_per_year"] >= 457)).all()
    # the linked value reached both tiers: cost = 6 years' flats in 2 towns / 6 years
    row = ev.filter(pl.col("build_per_year") == 27).row(0, named=True)
    assert row["cost"] == pytest.approx(2 * 27 * 150000)
    assert (tmp_path / "out" / "front.parquet").is_file() and (tmp_path / "out" / "front.png").is_file()
    # the search's page: the answer, the targets' probabilities at it, the front, every setting
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<b class=\"yes\">Found</b>" in page and "build_per_year = 27" in page
    assert "data:image/png;base64," in page and "probability at the setting" in page


def test_search_tolerance_is_the_step(tmp_path):
    """With a step of 10 the answer is the first grid value past 26.17: 30."""
    res = run_search(load_search(write(tmp_path, step=10)), progress=False)
    assert res.reachable and res.chosen["build_per_year"] == 30


def test_impossible_target_is_not_reachable_and_the_closest_setting_is_named(tmp_path, capsys):
    spec = write(tmp_path, goal=5000)  # 300 + 6 x 100 = 900 at most
    assert main(["search", str(spec), "--workers", "1", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "NOT REACHABLE in these ranges" in printed
    assert "Closest: build_per_year = 100" in printed
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["status"] == "not reachable in these ranges"
    assert result["closest"]["build_per_year"] == 100 and result["chosen"] is None
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Not reachable in these ranges" in page and "Closest: build_per_year = 100" in page


@pytest.mark.parametrize("lever, needle", [
    ('path = "housing.tiers.central_city.no_such_lever"\nrange = [0, 10]',
     "key 'levers[0]' (path 'housing.tiers.central_city.no_such_lever'"),
    ('path = "housing.tiers.central_city.public_rental_build_per_year"\nrange = [10, 0]',
     "range must be [lo, hi] with lo < hi"),
    ('path = "schools.default.nonhukou_admission_share"\nrange = [0, 1.5]',
     "key 'levers[0]' (path 'schools.default.nonhukou_admission_share', value 1.5)"),
])
def test_bad_levers_are_refused_naming_the_file_and_key(tmp_path, lever, needle):
    body = SEARCH.split("[[levers]]")[0] + "[[levers]]\n" + lever + "\n"
    spec = write(tmp_path, search=body)
    with pytest.raises(ConfigError, match=re.escape(needle)) as err:
        load_search(spec)
    assert str(spec) in str(err.value)


def test_unknown_target_is_refused_with_the_allowed_ones(tmp_path, capsys):
    body = SEARCH.format(step=1).replace('probability = 1.0', 'probability = 1.0\ntargets = ["64% by 2025"]')
    spec = write(tmp_path, search=body)
    assert main(["search", str(spec), "--workers", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "key 'search.targets[0]'" in err and "'public rental flats in Capital'" in err
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_the_xuchang_example_is_valid():
    from sim.configuration import EXPERIMENTS

    s = load_search(EXPERIMENTS / "xuchang_search.toml")
    assert [v.paths for v in s.variables] == [["housing.tiers.central_city.purchase_subsidy_yuan",
                                               "housing.tiers.sub_center.purchase_subsidy_yuan"]]
    assert s.as_written == [18000.0]
    assert [t.metric for t in s.targets] == ["resident_urbanization"]


def test_sim_check_validates_a_search_file(tmp_path, capsys):
    assert main(["check", str(write(tmp_path))]) == 0
    assert "search 'rental_goal' OK (1 levers, 1 targets)" in capsys.readouterr().out


def test_a_lever_masked_by_the_package_is_refused_or_noted(tmp_path):
    """Xuchang sets training places town by town: a default value would reach no town (refused,
    naming the key); a default purchase subsidy is masked in the tiers that set their own
    (a note naming those towns)."""
    from sim.configuration import POLICIES

    def spec(path: str, lo: float, hi: float, integer: bool = False) -> Path:
        p = tmp_path / "s.toml"
        p.write_text(f'[search]\nname = "x"\npackage = "{POLICIES / "xuchang_2024.toml"}"\n'
                     f'source = "test"\n[[levers]]\npath = "{path}"\nrange = [{lo}, {hi}]\n'
                     + ("integer = true\n" if integer else ""))
        return p

    with pytest.raises(ConfigError, match=re.escape("this lever takes whole numbers: add `integer = true`")):
        load_search(spec("jobs.default.training_places", 0, 3000))
    with pytest.raises(ConfigError, match=re.escape("key 'levers[0]': 'jobs.default.training_places' "
                                                    "reaches no town of region 'Xuchang'")):
        load_search(spec("jobs.default.training_places", 0, 3000, integer=True))
    s = load_search(spec("housing.default.purchase_subsidy_yuan", 0, 50000))
    assert len(s.notes) == 1 and "魏都区" in s.notes[0] and "长葛建制镇" not in s.notes[0]
