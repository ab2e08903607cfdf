"""Behaviour uncertainty (issue 16): the pattern calibration by ABC-SMC, the posterior ensemble
it writes, and runs whose replication r uses posterior draw r."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from sim.configuration import (
    ConfigError,
    load_behaviour,
    load_behaviour_source,
    load_ensemble,
    uncertainty_label,
)
from sim.engine.model import SettlementModel
from sim.experiments import abc
from sim.experiments.run import run_package
from tests.conftest import DATA, ROOT

TINY = DATA / "abc_tiny.toml"
POSTERIOR = ROOT / "configs" / "behaviour" / "posterior.csv"


def _ensemble(tmp_path: Path, rows: list[dict], name: str = "post.csv") -> Path:
    path = tmp_path / name
    cols = list(rows[0])
    path.write_text("# a test ensemble\n" + ",".join(["draw", *cols]) + "\n" +
                    "\n".join(",".join([str(i), *(str(r[c]) for c in cols)]) for i, r in enumerate(rows)) + "\n")
    return path


def test_an_ensemble_is_read_and_each_draw_checked(tmp_path):
    ens = load_ensemble(_ensemble(tmp_path, [{"asc_hukou": -1.0, "review_rate": 0.2},
                                             {"asc_hukou": 0.5, "review_rate": 0.3}]))
    assert len(ens) == 2 and ens.index(5) == 1
    assert ens.draw(3).asc_hukou == 0.5 and ens.draw(3).review_rate == 0.3
    assert ens.draw(0).beta_school == load_behaviour(ROOT / "configs" / "behaviour" / "default.toml").beta_school
    bad = _ensemble(tmp_path, [{"review_rate": 0.2}, {"review_rate": 2.0}], "bad.csv")
    with pytest.raises(ConfigError, match=r"bad.csv: draw 1 .*less than or equal to 1"):
        load_ensemble(bad)
    unknown = _ensemble(tmp_path, [{"beta_nonsense": 1.0}], "unknown.csv")
    with pytest.raises(ConfigError, match="unknown.csv: unknown behaviour parameter column"):
        load_ensemble(unknown)


def test_replication_r_uses_draw_r_and_a_file_pins_one_set(tmp_path, base, region):
    path = _ensemble(tmp_path, [{"asc_hukou": -2.0}, {"asc_hukou": 0.8}, {"asc_hukou": -0.5}])
    for r in range(4):
        m = SettlementModel(base, region, path, seed=1, replication=r)
        assert m.behaviour_draw == r % 3
        assert m.behaviour.asc_hukou == [-2.0, 0.8, -0.5][r % 3]
    pinned = SettlementModel(base, region, ROOT / "configs" / "behaviour" / "default.toml", replication=2)
    assert pinned.behaviour_draw is None
    assert "behaviour and chance" in uncertainty_label(load_behaviour_source(path))
    assert "chance only" in uncertainty_label(load_behaviour_source(ROOT / "configs" / "behaviour" / "default.toml"))


def test_run_manifest_records_each_replications_draw(tmp_path, base, region):
    path = _ensemble(tmp_path, [{"asc_hukou": -2.0}, {"asc_hukou": 0.8}])
    res = run_package(base, region, path, replications=3, scale=10.0)
    b = res.manifest["behaviour"]
    assert b["kind"] == "posterior" and b["draws_in_file"] == 2
    assert [d["draw"] for d in b["draws"]] == [0, 1, 0]
    assert "behaviour and chance" in b["uncertainty"]
    # the draws act: replications 0 and 2 share behaviour and differ from 1 only by chance
    intent = res.metrics.group_by("replication").agg(pl.col("settlement_intention").mean()).sort("replication")
    s = intent["settlement_intention"].to_list()
    assert s[1] > max(s[0], s[2]) + 0.2, s
    pinned = run_package(base, region, ROOT / "configs" / "behaviour" / "default.toml", replications=1, scale=10.0)
    assert "chance only" in pinned.manifest["behaviour"]["uncertainty"]


def test_a_sweep_gives_replication_r_the_same_draw_for_every_package(tmp_path, region):
    """Paired within a draw: the sweep's replication r equals a run pinned to draw r."""
    from sim.configuration import load_ensemble
    from sim.experiments.spec import adhoc_experiment
    from sim.experiments.sweep import read_output, run_sweep

    ens_path = _ensemble(tmp_path, [{"asc_hukou": -2.0}, {"asc_hukou": 0.8}])
    a = ROOT / "configs" / "policies" / "dehong_2011.toml"
    b = ROOT / "configs" / "policies" / "dehong_pre_reform.toml"
    exp = adhoc_experiment([str(a), str(b)], None, 2, seed=3, end=2012, scale=40.0, behaviour=str(ens_path))
    rep = run_sweep(exp, tmp_path / "sweep", workers=1, progress=False)
    assert not rep.failed
    metrics = read_output(tmp_path / "sweep", "metrics", rep.runs)
    manifest = json.loads((tmp_path / "sweep" / "manifest.json").read_text())
    assert "behaviour and chance" in manifest["uncertainty"]
    ens = load_ensemble(ens_path)
    for r in range(2):
        pinned = run_package(a, None, ens.draw(r), seed=3, replications=r + 1, end=2012, scale=40.0)
        want = pinned.metrics.filter(pl.col("replication") == r).sort("year")["settled_persons"].to_numpy()
        got = (metrics.filter((pl.col("replication") == r) & (pl.col("package") == "dehong_2011"))
               .sort("year")["settled_persons"].to_numpy())
        assert np.array_equal(want, got), r


