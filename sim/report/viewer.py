"""Results viewer (issue 5): figures and tables from a results folder, and a self-contained
HTML report.

A results folder is either a sweep (``sim sweep`` / ``make run``: ``metrics/``, ``groups/``,
``towns/``, ``flows/`` of per-run Parquet files) or a run (``sim run``: ``metrics.parquet`` etc.,
or one sub-folder per package). :func:`load` reads either into :class:`Results`, labelling each
series by package (and design point, when a sweep varies factors).

Every figure function takes :class:`Results` and returns a matplotlib Figure; a folder missing
what a figure needs raises :class:`ResultsError` naming the folder and the missing column,
rather than drawing an empty chart. :func:`report` writes the decision report
(:mod:`sim.report.document`: ``report.html``, images inlined, no scripts, opens offline) and the
figures as PNG files. The notebook ``results/viewer.ipynb`` only calls these functions.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

# matplotlib picks a non-interactive backend (Agg) by itself on a machine with no display, so
# static export needs no browser; in a notebook the inline backend shows the figures.
import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from sim.errors import ResultsError

TIER_ORDER = ["central_city", "sub_center", "small_town", "rural_community"]


def _cjk_font() -> list[str]:
    """Register Noto Sans CJK SC (shipped by the mplfonts package) so Chinese place names
    render; fall back to the default fonts if it is missing."""
    try:
        import mplfonts
        from matplotlib import font_manager

        path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
        font_manager.fontManager.addfont(str(path))
        return [font_manager.FontProperties(fname=str(path)).get_name()]
    except (ImportError, OSError, RuntimeError):
        return []


plt.rcParams.update({"font.family": ["DejaVu Sans", *_cjk_font(), "sans-serif"],
                     "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100,
                     # names from configs are text, never TeX: "$\\foo$" in a package name must not
                     # reach matplotlib's math parser
                     "text.parse_math": False})


@dataclass
class Results:
    """The tables of a results folder, each with a ``label`` column (package, or package and
    design point) in the order the packages were given; the first label is the reference."""

    folder: Path
    metrics: pl.DataFrame
    groups: pl.DataFrame | None
    towns: pl.DataFrame | None
    flows: pl.DataFrame | None
    labels: list[str]
    manifest: dict = field(default_factory=dict)
    targets: dict[str, pl.DataFrame] = field(default_factory=dict)
    manifests: dict[str, dict] = field(default_factory=dict)
    """Per label, the manifest of its run (a ``sim run`` folder of several packages); a sweep's
    labels share the sweep's manifest (:attr:`manifest`)."""
    design: pl.DataFrame | None = None
    """A sweep's ``design.parquet`` (point, package, region, ``x.<factor>`` values)."""

    @property
    def factors(self) -> list[str]:
        """The factors a sweep varies (the ``x.<factor>`` columns of its design, without ``x.``);
        empty for a run folder or a sweep without factors."""
        if self.design is None:
            return [c.removeprefix("x.") for c in self.metrics.columns if c.startswith("x.")]
        return [c.removeprefix("x.") for c in self.design.columns if c.startswith("x.")]

    def require(self, table: str, columns: list[str], what: str) -> pl.DataFrame:
        df = getattr(self, table)
        if df is None:
            raise ResultsError(f"{self.folder}: no '{table}' output, needed for {what}")
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ResultsError(f"{self.folder}: '{table}' lacks column(s) {missing}, needed for {what}")
        return df


def _read_dir(folder: Path, name: str) -> pl.DataFrame | None:
    d = folder / name
    done = {p.stem for p in (folder / "done").glob("*.json")}
    files = sorted(p for p in d.glob("*.parquet") if p.stem in done) if d.is_dir() else []
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed") if files else None


def _label(df: pl.DataFrame | None, multi_point: bool) -> pl.DataFrame | None:
    if df is None:
        return None
    if multi_point:
        return df.with_columns((pl.col("package") + " p" + pl.col("point").cast(pl.String)).alias("label"))
    return df.with_columns(pl.col("package").alias("label"))


def uncertainty(manifest: dict) -> str:
    """What the report's bands cover, from the manifest of a run (``behaviour.uncertainty``) or
    of a sweep (``uncertainty``)."""
    beh = manifest.get("behaviour")
    label = manifest.get("uncertainty") or (beh.get("uncertainty") if isinstance(beh, dict) else None)
    return label or "what the bands cover is not recorded (results of an older version)"


