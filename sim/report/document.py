"""The report page (issue 17 §1): ``report.html`` from the Jinja2 template
``templates/report.html.j2`` (autoescaping on) with tables from great_tables, opening with the
answer — per package against its baseline, the effect (package − baseline), each target with its
tolerance, definition and probability, and the cost — then the packages lever by lever with
their citations, the figures, any extra sections, a glossary and the provenance.

One self-contained file: the figures are PNGs inlined as base64, the tables' styles are inline,
there is no script and nothing is fetched, so it opens offline. The figures are also written as
PNG files beside it.

A sweep that varies factors gets its own layout: the summary per package is read across the
design points, and a section draws each outcome (and each target's probability) against the
lever values, with every design point in a table below.

**Extra sections.** :data:`EXTRA_SECTIONS` holds functions ``(results, out) -> Section | None``;
each is called in order and a section it returns is placed after the figures (a map of the
region, a policy search's front, a scenario-discovery box). A function returns None when the
results hold nothing for it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from markupsafe import Markup, escape

from sim.configuration import METRIC_DEFINITIONS
from sim.errors import ResultsError
from sim.report import decision as dc
from sim.report import viewer

FONTS = ["Report CJK", "DejaVu Sans", "Segoe UI", "Helvetica Neue", "Arial", "sans-serif"]
"""The page's fonts. "Report CJK" is the subset of Noto Sans CJK SC embedded in the page
(:func:`cjk_font`): it holds the page's Chinese characters only, so Latin text falls through to
the next font, and Chinese renders alike on a machine with no Chinese font."""

SUB = "\x1f"
"""Separates a cell's main text from its second, smaller line (see :func:`_two_lines`)."""


@dataclass
class Section:
    """An extra section of the report: its anchor, heading, a line saying what it shows, figures
    (each ``{"title", "b64"}``) and HTML (a great_tables table as :class:`Markup`, or empty)."""

    id: str
    title: str
    doc: str = ""
    html: Markup = field(default_factory=lambda: Markup(""))
    figures: list[dict[str, str]] = field(default_factory=list)


EXTRA_SECTIONS: list[Callable[[viewer.Results, Path], Section | None]] = []
"""Functions adding optional sections after the figures (see the module docstring)."""


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


def _two_lines(x: Any) -> str:
    """A cell ``main SUB second`` as HTML: both parts escaped, the second smaller below."""
    parts = str(x).split(SUB)
    head = str(escape(parts[0]))
    rest = "".join(f'<br><span style="color:#57606a;font-size:11.5px">{escape(p)}</span>'
                   for p in parts[1:] if p)
    return head + rest


def table(df: pl.DataFrame, id: str, labels: dict[str, str], *, right: tuple[str, ...] = (),
          two_lines: tuple[str, ...] = (), group: str | None = None, widths: dict[str, str] | None = None,
          notes: tuple[str, ...] = (), spanners: dict[str, list[str]] | None = None,
          highlight: str | None = None) -> Markup:
    """A great_tables table of text cells (every cell escaped by great_tables, or by
    :func:`_two_lines` for ``two_lines`` columns), sized to fit a laptop screen."""
    from great_tables import GT, loc, style

    cols = [c for c in df.columns if c != highlight]
    g = GT(df, id=id, groupname_col=group)
    if highlight is not None:
        marked = df.with_row_index("_i").filter(pl.col(highlight))["_i"].to_list()
        if marked:
            g = g.tab_style(style.fill("#fff8c5"), loc.body(rows=marked))
        g = g.cols_hide(highlight)
    g = g.cols_label(cases={k: v for k, v in labels.items() if k in cols})
    if two_lines:
        g = g.fmt(_two_lines, columns=[c for c in two_lines if c in cols])
    if right:
        g = g.cols_align("right", columns=[c for c in right if c in cols])
    for title, columns in (spanners or {}).items():
        g = g.tab_spanner(title, columns=columns)
    if widths:
        g = g.cols_width(cases=widths)
    for n in notes:
        g = g.tab_source_note(n)
    g = g.tab_options(table_font_names=FONTS, table_font_size="13px", table_width="100%", data_row_padding="3px",
                      column_labels_font_weight="bold", heading_align="left",
                      source_notes_font_size="12px", row_group_font_weight="bold",
                      container_overflow_x="auto")
    return Markup(g.as_raw_html())


