"""The planner's app (``sim app``, issue 18): choose a package, change its levers, run it against a
baseline, and see the results and a map, in a Solara web page.

* :mod:`sim.app.levers`: the levers a planner can change, read from the schema;
* :mod:`sim.app.session`: choosing packages, running a variant and its baseline, the summary,
  saving the variant and its run folder;
* :mod:`sim.app.components`: the Solara components (lever form, results, map);
* :mod:`sim.app.app`: the pages: the planner's page and Mesa's SolaraViz page for
  :class:`~sim.engine.model.SettlementModel`;
* :mod:`sim.app.server`: serving the page (``sim app``).

The app sits above the report (it shows the report's figures and maps) and below the command
line; Mesa's examples put ``app.py`` beside ``model.py``, but here the page imports Solara and the
report, which the engine may not (the ``light`` contract in pyproject.toml), so it lives in
``sim/app/app.py``.
"""
