"""Shared fixtures: a small synthetic region and a neutral base package (tests/data/)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from sim.configuration import Policy, load_behaviour, load_policy, load_region
from sim.engine.model import SettlementModel
from sim.outputs.tables import frames

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="session")
def region():
    return load_region(DATA / "small_region.toml")


@pytest.fixture(scope="session")
def province_region(region):
    """The small region with the third origin class: half its outsiders from the same province."""
    return region.model_copy(update={"region": region.region.model_copy(
        update={"province_share_of_outsiders": 0.5})})


@pytest.fixture(scope="session")
def behaviour():
    return load_behaviour(ROOT / "configs" / "behaviour" / "default.toml")


@pytest.fixture(scope="session")
def base(region) -> Policy:
    return load_policy(DATA / "base_policy.toml")


def simulate(policy: Policy, region, behaviour, reps: int = 2, seed: int = 7,
             **kw) -> dict[str, pl.DataFrame]:
    """Run ``reps`` replications and return the concatenated output tables."""
    parts: dict[str, list[pl.DataFrame]] = {}
    for r in range(reps):
        m = SettlementModel(policy, region, behaviour, seed=seed, replication=r, **kw).run()
        for name, df in frames(m).items():
            parts.setdefault(name, []).append(df)
    return {k: pl.concat(v, how="vertical_relaxed") for k, v in parts.items()}
