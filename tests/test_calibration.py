"""Calibration (issue 7): `sim calibrate` runs end to end on a tiny budget and writes a valid
behaviour file; the committed calibration reproduces the fit it reports."""

from __future__ import annotations

import json

import pytest

from sim.cli import main
from sim.configuration import load_behaviour
from sim.experiments.calibration import ROOT, errors, load_spec, mae, observed, simulate

SPEC = ROOT / "configs" / "calibration" / "china.toml"


def test_calibrate_tiny_budget_writes_a_valid_behaviour_file(tmp_path):
    text = SPEC.read_text().replace("replications = 2", "replications = 1") \
        .replace("scale = 10000.0", "scale = 200000.0")
    text = text.replace('data = "../../data/china_urbanization.csv"',
                        f'data = "{(ROOT / "data" / "china_urbanization.csv").as_posix()}"')
    text = text.replace('package = "../policies/china_2012_2019.toml"',
                        f'package = "{(ROOT / "configs" / "policies" / "china_2012_2019.toml").as_posix()}"')
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    out = tmp_path / "calibrated.toml"
    assert main(["calibrate", str(spec), "--budget", "3", "--rounds", "1", "--workers", "1",
                 "--out", str(out)]) == 0
    beh = load_behaviour(out)
    fit = json.loads(out.with_suffix(".fit.json").read_text())
    for p in load_spec(spec).parameters:
        assert p.range[0] <= getattr(beh, p.name) <= p.range[1]
        assert fit["values"][p.name] == getattr(beh, p.name)
    assert fit["report"]["mae_pp"]["both"] >= 0 and fit["report"]["naive_mae_pp"]["both"] >= 0
    assert "mean absolute error" in out.read_text()


@pytest.mark.slow
def test_committed_calibration_reproduces_its_fit():
    fit_path = ROOT / "configs" / "behaviour" / "calibrated.fit.json"
    if not fit_path.is_file():
        pytest.skip("no committed calibration")
    fit = json.loads(fit_path.read_text())
    spec = load_spec(SPEC)
    err = errors(simulate(spec, fit["values"]), observed(spec), spec.meta.first_year, spec.meta.last_year)
    got = mae(err)
    reported = fit["report"]["mae_pp"]
    doc = (ROOT / "docs" / "calibration.md").read_text()
    assert f"{reported['both']:.3f}" in doc, "docs/calibration.md does not show the committed fit"
    for k in ("resident_urbanization_reported", "hukou_urbanization_reported", "both"):
        assert got[k] <= reported[k] + 0.01, (k, got[k], reported[k])


def test_calibration_range_outside_the_behaviour_bounds_is_refused(tmp_path):
    from sim.configuration import ConfigError

    text = SPEC.read_text().replace("range = [0.05, 0.4]", "range = [0.05, 1.5]")
    text = text.replace('data = "../../data/china_urbanization.csv"',
                        f'data = "{(ROOT / "data" / "china_urbanization.csv").as_posix()}"')
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    with pytest.raises(ConfigError, match=r"parameters\[2\]\.range"):
        load_spec(spec)
