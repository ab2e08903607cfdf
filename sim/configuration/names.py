"""The words configuration files and outputs share: tiers, priority groups, metric names, the
groups settlement is reported by, and the kinds of flow."""

from __future__ import annotations

TIERS = ("central_city", "sub_center", "small_town", "rural_community")
"""Town tiers (DESIGN §2), in the order their integer codes use."""

PRIORITY_GROUPS = ("students", "soldiers", "long_resident", "whole_family", "new_generation")
"""Groups a package may exempt from conditions or serve first (DESIGN §4, hukou entry)."""

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
"""Every metric of ``metrics.parquet``, in column order; targets and experiments name these."""

SETTLEMENT_GROUPS = ("all", "new_generation", "with_children", "with_land", "native", "outsider")
"""The groups ``groups.parquet`` reports settlement by (DESIGN §6)."""

MIGRATED, MOVED, RETURNED, SETTLED, RECLASSIFIED = "migrated", "moved", "returned", "settled", "reclassified"
"""The kinds of flow in ``flows.parquet``."""