def _effects_table(s: dc.Summary, i: int) -> Markup:
    rows = []
    for e in s.effects:
        if e.indicator.key == "public_cost":
            continue  # in the cost table
        k = e.indicator.kind
        stats = [x for x in (e.package, e.baseline, e.diff) if x is not None]
        u = dc.unit_of(k, *(v for x in stats for v in (x.mean, x.lo, x.hi)))  # one unit a row
        rows.append({"what": f"{e.indicator.zh}{SUB}{e.indicator.en}",
                     "pkg": e.package.text(k, unit=u), "base": e.baseline.text(k, unit=u) if e.baseline else "—",
                     "diff": e.diff.text(k, signed=True, unit=u) if e.diff else "—"})
    return table(pl.DataFrame(rows), f"effects-{i}",
                 {"what": "Outcome 指标", "pkg": "本方案 This package", "base": "对照方案 Baseline",
                  "diff": "效果 Effect: package − baseline"},
                 right=("pkg", "base", "diff"), two_lines=("what",),
                 widths={"what": "34%"},
                 notes=("Mean [90% range across replications]. The effect is taken within each "
                        "replication (same households, draws and behaviour parameters), then "
                        "summarised; a rate's effect is in percentage points (pp).",))


VERDICTS = {"met": "at least half the runs meet it", "not met": "most runs miss it",
            "met already at the start": "at least half the runs meet it, as the starting year already did"}
"""The attainment table's verdict (by the median run: met when at least half the replications meet it) in words that keep it apart
from the probability beside it."""


def _targets_table(s: dc.Summary, i: int) -> Markup:
    rows = []
    for t in s.targets:
        rows.append({"target": f"{t.label}{SUB}{t.source}",
                     "goal": f"{t.goal_text}{SUB}{t.when}" + (f"; {t.note}" if t.note else ""),
                     "definition": t.definition or "—",
                     "sim": t.simulated_text,
                     "p": t.probability_text,
                     "pb": t.baseline_text if s.baseline else "—",
                     "status": VERDICTS.get(t.status, t.status)
                     + (f" — {t.by_construction}" if t.by_construction else "")})
    return table(pl.DataFrame(rows), f"targets-{i}",
                 {"target": "Target 目标 (document's clause)", "goal": "Goal and tolerance",
                  "definition": "How it is measured 口径", "sim": "Simulated [90% range]",
                  "p": "达标概率 Replications meeting it", "pb": "对照方案 Baseline meeting it",
                  "status": "Verdict (median run)"},
                 two_lines=("target", "goal"), right=("sim", "p", "pb"),
                 widths={"target": "22%", "goal": "16%", "definition": "22%"},
                 notes=("The probability of meeting a target is the share of replications that "
                        "meet it; each replication carries its own behaviour draw, so it covers "
                        "uncertainty about behaviour as well as chance.",))


def _cost_table(s: dc.Summary, i: int) -> Markup:
    c = s.cost
    py = c.per_year
    extra = (dc.Stat(c.extra_point, c.extra_settler.lo, c.extra_settler.hi, c.extra_settler.n).text("yuan")
             if c.extra_settler is not None
             else (f"{dc.yuan(c.extra_point)} (ratio of the means; {c.extra_why})" if c.extra_point is not None
                   else c.extra_why))
    rows = [
        {"what": f"市民化公共成本{SUB}public cost a year", "pkg": py.package.text("yuan"),
         "base": py.baseline.text("yuan") if py.baseline else "—",
         "diff": py.diff.text("yuan", signed=True) if py.diff else "—"},
        {"what": f"人均成本{SUB}public cost per settled person (all replications' cost / persons settled)",
         "pkg": c.per_settler.text("yuan"),
         "base": c.per_settler_baseline.text("yuan") if c.per_settler_baseline else "—", "diff": "—"},
        {"what": f"新增落户人均成本{SUB}cost per additional settler (extra cost / extra persons settled)",
         "pkg": extra if s.baseline else "—", "base": "—", "diff": "—"},
    ]
    return table(pl.DataFrame(rows), f"cost-{i}",
                 {"what": "Cost 成本", "pkg": "本方案 This package", "base": "对照方案 Baseline",
                  "diff": "差额 Difference: package − baseline"},
                 right=("pkg", "base", "diff"), two_lines=("what",), widths={"what": "34%"},
                 notes=("Public cost: purchase support, rental subsidies, school funding, services "
                        "for new residents, public rental built and school seats added, in yuan of "
                        "the model's years. Cost per additional settler: the package's extra cost "
                        "over the baseline divided by the extra persons it settles, per "
                        "replication.",))


