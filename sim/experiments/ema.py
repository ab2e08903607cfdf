"""The model as an EMA Workbench model (issue 17 §5), so modellers can use EMA's experiments,
optimisation and scenario discovery directly::

    from ema_workbench import perform_experiments
    from sim.experiments.ema import ema_model

    model = ema_model("configs/policies/xuchang_2024.toml", replications=2, scale=40)
    experiments, outcomes = perform_experiments(model, scenarios=8, policies=4)

:func:`ema_model` returns an ``ema_workbench.ReplicatorModel`` whose

* **levers** are named from the package: each lever field the package sets, as
  ``group__field`` (``housing__purchase_subsidy_yuan``), one value applied wherever the package
  sets that field (its default, tiers and towns: the ``variable_name`` of the EMA parameter lists
  every path), over the plausible range of the lever catalogue (:mod:`sim.experiments.response`);
  or the levers given, as ``{"name": ..., "paths": [...], "range": [lo, hi]}`` (``integer``,
  ``values`` for a categorical lever);
* **uncertainties** are the behaviour parameters the posterior ensemble draws, over their prior
  ranges in ``configs/calibration/patterns.toml`` (or those given, ``{name: [lo, hi]}``); each
  run lays them over one behaviour set (by default the posterior mean, so the sampled values are
  the only behaviour uncertainty);
* **outcomes** are metrics as :func:`sim.experiments.evaluate.yearly` reads them (final year for
  rates, yearly mean for flows), averaged over the replications, and one ``target_<n>_share``
  per target the package states (in the order of the file): the share of replications meeting it;
* **replications** are replication numbers: replication r of every experiment uses the same
  households and draws (common random numbers), as everywhere in the product.

The model function runs in EMA's evaluators (sequential or multiprocessing); it is a plain
function over plain arguments, so it pickles.
"""

from __future__ import annotations

import re
import warnings
from functools import partial
from pathlib import Path
from typing import Any

from sim.configuration import ConfigError, load_policy

DEFAULT_OUTCOMES = ("resident_urbanization", "hukou_urbanization", "settled_persons", "public_cost_yuan")


def identifier(text: str) -> str:
    """A lever path or label as a Python identifier (EMA 3 requires them): ``.`` and other
    separators become ``__`` or ``_``."""
    name = re.sub(r"\W", "_", text.replace(".", "__"), flags=re.UNICODE)
    return name if name.isidentifier() else f"x_{name}"


def prior_ranges() -> dict[str, tuple[float, float]]:
    """The prior range of each behaviour parameter the pattern calibration fits (its uniform
    prior, ``configs/calibration/patterns.toml``)."""
    from sim.configuration import CONFIGS, read_toml

    raw = read_toml(CONFIGS / "calibration" / "patterns.toml")
    return {p["name"]: (float(p["range"][0]), float(p["range"][1])) for p in raw.get("parameters", [])}


def package_levers(policy) -> list[dict[str, Any]]:
    """Every lever field the package sets that the lever catalogue gives a plausible range, as
    one EMA lever applied region-wide (default, tiers and towns where the package sets it). Unit
    costs (the catalogue's "parameter" entries, e.g. ``fiscal.seat_cost_yuan``) are not a
    planner's choice and are left out."""
    from sim.configuration import PER_TOWN_GROUPS
    from sim.experiments.response import CATALOGUE, region_wide

    fields: list[str] = []
    for path, *_ in policy.lever_entries():
        if path.startswith("changes("):
            continue
        parts = path.split(".")
        name = f"{parts[0]}.{parts[-1]}" if parts[0] in PER_TOWN_GROUPS else path
        if name in CATALOGUE and CATALOGUE[name].kind == "lever" and name not in fields:  # not unit costs
            fields.append(name)
    out = []
    for name in fields:
        entry = CATALOGUE[name]
        paths = list(region_wide(policy, name, entry.values[0]))
        values = [v for v in entry.values if v is not None]
        if all(isinstance(v, bool) for v in values):
            out.append({"name": name, "paths": paths, "values": [False, True]})
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            out.append({"name": name, "paths": paths, "range": [min(values), max(values)],
                        "integer": all(isinstance(v, int) for v in values)})
        elif all(isinstance(v, str) for v in values):
            out.append({"name": name, "paths": paths, "values": list(dict.fromkeys(values))})
    return out


def _parameter(spec: dict[str, Any], where: str):
    """An EMA parameter from a lever spec (``range``: real or integer; ``values``: categorical
    or boolean), driving every one of its ``paths``."""
    from ema_workbench import BooleanParameter, CategoricalParameter, IntegerParameter, RealParameter

    paths = spec.get("paths") or [spec["path"]]
    name = identifier(spec.get("name") or paths[0])
    if "range" in spec:
        lo, hi = spec["range"]
        if not lo < hi:
            raise ConfigError(f"{where}: range must be [lo, hi] with lo < hi (got {spec['range']})")
        if spec.get("integer"):
            return IntegerParameter(name, int(lo), int(hi), variable_name=paths)
        return RealParameter(name, float(lo), float(hi), variable_name=paths)
    values = spec.get("values")
    if not values:
        raise ConfigError(f"{where}: give 'range' = [lo, hi] or 'values'")
    if sorted(map(str, values)) == ["False", "True"]:
        return BooleanParameter(name, variable_name=paths)
    return CategoricalParameter(name, values, variable_name=paths)


