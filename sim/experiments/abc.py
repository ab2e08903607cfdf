"""Pattern-oriented calibration by approximate Bayesian computation (issue 16).

``sim calibrate --abc [SPEC]`` fits behaviour parameters to several observed patterns at once
(``configs/calibration/patterns.toml``):

* the national resident and hukou urbanisation series (reported definitions, as
  :mod:`sim.experiments.calibration` compares them);
* survey settlement intention among migrants (about 0.30, CMDS 2016);
* the survey contrasts the household decision produces (homestead holders about 12% less
  willing, CMDS 2017; the new generation a little more willing, +10% ± 10 points, an
  assumption the mixed evidence on age and generation allows; with children and city size as
  directions, no magnitude being published);
* a regional pattern: Dehong's settlements under its pre-reform rules (seed 001 §一(一)).

Method: ABC-SMC from pyabc (a well-kept library: adaptive population Monte Carlo with
likelihood-free acceptance, a sqlite history, and samplers for local cores or a Dask cluster),
with uniform priors on the spec's ranges. Every simulation of every particle uses the same seed
and replication: common random numbers, so particles differ by their parameters only.

The distance of a simulation from the data is the sum over patterns of ``weight × z²``, where
``z`` is the pattern's standardised miss (for a series, the root mean square over its years;
for a direction, how far the contrast falls short of zero, over its scale). The result is a
*posterior ensemble*: ``draws`` parameter sets resampled from the last population by weight,
written as CSV under ``configs/behaviour/`` with a JSON fit report (each pattern's simulated
value against its target, marginals, correlations, and what stays unidentified), plus the
posterior mean as a single behaviour file for quick runs.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import polars as pl
from pydantic import Field

from sim.configuration import (
    METRIC_NAMES,
    PROJECT_ROOT,
    SETTLEMENT_GROUPS,
    Behaviour,
    ConfigError,
    Strict,
    check_provenance,
    load_behaviour,
    load_policy,
    load_region,
    read_toml,
    validate,
)

ROOT = PROJECT_ROOT
BEHAVIOUR_DIR = ROOT / "configs" / "behaviour"


# ---------------------------------------------------------------------------------------------
# the spec
# ---------------------------------------------------------------------------------------------


class AbcMeta(Strict):
    package: str  # the national package the series are simulated with
    data: str  # the CSV of observed series (year, <column>...)
    first_year: int
    last_year: int
    scale: Annotated[float, Field(ge=1)] = 40000.0
    seed: int = 0
    population_size: Annotated[int, Field(ge=10, le=100000)] = 200
    generations: Annotated[int, Field(ge=1, le=50)] = 4
    draws: Annotated[int, Field(ge=10, le=100000)] = 200
    source: str | None = None


class AbcParameter(Strict):
    name: str
    range: Annotated[list[float], Field(min_length=2, max_length=2)]
    source: str


class Series(Strict):
    """An observed yearly series: simulated metric against a data column (percent)."""

    metric: str
    column: str
    sd: Annotated[float, Field(gt=0)]  # tolerance of one year's miss, as a fraction
    weight: Annotated[float, Field(gt=0)] = 1.0
    source: str


class Pattern(Strict):
    """A pattern the national run must show (mean over the fitted years), or a regional one.

    * ``level``: the metric's value near ``target``;
    * ``ratio``: intention of ``groups[0]`` over ``groups[1]``, minus 1, near ``target``;
    * ``direction``: intention of ``groups[0]`` minus ``groups[1]`` above 0 (``sd`` is the
      scale of a shortfall);
    * ``regional``: the metric's yearly mean over ``years`` in a run of ``package`` (its own
      region) at ``scale``, near ``target``.
    """

    name: str
    kind: Literal["level", "ratio", "direction", "regional"]
    metric: str = "settlement_intention"
    groups: list[str] = []
    target: float = 0.0
    sd: Annotated[float, Field(gt=0)]
    weight: Annotated[float, Field(gt=0)] = 1.0
    package: str | None = None
    years: list[int] = []
    scale: Annotated[float, Field(ge=1)] | None = None
    replications: Annotated[int, Field(ge=1, le=20)] = 1
    source: str


class AbcFile(Strict):
    abc: AbcMeta
    parameters: list[AbcParameter]
    series: list[Series]
    patterns: list[Pattern] = []


@dataclass
class AbcSpec:
    path: Path
    meta: AbcMeta
    parameters: list[AbcParameter]
    series: list[Series]
    patterns: list[Pattern]

    def resolve(self, rel: str) -> Path:
        return (self.path.parent / rel).resolve()

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]


def load_abc_spec(path: str | Path, last_year: int | None = None) -> AbcSpec:
    """Read and check a pattern calibration spec; ``last_year`` fits fewer years (the
    out-of-sample test calibrates on 2013-2016 only)."""
    path = Path(path).resolve()
    raw = read_toml(path)
    data = validate(AbcFile, raw, path)
    check_provenance(raw, path)
    base = Behaviour().model_dump()
    for i, p in enumerate(data.parameters):
        if p.name not in Behaviour.model_fields or p.name in ("source", "sources"):
            raise ConfigError(f"{path}: key 'parameters[{i}].name': unknown behaviour parameter '{p.name}'")
        lo, hi = p.range
        if lo >= hi:
            raise ConfigError(f"{path}: key 'parameters[{i}].range': must be [lo, hi] with lo < hi")
        for end in (lo, hi):
            try:
                Behaviour.model_validate({**base, p.name: float(end)})
            except Exception as exc:  # pydantic's message names the bound
                raise ConfigError(f"{path}: key 'parameters[{i}].range': {p.name} = {end} is not allowed "
                                  f"({exc.errors()[0]['msg'] if hasattr(exc, 'errors') else exc})") from None
    for i, s in enumerate(data.series):
        if s.metric not in METRIC_NAMES:
            raise ConfigError(f"{path}: key 'series[{i}].metric': unknown metric '{s.metric}'")
    for i, p in enumerate(data.patterns):
        where = f"{path}: key 'patterns[{i}]"
        if p.kind in ("ratio", "direction"):
            if len(p.groups) != 2 or any(g not in SETTLEMENT_GROUPS for g in p.groups):
                raise ConfigError(f"{where}.groups': two of {', '.join(SETTLEMENT_GROUPS)}")
        elif p.metric not in METRIC_NAMES:
            raise ConfigError(f"{where}.metric': unknown metric '{p.metric}'")
        if p.kind == "regional":
            if not p.package or len(p.years) != 2 or p.years[0] > p.years[1]:
                raise ConfigError(f"{where}': a regional pattern needs package and years = [first, last]")
            if not (path.parent / p.package).resolve().is_file():
                raise ConfigError(f"{where}.package': file not found: {(path.parent / p.package).resolve()}")
    meta = data.abc
    if last_year is not None:
        if not meta.first_year <= last_year <= meta.last_year:
            raise ConfigError(f"{path}: last year {last_year} must lie in [{meta.first_year}, {meta.last_year}]")
        meta = meta.model_copy(update={"last_year": last_year})
    spec = AbcSpec(path, meta, data.parameters, data.series, data.patterns)
    if not spec.resolve(meta.data).is_file():
        raise ConfigError(f"{path}: key 'abc.data': file not found: {spec.resolve(meta.data)}")
    return spec


# ---------------------------------------------------------------------------------------------
# simulation and summary statistics
# ---------------------------------------------------------------------------------------------


def behaviour_with(values: dict[str, float], base: Behaviour | None = None) -> Behaviour:
    """The hand-set behaviour (``default.toml``) with ``values`` put in."""
    base = base or load_behaviour(BEHAVIOUR_DIR / "default.toml")
    return base.model_validate({**base.model_dump(), **{k: float(v) for k, v in values.items()}})


def national_run(spec: AbcSpec, beh: Behaviour, end: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Metrics and groups of the national package under ``beh`` (one replication, the spec's
    seed: common random numbers across particles)."""
    from sim.engine.model import SettlementModel

    pol = load_policy(spec.resolve(spec.meta.package))
    m = SettlementModel(pol, load_region(pol.region_path), beh, seed=spec.meta.seed, replication=0,
                        scale=spec.meta.scale, end=end or spec.meta.last_year).run()
    return pl.DataFrame(m.metrics), pl.DataFrame(m.groups)