def _groups_table(s: dc.Summary, i: int) -> Markup:
    rows = []
    for g in s.groups:
        rows.append({"group": f"{g.zh}{SUB}{g.en}",
                     "hh": g.households.text("count"), "hhb": g.households_base.text("count") if g.households_base else "—",
                     "hhd": g.households_diff.text("count", True) if g.households_diff else "—",
                     "ps": g.persons.text("count"), "psb": g.persons_base.text("count") if g.persons_base else "—",
                     "psd": g.persons_diff.text("count", True) if g.persons_diff else "—"})
    return table(pl.DataFrame(rows), f"groups-{i}",
                 {"group": "Group 群体", "hh": "本方案 Package", "hhb": "对照 Baseline", "hhd": "效果 Effect",
                  "ps": "本方案 Package", "psb": "对照 Baseline", "psd": "效果 Effect"},
                 two_lines=("group",), right=("hh", "hhb", "hhd", "ps", "psb", "psd"),
                 spanners={"Households settling a year 落户户数": ["hh", "hhb", "hhd"],
                           "Persons settling a year 落户人数": ["ps", "psb", "psd"]},
                 widths={"group": "22%"},
                 notes=("Yearly means over the run [90% range across replications]. The groups "
                        "overlap (a household can be new-generation, with children and an "
                        "outsider at once).",))


# ---------------------------------------------------------------------------------------------
# The summary cards
# ---------------------------------------------------------------------------------------------


def _pill(share: float | None) -> str:
    if share is None:
        return "p-na"
    return "p-most" if share >= 0.5 else ("p-some" if share > 0 else "p-none")


def _card_view(s: dc.Summary, i: int, tables: bool = True) -> dict[str, Any]:
    """What the template needs to draw one package's summary."""
    b = s.baseline
    settled = s.effect("settled_persons")
    y0, y1 = s.years
    if settled is not None and settled.diff is not None:
        d = settled.diff
        effect = {"big": dc.count(d.mean, signed=True),
                  "big_label": (f"persons a year settle (落户) {'more' if d.mean >= 0 else 'fewer'} "
                                f"than under the baseline, {y0}–{y1} (package {dc.count(settled.package.mean)}, "
                                f"baseline {dc.count(settled.baseline.mean)})"),
                  "range": f"90% range of the effect: {dc.count(d.lo, True)} to {dc.count(d.hi, True)}"}
    elif settled is not None:
        effect = {"big": dc.count(settled.package.mean), "big_label": f"persons a year settle (落户), {y0}–{y1}",
                  "range": f"90% range: {dc.count(settled.package.lo)} to {dc.count(settled.package.hi)}"}
    else:
        effect = {"big": "n/a", "big_label": "no settlement recorded", "range": ""}
    lines = []
    for key, zh in (("hukou_urbanization", "户籍人口城镇化率 hukou urbanisation"),
                    ("resident_urbanization", "常住人口城镇化率 resident urbanisation")):
        e = s.effect(key)
        if e is None:
            continue
        text = dc.pct(e.package.mean)
        if e.diff is not None:
            text += f" vs {dc.pct(e.baseline.mean)} ({dc.pp(e.diff.mean)})"
        lines.append((f"{zh}, {y1}", text))
    effect["lines"] = lines
    targets = [{"label": t.label, "goal": t.goal_text, "when": t.when,
                "detail": f"simulated {dc.value(t.kind, t.mean)}" if t.mean is not None else "not simulated",
                "prob": t.probability_text, "cls": _pill(t.share),
                "base": (f"baseline {t.baseline_text}" if b is not None and t.baseline_share is not None else "")}
               for t in s.targets]
    c = s.cost
    cost = [("public cost a year", dc.yuan(c.per_year.package.mean),
             (f"{dc.yuan(c.per_year.diff.mean, True)} vs baseline" if c.per_year.diff else ""))]
    cost.append(("per settled person", dc.yuan(c.per_settler.mean),
                 f"baseline {dc.yuan(c.per_settler_baseline.mean)}" if c.per_settler_baseline else ""))
    if b is not None:
        if c.extra_settler is not None:
            cost.append(("per additional settler", dc.yuan(c.extra_point),
                         f"90% range {dc.yuan(c.extra_settler.lo)} to {dc.yuan(c.extra_settler.hi)}"))
        else:
            cost.append(("per additional settler",
                         dc.yuan(c.extra_point) if c.extra_point is not None else "not defined", c.extra_why))
    heading = s.package.display + (f" ({s.package.name})" if s.package.title else "")
    against = (f"Against {b.display} ({b.name}): {s.why}." if b is not None
               else "No baseline: these results hold one package; levels only.")
    if b is not None and not s.paired:
        against += " The two ran with different seeds, so the differences are not paired."
    view = {"heading": heading, "against": against, "effect": effect, "targets": targets,
            "targets_note": s.targets_note, "cost": cost,
            "targets_caption": "replications meeting each" + (" (baseline in brackets)" if b is not None else ""),
            "sentences": s.sentences(), "tables": []}
    if tables:
        view["tables"] = [
            {"id": f"effects-{i}", "title": "Effects 政策效果", "html": _effects_table(s, i)},
            *([{"id": f"targets-{i}", "title": "Targets 目标", "html": _targets_table(s, i)}] if s.targets else []),
            {"id": f"costs-{i}", "title": "Cost 成本", "html": _cost_table(s, i)},
            *([{"id": f"groups-{i}", "title": "Settlements by group 分群体落户",
                "html": _groups_table(s, i)}] if s.groups else []),
        ]
    return view