# ---------------------------------------------------------------------------------------------
# the pattern calibration
# ---------------------------------------------------------------------------------------------


def test_distance_weighs_each_pattern_by_its_tolerance():
    spec = abc.load_abc_spec(TINY)
    obs = abc.observed(spec)
    exact = dict(obs) | {p.name: (0.05 if p.kind == "direction" else obs[p.name]) for p in spec.patterns}
    assert abc.distance(spec, exact, obs) == pytest.approx(0.0)
    off = dict(exact) | {"intention": obs["intention"] + 2 * 0.03}  # two tolerances off: z = 2
    assert abc.distance(spec, off, obs) == pytest.approx(4.0)
    wrong_way = dict(exact) | {"children_gap": -0.04}  # a direction short by two scales
    assert abc.distance(spec, wrong_way, obs) == pytest.approx(4.0)
    series = dict(exact) | {k: v + 0.005 for k, v in obs.items() if k.startswith("resident")}
    assert abc.distance(spec, series, obs) == pytest.approx(1.0)


def test_a_spec_with_a_bad_key_is_refused(tmp_path):
    text = TINY.read_text().replace('groups = ["with_homestead", "without_homestead"]',
                                    'groups = ["with_homestead", "nobody"]')
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("../../", str(ROOT) + "/"))
    with pytest.raises(ConfigError, match=r"bad.toml: key 'patterns\[1\].groups'"):
        abc.load_abc_spec(bad)


def test_a_small_abc_run_writes_a_posterior_ensemble(tmp_path):
    """A real ABC-SMC run (pyabc), at a small budget: the ensemble, its fit report and the mean
    behaviour file are written, and the ensemble loads as the runs read it."""
    out = tmp_path / "posterior.csv"
    db = tmp_path / "abc.db"
    res = abc.calibrate_abc(TINY, out, workers=1, evaluate=2, progress=False, db=db)
    assert res["draws"] == 10 and res["generations"] == 1
    # the history finishes a run stopped early (or run elsewhere) the same way
    again = abc.calibrate_abc(TINY, tmp_path / "again.csv", from_db=db, evaluate=1, progress=False)
    assert again["generations"] == 1 and again["evaluations"] == res["evaluations"]
    assert (tmp_path / "again.csv").read_text().splitlines()[3:] == out.read_text().splitlines()[3:]
    ens = load_ensemble(out)
    assert len(ens) == 10
    report = json.loads(out.with_suffix(".fit.json").read_text())
    names = {m["parameter"] for m in report["marginals"]}
    assert names == {p.name for p in abc.load_abc_spec(TINY).parameters}
    stats = {s["statistic"] for s in report["statistics"]}
    assert {"intention", "homestead_gap", "dehong_before"} <= stats
    assert len(report["correlations"]["matrix"]) == len(names)
    load_behaviour(out.with_suffix(".mean.toml"))


@pytest.mark.skipif(not POSTERIOR.is_file(), reason="no committed posterior")
def test_the_committed_posterior_is_the_default_behaviour():
    from sim.configuration import default_behaviour_source

    assert default_behaviour_source() == POSTERIOR
    ens = load_ensemble(POSTERIOR)
    assert len(ens) >= 200
    report = json.loads(POSTERIOR.with_suffix(".fit.json").read_text())
    assert report["draws"] == len(ens)


OOS = ROOT / "configs" / "behaviour" / "posterior_2013_2016.oos.json"


