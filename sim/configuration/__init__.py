"""Configuration: the only code that reads config files (regions, policy packages, behaviour).

Validation happens here, at the boundary, and nowhere else: a bad file raises
:class:`~sim.errors.ConfigError` naming the file, the key and what is allowed, before anything
runs. The layers above import what they need from this package.
"""

from sim.configuration.behaviour import (
                                     BehaviourEnsemble,
                                     BehaviourSource,
                                     behaviour_for,
                                     default_behaviour_path,
                                     default_behaviour_source,
                                     load_behaviour,
                                     load_behaviour_source,
                                     load_ensemble,
                                     uncertainty_label,
)
from sim.configuration.files import check_provenance, deep_merge, read_toml, validate
from sim.configuration.names import (
                                     COLLECTIVE_DIVIDEND_MIN_YUAN,
                                     METRIC_DEFINITIONS,
                                     METRIC_NAMES,
                                     MIGRATED,
                                     MOVED,
                                     PRIORITY_GROUPS,
                                     RATE_METRICS,
                                     RECLASSIFIED,
                                     RETURNED,
                                     SETTLED,
                                     SETTLEMENT_GROUPS,
                                     TIERS,
)
from sim.configuration.paths import (
                                     BEHAVIOUR_DIR,
                                     CONFIGS,
                                     DATA,
                                     DOCS,
                                     EXPERIMENTS,
                                     POLICIES,
                                     PROJECT_ROOT,
                                     REGIONS,
                                     RESULTS,
                                     SEEDS,
)
from sim.configuration.policy import (
                                     Policy,
                                     check_policy_against_region,
                                     load_policy,
                                     own_region_name,
)
from sim.configuration.region import check_connected, load_region, place_graph
from sim.configuration.schema import *  # noqa: F403  (the schema tables)
from sim.configuration.schema import (
                                     PER_TOWN_GROUPS,
                                     REGION_WIDE_GROUPS,
                                     Behaviour,
                                     Cited,
                                     Economy,
                                     RegionFile,
                                     Strict,
                                     Target,
)
from sim.errors import ConfigError

__all__ = [
    "BEHAVIOUR_DIR", "CONFIGS", "DATA", "DOCS", "EXPERIMENTS", "POLICIES", "PROJECT_ROOT",
    "REGIONS", "RESULTS", "SEEDS",
    "METRIC_DEFINITIONS", "METRIC_NAMES", "MIGRATED", "RATE_METRICS", "MOVED", "PRIORITY_GROUPS", "RECLASSIFIED", "RETURNED", "SETTLED",
    "SETTLEMENT_GROUPS", "TIERS", "COLLECTIVE_DIVIDEND_MIN_YUAN",
    "Behaviour", "Cited", "ConfigError", "Economy", "PER_TOWN_GROUPS", "Policy", "REGION_WIDE_GROUPS",
    "RegionFile", "Strict", "Target",
    "check_connected", "check_policy_against_region", "check_provenance", "deep_merge",
    "BehaviourEnsemble", "BehaviourSource", "behaviour_for", "default_behaviour_source",
    "load_behaviour_source", "load_ensemble", "uncertainty_label",
    "default_behaviour_path", "load_behaviour", "load_policy", "load_region", "own_region_name",
    "place_graph", "read_toml", "validate",
]
