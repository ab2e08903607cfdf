"""The Solara components of the planner's app: the lever form, the run's results and the map.

Each component is a plain function of its inputs (a loaded package, the form's entries, a
finished run's :class:`~sim.app.session.Summary`), so the planner's page (:mod:`sim.app.app`),
Mesa's SolaraViz page and a notebook cell (``display(LeverForm(...))``) show the same things.
Figures are the report's (:mod:`sim.report.viewer`, :mod:`sim.report.maps`), drawn with
matplotlib and shown as images.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import polars as pl
import solara

from sim.app.levers import SECTIONS, GROUP_TITLES, LeverSpec, catalogue, package_value, text, validate_edits
from sim.app.session import HEADLINE, Summary
from sim.configuration import METRIC_DEFINITIONS, Policy
from sim.errors import SimError

_SPECS: list[LeverSpec] | None = None


def specs() -> list[LeverSpec]:
    """The lever catalogue (read once from the schema)."""
    global _SPECS
    if _SPECS is None:
        _SPECS = catalogue()
    return _SPECS


def css_name(lever: str) -> str:
    """The CSS class of a lever's input (``lever-housing-purchase_subsidy_yuan``), for tests."""
    return "lever-" + lever.replace(".", "-")


def png(fig: plt.Figure) -> bytes:
    """A figure as PNG bytes; the figure is closed, so figures do not pile up in pyplot."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


@solara.component
def Figure(make: Callable[[], plt.Figure], key: Any):
    """The figure ``make()`` draws, as an image; drawn again only when ``key`` changes (not on
    every render of the page, e.g. while the planner types a lever). A figure the results cannot
    give (a region without coordinates has no map) shows why instead."""
    def draw() -> tuple[bytes | None, str]:
        try:
            return png(make()), ""
        except SimError as exc:
            return None, str(exc)

    data, why = solara.use_memo(draw, dependencies=[key])
    if why:
        solara.Warning(why)
    else:
        solara.Image(data, width="100%")


# --------------------------------------------------------------------------------------------
# The lever form
# --------------------------------------------------------------------------------------------


@solara.component
def LeverRow(spec: LeverSpec, policy: Policy, entry: Any, error: str | None,
             on_entry: Callable[[str, Any], None]):
    """One lever: its input, what the package sets (and where it sets it otherwise), the
    package's source, what the schema allows and the catalogue's plausible range."""
    had = package_value(policy, spec)
    shown = entry if entry is not None else (had.value if spec.kind == "groups" else text(had.value))
    label = spec.field + (" (changed)" if entry is not None else "")
    classes = [css_name(spec.name)]
    with solara.Column(gap="2px", style={"margin-bottom": "10px"}):
        if spec.kind == "bool":
            solara.Select(label=label, value=str(shown).lower(), values=["true", "false"],
                          on_value=lambda v: on_entry(spec.name, v), classes=classes)
        elif spec.kind == "choice":
            solara.Select(label=label, value=str(shown), values=[str(o) for o in spec.options],
                          on_value=lambda v: on_entry(spec.name, v), classes=classes)
        elif spec.kind == "groups":
            solara.SelectMultiple(label=label, values=list(shown), all_values=list(spec.options),
                                  on_value=lambda v: on_entry(spec.name, list(v)), classes=classes)
        else:
            solara.InputText(label=label, value=str(shown), continuous_update=False,
                             on_value=lambda v: on_entry(spec.name, v), classes=classes,
                             error=bool(error))
        with solara.Column(style={"overflow-wrap": "anywhere"}):
            if error:
                solara.Error(error, dense=True, classes=["lever-error"])
        notes = [f"package: **{text(had.value)}**"]
        if had.elsewhere:
            notes.append("also set " + "; ".join(had.elsewhere) + " (a change here replaces these)")
        notes.append(f"allowed: {spec.allowed()}")
        if spec.plausible:
            notes.append(f"plausible: {spec.plausible}")
        notes.append("source: " + (" | ".join(had.sources) if had.sources
                                   else "not set by the package: the schema's no-policy default"))
        if spec.what:
            notes.insert(0, spec.what)
        solara.Markdown("<br>".join(notes), style={"font-size": "12px", "color": "#555",
                                                    "line-height": "1.3"})


@solara.component
def Section(title: str, body: Callable[[], None], expand: bool = False):
    """A collapsible section (as ``solara.Details``) whose content is built only while it is
    open, so the closed sections of a hundred levers cost nothing on each render."""
    from solara.alias import rv

    open_, set_open = solara.use_state_or_update(expand)
    with rv.ExpansionPanels(v_model=0 if open_ else None, on_v_model=lambda v: set_open(v == 0)):
        with rv.ExpansionPanel():
            rv.ExpansionPanelHeader(children=[title])
            with rv.ExpansionPanelContent():
                if open_:
                    body()


@solara.component
def LeverForm(policy: Policy, entries: dict[str, Any], on_entries: Callable[[dict[str, Any]], None],
              on_run: Callable[[dict[str, Any], str], None], running: bool = False):
    """Every lever of the schema, grouped as the documents group them (hukou entry, housing,
    rights, schools, services, jobs, fiscal, in-situ). ``entries`` holds what the planner typed
    (lever name -> text); the run buttons check every entry and call ``on_run(values, kind)``
    only when all are valid. An invalid entry shows its message under the lever, naming it and
    what is allowed, and nothing runs."""
    all_specs = specs()
    by_name = {s.name: s for s in all_specs}
    values, errors = validate_edits(policy, by_name, entries) if entries else ({}, {})
    tried, set_tried = solara.use_state(False)

    def set_entry(name: str, value: Any) -> None:
        new = dict(entries)
        spec = by_name[name]
        default = package_value(policy, spec).value
        if (value == default if spec.kind == "groups" else str(value).strip() == text(default)):
            new.pop(name, None)  # back to the package's value: no change
        else:
            new[name] = value
        set_tried(False)
        on_entries(new)

    def submit(kind: str) -> None:
        set_tried(True)
        if errors:
            return
        on_run(values, kind)

    with solara.Column(gap="4px"):
        with solara.Row(gap="8px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Button("Run (coarse, a few seconds)", color="primary", disabled=running,
                          on_click=lambda: submit("coarse"), classes=["run-coarse"])
            solara.Button("Confirm (default scale, posterior draws)", disabled=running,
                          on_click=lambda: submit("confirm"), classes=["run-confirm"])
            solara.Button("Reset levers", text=True, disabled=running or not entries,
                          on_click=lambda: (set_tried(False), on_entries({})))
            solara.Text(f"{len(entries)} lever(s) changed" if entries else
                        "no lever changed: the run compares the package itself with the baseline")
        # always present (empty when all is well), so the sections below keep their places
        with solara.Column(classes=["form-errors"], style={"overflow-wrap": "anywhere"}):
            if errors:
                head = "Nothing ran: " if tried else ""
                solara.Error(f"{head}{len(errors)} value(s) are not allowed; fix them to run: "
                             + "; ".join(errors.values()), classes=["form-error-summary"])
        for section, groups in SECTIONS.items():
            rows = [s for s in all_specs if s.section == section]
            changed = sum(1 for s in rows if s.name in entries)
            bad = sum(1 for s in rows if s.name in errors)
            title = f"{section} ({len(rows)} levers" + (f", {changed} changed" if changed else "") + \
                (f", {bad} invalid" if bad else "") + ")"
            def body(groups=groups, rows=rows) -> None:
                for group in groups:
                    if len(groups) > 1:
                        solara.Markdown(f"**{GROUP_TITLES.get(group, group)}**")
                    for spec in rows:
                        if spec.group == group:
                            LeverRow(spec, policy, entries.get(spec.name), errors.get(spec.name), set_entry)

            Section(title, body, expand=bool(changed or bad)).key(section)


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def words(metric: str) -> str:
    """A metric's name as a reader says it (``settled_persons`` -> "settled persons"); the
    definitions under the table give the code name beside it."""
    return metric.replace("_", " ")


def _fmt(metric: str, x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if metric.endswith(("urbanization", "intention", "share", "gap")):
        return f"{100 * x:.1f}%"
    if metric.endswith("yuan"):
        return f"{x / 1e6:,.1f} million yuan"
    return f"{x:,.0f}"


def _fmt_diff(metric: str, x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if metric.endswith(("urbanization", "intention", "share", "gap")):
        return f"{100 * x:+.1f} pp"
    if metric.endswith("yuan"):
        return f"{x / 1e6:+,.1f} million yuan"
    return f"{x:+,.0f}"


def headline_markdown(summary: Summary, metrics: tuple[str, ...] | None = HEADLINE) -> str:
    """The comparison as a table: each metric (the headline ones, or all with ``None``) for the
    baseline and the variant (mean and 90% band across replications) and the paired difference
    (mean and 90% interval)."""
    t = summary.headline
    lines = [f"| metric | {summary.baseline} (baseline) | {summary.variant} (variant) | "
             "difference (paired) |", "|---|---|---|---|"]
    every = [*HEADLINE, *[m for m in t["metric"].unique(maintain_order=True) if m not in HEADLINE]]
    for metric in metrics or every:
        rows = {r["package"]: r for r in t.filter(pl.col("metric") == metric).iter_rows(named=True)}
        if summary.baseline not in rows or summary.variant not in rows:
            continue
        b, v = rows[summary.baseline], rows[summary.variant]
        how = "final year" if v["how"] == "final" else "yearly mean"
        lines.append(
            f"| {words(metric)} ({how}) | {_fmt(metric, b['mean'])} [{_fmt(metric, b['lo90'])}, {_fmt(metric, b['hi90'])}] "
            f"| {_fmt(metric, v['mean'])} [{_fmt(metric, v['lo90'])}, {_fmt(metric, v['hi90'])}] "
            f"| **{_fmt_diff(metric, v['diff'])}** [{_fmt_diff(metric, v['diff_lo90'])}, "
            f"{_fmt_diff(metric, v['diff_hi90'])}] |")
    return "\n".join(lines)


def cost_markdown(summary: Summary) -> str:
    """Public cost and settlers over the run, and the extra cost per additional settler."""
    c = summary.cost
    per = c["cost_per_extra_settler"]
    per_text = (f"**{per:,.0f} yuan** per additional settler" if not math.isnan(per) else
                "no additional settlers on average, so no cost per additional settler")
    return (f"Over the simulated years (sums; means over replications): public cost "
            f"{c['cost_variant'] / 1e6:,.0f} million yuan with the variant, "
            f"{c['cost_baseline'] / 1e6:,.0f} million with the baseline "
            f"(**{c['extra_cost'] / 1e6:+,.0f} million**); settlers {c['settled_variant']:,.0f} "
            f"vs {c['settled_baseline']:,.0f} (**{c['extra_settlers']:+,.0f}**): {per_text}.")


def targets_markdown(summary: Summary) -> str:
    """The variant's targets (the original package's): simulated mean and band, the probability
    of meeting each (share of replications) and the verdict."""
    t = summary.targets
    if t is None or t.height == 0:
        return "The package states no targets for this region."
    lines = ["| target | simulated [90% band] | probability met | verdict |", "|---|---|---|---|"]
    for r in t.iter_rows(named=True):
        metric = r["metric"]
        mean = _fmt(metric, r["mean"]) if r["mean"] is not None else "n/a"
        band = (f" [{_fmt(metric, r['lo90'])}, {_fmt(metric, r['hi90'])}]"
                if r["lo90"] is not None else "")
        prob = f"{100 * r['share_met']:.0f}%" if r["share_met"] is not None else "n/a"
        lines.append(f"| {r['label']} | {mean}{band} | {prob} | {r['status']} |")
    return "\n".join(lines)


def groups_markdown(summary: Summary) -> str:
    """Eligibility, intention and settlement by group in the final year (the 'glass door')."""
    g = summary.groups
    if g is None:
        return "No group table in this run."
    lines = ["| group | eligible (base → variant) | intention (base → variant) | settled this year (base → variant) |",
             "|---|---|---|---|"]
    for group in g["group"].unique(maintain_order=True):
        rows = {r["label"]: r for r in g.filter(pl.col("group") == group).iter_rows(named=True)}
        if summary.baseline not in rows or summary.variant not in rows:
            continue
        b, v = rows[summary.baseline], rows[summary.variant]
        if not (b["residents_households"] or v["residents_households"]):
            continue
        cells = [f"{_fmt('share', b[c])} → {_fmt('share', v[c])}"
                 for c in ("eligible_share", "intention", "settlement_rate")]
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@solara.component
def MapView(summary: Summary):
    """The region on a map for a chosen year and series, coloured by hukou share or settlement."""
    from sim.report.maps import COLOURS, fig_map

    res = summary.results
    years = sorted(res.metrics["year"].unique().to_list())
    year, set_year = solara.use_state(years[-1])
    colour, set_colour = solara.use_state("hukou_share")
    label, set_label = solara.use_state(summary.variant)
    with solara.Row(gap="12px", style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.SliderInt(f"year {year}", value=year, min=years[0], max=years[-1], on_value=set_year,
                         tick_labels="end_points")
        solara.ToggleButtonsSingle(value=colour, values=list(COLOURS), on_value=set_colour)
        solara.ToggleButtonsSingle(value=label, values=res.labels, on_value=set_label)
    def make() -> plt.Figure:
        return fig_map(res, label=label, year=year, colour=colour)

    with solara.Column(classes=["region-map"]):
        Figure(make, (str(summary.folder), label, year, colour))


@solara.component
def ResultsView(summary: Summary):
    """A finished pair: headline numbers, urbanisation with bands, paired differences, targets,
    groups, cost per additional settler, and the map."""
    from sim.report.viewer import fig_differences, fig_groups, fig_urbanization

    s = summary.settings
    res = summary.results
    with solara.Column(classes=["results"]):
        solara.Markdown(
            f"### {summary.variant} against {summary.baseline}\n"
            f"{s['region']}, {s['start']}-{s['end']}; {s['replications']} replications at "
            f"{s['scale']:g} households per agent ({s['households_simulated']:,} agents), seed "
            f"{s['seed']}; {summary.uncertainty}. Bands: 90% across replications; differences: "
            "paired by replication (common random numbers), 90% interval of the mean.")
        with solara.Column(classes=["headline"]):
            solara.Markdown(headline_markdown(summary))
        with solara.Details(summary="all compared metrics"):
            solara.Markdown(headline_markdown(summary, None))
        with solara.Column(classes=["cost"]):
            solara.Markdown("#### Cost\n" + cost_markdown(summary))
        solara.Markdown("#### Map")
        MapView(summary)
        solara.Markdown("#### Urbanisation (resident and hukou) with 90% bands")
        Figure(lambda: fig_urbanization(res), (str(summary.folder), "urbanisation"))
        solara.Markdown("#### Paired difference from the baseline")
        Figure(lambda: fig_differences(res), (str(summary.folder), "differences"))
        with solara.Column(classes=["targets"]):
            solara.Markdown("#### Targets of the package\n" + targets_markdown(summary))
        solara.Markdown("#### Settlement, intention and eligibility by group (final year)\n"
                        + groups_markdown(summary))
        Figure(lambda: fig_groups(res), (str(summary.folder), "groups"))
        definitions = [f"**{words(m)}** (`{m}`): {METRIC_DEFINITIONS[m]}" for m in HEADLINE if m in METRIC_DEFINITIONS]
        if definitions:
            with solara.Details(summary="What the numbers mean"):
                solara.Markdown("<br>".join(definitions), style={"font-size": "12px"})
