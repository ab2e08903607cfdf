"""The yearly step (DESIGN §3): one module per stage, named and numbered in the order the year runs.

1. :func:`labour_market` (:mod:`.s1_labour`)       employment, wages, placements and training
2. :func:`ageing` (:mod:`.s2_ageing`)              heads age, children move through school, births and deaths
3. :func:`eligibility` (:mod:`.s3_eligibility`)    hukou eligibility of every migrant in the town where it lives
4. :func:`choice` (:mod:`.s4_choice`)              each household picks its alternative (and buys a home if it can)
5. :func:`capacity` (:mod:`.s5_capacity`)          settlement quota, moves, reserved jobs, public rental, school seats
6. :func:`rights` (:mod:`.s6_rights`)              surrender or paid exit of land, homestead and collective shares
7. :func:`feedback` (:mod:`.s7_feedback`)          人地钱挂钩 seats/units/land, rents, reclassification of communities
8. :func:`record` (:mod:`.s8_record`)              metrics, groups, towns and flows of the year

Each stage reads and writes the model's household arrays (``m.hh``) and town arrays; no stage
imports another (an import-linter contract keeps them independent), and what they share lives
one level down (:mod:`sim.engine.rationing`, :mod:`sim.engine.eligibility`,
:mod:`sim.engine.decision`, :mod:`sim.engine.compiled`). The per-household passes are compiled
loops (``_name`` functions beside their stage, numba), so a household's year reads as plain
code. All randomness is counter-based: household ``h``'s draw in a slot of a stage's stream is a
hash of (seed, replication, stream, year, h, slot) (``m.key(name)``), so replications share
draws across packages.
"""

from sim.engine.stages.s1_labour import labour_market
from sim.engine.stages.s2_ageing import ageing
from sim.engine.stages.s3_eligibility import eligibility
from sim.engine.stages.s4_choice import buy_homes, choice
from sim.engine.stages.s5_capacity import (
                                           apply_moves,
                                           capacity,
                                           public_rental,
                                           rental_rules,
                                           reserved_jobs,
                                           school_seats,
)
from sim.engine.stages.s6_rights import rights
from sim.engine.stages.s7_feedback import feedback, reclassify, town_residents
from sim.engine.stages.s8_record import record

YEAR = (labour_market, ageing, eligibility, choice, capacity, rights, feedback, record)
"""The eight stages in the order :meth:`SettlementModel.step` runs them."""

__all__ = ["YEAR", "ageing", "apply_moves", "buy_homes", "capacity", "choice", "eligibility",
           "feedback", "labour_market", "public_rental", "reclassify", "record", "rental_rules",
           "reserved_jobs", "rights", "school_seats", "town_residents"]