def summaries(spec: AbcSpec, values: dict[str, float], base: Behaviour | None = None) -> dict[str, float]:
    """The simulated summary statistics of one parameter set: each series' value per fitted
    year (``<metric>:<year>``) and each pattern's value (``<name>``)."""
    beh = behaviour_with(values, base)
    metrics, groups = national_run(spec, beh)
    first, last = spec.meta.first_year, spec.meta.last_year
    fitted = metrics.filter(pl.col("year").is_between(first, last))
    out: dict[str, float] = {}
    for s in spec.series:
        for y, v in zip(fitted["year"], fitted[s.metric]):
            out[f"{s.metric}:{y}"] = float(v)
    g = (groups.filter(pl.col("year").is_between(first, last)).group_by("group")
         .agg(pl.col("intention").mean()))
    intent = dict(zip(g["group"].to_list(), g["intention"].to_list()))
    for p in spec.patterns:
        if p.kind == "level":
            out[p.name] = float(fitted[p.metric].mean())
        elif p.kind == "ratio":
            a, b = (intent.get(x, math.nan) for x in p.groups)
            out[p.name] = a / b - 1.0 if b else math.nan
        elif p.kind == "direction":
            a, b = (intent.get(x, math.nan) for x in p.groups)
            out[p.name] = a - b
        else:
            out[p.name] = regional(spec, p, beh)
    return out