# ---------------------------------------------------------------------------------------------
# A factor sweep
# ---------------------------------------------------------------------------------------------


def factor_label(name: str) -> str:
    """A design factor in words: the lever's description (and where it applies) or the
    behaviour parameter's name."""
    from sim.experiments.response import CATALOGUE

    parts = name.split(".")
    if parts[0] in dc.LEVER_GROUPS:
        group, layer, fld, _ = dc._split(name)
        entry = CATALOGUE.get(f"{group}.{fld}")
        what = entry.what.rstrip(".") if entry else fld.replace("_", " ")
        return f"{what} ({dc._where(layer, None)})"
    return f"behaviour parameter {name}"


def factor_short(name: str) -> str:
    """A design factor in a few words: the lever's field (and where, unless region-wide)."""
    parts = name.split(".")
    if parts[0] in dc.LEVER_GROUPS:
        group, layer, fld, _ = dc._split(name)
        where = "" if layer in ("default", "") else f" ({dc._where(layer, None)})"
        return fld.split(".")[-1].replace("_", " ").replace("nonhukou", "non-hukou") + where
    return name.replace("_", " ")


def _sweep_cards(res: viewer.Results, tab: pl.DataFrame, sums: list[dc.Summary]) -> list[dict[str, Any]]:
    """One summary per package of a factor sweep, read across its design points."""
    views = []
    factors = [c for c in tab.columns if c.startswith("x.")]
    for i, label in enumerate(tab["package"].unique(maintain_order=True).to_list(), start=1):
        mine = [s for s in sums if s.package.label == label]
        if not mine:
            continue
        first = mine[0]
        b = first.baseline
        t = tab.filter(pl.col("package") == label)

        def setting(s: dc.Summary) -> str:
            items = list(s.point.items())
            text = ", ".join(f"{factor_short(k)} {dc.lever_text(k.split('.')[-1], v)}" for k, v in items[:3])
            return text + (f" and {len(items) - 3} more (design point {s.point_id})" if len(items) > 3 else "")

        col = "settled_persons_diff" if b is not None else "settled_persons"
        vals = t[col].drop_nulls()
        lo_s = min(mine, key=lambda s: (s.effect("settled_persons").diff or s.effect("settled_persons").package).mean)
        hi_s = max(mine, key=lambda s: (s.effect("settled_persons").diff or s.effect("settled_persons").package).mean)
        signed = b is not None
        effect = {"big": (f"{dc.count(vals.min(), signed)} to {dc.count(vals.max(), signed)}" if vals.len() else "n/a"),
                  "big_label": (f"persons a year settle (落户) {'more than under the baseline at the same setting' if b else ''}"
                                f" across the {t.height} settings, {first.years[0]}–{first.years[1]}"),
                  "range": f"lowest at {setting(lo_s)}; highest at {setting(hi_s)}",
                  "lines": [("factors varied", "; ".join(factor_label(f.removeprefix('x.')) for f in factors))]}
        effect["range"] = f"lowest at {setting(lo_s)}; highest at {setting(hi_s)}"
        targets = []
        for k, tr in enumerate(first.targets):
            shares = [(s, s.targets[k].share) for s in mine if len(s.targets) > k and s.targets[k].share is not None]
            ok = [s for s, sh in shares if sh >= 0.5]
            cheapest = min(ok, key=lambda s: s.cost.per_year.package.mean) if ok else None
            best = max(shares, key=lambda x: x[1]) if shares else None
            if cheapest is not None:
                sim = (f"cheapest setting meeting it in at least half the replications: {setting(cheapest)} "
                       f"({dc.yuan(cheapest.cost.per_year.package.mean)} a year)")
            elif best is not None and best[1] == 0:
                sim = "met at no setting in any replication"
            elif best is not None:
                sim = (f"met in at least half the replications at no setting; closest: {setting(best[0])} "
                       f"({100 * best[1]:.0f}% of replications)")
            else:
                sim = "not simulated"
            targets.append({"label": tr.label, "goal": tr.goal_text, "when": tr.when, "detail": sim,
                            "prob": f"{len(ok)} of {len(shares)} settings", "cls": _pill(len(ok) / len(shares) if shares else None),
                            "base": ""})
        costs = t["public_cost"].drop_nulls()
        cost = [("public cost a year", f"{dc.yuan(costs.min())} to {dc.yuan(costs.max())}" if costs.len() else "n/a",
                 "across the settings")]
        extra = t["cost_per_extra_settler"].drop_nulls() if "cost_per_extra_settler" in t.columns else pl.Series([])
        if b is not None and extra.len():
            cost.append(("per additional settler", f"{dc.yuan(extra.min())} to {dc.yuan(extra.max())}",
                         "against the baseline at the same setting"))
        views.append({"heading": first.package.display + (f" ({first.package.name})" if first.package.title else ""),
                      "against": (f"Against {b.display} ({b.name}) at the same lever values: {first.why}." if b
                                  else "No baseline: levels only."),
                      "effect": effect, "targets": targets,
                      "targets_caption": "design settings at which at least half the replications meet each",
                      "targets_note": first.targets_note or "The package states no numeric targets.",
                      "cost": cost, "sentences": [], "tables": []})
    return views


