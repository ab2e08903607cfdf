"""The engine: one replication of a policy package on a region, year by year.

``model.py`` (:class:`SettlementModel`, whose ``step()`` names the stages) over ``stages/`` (one
module per stage of the year), over the rules they share (``eligibility``, ``decision`` and its
compiled twin ``decision_kernel``, ``rationing``, ``groups``), over ``levers`` and the compiled
primitives (``compiled``).
"""

from sim.engine.model import STREAMS, SettlementModel

__all__ = ["STREAMS", "SettlementModel"]