@pytest.mark.skipif(not OOS.is_file(), reason="no committed out-of-sample test")
def test_the_out_of_sample_forecast_reproduces():
    """docs/calibration.md's out-of-sample errors, from the committed 2013-2016 posterior."""
    want = json.loads(OOS.read_text())
    got = abc.out_of_sample(ROOT / "configs" / "calibration" / "patterns.toml",
                            OOS.with_name("posterior_2013_2016.csv"), want["fit"][1], want["forecast"][1],
                            draws=want["draws"])
    for name, w in want["series"].items():
        assert got["series"][name]["model_mae_pp"] == pytest.approx(w["model_mae_pp"], abs=0.02), name
        assert got["series"][name]["naive_mae_pp"] == pytest.approx(w["naive_mae_pp"], abs=1e-9), name


@pytest.mark.skipif(not POSTERIOR.is_file(), reason="no committed posterior")
def test_a_run_with_the_posterior_reproduces_its_fit_report():
    """The committed fit report's pattern statistics, recomputed from the committed draws."""
    report = json.loads(POSTERIOR.with_suffix(".fit.json").read_text())
    spec = abc.load_abc_spec(ROOT / report["spec"])
    post = abc.read_posterior(POSTERIOR)
    again = abc.fit_report(spec, post, report["facts"], evaluate=20)
    want = {r["statistic"]: r for r in report["statistics"]}
    for r in again["statistics"]:
        w = want[r["statistic"]]
        assert r["median"] == pytest.approx(w["median"], rel=1e-3, abs=1e-6), r["statistic"]


@pytest.mark.skipif(not POSTERIOR.is_file(), reason="no committed posterior")
def test_the_committed_posterior_fits_each_pattern_with_a_magnitude():
    """Each pattern with a target (intention, the homestead and generation ratios, Dehong's
    pre-reform settlement) has its posterior median within two of its tolerances of the target,
    and each direction pattern's median is above 0 (from the committed fit report, which the test
    above recomputes)."""
    report = json.loads(POSTERIOR.with_suffix(".fit.json").read_text())
    got = {r["statistic"]: r["median"] for r in report["statistics"]}
    for p in report["patterns"]:
        if p["kind"] == "direction":
            assert got[p["name"]] > 0, p["name"]
        else:
            assert abs(got[p["name"]] - p["target"]) <= 2 * p["sd"], (p["name"], got[p["name"]], p["target"])


@pytest.mark.skipif(not POSTERIOR.is_file(), reason="no committed posterior")
def test_posterior_bands_are_wider_than_one_set_and_pairing_still_narrows_them():
    """Behaviour uncertainty widens the bands of a seed package; paired differences between two
    packages (the same draw and seed per replication) stay narrower than unpaired ones."""
    a = ROOT / "configs" / "policies" / "dehong_2011.toml"
    b = ROOT / "configs" / "policies" / "dehong_pre_reform.toml"
    kw = dict(replications=8, scale=20.0, end=2015)
    post_a = run_package(a, None, None, **kw).metrics
    post_b = run_package(b, None, None, **kw).metrics
    pinned = run_package(a, None, POSTERIOR.with_suffix(".mean.toml"), **kw).metrics

    def final(m, col="hukou_urbanization"):
        return m.filter(pl.col("year") == 2015).sort("replication")[col].to_numpy()

    assert final(post_a).std() > 2 * final(pinned).std()
    paired = final(post_a) - final(post_b)
    unpaired = final(post_a) - np.roll(final(post_b), 1)
    assert paired.std() < unpaired.std()


def test_an_experiment_file_may_name_the_posterior_ensemble(tmp_path):
    """``behaviour = ".../posterior.csv"`` in an experiment file is an ensemble (replication r uses
    draw r), as ``--behaviour`` takes it; a broken ensemble is refused before anything runs."""
    from sim.errors import ConfigError
    from sim.experiments.spec import load_experiment
    from sim.experiments.sweep import plan

    def write(behaviour: Path) -> Path:
        p = tmp_path / "e.toml"
        p.write_text(f'[experiment]\nname = "e"\npackages = ["{ROOT / "configs/policies/dehong_2011.toml"}"]\n'
                     f'replications = 2\nscale = 200\nbehaviour = "{behaviour}"\nsource = "test"\n')
        return p

    exp = load_experiment(write(POSTERIOR))
    assert exp.behaviour == POSTERIOR.resolve()
    tasks, _ = plan(exp, tmp_path / "out")
    assert {t.behaviour_path for t in tasks} == {str(POSTERIOR.resolve())}
    bad = tmp_path / "bad.csv"
    bad.write_text("draw,asc_hukou\n0,not-a-number\n")
    with pytest.raises(ConfigError, match="bad.csv"):
        load_experiment(write(bad))
