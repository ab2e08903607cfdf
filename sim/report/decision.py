"""The decision summary (issue 17 §1): what a package does against its baseline, whether it meets
its document's targets and how sure that is, and what it costs, computed from a results folder.

A planner's questions are answered per package against its **baseline**: the package the user
names (``sim report --baseline NAME``), else the package's counterfactual in the same results
(``<region>_pre_reform`` for ``<region>_<year>``, as ``configs/policies`` names them), else the
first package given. Every effect is **package − baseline**, so a package that settles more shows
a positive effect.

Every interval here is the 5th-95th percentile **across replications**. Replication r of every
package runs on the same households and random draws and, with the posterior ensemble (the
default behaviour), the same posterior behaviour draw; a paired difference is taken within a
replication, so its range covers behaviour and chance together, as the report's header says.
The probability of meeting a target is the share of replications that meet it
(:func:`sim.outputs.targets.attainment`).

This module computes; :mod:`sim.report.document` writes the page. Numbers leave here as floats;
:func:`count`, :func:`pct`, :func:`pp` and :func:`yuan` turn them into the text a planner reads
(percentages, persons or 万, yuan with 万 / 亿), never code names or bare fractions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from sim.configuration import (
    METRIC_DEFINITIONS,
    PER_TOWN_GROUPS,
    RATE_METRICS,
    REGION_WIDE_GROUPS,
    Policy,
    Target,
    load_policy,
    own_region_name,
)
from sim.errors import ConfigError, ResultsError
from sim.outputs.targets import attainment

# ---------------------------------------------------------------------------------------------
# Words and numbers
# ---------------------------------------------------------------------------------------------


def _sig(x: float, digits: int = 3) -> float:
    """``x`` rounded to ``digits`` significant figures (replications do not support more)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def count(x: float | None, signed: bool = False, unit: float | None = None) -> str:
    """Persons or households: three significant figures, in 万 from 100,000 up (or in the
    ``unit`` given, 1 or 1e4, so that numbers read together share one)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    sign = "+" if signed and x > 0 else ("−" if x < 0 and _sig(x) != 0 else "")
    a = abs(_sig(x))
    unit = unit if unit is not None else (1e4 if a >= 100_000 else 1.0)
    if unit == 1e4:
        return f"{sign}{a / 1e4:,.0f}万" if a >= 1e7 else f"{sign}{a / 1e4:,.1f}万"
    return f"{sign}{a:,.0f}"


def pct(x: float | None) -> str:
    """A rate (a fraction 0-1) as a percentage."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{100 * x:.1f}%"


def pp(x: float | None) -> str:
    """A difference of rates in percentage points (百分点), signed."""
    if x is None or not math.isfinite(x):
        return "n/a"
    v = round(100 * x, 1)
    sign = "+" if v > 0 else ("−" if v < 0 else "±")
    return f"{sign}{abs(v):.1f} pp"


def yuan(x: float | None, signed: bool = False, unit: float | None = None) -> str:
    """Yuan in 亿 (10^8) or 万 (10^4), three significant figures (or in the ``unit`` given)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    a = abs(x)
    sign = "+" if signed and x > 0 else ("−" if x < 0 else "")
    unit = unit if unit is not None else (1e8 if a >= 1e8 else 1e4 if a >= 1e4 else 1.0)
    if unit == 1.0:
        return f"{sign}{_sig(a):,.0f} yuan"
    shown = _sig(a / unit) if a >= unit else round(a / unit, 2)
    return f"{sign}{shown:,g}{'亿' if unit == 1e8 else '万'} yuan"


def unit_of(kind: str, *xs: float | None) -> float | None:
    """The one unit numbers read together are shown in: that of the largest."""
    big = max((abs(x) for x in xs if x is not None and math.isfinite(x)), default=0.0)
    if kind == "count":
        return 1e4 if big >= 100_000 else 1.0
    if kind == "yuan":
        return 1e8 if big >= 1e8 else 1e4 if big >= 1e4 else 1.0
    return None


def value(kind: str, x: float | None, signed: bool = False, unit: float | None = None) -> str:
    """A number of ``kind`` (``pct``, ``count`` or ``yuan``) as text; a signed rate is in pp."""
    if kind == "pct":
        return pp(x) if signed else pct(x)
    if kind == "yuan":
        return yuan(x, signed, unit)
    return count(x, signed, unit)


def metric_kind(metric: str) -> str:
    """How a metric is shown: a rate as a percentage, yuan in 万/亿, anything else as a count."""
    if metric in RATE_METRICS:
        return "pct"
    return "yuan" if metric.endswith("_yuan") else "count"


# ---------------------------------------------------------------------------------------------
# Statistics across replications
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    """Mean and 90% range (5th-95th percentile) across replications of one quantity."""

    mean: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, s: pl.Series) -> Stat:
        s = s.cast(pl.Float64).drop_nulls().drop_nans()
        if s.len() == 0:
            return cls(float("nan"), float("nan"), float("nan"), 0)
        return cls(float(s.mean()), float(s.quantile(0.05, "linear")),
                   float(s.quantile(0.95, "linear")), s.len())

    def text(self, kind: str, signed: bool = False, unit: float | None = None) -> str:
        """``mean [lo to hi]`` in one unit (``unit``, else that of the largest; the mean alone
        when the range is one value)."""
        if self.n == 0:
            return "n/a"
        u = unit if unit is not None else unit_of(kind, self.mean, self.lo, self.hi)
        mean, lo, hi = (value(kind, x, signed, u) for x in (self.mean, self.lo, self.hi))
        if self.n == 1 or lo == hi:
            return mean
        return f"{mean} [{lo} to {hi}]"


@dataclass(frozen=True)
class Indicator:
    """A headline outcome: a metrics column read as a yearly mean, a sum over the run's years,
    or the final year's value, with its words in English and Chinese."""

    key: str
    column: str
    how: str  # "mean" (per year), "sum" (over the run's years) or "final"
    en: str
    zh: str
    kind: str  # pct | count | yuan

    @property
    def label(self) -> str:
        return f"{self.zh} {self.en}"