def _sweep_section(res: viewer.Results, tab: pl.DataFrame, sums: list[dc.Summary], out: Path) -> dict[str, Any]:
    """The factor sweep's section: response curves and every design point in a table."""
    factors = [c for c in tab.columns if c.startswith("x.")]
    target_names = sums[0].targets if sums else []
    method = ((res.manifest.get("design") or {}).get("method")) or "grid"
    fig = viewer.fig_response(tab, [factor_short(f.removeprefix("x.")) for f in factors], method in ("grid", "none"),
                              [t.label for t in target_names],
                              {lab: dc.packages(res)[lab].name for lab in tab["package"].unique().to_list()})
    data = viewer.save_png(fig, out / "response.png")
    rows = []
    for r in tab.iter_rows(named=True):
        row = {"package": r["package"]}
        for f in factors:
            row[f] = dc.lever_text(f.split(".")[-1], r[f])
        row["settled"] = dc.count(r["settled_persons"])
        row["effect"] = dc.count(r["settled_persons_diff"], True) if r.get("settled_persons_diff") is not None else "—"
        row["hukou"] = dc.pct(r["hukou_urbanization"])
        row["cost"] = dc.yuan(r["public_cost"])
        row["extra"] = dc.yuan(r["cost_per_extra_settler"]) if r.get("cost_per_extra_settler") is not None else "—"
        for k, _ in enumerate(target_names):
            v = r.get(f"target{k}")
            row[f"t{k}"] = f"{100 * v:.0f}%" if v is not None else "—"
        rows.append(row)
    labels = {"package": "Package", **{f: factor_short(f.removeprefix("x.")) for f in factors},
              "settled": "Settled persons a year 落户人数", "effect": "Effect vs baseline",
              "hukou": "户籍人口城镇化率, final year", "cost": "Public cost a year",
              "extra": "Cost per additional settler",
              **{f"t{k}": f"P(meet) {t.label}" for k, t in enumerate(target_names)}}
    html = table(pl.DataFrame(rows), "design", labels, right=tuple(c for c in labels if c != "package"))
    return {"note": (f"Each outcome against the value of each factor, per package: the yearly mean "
                     f"over the run and the share of replications meeting each target, at each of "
                     f"{tab.height} design points. Lines join points that differ in the factor on "
                     "the x axis only; a sampled design shows points."),
            "figures": [{"title": "Response to the levers", "b64": base64.b64encode(data).decode()}],
            "table": html, "points": tab.height}


# ---------------------------------------------------------------------------------------------
# Levers, glossary, provenance
# ---------------------------------------------------------------------------------------------


def _lever_sections(sums: list[dc.Summary], done: set[str] | None = None) -> list[dict[str, Any]]:
    out, seen = [], set()
    for s in sums:
        p = s.package
        if p.label in seen:
            continue
        seen.add(p.label)
        base = s.baseline
        title = f"{p.display} ({p.name})" + (f" — against {base.display} ({base.name})" if base else "")
        if p.policy is None:
            out.append({"title": title, "note": "The package file is not where the run read it; its "
                        "levers cannot be listed.", "html": Markup(""), "not_encoded": []})
            continue
        rows = dc.lever_rows(p.policy, base.policy if base is not None else None)
        df = pl.DataFrame([{"group": " ".join(dc.LEVER_GROUPS.get(r.group, (r.group, ""))).strip(),
                            "where": r.where, "what": r.what, "value": r.value,
                            "base": r.baseline, "diff": "≠" if r.differs else "",
                            "source": r.source, "hl": r.differs} for r in rows])
        note = f"Package file: {p.policy.path.name}" + (f"; baseline file: {base.policy.path.name}"
                                                         if base is not None and base.policy is not None else "")
        out.append({"title": title, "note": note,
                    "html": table(df, f"levers-{len(out) + 1}",
                                  {"where": "Where 适用范围", "what": "Lever 政策杠杆", "value": "本方案 This package",
                                   "base": "对照方案 Baseline", "diff": "", "source": "Source 出处 (clause, statistic or assumption)"},
                                  group="group", highlight="hl",
                                  widths={"where": "12%", "what": "25%", "value": "10%", "base": "10%",
                                          "diff": "2%", "source": "41%"}),
                    "not_encoded": p.policy.not_encoded})
    return out


