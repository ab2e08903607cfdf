"""Counterfactuals are the rules in force just before each document (issue 14 §3)."""

from __future__ import annotations

import polars as pl
import pytest

from sim.configuration import POLICIES, load_policy
from sim.experiments.run import run_package

# the year each seed document was issued, from its date line (seeds/README.md)
ISSUED = {"qingdao": 2017, "dehong": 2011, "changji": 2018, "xuchang": 2024, "dashiqiao": 2020}


@pytest.mark.parametrize("region", sorted(ISSUED))
def test_every_before_from_2014_keeps_land_and_collective_rights(region):
    """国发〔2014〕25号 made keeping the three rights national policy in 2014."""
    before = load_policy(POLICIES / f"{region}_pre_reform.toml")
    rights = before.levers.get("rights", {})
    for right in ("land", "homestead", "collective"):
        on_settle = rights.get(right, {}).get("on_settle", "kept")
        if ISSUED[region] >= 2014:
            assert on_settle == "kept", f"{region}_pre_reform: {right} is {on_settle!r} after 2014"
    if region == "dehong":  # no 设区的市: the 2003 law's art. 26 ¶2 let settlers keep land
        assert rights.get("land", {}).get("on_settle", "kept") == "kept"


@pytest.mark.slow
def test_dehong_before_settles_as_the_document_says():
    """Seed 001 §(一): 4,007 persons settled in 2008-2011 under the old rules, about 1,000 a year;
    the counterfactual, at the default scale (one agent per household), settles as many in its
    first four years, 2011-2014, on average over replications (with the default posterior each
    replication is its own behaviour draw, so single replications spread by behaviour as well as
    chance)."""
    res = run_package(POLICIES / "dehong_pre_reform.toml", replications=3, end=2014)
    per_year = (res.metrics.filter(pl.col("year") >= 2011).group_by("replication")
                .agg(pl.col("settled_persons").mean())["settled_persons"])
    assert 1000 <= per_year.mean() <= 1300, per_year.to_list()
    assert (per_year > 500).all() and (per_year < 2000).all(), per_year.to_list()