INDICATORS = [
    Indicator("settled_persons", "settled_persons", "mean", "persons settling a year", "年均落户人数", "count"),
    Indicator("settled_households", "settled_households", "mean", "households settling a year",
              "年均落户户数", "count"),
    Indicator("hukou_urbanization", "hukou_urbanization", "final",
              "hukou urbanisation, final year (resident base)", "户籍人口城镇化率", "pct"),
    Indicator("resident_urbanization", "resident_urbanization", "final",
              "resident urbanisation, final year", "常住人口城镇化率", "pct"),
    Indicator("urbanization_gap", "urbanization_gap", "final",
              "gap between the two rates, final year", "两率差距", "pct"),
    Indicator("urban_hukou_net_increase", "urban_hukou_net_increase", "sum",
              "net new urban-hukou persons over the run", "城镇新增户籍人口", "count"),
    Indicator("left_behind_children", "left_behind_children", "final",
              "left-behind children, final year", "留守儿童", "count"),
    Indicator("public_cost", "public_cost_yuan", "mean", "public cost a year", "市民化公共成本 (年均)", "yuan"),
]
"""The outcomes of the effects table, in its order."""

GROUPS = [
    ("all", "全部农业转移人口", "all migrant households"),
    ("with_children", "有学龄子女的家庭", "with school-age children"),
    ("new_generation", "新生代农民工", "new generation (head born 1980 or later)"),
    ("with_land", "有承包地", "holding contract land"),
    ("outsider", "外来人口", "outsiders (hukou outside the region)"),
]
"""The groups of the settlement-by-group table (``groups.parquet``): key, Chinese, English."""


def per_replication(metrics: pl.DataFrame) -> pl.DataFrame:
    """One row per replication of one package (and design point): each :data:`INDICATORS`
    value, and the run's total public cost and settled persons (for costs per settler). The
    first year of a run's metrics is its starting state and is not a year of the run."""
    y0, y1 = metrics["year"].min(), metrics["year"].max()
    run = metrics.filter(pl.col("year") > y0)
    aggs = [pl.col("public_cost_yuan").sum().alias("cost_total"),
            pl.col("settled_persons").sum().alias("settled_total")]
    for ind in INDICATORS:
        if ind.column not in metrics.columns or ind.how == "final":
            continue
        agg = pl.col(ind.column).mean() if ind.how == "mean" else pl.col(ind.column).sum()
        aggs.append(agg.alias(ind.key))
    flows = run.group_by("replication").agg(aggs)
    finals = [pl.col(i.column).alias(i.key) for i in INDICATORS
              if i.how == "final" and i.column in metrics.columns]
    last = metrics.filter(pl.col("year") == y1).select("replication", *finals)
    out = flows.join(last, on="replication", how="inner").sort("replication")
    return out.with_columns((pl.col("cost_total") / pl.col("settled_total")).alias("cost_per_settler"))


# ---------------------------------------------------------------------------------------------
# Packages and baselines
# ---------------------------------------------------------------------------------------------


