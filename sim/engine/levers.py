"""Policy levers resolved to arrays for one year (DESIGN §4).

A package writes per-town lever groups as ``default`` -> ``tiers.<tier>`` -> ``towns.<name>``;
:func:`resolve` merges them for every town of the region in a given year (after the package's
year-dated changes) and returns :class:`Levers`, whose :meth:`Levers.col` gives one value per
town as a numpy array. Outsiders' hukou rules start from the natives' rules for the same town
and apply ``hukou_outsiders`` on top, so "same conditions for everyone" needs no entry; outsiders
from the same province (the third origin class) start from the outsiders' rules and apply
``hukou_province`` on top.

Where each lever acts (every field of every group is consumed; ``tests/test_levers.py`` checks
that each name below appears in the stage that uses it):

========================  =====================================================================
group                     consumed by
========================  =====================================================================
hukou, hukou_outsiders,   :func:`sim.engine.eligibility.eligible`, quota in :func:`sim.engine.stages.capacity`
hukou_province
housing                   :func:`sim.engine.decision.housing_cost`, purchase in :func:`sim.engine.stages.choice`,
                          public rental in :func:`sim.engine.stages.capacity` and :func:`sim.engine.stages.feedback`
schools                   :func:`sim.engine.decision.schooling`, seats in :func:`sim.engine.stages.capacity`,
                          :func:`sim.engine.stages.feedback`
services                  :func:`sim.engine.decision.services`, :func:`sim.engine.decision.non_wage_income`,
                          portability in :func:`sim.engine.decision.moving` and :func:`sim.engine.stages.apply_moves`,
                          flexible workers' insurance years in :func:`sim.engine.stages.ageing`
jobs                      :func:`sim.engine.stages.labour_market` (placements, training, offers of the
                          reserve's vacant posts), :func:`sim.engine.stages.capacity` (posts left vacant)
fiscal                    :func:`sim.engine.stages.feedback`, public cost in :func:`sim.engine.stages.record`,
                          schooling's unit costs in :func:`sim.engine.decision.admission_share` and
                          :func:`sim.engine.decision.private_school_share`
rights                    :func:`sim.engine.decision.rights_kept`, :func:`sim.engine.decision.non_wage_income`,
                          :func:`sim.engine.stages.rights`, :func:`sim.engine.stages.labour_market` (income
                          of rights kept); ``on_settle`` per town by :meth:`Levers.on_settle`
in_situ                   :func:`sim.engine.stages.feedback`
priority                  :func:`sim.engine.rationing.priority_rank`: ``order`` for the settlement quota,
                          ``goods_order`` for seats, public rental, reserved jobs, placements, training
========================  =====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from sim.configuration import (
    PER_TOWN_GROUPS,
    ConfigError,
    InSituLevers,
    Policy,
    PriorityLevers,
    RightsLevers,
    deep_merge,
)
from sim.world.places import Places


@dataclass
class Levers:
    """Levers in force in one year: per-town models for per-town groups, one model otherwise."""

    year: int
    per_town: dict[str, list[Any]]
    rights: RightsLevers
    in_situ: InSituLevers
    priority: PriorityLevers
    town_tiers: tuple[str, ...] = ()  # the tier of each town (for rules set per tier)
    _cache: dict[tuple[str, str], np.ndarray] = field(default_factory=dict, repr=False)

    def on_settle(self, right: str) -> np.ndarray:
        """int8 per town: the ``on_settle`` rule of ``right`` (land, homestead, collective) in
        each town, as a code of :data:`ON_SETTLE`: the tier's rule where
        ``rights.<right>.on_settle_tiers`` names the town's tier, else ``on_settle``."""
        key = ("rights.on_settle", right)
        if key not in self._cache:
            rule = getattr(self.rights, right)
            self._cache[key] = np.array([ON_SETTLE.index(rule.on_settle_tiers.get(t, rule.on_settle))
                                         for t in self.town_tiers], dtype=np.int8)
        return self._cache[key]

    def col(self, group: str, name: str) -> np.ndarray:
        """One value per town of ``group.name`` (numbers and switches as numpy arrays)."""
        key = (group, name)
        if key not in self._cache:
            values = [getattr(m, name) for m in self.per_town[group]]
            first = values[0]
            if isinstance(first, bool):
                arr = np.array(values, dtype=bool)
            elif isinstance(first, (int, float)):
                arr = np.array(values, dtype=np.float64)
            else:
                arr = np.array(values, dtype=object)
            self._cache[key] = arr
        return self._cache[key]

    def is_(self, group: str, name: str, value: str) -> np.ndarray:
        """Boolean per town: does the text lever ``group.name`` equal ``value``?"""
        return np.array([getattr(m, name) == value for m in self.per_town[group]], dtype=bool)

    def has_group(self, group: str, member: str) -> np.ndarray:
        """Boolean per town: is ``member`` in the list lever ``group.exempt_groups``?"""
        return np.array([member in m.exempt_groups for m in self.per_town[group]], dtype=bool)

    @cached_property
    def n_towns(self) -> int:
        return len(self.per_town["hukou"])


