"""The place graph of a region (DESIGN §2): towns and villages joined by roads.

Places are numbered towns first (0..T-1), then villages (T..T+V-1). The graph is a networkx
graph whose edges carry road km; shortest-path distances between every pair of places are
precomputed once into a dense array, because the choice stage reads them for every household.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from sim.configuration import TIERS, RegionFile, place_graph

TIER_CODE = {tier: i for i, tier in enumerate(TIERS)}
RURAL_COMMUNITY = TIER_CODE["rural_community"]


@dataclass
class Places:
    """Arrays describing every place, indexed by place number (towns first)."""

    names: list[str]
    n_towns: int
    tier: np.ndarray  # int8 per town, index into TIERS
    county: list[str]
    urban: np.ndarray  # bool per place: counted as urban (towns, urban villages; rural communities once reclassified)
    km: np.ndarray  # float32 [place, place] road distance
    graph: nx.Graph
    town_index: dict[str, int]

    @property
    def n_places(self) -> int:
        return len(self.names)

    def tier_name(self, town: int) -> str:
        return TIERS[int(self.tier[town])]


def build_places(region: RegionFile) -> Places:
    g = place_graph(region)
    names = [t.name for t in region.towns] + [v.name for v in region.villages]
    index = {n: i for i, n in enumerate(names)}
    n = len(names)
    km = np.full((n, n), np.inf, dtype=np.float64)
    for src, dists in nx.all_pairs_dijkstra_path_length(g, weight="km"):
        for dst, d in dists.items():
            km[index[src], index[dst]] = d
    tier = np.array([TIER_CODE[t.tier] for t in region.towns], dtype=np.int8)
    urban = np.zeros(n, dtype=bool)
    urban[: len(region.towns)] = tier != RURAL_COMMUNITY
    for v in region.villages:  # urban villages (城中村) lie inside a town: residents count as urban
        if v.urban_village_of is not None:
            urban[index[v.name]] = True
    county = [t.county for t in region.towns] + [v.county for v in region.villages]
    return Places(
        names=names,
        n_towns=len(region.towns),
        tier=tier,
        county=county,
        urban=urban,
        km=km.astype(np.float32),
        graph=g,
        town_index={t.name: i for i, t in enumerate(region.towns)},
    )
