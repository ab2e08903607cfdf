"""Figures of a search and a scenario discovery, as PNG (matplotlib, no display): the Pareto
front of cost against settlement (``sim search``) and PRIM's peeling trade-off (``sim discover``).
They read the tables those commands write; the decision report may embed them."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = ["DejaVu Sans"]
    try:  # Chinese labels (town names, 亿) render with the CJK font mplfonts ships
        import mplfonts
        from matplotlib import font_manager

        font = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
        font_manager.fontManager.addfont(str(font))
        families.append(font_manager.FontProperties(fname=str(font)).get_name())
    except (ImportError, OSError, RuntimeError):  # a missing font only changes glyphs
        pass
    plt.rcParams.update({"font.family": families})
    return plt


def peeling_figure(peeling: pl.DataFrame, chosen: int, path: Path, title: str) -> Path:
    """Coverage against density for every step of PRIM's peeling, coloured by the number of
    restricted dimensions, with the chosen box marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=110)
    sc = ax.scatter(peeling["coverage"], peeling["density"], c=peeling["restricted"], cmap="viridis", s=28)
    ax.plot(peeling["coverage"], peeling["density"], color="0.7", lw=0.8, zorder=0)
    if chosen >= 0:
        row = peeling.row(chosen, named=True)
        ax.scatter([row["coverage"]], [row["density"]], s=160, facecolors="none", edgecolors="crimson",
                   lw=1.8, label=f"chosen box (step {chosen})")
        ax.legend(loc="lower right", frameon=False)
    from matplotlib.ticker import MaxNLocator

    bar = fig.colorbar(sc, ax=ax, label="restricted dimensions")
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    ax.set_xlabel("coverage (share of all misses inside the box)")
    ax.set_ylabel("density (share of the box's runs that miss)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(_wrap(title), fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _wrap(title: str, width: int = 70) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(title, width))


def front_figure(evaluations: pl.DataFrame, path: Path, cost: str, outcome: str, title: str,
                 chosen: int | None = None) -> Path:
    """Every evaluated setting (cost against outcome), the settings meeting the targets filled,
    the Pareto front joined, the chosen (cheapest sufficient) setting marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=110)
    yi = "yuan" in cost
    c = evaluations["cost"] / (1e8 if yi else 1)
    ok = evaluations["feasible"].to_numpy()
    ax.scatter(c.to_numpy()[~ok], evaluations["outcome"].to_numpy()[~ok], s=22, facecolors="none",
               edgecolors="0.4", label="misses a target")
    ax.scatter(c.to_numpy()[ok], evaluations["outcome"].to_numpy()[ok], s=22, color="tab:blue",
               label="meets the targets")
    front = evaluations.filter(pl.col("on_front")).sort("cost")
    ax.plot(front["cost"] / (1e8 if yi else 1), front["outcome"], color="tab:orange", lw=1.2,
            label="Pareto front")
    if chosen is not None:
        row = evaluations.filter(pl.col("candidate") == chosen).row(0, named=True)
        ax.scatter([row["cost"] / (1e8 if yi else 1)], [row["outcome"]], s=160, facecolors="none",
                   edgecolors="crimson", lw=1.8, label="cheapest meeting the targets")
    ax.set_xlabel(cost + (" (亿 yuan)" if yi else ""))
    ax.set_ylabel(outcome)
    ax.set_title(_wrap(title), fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _yuan(x: float | None) -> str:
    if x is None or x != x:
        return "n/a"
    return f"{x / 1e8:,.2f}亿" if abs(x) >= 1e8 else f"{x / 1e4:,.1f}万" if abs(x) >= 1e4 else f"{x:,.0f}"


def search_page(folder: Path) -> Path:
    """Write ``report.html`` of a search folder (``result.json``, ``evaluations.parquet``,
    ``front.png``): the answer (the cheapest sufficient setting, or "not reachable" with the
    closest), the targets with each setting's probability of meeting them, the front, and every
    setting evaluated. A Jinja2 template with autoescaping; tables by great_tables."""
    import base64
    import json

    from jinja2 import Environment, PackageLoader, select_autoescape

    from sim.report.document import table

    res = json.loads((folder / "result.json").read_text())
    ev = pl.read_parquet(folder / "evaluations.parquet").sort("cost")
    levers = [v["name"] for v in res["levers"]]
    tnames = list(res["targets"])
    row = res["chosen"] or res["closest"] or {}

    def setting(r: dict) -> str:
        return ", ".join(f"{n} = {r.get(n, float('nan')):,.6g}" for n in levers)

    ref = res.get("reference") or {}
    extra = row.get("outcome", float("nan")) - ref.get("outcome", float("nan")) if ref else float("nan")
    sentence = (f"At that setting the public cost is {_yuan(row.get('cost'))} yuan a year "
                f"[{_yuan(row.get('cost_lo90'))}, {_yuan(row.get('cost_hi90'))}] and "
                f"{row.get('outcome', float('nan')):,.0f} {res['outcome']} are settled"
                + (f". The package as written ({setting(ref)}) costs {_yuan(ref.get('cost'))} yuan a year; "
                   f"this setting settles {extra:+,.0f} {res['outcome']} against it" if ref else "") + ".") if row else ""
    targets = pl.DataFrame([{
        "target": t["label"], "goal": f"{t['op']} {t['goal']:.4g}" + (f" ± {t['tolerance']:.4g}" if t["tolerance"] else ""),
        "probability at the setting": (f"{row.get(f'{k}_share', float('nan')):.0%}" if row else "n/a"),
        "mean at the setting": (f"{row.get(f'{k}_mean', float('nan')):.4g}" if row else "n/a"),
    } for k, t in res["targets"].items()])
    lev = pl.DataFrame([{"lever": v["name"], "paths": ", ".join(v["paths"]),
                         "range": f"{v['range'][0]:,.6g} to {v['range'][1]:,.6g} (step {v['step']:,.6g})",
                         "as written": "" if v["as_written"] is None else f"{v['as_written']:,.6g}"}
                        for v in res["levers"]])
    rows = ev.select(
        *[pl.col(n).map_elements(lambda x: f"{x:,.6g}", return_dtype=pl.Utf8).alias(n) for n in levers],
        pl.col("cost").map_elements(_yuan, return_dtype=pl.Utf8).alias("public cost a year"),
        pl.col("outcome").map_elements(lambda x: f"{x:,.0f}", return_dtype=pl.Utf8).alias(res["outcome"]),
        *[pl.col(f"{k}_share").map_elements(lambda x: f"{x:.0%}", return_dtype=pl.Utf8)
          .alias(f"P({res['targets'][k]['label']})") for k in tnames],
        pl.col("cost_per_additional").map_elements(_yuan, return_dtype=pl.Utf8).fill_null("— (as written)")
        .alias("cost per additional settler (vs as written)"),
        pl.when(pl.col("feasible")).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("meets targets"),
    )
    png = folder / "front.png"
    env = Environment(loader=PackageLoader("sim.report", "templates"), autoescape=select_autoescape(["j2", "html"]))
    prov = res.get("provenance") or {}
    html = env.get_template("search.html.j2").render(
        name=res["search"], package=res["package"], replications=res["replications"],
        uncertainty=res["uncertainty"], evaluations=res["evaluations"], seconds=res["seconds"],
        found=res["chosen"] is not None, probability=f"{res['probability']:.0%}",
        setting=setting(row) if row else "none", sentence=sentence,
        targets=table(targets, "search-targets", {c: c for c in targets.columns}),
        levers=table(lev, "search-levers", {c: c for c in lev.columns}),
        settings=table(rows, "search-settings", {c: c for c in rows.columns}),
        front=base64.b64encode(png.read_bytes()).decode() if png.is_file() else None,
        notes=res.get("notes") or [], file=res["file"],
        provenance=", ".join(f"{k}: {v}" for k, v in prov.items() if isinstance(v, (str, int, float))))
    out = folder / "report.html"
    out.write_text(html, encoding="utf-8")
    return out