@dataclass
class Package:
    """One package of a results folder: its label there (the ``package`` column), its policy
    file (None when the file has moved since the run), and where it ran."""

    label: str
    name: str
    title: str
    policy: Policy | None
    region: str | None
    own_region: bool
    manifest: dict = field(default_factory=dict)

    @property
    def counterfactual(self) -> bool:
        """A pre-reform counterfactual (``*_pre_reform``, or a title that says so)."""
        return self.name.endswith("_pre_reform") or "counterfactual" in self.title.lower()

    @property
    def display(self) -> str:
        """The package's title (its name where it has none)."""
        return self.title or self.name


def _policy(path: str | Path | None) -> Policy | None:
    if not path or not Path(path).is_file():
        return None
    try:
        return load_policy(path)
    except ConfigError:  # edited since the run into something invalid: the report goes on
        return None


def packages(res) -> dict[str, Package]:
    """Every package of ``res`` (a :class:`~sim.report.viewer.Results`), by label, in the order
    given, with its policy file read again where it still exists."""
    labels = res.metrics["package"].unique(maintain_order=True).to_list()
    out: dict[str, Package] = {}
    if res.manifest.get("packages") is not None and res.design is not None:  # a sweep
        pols = [_policy(p) for p in res.manifest.get("packages", [])]
        by_name = {p.name: p for p in pols if p is not None}
        regions = dict(res.design.select("package", "region").unique().iter_rows()) \
            if "region" in res.design.columns else {}
        for lab in labels:
            name = lab.split("@")[0]
            pol = by_name.get(name)
            region = regions.get(lab)
            own = pol is not None and region is not None and own_region_name(pol) == region
            out[lab] = Package(lab, name, pol.meta.title if pol else "", pol, region, own, res.manifest)
        return out
    for lab in labels:
        man = res.manifests.get(lab, res.manifest)
        chain = (man.get("files") or {}).get("policy_chain") or []
        pol = _policy(chain[-1] if chain else None)
        region = man.get("region")
        own = pol is not None and region is not None and own_region_name(pol) == region
        out[lab] = Package(lab, man.get("package", lab), man.get("title") or (pol.meta.title if pol else ""),
                           pol, region, own, man)
    return out


@dataclass(frozen=True)
class Pairing:
    """A package and the baseline it is compared with, and why that baseline."""

    package: str
    baseline: str | None
    why: str


def pairings(pkgs: dict[str, Package], baseline: str | None = None) -> list[Pairing]:
    """Which package each package is compared with. ``baseline`` (a package name or label of
    these results) is every other package's baseline; otherwise a package's counterfactual in
    the results (``<region>_pre_reform`` on the same region, or the only counterfactual), else
    the first package given. A counterfactual that serves as a baseline is not itself
    summarised."""
    labels = list(pkgs)
    if baseline is not None:
        match = [lab for lab in labels if baseline in (lab, pkgs[lab].name)]
        if not match:
            raise ResultsError(f"--baseline '{baseline}': no such package in these results; "
                               f"allowed: {', '.join(labels)}")
        base = match[0]
        return [Pairing(lab, base, "named with --baseline") for lab in labels if lab != base] or \
            [Pairing(base, None, "the only package")]
    counterfactuals = [lab for lab in labels if pkgs[lab].counterfactual]
    out, used = [], set()
    for lab in labels:
        p = pkgs[lab]
        if p.counterfactual:
            continue
        suffix = lab[len(p.name):]  # "@Region" in a sweep across regions
        own = f"{p.name.split('_')[0]}_pre_reform{suffix}"
        same_region = [c for c in counterfactuals if pkgs[c].region == p.region]
        if own in pkgs:
            out.append(Pairing(lab, own, "its counterfactual"))
            used.add(own)
        elif len(same_region) == 1:
            out.append(Pairing(lab, same_region[0], "the counterfactual in these results"))
            used.add(same_region[0])
        elif labels[0] != lab:
            out.append(Pairing(lab, labels[0], "the first package given (no counterfactual of "
                               "this package in these results)"))
        else:
            other = [x for x in labels if x != lab]
            out.append(Pairing(lab, other[0] if other else None,
                               "the next package given (no counterfactual in these results)"
                               if other else "the only package"))
    for c in counterfactuals:  # a counterfactual no package is compared with: summarised alone
        if c not in used and not any(pr.package == c for pr in out):
            first = next((x for x in labels if x != c), None)
            out.append(Pairing(c, first, "the first package given") if first and first not in counterfactuals
                       else Pairing(c, None, "no other package"))
    return out


# ---------------------------------------------------------------------------------------------
# The summary of one package against its baseline
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """One indicator: the package, the baseline and the paired difference (package − baseline)."""

    indicator: Indicator
    package: Stat
    baseline: Stat | None
    diff: Stat | None


