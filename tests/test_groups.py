"""The groups and snapshot fields that let survey patterns be checked (issue 15 §3): intention,
eligibility and settlement by each contrast the surveys draw, and the fields behind them."""

from __future__ import annotations

import numpy as np
import polars as pl

from sim.configuration import SETTLEMENT_GROUPS
from tests.conftest import simulate

PAIRS = [("new_generation", "older"), ("with_children", "without_children"),
         ("with_homestead", "without_homestead"), ("native", "outsider")]
TIERS = ["in_central_city", "in_sub_center", "in_small_town", "in_rural_community"]


def test_groups_cover_every_contrast_and_each_pair_partitions_the_migrants(base, region, behaviour):
    out = simulate(base.with_levers({"hukou": {"default": {"open": True}}}), region, behaviour, reps=2)
    g = out["groups"]
    assert set(g["group"].unique().to_list()) == set(SETTLEMENT_GROUPS)
    for col in ("intention", "eligible_share", "settlement_rate", "settled_persons", "residents_households"):
        assert col in g.columns
    wide = {name: g.filter(pl.col("group") == name).sort("replication", "year") for name in SETTLEMENT_GROUPS}
    total = wide["all"]["residents_households"].to_numpy()
    for names in [*PAIRS, tuple(TIERS)]:
        parts = sum(wide[x]["residents_households"].to_numpy() for x in names)
        assert np.allclose(parts, total), names  # every migrant is on exactly one side
    settled = wide["all"]["settled_persons"].to_numpy()
    assert np.allclose(sum(wide[x]["settled_persons"].to_numpy() for x in ("new_generation", "older")), settled)
    assert settled.sum() > 0


def test_snapshots_carry_intention_and_the_survey_fields(base, region, behaviour):
    out = simulate(base, region, behaviour, reps=1, snapshot_years=(2017,))
    snap = out["snapshots"]
    for col in ("intention", "new_generation", "with_children", "with_homestead", "with_land",
                "homestead_value", "land_mu", "kids_school", "birth_year", "native"):
        assert col in snap.columns, col
    migrants = snap.filter(pl.col("intention").is_not_nan())
    assert migrants.height > 0 and migrants["intention"].is_between(0, 1).all()
    assert (snap["new_generation"] == (snap["birth_year"] >= 1980)).all()


def test_a_snapshot_keeps_its_year_state(base, region, behaviour):
    """A snapshot is the state of its year, not a view that later years change."""
    from sim.engine.model import SettlementModel
    from sim.outputs.tables import frames

    m = SettlementModel(base, region, behaviour, seed=2, scale=10.0, snapshot_years=(2016,))
    m.step()
    kept = m.hh.birth_year.copy(), m.hh.place.copy()
    m.run()
    snap = frames(m)["snapshots"]
    assert (snap["birth_year"].to_numpy() == kept[0]).all()
    assert (snap["place"].to_numpy() == kept[1]).all()


def test_the_groups_levers_act_on_alone(base, province_region, behaviour):
    """same_province: outsiders from the region's own province (the hukou_province rules);
    with_collective_dividend: natives holding collective shares, not exited, paying at least
    COLLECTIVE_DIVIDEND_MIN_YUAN a year (the collective rules reach natives' shares only)."""
    from sim.configuration import COLLECTIVE_DIVIDEND_MIN_YUAN
    from sim.engine.groups import group_bits
    from sim.engine.model import SettlementModel

    m = SettlementModel(base, province_region, behaviour, seed=5)
    hh = m.hh
    rng = np.random.default_rng(0)
    # dividends on both sides of the line, and some shares exited
    hh.dividend[:] = np.where(hh.dividend > 0, rng.choice([200.0, 999.0, 1000.0, 5000.0], hh.n), 0.0)
    hh.collective_exited[:] = rng.random(hh.n) < 0.2
    bits = group_bits(m)

    def member(name):
        return (bits >> (SETTLEMENT_GROUPS.index(name) - 1)) & 1 == 1

    assert (member("same_province") == hh.same_province).all() and hh.same_province.any()
    assert not (member("same_province") & hh.native).any()
    shares = hh.native & (hh.dividend >= COLLECTIVE_DIVIDEND_MIN_YUAN) & ~hh.collective_exited
    assert (member("with_collective_dividend") == shares).all()
    assert shares.any() and (hh.native & (hh.dividend == 999.0) & ~hh.collective_exited).any()
    assert not (member("with_collective_dividend") & ~hh.native).any()