ON_SETTLE = ("kept", "kept_for_life", "surrendered")
"""Codes of ``rights.<right>.on_settle`` in :attr:`Levers.on_settle`."""
KEPT, KEPT_FOR_LIFE, SURRENDERED = range(3)
RIGHTS = ("land", "homestead", "collective")


def _strip(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in ("source", "sources")}


def resolve(policy: Policy, places: Places, year: int) -> Levers:
    """Merge the package's lever layers for every town of ``places`` in ``year``.

    Per-town groups merge ``default`` -> ``tiers.<tier>`` -> ``towns.<name>``. Outsiders' hukou
    rules interleave by specificity: natives' default, outsiders' default, natives' tier,
    outsiders' tier, natives' town, outsiders' town — so a town-specific rule for natives is
    not loosened by a general rule for outsiders. Same-province outsiders' rules interleave the
    same way, with ``hukou_province`` after the outsiders' layer at each level.
    """
    tree = policy.levers_in(year)
    per_town: dict[str, list[Any]] = {}

    def layers(group: str, j: int) -> list[dict[str, Any]]:
        body = tree.get(group, {})
        return [_strip(body.get("default", {})),
                _strip(body.get("tiers", {}).get(places.tier_name(j), {})),
                _strip(body.get("towns", {}).get(places.names[j], {}))]

    for group, model in PER_TOWN_GROUPS.items():
        out = []
        for j in range(places.n_towns):
            if group == "hukou_outsiders":
                nat, out_ = layers("hukou", j), layers("hukou_outsiders", j)
                stack = [nat[0], out_[0], nat[1], out_[1], nat[2], out_[2]]
            elif group == "hukou_province":  # outsiders' rules, then the same-province class's
                nat, out_, prov = layers("hukou", j), layers("hukou_outsiders", j), layers("hukou_province", j)
                stack = [nat[0], out_[0], prov[0], nat[1], out_[1], prov[1], nat[2], out_[2], prov[2]]
            else:
                stack = layers(group, j)
            merged: dict[str, Any] = {}
            for layer in stack:
                merged = deep_merge(merged, layer)
            out.append(model.model_validate(merged))
        per_town[group] = out
    for j, f in enumerate(per_town["fiscal"]):
        if f.transfer_share_schools + f.transfer_share_housing > 1.0 + 1e-9:
            raise ConfigError(
                f"{policy.path}: key 'levers.fiscal' (town '{places.names[j]}', year {year}): "
                "transfer_share_schools + transfer_share_housing must not exceed 1 (got "
                f"{f.transfer_share_schools} + {f.transfer_share_housing})")
    return Levers(
        year=year,
        per_town=per_town,
        rights=RightsLevers.model_validate(tree.get("rights", {})),
        in_situ=InSituLevers.model_validate(tree.get("in_situ", {})),
        priority=PriorityLevers.model_validate(tree.get("priority", {})),
        town_tiers=tuple(places.tier_name(j) for j in range(places.n_towns)),
    )