@dataclass(frozen=True)
class CostSummary:
    """Public cost a year, cost per settler and cost per additional settler (vs the baseline).
    ``extra_settler`` is None when the package does not settle more than the baseline in every
    replication (then ``extra_why`` says so and ``extra_point`` may still give the ratio of the
    means)."""

    per_year: Effect
    per_settler: Stat
    per_settler_baseline: Stat | None
    extra_point: float | None
    extra_settler: Stat | None
    extra_why: str


@dataclass
class TargetRow:
    """One stated target: what it asks, how it is measured, and the probability of meeting it
    under the package and under the baseline."""

    label: str
    metric: str
    definition: str
    source: str
    years: str
    aggregate: str
    op: str
    goal: float
    tolerance: float
    mean: float | None
    lo: float | None
    hi: float | None
    share: float | None
    n: int
    status: str
    baseline_share: float | None
    baseline_mean: float | None
    by_construction: str
    note: str = ""  # how the document's value became the goal (pro-rating, what came before the run)

    @property
    def kind(self) -> str:
        return metric_kind(self.metric)

    @property
    def goal_text(self) -> str:
        """The goal with its tolerance: "about 20,000 ± 5,000 (15,000 to 25,000)"."""
        if self.op == "~":
            lo, hi = self.goal - self.tolerance, self.goal + self.tolerance
            u = unit_of(self.kind, self.goal, lo, hi)
            tol = (f"{100 * self.tolerance:.1f} pp" if self.kind == "pct" else value(self.kind, self.tolerance, unit=u))
            return (f"about {value(self.kind, self.goal, unit=u)} ± {tol} ({value(self.kind, lo, unit=u)} "
                    f"to {value(self.kind, hi, unit=u)})")
        return f"{'at least' if self.op == '>=' else 'at most'} {value(self.kind, self.goal)}"

    @property
    def when(self) -> str:
        """Which years the target reads, and how."""
        if "-" not in self.years:
            return f"in {self.years}"
        return {"mean": f"yearly mean {self.years}", "sum": f"sum over {self.years}",
                "value": f"mean of {self.years}"}[self.aggregate]

    @property
    def probability_text(self) -> str:
        if self.share is None:
            return "not simulated"
        return f"{round(self.share * self.n)} of {self.n} ({100 * self.share:.0f}%)"

    @property
    def baseline_text(self) -> str:
        if self.baseline_share is None:
            return "n/a"
        return f"{round(self.baseline_share * self.n)} of {self.n} ({100 * self.baseline_share:.0f}%)"

    @property
    def simulated_text(self) -> str:
        if self.mean is None:
            return "n/a"
        return Stat(self.mean, self.lo, self.hi, self.n).text(self.kind)


@dataclass(frozen=True)
class GroupRow:
    """Settlements of one group a year, in households and persons, package and baseline."""

    key: str
    zh: str
    en: str
    households: Stat
    persons: Stat
    households_base: Stat | None
    persons_base: Stat | None
    households_diff: Stat | None
    persons_diff: Stat | None


@dataclass
class Summary:
    """Everything the report's opening says about one package against its baseline."""

    package: Package
    baseline: Package | None
    why: str
    years: tuple[int, int]
    replications: int
    paired: bool
    effects: list[Effect]
    cost: CostSummary
    targets: list[TargetRow]
    targets_note: str
    groups: list[GroupRow]
    point: dict[str, Any] = field(default_factory=dict)
    point_id: int | None = None

    def effect(self, key: str) -> Effect | None:
        return next((e for e in self.effects if e.indicator.key == key), None)

    def sentences(self) -> list[str]:
        """One plain-language sentence per headline result."""
        p = self.package.display
        b = self.baseline.display if self.baseline else None
        out = []
        s = self.effect("settled_persons")
        y0, y1 = self.years
        if s is not None:
            text = (f"Under “{p}”, about {count(s.package.mean)} persons a year take urban hukou "
                    f"(落户) in {y0}–{y1}")
            if s.diff is not None and b:
                more = "more" if s.diff.mean >= 0 else "fewer"
                text += (f", {count(abs(s.diff.mean))} {more} than under “{b}” (90% range of the "
                         f"difference over {s.diff.n} replications: {count(s.diff.lo, True)} to "
                         f"{count(s.diff.hi, True)})")
            out.append(text + ".")
        h = self.effect("hukou_urbanization")
        if h is not None:
            text = f"In {y1}, hukou urbanisation (户籍人口城镇化率) is {pct(h.package.mean)}"
            if h.diff is not None and b:
                text += f" against {pct(h.baseline.mean)} under the baseline ({pp(h.diff.mean)})"
            out.append(text + ".")
        for t in self.targets:
            if t.share is None:
                out.append(f"Target “{t.label}” ({t.goal_text}, {t.when}) cannot be judged: the "
                           "results do not cover it.")
                continue
            text = (f"Target “{t.label}” ({t.goal_text}, {t.when}) is met in {t.probability_text} "
                    f"of the replications; simulated {t.simulated_text}")
            if t.baseline_share is not None and b:
                text += f"; under the baseline in {t.baseline_text}"
            if t.by_construction:
                text += f" (met or missed by construction: {t.by_construction})"
            out.append(text + ".")
        c = self.cost
        text = f"Public spending on settlement (市民化公共成本) is {yuan(c.per_year.package.mean)} a year"
        if c.per_year.diff is not None and b:
            d = c.per_year.diff.mean
            text += f", {yuan(abs(d))} {'more' if d >= 0 else 'less'} than under the baseline"
        text += f"; {yuan(c.per_settler.mean)} per settled person"
        if c.extra_settler is not None:
            text += (f", and {yuan(c.extra_point)} per additional settler (90% range "
                     f"{yuan(c.extra_settler.lo)} to {yuan(c.extra_settler.hi)})")
        elif b:
            text += f"; cost per additional settler: {c.extra_why}"
        out.append(text + ".")
        return out


