"""Target-seeking policy search (issue 17 §3), ``sim search SPEC.toml``: the cheapest settings
of some levers that meet a package's targets with a required probability, and the Pareto front
of public cost against settlement.

A search file::

    [search]
    name = "xuchang_purchase_subsidy"
    package = "../configs/policies/xuchang_2024.toml"
    replications = 20          # per candidate; replication r uses posterior draw r (the same
                               # draws, households and random numbers for every candidate)
    probability = 0.8          # each target must be met in at least this share of replications
    targets = ["resident urbanisation 64% by 2025"]   # labels or metrics of the package's
                               # targets (default: every target not met by construction)
    cost = "public_cost_yuan"  # minimised: yearly mean over the simulated years
    outcome = "settled_persons"  # the front's other axis, maximised
    budget = 40                # settings to evaluate: NSGA-II stops after the generation that
                               # reaches it; the refinement then adds a few (log2 of the grid)
    population = 8             # its population size
    source = "why this search"

    [[levers]]                 # one decision variable; `paths` links one value across tiers/towns
    name = "purchase_subsidy_yuan"
    paths = ["housing.tiers.central_city.purchase_subsidy_yuan",
             "housing.tiers.sub_center.purchase_subsidy_yuan"]
    range = [0, 100000]
    step = 1000                # the search's tolerance on this lever

How: each lever is a grid of ``step`` over its range. NSGA-II (pymoo) searches the grid with two
objectives (cost down, outcome up) and one constraint per target (the share of replications
meeting it at least ``probability``), starting from the ranges' corners, the package as written
and a Latin hypercube. Every candidate is run for the same replications (common random numbers),
on the sweep's process pool or a Dask cluster. Then the cheapest feasible setting is refined by
bisection, lever by lever, towards the cheaper end of its range until the next step misses a
target: the answer is exact to one step if meeting the targets is monotone in each lever over
the range (the usual case for a subsidy or a quota; the refinement says which neighbours it
checked). If no evaluated setting meets the targets, the search says "not reachable in these
ranges" and names the closest setting (the smallest shortfall in probability, then in the
target's value).

Outputs in ``results/<name>/``: ``evaluations.parquet`` (every candidate: lever values, cost and
outcome with 90% intervals, each target's share met and mean, feasible, on the front),
``front.parquet``, ``result.json`` (the answer, the closest setting, settings and timings),
``manifest.json``.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from sim.configuration import (
    METRIC_NAMES,
    ConfigError,
    Strict,
    Target,
    check_provenance,
    load_policy,
    read_toml,
    validate,
)
from sim.configuration.schema import Year
from sim.experiments.evaluate import Job, describe, run_jobs, summary, yearly
from sim.experiments.spec import LinkedLever, check_lever_factor, lever_override

FEASIBLE_EPS = 1e-9


class SearchLever(LinkedLever):
    """A decision variable: one lever path, or several linked to one value, over a range."""

    range: Annotated[list[float], Field(min_length=2, max_length=2)]
    step: Annotated[float, Field(gt=0)] | None = None  # default: 1/100 of the range (1 if integer)
    integer: bool = False
    source: str | None = None  # where the range and step come from

    @model_validator(mode="after")
    def _check(self) -> SearchLever:
        if (self.path is None) == (self.paths is None):
            raise ValueError("give exactly one of 'path' (one lever) or 'paths' (one value linked "
                             "across several tiers or towns)")
        lo, hi = self.range
        if not lo < hi:
            raise ValueError(f"range must be [lo, hi] with lo < hi (got {self.range})")
        if self.step is not None and self.step > hi - lo:
            raise ValueError(f"step {self.step:g} is larger than the range {self.range}")
        if self.integer and (lo != int(lo) or hi != int(hi) or (self.step or 1) != int(self.step or 1)):
            raise ValueError("an integer lever needs whole numbers for range and step")
        return self


class SearchMeta(Strict):
    """The ``[search]`` table: the package, the replications, targets, objectives and budget."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")]
    package: str
    region: str | None = None
    behaviour: str | None = None
    replications: Annotated[int, Field(ge=1, le=10000)] = 20
    seed: Annotated[int, Field(ge=0)] = 0
    start: Year | None = None
    end: Year | None = None
    scale: Annotated[float, Field(ge=1, le=1e7)] | None = None
    targets: Annotated[list[str], Field(min_length=1)] | None = None
    probability: Annotated[float, Field(gt=0, le=1)] = 0.8
    cost: str = "public_cost_yuan"
    outcome: str = "settled_persons"
    budget: Annotated[int, Field(ge=2, le=100000)] = 40
    population: Annotated[int, Field(ge=2, le=1000)] = 8
    optimiser_seed: Annotated[int, Field(ge=0)] = 1
    source: str | None = None
    title: str = ""


