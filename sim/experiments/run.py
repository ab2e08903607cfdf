"""Running a package: replications of :class:`~sim.engine.model.SettlementModel`, written to a folder.

:func:`run_package` loads the configs once, runs ``replications`` models (replication ``r``
uses root ``seed`` and ``r``: the same households and draws for every package), and writes the
outputs of :mod:`sim.outputs.tables` plus ``manifest.json``. Files are written into a temporary folder
that is renamed into place when complete, so a folder that exists is a finished run.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from sim.configuration import (
    Behaviour,
    BehaviourEnsemble,
    behaviour_for,
    load_behaviour_source,
    uncertainty_label,
    Policy,
    RegionFile,
    load_policy,
    load_region,
)
from sim.engine.model import SettlementModel
from sim.outputs.files import write_run
from sim.outputs.provenance import provenance
from sim.outputs.tables import frames
from sim.outputs.targets import attainment


@dataclass
class RunResult:
    """A finished run: its tables and where they were written (if anywhere)."""

    package: str
    tables: dict[str, pl.DataFrame]
    out: Path | None
    manifest: dict[str, Any]

    @property
    def metrics(self) -> pl.DataFrame:
        return self.tables["metrics"]


def resolve_inputs(policy: str | Path | Policy, region: str | Path | RegionFile | None,
                   behaviour: str | Path | Behaviour | BehaviourEnsemble | None
                   ) -> tuple[Policy, RegionFile, Behaviour | BehaviourEnsemble, dict[str, str]]:
    """Load (and validate) the three configs once, returning them and the paths used. The
    behaviour is one parameter set or a posterior ensemble (the default where it exists)."""
    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    paths = {"policy": str(pol.path)}
    if region is None:
        region = pol.region_path
        if region is None:
            from sim.configuration import ConfigError

            raise ConfigError(f"{pol.path}: key 'package.region': the package names no region; "
                              "pass --region REGION.toml")
    if not isinstance(region, RegionFile):
        paths["region"] = str(Path(region).resolve())
        region = load_region(region)
    else:
        paths["region"] = "(loaded region: " + region.region.name + ")"
    if not isinstance(behaviour, (Behaviour, BehaviourEnsemble)):
        from sim.configuration import default_behaviour_source

        bpath = Path(behaviour) if behaviour is not None else default_behaviour_source()
        paths["behaviour"] = str(bpath.resolve())
        behaviour = load_behaviour_source(bpath)
    elif isinstance(behaviour, BehaviourEnsemble):
        paths["behaviour"] = str(behaviour.path.resolve())
    return pol, region, behaviour, paths


def behaviour_manifest(source: Behaviour | BehaviourEnsemble, replications: int) -> dict[str, Any]:
    """What the behaviour of a run was, for the manifest and every table that shows bands:
    one set (bands are chance only) or posterior draws keyed by replication (behaviour and
    chance), with the draw and parameter values each replication used."""
    out: dict[str, Any] = {"uncertainty": uncertainty_label(source)}
    if isinstance(source, BehaviourEnsemble):
        out |= {"kind": "posterior", "file": str(source.path), "draws_in_file": len(source),
                "draws": [{"replication": r, "draw": source.index(r), **source.draws[source.index(r)]}
                          for r in range(replications)]}
    else:
        out["kind"] = "single"
    return out


def run_package(policy: str | Path | Policy, region: str | Path | RegionFile | None = None,
                behaviour: str | Path | Behaviour | None = None, *, seed: int = 0,
                replications: int = 1, start: int | None = None, end: int | None = None,
                scale: float | None = None, snapshot_years: tuple[int, ...] = (),
                out: str | Path | None = None, progress: bool = False,
                replace: bool = False) -> RunResult:
    """Run ``replications`` of a package on a region; write outputs to ``out`` if given."""
    t0 = time.perf_counter()
    pol, reg, beh, paths = resolve_inputs(policy, region, behaviour)
    reg_file = not isinstance(region, RegionFile)
    beh_file = not isinstance(behaviour, Behaviour)
    parts: dict[str, list[pl.DataFrame]] = {}
    timings = []
    model = None
    for r in range(replications):
        t1 = time.perf_counter()
        model = SettlementModel(pol, reg, beh, seed=seed, replication=r, start=start, end=end,
                                scale=scale, snapshot_years=snapshot_years).run()
        for name, df in frames(model).items():
            parts.setdefault(name, []).append(df)
        timings.append(time.perf_counter() - t1)
        if progress:
            print(f"  {pol.name}: replication {r + 1}/{replications} "
                  f"({timings[-1]:.1f} s)", file=sys.stderr, flush=True)
    tables = {name: pl.concat(dfs, how="vertical_relaxed") for name, dfs in parts.items()}
    assert model is not None
    from sim.configuration import own_region_name

    own_region = own_region_name(pol) == reg.region.name  # by region name, as everywhere
    if pol.targets and own_region:
        tables["targets"] = attainment(tables["metrics"], pol.targets, tables.get("towns"),
                                       tables.get("groups"))
    manifest = {
        "package": pol.name,
        "title": pol.meta.title,
        "files": {**paths, "policy_chain": [str(p) for p in pol.files]},
        "region": reg.region.name,
        "start": model.start,
        "end": model.end,
        "scale": model.scale,
        "households_simulated": model.hh.n,
        "seed": seed,
        "replications": replications,
        "replication_seeds": [[seed, r] for r in range(replications)],
        "targets_evaluated": "targets" in tables,
        "skipped_town_overrides": model.skipped_overrides,
        "snapshot_years": sorted(snapshot_years),
        "resolved": {
            "levers": pol.levers,
            "changes": [{"year": y, "levers": t} for y, t in pol.changes],
            "targets": [t.model_dump() for t in pol.targets],
            "region": reg.model_dump(),
            "behaviour": behaviour_for(beh, 0).model_dump(),
        },
        "behaviour": behaviour_manifest(beh, replications),
        "provenance": provenance(paths["behaviour"] if beh_file else None,
                                 [*pol.files, *([paths["region"]] if reg_file else [])]),
        "wall_time_s": round(time.perf_counter() - t0, 3),
        "replication_time_s": [round(t, 3) for t in timings],
    }
    out_path = write_run(tables, manifest, Path(out), replace) if out is not None else None
    return RunResult(pol.name, tables, out_path, manifest)