def regional(spec: AbcSpec, p: Pattern, beh: Behaviour) -> float:
    """A regional pattern's simulated value: the metric's yearly mean over its years."""
    from sim.engine.model import SettlementModel

    pol = load_policy(spec.resolve(p.package))
    values = []
    for r in range(p.replications):
        m = SettlementModel(pol, load_region(pol.region_path), beh, seed=spec.meta.seed, replication=r,
                            scale=p.scale, end=p.years[1]).run()
        df = pl.DataFrame(m.metrics).filter(pl.col("year").is_between(*p.years))
        values.append(float(df[p.metric].mean()))
    return float(np.mean(values))


def observed(spec: AbcSpec) -> dict[str, float]:
    """The observed summary statistics, keyed as :func:`summaries` keys them."""
    df = pl.read_csv(spec.resolve(spec.meta.data))
    out: dict[str, float] = {}
    for s in spec.series:
        if s.column not in df.columns:
            raise ConfigError(f"{spec.path}: series '{s.metric}': column '{s.column}' not in {spec.meta.data}")
        for y, v in zip(df["year"], df[s.column]):
            if spec.meta.first_year <= y <= spec.meta.last_year:
                out[f"{s.metric}:{y}"] = float(v) / 100.0
    for p in spec.patterns:
        out[p.name] = p.target
    return out


def misses(spec: AbcSpec, sim: dict[str, float], obs: dict[str, float]) -> dict[str, float]:
    """Each series' and pattern's standardised miss z (series: root mean square over years)."""
    out: dict[str, float] = {}
    for s in spec.series:
        keys = [k for k in obs if k.startswith(f"{s.metric}:")]
        z = [(sim.get(k, math.nan) - obs[k]) / s.sd for k in keys]
        out[s.metric] = float(np.sqrt(np.mean(np.square(z)))) if z else 0.0
    for p in spec.patterns:
        v = sim.get(p.name, math.nan)
        out[p.name] = max(0.0, -v) / p.sd if p.kind == "direction" else (v - p.target) / p.sd
    return out


def distance(spec: AbcSpec, sim: dict[str, float], obs: dict[str, float]) -> float:
    """Sum over series and patterns of ``weight × z²`` (NaN, a pattern the run cannot show,
    counts as far away)."""
    weights = {s.metric: s.weight for s in spec.series} | {p.name: p.weight for p in spec.patterns}
    total = 0.0
    for name, z in misses(spec, sim, obs).items():
        total += weights[name] * (z * z if math.isfinite(z) else 1e6)
    return total


# ---------------------------------------------------------------------------------------------
# ABC-SMC (pyabc)
# ---------------------------------------------------------------------------------------------


class _Model:
    """The pyabc model: parameters in, summary statistics out (picklable for the samplers)."""

    def __init__(self, spec_path: str, last_year: int):
        self.spec_path, self.last_year = spec_path, last_year
        self._spec: AbcSpec | None = None

    def __call__(self, pars) -> dict[str, float]:
        if self._spec is None:
            self._spec = load_abc_spec(self.spec_path, self.last_year)
        return summaries(self._spec, {k: float(pars[k]) for k in self._spec.names})