class SearchFile(Strict):
    search: SearchMeta
    levers: Annotated[list[SearchLever], Field(min_length=1, max_length=20)]


@dataclass
class Variable:
    """A search lever as a grid: value k is ``lo + k * step`` (the last one clipped to ``hi``)."""

    label: str
    paths: list[str]
    lo: float
    hi: float
    step: float
    integer: bool

    @property
    def steps(self) -> int:
        return int(math.ceil((self.hi - self.lo) / self.step - 1e-9))

    def value(self, k: int) -> float | int:
        v = min(self.lo + int(k) * self.step, self.hi)
        return int(round(v)) if self.integer else float(v)

    def index(self, value: float) -> int:
        """The grid index nearest ``value`` (clipped to the range)."""
        return int(min(max(round((value - self.lo) / self.step), 0), self.steps))

    def override(self, value: Any) -> dict[str, Any]:
        from sim.configuration import deep_merge

        tree: dict[str, Any] = {}
        for p in self.paths:
            tree = deep_merge(tree, lever_override(p, value))
        return tree


@dataclass
class Search:
    """A validated search: the package, the chosen targets, the variables and the settings."""

    path: Path
    meta: SearchMeta
    package: Path
    region: Path | None
    behaviour: Path | None
    targets: list[Target]
    variables: list[Variable]
    as_written: list[float | None] = field(default_factory=list)  # the package's own values
    notes: list[str] = field(default_factory=list)  # levers partly masked by the package's overrides

    @property
    def name(self) -> str:
        return self.meta.name


def _package_value(policy, paths: list[str]) -> float | None:
    """The value the package itself gives a linked lever in its first year (None if its paths
    disagree or it sets none of them and no default applies)."""
    from sim.configuration import PER_TOWN_GROUPS, REGION_WIDE_GROUPS

    tree = policy.levers_in(policy.meta.start or 0)
    values = []
    for p in paths:
        parts = p.split(".")
        node: Any = tree
        for part in parts:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                break
        if node is None:  # not set: the schema's default for the field
            group, fld = parts[0], parts[-1]
            model = PER_TOWN_GROUPS.get(group) or REGION_WIDE_GROUPS.get(group)
            info = getattr(model, "model_fields", {}).get(fld) if model is not None else None
            if info is None or len(parts) != (3 if group in PER_TOWN_GROUPS else 2):
                return None
            node = info.default
        if isinstance(node, bool) or not isinstance(node, (int, float)):
            return None
        values.append(float(node))
    return values[0] if values and len(set(values)) == 1 else None


