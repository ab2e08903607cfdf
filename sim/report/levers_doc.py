"""The generated ``docs/levers.md``: every lever's response over its plausible range on each seed
region (issue 15 item 2), with a figure per lever under ``docs/levers/``.

``sim response`` (``make levers-doc``) runs :func:`sim.experiments.response.run_responses` and
writes the page with :func:`write`; nothing in it is typed by hand. The page flags every lever
whose response is flat on every region (see :func:`sim.experiments.response.verdicts` for the
definitions) and every lever whose measured direction contradicts the expected one.
"""

from __future__ import annotations

import io
import math
import time
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import polars as pl

from sim.configuration import RATE_METRICS
from sim.experiments.response import (
    CATALOGUE,
    COUNT_TOLERANCE,
    DEFAULT_REPLICATIONS,
    DEFAULT_SCALE,
    RATE_TOLERANCE,
    SEED_REGIONS,
    Lever,
    label,
    mean_ci,
    run_responses,
    verdicts,
)
from sim.report import viewer  # noqa: F401 - importing it sets the fonts (CJK) and rcParams

REGION_TITLES = {"dehong": "Dehong", "qingdao": "Qingdao", "changji": "Changji",
                 "xuchang": "Xuchang", "dashiqiao": "Dashiqiao"}
COLORS = {"dehong": "#1b9e77", "qingdao": "#d95f02", "changji": "#7570b3", "xuchang": "#e7298a",
          "dashiqiao": "#e6ab02"}
OUTCOME_LABELS = {
    "settled_persons": "settled persons over the horizon",
    "resident_urbanization": "resident urbanisation, final year",
    "hukou_urbanization": "hukou urbanisation (resident base), final year",
    "left_behind_children": "left-behind children, final year",
    "left_behind_share": "share of native migrants' school-age children left behind, final year",
    "public_cost_yuan": "public cost over the horizon (yuan)",
    "group:new_generation:settled_persons": "settled persons of the new generation over the horizon",
    "group:with_collective_dividend:settled_persons": "settled persons of natives holding collective "
                                                      "shares of material value over the horizon",
    "group:same_province:settled_persons": "settled persons of outsiders from the region's own "
                                           "province over the horizon",
    "group:with_children:settled_persons": "settled persons of households with school-age children "
                                           "over the horizon",
    "migrant_pupils_public": "non-hukou pupils in public town schools, final year",
}


def table(frame: pl.DataFrame) -> pl.DataFrame:
    """Per (lever, region, value): means across replications, the paired change of settled
    persons and of the outcome from the off value with their 90% half-widths, and the cost per
    additional settler (mean change in cost over mean change in settled persons, where the latter
    is told apart from noise)."""
    rows = []
    for (name, region, x), sub in frame.group_by("lever", "region", "x", maintain_order=True):
        ds, hs = mean_ci(sub["d_settled"])
        do, ho = mean_ci(sub["d_outcome"])
        dc = float(sub["d_cost_total"].mean())
        off = bool(sub["is_off"][0])
        cps = dc / ds if not off and abs(ds) > hs and ds != 0 else float("nan")
        rows.append({"lever": name, "region": region, "x": x, "value": sub["value"][0], "is_off": off,
                     "settled": float(sub["settled_persons"].mean()), "d_settled": ds,
                     "d_settled_ci": hs, "resident": float(sub["resident_urbanization"].mean()),
                     "hukou": float(sub["hukou_urbanization"].mean()),
                     "hukou_hb": float(sub["hukou_urbanization_hukou_base"].mean()),
                     "cost_per_year": float(sub["public_cost_per_year"].mean()),
                     "outcome": float(sub["outcome"].mean()), "d_outcome": do, "d_outcome_ci": ho,
                     "cost_per_settler": cps})
    order = {r: i for i, r in enumerate(SEED_REGIONS)}
    return (pl.DataFrame(rows)
            .with_columns(pl.col("region").replace_strict(order, default=len(order)).alias("_order"))
            .sort("lever", "_order", "x").drop("_order"))


def _fmt_count(x: float, signed: bool = False) -> str:
    if math.isnan(x):
        return "—"
    return f"{x:+,.0f}" if signed else f"{x:,.0f}"


def _fmt_outcome(entry: Lever, x: float, signed: bool = False) -> str:
    if math.isnan(x):
        return "—"
    if entry.outcome in RATE_METRICS:  # urbanisation, the share left behind
        return f"{100 * x:+.2f}pp" if signed else f"{100 * x:.1f}%"
    if entry.outcome == "public_cost_yuan":
        return f"{x / 1e8:+.2f}亿" if signed else f"{x / 1e8:.2f}亿"
    return _fmt_count(x, signed)


