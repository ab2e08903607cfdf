"""Property-based fuzzing of every kind of config file (issue 13): each mutation of a valid policy,
region, behaviour or experiment file is either refused cleanly by both `sim check` and the run
(exit 2, one message naming the file and a key, nothing written), or accepted by both and run to
outputs that keep every invariant.

Sized for `make test` (a few dozen examples per kind); `HYPOTHESIS_PROFILE=nightly` runs 500 per
kind by hand.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.cli import check_file, main
from sim.configuration import METRIC_NAMES
from sim.errors import SimError
from sim.experiments.spec import load_experiment
from sim.experiments.sweep import read_output, run_sweep
from tests.conftest import DATA, ROOT

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("nightly", max_examples=500, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.load_profile("ci")  # HYPOTHESIS_PROFILE=nightly overrides it (see conftest's option)
import os  # noqa: E402

if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])

# values a careless or hostile hand might type into any field
WEIRD = [-1, 0, 1, 2, -1e9, 1e12, 1e300, 0.5, -0.5, 1.5, 30.0, 1.175, float("nan"), float("inf"),
         "", "  ", "x", "../..", True, False, [], [1, 2], {}, {"a": 1}, 2100, 20180, 1949, 100000]


def leaves(tree: Any, path: tuple = ()) -> list[tuple]:
    """Every path to a scalar or list leaf of a TOML tree (list indices included)."""
    out: list[tuple] = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += leaves(v, (*path, k)) if isinstance(v, (dict, list)) and v and \
                not (isinstance(v, list) and not isinstance(v[0], dict)) else [(*path, k)]
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += leaves(v, (*path, i))
    return out


def mutate(tree: dict, path: tuple, op: str, value: Any) -> dict:
    """``tree`` with the leaf at ``path`` replaced by ``value``, deleted, or given a sibling key."""
    import copy

    tree = copy.deepcopy(tree)
    node = tree
    for k in path[:-1]:
        node = node[k]
    last = path[-1]
    if op == "set":
        node[last] = value
    elif op == "delete":
        del node[last]
    elif op == "unknown" and isinstance(node, dict):
        node["no_such_key"] = value
    return tree


def mutations(tree: dict):
    paths = leaves(tree)
    return st.tuples(st.sampled_from(paths), st.sampled_from(["set", "set", "set", "delete", "unknown"]),
                     st.sampled_from(WEIRD))


def write(tree: dict, path: Path) -> None:
    path.write_text(tomli_w.dumps(tree))


def quiet(fn, *args):
    """Call ``fn``; return (result, stderr), raising on anything but a user error."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            result = fn(*args)
        except SystemExit as exc:
            result = exc.code
    return result, err.getvalue()


def checked(*files: Path) -> tuple[bool, str]:
    """Whether every file passes `sim check`, and the first refusal (a SimError, one line)."""
    for f in files:
        try:
            check_file(f)
        except SimError as exc:
            message = str(exc)
            for line in message.strip().splitlines():  # one line per problem, each naming the file
                assert f.name in line, message
            return False, message
    return True, ""


def keeps_invariants(run: Path) -> None:
    """A finished run's outputs: finite rates in [0, 1], non-negative counts, population changing
    only by births and deaths, no town over its seats or rental units."""
    m = pl.read_parquet(run / "metrics.parquet")
    no_migrants = m["non_hukou_residents"].to_numpy() == 0
    for col in METRIC_NAMES:
        values = m[col].to_numpy().astype(float)
        if col in ("settlement_intention", "eligible_share"):  # undefined among no migrants
            values = values[~no_migrants]
        assert np.isfinite(values).all(), col
        if col.endswith(("urbanization", "urbanization_reported", "_share", "intention")):
            assert ((values >= -1e-12) & (values <= 1 + 1e-12)).all(), col
        elif col not in ("urbanization_gap", "urban_hukou_net_increase"):  # may be negative
            assert (values >= -1e-6).all(), col
    for _, rows in m.sort("replication", "year").group_by("replication"):
        pop = rows["population"].to_numpy()
        change = (rows["births"] - rows["deaths"]).to_numpy()[1:]
        assert np.allclose(np.diff(pop), change, rtol=1e-9, atol=1e-6)
    towns = pl.read_parquet(run / "towns.parquet")
    assert (towns["seats_used"] <= towns["school_seats"] + 1e-6).all()
    assert (towns["public_rental_tenants"] <= towns["public_rental_units"] + 1e-6).all()


def same_verdict(ok: bool, why: str, code: int, err: str, out: Path) -> None:
    """`sim check` and the run agree: both refuse (exit 2, one line, nothing written) or both
    accept (and the outputs keep every invariant)."""
    assert "Traceback" not in err, err
    if ok and code == 2 and "--scale" in err:
        return  # valid files, but too few agents at the scale this run asked for: a clean refusal
    if ok:
        assert code == 0, f"sim check passed but the run refused: {err}"
        keeps_invariants(out)
    else:
        assert code == 2, f"sim check refused ({why}) but the run exited {code}"
        assert not out.exists(), "a refused run wrote its folder"


BASE_POLICY = tomllib.loads((DATA / "base_policy.toml").read_text())
BASE_POLICY["package"]["end"] = 2017  # two years: fast
BASE_POLICY["package"]["region"] = str(DATA / "small_region.toml")
REGION = tomllib.loads((DATA / "small_region.toml").read_text())
BEHAVIOUR = tomllib.loads((ROOT / "configs" / "behaviour" / "default.toml").read_text())
RUN = ["--scale", "40", "--quiet"]


