"""The world in its base year: the place graph of a region and its synthesised households."""

from sim.world.households import Households, synthesize
from sim.world.places import RURAL_COMMUNITY, Places, build_places

__all__ = ["Households", "Places", "RURAL_COMMUNITY", "build_places", "synthesize"]
