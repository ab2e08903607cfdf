"""Loading a region file: the schema plus every cross-check (unique names, roads between known
places, shares that sum to one, a connected place graph)."""

from __future__ import annotations

from pathlib import Path

import networkx as nx

from sim.configuration.files import check_provenance, read_toml, validate
from sim.configuration.schema import RegionFile
from sim.configuration.settings import MIN_AGENTS
from sim.errors import ConfigError


def load_region(path: str | Path) -> RegionFile:
    """Load and validate a region file (schema, provenance, names, connected place graph)."""
    path = Path(path)
    raw = read_toml(path)
    region = validate(RegionFile, raw, path)
    names = [t.name for t in region.towns] + [v.name for v in region.villages]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"{path}: place name '{name}' is used twice; names must be unique")
        seen.add(name)
    towns = {t.name for t in region.towns}
    if not region.towns:
        raise ConfigError(f"{path}: key 'towns': a region needs at least one town")
    if not region.villages:
        raise ConfigError(f"{path}: key 'villages': a region needs at least one village")
    pairs: dict[frozenset, int] = {}
    for i, road in enumerate(region.roads):
        pair = frozenset((road.a, road.b))
        if len(pair) == 1:
            raise ConfigError(f"{path}: key 'roads[{i}]': a road from '{road.a}' to itself")
        if pair in pairs:
            raise ConfigError(f"{path}: key 'roads[{i}]': road {road.a} - {road.b} is listed twice "
                              f"(also roads[{pairs[pair]}]); give each pair of places one road")
        pairs[pair] = i
        for end in (road.a, road.b):
            if end not in seen:
                raise ConfigError(
                    f"{path}: key 'roads[{i}]': unknown place '{end}'; allowed: {sorted(seen)}"
                )
    for i, v in enumerate(region.villages):
        if v.urban_village_of is not None and v.urban_village_of not in towns:
            raise ConfigError(
                f"{path}: key 'villages[{i}].urban_village_of': unknown town "
                f"'{v.urban_village_of}'; allowed: {sorted(towns)}"
            )
    for key, parts in (("towns", [t.urban_share for t in region.towns]),
                       ("villages", [v.rural_share for v in region.villages])):
        total = sum(parts)
        if abs(total - 1.0) > 0.01:
            share = "urban_share" if key == "towns" else "rural_share"
            raise ConfigError(f"{path}: key '{key}[*].{share}': shares must sum to 1 (got {total:.3f})")
    for i, t in enumerate(region.towns):
        if t.tier == "rural_community" and t.urban_share > 0:
            raise ConfigError(f"{path}: key 'towns[{i}].urban_share': a rural_community is not urban "
                              f"at the base year; its urban_share must be 0 (got {t.urban_share}); "
                              "use rural_resident_share for its rural residents")
    check_locations(region, path)
    meta = region.region
    agents = meta.population / meta.mean_household_size / meta.default_scale
    if agents < MIN_AGENTS:
        raise ConfigError(f"{path}: key 'region.population': {meta.population} people at default_scale "
                          f"{meta.default_scale:g} make {agents:.1f} agents; at least {MIN_AGENTS} are needed")
    check_provenance(raw, path)  # after the structure: an empty list is not "missing a source"
    check_connected(place_graph(region), path)
    return region


def check_locations(region: RegionFile, path: Path | str) -> None:
    """A region's places are located all or none (a map with a place missing would mislead), and
    a region that names its province (so it can be drawn) locates them all."""
    places = [("towns", i, t) for i, t in enumerate(region.towns)] + \
             [("villages", i, v) for i, v in enumerate(region.villages)]
    missing = [(kind, i, p.name) for kind, i, p in places if p.location is None]
    if not missing or len(missing) == len(places) and not region.region.province:
        return
    kind, i, name = missing[0]
    why = (f"region.province is '{region.region.province}', so every place needs a location"
           if region.region.province else "other places have one; locate every place or none")
    raise ConfigError(f"{path}: key '{kind}[{i}].location': place '{name}' has no location ({why}); "
                      "add `location = { lon = ..., lat = ..., source = \"...\" }` "
                      f"({len(missing)} of {len(places)} places lack one)")


def place_graph(region: RegionFile) -> nx.Graph:
    """Places as nodes (with kind and tier), roads as edges weighted by km."""
    g = nx.Graph()
    for t in region.towns:
        g.add_node(t.name, kind="town", tier=t.tier)
    for v in region.villages:
        g.add_node(v.name, kind="village", tier=None)
    for r in region.roads:
        g.add_edge(r.a, r.b, km=r.km)
    return g


def check_connected(g: nx.Graph, path: Path | str) -> None:
    """A disconnected place graph would leave households unable to reach towns: refuse it."""
    if g.number_of_nodes() and not nx.is_connected(g):
        parts = sorted(nx.connected_components(g), key=len, reverse=True)
        cut_off = sorted(set().union(*parts[1:]))
        raise ConfigError(
            f"{path}: key 'roads': the place graph is disconnected; these places cannot be "
            f"reached from the rest: {cut_off}. Add roads so every place is connected."
        )