def _pooled(reps: pl.DataFrame) -> Stat:
    """Public cost per settled person: the total cost over all persons settled, pooled across
    replications (as the pressure figure draws it), with the range of the per-replication ratios."""
    per = Stat.of(reps["cost_per_settler"])
    settled = float(reps["settled_total"].sum())
    mean = float(reps["cost_total"].sum()) / settled if settled > 0 else float("nan")
    return Stat(mean, per.lo, per.hi, per.n)


def _paired(a: pl.DataFrame, b: pl.DataFrame | None, column: str) -> tuple[Stat, Stat | None, Stat | None]:
    pkg = Stat.of(a[column]) if column in a.columns else Stat.of(pl.Series([], dtype=pl.Float64))
    if b is None or column not in b.columns or column not in a.columns:
        return pkg, None, None
    j = a.select("replication", pl.col(column).alias("p")).join(
        b.select("replication", pl.col(column).alias("q")), on="replication")
    return pkg, Stat.of(b[column]), Stat.of(j["p"] - j["q"])


def _targets(pkg: Package, metrics: pl.DataFrame, towns: pl.DataFrame | None,
             groups: pl.DataFrame | None, base_metrics: pl.DataFrame | None,
             base_towns: pl.DataFrame | None, base_groups: pl.DataFrame | None,
             stored: pl.DataFrame | None) -> tuple[list[TargetRow], str]:
    """The package's targets, evaluated on its own runs and on the baseline's (same targets)."""
    targets: list[Target] = pkg.policy.targets if pkg.policy is not None else []
    if pkg.policy is None:
        if stored is None or stored.height == 0:
            return [], ("The package file is not where the run read it, and the results hold no "
                        "target table: targets cannot be shown.")
        table, base_table = stored, None
    elif not targets:
        return [], "The package states no numeric targets."
    elif not pkg.own_region:
        return [], (f"The package's targets are stated for its own region "
                    f"({own_region_name(pkg.policy) or 'not named'}); it ran on {pkg.region}, so "
                    "they are not judged here.")
    else:
        table = attainment(metrics, targets, towns, groups)
        base_table = attainment(base_metrics, targets, base_towns, base_groups) \
            if base_metrics is not None else None
    n = metrics["replication"].n_unique()
    rows = []
    for i, r in enumerate(table.iter_rows(named=True)):
        b = base_table.row(i, named=True) if base_table is not None else None
        rows.append(TargetRow(
            label=r["label"], metric=r["metric"], definition=r.get("definition") or METRIC_DEFINITIONS.get(r["metric"], ""),
            source=r.get("source") or "", years=r["years"], aggregate=r.get("aggregate", "value"),
            op=r["op"], goal=r["target"], tolerance=r.get("tolerance") or 0.0, mean=r["mean"],
            lo=r["lo90"], hi=r["hi90"], share=r["share_met"], n=n, status=r["status"],
            baseline_share=b["share_met"] if b else None, baseline_mean=b["mean"] if b else None,
            by_construction=r.get("by_construction") or "", note=_goal_note(r)))
    return rows, ""


def _goal_note(r: dict[str, Any]) -> str:
    """How a summed target's goal follows from the document's value: pro-rated to the run's
    years, less what was counted before the run (as ``sim targets`` prints it)."""
    prorate, offset = r.get("prorate"), r.get("offset")
    if prorate in (None, 1.0) and not offset:
        return ""
    kind = metric_kind(r["metric"])
    return (f"the document's {value(kind, r['document_value'])} × {prorate:g} for the run's years"
            + (f"; {value(kind, offset)} counted before the run is added to the simulated sum" if offset else ""))


