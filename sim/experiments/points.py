"""A sweep's design points labelled by their lever values (issue 17 §2): per (point, package),
the factor values, the headline rates and flows, public cost with its 90% interval, cost per
settler, and the share of replications meeting each of the package's targets.

Reads tables only (a sweep's metrics, design and, for per-town and group targets, its towns and
groups outputs). :func:`point_table` makes the table ``sim sweep`` writes as ``points.parquet``;
:func:`format_points` prints it with the factors as columns, not point numbers.
"""

from __future__ import annotations

import polars as pl

from sim.configuration import RATE_METRICS, Target


def target_column(t: Target) -> str:
    """The column of a target's share met: ``met: <label> (<years>)``."""
    years = f"{t.year}" if t.to_year in (None, t.year) else f"{t.year}-{t.to_year}"
    where = f" in {t.town}" if t.town else f" ({t.group})" if t.group else ""
    return f"met: {t.label or t.metric + where} ({years})"


def point_table(metrics: pl.DataFrame, design: pl.DataFrame, targets: dict[str, list[Target]],
                towns: pl.DataFrame | None = None, groups: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per design point (each point is one package at one set of factor values): the
    factor values (columns named as the experiment names its factors), replications, final-year
    resident and hukou urbanisation, settled persons and public cost a year (mean over the
    simulated years; cost with its 90% interval across replications), cost per settled person,
    and for each target of the point's package the share of replications meeting it.
    ``targets`` maps a package label to the targets that apply to it (its own region's)."""
    from sim.outputs.targets import meets, simulated

    y0, y1 = metrics["year"].min(), metrics["year"].max()
    factors = [c for c in design.columns if c.startswith("x.")]
    rows = []
    for (point,), part in metrics.group_by(["point"], maintain_order=True):
        d = design.filter(pl.col("point") == point).row(0, named=True)
        final = part.filter(pl.col("year") == y1)
        flows = (part.filter(pl.col("year") > y0).group_by("replication")
                 .agg(pl.col("settled_persons").mean(), pl.col("public_cost_yuan").mean()))
        cost = flows["public_cost_yuan"]
        settled = float(flows["settled_persons"].mean())
        row = {"point": int(point), "package": d["package"],
               **{c[2:]: d[c] for c in factors},
               "replications": part["replication"].n_unique(),
               "resident_urbanization": float(final["resident_urbanization"].mean()),
               "hukou_urbanization": float(final["hukou_urbanization"].mean()),
               "settled_persons_per_year": settled,
               "public_cost_yuan_per_year": float(cost.mean()),
               "public_cost_lo90": float(cost.quantile(0.05, "linear")),
               "public_cost_hi90": float(cost.quantile(0.95, "linear")),
               "cost_per_settled_person": float(cost.mean()) / settled if settled > 0 else None}
        for t in targets.get(d["package"], []):
            sel = lambda df: df.filter(pl.col("point") == point) if df is not None else None  # noqa: E731
            s = simulated(part, t, sel(towns), sel(groups))
            row[target_column(t)] = (sum(meets(float(v), t) for v in s.to_list()) / s.len()) \
                if s is not None and s.len() else None
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None).sort("point")


def _cell(value, kind: str) -> str:
    if value is None or value != value:
        return "n/a"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "yi":
        return f"{value / 1e8:,.2f}"
    if kind == "share":
        return f"{100 * value:.0f}%"
    if kind == "int":
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def format_points(table: pl.DataFrame, factors: list[str], uncertainty: str | None = None) -> str:
    """The console table: one line per point, labelled by its factor values (and package, when
    the sweep has several), with rates, flows, cost and target attainment."""
    several = table["package"].n_unique() > 1
    met = [c for c in table.columns if c.startswith("met: ")]
    cols = ([("package", "package", "str")] if several else []) + \
        [(f, f, "val") for f in factors] + [
        ("resident_urbanization", "resident urb.", "pct"),
        ("hukou_urbanization", "hukou urb.", "pct"),
        ("settled_persons_per_year", "settled/yr", "int"),
        ("public_cost_yuan_per_year", "cost/yr 亿", "yi"),
        ("public_cost_90", "cost/yr 90% 亿", "interval"),
        ("cost_per_settled_person", "yuan/settler", "int")] + \
        [(c, f"P({i + 1})", "share") for i, c in enumerate(met)]
    cells = []
    for r in table.iter_rows(named=True):
        line = []
        for key, _, kind in cols:
            if kind == "interval":
                line.append(f"[{_cell(r['public_cost_lo90'], 'yi')}, {_cell(r['public_cost_hi90'], 'yi')}]")
            else:
                line.append(_cell(r.get(key), kind))
        cells.append(line)
    heads = [h for _, h, _ in cols]
    width = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    rates = "final year" if any(k in RATE_METRICS for k, _, _ in cols) else ""
    lines = [f"Design points by factor value: rates in the {rates}, flows and cost a year "
             f"(means over {int(table['replications'].max())} replications)"]
    if uncertainty:
        lines.append(uncertainty[0].upper() + uncertainty[1:] + ".")
    lines.append("  ".join(f"{h:>{w}}" for h, w in zip(heads, width)))
    lines += ["  ".join(f"{c:>{w}}" for c, w in zip(line, width)) for line in cells]
    for i, c in enumerate(met):
        lines.append(f"P({i + 1}) = share of replications meeting '{c[5:]}'")
    return "\n".join(lines)
