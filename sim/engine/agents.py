"""Towns as Mesa agents: the Mesa face of the model's town arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from mesa.discrete_space import FixedAgent

if TYPE_CHECKING:
    from sim.engine.model import SettlementModel


class TownAgent(FixedAgent):
    """A town as a Mesa agent on its cell of the town network: a view on the model's town
    arrays (for Mesa tools and viz)."""

    def __init__(self, model: SettlementModel, index: int, cell: Any):
        super().__init__(model)
        self.cell = cell
        self.index = index
        self.name = model.places.names[index]
        self.tier = model.places.tier_name(index)

    @property
    def residents(self) -> float:
        return float(self.model.last_towns.get("residents", np.zeros(self.model.T))[self.index])

    @property
    def rent(self) -> float:
        return float(self.model.rent[self.index])