class _Distance:
    def __init__(self, spec_path: str, last_year: int):
        self.spec_path, self.last_year = spec_path, last_year
        self._spec: AbcSpec | None = None

    def __call__(self, x: dict, x0: dict) -> float:
        if self._spec is None:
            self._spec = load_abc_spec(self.spec_path, self.last_year)
        return distance(self._spec, x, x0)


def sampler(workers: int, scheduler: str | None = None):
    """pyabc's sampler: local processes, or a Dask cluster at ``scheduler`` (tcp://host:port)."""
    import pyabc

    if scheduler:
        from dask.distributed import Client

        return pyabc.sampler.DaskDistributedSampler(dask_client=Client(scheduler))
    if workers <= 1:
        return pyabc.sampler.SingleCoreSampler()
    # the sweeps' pool: fresh (spawned) single-threaded worker processes. pyabc's forking samplers
    # hang once the compiled engine's threads exist in a forked child, and a particle's runs are
    # small (a few thousand agents), where threads within a run cost more than they save: one
    # thread per worker made a particle 0.55 s instead of 1.4-2.9 s (benchmarks/bench_calibration.py)
    from sim.experiments.sweep import local_executor

    return pyabc.sampler.ConcurrentFutureSampler(cfuture_executor=local_executor(workers),
                                                 client_max_jobs=workers)


def run_abc(spec: AbcSpec, *, population_size: int | None = None, generations: int | None = None,
            workers: int = 2, scheduler: str | None = None, db: Path | None = None,
            progress: bool = True, max_simulations: int | None = None) -> tuple[pl.DataFrame, dict]:
    """Run ABC-SMC; return the last population (parameters, weight) and run facts. It stops after
    ``generations``, or once ``max_simulations`` particles have been simulated in all (pyabc's
    budget; the last complete generation is returned)."""
    import logging

    import pyabc

    for name in ("ABC", "Sampler", "Epsilon", "Distance", "Acceptor", "pyabc"):
        logging.getLogger(name).setLevel(logging.INFO if progress else logging.WARNING)
    prior = pyabc.Distribution(**{p.name: pyabc.RV("uniform", p.range[0], p.range[1] - p.range[0])
                                  for p in spec.parameters})
    abc = pyabc.ABCSMC(_Model(str(spec.path), spec.meta.last_year), prior,
                       _Distance(str(spec.path), spec.meta.last_year),
                       population_size=population_size or spec.meta.population_size,
                       sampler=sampler(workers, scheduler))
    db = db or Path(tempfile.mkdtemp(prefix="hukou-abc-")) / "abc.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    if progress:
        print(f"sim calibrate --abc: history in {db} (a run stopped early can be finished with "
              f"--from-db {db})", flush=True)
    abc.new(f"sqlite:///{db}", observed(spec))
    abc.run(max_nr_populations=generations or spec.meta.generations,
            max_total_nr_simulations=max_simulations or np.inf)
    return from_history(db)


def from_history(db: Path) -> tuple[pl.DataFrame, dict]:
    """The last complete population of an ABC-SMC history (parameters and weight) and the run's
    facts: a finished run's, or one stopped early (its last full generation)."""
    import pyabc

    if not Path(db).is_file():
        raise ConfigError(f"{db}: no such ABC history (sqlite database)")
    history = pyabc.History(f"sqlite:///{Path(db).resolve()}")
    if history.max_t < 0:
        raise ConfigError(f"{db}: the ABC history holds no complete generation yet")
    frame, w = history.get_distribution(m=0, t=history.max_t)
    pop = pl.from_pandas(frame.reset_index(drop=True)).with_columns(pl.Series("weight", np.asarray(w)))
    pops = history.get_all_populations()
    seconds = float(pops["wall_time"].sum())  # the calibration sample's and each generation's
    facts = {"seconds": seconds, "generations": int(history.max_t) + 1,
             "evaluations": int(pops["samples"].sum()),
             "population_size": int(pops["particles"].iloc[-1]),
             "epsilons": [float(e) for e in pops["epsilon"].tolist() if np.isfinite(e)],
             "db": str(db)}
    return pop, facts


def resample(pop: pl.DataFrame, names: list[str], draws: int, seed: int) -> pl.DataFrame:
    """``draws`` equally weighted parameter sets drawn from a weighted population
    (systematic resampling: every particle kept about in proportion to its weight)."""
    w = pop["weight"].to_numpy()
    w = w / w.sum()
    u = (np.random.default_rng(seed).random() + np.arange(draws)) / draws
    idx = np.minimum(np.searchsorted(np.cumsum(w), u), w.size - 1)
    return pop[idx].select(names).with_row_index("draw")


