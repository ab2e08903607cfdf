"""Outputs (DESIGN §6): the year's records and the Parquet files of a run.

Per run folder:

* ``metrics.parquet``  one row per replication and year (rates as fractions 0-1, counts in
  households or persons of the real region, i.e. already multiplied by the scale factor);
* ``groups.parquet``   settlement by group (new generation, with children, with land, native,
  outsider, all): residents, eligible share, intention, settled — intention high and settlement
  low is the "glass door";
* ``towns.parquet``    per town and year: residents, hukou holders, seats and shortfall,
  public-rental units, tenants and queue, rent and price;
* ``flows.parquet``    ``replication, year, origin, destination, kind, households, persons``;
* ``snapshots.parquet`` household state at the requested years;
* ``manifest.json``    resolved configs, seeds, package versions, commit and wall time.
"""

from __future__ import annotations

import polars as pl

from sim.engine import SettlementModel

FLOW_SCHEMA = {"replication": pl.Int64, "year": pl.Int64, "origin": pl.String,
               "destination": pl.String, "kind": pl.String, "households": pl.Float64,
               "persons": pl.Float64}


def frames(model: SettlementModel) -> dict[str, pl.DataFrame]:
    """A finished model's records as polars DataFrames keyed by output name."""
    flows = (pl.concat(model.flows).cast(FLOW_SCHEMA) if model.flows
             else pl.DataFrame(schema=FLOW_SCHEMA))
    out = {
        "metrics": pl.DataFrame(model.metrics),
        "groups": pl.DataFrame(model.groups),
        "towns": pl.DataFrame(model.towns_rows),
        "flows": flows,
    }
    if model.snapshots:
        out["snapshots"] = pl.concat(model.snapshots)
    return out
