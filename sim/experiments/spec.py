"""Batch experiments (issue 4): a TOML file naming packages, a region, lever and behaviour
factors, a design, replications and outputs; expanded here into design points.

    [experiment]
    name = "dehong_default"
    region = "../configs/regions/dehong.toml"      # optional: default = each package's own;
                                                     # or regions = [...] to cross packages with regions
    behaviour = "../configs/behaviour/default.toml"  # optional: default = configs/behaviour/
    packages = ["../configs/policies/dehong_2011.toml", "../configs/policies/dehong_pre_reform.toml"]
    replications = 10
    seed = 0
    start = 2011                                     # optional
    end = 2020                                       # optional
    scale = 1.0                                      # optional
    outputs = ["metrics", "groups", "towns", "flows"]
    source = "why this experiment"

    [design]
    method = "grid"            # grid | lhs | sobol | morris | none
    samples = 16               # lhs: points; sobol: base N; morris: trajectories
    seed = 1                   # seed of the sampler (not of the model)

    [[design.levers]]          # a lever path as in a package: group.default|tiers.X|towns.Y.field,
    path = "schools.default.nonhukou_admission_share"   # or region-wide group.field (rights.land.x)
    values = [0.3, 1.0]        # grid: the values; samplers: range = [lo, hi]

    [[design.levers]]          # a linked factor: one value applied to several paths (tiers, towns)
    name = "purchase_subsidy_yuan"                      # its label in tables (default: the paths
    paths = ["housing.tiers.central_city.purchase_subsidy_yuan",   # folded, e.g.
             "housing.tiers.sub_center.purchase_subsidy_yuan"]     # housing.tiers.{a,b}.field)
    values = [18000, 50000]

    [[design.behaviour]]       # an uncertain behaviour parameter
    name = "beta_income"
    range = [0.5, 1.5]

    [sensitivity]              # for `sim sensitivity`
    outcomes = ["hukou_urbanization", "resident_urbanization", "settlement_intention"]

    [discover]                 # for `sim discover` (sim.experiments.discover)
    target = "resident urbanisation 64% by 2025"

Every design point is crossed with every package; every (point, replication) is one run.
Replication r of every point uses the same population and draws (seed, r): common random numbers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator

from sim.configuration import (
    Behaviour,
    ConfigError,
    Strict,
    check_provenance,
    load_policy,
    read_toml,
    validate,
)
from sim.configuration.schema import Year
from sim.experiments.discover import DiscoverSpec


class ExperimentMeta(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")]  # a plain folder name: not ".", ".." or hidden
    packages: Annotated[list[str], Field(min_length=1)]
    region: str | None = None
    regions: list[str] = Field(default_factory=list)
    behaviour: str | None = None  # one set (.toml) or an ensemble (.csv); default: the posterior
    replications: Annotated[int, Field(ge=1, le=10000)] = 10  # as --replications (configuration.settings)
    seed: Annotated[int, Field(ge=0)] = 0
    start: Year | None = None
    end: Year | None = None
    scale: Annotated[float, Field(ge=1, le=1e7)] | None = None
    outputs: Annotated[list[Literal["metrics", "groups", "towns", "flows", "snapshots"]], Field(min_length=1)] = Field(
        default_factory=lambda: ["metrics", "groups", "towns", "flows"])
    snapshot_years: list[Year] = Field(default_factory=list)
    source: str | None = None
    title: str = ""


LeverPath = Annotated[str, Field(pattern=r"^[a-z_]+(\.[^.\s]+)+$")]  # group.[layer.]field


class LinkedLever(Strict):
    """One lever ``path``, or several ``paths`` linked to one value (the same lever in several
    tiers or towns), with an optional ``name``: what an experiment's lever factor and a search's
    decision variable share."""

    path: LeverPath | None = None
    paths: Annotated[list[LeverPath], Field(min_length=1)] | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @property
    def targets(self) -> list[str]:
        """Every lever path this sets."""
        return list(self.paths) if self.paths is not None else [self.path]  # type: ignore[list-item]

    @property
    def label(self) -> str:
        """The name in tables and design columns."""
        return self.name or linked_label(self.targets)


class LeverFactor(LinkedLever):
    """A varied lever: one ``path``, or a linked factor whose one value goes to every one of
    ``paths`` (the same lever in several tiers or towns)."""

    values: Annotated[list[Any], Field(min_length=1)] | None = None
    range: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None
    integer: bool = False

    @model_validator(mode="after")
    def _one(self) -> LeverFactor:
        if (self.path is None) == (self.paths is None):
            raise ValueError("give exactly one of 'path' (one lever) or 'paths' (a linked factor: "
                             "one value applied to several tiers or towns)")
        if self.paths is not None and len(set(self.paths)) != len(self.paths):
            raise ValueError(f"'paths' names a lever twice: {self.paths}")
        if (self.values is None) == (self.range is None):
            raise ValueError("give exactly one of 'values' (grid) or 'range' (samplers)")
        return self


def linked_label(paths: list[str]) -> str:
    """One label for several lever paths: the parts they share, and the parts that differ in
    braces (``housing.tiers.{central_city,sub_center}.purchase_subsidy_yuan``)."""
    if len(paths) == 1:
        return paths[0]
    split = [p.split(".") for p in paths]
    if len({len(s) for s in split}) != 1:
        return "+".join(paths)
    parts = []
    for segs in zip(*split):
        parts.append(segs[0] if len(set(segs)) == 1 else "{" + ",".join(dict.fromkeys(segs)) + "}")
    return ".".join(parts)


class BehaviourFactor(Strict):
    name: str
    values: Annotated[list[float], Field(min_length=1)] | None = None
    range: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None

    @model_validator(mode="after")
    def _one(self) -> BehaviourFactor:
        if (self.values is None) == (self.range is None):
            raise ValueError("give exactly one of 'values' (grid) or 'range' (samplers)")
        if self.name not in Behaviour.model_fields or self.name in ("source", "sources"):
            allowed = ", ".join(k for k in Behaviour.model_fields if k not in ("source", "sources"))
            raise ValueError(f"unknown behaviour parameter '{self.name}'; allowed: {allowed}")
        return self


class Design(Strict):
    method: Literal["none", "grid", "lhs", "sobol", "morris"] = "none"
    samples: Annotated[int, Field(ge=1, le=100000)] = 8
    seed: int = 1
    levels: Annotated[int, Field(ge=2, le=20)] = 4
    levers: list[LeverFactor] = Field(default_factory=list)
    behaviour: list[BehaviourFactor] = Field(default_factory=list)


class Sensitivity(Strict):
    outcomes: list[str] = Field(default_factory=lambda: ["hukou_urbanization",
                                                         "resident_urbanization",
                                                         "settlement_intention"])
    year: int | None = None  # default: the final year


class ExperimentFile(Strict):
    experiment: ExperimentMeta
    design: Design = Field(default_factory=Design)
    sensitivity: Sensitivity = Field(default_factory=Sensitivity)
    discover: DiscoverSpec | None = None  # for `sim discover` (sim.experiments.discover)


@dataclass
class Factor:
    """One varied input: a lever path or a behaviour parameter."""

    kind: Literal["lever", "behaviour"]
    name: str
    values: list[Any] | None
    range: list[float] | None
    integer: bool = False
    paths: list[str] = field(default_factory=list)  # a lever factor: every path its value sets

    def override(self, value: Any) -> dict[str, Any]:
        """The partial lever tree that gives this (lever) factor ``value``."""
        from sim.configuration import deep_merge

        tree: dict[str, Any] = {}
        for p in self.paths or [self.name]:
            tree = deep_merge(tree, lever_override(p, value))
        return tree


@dataclass
class Experiment:
    """A validated experiment: packages, factors and the expanded design points."""

    path: Path
    meta: ExperimentMeta
    design: Design
    sensitivity: Sensitivity
    packages: list[Path]
    region: Path | None
    factors: list[Factor]
    points: list[dict[str, Any]] = field(default_factory=list)  # factor name -> value
    sample_matrix: np.ndarray | None = None  # SALib sample for sensitivity methods
    regions: list[Path] = field(default_factory=list)  # when packages are crossed with regions
    behaviour: Path | None = None  # behaviour file for every run (None: the default)
    discover: DiscoverSpec | None = None  # the [discover] table, for `sim discover`

    def region_choices(self) -> list[Path | None]:
        """The regions each package runs on: the listed ones, the one region, or (None) each
        package's own."""
        return list(self.regions) or [self.region]

    @property
    def name(self) -> str:
        return self.meta.name


