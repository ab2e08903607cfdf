"""Comparing packages with common random numbers, and sensitivity indices (issue 4).

:func:`paired_comparison` takes the metrics of several packages run on the same replications
and gives, per metric, each package's mean with a 90% interval across replications and each
package's paired difference from the first (replication by replication) with a 90% confidence
interval of the mean difference. Because replication r of every package uses the same
households and the same draws, the paired difference isolates the policy's effect and its
interval is far narrower than the packages' own spread.

:func:`sensitivity` computes Morris (mu*, sigma) or Sobol (S1, ST) indices with SALib from a
sweep's design points and an outcome averaged over replications.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

COMPARE_METRICS = [
    ("resident_urbanization", "final", "pct"),
    ("hukou_urbanization", "final", "pct"),
    ("urbanization_gap", "final", "pct"),
    ("settled_persons", "mean", "int"),
    ("migrated_persons", "mean", "int"),
    ("returned_persons", "mean", "int"),
    ("reclassified_persons", "mean", "int"),
    ("settlement_intention", "mean", "pct"),
    ("eligible_share", "mean", "pct"),
    ("left_behind_children", "final", "int"),
    ("land_exited_mu", "mean", "int"),
    ("compensation_paid_yuan", "mean", "yi"),
    ("public_cost_yuan", "mean", "yi"),
]

def t90(df: int) -> float:
    """Two-sided 90% Student t quantile (the 95th percentile) for ``df`` degrees of freedom."""
    if df <= 0:
        return float("nan")
    from scipy.stats import t

    return float(t.ppf(0.95, df))


def per_replication(metrics: pl.DataFrame, metric: str, how: str) -> pl.DataFrame:
    """One value per (package, replication): the final year's, or the mean over simulated years."""
    y0 = metrics["year"].min()
    y1 = metrics["year"].max()
    if how == "final":
        sel = metrics.filter(pl.col("year") == y1)
    else:
        sel = metrics.filter(pl.col("year") > y0)
    return sel.group_by("package", "replication").agg(pl.col(metric).mean().alias("v"))


def paired_comparison(metrics: pl.DataFrame, packages: list[str]) -> pl.DataFrame:
    """Rows: metric, package, mean, lo90, hi90 (across replications), diff, diff_lo90,
    diff_hi90 (paired difference from the first package, 90% CI of the mean), n."""
    rows = []
    first = packages[0]
    for metric, how, kind in COMPARE_METRICS:
        if metric not in metrics.columns:
            continue
        v = per_replication(metrics, metric, how)
        base = v.filter(pl.col("package") == first).select("replication", pl.col("v").alias("b"))
        for pkg in packages:
            mine = v.filter(pl.col("package") == pkg)
            vals = mine["v"].drop_nans().drop_nulls()
            paired = mine.join(base, on="replication").with_columns((pl.col("v") - pl.col("b")).alias("d"))
            d = paired["d"].drop_nans().drop_nulls()
            n = d.len()
            if n:
                dm = float(d.mean())
                half = t90(n - 1) * float(d.std()) / math.sqrt(n) if n > 1 else float("nan")
            else:
                dm, half = float("nan"), float("nan")
            rows.append({
                "metric": metric, "kind": kind, "how": how, "package": pkg,
                "mean": float(vals.mean()) if vals.len() else float("nan"),
                "lo90": float(vals.quantile(0.05, "linear")) if vals.len() else float("nan"),
                "hi90": float(vals.quantile(0.95, "linear")) if vals.len() else float("nan"),
                "diff": dm if pkg != first else 0.0,
                "diff_lo90": dm - half if pkg != first else 0.0,
                "diff_hi90": dm + half if pkg != first else 0.0,
                "n": vals.len(),
            })
    return pl.DataFrame(rows)