def run_experiment(config: dict[str, Any], **kwargs: Any) -> dict[str, float]:
    """The model function EMA calls: lever paths (with a ``.``), behaviour parameters and the
    replication number as keywords; returns the outcomes by name."""
    import json

    from sim.configuration import deep_merge
    from sim.experiments.evaluate import Job, simulate, yearly
    from sim.experiments.spec import lever_override
    from sim.outputs.targets import meets, simulated

    replication = int(kwargs.pop("replication", 0))
    levers: dict[str, Any] = {}
    behaviour: dict[str, float] = {}
    for key, value in kwargs.items():
        if "." in key:
            if hasattr(value, "item"):
                value = value.item()  # numpy scalars to plain values
            levers = deep_merge(levers, lever_override(key, value))
        else:
            behaviour[key] = float(value)
    tables = ("metrics", "towns", "groups") if config["targets"] else ("metrics",)
    job = Job(config["package"], config["region"], config["behaviour"], json.dumps(levers, sort_keys=True),
              json.dumps(behaviour, sort_keys=True), replication, config["seed"], config["start"],
              config["end"], config["scale"], tables)
    out = simulate(job)
    result = {m: float(yearly(out["metrics"], m)[0]) for m in config["outcomes"]}
    if config["targets"]:
        policy = load_policy(config["package"])
        for i, t in enumerate(policy.targets):
            v = simulated(out["metrics"], t, out.get("towns"), out.get("groups"))
            result[f"target_{i}_met"] = float(v is not None and v.len() > 0 and meets(float(v[0]), t))
    return result


def ema_model(package: str | Path, *, levers: list[dict[str, Any]] | None = None,
              uncertainties: dict[str, tuple[float, float]] | None = None,
              outcomes: tuple[str, ...] | list[str] = DEFAULT_OUTCOMES, region: str | Path | None = None,
              behaviour: str | Path | None = None, replications: int = 1, seed: int = 0,
              scale: float | None = None, start: int | None = None, end: int | None = None,
              name: str | None = None):
    """The package as an ``ema_workbench.ReplicatorModel`` (see the module docstring)."""
    with warnings.catch_warnings():  # EMA warns at import that an optional evaluator is missing
        warnings.simplefilter("ignore")
        from ema_workbench import RealParameter, ReplicatorModel, ScalarOutcome

    from sim.configuration import METRIC_NAMES, Behaviour, load_behaviour_source

    package = Path(package).resolve()
    policy = load_policy(package)
    if region is None and policy.region_path is None:
        raise ConfigError(f"{package}: key 'package.region': the package names no region; pass region=")
    for m in outcomes:
        if m not in METRIC_NAMES:
            raise ConfigError(f"ema_model: outcome '{m}' is not a metric; allowed: {', '.join(METRIC_NAMES)}")
    specs = levers if levers is not None else package_levers(policy)
    parameters = []
    for i, spec in enumerate(specs):
        where = f"ema_model levers[{i}] ({spec.get('name') or spec.get('path') or spec.get('paths')})"
        for path in spec.get("paths") or [spec.get("path")]:
            probe = spec["range"][0] if "range" in spec else (spec.get("values") or [None])[0]
            from sim.experiments.spec import lever_override

            try:
                policy.with_levers(lever_override(str(path), probe))
            except ConfigError as exc:
                raise ConfigError(f"{where}: path '{path}': {exc}") from None
        parameters.append(_parameter(spec, where))
    priors = prior_ranges()
    uncertain = uncertainties if uncertainties is not None else priors
    for key in uncertain:
        if key not in Behaviour.model_fields or key in ("source", "sources"):
            raise ConfigError(f"ema_model: uncertainty '{key}' is not a behaviour parameter; allowed: "
                              f"{', '.join(k for k in Behaviour.model_fields if k not in ('source', 'sources'))}")
    if behaviour is None:
        from sim.experiments.response import response_behaviour

        behaviour = response_behaviour()
    if behaviour is not None:
        load_behaviour_source(behaviour)  # refuse a bad file before EMA runs anything
    config = {"package": str(package), "region": str(Path(region).resolve()) if region else None,
              "behaviour": str(Path(behaviour).resolve()) if behaviour else None, "seed": seed,
              "start": start, "end": end, "scale": scale, "outcomes": list(outcomes),
              "targets": bool(policy.targets)}
    model = ReplicatorModel(identifier(name or policy.name), function=partial(run_experiment, config))
    model.uncertainties = [RealParameter(k, float(lo), float(hi)) for k, (lo, hi) in uncertain.items()]
    model.levers = parameters
    import numpy as np

    # each outcome is the mean over the replications; a target's is the share of them meeting it
    model.outcomes = [ScalarOutcome(m, function=np.mean) for m in outcomes] + \
        [ScalarOutcome(f"target_{i}_share", variable_name=f"target_{i}_met", function=np.mean)
         for i in range(len(policy.targets))]
    model.replications = [{"replication": r} for r in range(replications)]
    return model