def lever_override(path: str, value: Any) -> dict[str, Any]:
    """``schools.default.x`` -> {"schools": {"default": {"x": value}}}."""
    parts = path.split(".")
    tree: dict[str, Any] = {parts[-1]: value}
    for p in reversed(parts[:-1]):
        tree = {p: tree}
    return tree


def check_lever_factor(policy, f: LeverFactor, path: Path, key: str) -> None:
    """Refuse a lever factor whose paths or values a package cannot take, naming the file, the
    key, the path and the value: every path at every listed value (or both ends of the range)."""
    probes = f.values if f.values is not None else list(f.range or [])
    for lever in f.targets:
        for probe in probes:
            if f.range is not None:
                probe = int(round(probe)) if f.integer else float(probe)
            try:
                policy.with_levers(lever_override(lever, probe))
            except ConfigError as exc:
                hint = "; this lever takes whole numbers: add `integer = true`" \
                    if "valid integer" in str(exc) and not f.integer else ""
                raise ConfigError(f"{path}: key '{key}' (path '{lever}', value {probe!r}): not a "
                                  f"valid lever value ({exc}){hint}") from None


def _sample(design: Design, factors: list[Factor], path: Path) -> tuple[list[dict[str, Any]], np.ndarray | None]:
    if not factors:
        if design.method not in ("none", "grid"):
            raise ConfigError(f"{path}: key 'design.method': '{design.method}' needs at least one factor")
        return [{}], None
    if design.method in ("none", "grid"):
        for f in factors:
            if f.values is None:
                raise ConfigError(f"{path}: key 'design' factor '{f.name}': method 'grid' needs 'values'")
        combos = itertools.product(*(f.values for f in factors))
        return [dict(zip((f.name for f in factors), c)) for c in combos], None
    for f in factors:
        if f.range is None:
            raise ConfigError(f"{path}: key 'design' factor '{f.name}': method '{design.method}' "
                              "needs 'range = [lo, hi]'")
        if f.range[0] >= f.range[1]:
            raise ConfigError(f"{path}: key 'design' factor '{f.name}': range must be [lo, hi] with lo < hi")
    problem = {"num_vars": len(factors), "names": [f.name for f in factors],
               "bounds": [list(f.range) for f in factors]}
    if design.method == "lhs":
        from SALib.sample import latin

        X = latin.sample(problem, design.samples, seed=design.seed)
    elif design.method == "sobol":
        from SALib.sample import sobol

        X = sobol.sample(problem, design.samples, calc_second_order=False, seed=design.seed)
    else:
        from SALib.sample import morris

        X = morris.sample(problem, design.samples, num_levels=design.levels, seed=design.seed)
    points = []
    for row in X:
        pt = {}
        for f, v in zip(factors, row):
            pt[f.name] = int(round(v)) if f.integer else float(v)
        points.append(pt)
    return points, X