def band_caption(fig: plt.Figure, res: Results) -> None:
    """Say under a figure what its bands cover (issue 16: every table and figure says whether
    they are behaviour and chance, or chance only), leaving room for the line."""
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.text(0.01, 0.01, "Bands: 90% across replications; " + uncertainty(res.manifest), fontsize=7.5,
             color="#57606a", ha="left", va="bottom", wrap=True)


def load(folder: str | Path) -> Results:
    """Read a sweep or run folder (see the module docstring)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsError(f"{folder}: no such results folder")
    if (folder / "metrics").is_dir():  # a sweep
        tables = {n: _read_dir(folder, n) for n in ("metrics", "groups", "towns", "flows")}
        if tables["metrics"] is None:
            raise ResultsError(f"{folder}: the sweep has no finished runs")
        manifest = json.loads((folder / "manifest.json").read_text()) if (folder / "manifest.json").is_file() else {}
        multi = tables["metrics"].group_by("package").agg(pl.col("point").n_unique())["point"].max() > 1
        tables = {k: _label(v, multi) for k, v in tables.items()}
        order = tables["metrics"].sort("point")["label"].unique(maintain_order=True).to_list()
        targets = {p.stem.removeprefix("targets_"): pl.read_parquet(p) for p in folder.glob("targets_*.parquet")}
        design = pl.read_parquet(folder / "design.parquet") if (folder / "design.parquet").is_file() else None
        return Results(folder, tables["metrics"], tables["groups"], tables["towns"], tables["flows"],
                       order, manifest, targets, design=design)
    runs = [folder] if (folder / "metrics.parquet").is_file() else \
        sorted(p.parent for p in folder.glob("*/metrics.parquet"))
    order_file = folder / "packages.json"
    if order_file.is_file():  # `sim run A B`: keep the order given (A is the reference)
        order = json.loads(order_file.read_text())
        runs.sort(key=lambda r: order.index(r.name) if r.name in order else len(order))
    if not runs:
        raise ResultsError(f"{folder}: neither a sweep folder (metrics/) nor a run folder (metrics.parquet)")
    parts: dict[str, list[pl.DataFrame]] = {}
    targets, labels, manifest, manifests = {}, [], {}, {}
    for run in runs:
        manifest = json.loads((run / "manifest.json").read_text()) if (run / "manifest.json").is_file() else {}
        name = manifest.get("package", run.name)
        labels.append(name)
        manifests[name] = manifest
        for t in ("metrics", "groups", "towns", "flows"):
            if (run / f"{t}.parquet").is_file():
                parts.setdefault(t, []).append(pl.read_parquet(run / f"{t}.parquet")
                                               .with_columns(pl.lit(name).alias("package"),
                                                             pl.lit(name).alias("label")))
        if (run / "targets.parquet").is_file():
            targets[name] = pl.read_parquet(run / "targets.parquet")
    tabs = {t: pl.concat(v, how="diagonal_relaxed") if v else None for t, v in parts.items()}
    return Results(folder, tabs["metrics"], tabs.get("groups"), tabs.get("towns"), tabs.get("flows"),
                   labels, manifest, targets, manifests=manifests)


def _band(df: pl.DataFrame, col: str) -> pl.DataFrame:
    return (df.group_by("label", "year")
            .agg(pl.col(col).mean().alias("mean"), pl.col(col).quantile(0.05, "linear").alias("lo"),
                 pl.col(col).quantile(0.95, "linear").alias("hi"))
            .sort("year"))


def _colors(labels: list[str]) -> dict[str, str]:
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {lab: cycle[i % len(cycle)] for i, lab in enumerate(labels)}


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def fig_urbanization(res: Results) -> plt.Figure:
    """Resident and hukou urbanisation over time per package, with 90% bands across
    replications, and the gap between them."""
    m = res.require("metrics", ["year", "resident_urbanization", "hukou_urbanization",
                                "urbanization_gap"], "the urbanisation chart")
    colors = _colors(res.labels)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.6, 1]})
    for lab in res.labels:
        sub = m.filter(pl.col("label") == lab)
        for col, style in (("resident_urbanization", "-"), ("hukou_urbanization", "--")):
            b = _band(sub, col)
            axes[0].plot(b["year"], 100 * b["mean"], style, color=colors[lab],
                         label=f"{lab}: {'resident' if col.startswith('res') else 'hukou'}")
            axes[0].fill_between(b["year"], 100 * b["lo"], 100 * b["hi"], color=colors[lab], alpha=0.2)
        g = _band(sub, "urbanization_gap")
        axes[1].plot(g["year"], 100 * g["mean"], color=colors[lab], label=lab)
        axes[1].fill_between(g["year"], 100 * g["lo"], 100 * g["hi"], color=colors[lab], alpha=0.2)
    axes[0].set(title="Urbanisation: resident (solid) and hukou (dashed)", ylabel="% of population", xlabel="year")
    axes[1].set(title="Gap: resident − hukou", ylabel="percentage points", xlabel="year")
    axes[0].legend(fontsize=8, frameon=False)
    axes[1].legend(fontsize=8, frameon=False)
    band_caption(fig, res)
    return fig


DIFF_METRICS = [("resident_urbanization", "resident urbanisation (pp)", 100),
                ("hukou_urbanization", "hukou urbanisation (pp)", 100),
                ("settled_persons", "settled persons / year", 1),
                ("left_behind_children", "left-behind children", 1)]


def baseline_pairs(res: Results) -> list[tuple[str, str]]:
    """(label, baseline label) for every label compared with another: each package against its
    counterfactual in the results, else the first package (:func:`sim.report.decision.pairings`).
    For a sweep that varies factors, each label against the first."""
    if any(lab != pkg for lab, pkg in res.metrics.select("label", "package").unique().iter_rows()):
        return [(lab, res.labels[0]) for lab in res.labels[1:]]
    from sim.report.decision import packages, pairings

    return [(p.package, p.baseline) for p in pairings(packages(res)) if p.baseline is not None]


def paired_differences(res: Results, pairs: list[tuple[str, str]] | None = None) -> pl.DataFrame:
    """Per (label, baseline) pair — by default each package against its baseline
    (:func:`baseline_pairs`) — metric and year: the mean paired difference **label − baseline**
    across replications (so a package that settles more shows a positive difference), and its
    90% confidence interval."""
    from sim.experiments.compare import t90

    m = res.require("metrics", ["year", "replication"] + [c for c, _, _ in DIFF_METRICS],
                    "the paired differences")
    rows = []
    for lab, ref in (baseline_pairs(res) if pairs is None else pairs):
        base = m.filter(pl.col("label") == ref).select("replication", "year",
                                                       *[pl.col(c).alias(f"_b_{c}") for c, _, _ in DIFF_METRICS])
        j = m.filter(pl.col("label") == lab).join(base, on=["replication", "year"])
        for col, _, _ in DIFF_METRICS:
            d = j.with_columns((pl.col(col) - pl.col(f"_b_{col}")).alias("d")).group_by("year").agg(
                pl.col("d").mean().alias("diff"), pl.col("d").std().alias("sd"), pl.len().alias("n"))
            for r in d.sort("year").iter_rows(named=True):
                half = t90(r["n"] - 1) * (r["sd"] or 0.0) / np.sqrt(r["n"]) if r["n"] > 1 else float("nan")
                rows.append({"label": lab, "reference": ref, "metric": col, "year": r["year"],
                             "diff": r["diff"], "lo90": r["diff"] - half, "hi90": r["diff"] + half,
                             "n": r["n"]})
    return pl.DataFrame(rows) if rows else pl.DataFrame(
        schema={"label": pl.String, "reference": pl.String, "metric": pl.String, "year": pl.Int64,
                "diff": pl.Float64, "lo90": pl.Float64, "hi90": pl.Float64, "n": pl.Int64})


def fig_differences(res: Results, pairs: list[tuple[str, str]] | None = None) -> plt.Figure:
    """Each package's paired difference from its baseline, package − baseline (same
    replications: common random numbers), with the 90% confidence interval of the mean
    difference."""
    if len(res.labels) < 2:
        raise ResultsError(f"{res.folder}: one package only; paired differences need two or more")
    pairs = baseline_pairs(res) if pairs is None else pairs
    d = paired_differences(res, pairs)
    colors = _colors(res.labels)
    fig, axes = plt.subplots(1, len(DIFF_METRICS), figsize=(4 * len(DIFF_METRICS), 3.6))
    for ax, (col, title, k) in zip(axes, DIFF_METRICS):
        for lab, ref in pairs:
            s = d.filter((pl.col("label") == lab) & (pl.col("metric") == col)).sort("year")
            ax.plot(s["year"], k * s["diff"], color=colors[lab], label=f"{lab} − {ref}")
            ax.fill_between(s["year"], k * s["lo90"], k * s["hi90"], color=colors[lab], alpha=0.25)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set(title=title, xlabel="year")
    axes[0].set_ylabel("package − baseline")
    axes[0].legend(fontsize=8, frameon=False)
    band_caption(fig, res)
    return fig


def _tier_of(res: Results) -> dict[str, str]:
    towns = res.towns
    if towns is None or "tier" not in towns.columns:
        return {}
    return dict(towns.select("town", "tier").unique().iter_rows())


def flow_table(res: Results, label: str, kinds: tuple[str, ...] = ("migrated", "settled")) -> pl.DataFrame:
    """Persons per replication-year moving from each origin to each destination tier."""
    f = res.require("flows", ["origin", "destination", "kind", "persons", "replication"], "the flow diagram")
    tiers = _tier_of(res)
    if not tiers:
        raise ResultsError(f"{res.folder}: 'towns' output with a 'tier' column is needed for the flow diagram")
    sub = f.filter((pl.col("label") == label) & pl.col("kind").is_in(list(kinds)))
    n_rep = max(sub["replication"].n_unique(), 1)
    years = max(res.metrics.filter(pl.col("label") == label)["year"].n_unique() - 1, 1)
    return (sub.with_columns(pl.col("destination").replace_strict(tiers, default="(village)").alias("tier"))
            .group_by("origin", "tier").agg((pl.col("persons").sum() / n_rep / years).alias("persons"))
            .sort("persons", descending=True))


def _alluvial(ax, table: pl.DataFrame, title: str) -> None:
    left = table.group_by("origin").agg(pl.col("persons").sum()).sort("persons", descending=True)
    right_tiers = [t for t in TIER_ORDER + ["(village)"] if t in set(table["tier"].to_list())]
    right = {t: float(table.filter(pl.col("tier") == t)["persons"].sum()) for t in right_tiers}
    total = float(left["persons"].sum()) or 1.0
    gap = 0.02
    ypos, y = {}, 1.0
    for o, p in left.iter_rows():
        h = p / total * (1 - gap * len(left))
        ypos[o] = [y - h, y]
        y -= h + gap
    rpos, y = {}, 1.0
    for t in right_tiers:
        h = right[t] / total * (1 - gap * len(right_tiers))
        rpos[t] = [y - h, y]
        y -= h + gap
    cmap = plt.get_cmap("tab20")
    lcur = {o: ypos[o][1] for o in ypos}
    rcur = {t: rpos[t][1] for t in rpos}
    for i, (o, _) in enumerate(left.iter_rows()):
        for t in right_tiers:
            row = table.filter((pl.col("origin") == o) & (pl.col("tier") == t))
            if row.height == 0:
                continue
            h = float(row["persons"][0]) / total * (1 - gap * len(left))
            hr = float(row["persons"][0]) / total * (1 - gap * len(right_tiers))
            y0t, y0b = lcur[o], lcur[o] - h
            y1t, y1b = rcur[t], rcur[t] - hr
            lcur[o], rcur[t] = y0b, y1b
            verts = [(0.1, y0t), (0.5, y0t), (0.5, y1t), (0.9, y1t), (0.9, y1b), (0.5, y1b),
                     (0.5, y0b), (0.1, y0b), (0.1, y0t)]
            codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.LINETO,
                     MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.CLOSEPOLY]
            ax.add_patch(PathPatch(MplPath(verts, codes), facecolor=cmap(i % 20), alpha=0.55, lw=0))
    for o, (lo, hi) in ypos.items():
        ax.add_patch(plt.Rectangle((0.08, lo), 0.02, hi - lo, color="black"))
        ax.text(0.07, (lo + hi) / 2, o, ha="right", va="center", fontsize=7)
    for t, (lo, hi) in rpos.items():
        ax.add_patch(plt.Rectangle((0.9, lo), 0.02, hi - lo, color="black"))
        ax.text(0.93, (lo + hi) / 2, f"{t}\n{right[t]:,.0f}/yr", ha="left", va="center", fontsize=8)
    ax.set_xlim(-0.25, 1.15)
    ax.set_ylim(min(v[0] for v in list(ypos.values()) + list(rpos.values())) - 0.02, 1.02)
    ax.axis("off")
    ax.set_title(title, fontsize=10)


def fig_flows(res: Results) -> plt.Figure:
    """Settlement and migration flows from origins to town tiers (an alluvial diagram), per
    package: persons per year, averaged over replications."""
    fig, axes = plt.subplots(1, len(res.labels), figsize=(6.5 * len(res.labels), 5), squeeze=False)
    for ax, lab in zip(axes[0], res.labels):
        table = flow_table(res, lab)
        if table.height == 0:
            raise ResultsError(f"{res.folder}: no migrated or settled flows for {lab}")
        _alluvial(ax, table, f"{lab}: origins → town tiers (migrated + settled)")
    fig.tight_layout()
    return fig


GROUP_LABELS = {"all": "all", "new_generation": "new generation", "older": "older",
                "with_children": "with children", "without_children": "no children",
                "with_homestead": "homestead kept", "without_homestead": "no homestead",
                "with_land": "with land", "native": "natives", "outsider": "outsiders"}
"""The groups the report's figure shows, in its order (the tier groups are in the table)."""


