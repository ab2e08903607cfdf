"""SettlementModel: rural migrant households deciding whether to settle in towns.

A region's households (columnar arrays, :mod:`sim.world.households`) live in villages and towns on
a place graph (:mod:`sim.world.places`). Each year (:meth:`SettlementModel.step`) runs the stages of
:mod:`sim.engine.stages` in order under the levers the policy package sets for that year
(:mod:`sim.engine.levers`); households choose by the random-utility rule of :mod:`sim.engine.decision`.
Towns are Mesa agents on a ``discrete_space.Network`` so the model works with Mesa's tools
(``batch_run``, ``DataCollector``, ``SolaraViz``); households are not, for speed (DESIGN §7).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import mesa
import networkx as nx
import numpy as np
from mesa.discrete_space import Network

from sim.configuration import (
    METRIC_NAMES,
    POLICIES,
    Behaviour,
    BehaviourEnsemble,
    ConfigError,
    Policy,
    RegionFile,
    behaviour_for,
    check_policy_against_region,
    load_behaviour_source,
    load_policy,
    load_region,
)
from sim.configuration.settings import MIN_AGENTS, check, check_years
from sim.engine import stages
from sim.engine.agents import TownAgent
from sim.engine.compiled import chunk, n_chunks, njit, prange
from sim.engine.decision import Context, TownState, settlement_intention
from sim.engine.levers import Levers, resolve
from sim.errors import UsageError
from sim.world.households import Households, synthesize
from sim.world.places import Places, build_places

DEFAULT_POLICY = POLICIES / "dehong_2011.toml"
"""The package a model runs when given none (Mesa's tools construct models with defaults)."""

STREAMS = {"population": 0, "labour": 1, "demography": 2, "choice": 3, "capacity": 4,
           "rights": 5, "reclassify": 6, "choice_noise": 7, "insurance": 8, "schools": 9, "reserved": 10}

@njit(cache=True, parallel=True)
def _origin_town_counts(T, origin, place, out):
    """Households by (origin, town where they live), in chunks (one row of ``out`` each)."""
    for c in prange(out.shape[0]):
        lo, hi = chunk(c, out.shape[0], origin.size)
        for h in range(lo, hi):
            out[c, origin[h], min(place[h], T - 1)] += place[h] < T


class SettlementModel(mesa.Model):
    """One replication of a policy package on a region.

    Parameters
    ----------
    policy : path or loaded :class:`~sim.configuration.Policy`.
    region : path or loaded region; defaults to the package's own region.
    behaviour : path or loaded :class:`~sim.configuration.Behaviour` (one parameter set), or a
        posterior ensemble (``.csv`` or :class:`~sim.configuration.BehaviourEnsemble`), whose
        draw ``replication mod N`` this run uses (``self.behaviour_draw``); defaults to the
        posterior where it exists, else the calibrated file.
    seed : root seed; together with ``replication`` it fixes the population and every draw,
        whatever the policy (common random numbers). ``None`` (as Mesa's ``batch_run`` passes
        when given ``iterations``) draws one, recorded in ``self.seed``; an integer ``rng`` is
        taken as the seed.
    replication : replication number.
    start, end : first and last simulated year (default: the package's, else base year + 1 and
        base year + 10). The region's base-year state is taken as the state in ``start - 1``.
    scale : households per agent (default: the region's ``default_scale``).
    snapshot_years : years at which household state is kept.
    engine : the decision rule: "numba" (default: the compiled choice kernel of
        :mod:`sim.engine.decision_kernel`) or "numpy" (the specification in :mod:`sim.engine.decision`); both give
        identical results. The other stages' per-household passes are compiled loops, which run
        as the plain Python they are written in under ``NUMBA_DISABLE_JIT=1`` (or without numba):
        identical results, for reading and debugging, far slower.
    """

    def __init__(self, policy: str | Path | Policy = DEFAULT_POLICY,
                 region: str | Path | RegionFile | None = None,
                 behaviour: str | Path | Behaviour | BehaviourEnsemble | None = None,
                 seed: int | None = None, replication: int = 0, start: int | None = None,
                 end: int | None = None, scale: float | None = None,
                 snapshot_years: tuple[int, ...] | list[int] = (), rng: Any = None,
                 engine: str | None = None):
        if seed is None and isinstance(rng, (int, np.integer)):
            seed = int(rng)
        if seed is None:  # unseeded (Mesa's batch_run passes seed=None): draw one and record it
            seed = int(np.random.SeedSequence().entropy % (2**63))
        check("seed", int(seed))
        if int(replication) < 0:
            raise UsageError(f"replication: must be an integer >= 0 (got {replication!r})")
        super().__init__(rng=int(seed))
        from sim.engine.compiled import HAVE_NUMBA, announce_compilation

        self.engine = engine or ("numba" if HAVE_NUMBA else "numpy")
        if self.engine not in ("numba", "numpy") or (self.engine == "numba" and not HAVE_NUMBA):
            raise ValueError(f"engine must be 'numba' (needs numba installed) or 'numpy', got {engine!r}")
        if self.engine == "numba":
            announce_compilation()
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy)
        if region is None:
            if self.policy.region_path is None:
                raise ConfigError(f"{self.policy.path}: key 'package.region': no region given and "
                                  "the package names none; pass --region")
            region = self.policy.region_path
        self.region = region if isinstance(region, RegionFile) else load_region(region)
        # town overrides for towns this region lacks are skipped (a package on a foreign region)
        self.skipped_overrides = check_policy_against_region(self.policy, self.region)
        # one parameter set, or a posterior ensemble whose draw is keyed by the replication
        source = behaviour if isinstance(behaviour, (Behaviour, BehaviourEnsemble)) else \
            load_behaviour_source(behaviour)
        self.behaviour_draw = source.index(replication) if isinstance(source, BehaviourEnsemble) else None
        self.behaviour = behaviour_for(source, replication)
        self.economy = self.region.economy
        self.seed, self.replication = int(seed), int(replication)
        base = self.region.region.base_year
        self.start = start if start is not None else (self.policy.meta.start or base + 1)
        self.end = end if end is not None else (self.policy.meta.end or self.start + 9)
        check_years(self.start, self.end, base,
                    f"{self.policy.path}: key 'package.start'/'package.end' (or --start/--end), "
                    f"region '{self.region.region.name}'", error=ConfigError)
        self.scale = float(check("scale", scale) if scale is not None else self.region.region.default_scale)
        self.snapshot_years = set(int(y) for y in snapshot_years)
        self.year = self.start - 1

        self.places: Places = build_places(self.region)
        self.T = self.places.n_towns
        # every year's levers, resolved (and so validated) before anything runs
        self.levers_by_year = {y: resolve(self.policy, self.places, y)
                               for y in range(self.start, self.end + 1)}
        # the population is drawn from a stream keyed by the region's base year, not by the
        # package's start: every package on this region sees the same households
        self.hh: Households = synthesize(self.region, self.places,
                                         self.stream("population", year=base), self.scale)
        if self.hh.n < MIN_AGENTS:
            raise UsageError(f"scale {self.scale:g}: region '{self.region.region.name}' at {self.scale:g} "
                             f"households per agent leaves {self.hh.n} agents; at least {MIN_AGENTS} "
                             "are needed: use a smaller --scale (or the region's default_scale)")
        self.hh.birth_year += np.int16(self.start - 1 - base)  # the state is dated start - 1
        self._init_towns()
        # the towns' network for Mesa's tools: node j is town j (integer ids, as Mesa's space
        # renderers expect), its name and tier kept as node attributes
        towns = self.places.graph.subgraph(self.places.names[: self.T])
        graph = nx.relabel_nodes(towns, self.places.town_index, copy=True)
        for j in range(self.T):
            graph.nodes[j]["name"] = self.places.names[j]
        self.grid = Network(graph, random=self.random, layout=None)
        cells = {c.coordinate: c for c in self.grid.all_cells}
        self.town_agents = [TownAgent(self, j, cells[j]) for j in range(self.T)]

        self.metrics: list[dict[str, Any]] = []
        self.groups: list[dict[str, Any]] = []
        self.towns_rows: list[dict[str, Any]] = []
        self.flows: list[Any] = []
        self.snapshots: list[Any] = []
        self.last_towns: dict[str, np.ndarray] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={c: (lambda m, c=c: m.metrics[-1][c]) for c in ["year", *METRIC_NAMES]}
        )
        self._baseline()

    # -----------------------------------------------------------------------------------------

    def key(self, name: str) -> np.uint64:
        """The key of the counter-based stream ``name`` this year (:mod:`sim.engine.decision_kernel`): keyed by
        seed, replication, stream and year only, never by policy (common random numbers)."""
        from sim.engine.compiled import stream_key

        return stream_key(self.seed, self.replication, STREAMS[name], self.year)

    def stream(self, name: str, year: int | None = None) -> np.random.Generator:
        """The random stream ``name`` for this replication and year. Keyed by seed, replication,
        stream and year only, never by policy: common random numbers across packages."""
        y = self.year if year is None else year
        ss = np.random.SeedSequence(self.seed, spawn_key=(self.replication, STREAMS[name], max(y, 0)))
        return np.random.Generator(np.random.PCG64(ss))

    def _init_towns(self) -> None:
        reg, eco, hh, T = self.region, self.economy, self.hh, self.T
        self.wage = np.array([eco.urban_wage_yuan * t.wage_index for t in reg.towns])
        self.employment_rate = np.array([t.employment_rate for t in reg.towns])
        self.rent = np.array([t.rent_yuan_month for t in reg.towns], dtype=np.float64)
        self.price = np.array([t.price_yuan_m2 for t in reg.towns], dtype=np.float64)
        self.rural_index = 1.0
        in_town = hh.place < T
        kids = np.bincount(hh.place[in_town], weights=hh.kids_with[in_town], minlength=T) * self.scale
        slack = np.array([t.school_seat_slack for t in reg.towns])
        self.seats = np.maximum(kids * (1.0 + slack), 0.0)
        self.rental_units = np.array([t.public_rental_units for t in reg.towns], dtype=np.float64)
        self.nonfarm = np.array([t.nonfarm_share for t in reg.towns], dtype=np.float64)
        self.community_nonfarm = self.nonfarm.copy()
        residents = np.bincount(hh.place[in_town], weights=hh.persons_at_place(T)[in_town],
                                minlength=T) * self.scale
        self.residents_last = residents
        self.urban_land = residents * 100.0  # assumption: 100 m2 of built-up land per resident
        self.seat_access = np.ones(T)
        self.rental_access = np.ones(T)
        self.seats_used = kids
        self.seat_shortfall = np.zeros(T)
        self.rental_queue = np.zeros(T)
        self.migrant_pupils = np.zeros(T)
        self.private_pupils = np.zeros(T)
        self.urban_village_town = np.full(self.places.n_places, -1, dtype=np.int32)
        for i, v in enumerate(reg.villages):
            if v.urban_village_of is not None:
                self.urban_village_town[T + i] = self.places.town_index[v.urban_village_of]
        self.settled_now = np.zeros(0, dtype=np.int64)
        self._per_origin = np.bincount(hh.origin, minlength=self.places.n_places)  # never changes
        self.update_network()

    def update_network(self) -> None:
        """Share of each origin's households living in each town (chain migration)."""
        hh, T, P = self.hh, self.T, self.places.n_places
        counts = np.zeros((n_chunks(), P, T))
        _origin_town_counts(T, hh.origin, hh.place, counts)
        self.network = counts.sum(axis=0) / np.maximum(self._per_origin, 1)[:, None]

    def context(self) -> Context:
        """What households see when deciding this year."""
        return Context(
            places=self.places, economy=self.economy, behaviour=self.behaviour,
            levers=self.levers,
            towns=TownState(wage=self.wage, employment_rate=self.employment_rate, rent=self.rent,
                            price=self.price, seat_access=self.seat_access,
                            rental_access=self.rental_access, network=self.network,
                            rural_income_index=self.rural_index),
        )

    def add_flows(self, origin: np.ndarray, dest: np.ndarray, kind: str, persons: np.ndarray) -> None:
        """Record households moving from ``origin`` to ``dest`` places this year as ``kind``."""
        if origin.size:
            self._flows.append((origin, dest, kind, persons))

    def _baseline(self) -> None:
        """Record the starting state (year ``start - 1``), with intention and eligibility
        measured under the levers of the first simulated year."""
        self.levers: Levers = self.levers_by_year[self.start]
        self.year_counts: dict[str, float] = defaultdict(float)
        self._flows = []
        stages.eligibility(self)
        T = self.T
        mig = np.flatnonzero(self.hh.migrant(T))
        self.intention = np.full(self.hh.n, np.nan, dtype=np.float32)
        if mig.size:
            if self.engine == "numba":
                from sim.engine.decision_kernel import intention_rows

                self.intention[mig] = intention_rows(self.hh, mig, self.context())
            else:
                self.intention[mig] = settlement_intention(self.hh, mig, self.context(), self.year)
        self.want = np.full(self.hh.n, -1, dtype=np.int16)
        self.deciders = np.zeros(0, dtype=np.int64)
        stages.record(self)
        self.datacollector.collect(self)

    def step(self) -> None:
        """One year: the eight stages of DESIGN §3 in order."""
        self.begin_year()
        stages.labour_market(self)
        stages.ageing(self)
        stages.eligibility(self)
        stages.choice(self)
        stages.capacity(self)
        stages.rights(self)
        stages.feedback(self)
        stages.record(self)
        self.end_year()

    def begin_year(self) -> None:
        """Advance the clock and clear the year's tallies (before stage 1)."""
        if self.year >= self.end:
            raise RuntimeError(f"the run ends in {self.end}; no year {self.year + 1} to step "
                               "(levers are resolved up to the end year only)")
        self.year += 1
        self.levers = self.levers_by_year[self.year]
        self.year_counts = defaultdict(float)
        self._flows = []
        self.settled_now = np.zeros(0, dtype=np.int64)

    def end_year(self) -> None:
        """Update the migrant network, let Mesa collect, and stop after the end year (after stage 8)."""
        self.update_network()
        self.datacollector.collect(self)
        if self.year >= self.end:
            self.running = False

    def run(self) -> SettlementModel:
        """Step to the end year."""
        while self.running:
            self.step()
        return self