def load_search(path: str | Path) -> Search:
    """Load and validate a search file: the package, every lever path at both ends of its range,
    the named targets and the metrics, before anything runs."""
    path = Path(path).resolve()
    raw = read_toml(path)
    data = validate(SearchFile, raw, path)
    check_provenance({"search": {k: v for k, v in raw.get("search", {}).items()
                                 if k not in ("package", "name", "targets")}}, path)
    meta = data.search
    named = [("search.package", meta.package), ("search.region", meta.region),
             ("search.behaviour", meta.behaviour)]
    files: dict[str, Path | None] = {}
    for key, rel in named:
        if rel is None:
            files[key] = None
            continue
        f = (path.parent / rel).resolve()
        if not f.is_file():
            raise ConfigError(f"{path}: key '{key}': file not found: {f}")
        files[key] = f
    policy = load_policy(files["search.package"])  # type: ignore[arg-type]
    if files["search.region"] is None and policy.region_path is None:
        raise ConfigError(f"{path}: key 'search.region': the package names no region; give one")
    for key in ("cost", "outcome"):
        metric = getattr(meta, key)
        if metric not in METRIC_NAMES:
            raise ConfigError(f"{path}: key 'search.{key}': unknown metric '{metric}'; allowed: "
                              f"{', '.join(METRIC_NAMES)}")
    targets = select_targets(policy, meta.targets, path)
    from sim.configuration import load_region

    region_file = load_region(files["search.region"] or policy.region_path)
    variables, labels, notes = [], [], []
    for i, lv in enumerate(data.levers):
        from sim.experiments.spec import LeverFactor

        probe = LeverFactor(path=lv.path, paths=lv.paths, name=lv.name, range=lv.range,
                            integer=lv.integer)
        check_lever_factor(policy, probe, path, f"levers[{i}]")
        if lv.label in labels:
            raise ConfigError(f"{path}: key 'levers[{i}]': lever '{lv.label}' is named twice")
        labels.append(lv.label)
        lo, hi = lv.range
        step = lv.step if lv.step is not None else (1.0 if lv.integer else (hi - lo) / 100)
        if lv.integer:
            step = max(1.0, float(round(step)))
        var = Variable(lv.label, lv.targets, float(lo), float(hi), float(step), lv.integer)
        try:  # a value inside the range must be valid too (not only its ends)
            policy.with_levers(var.override(var.value(var.steps // 2)))
        except ConfigError as exc:
            raise ConfigError(f"{path}: key 'levers[{i}]': {exc}") from None
        variables.append(var)
        reached, masked = masked_towns(policy, region_file, var.paths)
        if not reached:
            raise ConfigError(f"{path}: key 'levers[{i}]': '{var.label}' reaches no town of region "
                              f"'{region_file.region.name}'" + (f": the package sets the same field "
                              f"more specifically in {', '.join(masked)}; add those paths to "
                              "'paths'" if masked else ""))
        if masked:
            notes.append(f"levers[{i}] '{var.label}': the package sets the same field more "
                         f"specifically in {', '.join(masked)}, so the searched value does not "
                         "apply there; add those paths to 'paths' to link them")
    if meta.behaviour:
        from sim.configuration import load_behaviour_source

        load_behaviour_source(files["search.behaviour"])
    if meta.scale is not None:
        from sim.configuration.settings import MIN_AGENTS

        reg = region_file.region
        agents = reg.population / reg.mean_household_size / meta.scale
        if agents < MIN_AGENTS:
            raise ConfigError(f"{path}: key 'search.scale': {meta.scale:g} households per agent "
                              f"leave {agents:.1f} agents in region '{reg.name}'; at least "
                              f"{MIN_AGENTS} are needed")
    search = Search(path, meta, files["search.package"], files["search.region"],  # type: ignore[arg-type]
                    files["search.behaviour"], targets, variables)
    search.as_written = [_package_value(policy, v.paths) for v in variables]
    search.notes = notes
    return search


def masked_towns(policy, region, paths: list[str]) -> tuple[list[str], list[str]]:
    """Which towns a linked lever reaches, and which it would reach but for a more specific
    setting of the same field in the package (a tier or town override that the lever's own
    paths do not include): there the searched value would not apply."""
    from sim.configuration import PER_TOWN_GROUPS

    trees = [t for base, changes in policy.layers for t in (base, *(d for _, d in changes))]
    tiers = {t.name: t.tier for t in region.towns}
    reached: set[str] = set()
    masked: set[str] = set()
    mine = set(paths)
    for path in paths:
        parts = path.split(".")
        group = parts[0]
        if group not in PER_TOWN_GROUPS:
            return sorted(tiers), []  # a region-wide lever reaches everywhere
        layer = parts[1]
        field = ".".join(parts[3:] if layer in ("tiers", "towns") else parts[2:])

        def sets(kind: str, name: str) -> bool:
            own = f"{group}.{kind}.{name}.{field}"
            if own in mine:
                return False  # the linked lever sets it there itself
            for tree in trees:
                node: Any = tree.get(group, {}).get(kind, {}).get(name, {})
                for key in field.split("."):
                    node = node.get(key) if isinstance(node, dict) else None
                if node is not None:
                    return True
            return False

        for town, tier in tiers.items():
            if layer == "default":
                scope, blockers = True, sets("tiers", tier) or sets("towns", town)
            elif layer == "tiers":
                scope, blockers = tier == parts[2], sets("towns", town)
            else:
                scope, blockers = town == parts[2], False
            if scope:
                (masked if blockers else reached).add(town)
    return sorted(reached), sorted(masked - reached)


def select_targets(policy, wanted: list[str] | None, path: Path) -> list[Target]:
    """The package's targets a search must meet: those named by label or metric, or every
    target that is not met by construction. An unknown name is refused with the allowed ones."""
    if not policy.targets:
        raise ConfigError(f"{path}: key 'search.package': {policy.name} states no targets; a "
                          "search needs at least one (add [[targets]] to a package that extends it)")
    if wanted is None:
        chosen = [t for t in policy.targets if not t.by_construction]
        if not chosen:
            raise ConfigError(f"{path}: key 'search.targets': every target of {policy.name} is met "
                              "by construction; name the ones to meet")
        return chosen
    chosen = []
    for i, name in enumerate(wanted):
        hits = [t for t in policy.targets if t.label == name] or \
            [t for t in policy.targets if t.metric == name]
        if not hits:
            allowed = "; ".join(f"'{t.label or t.metric}'" for t in policy.targets)
            raise ConfigError(f"{path}: key 'search.targets[{i}]': {policy.name} has no target "
                              f"'{name}'; allowed (label or metric): {allowed}")
        chosen += [t for t in hits if t not in chosen]
    return chosen


def target_label(t: Target) -> str:
    years = f"{t.year}" if t.to_year in (None, t.year) else f"{t.year}-{t.to_year}"
    where = f" in {t.town}" if t.town else f" ({t.group})" if t.group else ""
    return f"{t.label or t.metric + where} ({years})"


# --------------------------------------------------------------------------------------------
# Evaluating candidates
# --------------------------------------------------------------------------------------------


class Evaluator:
    """Runs candidate settings (grid indices) for the search's replications, caching each, and
    keeps the archive of every evaluation."""

    def __init__(self, search: Search, executor: Executor | None):
        self.search = search
        self.executor = executor
        self.rows: dict[tuple[int, ...], dict[str, Any]] = {}
        self.runs: dict[tuple[int, ...], pl.DataFrame] = {}
        self.order: list[tuple[int, ...]] = []
        tables = {"metrics"}
        for t in search.targets:
            tables |= {"towns"} if t.town else {"groups"} if t.group else set()
        self.tables = tuple(sorted(tables))

    def values(self, key: tuple[int, ...]) -> list[float | int]:
        return [v.value(k) for v, k in zip(self.search.variables, key)]

    def _jobs(self, key: tuple[int, ...]) -> list[Job]:
        from sim.configuration import deep_merge

        s = self.search
        tree: dict[str, Any] = {}
        for var, k in zip(s.variables, key):
            tree = deep_merge(tree, var.override(var.value(k)))
        return [Job(str(s.package), str(s.region) if s.region else None,
                    str(s.behaviour) if s.behaviour else None, json.dumps(tree, sort_keys=True), "{}",
                    r, s.meta.seed, s.meta.start, s.meta.end, s.meta.scale, self.tables)
                for r in range(s.meta.replications)]

    def evaluate(self, keys: list[tuple[int, ...]], phase: str) -> list[dict[str, Any]]:
        """The archive rows of ``keys``, running (in one batch) those not yet evaluated."""
        from sim.outputs.targets import meets, simulated

        new = [k for k in dict.fromkeys(keys) if k not in self.rows]
        jobs = [j for k in new for j in self._jobs(k)]
        results = run_jobs(jobs, self.executor) if jobs else []
        n = self.search.meta.replications
        for i, key in enumerate(new):
            parts = results[i * n:(i + 1) * n]
            tables = {name: pl.concat([p[name] for p in parts], how="vertical_relaxed")
                      for name in self.tables}
            metrics = tables["metrics"]
            cost = yearly(metrics, self.search.meta.cost)
            outcome = yearly(metrics, self.search.meta.outcome)
            row: dict[str, Any] = {"candidate": len(self.order), "phase": phase}
            for var, v in zip(self.search.variables, self.values(key)):
                row[var.label] = float(v)
            c, clo, chi = summary(cost)
            o, olo, ohi = summary(outcome)
            row |= {"cost": c, "cost_lo90": clo, "cost_hi90": chi,
                    "outcome": o, "outcome_lo90": olo, "outcome_hi90": ohi}
            feasible, per_rep = True, {"replication": list(range(n)), "cost": cost.to_list(),
                                      "outcome": outcome.to_list()}
            for j, t in enumerate(self.search.targets):
                sim = simulated(metrics, t, tables.get("towns"), tables.get("groups"))
                vals = sim.to_list() if sim is not None else []
                share = (sum(meets(float(v), t) for v in vals) / len(vals)) if vals else 0.0
                row[f"target{j}_share"] = share
                row[f"target{j}_mean"] = float(np.mean(vals)) if vals else float("nan")
                feasible &= share + FEASIBLE_EPS >= self.search.meta.probability
                per_rep[f"target{j}"] = [float(v) for v in vals] if len(vals) == n else [float("nan")] * n
            row["feasible"] = feasible
            self.rows[key] = row
            self.runs[key] = pl.DataFrame(per_rep).with_columns(pl.lit(row["candidate"]).alias("candidate"))
            self.order.append(key)
        return [self.rows[k] for k in keys]

    def table(self) -> pl.DataFrame:
        return pl.DataFrame([self.rows[k] for k in self.order])


def shortfall(row: dict[str, Any], search: Search) -> tuple[float, float, float]:
    """How far a candidate is from meeting the targets: the largest missing probability, then
    the largest gap of a target's mean to its goal (relative to the goal), then its cost."""
    from sim.outputs.targets import goal

    prob, gap = 0.0, 0.0
    for j, t in enumerate(search.targets):
        prob = max(prob, search.meta.probability - row[f"target{j}_share"])
        mean, g = row[f"target{j}_mean"], goal(t)
        if mean != mean:
            gap = math.inf
            continue
        scale = max(abs(g), 1e-9)
        miss = {">=": g - mean, "<=": mean - g}.get(t.op, abs(mean - g) - t.tolerance * t.prorate)
        gap = max(gap, max(miss, 0.0) / scale)
    return prob, gap, row["cost"]


# --------------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------------


@dataclass
class SearchResult:
    """What a search found: the archive, the front, the answer (or the closest setting)."""

    search: Search
    evaluations: pl.DataFrame
    front: pl.DataFrame
    reachable: bool
    chosen: dict[str, Any] | None  # the cheapest feasible candidate's row
    closest: dict[str, Any] | None  # when not reachable: the nearest miss
    checked: list[str]  # neighbours the refinement checked (one step cheaper in each lever)
    reference: dict[str, Any] | None  # the package as written, if inside the ranges
    seconds: float
    runs: pl.DataFrame  # per candidate and replication: cost, outcome, target values


def _initial(search: Search, population: int, seed: int) -> np.ndarray:
    """The first population: both corners of the box, the package as written, then a Latin
    hypercube over the grid."""
    from scipy.stats import qmc

    top = np.array([v.steps for v in search.variables])
    rows = [np.zeros_like(top), top.copy()]
    if all(a is not None for a in search.as_written):
        ref = [v.index(a) for v, a in zip(search.variables, search.as_written)]  # type: ignore[arg-type]
        if all(v.lo <= a <= v.hi for v, a in zip(search.variables, search.as_written)):  # type: ignore[operator]
            rows.append(np.array(ref))
    need = max(population - len(rows), 0)
    if need:
        lhs = qmc.LatinHypercube(d=len(top), seed=seed).random(need)
        rows += [np.rint(r * top).astype(int) for r in lhs]
    X = np.unique(np.array(rows, dtype=int), axis=0)
    return X


def run_search(search: Search, *, executor: Executor | None = None, progress: bool = True) -> SearchResult:
    """Search ``search``'s levers (NSGA-II, then refinement of the cheapest feasible setting)."""
    import warnings

    from pymoo.config import Config

    Config.warnings["not_compiled"] = False  # the pure-Python paths are fast enough for a few dozen candidates
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.termination import get_termination

    t0 = time.perf_counter()
    ev = Evaluator(search, executor)
    meta = search.meta
    top = np.array([v.steps for v in search.variables])

    def note(msg: str) -> None:
        if progress:
            import sys

            print(f"  [{time.perf_counter() - t0:6.0f} s] {msg}", file=sys.stderr, flush=True)

    class _Problem(Problem):
        def __init__(self):
            super().__init__(n_var=len(top), n_obj=2, n_ieq_constr=len(search.targets),
                             xl=np.zeros(len(top)), xu=top.astype(float), vtype=int)

        def _evaluate(self, X, out, *args, **kwargs):
            keys = [tuple(int(round(x)) for x in row) for row in X]
            rows = ev.evaluate(keys, "nsga2")
            out["F"] = np.array([[r["cost"], -r["outcome"]] for r in rows])
            out["G"] = np.array([[meta.probability - r[f"target{j}_share"]
                                  for j in range(len(search.targets))] for r in rows])

    X0 = _initial(search, meta.population, meta.optimiser_seed)
    ev.evaluate([tuple(int(x) for x in row) for row in X0], "initial")
    note(f"{len(ev.order)} initial settings evaluated; {sum(r['feasible'] for r in ev.rows.values())} meet the targets")
    pop = max(min(meta.population, int(np.prod(top + 1))), 2)
    algorithm = NSGA2(pop_size=pop, sampling=X0.astype(float),
                      crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
                      mutation=PM(eta=20, vtype=float, repair=RoundingRepair()),
                      eliminate_duplicates=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        algorithm.setup(_Problem(), termination=get_termination("n_gen", 10**6),
                        seed=meta.optimiser_seed, verbose=False)
        stalled = 0
        while len(ev.order) < meta.budget and algorithm.has_next() and stalled < 5:
            before = len(ev.order)
            algorithm.next()
            stalled = stalled + 1 if len(ev.order) == before else 0  # the grid is exhausted
            note(f"NSGA-II generation {algorithm.n_gen - 1}: {len(ev.order)} settings evaluated")

    checked = _refine(search, ev, top, note)
    rows = list(ev.rows.values())
    feasible = [r for r in rows if r["feasible"]]
    chosen = min(feasible, key=lambda r: (r["cost"], *[r[v.label] for v in search.variables])) \
        if feasible else None
    closest = None if feasible else min(rows, key=lambda r: shortfall(r, search))
    reference = None
    if all(a is not None for a in search.as_written):
        key = tuple(v.index(a) for v, a in zip(search.variables, search.as_written))  # type: ignore[arg-type]
        if all(v.value(k) == a for v, k, a in zip(search.variables, key, search.as_written)):
            reference = ev.rows.get(key)
    evaluations = ev.table()
    on_front = _front(evaluations)
    evaluations = evaluations.with_columns(pl.Series("on_front", on_front))
    runs = pl.concat([ev.runs[k] for k in ev.order], how="vertical_relaxed")
    evaluations = _per_settler(evaluations, runs, reference)
    front = evaluations.filter(pl.col("on_front")).sort("cost")
    if chosen is not None:
        chosen = evaluations.filter(pl.col("candidate") == chosen["candidate"]).row(0, named=True)
    if closest is not None:
        closest = evaluations.filter(pl.col("candidate") == closest["candidate"]).row(0, named=True)
    return SearchResult(search, evaluations, front, chosen is not None, chosen, closest, checked,
                        reference, time.perf_counter() - t0, runs)


def _refine(search: Search, ev: Evaluator, top: np.ndarray, note) -> list[str]:
    """Bisect each lever of the cheapest feasible setting towards the cheaper end of its range
    until one more step misses a target (or the range ends). Returns what was checked."""
    checked: list[str] = []
    for _ in range(3):  # passes over the levers until none moves
        feasible = [(k, r) for k, r in ev.rows.items() if r["feasible"]]
        if not feasible:
            return checked
        moved = False
        best_key, best = min(feasible, key=lambda kr: (kr[1]["cost"], kr[0]))
        for i, var in enumerate(search.variables):
            down = _cheaper_downwards(ev, i)
            edge = 0 if down else int(top[i])
            if best_key[i] == edge:
                continue
            good, bad = best_key[i], None
            same_line = [k for k in ev.rows if k[:i] == best_key[:i] and k[i + 1:] == best_key[i + 1:]
                         and (k[i] < good if down else k[i] > good)]
            misses = [k[i] for k in same_line if not ev.rows[k]["feasible"]]
            if misses:  # the nearest evaluated miss on the cheaper side brackets the answer
                bad = max(misses) if down else min(misses)
                good = min([k[i] for k in same_line if ev.rows[k]["feasible"] and
                            (k[i] > bad if down else k[i] < bad)] + [good], key=lambda g: abs(g - bad))
            else:
                at_edge = best_key[:i] + (edge,) + best_key[i + 1:]
                if ev.evaluate([at_edge], "refine")[0]["feasible"]:
                    good = edge
                else:
                    bad = edge
            while bad is not None and abs(good - bad) > 1:
                mid = (good + bad) // 2
                key = best_key[:i] + (mid,) + best_key[i + 1:]
                if ev.evaluate([key], "refine")[0]["feasible"]:
                    good = mid
                else:
                    bad = mid
            new_key = best_key[:i] + (good,) + best_key[i + 1:]
            if new_key != best_key and ev.rows[new_key]["cost"] <= best["cost"] + 1e-6 * abs(best["cost"]):
                best_key, best, moved = new_key, ev.rows[new_key], True
            note(f"refined {var.label}: {var.value(good):g} meets the targets"
                 + (f", {var.value(bad):g} does not" if bad is not None else " at the end of its range"))
        if not moved:
            break
    feasible = [(k, r) for k, r in ev.rows.items() if r["feasible"]]
    best_key, _ = min(feasible, key=lambda kr: (kr[1]["cost"], kr[0]))
    for i, var in enumerate(search.variables):
        down = _cheaper_downwards(ev, i)
        nb = best_key[i] - 1 if down else best_key[i] + 1
        if 0 <= nb <= top[i]:
            key = best_key[:i] + (nb,) + best_key[i + 1:]
            row = ev.evaluate([key], "refine")[0]
            checked.append(f"{var.label} = {var.value(nb):g} (one step {'lower' if down else 'higher'}): "
                           + ("meets the targets" if row["feasible"] else "misses a target"))
        else:
            checked.append(f"{var.label} = {var.value(best_key[i]):g} is the end of its range")
    return checked


def _cheaper_downwards(ev: Evaluator, i: int) -> bool:
    """Whether lowering lever ``i`` lowers the cost, judged on the candidates evaluated (rank
    correlation of the lever with the cost); True when they cannot tell."""
    keys = list(ev.rows)
    x = np.array([k[i] for k in keys], dtype=float)
    y = np.array([ev.rows[k]["cost"] for k in keys], dtype=float)
    if len(set(x)) < 2 or len(set(y)) < 2:
        return True
    from scipy.stats import spearmanr

    rho = spearmanr(x, y).statistic
    return not (rho == rho and rho < 0)


def _front(evaluations: pl.DataFrame) -> list[bool]:
    """Which candidates are non-dominated on (cost down, outcome up)."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    F = np.column_stack([evaluations["cost"].to_numpy(), -evaluations["outcome"].to_numpy()])
    F = np.nan_to_num(F, nan=np.inf)
    first = NonDominatedSorting().do(F, only_non_dominated_front=True)
    mask = np.zeros(len(F), dtype=bool)
    mask[first] = True
    return mask.tolist()


def _per_settler(evaluations: pl.DataFrame, runs: pl.DataFrame, reference: dict | None) -> pl.DataFrame:
    """Cost per additional unit of the outcome against the package as written, paired by
    replication: (mean cost difference) / (mean outcome difference)."""
    if reference is None:
        return evaluations.with_columns(pl.lit(None, dtype=pl.Float64).alias("cost_per_additional"))
    ref = runs.filter(pl.col("candidate") == reference["candidate"]).select(
        "replication", pl.col("cost").alias("c0"), pl.col("outcome").alias("o0"))
    d = (runs.join(ref, on="replication").group_by("candidate")
         .agg(((pl.col("cost") - pl.col("c0")).mean()).alias("dc"),
              ((pl.col("outcome") - pl.col("o0")).mean()).alias("do")))
    d = d.with_columns(pl.when(pl.col("do").abs() > 1e-9).then(pl.col("dc") / pl.col("do"))
                       .otherwise(None).alias("cost_per_additional")).select("candidate", "cost_per_additional")
    return evaluations.join(d, on="candidate", how="left")


# --------------------------------------------------------------------------------------------
# Files and console
# --------------------------------------------------------------------------------------------


def write_result(res: SearchResult, out: Path) -> None:
    """Write the evaluations, the front, the per-replication values and result.json."""
    from sim.configuration import default_behaviour_source
    from sim.experiments.sweep import (
        _uncertainty,
        atomic_write_parquet,
        atomic_write_text,
    )
    from sim.outputs.provenance import provenance

    s = res.search
    targets = {f"target{j}": {"label": target_label(t), "metric": t.metric, "op": t.op,
                              "goal": t.value * t.prorate, "tolerance": t.tolerance * t.prorate}
               for j, t in enumerate(s.targets)}
    atomic_write_parquet(res.evaluations, out / "evaluations.parquet")
    atomic_write_parquet(res.front, out / "front.parquet")
    atomic_write_parquet(res.runs, out / "runs.parquet")
    behaviour = s.behaviour or default_behaviour_source()
    result = {
        "search": s.name, "file": str(s.path), "package": str(s.package),
        "status": "found" if res.reachable else "not reachable in these ranges",
        "probability": s.meta.probability, "targets": targets,
        "cost": describe(s.meta.cost), "outcome": describe(s.meta.outcome),
        "levers": [{"name": v.label, "paths": v.paths, "range": [v.lo, v.hi], "step": v.step,
                    "as_written": a} for v, a in zip(s.variables, s.as_written)],
        "chosen": res.chosen, "closest": res.closest, "checked": res.checked, "notes": s.notes,
        "reference": res.reference, "evaluations": res.evaluations.height,
        "replications": s.meta.replications, "seed": s.meta.seed, "scale": s.meta.scale,
        "uncertainty": _uncertainty(Path(behaviour)), "seconds": round(res.seconds, 1),
        "provenance": provenance(behaviour, [*load_policy(s.package).files, s.path]),
    }
    atomic_write_text(json.dumps(result, indent=2, default=str, ensure_ascii=False), out / "result.json")


def _money(x: float | None) -> str:
    if x is None or x != x:
        return "n/a"
    return f"{x / 1e8:,.2f}亿"


def _num(x: float | None, metric: str) -> str:
    from sim.configuration import RATE_METRICS

    if x is None or x != x:
        return "n/a"
    return f"{100 * x:.1f}%" if metric in RATE_METRICS else f"{x:,.0f}"


def _setting(row: dict[str, Any], search: Search) -> str:
    return ", ".join(f"{v.label} = {row[v.label]:,.{0 if v.integer or float(row[v.label]).is_integer() else 3}f}"
                     for v in search.variables)


def _targets_line(row: dict[str, Any], search: Search) -> list[str]:
    out = []
    for j, t in enumerate(search.targets):
        out.append(f"    {target_label(t)}: met in {100 * row[f'target{j}_share']:.0f}% of replications "
                   f"(mean {_num(row[f'target{j}_mean'], t.metric)}; goal {t.op} "
                   f"{_num(t.value * t.prorate, t.metric)})")
    return out


def format_result(res: SearchResult) -> str:
    """The console answer: the cheapest setting or "not reachable", then the front."""
    s = res.search
    m = s.meta
    cost_name = describe(m.cost)
    lines = [f"Search '{s.name}': {load_policy(s.package).name}, {m.replications} replications per "
             f"setting (the same for every setting), targets to be met in at least "
             f"{100 * m.probability:.0f}% of them",
             *[f"  lever {v.label} in [{v.lo:g}, {v.hi:g}], step {v.step:g}"
               + (f" (linked: {', '.join(v.paths)})" if len(v.paths) > 1 else "")
               + (f"; the package has {a:g}" if a is not None else "")
               for v, a in zip(s.variables, s.as_written)],
             *[f"  note: {n}" for n in s.notes],
             f"{res.evaluations.height} settings evaluated in {res.seconds:.0f} s", ""]
    if res.reachable:
        row = res.chosen
        assert row is not None
        lines.append(f"Cheapest setting meeting the targets: {_setting(row, s)}")
        lines.append(f"    {cost_name}: {_money(row['cost'])} [{_money(row['cost_lo90'])}, "
                     f"{_money(row['cost_hi90'])}]" if "yuan" in m.cost else
                     f"    {cost_name}: {_num(row['cost'], m.cost)}")
        lines += _targets_line(row, s)
        lines += [f"    checked: {c}" for c in res.checked]
    else:
        row = res.closest
        assert row is not None
        lines.append(f"NOT REACHABLE in these ranges: no setting evaluated meets every target in "
                     f"{100 * m.probability:.0f}% of replications.")
        lines.append(f"Closest: {_setting(row, s)} ({cost_name} {_money(row['cost'])})")
        lines += _targets_line(row, s)
    if res.reference is not None:
        lines.append(f"The package as written: {_setting(res.reference, s)}, {cost_name} "
                     f"{_money(res.reference['cost'])}, {describe(m.outcome)} "
                     f"{_num(res.reference['outcome'], m.outcome)}")
    lines += ["", f"Pareto front ({cost_name} down, {describe(m.outcome)} up; 90% intervals across "
              "replications; 'meets' = every target met in the required share):"]
    head = [v.label for v in s.variables] + [cost_name, describe(m.outcome), "per additional", "meets"]
    width = [max(len(h), 12) for h in head]
    lines.append("  " + "  ".join(f"{h:>{w}}" for h, w in zip(head, width)))
    for r in res.front.iter_rows(named=True):
        cells = [f"{r[v.label]:,.6g}" for v in s.variables]
        cells += [_money(r["cost"]) if "yuan" in m.cost else _num(r["cost"], m.cost),
                  f"{_num(r['outcome'], m.outcome)} [{_num(r['outcome_lo90'], m.outcome)}, "
                  f"{_num(r['outcome_hi90'], m.outcome)}]",
                  f"{r['cost_per_additional']:,.0f}" if r["cost_per_additional"] is not None else "-",
                  "yes" if r["feasible"] else "no"]
        lines.append("  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, width)))
    if res.reference is not None:
        lines.append(f"  ('per additional': extra {m.cost} per extra unit of {describe(m.outcome)} "
                     "against the package as written, paired by replication)")
    return "\n".join(lines)