def fit_report(spec: AbcSpec, post: pl.DataFrame, facts: dict, evaluate: int = 20) -> dict:
    """Each pattern's simulated value over ``evaluate`` posterior draws (median and 90%
    interval) against its target, the marginals and correlations, and what stays unidentified
    (a marginal whose 90% interval spans most of its prior range)."""
    obs = observed(spec)
    base = load_behaviour(BEHAVIOUR_DIR / "default.toml")
    sims = [summaries(spec, {n: float(post[n][i]) for n in spec.names}, base)
            for i in range(min(evaluate, post.height))]
    keys = list(obs)
    rows = []
    for k in keys:
        v = np.array([s.get(k, math.nan) for s in sims])
        rows.append({"statistic": k, "observed": obs[k], "median": float(np.nanmedian(v)),
                     "q05": float(np.nanquantile(v, 0.05)), "q95": float(np.nanquantile(v, 0.95))})
    marg = []
    for p in spec.parameters:
        v = post[p.name].to_numpy()
        lo, hi = p.range
        q05, q95 = np.quantile(v, [0.05, 0.95])
        marg.append({"parameter": p.name, "prior": [lo, hi], "mean": float(v.mean()),
                     "q05": float(q05), "q50": float(np.median(v)), "q95": float(q95),
                     "identified": bool((q95 - q05) < 0.75 * (hi - lo)), "source": p.source})
    corr = np.corrcoef(post.select(spec.names).to_numpy().T)
    return {"spec": str(spec.path.relative_to(ROOT) if spec.path.is_relative_to(ROOT) else spec.path),
            "first_year": spec.meta.first_year, "last_year": spec.meta.last_year,
            "scale": spec.meta.scale, "seed": spec.meta.seed, "draws": post.height,
            "facts": facts, "statistics": rows, "marginals": marg,
            "correlations": {"names": spec.names, "matrix": np.round(corr, 3).tolist()},
            "patterns": [p.model_dump() for p in spec.patterns],
            "series": [s.model_dump() for s in spec.series],
            "date": time.strftime("%Y-%m-%d")}


def write_posterior(spec: AbcSpec, post: pl.DataFrame, report: dict, out: Path) -> None:
    """Write the ensemble (CSV, one row per draw), its fit report (JSON beside it) and the
    posterior mean as a behaviour file (``<out stem>.mean.toml``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    header = [f"# Posterior ensemble of behaviour parameters: {post.height} draws by ABC-SMC "
              f"(sim calibrate --abc {report['spec']}, {report['date']}, fitted {spec.meta.first_year}-"
              f"{spec.meta.last_year}).",
              "# Every other behaviour parameter is the hand-set value of configs/behaviour/default.toml.",
              f"# Fit report: {out.with_suffix('.fit.json').name}; replication r of a run uses draw r mod "
              f"{post.height}."]
    body = post.write_csv()
    tmp = out.with_suffix(".csv.tmp")
    tmp.write_text("\n".join(header) + "\n" + body)
    os.replace(tmp, out)
    out.with_suffix(".fit.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    mean = {n: float(post[n].mean()) for n in spec.names}
    write_mean_behaviour(spec, mean, out.with_suffix(".mean.toml"), report)


def write_mean_behaviour(spec: AbcSpec, values: dict[str, float], path: Path, report: dict) -> None:
    from sim.experiments.calibration import write_behaviour_file

    header = [f"# The posterior mean of {report['draws']} ABC-SMC draws ({report['spec']}, {report['date']}): "
              "a single behaviour for quick runs (`--behaviour` this file pins it; the bands are then chance only)."]
    fitted = {p.name: f"posterior mean, ABC-SMC ({report['date']}), uniform prior [{p.range[0]:g}, "
                      f"{p.range[1]:g}]: {p.source}" for p in spec.parameters}
    write_behaviour_file(path, header, values, fitted)


def calibrate_abc(spec_path: str | Path, out: Path | None = None, *, last_year: int | None = None,
                  population_size: int | None = None, generations: int | None = None,
                  draws: int | None = None, workers: int = 2, scheduler: str | None = None,
                  evaluate: int = 20, progress: bool = True, db: Path | None = None,
                  from_db: Path | None = None) -> dict:
    """Run the pattern calibration and write the posterior ensemble (see the module docstring);
    with ``from_db``, write it from an existing run's history instead of running."""
    spec = load_abc_spec(spec_path, last_year)
    out = out or BEHAVIOUR_DIR / "posterior.csv"
    if from_db is not None:
        pop, facts = from_history(from_db)
    else:
        pop, facts = run_abc(spec, population_size=population_size, generations=generations,
                             workers=workers, scheduler=scheduler, progress=progress, db=db)
    post = resample(pop, spec.names, draws or spec.meta.draws, spec.meta.seed)
    report = fit_report(spec, post, facts, evaluate)
    write_posterior(spec, post, report, out)
    return {"out": str(out), **facts, "draws": post.height}