def group_table(res: Results) -> pl.DataFrame:
    g = res.require("groups", ["group", "intention", "eligible_share", "settlement_rate", "year"],
                    "settlement by group")
    return (g.filter(pl.col("year") > pl.col("year").min())
            .group_by("label", "group")
            .agg(pl.col("intention").mean(), pl.col("eligible_share").mean(),
                 pl.col("settlement_rate").mean(), pl.col("settled_persons").mean())
            .sort("label", "group"))


def fig_groups(res: Results) -> plt.Figure:
    """Intention vs eligibility vs actual settlement by group (yearly means): high intention
    with low eligibility or settlement shows where the 'glass door' is."""
    t = group_table(res)
    groups = [g for g in GROUP_LABELS if g in set(t["group"].to_list())]
    fig, axes = plt.subplots(1, len(res.labels), figsize=(6 * len(res.labels), 4), squeeze=False)
    for ax, lab in zip(axes[0], res.labels):
        sub = t.filter(pl.col("label") == lab)
        x = np.arange(len(groups))
        for k, (col, name) in enumerate((("intention", "intention"), ("eligible_share", "eligible"),
                                         ("settlement_rate", "settled this year"))):
            vals = [float(sub.filter(pl.col("group") == g)[col].fill_nan(0).fill_null(0).sum()) for g in groups]
            ax.bar(x + (k - 1) * 0.27, [100 * v for v in vals], 0.27, label=name)
        ax.set_xticks(x, [GROUP_LABELS[g] for g in groups], rotation=20, fontsize=8)
        ax.set(title=f"{lab}: non-hukou residents by group", ylabel="% of the group (yearly mean)")
        ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def fig_pressure(res: Results) -> plt.Figure:
    """School-seat shortfall and public-rental queue per town (final year), left-behind
    children over time, rights exited and compensation, and public cost per settler."""
    towns = res.require("towns", ["town", "seat_shortfall", "public_rental_queue", "year"],
                        "the pressure charts")
    m = res.require("metrics", ["left_behind_children", "land_exited_mu", "homesteads_exited",
                                "compensation_paid_yuan", "public_cost_yuan", "settled_persons"],
                    "the pressure charts")
    colors = _colors(res.labels)
    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    final = towns.filter(pl.col("year") == pl.col("year").max()).group_by("label", "town").agg(
        pl.col("seat_shortfall").mean(), pl.col("public_rental_queue").mean())
    town_names = final.group_by("town").agg(pl.col("seat_shortfall").sum() + pl.col("public_rental_queue").sum())\
        .sort("seat_shortfall", descending=True)["town"].to_list()[:12]
    x = np.arange(len(town_names))
    w = 0.8 / max(len(res.labels), 1)
    for i, lab in enumerate(res.labels):
        sub = final.filter(pl.col("label") == lab)
        short = [float(sub.filter(pl.col("town") == t)["seat_shortfall"].sum()) for t in town_names]
        queue = [float(sub.filter(pl.col("town") == t)["public_rental_queue"].sum()) for t in town_names]
        axes[0, 0].bar(x + i * w, short, w, color=colors[lab], label=lab)
        axes[0, 1].bar(x + i * w, queue, w, color=colors[lab], label=lab)
    for ax, title in ((axes[0, 0], "school-seat shortfall (children), final year"),
                      (axes[0, 1], "public-rental queue (households), final year")):
        ax.set_xticks(x + w * (len(res.labels) - 1) / 2, town_names, rotation=35, ha="right", fontsize=7)
        ax.set_title(title)
        ax.legend(fontsize=8, frameon=False)
    for lab in res.labels:
        b = _band(m.filter(pl.col("label") == lab), "left_behind_children")
        axes[1, 0].plot(b["year"], b["mean"], color=colors[lab], label=lab)
        axes[1, 0].fill_between(b["year"], b["lo"], b["hi"], color=colors[lab], alpha=0.2)
    axes[1, 0].set(title="left-behind children", xlabel="year")
    axes[1, 0].legend(fontsize=8, frameon=False)
    s = summary_table(res)
    y = np.arange(len(res.labels))
    cost = [v / 1e4 if v == v else 0.0 for v in s["public_cost_per_settler_yuan"].to_list()]
    axes[1, 1].barh(y, cost, color=[colors[lab] for lab in res.labels])
    for yi, c in zip(y, cost):
        axes[1, 1].text(c, yi, f" {c:,.1f}", va="center", fontsize=8)
    axes[1, 1].set_yticks(y, res.labels, fontsize=8)
    axes[1, 1].set(title="public cost per settled person (万 yuan); rights exited: see the table",
                   xlabel="万 yuan per settled person")
    band_caption(fig, res)
    return fig