def load_experiment(path: str | Path) -> Experiment:
    """Load, validate (including every package and lever path) and expand an experiment."""
    path = Path(path).resolve()
    raw = read_toml(path)
    data = validate(ExperimentFile, raw, path)
    check_provenance({"experiment": {k: v for k, v in raw.get("experiment", {}).items()
                                     if k not in ("packages", "outputs", "name")}}, path)
    packages = [(path.parent / p).resolve() for p in data.experiment.packages]
    meta = data.experiment
    named = [(f"experiment.packages[{i}]", p) for i, p in enumerate(packages)]
    named += [("experiment.region", (path.parent / meta.region).resolve())] if meta.region else []
    named += [("experiment.behaviour", (path.parent / meta.behaviour).resolve())] if meta.behaviour else []
    for key, f in named:  # a missing file is named with the key that points to it
        if not f.is_file():
            raise ConfigError(f"{path}: key '{key}': file not found: {f}")
    policies = [load_policy(p) for p in packages]
    if meta.region and meta.regions:
        raise ConfigError(f"{path}: key 'experiment.regions': give 'region' or 'regions', not both")
    region = (path.parent / meta.region).resolve() if meta.region else None
    regions = [(path.parent / r).resolve() for r in meta.regions]
    for i, r in enumerate(regions):
        if not r.is_file():
            raise ConfigError(f"{path}: key 'experiment.regions[{i}]': file not found: {r}")
    if region is None and not regions and any(p.region_path is None for p in policies):
        raise ConfigError(f"{path}: key 'experiment.region': a package names no region; give one")
    factors = [Factor("lever", f.label, f.values, f.range, f.integer, f.targets)
               for f in data.design.levers] + \
        [Factor("behaviour", f.name, f.values, f.range) for f in data.design.behaviour]
    names = [f.name for f in factors]
    for i, f in enumerate(data.design.levers):
        if names.count(f.label) > 1:
            raise ConfigError(f"{path}: key 'design.levers[{i}]': factor '{f.label}' is named twice; "
                              "give each factor its own path or name")
        check_lever_factor(policies[0], f, path, f"design.levers[{i}]")
    base = Behaviour()
    for i, f in enumerate(data.design.behaviour):
        for probe in (f.values if f.values is not None else f.range):
            try:
                Behaviour.model_validate({**base.model_dump(), f.name: float(probe)})
            except ValidationError as exc:
                raise ConfigError(f"{path}: key 'design.behaviour[{i}]' ({f.name} = {probe!r}): "
                                  f"{exc.errors()[0]['msg']}") from None
    from sim.configuration import METRIC_NAMES

    for i, o in enumerate(data.sensitivity.outcomes):
        if o not in METRIC_NAMES:
            raise ConfigError(f"{path}: key 'sensitivity.outcomes[{i}]': unknown metric '{o}'; "
                              f"allowed: {', '.join(METRIC_NAMES)}")
    if meta.start is None or meta.end is None:
        horizons = {(p.meta.start, p.meta.end) for p in policies}
        if len(horizons) > 1:
            raise ConfigError(f"{path}: key 'experiment.start'/'experiment.end': the packages "
                              f"have different horizons {sorted(horizons)}; set start and end "
                              "so they are compared over the same years")
    points, X = _sample(data.design, factors, path)
    exp = Experiment(path, data.experiment, data.design, data.sensitivity, packages, region,
                     factors, points, X)
    exp.regions = regions
    exp.discover = data.discover
    if data.discover is not None:  # an unknown package or target is refused before anything runs
        from sim.experiments.discover import choose_target

        choose_target(exp, data.discover)
    if meta.scale is not None:  # every region must keep enough agents at the experiment's scale
        from sim.configuration import load_region
        from sim.configuration.settings import MIN_AGENTS

        for reg_path in {r or p.region_path for r in exp.region_choices() for p in policies}:
            reg = load_region(reg_path).region
            agents = reg.population / reg.mean_household_size / meta.scale
            if agents < MIN_AGENTS:
                raise ConfigError(f"{path}: key 'experiment.scale': {meta.scale:g} households per agent "
                                  f"leave {agents:.1f} agents in region '{reg.name}'; at least "
                                  f"{MIN_AGENTS} are needed")
    if meta.behaviour:
        from sim.configuration import load_behaviour_source

        exp.behaviour = (path.parent / meta.behaviour).resolve()
        # one set (.toml) or a posterior ensemble (.csv: replication r uses draw r); a bad file
        # is refused before anything runs
        load_behaviour_source(exp.behaviour)
    return exp


