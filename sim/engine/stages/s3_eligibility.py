"""Stage 3, eligibility: does each migrant meet its town's hukou conditions this year?"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine.eligibility import eligible
from sim.engine.groups import group_bits

if TYPE_CHECKING:
    from sim.engine.model import SettlementModel


def eligibility(m: SettlementModel) -> None:
    """Evaluate the hukou conditions of the town where each migrant lives (``m.eligible_here``;
    settling is only ever in one's own town, DESIGN §5)."""
    hh = m.hh
    m.start_migrants = hh.migrant(m.T)
    m.start_groups = group_bits(m)  # group membership as the year's decisions begin
    mig = np.flatnonzero(m.start_migrants)
    m.eligible_here = np.zeros(hh.n, dtype=bool)
    m.eligible_here[mig] = eligible(hh, mig, m.levers, m.economy.home_floor_area_m2)