def summary_table(res: Results) -> pl.DataFrame:
    """Per package: yearly means over the run of settlement, rights exited, compensation and
    public cost, and public cost per settled person."""
    m = res.require("metrics", ["settled_persons", "land_exited_mu", "homesteads_exited",
                                "collective_shares_exited", "compensation_paid_yuan",
                                "public_cost_yuan", "left_behind_children"], "the summary table")
    run = m.filter(pl.col("year") > pl.col("year").min())
    out = run.group_by("label").agg(
        pl.col("settled_persons").mean().alias("settled_persons_per_year"),
        pl.col("land_exited_mu").mean().alias("land_exited_mu_per_year"),
        pl.col("homesteads_exited").mean().alias("homesteads_exited_per_year"),
        pl.col("collective_shares_exited").mean().alias("collective_shares_exited_per_year"),
        pl.col("compensation_paid_yuan").mean().alias("compensation_yuan_per_year"),
        pl.col("public_cost_yuan").mean().alias("public_cost_yuan_per_year"),
        (pl.col("public_cost_yuan").sum() / pl.col("settled_persons").sum()).alias("public_cost_per_settler_yuan"),
    )
    order = {lab: i for i, lab in enumerate(res.labels)}
    return out.with_columns(pl.col("label").replace_strict(order).alias("_o")).sort("_o").drop("_o")


