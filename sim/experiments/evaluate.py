"""Evaluating settings in memory: one package with lever and behaviour overrides, run for some
replications, its tables returned rather than written to a folder.

This is what target-seeking search (:mod:`sim.experiments.search`) and the EMA Workbench
connector (:mod:`sim.experiments.ema`) share. A :class:`Job` is one (setting, replication); it is
run by :func:`simulate` in a sweep worker (the same caches of validated configs, the same
single-threaded set-up) or in this process. Replication ``r`` of every setting uses the same
households and draws (seed, r) and, with a posterior ensemble, the same behaviour draw ``r mod
N``: candidates are compared under common random numbers, so a difference between two settings
is the settings' and not chance's.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import polars as pl


@dataclass(frozen=True)
class Job:
    """One replication of one setting: everything a worker needs (plain, picklable values)."""

    policy_path: str
    region_path: str | None  # None: the package's own region
    behaviour_path: str | None  # None: the default (the posterior ensemble where it exists)
    levers: str  # JSON of the partial lever tree laid over the package
    behaviour: str  # JSON of behaviour parameters laid over the replication's draw
    replication: int
    seed: int
    start: int | None
    end: int | None
    scale: float | None
    tables: tuple[str, ...] = ("metrics",)


def simulate(job: Job) -> dict[str, pl.DataFrame]:
    """Run one job and return the tables it asks for (each with its replication column)."""
    from sim.experiments.sweep import _single_threaded, run_model
    from sim.outputs.tables import frames

    _single_threaded()
    tables = frames(run_model(job))
    return {name: tables[name] for name in job.tables if name in tables}


def run_jobs(jobs: Iterable[Job], executor: Executor | None = None) -> list[dict[str, pl.DataFrame]]:
    """Every job's tables, in the order given: through ``executor`` (a local process pool, a
    Dask client's executor) or, with None, one after another in this process."""
    jobs = list(jobs)
    if executor is None:
        return [simulate(j) for j in jobs]
    return list(executor.map(simulate, jobs))


def behaviour_values(path: str | None, replication: int, names: Iterable[str]) -> dict[str, float]:
    """The behaviour parameters ``names`` that replication ``replication`` runs with (its
    posterior draw, or the one pinned set): the uncertain inputs of that run."""
    from sim.configuration import behaviour_for
    from sim.experiments.sweep import _behaviour

    beh = behaviour_for(_behaviour(path), replication).model_dump()
    return {n: float(beh[n]) for n in names}


def drawn_parameters(path: str | None) -> list[str]:
    """The behaviour parameters that differ between replications: the columns of a posterior
    ensemble, none for one pinned set."""
    from sim.configuration import BehaviourEnsemble
    from sim.experiments.sweep import _behaviour

    source = _behaviour(path)
    return list(source.draws[0]) if isinstance(source, BehaviourEnsemble) else []


def yearly(metrics: pl.DataFrame, metric: str) -> pl.Series:
    """Per replication, the value a search or a connector reports for ``metric``: a rate or stock
    in the final year, any flow (persons, yuan) as its mean over the simulated years (the first
    row of a replication is the starting state and is left out)."""
    from sim.configuration import RATE_METRICS

    stocks = {"population", "households", "left_behind_children", "non_hukou_residents",
              "urban_hukou_persons", "hukou_population"}
    y0, y1 = metrics["year"].min(), metrics["year"].max()
    if metric in RATE_METRICS or metric in stocks:
        sel = metrics.filter(pl.col("year") == y1).select("replication", pl.col(metric).alias("v"))
    else:
        sel = (metrics.filter(pl.col("year") > y0).group_by("replication")
               .agg(pl.col(metric).mean().alias("v")))
    return sel.sort("replication")["v"]


def describe(metric: str) -> str:
    """How :func:`yearly` reads ``metric``, for column headings and console lines."""
    from sim.configuration import RATE_METRICS

    stocks = {"population", "households", "left_behind_children", "non_hukou_residents",
              "urban_hukou_persons", "hukou_population"}
    return f"{metric} (final year)" if metric in RATE_METRICS or metric in stocks else f"{metric} / year"


def summary(values: Any) -> tuple[float, float, float]:
    """Mean and 90% interval (5th-95th percentile) of per-replication values."""
    s = pl.Series(values, dtype=pl.Float64).drop_nans().drop_nulls()
    if s.len() == 0:
        nan = float("nan")
        return nan, nan, nan
    return float(s.mean()), float(s.quantile(0.05, "linear")), float(s.quantile(0.95, "linear"))