def _wan(x: float) -> str:
    return "—" if math.isnan(x) else f"{x / 1e4:,.1f}"


SHORT = {"students": "stu", "soldiers": "sol", "whole_family": "fam", "long_resident": "long",
         "new_generation": "new"}


def _tick(value: Any) -> str:
    """A value as an axis tick: lists of groups abbreviated."""
    if isinstance(value, (list, tuple)):
        return "+".join(SHORT.get(g, g) for g in value) or "none"
    return label(value)


def figure(entry: Lever, rows: pl.DataFrame, path: Path) -> None:
    """Settled persons (% change from the off value) and cost per additional settler against the
    value, one line per region; a third panel for the outcome when it is not settled persons."""
    extra = entry.outcome != "settled_persons"
    rate = entry.outcome in ("resident_urbanization", "hukou_urbanization")
    fig, axes = plt.subplots(1, 3 if extra else 2, figsize=(10.5 if extra else 7.5, 2.5), dpi=72)
    present = set(rows["region"].to_list())
    for region in [r for r in SEED_REGIONS if r in present]:
        r = rows.filter(pl.col("region") == region).sort("x")
        base = r.filter(pl.col("is_off"))["settled"]
        kw = {"color": COLORS.get(region), "marker": "o", "ms": 3, "lw": 1.2,
              "label": REGION_TITLES.get(region, region)}
        if base.len() and base[0]:
            axes[0].plot(r["x"], 100 * r["d_settled"] / base[0], **kw)
        axes[1].plot(r["x"], r["cost_per_settler"] / 1e4, **kw)
        if extra and rate:
            axes[2].plot(r["x"], 100 * r["d_outcome"], **kw)
        elif extra:
            off = r.filter(pl.col("is_off"))["outcome"]
            if off.len() and off[0]:
                axes[2].plot(r["x"], 100 * r["d_outcome"] / abs(off[0]), **kw)
    axes[0].set_title("settled persons, % change from off", fontsize=9)
    axes[1].set_title("cost per additional settler (万 yuan)", fontsize=9)
    if extra:
        what = OUTCOME_LABELS.get(entry.outcome, entry.outcome)
        axes[2].set_title(f"{what}: change from off, {'pp' if rate else '%'}", fontsize=8)
    xs = sorted(set(rows["x"].to_list()))
    for ax in axes:
        ax.axhline(0, color="#999", lw=0.6)
        ax.tick_params(labelsize=7)
        if entry.categorical:
            names = {entry.x(v): _tick(v) for v in entry.run_values()}
            ax.set_xticks(xs, [names.get(x, "") for x in xs], fontsize=6, rotation=15)
    axes[0].legend(fontsize=6, frameon=False)
    fig.suptitle(entry.name, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=72, format="png")
    plt.close(fig)
    from PIL import Image  # matplotlib's own dependency

    buf.seek(0)
    # a 64-colour palette: a third of the bytes, the same picture (these figures have ~10 colours)
    Image.open(buf).convert("RGB").quantize(colors=64).save(path, optimize=True)


def _anchor(name: str) -> str:
    return name.replace(".", "").lower()  # GitHub's heading anchors drop dots


def _link(name: str) -> str:
    return f"[`{name}`](#{_anchor(name)})"


