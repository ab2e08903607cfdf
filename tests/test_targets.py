"""Target attainment: numbers come from the run; the flag matches them."""

from __future__ import annotations

import polars as pl

from sim.configuration import Target
from sim.outputs.targets import attainment, meets
from tests.conftest import simulate


def test_attainment_numbers_come_from_the_run_and_flags_match(base, region, behaviour):
    metrics = simulate(base.with_levers({"hukou": {"default": {"open": True}}}), region, behaviour,
                       reps=3)["metrics"]
    final = metrics.filter(pl.col("year") == 2021)["hukou_urbanization"]
    total = metrics.filter(pl.col("year").is_between(2016, 2018)).group_by("replication") \
        .agg(pl.col("settled_persons").sum())["settled_persons"]
    targets = [
        Target(metric="hukou_urbanization", year=2021, op=">=", value=float(final.mean()) - 0.01),
        Target(metric="hukou_urbanization", year=2021, op=">=", value=float(final.mean()) + 0.05),
        Target(metric="settled_persons", year=2016, to_year=2018, aggregate="sum", op="~",
               value=float(total.mean()), tolerance=1.0),
        Target(metric="settled_persons", year=2030, op="<=", value=1.0),
    ]
    table = attainment(metrics, targets)
    assert table["status"].to_list() == ["met", "not met", "met", "not simulated"]
    assert abs(table["mean"][0] - final.mean()) < 1e-12
    assert abs(table["mean"][2] - total.mean()) < 1e-9
    assert abs(table["lo90"][0] - final.quantile(0.05, "linear")) < 1e-12
    for row, t in zip(table.iter_rows(named=True), targets):
        if row["mean"] is not None:
            assert (row["status"] == "met") == meets(row["mean"], t)
            assert row["lo90"] <= row["mean"] <= row["hi90"]