def _select(df: pl.DataFrame | None, label: str, point: int | None) -> pl.DataFrame | None:
    if df is None:
        return None
    sub = df.filter(pl.col("package") == label)
    if point is not None and "point" in sub.columns:
        sub = sub.filter(pl.col("point") == point)
    return sub


def summarise(res, pkg: Package, base: Package | None, why: str, point: int | None = None,
              base_point: int | None = None) -> Summary:
    """The summary of ``pkg`` (at design ``point``) against ``base`` (at ``base_point``)."""
    m = _select(res.metrics, pkg.label, point)
    if m is None or m.height == 0:
        raise ResultsError(f"{res.folder}: no finished runs of {pkg.label}")
    a = per_replication(m)
    bm = _select(res.metrics, base.label, base_point) if base is not None else None
    b = per_replication(bm) if bm is not None and bm.height else None
    paired = True
    if b is not None and "seed" in m.columns and "seed" in bm.columns:
        seeds = m.select("replication", "seed").unique().join(
            bm.select("replication", pl.col("seed").alias("s2")).unique(), on="replication")
        paired = bool((seeds["seed"] == seeds["s2"]).all())
    effects = []
    for ind in INDICATORS:
        if ind.key not in a.columns:
            continue
        p, q, d = _paired(a, b, ind.key)
        effects.append(Effect(ind, p, q, d))
    per_year = next(e for e in effects if e.indicator.key == "public_cost")
    extra_point, extra, extra_why = None, None, "no baseline"
    if b is not None:
        j = a.join(b, on="replication", suffix="_b").with_columns(
            (pl.col("cost_total") - pl.col("cost_total_b")).alias("dc"),
            (pl.col("settled_total") - pl.col("settled_total_b")).alias("ds"))
        if j.height and float(j["ds"].sum()) > 0:
            extra_point = float(j["dc"].sum()) / float(j["ds"].sum())
        if j.height and (j["ds"] > 0).all():
            extra = Stat.of(j["dc"] / j["ds"])
            extra_why = ""
        elif j.height:
            k = int((j["ds"] <= 0).sum())
            extra_why = (f"not defined: the package settles no more than the baseline in {k} of "
                         f"{j.height} replications")
    cost = CostSummary(per_year, _pooled(a), _pooled(b) if b is not None else None, extra_point, extra,
                       extra_why)
    towns, groups = _select(res.towns, pkg.label, point), _select(res.groups, pkg.label, point)
    btowns = _select(res.towns, base.label, base_point) if base is not None else None
    bgroups = _select(res.groups, base.label, base_point) if base is not None else None
    stored = res.targets.get(pkg.name) if point is None else None
    targets, note = _targets(pkg, m, towns, groups, bm, btowns, bgroups, stored)
    group_rows = _group_rows(groups, bgroups)
    y0, y1 = int(m["year"].min()), int(m["year"].max())
    pt = {}
    if point is not None and res.design is not None:
        row = res.design.filter(pl.col("point") == point)
        pt = {c.removeprefix("x."): row[c][0] for c in row.columns if c.startswith("x.")} if row.height else {}
    return Summary(pkg, base, why, (y0 + 1, y1), a.height, paired, effects, cost, targets, note,
                   group_rows, pt, point)


def _group_rows(groups: pl.DataFrame | None, base: pl.DataFrame | None) -> list[GroupRow]:
    if groups is None or groups.height == 0:
        return []
    y0 = groups["year"].min()

    def per_rep(g: pl.DataFrame, key: str) -> pl.DataFrame:
        return (g.filter((pl.col("year") > y0) & (pl.col("group") == key)).group_by("replication")
                .agg(pl.col("settled_households").mean().alias("hh"), pl.col("settled_persons").mean().alias("pp")))

    rows = []
    for key, zh, en in GROUPS:
        a = per_rep(groups, key)
        if a.height == 0:
            continue
        b = per_rep(base, key) if base is not None else None
        hh, hhb, hhd = _paired(a, b, "hh")
        ps, psb, psd = _paired(a, b, "pp")
        rows.append(GroupRow(key, zh, en, hh, ps, hhb, psb, hhd, psd))
    return rows


def summaries(res, baseline: str | None = None) -> list[Summary]:
    """The opening of the report: one :class:`Summary` per package against its baseline (see
    :func:`pairings`). For a sweep that varies factors, see :func:`design_summary`."""
    pkgs = packages(res)
    return [summarise(res, pkgs[pr.package], pkgs.get(pr.baseline) if pr.baseline else None, pr.why)
            for pr in pairings(pkgs, baseline)]