GLOSSARY = [
    ("落户", "settling, taking urban hukou", "A migrant household registers its hukou in the town where it lives; counted as settled households and their persons."),
    ("农业转移人口", "agricultural migrants", "Persons with rural hukou who live and work in towns, and their families: the population the documents address."),
    ("户籍人口城镇化率", "hukou urbanisation", METRIC_DEFINITIONS["hukou_urbanization"]
     + ". The hukou-population base, as local bureaus publish it: " + METRIC_DEFINITIONS["hukou_urbanization_hukou_base"]),
    ("常住人口城镇化率", "resident urbanisation", METRIC_DEFINITIONS["resident_urbanization"]),
    ("城镇新增户籍人口", "net new urban-hukou persons", METRIC_DEFINITIONS["urban_hukou_net_increase"]),
    ("市民化公共成本", "public cost of settlement (citizenisation)", METRIC_DEFINITIONS["public_cost_yuan"]),
    ("新生代农民工", "new-generation migrants", "Households whose head was born in 1980 or later."),
    ("有学龄子女的家庭", "households with school-age children", "Households with children of compulsory-school age, with them in town or left behind."),
    ("留守儿童", "left-behind children", "School-age children living in the village while their parents work in town."),
    ("外来人口", "outsiders", "Households whose hukou is outside the region (the documents' 外省籍 / 外来人口); natives are 本地户籍."),
    ("承包地", "contract land", "Land a rural household farms under contract; one of the three rural rights (三权) with the homestead (宅基地) and collective income shares (集体收益分配权)."),
    ("对照方案 / 改革前", "baseline / counterfactual", "The package a package is compared with: its pre-reform counterfactual, the package named with --baseline, or the first package given."),
    ("效果", "effect (package − baseline)", "The package's value minus the baseline's, taken within each replication (same households, random draws and behaviour parameters), then averaged; positive means the package has more of it."),
    ("左右", "about (a target's tolerance)", "An 'about' target is met when the simulated value lies within the tolerance on either side of the goal (goal ± tolerance); the tolerance is the package file's reading of 左右, cited there."),
    ("达标概率", "probability of meeting a target", "The share of replications that meet the target. With the posterior ensemble each replication has its own draw of the behaviour parameters, so the share covers uncertainty about behaviour as well as chance. Green: at least half; amber: some; red: none."),
    ("90%区间", "90% range", "The 5th to 95th percentile across replications (with few replications, close to the lowest and highest)."),
    ("pp (百分点)", "percentage points", "The difference of two percentages."),
    ("万 / 亿", "10,000 / 100 million", "Chinese units: 1万 = 10,000; 1亿 = 100,000,000 (yuan)."),
]
"""Terms of the report: Chinese as the documents use them, English, what they mean here."""


def _glossary() -> Markup:
    df = pl.DataFrame([{"zh": zh, "en": en, "what": what} for zh, en, what in GLOSSARY])
    return table(df, "glossary", {"zh": "术语", "en": "Term", "what": "Meaning in this report"},
                 widths={"zh": "14%", "en": "20%", "what": "66%"})


def _provenance(res: viewer.Results) -> list[str]:
    man = res.manifest
    prov = man.get("provenance") or {}
    lines = []
    beh = prov.get("behaviour")
    if beh:
        name = Path(beh["path"]).name
        kind = ("the posterior ensemble of the pattern calibration, one draw per replication (docs/calibration.md)"
                if name == "posterior.csv" else
                "the posterior mean of the pattern calibration (docs/calibration.md)" if name == "posterior.mean.toml"
                else "calibrated on the national series (docs/calibration.md)" if name.startswith("calibrated")
                else "hand-set, not calibrated" if name == "default.toml" else "a file given by the user")
        lines.append(f"Behaviour: {beh['path']} — {kind}; sha256 {beh['sha256'][:12]}…. Levels depend on "
                     "these parameters: compare packages on common random numbers rather than read levels as forecasts.")
    else:
        lines.append("Behaviour: not recorded in the manifest (results of an older version, or parameters passed as an object).")
    lines.append(f"Commit: {prov.get('commit', 'not recorded')}.")
    meta = man.get("meta") or {}
    scale = meta.get("scale", man.get("scale"))
    seed = meta.get("seed", man.get("seed"))
    reps = res.metrics["replication"].n_unique()
    lines.append(f"Scale: {'one agent per ' + format(scale, 'g') + ' households' if scale else 'the region default'}; "
                 f"root seed {seed if seed is not None else 'not recorded'}; replications 0–{reps - 1} "
                 "(replication r of every package uses the same households and draws).")
    if res.design is not None:
        lines.append(f"Experiment: {man.get('experiment', '')} ({man.get('file', '')}); "
                     f"{res.design.height} design points, {man.get('runs', '?')} runs.")
    lines.append(f"Results folder: {res.folder}.")
    for f in prov.get("files", []):
        lines.append(f"Config read: {f['path']} (sha256 {f['sha256'][:12]}…).")
    if prov.get("command"):
        lines.append("Command: " + " ".join(str(a) for a in prov["command"]))
    if prov.get("versions"):
        lines.append("Versions: " + ", ".join(f"{k} {v}" for k, v in prov["versions"].items()) + ".")
    return lines


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


