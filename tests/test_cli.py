"""The command line: ``sim run`` writes every output file; ``sim check`` validates."""

from __future__ import annotations

import json

import polars as pl
import pytest

from sim.cli import main
from tests.conftest import DATA, ROOT


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
    prov = manifest["provenance"]
    assert "mesa" in prov["versions"] and manifest["wall_time_s"] > 0 and prov["commit"]
    assert prov["behaviour"]["path"].endswith((".toml", ".csv")) and len(prov["behaviour"]["sha256"]) == 64
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
    assert main(["check", str(DATA / "base_policy.toml"), str(bad)]) == 2
    captured = capsys.readouterr()
    assert "OK" in captured.out
    assert "behaviour.beta_income" in captured.err


# ---------------------------------------------------------------------------------------------
# Bad invocations: exit 2, one line naming the argument and what is allowed, no traceback
# ---------------------------------------------------------------------------------------------

POLICY = str(DATA / "base_policy.toml")


def _outside_each_bound() -> list[tuple[list[str], str]]:
    """One value just outside each declared bound (sim.configuration.settings.SETTINGS), on a
    command that takes the setting."""
    from sim.configuration.settings import SETTINGS

    flags = {"seed": "run", "replications": "run", "scale": "run", "start": "run", "end": "run",
             "workers": "compare"}
    cases = []
    for name, cmd in flags.items():
        s = SETTINGS[name]
        lo = s.lo if s.kind is float else s.lo - 1
        hi = s.hi * 10 if s.kind is float else s.hi + 1
        for value in ([lo] if s.lo_open or s.kind is int else []) + [hi]:
            cases.append(([cmd, POLICY, f"--{name}", str(value)], f"--{name}"))
        cases.append(([cmd, POLICY, f"--{name}", "abc"], f"--{name}"))
    return cases


BAD = [
    *_outside_each_bound(),
    (["run", POLICY, "--scale", "-5"], "--scale"),
    (["run", POLICY, "--scale", "nan"], "--scale"),
    (["run", POLICY, "--scale", "1e12"], "--scale"),
    (["run", POLICY, "--seed", "-1"], "--seed"),
    (["run", POLICY, "--start", "40000"], "--start"),
    (["run", POLICY, "--end", "100000"], "--end"),
    (["run", POLICY, "--start", "2018", "--end", "2016"], "--end"),
    (["run", "configs/policies/dehong2011.toml"], "dehong_2011.toml"),
    (["run", "nowhere.toml"], "policy"),
    (["run", str(DATA)], "folder"),
    (["run", POLICY, "--region", "configs/regions/dehongg.toml"], "dehong.toml"),
    (["run", POLICY, "--behaviour", "missing.toml"], "--behaviour"),
    (["run", POLICY, "--replace"], "--replace"),
    (["run"], "policy"),
    (["frobnicate"], "invalid choice"),
    (["sweep", "experiments/dehong_defualt.toml"], "dehong_default.toml"),
    (["sweep", "experiments/dehong_default.toml", "--resume", "--replace"], "--replace"),
    (["sweep", "experiments/dehong_default.toml", "--workers", "0"], "--workers"),
    (["sweep", "experiments/dehong_default.toml", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
     "--workers"),
    (["compare", POLICY, "--replications", "0"], "--replications"),
    (["targets", POLICY, "--replications", "-3"], "--replications"),
    (["report", "no/such/folder"], "results folder"),
    (["run", POLICY, "--unknown-flag"], "unrecognized"),
]


@pytest.mark.parametrize("argv,names", BAD, ids=[" ".join(a)[-60:] for a, _ in BAD])
def test_bad_invocation_exits_2_with_one_line(argv, names, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # "did you mean" looks among the project's own configs
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--out", str(tmp_path / "o")] if argv[:1] == ["run"] and "--replace" not in argv
             and "--help" not in argv else argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("sim: error:") and names in lines[0], lines[0]
    assert not (tmp_path / "o").exists()  # nothing written


def test_bad_invocation_table_is_long_enough():
    assert len(BAD) >= 20


def test_version_and_help_on_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and "hukou-sim" in capsys.readouterr().out
    from sim.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        for action in p._actions:
            assert action.help, f"sim {name} {action.option_strings or action.dest}: no help text"


def test_user_errors_in_a_run_exit_2_without_traceback(tmp_path):
    """Errors found after parsing (a config's value) also give one line and exit 2, through the
    installed command, not just in-process."""
    import subprocess
    import sys

    bad = tmp_path / "bad.toml"
    bad.write_text(f'[package]\nname = "x"\nextends = "{POLICY}"\nstart = 1990\nsource = "test"\n')
    res = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(bad), "--region",
                          str(DATA / "small_region.toml"), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "base year" in res.stderr
    assert not (tmp_path / "o").exists()


def test_sim_levers_lists_paths_an_experiment_can_use(capsys):
    """Every path `sim levers` prints is a lever path an experiment accepts, with the package's
    value, and each says where it came from."""
    from sim.configuration import POLICIES, load_policy
    from sim.experiments.spec import lever_override

    assert main(["levers", str(POLICIES / "xuchang_2024.toml"), "--sources"]) == 0
    printed = capsys.readouterr().out
    pol = load_policy(POLICIES / "xuchang_2024.toml")
    entries = pol.lever_entries()
    assert len(entries) > 30
    for path, value, source, _ in entries:
        assert path in printed and source, path
        if not path.startswith("changes("):
            pol.with_levers(lever_override(path, value)).levers_in(pol.meta.start)  # validates


def test_compare_reads_package_minus_counterfactual(tmp_path, capsys):
    """The console's paired differences are against the pre-reform counterfactual whichever
    order the packages are given in, so a package that settles more shows a positive difference
    (issue 17: the differences read as the planner expects, as in the report)."""
    pols = ROOT / "configs" / "policies"
    assert main(["compare", str(pols / "dehong_2011.toml"), str(pols / "dehong_pre_reform.toml"),
                 "--replications", "2", "--scale", "200", "--end", "2013", "--workers", "1",
                 "--out", str(tmp_path / "c"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "paired difference from dehong_pre_reform" in out
    table = pl.read_parquet(tmp_path / "c" / "comparison.parquet")
    settled = table.filter((pl.col("metric") == "settled_persons") & (pl.col("package") == "dehong_2011"))
    assert settled["diff"][0] > 0, settled
