"""Mesa's convention: the page of :class:`~sim.engine.model.SettlementModel`, built with SolaraViz
from the model's DataCollector columns (named after the metrics) and the same place-graph
drawing the report uses (:func:`sim.report.maps.fig_place_graph`, towns sized by residents), which
Mesa's own network view leaves blank because the model's town network has no positions.

    solara run sim/app/app.py

Mesa's examples put ``app.py`` beside ``model.py``; here the page imports Solara and the report,
which the engine must not (the ``light`` contract), so it sits in ``sim/app``. The planner's page
(``sim app``) is :mod:`sim.app.planner`.
"""

from __future__ import annotations

import solara
from mesa.visualization import SolaraViz, make_plot_component

from sim.app.components import Figure
from sim.configuration import POLICIES
from sim.engine.model import SettlementModel
from sim.report.maps import fig_place_graph

PACKAGES = sorted(str(p) for p in POLICIES.glob("*.toml") if not p.stem.startswith("china"))

model_params = {
    "policy": {"type": "Select", "value": str(POLICIES / "dehong_2011.toml"), "values": PACKAGES,
               "label": "policy package"},
    "seed": {"type": "InputText", "value": 0, "label": "seed"},
    "scale": {"type": "SliderFloat", "value": 100.0, "min": 20.0, "max": 500.0, "step": 10.0,
              "label": "households per agent"},
}
"""SolaraViz's controls: the package (its own region), the root seed and households per agent
(coarse, so a step takes a fraction of a second)."""


@solara.component
def PlaceGraph(model: SettlementModel):
    """The towns on the place graph at their coordinates, sized by this year's residents."""
    residents = {agent.name: agent.residents for agent in model.town_agents}
    # a region without coordinates (China's size classes) shows why it has no drawing
    Figure(lambda: fig_place_graph(model.region, residents=residents, size=(8.0, 4.8)),
           (id(model), model.year))


model = SettlementModel(policy=model_params["policy"]["value"], seed=0, scale=100.0)
page = SolaraViz(
    model,
    components=[
        (PlaceGraph, 0),
        make_plot_component(["resident_urbanization", "hukou_urbanization"]),  # (component, page 0)
        make_plot_component(["settled_persons", "migrated_persons"]),
        make_plot_component(["settlement_intention", "eligible_share"]),
    ],
    model_params=model_params,
    name="SettlementModel (hukou-sim)",
)
