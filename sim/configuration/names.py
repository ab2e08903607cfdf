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
    "settled_and_in_situ_persons",
    "settlement_intention", "eligible_share", "left_behind_children", "left_behind_share",
    "land_exited_mu",
    "homesteads_exited", "collective_shares_exited", "compensation_paid_yuan", "public_cost_yuan",
    "rental_subsidy_yuan", "purchase_support_yuan", "transfer_yuan", "births", "deaths",
    "homes_bought", "trained", "reserved_jobs_filled", "quota_refused_households",
    "non_hukou_residents", "resident_urbanization_reported", "hukou_urbanization_reported",
    "hukou_population", "urban_hukou_persons", "urban_hukou_net_increase",
    "hukou_urbanization_hukou_base", "migrant_pupils_public",
)
"""Every metric of ``metrics.parquet``, in column order; targets and experiments name these."""

SETTLEMENT_GROUPS = ("all", "new_generation", "with_children", "with_land", "native", "outsider",
                     "older", "without_children", "with_homestead", "without_homestead",
                     "in_central_city", "in_sub_center", "in_small_town", "in_rural_community",
                     "same_province", "with_collective_dividend")
"""The groups ``groups.parquet`` reports intention, eligibility and settlement by (DESIGN §6;
issue 15): each survey contrast on both sides (new generation / older, with / without school-age
children, with / without a homestead kept), land held, native / outsider, the tier of the
town a migrant lives in, and the two subpopulations some levers act on alone: outsiders from the
region's own province (the ``hukou_province`` rules) and natives holding collective shares of
material value (the ``rights.collective`` rules; :data:`COLLECTIVE_DIVIDEND_MIN_YUAN`). At most
16 after "all" (one bit each)."""

COLLECTIVE_DIVIDEND_MIN_YUAN = 1000.0
"""Yearly dividend (yuan) from which a household's collective shares count as of material value
(the ``with_collective_dividend`` group): above the 150-500 yuan ordinary villages pay in the seed
regions (Dehong 150-300, Qingdao 200-500: configs/regions), so the group is the households of
villages with collective property to share (Qingdao's mountain villages 1,500, urban and
edge-of-city villages 4,000-8,000); at ``rights_discount_years`` of 15 such shares are worth at
least 15,000 yuan, what a rights rule puts at stake for them. Assumption (no survey sets a line)."""

MIGRATED, MOVED, RETURNED, SETTLED, RECLASSIFIED = "migrated", "moved", "returned", "settled", "reclassified"
"""The kinds of flow in ``flows.parquet``."""

TOWN_METRICS = ("residents", "hukou_holders", "school_seats", "seats_used", "seat_shortfall",
                "public_rental_units", "public_rental_tenants", "public_rental_queue", "reserved_jobs_held")
"""Columns of towns.parquet a per-town target may name."""

GROUP_METRICS = ("residents_households", "eligible_share", "intention", "settled_households",
                 "settled_persons", "settlement_rate")
"""Columns of groups.parquet a group target may name."""

RATE_METRICS = frozenset({
    "resident_urbanization", "hukou_urbanization", "urbanization_gap", "settlement_intention",
    "eligible_share", "left_behind_share", "resident_urbanization_reported", "hukou_urbanization_reported",
    "hukou_urbanization_hukou_base", "intention", "settlement_rate",
})
"""Metrics that are fractions in [0, 1] (shown as percentages); the rest are counts or yuan."""

METRIC_DEFINITIONS = {
    "resident_urbanization": "常住人口城镇化率: persons living in urban places / resident population",
    "hukou_urbanization": "户籍人口城镇化率, resident base (as NBS's national series): urban-hukou persons "
                          "/ resident population",
    "hukou_urbanization_hukou_base": "户籍人口城镇化率, hukou base (as local bureaus publish it): urban-hukou "
                                     "persons / hukou population (natives plus settled outsiders)",
    "hukou_urbanization_reported": "hukou_urbanization plus any recorded change of statistical definition",
    "resident_urbanization_reported": "resident_urbanization plus any recorded change of statistical definition",
    "hukou_population": "户籍人口: persons whose hukou is registered in the region (natives, wherever they "
                        "live in it, plus outsiders who settled)",
    "urban_hukou_persons": "persons holding urban hukou in the region (a stock)",
    "urban_hukou_net_increase": "城镇新增户籍人口: the year's net change of the urban-hukou stock (settlement, "
                                "reclassification, births and deaths)",
    "new_hukou_persons": "persons newly given urban hukou in the year: settled plus reclassified in place "
                         "(rural communities and urban villages)",
    "settled_and_in_situ_persons": "persons settled plus rural-community residents reclassified in place, "
                                   "without urban-village conversions (counted apart, as Qingdao's document does)",
    "settled_persons": "persons of the households that took urban hukou in a town in the year",
    "urban_village_converted_persons": "residents of urban villages (城中村) given urban hukou in place in the year",
    "reclassified_persons": "persons given urban hukou in place in the year (rural communities and urban villages)",
    "trained": "training places filled in the year (persons)",
    "migrated_persons": "persons who moved from a village into a town in the year",
    "returned_persons": "persons who went back to their village in the year",
    "settlement_intention": "share of non-hukou migrants in towns who would take the town's hukou if they "
                            "could (the survey question)",
    "left_behind_children": "留守儿童: school-age children of native migrants without town hukou who "
                            "study in the village, not with their parents in town",
    "migrant_pupils_public": "school-age children of households without the town's hukou who hold a "
                             "seat in its public schools (a stock, all towns): what school admission "
                             "rules and the money that follows migrant pupils buy",
    "left_behind_share": "share of the school-age children of native migrants without town hukou "
                         "who are left behind (the count divided by all such children): it moves "
                         "with school access, not with how many migrants settle",
    "eligible_share": "share of non-hukou migrants in towns who meet their town's hukou conditions",
    "residents": "persons living in the town (per-town target)",
    "hukou_holders": "persons holding the town's urban hukou (per-town target)",
    "reserved_jobs_held": "households holding a post of the town's standing reserve of jobs at the year's end "
                          "(per-town target)",
    "reserved_jobs_filled": "posts of the towns' reserves of jobs taken in the year (households)",
    "settlement_rate": "share of the group's non-hukou migrant households that settled in the year",
    "intention": "share of the group's non-hukou migrants who would take the town's hukou if they could",
    "public_cost_yuan": "the year's public spending on settlement: purchase support, rental subsidy, "
                        "school funding, services for new residents, public rental built and seats added",
}
"""What a metric counts, where its definition matters to a target (shown beside each target)."""
