"""The command line: ``sim run`` writes every output file; ``sim check`` validates."""

from __future__ import annotations

import json

import polars as pl

from sim.cli import main
from tests.conftest import DATA


def test_sim_run_writes_all_outputs(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", str(DATA / "base_policy.toml"), "--replications", "2", "--seed", "5",
                 "--start", "2016", "--end", "2018", "--snapshot-years", "2017", "--out", str(out),
                 "--quiet"])
    assert code == 0
    for name in ("metrics", "groups", "towns", "flows", "snapshots"):
        assert (out / f"{name}.parquet").is_file(), name
    metrics = pl.read_parquet(out / "metrics.parquet")
    assert metrics["year"].unique().sort().to_list() == [2015, 2016, 2017, 2018]
    assert metrics["replication"].unique().sort().to_list() == [0, 1]
    flows = pl.read_parquet(out / "flows.parquet")
    assert flows.columns == ["replication", "year", "origin", "destination", "kind", "households", "persons"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["replications"] == 2
    assert {"levers", "region", "behaviour"} <= set(manifest["resolved"])
    assert "mesa" in manifest["versions"] and manifest["wall_time_s"] > 0 and manifest["commit"]
    printed = capsys.readouterr().out
    assert "resident urbanisation" in printed and "hukou urbanisation" in printed


def test_sim_run_several_packages_side_by_side(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["run", str(DATA / "base_policy.toml"), str(DATA / "base_policy.toml"),
                 "--end", "2017", "--out", str(out), "--quiet"])
    assert code == 0
    assert (out / "base_policy" / "metrics.parquet").is_file()


def test_sim_check_reports_bad_files(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[behaviour]\nsource = "x"\nbeta_income = "high"\n')
    assert main(["check", str(DATA / "base_policy.toml"), str(bad)]) == 1
    captured = capsys.readouterr()
    assert "OK" in captured.out
    assert "behaviour.beta_income" in captured.err
