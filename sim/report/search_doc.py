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