def render(frame: pl.DataFrame, *, fig_dir: Path, fig_rel: str, command: str, commit: str,
           replications: int, scale: float, seconds: float) -> str:
    """The page's Markdown; writes one PNG per lever into ``fig_dir``."""
    verdict = verdicts(frame)
    rows = table(frame)
    levers = [n for n in CATALOGUE if n in set(frame["lever"].to_list())]
    regions = [r for r in SEED_REGIONS if r in set(frame["region"].to_list())]
    horizons = (frame.group_by("region").agg(pl.col("first_year").first(), pl.col("last_year").first()))
    span = {r["region"]: f"{r['first_year']}–{r['last_year']}" for r in horizons.iter_rows(named=True)}
    status = {(r["lever"], r["region"]): r for r in verdict.iter_rows(named=True)}

    flat_all = [n for n in levers if all(status[(n, r)]["status"] == "flat" for r in regions)]
    quiet_all = [n for n in levers if n not in flat_all and
                 all(status[(n, r)]["status"] in ("flat", "weak") for r in regions)]
    wrong = [(n, r) for n in levers for r in regions
             if CATALOGUE[n].direction and status[(n, r)]["measured"] not in ("0", CATALOGUE[n].direction)]
    flat_some = [(n, [r for r in regions if status[(n, r)]["status"] == "flat"]) for n in levers
                 if n not in flat_all]
    flat_some = [(n, rs) for n, rs in flat_some if rs]

    out = [
        "# Lever response curves",
        "",
        (f"Generated by `{command}` (`make levers-doc`) at commit `{commit}`, from "
        "`sim/experiments/response.py` (the catalogue of levers) and a fresh run; do not edit by "
        f"hand. Run time {seconds:.0f} s."),
        "",
        "Each lever of the policy schema is set **region-wide** (its `default`, and every tier and "
        "town where the package sets it) at each value of its plausible range in the seed package "
        "of each region, everything else as the package has it, and also at its **off** value "
        "(the schema's no-policy default: the package without the lever). Some levers act only "
        "when another is set; their section names that **context**, which holds at every value, off "
        "included. The packages run on their own regions, each for ten years from its own start "
        "(past a package's end its last levers stay in force, so that levers acting through homes "
        "bought or years of residence have time to act and regions compare): "
        + ", ".join(f"{REGION_TITLES[r]} ({SEED_REGIONS[r]}, {span.get(r, '?')})" for r in regions)
        + ".",
        "",
        (f"**Budget**: {replications} replications per value at a scale of {scale:g} households per "
        "agent (coarse: rates and counts are noisier than at the regions' default scales, but "
        "replication r of every value of a lever uses the same households and draws — common "
        "random numbers — so the changes from the off value are paired). Behaviour parameters are "
        "one set, the posterior mean (configs/behaviour/posterior.mean.toml, where it exists): a "
        "response is the model's mechanism at one behaviour, which a posterior draw per "
        "replication would swamp."),
        "",
        ("**Measures** (means across replications): settled persons summed over the horizon; resident "
        "and hukou urbanisation in the final year (hukou on the resident base, as NBS publishes it, "
        "and on the hukou base, as local bureaus do: `sim.configuration.names.METRIC_DEFINITIONS`); "
        "public cost per year (`public_cost_yuan`, mean over the simulated years); **cost per "
        "additional settler** = the paired change in public cost over the horizon divided by the "
        "paired change in settled persons, both against the off value, shown only where the change "
        "in settled persons is told apart from noise (its 90% interval excludes 0). It is negative "
        "where a lever saves money while settling more, or costs money while settling fewer."),
        "",
        ("**Verdicts**, per lever and region, on the lever's *outcome* (settled persons unless its "
        "section says otherwise). D is the mean paired change of the outcome from the off value at "
        "a value, h its 90% confidence half-width across replications, and the tolerance "
        f"{100 * COUNT_TOLERANCE:g}% of the off value's outcome for counts and yuan, "
        f"{100 * RATE_TOLERANCE:g} percentage point for rates. **flat**: at every value |D| ≤ "
        "tolerance and |D| ≤ h (negligible, and not told apart from noise); **weak**: every |D| ≤ "
        "tolerance but some |D| > h (detected, negligible); **inconclusive**: some |D| > tolerance "
        "but every |D| ≤ h (not detected: more replications needed); **responds**: otherwise. The "
        "**measured direction** is the sign of the paired change from the first to the last value "
        "of the range where its 90% interval excludes 0, else 0."),
        "",
        "## Summary",
        "",
        f"{len(levers)} levers on {len(regions)} regions.",
        "",
        "**FLAT — flat on every region (a defect to fix or explain):** "
        + (", ".join(_link(n) for n in flat_all) or "none") + ".",
        "",
        "**Flat or weak on every region (no material response anywhere):** "
        + (", ".join(_link(n) for n in quiet_all) or "none") + ".",
        "",
        "**Measured direction opposite to the expected one:** "
        + ("; ".join(f"{_link(n)} on {REGION_TITLES[r]} (expected {CATALOGUE[n].direction}, change "
                     f"{_fmt_outcome(CATALOGUE[n], status[(n, r)]['range_change'], True)} ± "
                     f"{_fmt_outcome(CATALOGUE[n], status[(n, r)]['range_change_ci'])})"
                     for n, r in wrong) or "none") + ".",
        "",
    ]
    if flat_some:
        out += [("**Flat on some regions only** (often a package masking the lever: with "
                "`hukou.open` every migrant is eligible in Xuchang and Dashiqiao, so a condition on "
                "the basic route changes nothing there):"), "",
                "| lever | flat on |", "|---|---|"]
        out += [f"| {_link(n)} | {', '.join(REGION_TITLES[r] for r in rs)} |" for n, rs in flat_some]
        out.append("")
    out += ["| lever | kind | expected | " + " | ".join(REGION_TITLES[r] for r in regions) + " |",
            "|---|---|---|" + "---|" * len(regions)]
    for n in levers:
        e = CATALOGUE[n]
        cells = [f"{status[(n, r)]['status']} ({status[(n, r)]['measured']})" for r in regions]
        out.append(f"| {_link(n)} | {e.kind} | {e.direction or 'none'} | " + " | ".join(cells) + " |")
    out += ["", "Each cell: status (measured direction).", ""]

    group = None
    for n in levers:
        e = CATALOGUE[n]
        if e.group != group:
            group = e.group
            out += [f"## {group}", ""]
        png = fig_dir / f"{n}.png"
        mine = rows.filter(pl.col("lever") == n)
        figure(e, mine, png)
        vals = ", ".join(label(v) for v in e.values)
        out += [f"### {n}", "", e.what, ""]
        if n in flat_all:
            out += ["**FLAT**: no response on any region over the whole range.", ""]
        out += [(f"- **Range** ({'unit cost, not a planner’s choice; ' if e.kind == 'parameter' else ''}"
                f"values run): {vals}; **off**: {label(e.off)}. Source: {e.range_source}.")]
        if e.context:
            ctx = ", ".join(f"`{k}` = {label(v)}" for k, v in e.context.items())
            out.append(f"- **Context**: {ctx} — {e.context_reason}.")
        out += [f"- **Outcome judged**: {OUTCOME_LABELS.get(e.outcome, e.outcome)}.",
                f"- **Expected direction**: {e.direction or 'none known'} — {e.reason}.",
                f"- **Literature**: {e.literature}.",
                *([f"- **Why the response is as it is**: {e.why}."] if e.why else []),
                *([f"- **Tested by**: `{e.mechanism_test}` instead of the response's direction (the "
                   "stake is below what a response beyond the tolerance needs; see above)."]
                  if e.mechanism_test else []), "",
                f"![{n}]({fig_rel}/{n}.png)", "",
                "| region | status | change over the range [90% CI] | measured | expected |",
                "|---|---|---|---|---|"]
        for r in regions:
            v = status[(n, r)]
            out.append(f"| {REGION_TITLES[r]} | {'**FLAT**' if v['status'] == 'flat' else v['status']} | "
                       f"{_fmt_outcome(e, v['range_change'], True)} ± {_fmt_outcome(e, v['range_change_ci'])} | "
                       f"{v['measured']} | {e.direction or 'none'} |")
        extra = e.outcome != "settled_persons"
        out += ["", "| region | value | settled | Δ settled vs off [90% CI] | resident | hukou "
                "(resident / hukou base) | public cost / yr | cost per additional settler (万) |"
                + (f" Δ {OUTCOME_LABELS.get(e.outcome, e.outcome)} |" if extra else ""),
                "|---|---|---|---|---|---|---|---|" + ("---|" if extra else "")]
        for row in mine.iter_rows(named=True):
            value = row["value"] + (" (off)" if row["is_off"] else "")
            cells = [REGION_TITLES[row["region"]], value, _fmt_count(row["settled"]),
                     "—" if row["is_off"] else
                     f"{_fmt_count(row['d_settled'], True)} ± {_fmt_count(row['d_settled_ci'])}",
                     f"{100 * row['resident']:.1f}%",
                     f"{100 * row['hukou']:.1f}% / {100 * row['hukou_hb']:.1f}%",
                     f"{row['cost_per_year'] / 1e8:.2f}亿", _wan(row["cost_per_settler"])]
            if extra:
                cells.append("—" if row["is_off"] else
                             f"{_fmt_outcome(e, row['d_outcome'], True)} ± {_fmt_outcome(e, row['d_outcome_ci'])}")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out) + "\n"


def generate(regions: list[str] | None = None, levers: list[str] | None = None, *,
             replications: int = DEFAULT_REPLICATIONS, scale: float = DEFAULT_SCALE,
             workers: int = 2, out: str | Path = "docs/levers.md", progress: bool = True,
             command: str | None = None) -> dict[str, Any]:
    """Run the responses and write ``out`` with its figures in ``<out folder>/levers/``."""
    from sim.experiments.response import select
    from sim.outputs.provenance import git_commit

    entries = select(levers)
    out = Path(out)
    if out.is_dir():
        from sim.errors import UsageError

        raise UsageError(f"--out: {out} is a folder; give the Markdown file to write")
    t0 = time.perf_counter()
    frame = run_responses(regions, entries, replications=replications, scale=scale,
                          workers=workers, progress=progress)
    seconds = time.perf_counter() - t0
    command = command or "sim response"
    fig_dir = out.parent / out.stem
    text = render(frame, fig_dir=fig_dir, fig_rel=out.stem, command=command, commit=git_commit(),
                  replications=replications, scale=scale, seconds=seconds)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return {"out": out, "levers": len(entries), "seconds": seconds, "frame": frame}