def _f(x: float, kind: str, signed: bool = False) -> str:
    if x != x:
        return "n/a"
    s = "+" if signed and x > 0 else ""
    if kind == "pct":
        return f"{s}{100 * x:.2f}pp" if signed else f"{100 * x:.1f}%"
    if kind == "yi":
        return f"{s}{x / 1e8:.2f}亿"
    return f"{s}{x:,.0f}"


def format_comparison(table: pl.DataFrame, packages: list[str], uncertainty: str | None = None) -> str:
    """Plain-text paired comparison; ``uncertainty`` says what the bands cover (behaviour and
    chance, or chance only)."""
    n = int(table["n"].max()) if table.height else 0
    lines = [f"Packages compared on the same {n} replications (common random numbers; paired "
             "differences within each replication, so within each behaviour draw).",
             *([uncertainty[0].upper() + uncertainty[1:] + "."] if uncertainty else []),
             "Each cell: mean [90% interval across replications]; below it, the paired difference "
             "from " + packages[0] + " with the 90% CI of the mean difference.",
             "Rates: final year; flows and costs: yearly mean."]
    w = 34
    lines.append(f"{'metric':28}" + "".join(f"{p:>{w}}" for p in packages))
    for metric in table["metric"].unique(maintain_order=True):
        sub = table.filter(pl.col("metric") == metric)
        kind = sub["kind"][0]
        cells, diffs = [], []
        for p in packages:
            r = sub.filter(pl.col("package") == p).row(0, named=True)
            cells.append(f"{_f(r['mean'], kind)} [{_f(r['lo90'], kind)}, {_f(r['hi90'], kind)}]")
            diffs.append("(reference)" if p == packages[0] else
                         f"{_f(r['diff'], kind, True)} [{_f(r['diff_lo90'], kind, True)}, "
                         f"{_f(r['diff_hi90'], kind, True)}]")
        lines.append(f"{metric:28}" + "".join(f"{c:>{w}}" for c in cells))
        lines.append(f"{'':28}" + "".join(f"{c:>{w}}" for c in diffs))
    return "\n".join(lines)


def sensitivity(metrics: pl.DataFrame, design: pl.DataFrame, X: np.ndarray, factors: list[str],
                bounds: list[list[float]], method: str, outcomes: list[str], year: int | None,
                levels: int = 4) -> pl.DataFrame:
    """Morris or Sobol indices per (package, outcome, factor). ``X`` is the sampler's matrix in
    design-point order (per package); outcomes are averaged over replications at ``year``."""
    problem = {"num_vars": len(factors), "names": factors, "bounds": bounds}
    y = year if year is not None else int(metrics["year"].max())
    rows = []
    n_points = X.shape[0]
    for pkg in design["package"].unique(maintain_order=True).to_list():
        pts = design.filter(pl.col("package") == pkg)["point"].to_list()
        sel = metrics.filter((pl.col("year") == y) & pl.col("point").is_in(pts))
        for outcome in outcomes:
            means = sel.group_by("point").agg(pl.col(outcome).mean()).sort("point")
            if means.height != n_points:
                raise ValueError(f"sensitivity needs every design point finished: "
                                 f"{means.height} of {n_points} for {pkg}")
            Y = means[outcome].to_numpy().astype(float)
            if method == "morris":
                from SALib.analyze import morris

                res = morris.analyze(problem, X, Y, num_levels=levels)
                for i, f in enumerate(factors):
                    rows.append({"package": pkg, "outcome": outcome, "factor": f,
                                 "mu_star": float(res["mu_star"][i]), "sigma": float(res["sigma"][i]),
                                 "mu_star_conf": float(res["mu_star_conf"][i])})
            else:
                from SALib.analyze import sobol

                res = sobol.analyze(problem, Y, calc_second_order=False)
                for i, f in enumerate(factors):
                    rows.append({"package": pkg, "outcome": outcome, "factor": f,
                                 "S1": float(res["S1"][i]), "S1_conf": float(res["S1_conf"][i]),
                                 "ST": float(res["ST"][i]), "ST_conf": float(res["ST_conf"][i])})
    return pl.DataFrame(rows)
