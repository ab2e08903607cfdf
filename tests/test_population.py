"""The starting population matches its region, and the fixes the reviews asked for hold."""

from __future__ import annotations

import numpy as np
import pytest

from sim.configuration import load_region
from sim.engine.model import SettlementModel
from tests.conftest import DATA, ROOT


@pytest.mark.parametrize("path", ["tests/data/small_region.toml", "configs/regions/dehong.toml",
                                  "configs/regions/qingdao.toml"])
def test_synthesis_matches_the_region(path, base, behaviour):
    region = load_region(ROOT / path)
    meta = region.region
    m = SettlementModel(base, region, behaviour, seed=3, start=meta.base_year + 1,
                        end=meta.base_year + 1, scale=meta.default_scale * (1 if meta.population < 1e5 else 10))
    hh, row = m.hh, m.metrics[0]
    assert abs(hh.size().mean() - meta.mean_household_size) < 0.05
    assert abs(row["population"] - meta.population) <= m.scale * 12  # one agent's worth
    assert abs(row["resident_urbanization"] - meta.resident_urbanization) < 0.01
    assert abs(row["hukou_urbanization"] - meta.hukou_urbanization) < 0.01
    mig = hh.migrant(m.T)
    newgen = (hh.birth_year[mig] >= 1980).mean()
    assert abs(newgen - region.economy.new_generation_share) < 0.05


def test_large_households_do_not_crash_synthesis(region, base, behaviour):
    big = region.model_copy(update={"region": region.region.model_copy(update={"mean_household_size": 6.0})})
    m = SettlementModel(base, big, behaviour, seed=1, end=2016)
    assert abs(m.hh.size().mean() - 6.0) < 0.1


def test_rural_community_residents_are_at_home_with_their_land(base, region, behaviour):
    m = SettlementModel(base, region, behaviour, seed=2)
    hh, T = m.hh, m.T
    community = np.flatnonzero(m.places.tier == 3)[0]
    residents = (hh.place == community) & ~hh.hukou_urban
    assert residents.sum() > 0
    assert (hh.hukou[residents] == community).all()
    assert not hh.migrant(T)[residents].any()
    assert hh.land_mu[residents].mean() > 1.0
    assert hh.left_behind(T)[residents].sum() == 0


def test_population_does_not_depend_on_the_package_start_year(base, region, behaviour):
    a = SettlementModel(base, region, behaviour, seed=5, start=2016)
    b = SettlementModel(base, region, behaviour, seed=5, start=2019)
    assert a.hh.n == b.hh.n
    assert (a.hh.size() == b.hh.size()).all() and (a.hh.place == b.hh.place).all()
    # ages are dated to each run's start
    assert (b.hh.birth_year == a.hh.birth_year + 3).all()


def test_deaths_match_the_crude_death_rate(base, region, behaviour):
    m = SettlementModel(base, region, behaviour, seed=4, scale=1.0).run()
    deaths = sum(r["deaths"] for r in m.metrics[1:])
    expected = sum(behaviour.death_rate * r["population"] for r in m.metrics[:-1])
    assert abs(deaths / expected - 1) < 0.05


def test_reclassified_households_live_in_their_hukou_town(base, region, behaviour):
    pol = base.with_levers({"in_situ": {"reclassify": True, "nonfarm_threshold": 0.5,
                                        "urban_village_conversion_share": 0.5}})
    m = SettlementModel(pol, region, behaviour, seed=6).run()
    assert sum(r["reclassified_persons"] for r in m.metrics) > 0
    hh = m.hh
    converted = hh.hukou_urban & (hh.settled_year > 0)
    assert converted.any()
    # every urban-hukou household holds hukou in a town
    assert (hh.hukou[hh.hukou_urban] < m.T).all()


def test_child_package_beats_parent_dated_change(tmp_path, behaviour):
    region_text = (DATA / "small_region.toml").read_text()
    (tmp_path / "small_region.toml").write_text(region_text)
    (tmp_path / "parent.toml").write_text(
        '[package]\nname = "parent"\nregion = "small_region.toml"\nstart = 2016\nend = 2020\nsource = "x"\n'
        '[levers.hukou.default]\nmin_years_resident = 5\nsource = "x"\n'
        '[[changes]]\nyear = 2018\nsource = "x"\n[changes.levers.hukou.default]\nmin_years_resident = 3\n')
    (tmp_path / "child.toml").write_text(
        '[package]\nname = "child"\nextends = "parent.toml"\nsource = "x"\n'
        '[levers.hukou.default]\nmin_years_resident = 0\nsource = "x"\n')
    from sim.configuration import load_policy

    child = load_policy(tmp_path / "child.toml")
    for year in (2016, 2018, 2020):
        assert child.levers_in(year)["hukou"]["default"]["min_years_resident"] == 0
    parent = load_policy(tmp_path / "parent.toml")
    assert parent.levers_in(2018)["hukou"]["default"]["min_years_resident"] == 3
    over = parent.with_levers({"hukou": {"default": {"min_years_resident": 1}}})
    assert over.levers_in(2019)["hukou"]["default"]["min_years_resident"] == 1


def test_outsider_defaults_do_not_loosen_town_rules_for_natives(base, region):
    from sim.engine.levers import resolve
    from sim.world.places import build_places

    pol = base.with_levers({"hukou": {"towns": {"Capital": {"min_years_resident": 5}}},
                            "hukou_outsiders": {"default": {"min_years_resident": 3}}})
    lv = resolve(pol, build_places(region), 2016)
    cap = lv.col("hukou_outsiders", "min_years_resident")
    assert cap[0] == 5 and cap[1] == 3


def test_the_third_origin_class_splits_outsiders_only(base, region, province_region, behaviour):
    """Outsiders from the same province (seed 001's 云南籍 who are not 德宏籍) are drawn from the
    outsiders alone, in the region's share; every other column is the same household for
    household as in the region without them (the same draw splits the classes)."""
    from dataclasses import fields

    plain = SettlementModel(base, region, behaviour, seed=3).hh
    split = SettlementModel(base, province_region, behaviour, seed=3).hh
    assert not plain.same_province.any()
    for f in fields(plain):
        if f.name != "same_province":
            assert np.array_equal(getattr(plain, f.name), getattr(split, f.name)), f.name
    outsiders = ~split.native
    assert not split.same_province[split.native].any()
    n = outsiders.sum()
    assert n > 100 and abs(split.same_province[outsiders].mean() - 0.5) < 4 * np.sqrt(0.25 / n)