# ---------------------------------------------------------------------------------------------
# A sweep that varies factors: one row per design point
# ---------------------------------------------------------------------------------------------


def design_summary(res, baseline: str | None = None) -> tuple[pl.DataFrame, list[Summary]]:
    """For a sweep whose design varies factors: one :class:`Summary` per (package, design point)
    against its baseline at the same factor values, and a table of them (one row per point:
    factor values, settlement, effect, cost, cost per additional settler, and the probability
    of each target)."""
    pkgs = packages(res)
    pairs = pairings(pkgs, baseline)
    design = res.design
    factors = [c for c in design.columns if c.startswith("x.")]
    out, rows = [], []
    for pr in pairs:
        pkg = pkgs[pr.package]
        base = pkgs.get(pr.baseline) if pr.baseline else None
        for drow in design.filter(pl.col("package") == pkg.label).sort("point").iter_rows(named=True):
            bpoint = None
            if base is not None:
                cond = pl.col("package") == base.label
                for f in factors:
                    cond = cond & (pl.col(f) == drow[f])
                match = design.filter(cond)
                bpoint = int(match["point"][0]) if match.height else None
            if res.metrics.filter((pl.col("package") == pkg.label) & (pl.col("point") == drow["point"])).height == 0:
                continue  # a point whose runs have not finished
            s = summarise(res, pkg, base if bpoint is not None else None, pr.why, drow["point"], bpoint)
            out.append(s)
            row = {"package": pkg.label, "point": drow["point"], **{f: drow[f] for f in factors}}
            for key in ("settled_persons", "hukou_urbanization", "public_cost"):
                e = s.effect(key)
                row[key] = e.package.mean if e else None
                row[f"{key}_diff"] = e.diff.mean if e and e.diff else None
            row["cost_per_settler"] = s.cost.per_settler.mean
            row["cost_per_extra_settler"] = s.cost.extra_point
            for i, t in enumerate(s.targets):
                row[f"target{i}"] = t.share
            rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None), out


# ---------------------------------------------------------------------------------------------
# The package lever by lever, against its baseline
# ---------------------------------------------------------------------------------------------

LEVER_GROUPS = {
    "hukou": ("落户条件", "hukou entry"),
    "hukou_outsiders": ("外来人口落户条件", "hukou entry for outsiders"),
    "housing": ("住房保障", "housing"),
    "schools": ("随迁子女教育", "schooling of migrant children"),
    "services": ("居住证公共服务", "residence-permit services"),
    "jobs": ("就业与培训", "jobs and training"),
    "fiscal": ("人地钱挂钩与成本", "fiscal links and unit costs"),
    "rights": ("农村“三权”", "rural rights (contract land, homestead, collective income)"),
    "in_situ": ("就地城镇化", "in-situ urbanisation"),
    "priority": ("优先顺序", "priority groups"),
}
"""Lever groups in the words of the documents and in English."""

TIER_WORDS = {"central_city": "中心城区 central city", "sub_center": "县城 county seats",
              "small_town": "建制镇 small towns", "rural_community": "新型农村社区 rural communities"}


@dataclass(frozen=True)
class LeverRow:
    """One lever value a package's files set (or its baseline sets), as a planner reads it."""

    group: str
    where: str
    what: str
    value: str
    baseline: str
    differs: bool
    source: str
    path: str


def _split(path: str) -> tuple[str, str, str, str | None]:
    """``changes(2015).hukou.tiers.central_city.open`` -> (group, layer, field, year)."""
    year = None
    if path.startswith("changes("):
        year, path = path[len("changes("):].split(").", 1)
    parts = path.split(".")
    group = parts[0]
    if group in PER_TOWN_GROUPS:
        if parts[1] == "default":
            return group, "default", ".".join(parts[2:]), year
        return group, ".".join(parts[1:3]), ".".join(parts[3:]), year
    return group, "", ".".join(parts[1:]), year


def _schema_default(group: str, fld: str) -> Any:
    model = PER_TOWN_GROUPS.get(group) or REGION_WIDE_GROUPS.get(group)
    parts = fld.split(".")
    for p in parts[:-1]:
        sub = model.model_fields[p].default_factory() if model.model_fields[p].default_factory else model.model_fields[p].default
        model = type(sub)
    f = model.model_fields.get(parts[-1])
    if f is None:
        return None
    return f.default_factory() if f.default_factory is not None else f.default


def _get(tree: dict[str, Any], dotted: str) -> Any:
    node: Any = tree
    for p in dotted.split("."):
        if not isinstance(node, dict) or p not in node:
            return _MISSING
        node = node[p]
    return node


