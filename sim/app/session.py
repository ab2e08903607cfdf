"""What the planner's app does, apart from drawing it: list the regions and packages, check an
uploaded package as ``sim check`` does, run a variant against its baseline on common random
numbers, summarise the run, and save the variant as a package file beside its run folder.

Runs go through :func:`sim.experiments.run.run_package`, one call per package with the same seed,
and are written as ``sim run BASELINE VARIANT`` writes them (one sub-folder per package and
``packages.json``, the baseline first), so ``sim report FOLDER`` and the notebook open them.
The saved variant ``extends`` the original package and sets only the changed levers, each with a
source saying it is the planner's choice; running it from the command line with the seed, scale
and replications the app shows gives the same outputs (``tests/test_app.py``).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from sim.configuration import (
    POLICIES,
    PROJECT_ROOT,
    ConfigError,
    Policy,
    RegionFile,
    check_policy_against_region,
    load_policy,
    load_region,
    own_region_name,
    read_toml,
)
from sim.configuration.settings import MIN_AGENTS, check_years
from sim.errors import SimError
from sim.experiments.compare import paired_comparison
from sim.experiments.run import run_package
from sim.report.viewer import Results, load

REGIONS = PROJECT_ROOT / "configs" / "regions"
RESULTS = PROJECT_ROOT / "results" / "app"
"""Where the app writes run folders and saved variants (``results/app/NAME-STAMP/``)."""

COARSE_AGENTS = 4000
"""Agents of a coarse run: the scale is chosen so the region has about this many (at least its
default scale). At 4,000 agents a decade of a seed region runs in about 0.2-0.5 s a replication
on one core of a quiet machine, so the coarse run's two packages x :data:`COARSE_REPLICATIONS`
take a few seconds."""

COARSE_REPLICATIONS = 4
CONFIRM_REPLICATIONS = 10
"""A confirm run: the package's default scale (the region's ``default_scale``) and this many
replications, each with its own posterior draw where the posterior exists."""

PLANNER = "planner's choice"


# --------------------------------------------------------------------------------------------
# Choosing
# --------------------------------------------------------------------------------------------


def regions() -> dict[str, Path]:
    """Region name -> file, for every region file in ``configs/regions``."""
    out = {}
    for path in sorted(REGIONS.glob("*.toml")):
        name = read_toml(path).get("region", {}).get("name")
        if name:
            out[name] = path
    return out


def packages(region: str | None = None) -> dict[str, Path]:
    """Package name -> file, for every package in ``configs/policies`` written for ``region``
    (all packages if ``region`` is None)."""
    out = {}
    for path in sorted(POLICIES.glob("*.toml")):
        try:
            pol = load_policy(path)
        except SimError:  # a broken file is `sim check`'s to report, not the menu's
            continue
        if region is None or own_region_name(pol) == region:
            out[pol.name] = path
    return out


def default_baseline(policy: Policy) -> Path | None:
    """The baseline a package is compared with by default: its counterfactual, named
    ``<region>_pre_reform`` (the counterfactuals' title says "counterfactual"); for a
    counterfactual, the region's reform package; for an uploaded or saved variant, the baseline
    of the package it extends."""
    from sim.report.packages import counterpart

    for path in reversed(policy.files):  # the package itself, then what it extends
        try:
            other = counterpart(load_policy(path))
        except SimError:
            continue
        if other is not None and other.path != policy.path:
            return other.path
    return None


def check_package(path: str | Path) -> Policy:
    """Validate a package as ``sim check`` does (``sim.cli.check_file``, the package branch): the
    file and its ``extends`` chain, its region, town overrides against the region, the horizon,
    and every year's levers resolved as a run resolves them. Returns the loaded package."""
    from sim.engine.levers import resolve
    from sim.world.places import build_places

    path = Path(path)
    raw = read_toml(path)
    if "package" not in raw:
        raise ConfigError(f"{path}: not a policy package (it has no [package] table)")
    pol = load_policy(path)
    if pol.region_path is None:
        raise ConfigError(f"{path}: key 'package.region': the app needs a package that names its "
                          "region (or extends one that does)")
    region = load_region(pol.region_path)
    check_policy_against_region(pol, region)
    base = region.region.base_year
    start = pol.meta.start or base + 1
    end = pol.meta.end or start + 9
    check_years(start, end, base, f"{path}: key 'package.start'/'package.end', region "
                f"'{region.region.name}'", error=ConfigError)
    places = build_places(region)
    for year in range(start, end + 1):
        resolve(pol, places, year)
    return pol


def upload_folder() -> Path:
    """A folder where an uploaded package resolves relative paths as if it were in
    ``configs/policies``: links to the regions and to every package sit beside it."""
    folder = Path(tempfile.mkdtemp(prefix="sim-app-upload-"))
    (folder / "policies").mkdir()
    (folder / "regions").symlink_to(REGIONS, target_is_directory=True)
    for path in POLICIES.glob("*.toml"):
        (folder / "policies" / path.name).symlink_to(path)
    return folder / "policies"


def accept_upload(name: str, data: bytes) -> Policy:
    """Check an uploaded package file (see :func:`check_package`); its relative ``extends`` and
    ``region`` resolve as if it were saved in ``configs/policies``."""
    safe = Path(name).name
    if not safe.endswith(".toml"):
        raise ConfigError(f"{safe}: a package file ends in .toml")
    target = upload_folder() / safe
    if target.exists():  # never overwrite the link to a shipped package
        target = target.with_name(f"uploaded_{safe}")
    target.write_bytes(data)
    return check_package(target)


def coarse_scale(region: RegionFile) -> float:
    """Households per agent for a coarse run: about :data:`COARSE_AGENTS` agents, never finer
    than the region's default scale, never so coarse that fewer than the engine's minimum remain."""
    households = region.region.population / region.region.mean_household_size
    scale = max(region.region.default_scale, households / COARSE_AGENTS)
    return float(round(min(scale, households / MIN_AGENTS), 1))


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def variant_name(policy: Policy, edits: dict[str, Any]) -> str:
    """A name for the package with ``edits``: the original's, plus a short hash of the edits."""
    digest = hashlib.sha256(json.dumps(edits, sort_keys=True, default=str).encode()).hexdigest()[:6]
    return f"{policy.name}_planner_{digest}"


@dataclass
class RunSettings:
    """How a pair is run: the seed, households per agent (None: the region's default scale) and
    replications; ``label`` says which kind of run it is (coarse or confirm)."""

    label: str
    scale: float | None
    replications: int
    seed: int = 0
    threads: int | None = None  # numba threads of the run (None: all)


def settings_for(kind: str, region: RegionFile) -> RunSettings:
    """The coarse run (quick, at :func:`coarse_scale`) or the confirm run (the region's default
    scale, :data:`CONFIRM_REPLICATIONS` replications, a posterior draw each)."""
    if kind == "coarse":
        # one thread: at a few thousand agents the compiled passes' parallel regions cost more
        # in synchronisation than they save (measured on 2 busy cores: 0.1-0.2 s a Dehong
        # replication on one thread, 1-5 s on two)
        return RunSettings("coarse", coarse_scale(region), COARSE_REPLICATIONS, threads=1)
    if kind == "confirm":
        return RunSettings("confirm", None, CONFIRM_REPLICATIONS)
    raise ValueError(f"run kind '{kind}': allowed: coarse, confirm")


class _Lines(io.TextIOBase):
    """A text stream that passes everything on to ``target`` and hands each complete line to
    ``on_line``."""

    def __init__(self, target: Any, on_line: Callable[[str], None]):
        self.target, self.on_line, self.pending = target, on_line, ""

    def write(self, text: str) -> int:
        self.target.write(text)
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self.on_line(line)
        return len(text)

    def flush(self) -> None:
        self.target.flush()


@contextmanager
def replication_lines(package: str, tell: Callable[[int, int], None]):
    """Report each finished replication of ``package`` to ``tell(done, total)``, read from the
    progress lines ``run_package(progress=True)`` writes to standard error (``  NAME:
    replication R/N (T s)``), which still reach the console. (A callback argument of
    ``run_package`` would be tidier; until it has one, its own lines are the signal.)"""
    pattern = re.compile(rf"^\s*{re.escape(package)}: replication (\d+)/(\d+)")

    def on_line(line: str) -> None:
        match = pattern.match(line)
        if match:
            tell(int(match.group(1)), int(match.group(2)))

    before = sys.stderr
    sys.stderr = _Lines(before, on_line)
    try:
        yield
    finally:
        sys.stderr = before


@contextmanager
def numba_threads(n: int | None):
    """Run the compiled passes on ``n`` threads in this thread (numba's setting is per thread),
    restored afterwards; ``None`` leaves numba's default (all cores)."""
    if n is None:
        yield
        return
    try:
        import numba
    except ImportError:  # the plain-Python engine has no threads to set
        yield
        return
    before = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def run_pair(baseline: Policy, variant: Policy, settings: RunSettings, out: Path,
             progress: Callable[[float, str], None] | None = None) -> Path:
    """Run ``baseline`` and ``variant`` on the variant's region with the same seed and
    replications (common random numbers), written to ``out`` as ``sim run`` writes two packages
    (the baseline first; a package's earlier run there is replaced). ``progress(fraction,
    message)`` is told before each package and at the end. Returns ``out``."""
    region = variant.region_path
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = [baseline.name, variant.name]
    if names[0] == names[1]:
        names[1] += "_2"
    t0 = time.perf_counter()
    with numba_threads(settings.threads):
        for i, (pol, name) in enumerate(zip((baseline, variant), names)):
            role = "baseline" if i == 0 else "variant"

            def tell(done: int, total: int, i: int = i, pol: Policy = pol, role: str = role) -> None:
                if progress:
                    progress((i + done / total) / 2, f"{pol.name} ({role}): replication {done} of "
                             f"{total} done - {time.perf_counter() - t0:.1f} s")

            tell(0, settings.replications)
            with replication_lines(pol.name, tell):
                run_package(pol, region, seed=settings.seed, replications=settings.replications,
                            scale=settings.scale, out=out / name, replace=True, progress=True)
    (out / "packages.json").write_text(json.dumps(names))
    if progress:
        progress(1.0, f"done in {time.perf_counter() - t0:.1f} s")
    return out


# --------------------------------------------------------------------------------------------
# The summary
# --------------------------------------------------------------------------------------------


@dataclass
class Summary:
    """What the app shows of a finished pair: headline rows (metric, baseline, variant, paired
    difference, each with its 90% interval), target attainment of the variant, the groups in the
    final year, cost per additional settler, and what the bands cover."""

    folder: Path
    results: Results
    headline: pl.DataFrame
    targets: pl.DataFrame | None
    groups: pl.DataFrame | None
    cost: dict[str, float] = field(default_factory=dict)
    uncertainty: str = ""
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def baseline(self) -> str:
        return self.results.labels[0]

    @property
    def variant(self) -> str:
        return self.results.labels[-1]


HEADLINE = ("resident_urbanization", "hukou_urbanization", "settled_persons", "settlement_intention",
            "eligible_share", "public_cost_yuan")
"""The comparison rows the app shows first (the rest are one click away)."""


def _per_replication_sum(metrics: pl.DataFrame, label: str, column: str) -> pl.DataFrame:
    y0 = metrics["year"].min()
    return (metrics.filter((pl.col("label") == label) & (pl.col("year") > y0))
            .group_by("replication").agg(pl.col(column).sum().alias(column)))


def cost_per_settler(res: Results) -> dict[str, float]:
    """Public cost and settlers over the simulated years, variant minus baseline, replication by
    replication (common random numbers), and their ratio: the extra cost per additional settler.
    The ratio is NaN when the variant adds no settlers on average."""
    base, var = res.labels[0], res.labels[-1]
    parts = {}
    for col in ("public_cost_yuan", "settled_persons"):
        b = _per_replication_sum(res.metrics, base, col).rename({col: "b"})
        v = _per_replication_sum(res.metrics, var, col).rename({col: "v"})
        d = v.join(b, on="replication")
        parts[col] = (float(d["v"].mean()), float(d["b"].mean()), float((d["v"] - d["b"]).mean()))
    extra_cost, extra_settlers = parts["public_cost_yuan"][2], parts["settled_persons"][2]
    return {"cost_variant": parts["public_cost_yuan"][0], "cost_baseline": parts["public_cost_yuan"][1],
            "extra_cost": extra_cost, "settled_variant": parts["settled_persons"][0],
            "settled_baseline": parts["settled_persons"][1], "extra_settlers": extra_settlers,
            "cost_per_extra_settler": extra_cost / extra_settlers if extra_settlers > 0.5 else math.nan}


def summarise(folder: str | Path) -> Summary:
    """Read a pair's folder (:func:`run_pair`) into a :class:`Summary`."""
    from sim.report.viewer import uncertainty

    res = load(folder)
    table = paired_comparison(res.metrics.with_columns(pl.col("label").alias("package")), res.labels)
    groups = None
    if res.groups is not None:
        last = res.groups["year"].max()
        groups = (res.groups.filter(pl.col("year") == last)
                  .group_by("label", "group")
                  .agg(pl.col("eligible_share").mean(), pl.col("intention").mean(),
                       pl.col("settlement_rate").mean(), pl.col("residents_households").mean())
                  .sort("group", "label"))
    targets = res.targets.get(res.labels[-1])
    manifest = res.manifest
    settings = {k: manifest.get(k) for k in ("seed", "scale", "replications", "start", "end",
                                             "households_simulated", "region")}
    return Summary(Path(folder), res, table, targets, groups, cost_per_settler(res),
                   uncertainty(manifest), settings)


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------


def variant_document(policy: Policy, edits: dict[str, Any], name: str, file: Path,
                     when: str | None = None) -> dict[str, Any]:
    """The TOML document of a variant saved at ``file``: ``extends`` the original (a path
    relative to ``file``) and sets each edited lever region-wide (:func:`sim.app.levers.override_tree`),
    citing for every value the planner's choice and what the package had."""
    from sim.app.levers import catalogue, package_value, text
    from sim.experiments.response import region_wide

    when = when or time.strftime("%Y-%m-%d")
    specs = {s.name: s for s in catalogue()}
    levers: dict[str, Any] = {}
    for lever, value in edits.items():
        had = package_value(policy, specs[lever])
        cite = (f"{PLANNER} (sim app, {when}); {policy.name} had {text(had.value)}"
                + (f" (and {'; '.join(had.elsewhere)})" if had.elsewhere else ""))
        for path, v in region_wide(policy, lever, value).items():
            *parents, leaf = path.split(".")
            node = levers
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = v
            node.setdefault("sources", {})[leaf] = cite
    return {"package": {
        "name": name,
        "title": f"{policy.meta.title or policy.name}, with the planner's changes",
        "extends": os.path.relpath(policy.path, file.parent),
        "source": f"{PLANNER}: a variant of {policy.name} made in `sim app` on {when}",
    }, "levers": levers}


def save_variant(policy: Policy, edits: dict[str, Any], folder: Path) -> Path:
    """Write the variant of ``policy`` with ``edits`` into ``folder`` as ``NAME.toml`` and check
    it as ``sim check`` would. Returns its path."""
    import tomli_w

    name = variant_name(policy, edits)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    doc = variant_document(policy, edits, name, path)
    header = (f"# A planner's variant of {policy.name} ({policy.path}), saved by `sim app`.\n"
              "# It extends the original and sets only the changed levers, region-wide (every tier\n"
              "# and town where the original sets them), each cited as the planner's choice.\n\n")
    path.write_text(header + tomli_w.dumps(doc))
    check_package(path)
    return path


def command_line(baseline: Policy, variant_path: Path, settings: dict[str, Any], out: Path) -> str:
    """The ``sim run`` command that reproduces a pair from the saved variant."""
    parts = ["sim", "run", _rel(baseline.path), _rel(variant_path), "--seed", str(settings["seed"]),
             "--replications", str(settings["replications"]), "--scale", f"{settings['scale']:g}",
             "--out", _rel(out)]
    return " ".join(parts)


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def new_folder(name: str, kind: str) -> Path:
    """A fresh run folder ``results/app/NAME-KIND-STAMP``."""
    return RESULTS / f"{name}-{kind}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_variant(policy: Policy, baseline: Policy, edits: dict[str, Any], kind: str = "coarse",
                progress: Callable[[float, str], None] | None = None,
                folder: Path | None = None, settings: RunSettings | None = None) -> tuple[Path, Path]:
    """Save the variant of ``policy`` with ``edits`` (typed values, already validated) into a new
    run folder, then run it against ``baseline`` there (:func:`run_pair`). The variant that runs
    is the saved file, so ``sim run`` of that file reproduces the run. Returns (run folder,
    variant file). ``settings`` replaces the ``kind``'s (tests run smaller)."""
    region = load_region(policy.region_path)
    settings = settings or settings_for(kind, region)
    folder = folder or new_folder(variant_name(policy, edits), kind)
    variant_path = save_variant(policy, edits, folder)
    run_pair(baseline, load_policy(variant_path), settings, folder, progress)
    return folder, variant_path