def cjk_font(text: str) -> str:
    """Noto Sans CJK SC (shipped by the mplfonts package, SIL Open Font License) cut down to
    the CJK characters of ``text``, as base64 OpenType for an inline ``@font-face``; "" when
    the text has none or the font is missing (the page then relies on the reader's fonts)."""
    import io

    chars = sorted({ord(c) for c in text if ord(c) >= 0x2E80})
    if not chars:
        return ""
    try:
        import mplfonts
        from fontTools import subset
        from fontTools.ttLib import TTFont

        path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
        font = TTFont(str(path), lazy=True)
        options = subset.Options()
        options.layout_features = []
        options.notdef_outline = True
        sub = subset.Subsetter(options)
        sub.populate(unicodes=chars)
        sub.subset(font)
        buf = io.BytesIO()
        font.save(buf)
    except (ImportError, OSError):
        return ""
    return base64.b64encode(buf.getvalue()).decode()


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("sim.report", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _figures(res: viewer.Results, out: Path, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    figs = []
    needs = {"flows": ("flows", "towns"), "groups": ("groups",), "pressure": ("towns",)}
    for key, title, fn in viewer.FIGURES:
        if key == "differences" and not pairs:
            figs.append({"id": key, "title": title, "missing": "One package only: no paired differences."})
            continue
        missing = [t for t in needs.get(key, ()) if getattr(res, t) is None]
        if missing:
            figs.append({"id": key, "title": title,
                         "missing": f"Not available: these results kept no {' or '.join(missing)} output."})
            continue
        fig = fn(res, pairs) if key == "differences" else fn(res)
        data = viewer.save_png(fig, out / f"{key}.png")
        doc = (fn.__doc__ or "").strip().replace("\n", " ")
        figs.append({"id": key, "title": title, "doc": " ".join(doc.split()), "missing": "",
                     "b64": base64.b64encode(data).decode(), "table": None})
    return figs


def report(folder: str | Path, out: str | Path | None = None, baseline: str | None = None) -> Path:
    """Write ``<out>/report.html`` (default ``<folder>/report``) and the figures as PNG; return
    the HTML path. ``baseline`` names the package every other package is compared with
    (default: each package's counterfactual, else the first package)."""
    res = viewer.load(folder)
    out = Path(out) if out else res.folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    pkgs = dc.packages(res)
    pairs = dc.pairings(pkgs, baseline)
    sweep = None
    multi = res.design is not None and res.factors and \
        res.design.group_by("package").agg(pl.len())["len"].max() > 1
    if multi:
        tab, sums = dc.design_summary(res, baseline)
        if tab.height == 0:
            raise ResultsError(f"{res.folder}: no design point has finished runs")
        cards = _sweep_cards(res, tab, sums)
        sweep = _sweep_section(res, tab, sums, out)
        figures: list[dict[str, Any]] = [{
            "id": "per-point", "title": "Figures per design point",
            "missing": ("A sweep that varies factors is drawn as response curves by lever value "
                        "(above), not one series per design point.")}]
        lever_sums = [s for s in sums if s.point == sums[0].point] if sums else []
    else:
        sums = dc.summaries(res, baseline)
        cards = [_card_view(s, i) for i, s in enumerate(sums, start=1)]
        figures = _figures(res, out, [(p.package, p.baseline) for p in pairs if p.baseline])
        lever_sums = sums
    extra = [s for s in (fn(res, out) for fn in EXTRA_SECTIONS) if s is not None]
    reps = res.metrics["replication"].n_unique()
    y0, y1 = res.metrics["year"].min(), res.metrics["year"].max()
    regions = sorted({p.region for p in pkgs.values() if p.region})
    title = (res.manifest.get("meta") or {}).get("title") or res.folder.name
    context = dict(
        title=title, region_text=("region " + ", ".join(regions)) if regions else "region not recorded",
        years=f"{y0 + 1}–{y1} (start {y0})", replications=reps, uncertainty=viewer.uncertainty(res.manifest),
        summaries=cards, sweep=sweep, lever_sections=_lever_sections(lever_sums), figures=figures,
        extra_sections=extra, glossary=_glossary(), provenance=_provenance(res))
    template = _environment().get_template("report.html.j2")
    page = template.render(**context, font="", fonts=", ".join(f'"{f}"' if " " in f else f for f in FONTS))
    font = cjk_font(page)  # the Chinese the page holds, and no more
    if font:
        page = template.render(**context, font=font, fonts=", ".join(f'"{f}"' if " " in f else f for f in FONTS))
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Extra section: the scenario discovery of this sweep (`sim discover` writes discover/)
# ---------------------------------------------------------------------------------------------


def discovery_section(res: viewer.Results, out: Path) -> Section | None:
    """When is the target missed: the PRIM box that ``sim discover`` found in this sweep (its
    ``discover/box.json``), with coverage, density and each restricted dimension, and the peeling
    trade-off figure. None when the folder holds no discovery."""
    import json

    folder = res.folder / "discover"
    box_file = folder / "box.json"
    if not box_file.is_file():
        return None
    body = json.loads(box_file.read_text())
    box = body.get("box")
    head = (f"{body['package']} misses “{body['target']}” in {body['misses']} of {body['cases']} runs "
            "(each run one replication, so one posterior draw, at one lever setting).")
    figures = []
    png = folder / "peeling.png"
    if png.is_file():
        figures.append({"title": "PRIM's peeling trade-off: coverage (share of the misses inside the "
                                 "box) against density (share of the box's runs that miss)",
                        "b64": base64.b64encode(png.read_bytes()).decode()})
    if box is None:
        html = Markup("<p>{}</p>").format(head + " There is no box to find: the target is "
                                          + ("never" if body["misses"] == 0 else "always") + " missed.")
        return Section("discovery", "When the package fails · 情景发现", head, html, figures)
    rows = pl.DataFrame([{
        "dimension": r["dimension"],
        "box": (", ".join(map(str, r["categories"])) if r.get("categories")
                else f"{r['min']:.4g} to {r['max']:.4g}"),
        "sampled": ("" if r.get("categories") else f"{r['range_min']:.4g} to {r['range_max']:.4g}"),
    } for r in box["restricted"]], schema={"dimension": pl.Utf8, "box": pl.Utf8, "sampled": pl.Utf8})
    summary = (f"Chosen box (step {box['step']}): coverage {box['coverage']:.0%}, density "
               f"{box['density']:.0%}, {box['mass']:.0%} of runs. The package misses the target when "
               "every restricted dimension lies in its box.")
    html = Markup("<p>{}</p>").format(summary) + table(
        rows, "discovery-box", {"dimension": "assumption or lever", "box": "in the box",
                                "sampled": "range sampled"})
    return Section("discovery", "When the package fails · 情景发现", head, html, figures)


EXTRA_SECTIONS.append(discovery_section)


# ---------------------------------------------------------------------------------------------
# Extra section: the region on a map (sim/report/maps.py)
# ---------------------------------------------------------------------------------------------


def map_section(res: viewer.Results, out: Path) -> Section | None:
    """Each package's towns on a map in the last year: sized by residents, coloured by the share
    holding town hukou, with the year's largest flows from origins into towns, over the offline
    boundaries. None when the results kept no town table or the region has no coordinates (the
    stylised national region)."""
    from sim.report import maps

    if res.towns is None or res.design is not None and res.factors:
        return None  # no town table; a factor sweep would need a map per design point
    year = int(res.metrics["year"].max())
    figures = []
    for label in res.labels[:3]:
        try:
            region = maps.region_of(res, label)
            if maps.places_frame(region).height == 0:
                continue
            fig = maps.fig_map(res, label, year, region=region)
        except (ResultsError, ValueError, KeyError, ImportError, OSError):
            continue  # a region without coordinates: no map for it, said in the section's text
        data = viewer.save_png(fig, out / f"map_{len(figures)}.png")
        figures.append({"title": f"{label}, {year}", "b64": base64.b64encode(data).decode()})
    if not figures:
        return None
    doc = (f"Towns in {year}, one map per package: circles sized by residents and coloured by the "
           "share holding town hukou; lines the year's largest flows from origins into towns. "
           "Locations are approximate seats of each place (their sources are in the region files); "
           "boundaries are cnmaps' offline outlines (docs/maps.md).")
    return Section("map", "Map 地图", doc, Markup(""), figures)


EXTRA_SECTIONS.append(map_section)
