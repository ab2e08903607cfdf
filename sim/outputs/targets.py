"""Target attainment: a package's stated targets beside the simulated values (DESIGN §6).

Each :class:`~sim.configuration.Target` names a metric, a year (or a span ``year..to_year`` summed or
averaged), an operator and a value. For every replication the simulated value is computed the
same way; the table reports the mean, the 90% interval across replications, the share of
replications meeting the target, and ``met`` / ``not met`` by the mean (``not simulated`` when the
run does not cover the years).
"""

from __future__ import annotations

import polars as pl

from sim.configuration import Target


def simulated(metrics: pl.DataFrame, t: Target) -> pl.Series | None:
    """Per-replication value of the target's metric, or None if the run misses its years."""
    last = t.to_year if t.to_year is not None else t.year
    years = set(metrics["year"].unique().to_list())
    span = range(t.year, last + 1)
    if t.metric not in metrics.columns or not all(y in years for y in span):
        return None
    sel = metrics.filter(pl.col("year").is_between(t.year, last))
    agg = {"value": pl.col(t.metric).last(), "sum": pl.col(t.metric).sum(),
           "mean": pl.col(t.metric).mean()}[t.aggregate]
    if t.aggregate == "value" and t.to_year is not None and t.to_year != t.year:
        agg = pl.col(t.metric).mean()
    return sel.sort("year").group_by("replication").agg(agg.alias("v"))["v"]


def meets(value: float, t: Target) -> bool:
    if t.op == ">=":
        return value >= t.value
    if t.op == "<=":
        return value <= t.value
    return abs(value - t.value) <= t.tolerance


def attainment(metrics: pl.DataFrame, targets: list[Target]) -> pl.DataFrame:
    """One row per target: target, simulated mean and 90% interval, share of replications
    meeting it, and the met flag (by the mean)."""
    rows = []
    for t in targets:
        s = simulated(metrics, t)
        years = f"{t.year}" if t.to_year in (None, t.year) else f"{t.year}-{t.to_year}"
        base = {"label": t.label or t.metric, "metric": t.metric, "years": years,
                "aggregate": t.aggregate, "op": t.op, "target": t.value, "tolerance": t.tolerance,
                "source": t.source or ""}
        if s is None or s.len() == 0:
            rows.append({**base, "mean": None, "lo90": None, "hi90": None, "share_met": None,
                         "status": "not simulated"})
            continue
        mean = float(s.mean())
        share = sum(meets(float(v), t) for v in s.to_list()) / s.len()
        rows.append({**base, "mean": mean, "lo90": float(s.quantile(0.05, "linear")),
                     "hi90": float(s.quantile(0.95, "linear")), "share_met": share,
                     "status": "met" if meets(mean, t) else "not met"})
    schema = {"label": pl.String, "metric": pl.String, "years": pl.String, "aggregate": pl.String,
              "op": pl.String, "target": pl.Float64, "tolerance": pl.Float64, "source": pl.String,
              "mean": pl.Float64, "lo90": pl.Float64, "hi90": pl.Float64, "share_met": pl.Float64,
              "status": pl.String}
    return pl.DataFrame(rows, schema=schema)


def _fmt(metric: str, x: float | None) -> str:
    if x is None:
        return "n/a"
    if metric.endswith(("urbanization", "_share", "intention", "gap")):
        return f"{100 * x:.1f}%"
    return f"{x:,.0f}"


def format_table(table: pl.DataFrame, package: str) -> str:
    """Plain-text target-attainment table."""
    if table.height == 0:
        return f"{package}: the package states no numeric targets."
    lines = [f"Targets of {package} (simulated: mean [90% interval] across replications)",
             f"{'target':54} {'goal':>16} {'simulated':>32} {'reps met':>9}  status"]
    for r in table.iter_rows(named=True):
        op = {"~": "about", ">=": ">=", "<=": "<="}[r["op"]]
        goal = f"{op} {_fmt(r['metric'], r['target'])}"
        sim = (f"{_fmt(r['metric'], r['mean'])} [{_fmt(r['metric'], r['lo90'])}, "
               f"{_fmt(r['metric'], r['hi90'])}]") if r["mean"] is not None else "n/a"
        share = f"{100 * r['share_met']:.0f}%" if r["share_met"] is not None else "n/a"
        label = f"{r['label']} ({r['years']})"
        lines.append(f"{label[:54]:54} {goal:>16} {sim:>32} {share:>9}  {r['status']}")
    return "\n".join(lines)
