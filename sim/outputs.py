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

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from sim.households import PUBLIC_RENTAL, RENTED

if TYPE_CHECKING:
    from sim.model import SettlementModel

METRIC_NAMES = (
    "population", "households", "resident_urbanization", "hukou_urbanization", "urbanization_gap",
    "migrated_persons", "settled_households", "settled_persons", "returned_persons",
    "reclassified_persons", "urban_village_converted_persons", "new_hukou_persons",
    "settlement_intention", "eligible_share", "left_behind_children", "land_exited_mu",
    "homesteads_exited", "collective_shares_exited", "compensation_paid_yuan", "public_cost_yuan",
    "rental_subsidy_yuan", "purchase_support_yuan", "transfer_yuan", "births", "deaths",
    "homes_bought", "trained", "reserved_jobs_filled", "quota_refused_households",
    "non_hukou_residents", "resident_urbanization_reported", "hukou_urbanization_reported",
)

def group_masks(m: SettlementModel) -> dict[str, np.ndarray]:
    hh = m.hh
    return {
        "all": np.ones(hh.n, dtype=bool),
        "new_generation": hh.birth_year >= 1980,
        "with_children": hh.kids_school > 0,
        "with_land": (hh.land_mu > 0) & ~hh.land_exited,
        "native": hh.native,
        "outsider": ~hh.native,
    }


def rental_subsidy_paid(m: SettlementModel) -> float:
    """Yuan of rental subsidy paid this year to renters who qualify (hukou or permit holders)."""
    from sim.decision import has_permit

    hh, T, lv = m.hh, m.T, m.levers
    rows = np.flatnonzero(hh.town_dweller(T) & np.isin(hh.tenure, (RENTED, PUBLIC_RENTAL)))
    if rows.size == 0:
        return 0.0
    town = hh.place[rows]
    hukou = hh.hukou_urban[rows] & (hh.hukou[rows] == town)
    permit = has_permit(hh, rows, m.context(), here_only=True)
    to_hukou = lv.is_("housing", "rental_subsidy_to", "hukou")[town]
    to_permit = lv.is_("housing", "rental_subsidy_to", "permit")[town]
    paid = (to_hukou & hukou) | (to_permit & (permit | hukou))
    return float((lv.col("housing", "rental_subsidy_yuan")[town] * paid).sum()) * m.scale