_MISSING = object()


def _town_tiers(region_path: Path | None) -> dict[str, str]:
    """Each town's tier in the package's own region (empty when it names none)."""
    if region_path is None or not region_path.is_file():
        return {}
    from sim.configuration import load_region

    try:
        return {t.name: t.tier for t in load_region(region_path).towns}
    except ConfigError:
        return {}


def effective(policy: Policy | None, group: str, layer: str, fld: str, year: int | None = None) -> Any:
    """The value ``policy`` gives a lever at a layer (``default``, ``tiers.X``, ``towns.Y`` or ""
    for a region-wide group): its own entry, else the less specific layer's (tier, then
    default; for outsiders' rules the natives' as the engine merges them), else the schema's
    no-policy default."""
    if policy is None:
        return _MISSING
    tree = policy.levers_in(year) if year is not None else policy.levers
    if group not in PER_TOWN_GROUPS:
        v = _get(tree, f"{group}.{fld}")
        return _schema_default(group, fld) if v is _MISSING else v
    chain = [layer]
    if layer.startswith("towns."):
        tier = _town_tiers(policy.region_path).get(layer.split(".", 1)[1])
        chain += [f"tiers.{tier}", "default"] if tier else ["default"]
    elif layer != "default":
        chain.append("default")
    groups = [group, "hukou"] if group == "hukou_outsiders" else [group]
    for lay in chain:
        for g in groups:
            v = _get(tree, f"{g}.{lay}.{fld}")
            if v is not _MISSING:
                return v
    return _schema_default(group, fld)


def lever_text(fld: str, v: Any) -> str:
    """A lever value in words: yes/no, percentages for shares, yuan, lists by comma."""
    if v is _MISSING or v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x).replace("_", " ") for x in v) if v else "none"
    if isinstance(v, (int, float)):
        if fld.endswith("_share") or fld.endswith("coverage") or fld.endswith("per_year") and isinstance(v, float) and v < 1:
            return f"{100 * v:g}%"
        if fld.endswith("_yuan"):
            return f"{v:,.0f} yuan"
        if fld.endswith("_m2"):
            return f"{v:,g} m²"
        return f"{_sig(float(v), 3):,g}" if isinstance(v, float) else f"{v:,}"
    return str(v).replace("_", " ")


def _where(layer: str, year: str | None) -> str:
    if layer == "default" or layer == "":
        where = "全域 all towns" if layer == "default" else "全域 region-wide"
    elif layer.startswith("tiers."):
        where = TIER_WORDS.get(layer.split(".", 1)[1], layer.split(".", 1)[1])
    else:
        where = layer.split(".", 1)[1]
    return f"{where}, from {year}" if year else where


def lever_rows(policy: Policy, baseline: Policy | None) -> list[LeverRow]:
    """The package lever by lever, with each value's citation, beside the value the baseline
    gives the same lever; levers only the baseline sets are included (the package leaves them at
    the no-policy default)."""
    from sim.experiments.response import CATALOGUE

    def what(group: str, fld: str) -> str:
        key = f"{group}.{fld}"
        entry = CATALOGUE.get(key)
        if entry is None:
            return fld.replace("_", " ")
        return entry.what.split(", for natives")[0].split(", for outsiders")[0].rstrip(".") + "."

    def entries(pol: Policy) -> list[tuple[str, Any, str, str]]:
        last: dict[str, tuple[str, Any, str, str]] = {}
        for e in pol.lever_entries():  # a child's file overrides its parent's value
            last[e[0]] = e
        return list(last.values())

    rows, seen = [], set()
    for path, v, source, file in entries(policy):
        group, layer, fld, year = _split(path)
        seen.add((group, layer, fld, year))
        b = effective(baseline, group, layer, fld, int(year) if year else None) if baseline is not None else _MISSING
        rows.append(LeverRow(group, _where(layer, year), what(group, fld), lever_text(fld, v),
                             lever_text(fld, b) if baseline is not None else "—",
                             baseline is not None and b != v, f"{source} ({file})" if file else source, path))
    if baseline is not None:
        for path, v, source, file in entries(baseline):
            group, layer, fld, year = _split(path)
            if (group, layer, fld, year) in seen:
                continue
            mine = effective(policy, group, layer, fld, int(year) if year else None)
            if mine == v:
                continue
            rows.append(LeverRow(group, _where(layer, year), what(group, fld), lever_text(fld, mine) + " (not set: the default)",
                                 lever_text(fld, v), True, f"baseline: {source} ({file})", path))
    order = list(LEVER_GROUPS)
    rows.sort(key=lambda r: order.index(r.group) if r.group in order else len(order))
    return rows
