"""Target attainment: a package's stated targets beside the simulated values (DESIGN §6).

Each :class:`~sim.configuration.Target` names a metric, a year (or a span ``year..to_year`` summed or
averaged), an operator and a value. For every replication the simulated value is computed the
same way; the table reports the mean, the 90% interval across replications, the share of
replications meeting the target, and ``met`` / ``not met`` by the median run (met when at least
half the replications meet it; ``not simulated`` when the run does not cover the years). A target whose value is fixed by an input says so
(``Target.by_construction``): its status reads ``met by construction`` / ``not met by construction``
and the table prints the reason.
"""

from __future__ import annotations

import polars as pl

from sim.configuration import METRIC_DEFINITIONS, RATE_METRICS, Target


def simulated(metrics: pl.DataFrame, t: Target, towns: pl.DataFrame | None = None,
              groups: pl.DataFrame | None = None) -> pl.Series | None:
    """Per-replication value of the target's metric (of its town or group where it names one), or
    None if the run misses its years or the table it needs."""
    if t.town is not None or t.group is not None:
        table, key, name = (towns, "town", t.town) if t.town is not None else (groups, "group", t.group)
        if table is None or key not in table.columns:
            return None
        metrics = table.filter(pl.col(key) == name)
        if metrics.height == 0:
            return None
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
    return sel.sort("year").group_by("replication").agg(agg.alias("v"))["v"] + t.offset


def goal(t: Target) -> float:
    """The value the run is judged against: the document's, pro-rated to the run's years."""
    return t.value * t.prorate


def meets(value: float, t: Target) -> bool:
    if t.op == ">=":
        return value >= goal(t)
    if t.op == "<=":
        return value <= goal(t)
    return abs(value - goal(t)) <= t.tolerance * t.prorate


def attainment(metrics: pl.DataFrame, targets: list[Target], towns: pl.DataFrame | None = None,
               groups: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per target: target, simulated mean and 90% interval, share of replications
    meeting it, and the met flag (met when at least half the replications meet it: the
    median run, not the mean). Per-town and group targets read ``towns`` and
    ``groups`` (the run's tables); without them they are "not simulated"."""
    rows = []
    for t in targets:
        s = simulated(metrics, t, towns, groups)
        years = f"{t.year}" if t.to_year in (None, t.year) else f"{t.year}-{t.to_year}"
        where = f" in {t.town}" if t.town else f" ({t.group})" if t.group else ""
        base = {"label": t.label or t.metric + where, "metric": t.metric, "years": years,
                "aggregate": t.aggregate, "op": t.op, "target": goal(t), "tolerance": t.tolerance * t.prorate,
                "document_value": t.value, "offset": t.offset, "prorate": t.prorate,
                "definition": METRIC_DEFINITIONS.get(t.metric, ""), "source": t.source or "",
                "by_construction": t.by_construction or ""}
        if s is None or s.len() == 0:
            rows.append({**base, "mean": None, "lo90": None, "hi90": None, "share_met": None,
                         "status": "not simulated"})
            continue
        mean = float(s.mean())
        share = sum(meets(float(v), t) for v in s.to_list()) / s.len()
        # by the median run, not the mean: a skewed ensemble's mean can meet a target that most
        # runs miss (Dehong's 20万 met by the mean with 10% of replications meeting it)
        status = "met" if share >= 0.5 else "not met"
        if status == "met" and t.aggregate == "value" and t.op != "~" and t.metric in metrics.columns \
                and t.town is None and t.group is None:
            first = metrics.filter(pl.col("year") == metrics["year"].min())[t.metric].median()
            if first is not None and meets(float(first), t):  # no package needed to meet it
                status = "met already at the start"
        if t.by_construction:  # the input decides the verdict, not the package: say so
            status = ("met" if share >= 0.5 else "not met") + " by construction"
        rows.append({**base, "mean": mean, "lo90": float(s.quantile(0.05, "linear")),
                     "hi90": float(s.quantile(0.95, "linear")), "share_met": share, "status": status})
    schema = {"label": pl.String, "metric": pl.String, "years": pl.String, "aggregate": pl.String,
              "op": pl.String, "target": pl.Float64, "tolerance": pl.Float64,
              "document_value": pl.Float64, "offset": pl.Float64, "prorate": pl.Float64,
              "definition": pl.String, "source": pl.String, "by_construction": pl.String,
              "mean": pl.Float64, "lo90": pl.Float64, "hi90": pl.Float64, "share_met": pl.Float64,
              "status": pl.String}
    return pl.DataFrame(rows, schema=schema)


def _fmt(metric: str, x: float | None) -> str:
    if x is None:
        return "n/a"
    if metric in RATE_METRICS:
        return f"{100 * x:.1f}%"
    return f"{x:,.0f}"


LABEL = 64
"""Terminal columns of the target label (Chinese characters take two)."""


def _pad(text: str, width: int) -> str:
    """``text`` cut and padded to ``width`` terminal columns, counting wide (CJK) characters as two."""
    import unicodedata

    out, used = [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out) + " " * (width - used)


def format_table(table: pl.DataFrame, package: str, uncertainty: str | None = None) -> str:
    """Plain-text target-attainment table; ``uncertainty`` says what the interval covers."""
    if table.height == 0:
        return f"{package}: the package states no numeric targets."
    lines = [f"Targets of {package} (simulated: mean [90% interval] across replications)",
             *([uncertainty[0].upper() + uncertainty[1:] + "."] if uncertainty else []),
             f"{_pad('target', LABEL)} {'goal':>24} {'simulated':>32} {'reps met':>9}  status"]
    for r in table.iter_rows(named=True):
        op = {"~": "about", ">=": ">=", "<=": "<="}[r["op"]]
        aim = f"{op} {_fmt(r['metric'], r['target'])}"
        if r["op"] == "~":
            aim += f" ±{_fmt(r['metric'], r['tolerance'])}"
        sim = (f"{_fmt(r['metric'], r['mean'])} [{_fmt(r['metric'], r['lo90'])}, "
               f"{_fmt(r['metric'], r['hi90'])}]") if r["mean"] is not None else "n/a"
        share = f"{100 * r['share_met']:.0f}%" if r["share_met"] is not None else "n/a"
        label = f"{r['label']} ({r['years']})"
        lines.append(f"{_pad(label, LABEL)} {aim:>24} {sim:>32} {share:>9}  {r['status']}")
        notes = []
        if r.get("definition"):
            notes.append(r["definition"])
        if r.get("prorate") not in (None, 1.0) or r.get("offset"):
            notes.append(f"document's value {_fmt(r['metric'], r['document_value'])} x {r['prorate']:g} "
                         f"for the run's years, {_fmt(r['metric'], r['offset'])} counted before the run")
        if r.get("by_construction"):
            notes.append(f"by construction: {r['by_construction']}")
        for note in notes:
            lines.append(f"    {note}")
    return "\n".join(lines)
