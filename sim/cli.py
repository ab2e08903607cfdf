"""Command line: ``sim run`` runs packages and prints a summary; ``sim check`` validates configs.

    sim run POLICY.toml [POLICY.toml ...] [--region REGION.toml] [--start Y --end Y]
            [--seed N] [--replications R] [--scale K] [--snapshot-years Y ...] [--out DIR]
    sim targets POLICY.toml [--region REGION.toml] [--replications R]
    sim sweep EXPERIMENT.toml [--workers N] [--scheduler ADDRESS] [--resume] [--out DIR]
    sim compare POLICY.toml POLICY.toml ... [--region REGION.toml] [--replications R]
    sim sensitivity EXPERIMENT.toml [--workers N] [--scheduler ADDRESS]
    sim report RESULTS_DIR [--out DIR] [--baseline PACKAGE]
    sim calibrate [SPEC.toml] [--budget N] [--out BEHAVIOUR.toml]
    sim calibrate --abc [PATTERNS.toml] [--last-year Y] [--scheduler tcp://HOST:PORT]
    sim check FILE.toml [FILE.toml ...]
    sim response [--regions R ...] [--levers L ...] [--replications N] [--scale S] [--out FILE.md]
    sim levers POLICY.toml [--sources]
    sim search SEARCH.toml [--workers N] [--scheduler ADDRESS] [--out DIR] [--replace]
    sim discover EXPERIMENT.toml [--workers N] [--scheduler ADDRESS] [--out DIR] [--resume]

With several packages, each is run on the same replications (same households, same draws:
common random numbers) into ``OUT/<package>/`` and their rates are printed side by side.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import polars as pl

from sim import __version__
from sim.configuration import (
    CONFIGS,
    EXPERIMENTS,
    PROJECT_ROOT,
    ConfigError,
    check_policy_against_region,
    load_behaviour,
    load_policy,
    load_region,
    read_toml,
)
from sim.configuration.settings import SETTINGS, check_years
from sim.errors import OutputError, SimError, UsageError
from sim.outputs.files import child, remove_ours
from sim.outputs.targets import format_table

SUMMARY = [
    ("resident_urbanization", "resident urbanisation", "pct"),
    ("hukou_urbanization", "hukou urbanisation", "pct"),
    ("urbanization_gap", "gap (resident - hukou)", "pct"),
    ("settled_persons", "settled persons / year", "int"),
    ("migrated_persons", "migrated persons / year", "int"),
    ("settlement_intention", "settlement intention", "pct"),
    ("eligible_share", "eligible share", "pct"),
    ("left_behind_children", "left-behind children", "int"),
    ("public_cost_yuan", "public cost / year (亿 yuan)", "yi"),
]


def interval(values: pl.Series) -> tuple[float, float, float]:
    """Mean and 90% interval (5th-95th percentile) across replications."""
    v = values.drop_nans().drop_nulls()
    if v.len() == 0:
        return float("nan"), float("nan"), float("nan")
    return float(v.mean()), float(v.quantile(0.05, "linear")), float(v.quantile(0.95, "linear"))


def _fmt(x: float, kind: str) -> str:
    if x != x:  # nan
        return "n/a"
    if kind == "pct":
        return f"{100 * x:.1f}%"
    if kind == "yi":
        return f"{x / 1e8:.2f}"
    return f"{x:,.0f}"


def summary_table(results: dict[str, pl.DataFrame], uncertainty: str | None = None) -> str:
    """Side-by-side summary: rates in the final year, flows averaged over the run, each as
    mean [5%, 95%] across replications; ``uncertainty`` says what the interval covers."""
    lines = []
    names = list(results)
    first = results[names[0]]
    y0, y1 = int(first["year"].min()), int(first["year"].max())
    width = max(26, *(len(n) + 2 for n in names))
    header = f"{'':32}" + "".join(f"{n:>{width + 8}}" for n in names)
    lines.append(f"Final year {y1} (rates) and yearly means {y0 + 1}-{y1} (flows); "
                 f"mean [90% interval] over {first['replication'].n_unique()} replications")
    if uncertainty:
        lines.append(uncertainty[0].upper() + uncertainty[1:] + ".")
    lines.append(header)
    for col, label, kind in SUMMARY:
        cells = []
        for n in names:
            df = results[n]
            if kind == "pct":
                s = df.filter(pl.col("year") == y1)[col]
            else:
                s = df.filter(pl.col("year") > y0).group_by("replication").agg(pl.col(col).mean())[col]
            mean, lo, hi = interval(s)
            cells.append(f"{_fmt(mean, kind)} [{_fmt(lo, kind)}, {_fmt(hi, kind)}]")
        lines.append(f"{label:32}" + "".join(f"{c:>{width + 8}}" for c in cells))
    base = first.filter(pl.col("year") == y0)
    lines.append(f"(start {y0}: resident {_fmt(float(base['resident_urbanization'].mean()), 'pct')}, "
                 f"hukou {_fmt(float(base['hukou_urbanization'].mean()), 'pct')})")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    from sim.experiments.run import run_package

    stamp = time.strftime("%Y%m%d-%H%M%S")
    several = len(args.policy) > 1
    results = {}
    target_tables = {}
    used: list[str] = []
    for policy in args.policy:
        name = Path(policy).stem
        while name in used:  # two packages with one file name, from different folders
            name += "_2"
        used.append(name)
        if args.out is not None:
            out = Path(args.out) / name if several else Path(args.out)
        else:
            out = Path("results") / (f"run-{stamp}" if several else f"{name}-{stamp}")
            out = out / name if several else out
        res = run_package(policy, args.region, args.behaviour, seed=args.seed,
                          replications=args.replications, start=args.start, end=args.end,
                          scale=args.scale, snapshot_years=tuple(args.snapshot_years or ()),
                          out=out, progress=not args.quiet, replace=args.replace)
        results[res.package] = res.metrics
        print(f"{res.package}: wrote {res.out} ({res.manifest['wall_time_s']:.1f} s)")
        if several:  # the order given: the first package is the reference in reports
            import json

            (res.out.parent / "packages.json").write_text(json.dumps(used))
        if "targets" in res.tables:
            target_tables[res.package] = res.tables["targets"]
        label = res.manifest["behaviour"]["uncertainty"]
    print()
    print(summary_table(results, label))
    for name, table in target_tables.items():
        print()
        print(format_table(table, name, label))
    return 0


def cmd_targets(args: argparse.Namespace) -> int:
    from sim.configuration import load_policy
    from sim.experiments.run import run_package

    pol = load_policy(args.policy)
    region = args.region or pol.region_path
    if pol.region_path is not None and region is not None and \
            Path(region).resolve() != pol.region_path:
        print(f"note: {pol.name}'s targets are stated for its own region "
              f"({pol.region_path.name}); they are shown against {Path(region).name}",
              file=sys.stderr)
    res = run_package(pol, region, args.behaviour, seed=args.seed,
                      replications=args.replications, start=args.start, end=args.end,
                      scale=args.scale, out=args.out, progress=not args.quiet, replace=args.replace)
    from sim.outputs.targets import attainment

    table = res.tables.get("targets")
    if table is None:
        table = attainment(res.metrics, pol.targets, res.tables.get("towns"), res.tables.get("groups"))
    print(format_table(table, pol.name, res.manifest["behaviour"]["uncertainty"]))
    return 0


def _executor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", help="Dask scheduler address (e.g. tcp://host:8786) instead of "
                   "a local pool")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _report(rep) -> None:
    print(rep.summary())
    for f in rep.failed:
        print(f"  failed {f['run']}: {f['error']}", file=sys.stderr)


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.experiments.compare import format_comparison, paired_comparison
    from sim.experiments.spec import load_experiment
    from sim.experiments.sweep import read_output, run_sweep

    exp = load_experiment(args.experiment)
    out = Path(args.out) if args.out else child(Path("results"), exp.name, "experiment name")
    if args.replace:
        remove_ours(out, "sweep")
    rep = run_sweep(exp, out, workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                    progress=not args.quiet)
    _report(rep)
    if "metrics" in exp.meta.outputs and rep.done + rep.skipped > 0:
        metrics = read_output(out, "metrics", rep.runs)
        packages = metrics["package"].unique(maintain_order=True).to_list()
        packages = reference_first(packages)
        if not exp.factors and len(packages) > 1:
            table = paired_comparison(metrics, packages)
            _write_summary(table, out / "comparison.parquet")
            print()
            print(format_comparison(table, packages, _uncertainty(out)))
            _print_targets(exp, metrics, out)
        table = _points(exp, metrics, out)
        if exp.factors or len(packages) == 1:
            from sim.experiments.points import format_points

            print()
            print(format_points(table, [f.name for f in exp.factors], _uncertainty(out)))
            print(f"(every point with its factor values: {out / 'points.parquet'})")
    return 1 if rep.failed else 0


def _targets_by_label(exp) -> dict:
    """The targets that apply to each package label of a sweep: a package's own targets, on its
    own region only (targets are stated for the document's region)."""
    from sim.configuration import load_policy, load_region

    out = {}
    choices = exp.region_choices()
    for path in exp.packages:
        pol = load_policy(path)
        for reg in choices:
            if reg is not None and pol.region_path != reg:
                continue
            label = pol.name
            if len(choices) > 1:
                label = f"{pol.name}@{load_region(pol.region_path).region.name}"
            out[label] = list(pol.targets)
    return out


def _points(exp, metrics: pl.DataFrame, out: Path) -> pl.DataFrame:
    """Write ``points.parquet``: each design point by its factor values, with cost and target
    attainment (:mod:`sim.experiments.points`)."""
    from sim.experiments.points import point_table
    from sim.experiments.sweep import atomic_write_parquet, read_output

    design = pl.read_parquet(out / "design.parquet")
    towns, groups = (read_output(out, name) if name in exp.meta.outputs else None
                     for name in ("towns", "groups"))
    table = point_table(metrics, design, _targets_by_label(exp), towns, groups)
    _write_summary(table, out / "points.parquet", atomic_write_parquet)
    return table


def reference_first(packages: list[str]) -> list[str]:
    """The packages with the reference of a paired comparison first: a pre-reform counterfactual
    when there is one (differences then read package − counterfactual, as the report's do),
    else the first given."""
    return sorted(packages, key=lambda p: not p.endswith("_pre_reform"))


def _write_summary(table: pl.DataFrame, path: Path, write=None) -> None:
    """Write a sweep's summary table; a full or read-only disk ends with one line saying the
    runs are kept (nothing finished is lost), not a traceback."""
    try:
        (write or (lambda t, p: t.write_parquet(p)))(table, path)
    except (OSError, pl.exceptions.ComputeError) as exc:
        raise OutputError(f"{path}: cannot write the sweep's summary ({getattr(exc, 'strerror', None) or exc}); "
                          f"every finished run is kept in {path.parent} (free space and run the sweep "
                          "again with --resume: finished runs are reused)") from None


def _print_targets(exp, metrics: pl.DataFrame, out: Path) -> None:
    """Target attainment of each package that states targets and ran on its own region."""
    from sim.configuration import load_policy
    from sim.outputs.targets import attainment

    for path in exp.packages:
        pol = load_policy(path)
        choices = exp.region_choices()
        if not pol.targets or (choices != [None] and pol.region_path not in choices):
            continue  # targets are stated for the package's own region only
        label = pol.name
        if len(choices) > 1:
            from sim.configuration import load_region

            label = f"{pol.name}@{load_region(pol.region_path).region.name}"
        towns, groups = (_read_if(out, name, exp, label) for name in ("towns", "groups"))
        table = attainment(metrics.filter(pl.col("package") == label), pol.targets, towns, groups)
        table.write_parquet(out / f"targets_{pol.name}.parquet")
        print()
        print(format_table(table, pol.name, _uncertainty(out)))


def _uncertainty(out: Path) -> str | None:
    """What a sweep's bands cover, as its manifest records it."""
    import json

    try:
        return json.loads((out / "manifest.json").read_text()).get("uncertainty")
    except (OSError, ValueError):
        return None


def _read_if(out: Path, name: str, exp, label: str) -> pl.DataFrame | None:
    """A sweep's ``name`` output for one package, if the experiment kept it."""
    from sim.experiments.sweep import read_output

    if name not in exp.meta.outputs:
        return None
    return read_output(out, name).filter(pl.col("package") == label)


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.experiments.compare import format_comparison, paired_comparison
    from sim.experiments.spec import adhoc_experiment
    from sim.experiments.sweep import read_output, run_sweep

    exp = adhoc_experiment(args.policy, args.region, args.replications, args.seed, args.start,
                           args.end, args.scale, behaviour=args.behaviour)
    out = Path(args.out) if args.out else Path("results") / f"compare-{time.strftime('%Y%m%d-%H%M%S')}"
    rep = run_sweep(exp, out, workers=args.workers, scheduler=args.scheduler, resume=True,
                    progress=not args.quiet)
    _report(rep)
    metrics = read_output(out, "metrics", rep.runs)
    packages = reference_first(metrics["package"].unique(maintain_order=True).to_list())
    table = paired_comparison(metrics, packages)
    _write_summary(table, out / "comparison.parquet")
    print()
    print(format_comparison(table, packages, _uncertainty(out)))
    _print_targets(exp, metrics, out)
    return 1 if rep.failed else 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from sim.experiments.compare import sensitivity
    from sim.experiments.spec import load_experiment
    from sim.experiments.sweep import read_output, run_sweep

    exp = load_experiment(args.experiment)
    if exp.design.method not in ("morris", "sobol"):
        raise ConfigError(f"{exp.path}: key 'design.method': sensitivity needs 'morris' or "
                          f"'sobol' (got '{exp.design.method}')")
    out = Path(args.out) if args.out else child(Path("results"), exp.name, "experiment name")
    rep = run_sweep(exp, out, workers=args.workers, scheduler=args.scheduler, resume=True,
                    progress=not args.quiet)
    _report(rep)
    if rep.failed:
        print(f"sim: sensitivity needs every design point; {len(rep.failed)} runs failed "
              f"(see {out / 'failed'}); fix them and run again (finished runs are kept)",
              file=sys.stderr)
        return 1
    metrics = read_output(out, "metrics", rep.runs)
    design = pl.read_parquet(out / "design.parquet")
    table = sensitivity(metrics, design, exp.sample_matrix, [f.name for f in exp.factors],
                        [list(f.range) for f in exp.factors], exp.design.method,
                        exp.sensitivity.outcomes, exp.sensitivity.year, exp.design.levels)
    table.write_parquet(out / "sensitivity.parquet")
    with pl.Config(tbl_rows=200, tbl_cols=20, tbl_width_chars=200, fmt_str_lengths=60):
        print()
        print(f"{exp.design.method.title()} indices ({out / 'sensitivity.parquet'}):")
        print(table)
    return 1 if rep.failed else 0


def cmd_report(args: argparse.Namespace) -> int:
    from sim.report.viewer import report

    path = report(args.results, args.out, baseline=args.baseline)
    print(f"report: {path.resolve()}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    bad = 0
    for f in args.files:
        try:
            print(check_file(f))
        except SimError as exc:  # say what is wrong with this file, then check the next
            print(exc, file=sys.stderr)
            bad += 1
    return 2 if bad else 0


def check_file(path: str | Path) -> str:
    """Validate any config file, telling the kind from its tables. Returns a one-line summary."""
    path = Path(path)
    if path.suffix == ".csv":  # a posterior ensemble of behaviour parameters
        from sim.configuration import load_ensemble

        ens = load_ensemble(path)
        return f"{path}: behaviour posterior ensemble OK ({len(ens)} draws of {len(ens.draws[0])} parameters)"
    raw = read_toml(path)
    if "package" in raw:
        pol = load_policy(path)
        if pol.region_path is not None:  # what `sim run` checks before anything runs
            region = load_region(pol.region_path)
            check_policy_against_region(pol, region)
            base = region.region.base_year
            start = pol.meta.start or base + 1
            end = pol.meta.end or start + 9
            check_years(start, end, base,
                        f"{path}: key 'package.start'/'package.end', region '{region.region.name}'",
                        error=ConfigError)
            from sim.engine.levers import resolve
            from sim.world.places import build_places

            places = build_places(region)
            for year in range(start, end + 1):  # every year's levers, as the run resolves them
                resolve(pol, places, year)
        return f"{path}: policy package '{pol.name}' OK"
    if "region" in raw:
        reg = load_region(path)
        return f"{path}: region '{reg.region.name}' OK ({len(reg.towns)} towns, {len(reg.villages)} villages)"
    if "behaviour" in raw:
        load_behaviour(path)
        return f"{path}: behaviour OK"
    if "calibration" in raw:
        from sim.experiments.calibration import load_spec

        spec = load_spec(path)
        load_policy(spec.package_path)
        return f"{path}: calibration spec OK ({len(spec.parameters)} parameters)"
    if "abc" in raw:
        from sim.experiments.abc import load_abc_spec

        spec = load_abc_spec(path)
        load_policy(spec.resolve(spec.meta.package))
        return (f"{path}: pattern calibration spec OK ({len(spec.parameters)} parameters, "
                f"{len(spec.series)} series, {len(spec.patterns)} patterns)")
    if "search" in raw:
        from sim.experiments.search import load_search

        search = load_search(path)
        check_file(search.package)
        return (f"{path}: search '{search.name}' OK ({len(search.variables)} levers, "
                f"{len(search.targets)} targets)")
    if "experiment" in raw:
        from sim.experiments.spec import load_experiment

        exp = load_experiment(path)
        from sim.experiments.sweep import plan

        for pkg in exp.packages:  # each package as `sim sweep` will load it
            check_file(pkg)
        plan(exp, Path(tempfile.gettempdir()))  # resolves every design point's packages and regions
        return f"{path}: experiment '{exp.name}' OK ({len(exp.points)} design points)"
    raise ConfigError(
        f"{path}: cannot tell what this file is; expected a [package], [region], [behaviour], "
        "[calibration], [abc], [experiment] or [search] table"
    )


class Parser(argparse.ArgumentParser):
    """argparse, with a user error as one line (``sim: error: ...``) and exit code 2."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        self.exit(2, f"sim: error: {message} (see `{self.prog} --help`)\n")


def setting(name: str):
    """An argparse type for a bounded run setting (:data:`sim.configuration.settings.SETTINGS`)."""
    def parse(text: str):
        try:
            return SETTINGS[name].parse(text)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None
    parse.__name__ = name  # argparse names the type in its messages
    return parse


def config_file(kind: str):
    """An argparse type for an existing config file, with "did you mean" from the project's own
    config and experiment files when it does not exist."""
    def parse(text: str) -> str:
        path = Path(text)
        if path.is_file():
            return text
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{text} is a folder, not a {kind} file")
        known = sorted({str(f.relative_to(PROJECT_ROOT)) for d in (CONFIGS, EXPERIMENTS)
                        for f in d.rglob("*.toml")})
        close = difflib.get_close_matches(text, known, n=2, cutoff=0.6) or \
            [k for k in known if Path(k).stem == path.stem]
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise argparse.ArgumentTypeError(f"no such {kind} file: {text}{hint}")
    parse.__name__ = f"{kind} file"
    return parse


def results_folder(text: str) -> str:
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"no such results folder: {text}")
    return text


def _years(p: argparse.ArgumentParser) -> None:
    p.add_argument("--start", type=setting("start"), help=SETTINGS["start"].help)
    p.add_argument("--end", type=setting("end"), help=SETTINGS["end"].help)


def _run_args(p: argparse.ArgumentParser, replications: int, out_help: str) -> None:
    p.add_argument("--region", type=config_file("region"),
                   help="region TOML (default: the package's own region)")
    p.add_argument("--behaviour", type=config_file("behaviour"),
                   help="one behaviour parameter set (TOML), which pins it: the bands are then "
                   "chance only; or a posterior ensemble (.csv). Default: the posterior "
                   "configs/behaviour/posterior.csv, replication r using draw r, where it exists, "
                   "else configs/behaviour/calibrated.toml")
    _years(p)
    p.add_argument("--seed", type=setting("seed"), default=0, help=SETTINGS["seed"].help + " (default 0)")
    p.add_argument("--replications", type=setting("replications"), default=replications,
                   help=f"replications (default {replications})")
    p.add_argument("--scale", type=setting("scale"), help=SETTINGS["scale"].help)
    p.add_argument("--out", help=out_help)
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def _executor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=setting("workers"), default=None,
                   help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", help="Dask scheduler address (e.g. tcp://127.0.0.1:8786) instead "
                   "of a local pool")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="sim", description=__doc__.split("\n")[0])
    p.add_argument("--version", action="version", version=f"hukou-sim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    r = sub.add_parser("run", help="run one or more policy packages and print a summary")
    r.add_argument("policy", nargs="+", type=config_file("policy"), help="policy package TOML file(s)")
    _run_args(r, 1, "output folder (default: results/<package>-<time>)")
    r.add_argument("--snapshot-years", type=setting("year"), nargs="*",
                   help="years at which to keep household state")
    r.add_argument("--replace", action="store_true",
                   help="replace an earlier run folder at --out (only a run folder sim wrote)")
    r.set_defaults(func=cmd_run)
    t = sub.add_parser("targets", help="run a package and print its target attainment")
    t.add_argument("policy", type=config_file("policy"), help="policy package TOML file")
    _run_args(t, 20, "also write the run's outputs here")
    t.add_argument("--replace", action="store_true",
                   help="replace an earlier run folder at --out (only a run folder sim wrote)")
    t.set_defaults(func=cmd_targets)
    sw = sub.add_parser("sweep", help="run an experiment's design points x replications")
    sw.add_argument("experiment", type=config_file("experiment"), help="experiment TOML file")
    _executor_args(sw)
    sw.add_argument("--resume", action="store_true", help="skip runs already written")
    sw.add_argument("--replace", action="store_true",
                    help="delete an earlier sweep in the output folder first and recompute "
                    "(only a sweep folder sim wrote)")
    sw.add_argument("--out", help="output folder (default: results/<experiment>)")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.set_defaults(func=cmd_sweep)
    cp = sub.add_parser("compare", help="compare packages on the same replications (CRN)")
    cp.add_argument("policy", nargs="+", type=config_file("policy"),
                    help="policy package TOML files; the first is the reference")
    _run_args(cp, 10, "output folder (default: results/compare-<time>)")
    _executor_args(cp)
    cp.set_defaults(func=cmd_compare)
    se = sub.add_parser("sensitivity", help="Morris or Sobol indices for an experiment (SALib)")
    se.add_argument("experiment", type=config_file("experiment"),
                    help="experiment TOML with design.method morris or sobol")
    _executor_args(se)
    se.add_argument("--out", help="output folder (default: results/<experiment>)")
    se.add_argument("--quiet", action="store_true", help="no progress bar")
    se.set_defaults(func=cmd_sensitivity)
    rp = sub.add_parser("report", help="write a self-contained HTML report of a results folder")
    rp.add_argument("results", type=results_folder,
                    help="a sweep folder (sim sweep, make run) or a run folder (sim run)")
    rp.add_argument("--out", help="output folder (default: RESULTS/report)")
    rp.add_argument("--baseline", metavar="PACKAGE",
                    help="the package every other package is compared with (default: each "
                         "package's counterfactual in the results, else the first package)")
    rp.set_defaults(func=cmd_report)
    sub.add_parser("calibrate", help="fit behaviour parameters to national statistics "
                   "(see `sim calibrate --help`)", add_help=False)
    c = sub.add_parser("check", help="validate config files (every check a run would make)")
    c.add_argument("files", nargs="+", help="config files: regions, packages, behaviour, "
                   "experiments, calibration specs")
    c.set_defaults(func=cmd_check)
    lv = sub.add_parser("levers", help="list every lever a package sets, with value and source")
    lv.add_argument("policy", type=config_file("policy"), help="policy package TOML file")
    lv.add_argument("--sources", action="store_true", help="also print each value's source and file")
    lv.set_defaults(func=cmd_levers)
    rs = sub.add_parser("response", help="every lever's response over its range on the seed "
                        "regions; writes docs/levers.md with figures")
    from sim.experiments.response import SEED_REGIONS

    rs.add_argument("--regions", nargs="+", choices=list(SEED_REGIONS),
                    help="seed regions (default: all five)")
    rs.add_argument("--levers", nargs="+", type=lever_name,
                    help="levers or groups, as group.field or group (default: every lever)")
    rs.add_argument("--replications", type=at_least_two, default=3, help="replications per value "
                    "(default 3; at least 2, noise is measured across them)")
    rs.add_argument("--scale", type=setting("scale"), default=50.0,
                    help="households per agent (default 50)")
    rs.add_argument("--workers", type=setting("workers"), default=None,
                    help="local worker processes (default: all cores)")
    rs.add_argument("--out", default=str(PROJECT_ROOT / "docs" / "levers.md"),
                    help="the page to write (default docs/levers.md); figures go to its stem folder")
    rs.add_argument("--quiet", action="store_true", help="no progress line")
    rs.set_defaults(func=cmd_response)
    sr = sub.add_parser("search", help="the cheapest lever settings that meet a package's targets, "
                        "and the front of cost against settlement (pymoo NSGA-II)")
    sr.add_argument("spec", type=config_file("search"), help="search TOML file ([search], [[levers]])")
    _executor_args(sr)
    sr.add_argument("--out", help="output folder (default: results/<search name>)")
    sr.add_argument("--replace", action="store_true",
                    help="replace an earlier search folder at --out (only one sim wrote)")
    sr.add_argument("--quiet", action="store_true", help="no progress lines")
    sr.set_defaults(func=cmd_search)
    dc = sub.add_parser("discover", help="scenario discovery: PRIM boxes of the assumptions under "
                        "which a package misses a target (EMA Workbench)")
    dc.add_argument("experiment", type=config_file("experiment"),
                    help="experiment TOML varying behaviour (and levers), with a [discover] table")
    _executor_args(dc)
    dc.add_argument("--out", help="the sweep folder (default: results/<experiment>); finished runs "
                    "are reused")
    dc.add_argument("--quiet", action="store_true", help="no progress bar")
    dc.set_defaults(func=cmd_discover)
    w = sub.add_parser("warmup", help="compile the engine's kernels into numba's cache, with "
                       "progress (make does this after install)")
    w.set_defaults(func=cmd_warmup)
    ap = sub.add_parser("app", help="serve the planner's app (a Solara web page): change a package's "
                        "levers, run, compare with its baseline, see a map, save the variant")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to serve on (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=port_number, default=8765, help="port (default 8765)")
    ap.set_defaults(func=cmd_app)
    return p


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 1-65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number 1-65535 (got {text!r})") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a whole number 1-65535 (got {value})")
    return value


def cmd_app(args: argparse.Namespace) -> int:
    """Serve the planner's app (sim.app.planner) until interrupted."""
    from sim.app.server import serve

    serve(args.host, args.port)
    return 0


def cmd_levers(args: argparse.Namespace) -> int:
    """Every lever path the package sets, with its value, source and file: what an experiment's
    ``[[design.levers]] path`` names, without opening the TOML."""
    pol = load_policy(args.policy)
    entries = pol.lever_entries()
    chain = len(pol.files) > 1
    last = {path: i for i, (path, *_) in enumerate(entries)}  # a later file's value wins
    print(f"{pol.name}: {len(entries)} lever values set ({' → '.join(f.name for f in pol.files)}); "
          "paths as an experiment names them"
          + ("; values from a parent file are marked with it" if chain else ""))
    width = max((len(p) for p, *_ in entries), default=10)
    own = pol.files[-1].name
    for i, (path, value, source, file) in enumerate(entries):
        notes = []
        if chain and file != own:
            notes.append(f"from {file}")
        if last[path] != i:
            notes.append(f"overridden by {entries[last[path]][3]}")
        print(f"{path:{width}}  = {value!r}" + (f"  ({'; '.join(notes)})" if notes else ""))
        if args.sources:
            print(f"{'':{width}}    {file}: {source or '(no source)'}")
    return 0


def _executor(workers: int | None, scheduler: str | None):
    """The executor a search or discovery runs on, and how to close it: a Dask cluster's, a
    local pool of ``workers`` processes, or (one worker) this process itself."""
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        return client.get_executor(), client.close
    if workers is None or workers <= 1:
        return None, lambda: None
    from sim.experiments.sweep import local_executor

    pool = local_executor(workers)
    return pool, lambda: pool.shutdown(wait=False, cancel_futures=True)


def cmd_search(args: argparse.Namespace) -> int:
    """Target-seeking search (:mod:`sim.experiments.search`): the cheapest setting that meets
    the package's targets with the required probability, or "not reachable" and the closest."""
    from sim.experiments.search import format_result, load_search, run_search, write_result
    from sim.outputs.files import is_ours, mark

    search = load_search(args.spec)
    out = Path(args.out) if args.out else child(Path("results"), search.name, "search name")
    if args.replace:
        remove_ours(out, "search")
    if out.exists() and any(out.iterdir()):
        what = "an earlier search; pass --replace to recompute it" if is_ours(out, "search") else \
            "not a search folder hukou-sim created"
        raise OutputError(f"{out} exists and holds {what}, or choose another --out (nothing was written)")
    executor, close = _executor(args.workers, args.scheduler)
    try:
        res = run_search(search, executor=executor, progress=not args.quiet)
    finally:
        close()
    try:
        out.mkdir(parents=True, exist_ok=True)
        mark(out, "search")
        write_result(res, out)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the search's results ({exc.strerror or exc})") from None
    from sim.report.search_doc import front_figure

    from sim.experiments.evaluate import describe

    png = front_figure(res.evaluations, out / "front.png", describe(search.meta.cost),
                       describe(search.meta.outcome),
                       f"{search.name}: every setting evaluated",
                       res.chosen["candidate"] if res.chosen else None)
    from sim.report.search_doc import search_page

    page = search_page(out)
    print(format_result(res))
    print(f"\nwrote {out / 'evaluations.parquet'}, {out / 'front.parquet'}, {out / 'result.json'}, "
          f"{png} and the page {page}")
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    """Scenario discovery (:mod:`sim.experiments.discover`): run (or resume) the experiment's
    sweep, then PRIM boxes of the assumptions under which the package misses its target."""
    from sim.experiments.discover import format_discovery, run_discovery, write_discovery
    from sim.experiments.spec import load_experiment
    from sim.experiments.sweep import run_sweep
    from sim.report.search_doc import peeling_figure

    exp = load_experiment(args.experiment)
    out = Path(args.out) if args.out else child(Path("results"), exp.name, "experiment name")
    rep = run_sweep(exp, out, workers=args.workers, scheduler=args.scheduler, resume=True,
                    progress=not args.quiet)
    _report(rep)
    if rep.failed:
        print(f"sim: discovery needs every run; {len(rep.failed)} runs failed (see {out / 'failed'}); "
              "fix them and run again (finished runs are kept)", file=sys.stderr)
        return 1
    d = run_discovery(exp, out)
    folder = out / "discover"
    write_discovery(d, folder)
    written = [folder / "box.json", folder / "peeling.parquet", folder / "cases.parquet"]
    if d.chosen >= 0:
        written.append(peeling_figure(d.peeling, d.chosen, folder / "peeling.png",
                                      f"{d.package}: when is '{d.target}' missed?"))
    print()
    print(format_discovery(d))
    print(f"\nwrote {', '.join(str(w) for w in written)}")
    return 0


def lever_name(text: str) -> str:
    """An argparse type for a lever or group of the response catalogue."""
    from sim.experiments.response import select

    try:
        select([text])
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None
    return text


def at_least_two(text: str) -> int:
    value = setting("replications")(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2 (got {text!r})")
    return value


def cmd_response(args: argparse.Namespace) -> int:
    """Lever response curves on the seed regions, written to docs/levers.md
    (:mod:`sim.report.levers_doc`)."""
    from sim.report.levers_doc import generate

    command = " ".join(["sim response", *(["--regions", *args.regions] if args.regions else []),
                        *(["--levers", *args.levers] if args.levers else []),
                        f"--replications {args.replications}", f"--scale {args.scale:g}"])
    res = generate(args.regions, args.levers, replications=args.replications, scale=args.scale,
                   workers=args.workers, out=args.out, progress=not args.quiet, command=command)
    print(f"wrote {res['out']} ({res['levers']} levers, {res['seconds']:.0f} s)")
    return 0


def cmd_warmup(args: argparse.Namespace) -> int:
    """Compile every compiled pass now (:mod:`sim.engine.warmup`)."""
    from sim.engine.warmup import warm

    warm()
    return 0


def _conflicts(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Flags that make no sense together, and year ranges given the wrong way round."""
    if getattr(args, "resume", False) and getattr(args, "replace", False):
        p.error("argument --replace: not allowed with --resume (one keeps the finished runs, the "
                "other deletes them)")
    if getattr(args, "scheduler", None) and getattr(args, "workers", None) is not None:
        p.error("argument --workers: not allowed with --scheduler (the cluster's workers run)")
    start, end = getattr(args, "start", None), getattr(args, "end", None)
    if start is not None and end is not None and end < start:
        p.error(f"argument --end: must not be before --start (got --start {start} --end {end})")
    if getattr(args, "replace", False) and hasattr(args, "out") and args.command in ("run", "targets") \
            and args.out is None:
        p.error("argument --replace: needs --out (the folder to replace)")
    if hasattr(args, "workers") and args.workers is None and not getattr(args, "scheduler", None):
        args.workers = os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["calibrate"]:  # its own parser (sim.experiments.calibration)
        from sim.experiments.calibration import main as calibrate_main

        try:
            return calibrate_main(argv[1:])
        except SimError as exc:
            print(f"sim: {exc}", file=sys.stderr)
            return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    _conflicts(parser, args)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"sim: configuration error:\n{exc}", file=sys.stderr)
        return 2
    except SimError as exc:
        print(f"sim: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`sim levers X | head`): stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - so that the exit flush does not fail
        return 0


if __name__ == "__main__":
    sys.exit(main())