def record_year(m: SettlementModel) -> None:
    hh, T, k, c = m.hh, m.T, m.scale, m.year_counts
    size = hh.size()
    at_place = hh.persons_at_place(T)
    at_home = size - at_place
    urban = m.places.urban
    population = float(size.sum()) * k
    urban_res = float((at_place * urban[hh.place] + at_home * urban[hh.home()]).sum()) * k
    hukou_urban = float(size[hh.hukou_urban].sum()) * k
    mig = m.start_migrants
    intention = m.intention[mig]
    rental_sub = rental_subsidy_paid(m) if m.year >= m.start else 0.0  # not in the start row
    public_cost = (c["purchase_support_yuan"] + rental_sub + c["school_funding_yuan"]
                   + c["service_cost_yuan"] + c["public_rental_built_yuan"]
                   + c["seat_growth_cost_yuan"])
    row: dict[str, Any] = {
        "replication": m.replication,
        "seed": m.seed,
        "year": m.year,
        "population": population,
        "households": hh.n * k,
        "resident_urbanization": urban_res / population,
        "hukou_urbanization": hukou_urban / population,
        "urbanization_gap": (urban_res - hukou_urban) / population,
        "migrated_persons": c["migrated_persons"],
        "settled_households": c["settled_households"],
        "settled_persons": c["settled_persons"],
        "returned_persons": c["returned_persons"],
        "reclassified_persons": c["reclassified_persons"],
        "urban_village_converted_persons": c["urban_village_converted_persons"],
        "new_hukou_persons": c["settled_persons"] + c["reclassified_persons"],
        "settlement_intention": float(np.nanmean(intention)) if intention.size else float("nan"),
        "eligible_share": float(m.eligible_here[mig].mean()) if mig.any() else float("nan"),
        "left_behind_children": float(hh.left_behind(T).sum()) * k,
        "land_exited_mu": c["land_exited_mu"],
        "homesteads_exited": c["homesteads_exited"],
        "collective_shares_exited": c["collective_shares_exited"],
        "compensation_paid_yuan": c["compensation_paid_yuan"],
        "public_cost_yuan": public_cost,
        "rental_subsidy_yuan": rental_sub,
        "purchase_support_yuan": c["purchase_support_yuan"],
        "transfer_yuan": c["transfer_yuan"],
        "births": c["births"],
        "deaths": c["deaths"],
        "homes_bought": c["homes_bought"],
        "trained": c["trained"],
        "reserved_jobs_filled": c["reserved_jobs_filled"],
        "quota_refused_households": c["quota_refused_households"],
        "non_hukou_residents": float(at_place[hh.migrant(T)].sum()) * k,
        # as published: the simulated rate plus any change in how the statistic is measured
        "resident_urbanization_reported": urban_res / population
        + m.policy.statistical_shift("resident_urbanization", m.year),
        "hukou_urbanization_reported": hukou_urban / population
        + m.policy.statistical_shift("hukou_urbanization", m.year),
    }
    assert tuple(k for k in row if k not in ("replication", "seed", "year")) == METRIC_NAMES
    m.metrics.append(row)

    settled = np.zeros(hh.n, dtype=bool)
    settled[m.settled_now] = True
    for name, mask in m.start_groups.items():
        base = mask & mig
        n_res = int(base.sum())
        s = mask & settled
        m.groups.append({
            "replication": m.replication, "year": m.year, "group": name,
            "residents_households": n_res * k,
            "eligible_share": float(m.eligible_here[base].mean()) if n_res else float("nan"),
            "intention": float(np.nanmean(m.intention[base])) if n_res else float("nan"),
            "settled_households": float(s.sum()) * k,
            "settled_persons": float(size[s].sum()) * k,
            "settlement_rate": float((base & settled).sum()) / n_res if n_res else float("nan"),
        })

    in_town = hh.place < T
    residents = np.bincount(hh.place[in_town], weights=at_place[in_town], minlength=T) * k
    hk = hh.hukou_urban & (hh.hukou >= 0) & (hh.hukou < T)
    holders = np.bincount(hh.hukou[hk], weights=size[hk], minlength=T) * k
    tenants = np.bincount(hh.place[in_town & (hh.tenure == PUBLIC_RENTAL)], minlength=T) * k
    m.last_towns = {"residents": residents}
    for j in range(T):
        m.towns_rows.append({
            "replication": m.replication, "year": m.year, "town": m.places.names[j],
            "tier": m.places.tier_name(j), "urban": bool(urban[j]),
            "residents": float(residents[j]), "hukou_holders": float(holders[j]),
            "school_seats": float(m.seats[j]), "seats_used": float(m.seats_used[j]),
            "seat_shortfall": float(m.seat_shortfall[j]),
            "public_rental_units": float(m.rental_units[j]),
            "public_rental_tenants": float(tenants[j]),
            "public_rental_queue": float(m.rental_queue[j]),
            "rent_yuan_month": float(m.rent[j]), "price_yuan_m2": float(m.price[j]),
            "nonfarm_share": float(m.community_nonfarm[j]),
        })

    if m._flows:
        o = np.concatenate([f[0] for f in m._flows])
        d = np.concatenate([f[1] for f in m._flows])
        kind = np.concatenate([np.full(f[0].size, f[2]) for f in m._flows]).astype(str)
        persons = np.concatenate([f[3] for f in m._flows]).astype(np.float64)
        names = np.array(m.places.names + ["(outside region)"], dtype=object)
        df = (pl.DataFrame({"origin_i": o, "dest_i": d, "kind": kind, "persons": persons})
              .group_by(["origin_i", "dest_i", "kind"])
              .agg(pl.len().alias("households"), pl.col("persons").sum())
              .sort(["kind", "origin_i", "dest_i"]))
        df = df.with_columns(
            pl.Series("origin", names[df["origin_i"].to_numpy()], dtype=pl.String),
            pl.Series("destination", names[df["dest_i"].to_numpy()], dtype=pl.String),
            (pl.col("households") * k).cast(pl.Float64),
            pl.col("persons") * k,
            pl.lit(m.replication).alias("replication"),
            pl.lit(m.year).alias("year"),
        ).select(["replication", "year", "origin", "destination", "kind", "households", "persons"])
        m.flows.append(df)

    if m.year in m.snapshot_years:
        m.snapshots.append(snapshot(m))


def snapshot(m: SettlementModel) -> pl.DataFrame:
    """Household state as a table (one row per agent; ``weight`` households each)."""
    from dataclasses import fields

    hh = m.hh
    cols = {f.name: getattr(hh, f.name) for f in fields(hh)}
    df = pl.DataFrame(cols)
    return df.with_columns(pl.lit(m.replication).alias("replication"), pl.lit(m.year).alias("year"),
                           pl.lit(m.scale).alias("weight"),
                           pl.Series("persons", hh.size()))


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