def targets_tables(res: Results) -> dict[str, pl.DataFrame]:
    """Target attainment per package that has targets (written by the run or sweep)."""
    return dict(res.targets)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

FIGURES = [
    ("urbanisation", "Resident and hukou urbanisation", fig_urbanization),
    ("differences", "Paired differences: package − baseline", fig_differences),
    ("flows", "Flows from villages to towns, by tier", fig_flows),
    ("groups", "Settlement by group: intention, eligibility, settlement", fig_groups),
    ("pressure", "Seats, public rental, left-behind children, rights and cost", fig_pressure),
]


def save_png(fig: plt.Figure, path: Path) -> bytes:
    """Write a figure as PNG to ``path`` (years on whole numbers) and return its bytes."""
    from matplotlib.ticker import MaxNLocator

    for ax in fig.axes:  # years are whole numbers: no 2015.5 on a year axis
        if ax.get_xlabel() == "year":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = buf.getvalue()
    path.write_bytes(data)
    return data


RESPONSE_OUTCOMES = [("settled_persons", "persons settling a year (落户)", 1.0),
                     ("settled_persons_diff", "effect on persons settling a year\n(package − baseline)", 1.0),
                     ("hukou_urbanization", "hukou urbanisation, final year (%)", 100.0),
                     ("public_cost", "public cost a year (亿 yuan)", 1e-8)]