# ---------------------------------------------------------------------------------------------
# out of sample
# ---------------------------------------------------------------------------------------------


def forecast(spec: AbcSpec, post: pl.DataFrame, first: int, last: int, draws: int = 20) -> pl.DataFrame:
    """Mean simulated series per year over ``draws`` posterior draws, run to ``last``."""
    base = load_behaviour(BEHAVIOUR_DIR / "default.toml")
    frames = []
    for i in range(min(draws, post.height)):
        beh = behaviour_with({n: float(post[n][i]) for n in spec.names}, base)
        metrics, _ = national_run(spec, beh, end=last)
        frames.append(metrics.select("year", *[s.metric for s in spec.series]))
    return (pl.concat(frames).group_by("year").agg([pl.col(s.metric).mean() for s in spec.series])
            .filter(pl.col("year").is_between(first, last)).sort("year"))


def trend_forecast(spec: AbcSpec, fit_first: int, fit_last: int, first: int, last: int) -> pl.DataFrame:
    """The naive baseline: the linear trend of ``fit_first..fit_last`` extended, with the
    statistical changes the package records (removed before fitting, added back)."""
    pol = load_policy(spec.resolve(spec.meta.package))
    df = pl.read_csv(spec.resolve(spec.meta.data))
    rows: dict[str, list] = {"year": list(range(first, last + 1))}
    for s in spec.series:
        metric = s.metric.removesuffix("_reported")
        fit = df.filter(pl.col("year").is_between(fit_first, fit_last))
        y = np.array([v / 100.0 - pol.statistical_shift(metric, yr) for yr, v in zip(fit["year"], fit[s.column])])
        slope, icpt = np.polyfit(fit["year"].to_numpy(), y, 1)
        rows[s.metric] = [icpt + slope * yr + pol.statistical_shift(metric, yr) for yr in rows["year"]]
    return pl.DataFrame(rows)


def out_of_sample(spec_path: str | Path, posterior: Path, fit_last: int, last: int,
                  draws: int = 20, trend_years: int = 3) -> dict:
    """Mean absolute error (pp) of the posterior's forecast of ``fit_last + 1 .. last`` and of
    the naive trend of the last ``trend_years`` fitted years, per series."""
    spec = load_abc_spec(spec_path)
    post = read_posterior(posterior)
    df = pl.read_csv(spec.resolve(spec.meta.data))
    first = fit_last + 1
    model = forecast(spec, post, first, last, draws)
    naive = trend_forecast(spec, fit_last - trend_years + 1, fit_last, first, last)
    out: dict = {"fit": [spec.meta.first_year, fit_last], "forecast": [first, last], "draws": draws,
                 "trend_years": [fit_last - trend_years + 1, fit_last], "series": {}}
    for s in spec.series:
        obs = df.filter(pl.col("year").is_between(first, last)).sort("year")[s.column].to_numpy() / 100.0
        out["series"][s.metric] = {
            "observed": (obs * 100).round(3).tolist(),
            "model": (model[s.metric].to_numpy() * 100).round(3).tolist(),
            "naive": (naive[s.metric].to_numpy() * 100).round(3).tolist(),
            "model_mae_pp": float(np.mean(np.abs(model[s.metric].to_numpy() - obs)) * 100),
            "naive_mae_pp": float(np.mean(np.abs(naive[s.metric].to_numpy() - obs)) * 100)}
    return out


def read_posterior(path: str | Path) -> pl.DataFrame:
    """A posterior ensemble CSV (comment lines start with #)."""
    path = Path(path)
    try:
        return pl.read_csv(path, comment_prefix="#")
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(f"{path}: not a readable posterior ensemble ({exc})") from None