def adhoc_experiment(policies: list[str], region: str | None, replications: int, seed: int = 0,
                     start: int | None = None, end: int | None = None, scale: float | None = None,
                     name: str = "compare", behaviour: str | None = None) -> Experiment:
    """An experiment with no factors: the given packages on the same replications (with
    ``behaviour`` pinned to one file, or the default posterior ensemble)."""
    meta = ExperimentMeta(name=name, packages=[str(Path(p).resolve()) for p in policies],
                          region=str(Path(region).resolve()) if region else None,
                          behaviour=str(Path(behaviour).resolve()) if behaviour else None,
                          replications=replications, seed=seed, start=start, end=end, scale=scale,
                          outputs=["metrics", "groups", "towns", "flows"],
                          source="ad hoc comparison from the command line")
    pols = [load_policy(p) for p in meta.packages]
    if region is None and any(p.region_path is None for p in pols):
        raise ConfigError("a package names no region; pass --region")
    if start is None or end is None:
        horizons = {(p.meta.start, p.meta.end) for p in pols}
        if len(horizons) > 1:
            raise ConfigError(f"the packages have different horizons {sorted(horizons)}; pass "
                              "--start and --end so they are compared over the same years")
    names = [p.name for p in pols]
    if len(set(names)) != len(names):
        raise ConfigError(f"packages must have distinct names to be compared (got {names})")
    return Experiment(Path.cwd() / f"{name}.toml", meta, Design(), Sensitivity(),
                      [Path(p) for p in meta.packages], Path(meta.region) if meta.region else None,
                      [], [{}], behaviour=Path(meta.behaviour) if meta.behaviour else None)
