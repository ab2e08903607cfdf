"""Behaviour that differs by household as migrant surveys find (issue 15 §1): the level of
settlement intention in every seed region, the survey contrasts on the national region and
Dehong, a population in which rural assets do not coincide with native status, and a direction
test for each term of the value of hukou."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from sim.configuration import load_behaviour
from sim.engine import decision
from sim.engine.model import SettlementModel
from tests.conftest import ROOT

POLICIES = ROOT / "configs" / "policies"
SEED_PACKAGES = {"dehong": "dehong_2011", "qingdao": "qingdao_2017", "changji": "changji_2018",
                 "xuchang": "xuchang_2024", "dashiqiao": "dashiqiao_2020"}
# coarse enough to run in seconds, fine enough that intention is stable to about 0.01
SCALES = {"dehong": 5.0, "qingdao": 20.0, "changji": 5.0, "xuchang": 10.0, "dashiqiao": 2.0, "china": 20000.0}


def _groups(name: str, package: str, replications=(0, 1, 2), years: int = 3, behaviour=None) -> dict[str, float]:
    """Mean intention per group over the first ``years`` years and ``replications`` (with the
    default posterior, each replication its own behaviour draw)."""
    frames = []
    for r in replications:
        m = SettlementModel(POLICIES / f"{package}.toml", behaviour=behaviour, seed=1, replication=r,
                            scale=SCALES[name])
        for _ in range(min(years, m.end - m.start + 1)):
            m.step()
        frames.append(pl.DataFrame(m.groups))
    g = pl.concat(frames).group_by("group").agg(pl.col("intention").mean())
    return dict(zip(g["group"].to_list(), g["intention"].to_list()))


@pytest.fixture(scope="module")
def seed_regions() -> dict[str, dict[str, float]]:
    return {name: _groups(name, pkg) for name, pkg in SEED_PACKAGES.items()}


@pytest.mark.parametrize("name", sorted(SEED_PACKAGES))
def test_intention_lies_in_the_survey_range_in_every_seed_region(seed_regions, name):
    """CMDS 2016: about 0.30 of migrants would transfer hukou (data/README.md); the issue asks
    0.20-0.45 under the default behaviour."""
    assert 0.20 <= seed_regions[name]["all"] <= 0.45, seed_regions[name]["all"]


MEAN = ROOT / "configs" / "behaviour" / "posterior.mean.toml"


@pytest.mark.skipif(not MEAN.is_file(), reason="no committed posterior")
@pytest.mark.parametrize("name", sorted(SEED_PACKAGES))
def test_under_the_posterior_mean_intention_lies_in_the_survey_range(name):
    g = _groups(name, SEED_PACKAGES[name], replications=(0,), behaviour=MEAN)
    assert 0.20 <= g["all"] <= 0.45, g["all"]
    assert g["with_children"] > g["without_children"] and g["new_generation"] > g["older"]
    assert g["with_homestead"] < g["without_homestead"]


@pytest.mark.parametrize("name,package", [("china", "china_2012_2019"), ("dehong", "dehong_2011")])
def test_the_survey_contrasts_hold(seed_regions, name, package):
    g = seed_regions[name] if name in seed_regions else _groups(name, package)
    assert g["with_children"] > g["without_children"] + 0.01
    assert g["new_generation"] > g["older"] + 0.01
    assert g["with_homestead"] < g["without_homestead"] - 0.01
    # about 12% lower for homestead holders (CMDS 2017, Gu et al. 2020); the default behaviour's
    # rights_tenure_risk was set to give it: a wide band, the sign and the order of magnitude
    rel = g["with_homestead"] / g["without_homestead"] - 1.0
    assert -0.25 < rel < -0.05, rel


def test_intention_rises_with_city_size(seed_regions):
    for name in ("dehong", "xuchang", "qingdao"):
        g = seed_regions[name]
        assert g["in_central_city"] > g["in_small_town"], name


# ---------------------------------------------------------------------------------------------
# the population: rural assets vary apart from native status
# ---------------------------------------------------------------------------------------------


def test_rural_assets_are_held_apart_from_native_status(region, behaviour):
    from sim.configuration import load_policy

    m = SettlementModel(load_policy(POLICIES / "dehong_2011.toml"), behaviour=behaviour, seed=3, scale=2.0)
    hh = m.hh
    mig = hh.migrant(m.T)
    native, outsider = mig & hh.native, mig & ~hh.native
    assert outsider.sum() > 200 and native.sum() > 200
    home = hh.homestead_value > 0
    land = hh.land_mu > 0
    eco = m.region.economy
    for held, share in ((home, eco.homestead_holding_share), (land, eco.land_holding_share)):
        # natives and outsiders hold at the same rate, and some of each hold none
        assert abs(held[native].mean() - share) < 0.05
        assert abs(held[outsider].mean() - share) < 0.05
    assert not np.array_equal(home[mig], hh.native[mig])
    # holding is independent of generation and children too
    newgen = hh.birth_year >= 1980
    kids = hh.kids_school > 0
    assert abs(home[mig & newgen].mean() - home[mig & ~newgen].mean()) < 0.05
    assert abs(home[mig & kids].mean() - home[mig & ~kids].mean()) < 0.05


# ---------------------------------------------------------------------------------------------
# direction tests: each term of the value of hukou moves intention the way it should, and only
# for the households it concerns
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def state():
    m = SettlementModel(POLICIES / "xuchang_2024.toml", seed=4, scale=20.0)
    m.step()
    return m


def _intention(m, **update) -> np.ndarray:
    ctx = m.context()
    ctx.behaviour = ctx.behaviour.model_copy(update=update)
    rows = np.flatnonzero(m.hh.migrant(m.T))
    return rows, decision.settlement_intention(m.hh, rows, ctx, m.year)


def test_tenure_risk_lowers_intention_the_more_a_household_holds(state):
    rows, low = _intention(state, rights_tenure_risk=0.0)
    _, high = _intention(state, rights_tenure_risk=0.8)
    hh = state.hh
    value = decision.rights_value(hh, rows, state.economy, state.behaviour)
    total = value["land"] + value["homestead"] + value["collective"]
    assert (high[total > 0] < low[total > 0]).all()
    assert np.allclose(high[total == 0], low[total == 0])
    home = value["homestead"] > 0
    assert home.any() and (~home).any()
    assert (low - high)[home].mean() > (low - high)[~home].mean()


def test_outsiders_rights_follow_the_national_rule(state):
    """A package that surrenders rights on settling reaches natives' rights, not outsiders'."""
    m = state
    ctx = m.context()
    rows = np.flatnonzero(m.hh.migrant(m.T) & (m.hh.homestead_value > 0))
    native = m.hh.native[rows]
    assert native.any() and (~native).any()
    kept = decision.rights_lost_on_settling(m.hh, rows, ctx)
    surrendered = ctx.levers.rights.model_copy(update={"homestead": ctx.levers.rights.homestead.model_copy(
        update={"on_settle": "surrendered", "paid_exit": False})})
    ctx.levers = dataclasses.replace(ctx.levers, rights=surrendered, _cache={})  # the model's own stay
    lost = decision.rights_lost_on_settling(m.hh, rows, ctx)
    assert (lost[native] > kept[native]).all()
    assert np.allclose(lost[~native], kept[~native])


@pytest.mark.parametrize("param,field", [
    ("beta_hukou_children", "kids"), ("beta_hukou_new_generation", "newgen"), ("beta_hukou_age", "over40")])
def test_household_terms_act_on_their_households(state, param, field):
    hh = state.hh
    rows, zero = _intention(state, **{param: 0.0})
    _, more = _intention(state, **{param: 0.5})
    member = {"kids": hh.kids_school[rows] > 0, "newgen": hh.birth_year[rows] >= 1980,
              "over40": hh.head_age[rows] > 40}[field]
    assert member.any() and (~member).any()
    if param == "beta_hukou_age":
        assert (more[member] < zero[member]).all()
    else:
        assert (more[member] > zero[member]).all()
    assert np.allclose(more[~member], zero[~member])


def test_owners_value_hukou_more_where_they_own(state):
    hh = state.hh
    rows, zero = _intention(state, beta_hukou_owner=0.0)
    _, more = _intention(state, beta_hukou_owner=1.0)
    owns_here = hh.owned_town[rows] == hh.place[rows]
    assert owns_here.any() and (~owns_here).any()
    assert (more[owns_here] > zero[owns_here]).all()
    assert np.allclose(more[~owns_here], zero[~owns_here])


def test_city_size_term_ranks_the_tiers(state):
    rows, zero = _intention(state, beta_hukou_city_size=0.0)
    _, more = _intention(state, beta_hukou_city_size=1.0)
    size = np.array([decision.CITY_SIZE[state.places.tier_name(j)] for j in range(state.T)])
    gain = (more - zero)[size[state.hh.place[rows]] == size.max()].mean()
    small = (more - zero)[size[state.hh.place[rows]] == size.min()].mean()
    assert gain > small >= 0


def test_insurance_term_acts_only_where_contributions_are_not_portable(state):
    m = state
    ctx = m.context()
    rows = np.flatnonzero(m.hh.migrant(m.T) & (m.hh.insurance_years > 0))
    assert rows.size
    beh0 = ctx.behaviour.model_copy(update={"beta_hukou_insurance": 0.0})
    beh1 = ctx.behaviour.model_copy(update={"beta_hukou_insurance": 0.5})
    assert ctx.levers.col("services", "insurance_portable").all()  # Xuchang: portable, the term is 0
    ctx.behaviour = beh1
    a = decision.hukou_value(m.hh, rows, ctx)
    ctx.behaviour = beh0
    b = decision.hukou_value(m.hh, rows, ctx)
    assert np.allclose(a, b)
    # the same households where nothing is portable (a copy of the levers: the model's own stay)
    ctx.levers = dataclasses.replace(ctx.levers, _cache={})
    ctx.levers._cache[("services", "insurance_portable")] = np.zeros(m.T, dtype=bool)
    c = decision.hukou_value(m.hh, rows, ctx)
    ctx.behaviour = beh1
    d = decision.hukou_value(m.hh, rows, ctx)
    assert (d[:, 1 + m.T:] > c[:, 1 + m.T:]).all()
    assert np.allclose(d[:, : 1 + m.T], c[:, : 1 + m.T])


def test_default_files_carry_every_new_parameter_with_a_source():
    for name in ("default", "calibrated"):
        path = ROOT / "configs" / "behaviour" / f"{name}.toml"
        text = path.read_text()
        load_behaviour(path)
        for p in ("rights_tenure_risk", "beta_hukou_children", "beta_hukou_new_generation",
                  "beta_hukou_age", "beta_hukou_city_size", "beta_hukou_insurance", "beta_hukou_owner"):
            assert f"\n{p} = " in text, (name, p)
            assert f'\n{p} = "' in text, (name, p)  # its source
