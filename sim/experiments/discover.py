"""Scenario discovery (issue 17 §4), ``sim discover EXPERIMENT.toml``: under which assumptions
does a package miss a target?

The experiment is an ordinary sweep (:mod:`sim.experiments.spec`) that varies behaviour (sampled
``[[design.behaviour]]`` parameters, and the posterior draw each replication uses) and, if
wanted, levers, with a ``[discover]`` table naming the target::

    [discover]
    package = "xuchang_2024"       # whose target (default: the first package that states one)
    target = "resident urbanisation 64% by 2025"   # label or metric (default: its first target
                                   # that is not met by construction)
    value = 0.60                   # optional: test another goal on the same definition
    source = "why that goal"       #   (with `value`)
    peel_alpha = 0.05              # share of cases PRIM peels off per step
    density = 0.8                  # the chosen box: the largest coverage with at least this density

Every run (design point x replication) is one case. Its inputs are the design's factor values
and the behaviour parameters of its posterior draw (those that vary); its outcome is whether the
run misses the target. PRIM (EMA Workbench's ``prim.Prim``) peels boxes of inputs that hold ever
more of the misses: *coverage* is the share of all misses inside a box, *density* the share of
cases inside it that miss. The peeling trajectory is the trade-off between the two; the chosen
box is the one with the largest coverage among those at least ``density`` dense (of equal
coverage, the denser; the densest box if none reaches ``density``), and its restricted
dimensions say when the package fails.

Reads tables only (a sweep folder), never the model.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import polars as pl
from pydantic import Field

from sim.configuration import RATE_METRICS, ConfigError, Strict


class DiscoverSpec(Strict):
    """The ``[discover]`` table of an experiment."""

    package: str | None = None
    target: str | None = None
    value: float | None = None  # a goal to test instead of the document's (e.g. a lower level)
    source: str | None = None  # why that goal (required with `value`)
    peel_alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    density: Annotated[float, Field(gt=0, le=1)] = 0.8
    mass_min: Annotated[float, Field(gt=0, lt=1)] = 0.05


@dataclass
class Discovery:
    """What PRIM found: the cases, the peeling trajectory and the chosen box."""

    package: str
    target: str
    cases: pl.DataFrame  # one row per run: inputs, the target's value, missed
    peeling: pl.DataFrame  # per step: coverage, density, mass, restricted dimensions
    chosen: int  # the step of the chosen box
    limits: pl.DataFrame  # the chosen box's restricted dimensions: min, max (or the categories kept)
    misses: int
    total: int

    @property
    def box(self) -> dict[str, Any]:
        row = self.peeling.row(self.chosen, named=True)
        return {"step": self.chosen, "coverage": row["coverage"], "density": row["density"],
                "mass": row["mass"], "restricted": self.limits.to_dicts()}


def choose_target(exp, spec: DiscoverSpec):
    """The package and target the discovery is about, refusing unknown names with the allowed ones."""
    from sim.configuration import load_policy

    policies = [load_policy(p) for p in exp.packages]
    key = f"{exp.path}: key 'discover.package'"
    if spec.package is not None:
        pols = [p for p in policies if p.name == spec.package]
        if not pols:
            raise ConfigError(f"{key}: '{spec.package}' is not a package of this experiment; allowed: "
                              f"{', '.join(p.name for p in policies)}")
    else:
        pols = [p for p in policies if p.targets]
        if not pols:
            raise ConfigError(f"{key}: no package of this experiment states a target")
    pol = pols[0]
    if not pol.targets:
        raise ConfigError(f"{key}: {pol.name} states no targets")
    if spec.target is None:
        ts = [t for t in pol.targets if not t.by_construction] or pol.targets
        target = ts[0]
    else:
        hits = [t for t in pol.targets if t.label == spec.target] or \
            [t for t in pol.targets if t.metric == spec.target]
        if not hits:
            allowed = "; ".join(f"'{t.label or t.metric}'" for t in pol.targets)
            raise ConfigError(f"{exp.path}: key 'discover.target': {pol.name} has no target "
                              f"'{spec.target}'; allowed (label or metric): {allowed}")
        target = hits[0]
    if spec.value is not None:  # the same definition, another goal
        if not spec.source:
            raise ConfigError(f"{exp.path}: key 'discover.value': say why this goal in "
                              "discover.source")
        goal = f"{100 * spec.value:.1f}%" if target.metric in RATE_METRICS else f"{spec.value:,g}"
        target = target.model_copy(update={"value": spec.value, "label": (
            f"{target.metric} {target.op} {goal}, the discovery's goal (the document's: "
            f"{target.label or target.value})")})
    return pol, target


def cases(out: Path, exp, policy, target) -> pl.DataFrame:
    """One row per finished run of ``policy`` in the sweep folder ``out``: the design's factor
    values, the behaviour parameters of the run's posterior draw (those that vary), the target's
    simulated value and whether it was missed."""
    from sim.experiments.evaluate import behaviour_values, drawn_parameters
    from sim.experiments.sweep import read_output
    from sim.outputs.targets import meets, simulated

    label = policy.name
    metrics = read_output(out, "metrics").filter(pl.col("package") == label)
    if metrics.height == 0:
        raise ConfigError(f"{exp.path}: no finished runs of {label} in {out}")
    need = "towns" if target.town else "groups" if target.group else None
    other = None
    if need is not None:
        if need not in exp.meta.outputs:
            raise ConfigError(f"{exp.path}: key 'experiment.outputs': the target needs '{need}'; add it")
        other = read_output(out, need).filter(pl.col("package") == label)
    design = pl.read_parquet(out / "design.parquet").filter(pl.col("package") == label)
    xcols = [c for c in design.columns if c.startswith("x.")]
    behaviour = str(exp.behaviour) if exp.behaviour else None
    drawn = drawn_parameters(behaviour)
    rows = []
    for (point, rep), part in metrics.group_by(["point", "replication"], maintain_order=True):
        sub = other.filter((pl.col("point") == point) & (pl.col("replication") == rep)) if other is not None else None
        v = simulated(part, target, sub if target.town else None, sub if target.group else None)
        if v is None or v.len() == 0:
            raise ConfigError(f"{exp.path}: the runs do not cover the target's years ({target.year}"
                              f"{'-' + str(target.to_year) if target.to_year else ''}); set experiment.start/end")
        value = float(v[0])
        x = design.filter(pl.col("point") == point).select(xcols).row(0, named=True)
        rows.append({"point": int(point), "replication": int(rep),
                     **{k[2:]: val for k, val in x.items()},
                     **{f"draw.{k}": val for k, val in behaviour_values(behaviour, int(rep), drawn).items()},
                     "value": value, "missed": not meets(value, target)})
    df = pl.DataFrame(rows)
    varying = [c for c in df.columns if c.startswith("draw.") and df[c].n_unique() > 1]
    keep = [c for c in df.columns if not c.startswith("draw.") or c in varying]
    return df.select(keep).sort("point", "replication")


def discover(table: pl.DataFrame, inputs: list[str], spec: DiscoverSpec) -> tuple[pl.DataFrame, int, pl.DataFrame]:
    """PRIM on ``table`` (``inputs`` as x, ``missed`` as y): the peeling trajectory, the chosen
    step and the chosen box's restricted dimensions."""
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

    x = table.select(inputs).to_pandas()
    for c in x.columns:  # PRIM takes numbers or categories
        if x[c].dtype == bool or x[c].dtype == object:
            x[c] = pd.Categorical(x[c].astype(str))
    y = table["missed"].to_numpy().astype(bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = prim.Prim(x, y, peel_alpha=spec.peel_alpha, mass_min=spec.mass_min)
        box = p.find_box()
    traj = box.peeling_trajectory
    steps = []
    for i in range(len(traj)):
        stats, lims = box.inspect(i, style="data")[0]
        steps.append({"step": i, "coverage": float(stats["coverage"]), "density": float(stats["density"]),
                      "mass": float(stats["mass"]), "restricted": len(lims.index),
                      "dimensions": ", ".join(map(str, lims.index))})
    peeling = pl.DataFrame(steps)
    dense = peeling.filter(pl.col("density") >= spec.density - 1e-12)
    chosen = int(dense.sort(["coverage", "density", "step"], descending=[True, True, False])["step"][0]) \
        if dense.height \
        else int(peeling.sort(["density", "step"], descending=[True, False])["step"][0])
    stats, lims = box.inspect(chosen, style="data")[0]
    rows = []
    for dim in lims.index:
        lo, hi = lims.loc[dim].iloc[0], lims.loc[dim].iloc[1]
        full = box.box_lims[0][dim]
        if isinstance(lo, set) or isinstance(hi, set):
            kept = sorted(map(str, lo if isinstance(lo, set) else hi))
            rows.append({"dimension": str(dim), "min": None, "max": None, "categories": ", ".join(kept),
                         "range_min": None, "range_max": None})
        else:
            rows.append({"dimension": str(dim), "min": float(lo), "max": float(hi), "categories": None,
                         "range_min": float(full.iloc[0]), "range_max": float(full.iloc[1])})
    schema = {"dimension": pl.String, "min": pl.Float64, "max": pl.Float64, "categories": pl.String,
              "range_min": pl.Float64, "range_max": pl.Float64}
    return peeling, chosen, pl.DataFrame(rows, schema=schema)


def run_discovery(exp, out: Path) -> Discovery:
    """Scenario discovery over the finished sweep of ``exp`` in ``out``."""
    from sim.experiments.search import target_label

    spec = exp.discover or DiscoverSpec()
    policy, target = choose_target(exp, spec)
    table = cases(out, exp, policy, target)
    inputs = [c for c in table.columns if c not in ("point", "replication", "value", "missed")
              and table[c].n_unique() > 1]
    if not inputs:
        raise ConfigError(f"{exp.path}: key 'design': nothing varies between runs; vary behaviour "
                          "([[design.behaviour]] or a posterior ensemble) or levers")
    misses = int(table["missed"].sum())
    if misses == 0 or misses == table.height:
        peeling = pl.DataFrame(schema={"step": pl.Int64, "coverage": pl.Float64, "density": pl.Float64,
                                       "mass": pl.Float64, "restricted": pl.Int64, "dimensions": pl.String})
        return Discovery(policy.name, target_label(target), table, peeling, -1,
                         pl.DataFrame(schema={"dimension": pl.String}), misses, table.height)
    peeling, chosen, limits = discover(table, inputs, spec)
    return Discovery(policy.name, target_label(target), table, peeling, chosen, limits, misses, table.height)


def write_discovery(d: Discovery, folder: Path) -> None:
    """cases.parquet, peeling.parquet, box.json (and box_limits.parquet) under ``folder``."""
    from sim.experiments.sweep import atomic_write_parquet, atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(d.cases, folder / "cases.parquet")
    atomic_write_parquet(d.peeling, folder / "peeling.parquet")
    atomic_write_parquet(d.limits, folder / "box_limits.parquet")
    body = {"package": d.package, "target": d.target, "cases": d.total, "misses": d.misses,
            "box": d.box if d.chosen >= 0 else None}
    atomic_write_text(json.dumps(body, indent=2, ensure_ascii=False, default=str), folder / "box.json")


def format_discovery(d: Discovery) -> str:
    """The console summary: how often the target is missed, the trade-off, the chosen box."""
    lines = [f"Scenario discovery: {d.package} misses '{d.target}' in {d.misses} of {d.total} runs"]
    if d.chosen < 0:
        lines.append("  (it is " + ("never" if d.misses == 0 else "always") +
                     " missed: there is no box to find)")
        return "\n".join(lines)
    lines.append("Peeling trajectory (coverage: share of the misses inside the box; density: share "
                 "of the box's runs that miss):")
    lines.append(f"  {'step':>4} {'coverage':>9} {'density':>8} {'mass':>6}  restricted")
    for r in d.peeling.iter_rows(named=True):
        mark = "  <- chosen" if r["step"] == d.chosen else ""
        lines.append(f"  {r['step']:>4} {r['coverage']:>9.2f} {r['density']:>8.2f} {r['mass']:>6.2f}  "
                     f"{r['dimensions'] or '-'}{mark}")
    b = d.box
    lines.append(f"Chosen box (step {b['step']}): coverage {b['coverage']:.2f}, density {b['density']:.2f}, "
                 f"{100 * b['mass']:.0f}% of runs; the package misses the target when")
    for r in b["restricted"]:
        if r.get("categories"):
            lines.append(f"    {r['dimension']} in {{{r['categories']}}}")
        else:
            lines.append(f"    {r['dimension']} in [{r['min']:.4g}, {r['max']:.4g}] "
                         f"(of [{r['range_min']:.4g}, {r['range_max']:.4g}] sampled)")
    return "\n".join(lines)