def _lever_fields() -> list[tuple[str, str]]:
    """Every lever (group, field) the schema has, so mutations reach levers the file leaves unset."""
    from sim.configuration import PER_TOWN_GROUPS, REGION_WIDE_GROUPS

    return [(g, f) for g, model in {**PER_TOWN_GROUPS, **REGION_WIDE_GROUPS}.items()
            for f in model.model_fields if f not in ("source", "sources")]


def set_lever(tree: dict, group: str, field: str, value: Any, tier: str) -> dict:
    """``tree`` with lever ``group.field`` set to ``value`` (per tier where the group has tiers)."""
    import copy

    from sim.configuration import PER_TOWN_GROUPS

    tree = copy.deepcopy(tree)
    levers = tree.setdefault("levers", {}).setdefault(group, {})
    table = levers.setdefault(tier if group in PER_TOWN_GROUPS else "x", {}) if group in PER_TOWN_GROUPS else levers
    if group in PER_TOWN_GROUPS and tier.startswith("tiers."):
        table = levers.setdefault("tiers", {}).setdefault(tier.split(".", 1)[1], {})
        levers.pop(tier, None)
    table[field] = value
    table.setdefault("source", "fuzz")
    return tree


@given(st.one_of(
    mutations(BASE_POLICY).map(lambda m: ("leaf", m)),
    st.tuples(st.sampled_from(_lever_fields()), st.sampled_from(WEIRD),
              st.sampled_from(["default", "tiers.central_city", "tiers.moon_base"])).map(lambda m: ("lever", m)),
))
def test_mutated_policy(case):
    kind, m = case
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        policy = tmp / "policy.toml"
        if kind == "leaf":
            write(mutate(BASE_POLICY, *m), policy)
        else:
            (group, field), value, tier = m
            write(set_lever(BASE_POLICY, group, field, value, tier), policy)
        ok, why = checked(policy)
        code, err = quiet(main, ["run", str(policy), "--region", str(DATA / "small_region.toml"),
                                 "--out", str(tmp / "out"), *RUN])
        event("accepted" if ok else "refused")
        same_verdict(ok, why, code, err, tmp / "out")


@given(mutations(REGION))
def test_mutated_region(m):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        region = tmp / "region.toml"
        write(mutate(REGION, *m), region)
        policy = tmp / "policy.toml"  # the package, pointing at the mutated region
        write({**BASE_POLICY, "package": {**BASE_POLICY["package"], "region": str(region)}}, policy)
        ok, why = checked(region, policy)
        code, err = quiet(main, ["run", str(policy), "--out", str(tmp / "out"), *RUN])
        event("accepted" if ok else "refused")
        same_verdict(ok, why, code, err, tmp / "out")


@given(mutations(BEHAVIOUR))
def test_mutated_behaviour(m):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        behaviour, policy = tmp / "behaviour.toml", tmp / "policy.toml"
        write(mutate(BEHAVIOUR, *m), behaviour)
        write(BASE_POLICY, policy)
        ok, why = checked(behaviour)
        code, err = quiet(main, ["run", str(policy), "--behaviour", str(behaviour),
                                 "--out", str(tmp / "out"), *RUN])
        event("accepted" if ok else "refused")
        same_verdict(ok, why, code, err, tmp / "out")


def _experiment(policy: Path) -> dict:
    return {
        "experiment": {"name": "fuzz", "packages": [str(policy)], "replications": 1, "seed": 1,
                       "scale": 40.0, "outputs": ["metrics", "towns"], "source": "test"},
        "design": {"method": "grid",
                   "levers": [{"path": "hukou.default.open", "values": [False, True]}],
                   "behaviour": [{"name": "review_rate", "values": [0.1, 0.3]}]},
    }


@given(st.data())
def test_mutated_experiment(data):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        policy = tmp / "policy.toml"
        write(BASE_POLICY, policy)
        base = _experiment(policy)
        exp = tmp / "exp.toml"
        write(mutate(base, *data.draw(mutations(base))), exp)
        ok, why = checked(exp)
        event("accepted" if ok else "refused")
        out = tmp / "out"
        if not ok:
            code, err = quiet(main, ["sweep", str(exp), "--out", str(out), "--workers", "1", "--quiet"])
            assert code == 2 and "Traceback" not in err and not (out / "done").exists(), err
            return
        loaded = load_experiment(exp)
        runs = len(loaded.points) * loaded.meta.replications
        if runs > 16 or (loaded.meta.end or 2017) - (loaded.meta.start or 2016) > 10:
            return  # valid but large (say 10,000 replications): checked, not run here
        with ThreadPoolExecutor(1) as ex:  # the sweep's own path, without a process pool's start-up
            rep = run_sweep(loaded, out, executor=ex, progress=False)
        assert not rep.failed, f"sim check passed an experiment whose runs fail: {rep.failed[0]}"
        if "metrics" not in loaded.meta.outputs:
            return
        m = read_output(out, "metrics")
        assert m["resident_urbanization"].is_between(0, 1).all()
        assert all(math.isfinite(x) for x in m["settlement_intention"].drop_nulls().to_list())


def test_the_mutation_space_reaches_every_leaf():
    """The strategies can touch every key of each file (so a refusal is not for lack of reach)."""
    for tree in (BASE_POLICY, REGION, BEHAVIOUR):
        paths = leaves(tree)
        assert len(paths) >= 10
        for p in paths:
            mutate(tree, p, "delete", None)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1e9, 1e12])
def test_known_bad_scalars_are_refused(value, tmp_path):
    """Examples the issue names, always tried whatever Hypothesis draws: a behaviour weight of
    nan, inf or an absurd size is refused."""
    behaviour = tmp_path / "b.toml"
    write(mutate(BEHAVIOUR, ("behaviour", "beta_income"), "set", value), behaviour)
    ok, why = checked(behaviour)
    assert not ok and ("beta_income" in why or "finite" in why), why