def fig_response(table: pl.DataFrame, factor_names: list[str], grid: bool, targets: list[str],
                 names: dict[str, str]) -> plt.Figure:
    """A factor sweep's response curves. ``table`` is
    :func:`sim.report.decision.design_summary`'s (one row per design point).

    A grid design (``grid``): per package, each outcome and each target's probability against
    the first factor's value, one line per combination of the other factors' values (a legend
    when there are at most eight). A sampled design (Latin hypercube, Sobol, Morris): per
    package and outcome, the design points against each factor in turn."""
    import textwrap

    factors = [c for c in table.columns if c.startswith("x.")]
    outcomes = [o for o in RESPONSE_OUTCOMES if o[0] in table.columns and table[o[0]].drop_nulls().len()]
    packages = table["package"].unique(maintain_order=True).to_list()
    cmap = plt.get_cmap("viridis")
    if not grid:  # a sampled design: every factor on its own x axis
        outcomes = outcomes[:2]
        ncol = min(6, len(factors))
        per = -(-len(factors) // ncol)
        nrows = per * len(outcomes) * len(packages)
        fig, axes = plt.subplots(nrows, ncol, figsize=(2.6 * ncol, 2.3 * nrows), squeeze=False)
        row = 0
        for pkg in packages:
            sub = table.filter(pl.col("package") == pkg)
            for col, title, k in outcomes:
                for i, (f, fname) in enumerate(zip(factors, factor_names)):
                    ax = axes[row + i // ncol, i % ncol]
                    ax.scatter(sub[f].cast(pl.Float64), sub[col].cast(pl.Float64) * k, s=8)
                    ax.set_xlabel(fname, fontsize=8)
                    ax.set_title(textwrap.fill(f"{names.get(pkg, pkg)}: {title}", 40), fontsize=7)
                    ax.tick_params(labelsize=7)
                for i in range(len(factors), per * ncol):
                    axes[row + i // ncol, i % ncol].axis("off")
                row += per
        fig.tight_layout()
        return fig
    outcomes += [(f"target{k}", f"P(meet) {t}", 100.0) for k, t in enumerate(targets[:4])]
    x = factors[0]
    others = factors[1:]
    ncol = min(4, len(outcomes))
    per = -(-len(outcomes) // ncol)  # rows of panels per package
    fig, axes = plt.subplots(per * len(packages), ncol, figsize=(3.4 * ncol, 2.8 * per * len(packages)),
                             squeeze=False)
    combos: list[tuple] = [()]
    for r, pkg in enumerate(packages):
        sub = table.filter(pl.col("package") == pkg)
        combos = sub.select(others).unique(maintain_order=True).rows() if others else [()]
        for c, (col, title, k) in enumerate(outcomes):
            ax = axes[r * per + c // ncol, c % ncol]
            for i, combo in enumerate(combos):
                cond = pl.lit(True)
                for f, v in zip(others, combo):
                    cond = cond & (pl.col(f) == v)
                line = sub.filter(cond).sort(x)
                lab = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in combo) or None
                ax.plot(line[x].cast(pl.Float64), line[col].cast(pl.Float64) * k, "o-", ms=3,
                        color=cmap(i / max(len(combos) - 1, 1)), label=lab)
            ax.set_title(textwrap.fill(f"{names.get(pkg, pkg)}: {title}", 46), fontsize=8)
            ax.set_xlabel(factor_names[0], fontsize=8)
            if col.startswith("target"):
                ax.set_ylim(-5, 105)
                ax.set_ylabel("% of replications", fontsize=8)
        for c in range(len(outcomes), per * ncol):
            axes[r * per + c // ncol, c % ncol].axis("off")
    if others and 1 < len(combos) <= 8:
        axes[0, -1].legend(title="; ".join(factor_names[1:]), fontsize=7, title_fontsize=7, frameon=False,
                           loc="upper left", bbox_to_anchor=(1.0, 1.0))
    elif others:
        fig.suptitle(f"one line per combination of {'; '.join(factor_names[1:])} ({len(combos)} lines, "
                     "dark to light in design order)", fontsize=8)
    fig.tight_layout()
    return fig


def report(folder: str | Path, out: str | Path | None = None, baseline: str | None = None) -> Path:
    """Write ``<out>/report.html`` and the figures as PNG (see :func:`sim.report.document.report`,
    which builds the page); return the HTML path."""
    from sim.report.document import report as write

    return write(folder, out, baseline)
