"""Bad input is refused before anything runs, with file, key and what is allowed (DESIGN §9)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.cli import check_file
from sim.configuration import ConfigError, load_behaviour, load_policy, load_region
from sim.engine.model import SettlementModel
from sim.errors import OutputError
from tests.conftest import DATA, ROOT

REGION = (DATA / "small_region.toml").read_text()
POLICY = (DATA / "base_policy.toml").read_text()


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    if name != "small_region.toml":
        (tmp_path / "small_region.toml").write_text(REGION)
    return p


def refused(path: Path, *needles: str) -> str:
    with pytest.raises(ConfigError) as exc:
        check_file(path)
    msg = str(exc.value)
    assert str(path) in msg
    for n in needles:
        assert n in msg, f"{n!r} not in {msg!r}"
    return msg


def test_shipped_configs_are_valid():
    files = sorted((ROOT / "configs").rglob("*.toml")) + sorted(DATA.glob("*.toml"))
    assert files
    for f in files:
        assert "OK" in check_file(f)


def test_unknown_key_names_the_key_and_the_allowed_ones(tmp_path):
    p = write(tmp_path, "p.toml", POLICY.replace("purchase_required = true",
                                                  "purchase_required = true\npurchse_subsidy = 5"))
    msg = refused(p, "levers.hukou.default.purchse_subsidy", "unknown key", "allowed keys:")
    assert "purchase_required" in msg


def test_wrong_type(tmp_path):
    p = write(tmp_path, "p.toml", POLICY.replace("purchase_required = true", 'purchase_required = "yes"'))
    refused(p, "levers.hukou.default.purchase_required", "boolean")


def test_out_of_range_value(tmp_path):
    p = write(tmp_path, "p.toml", POLICY + '\n[levers.schools.default]\nnonhukou_admission_share = 1.5\nsource = "x"\n')
    refused(p, "levers.schools.default.nonhukou_admission_share", "less than or equal to 1", "1.5")


def test_unknown_choice_lists_the_allowed_values(tmp_path):
    p = write(tmp_path, "p.toml", POLICY + '\n[levers.rights.land]\non_settle = "sold"\nsource = "x"\n')
    refused(p, "levers.rights.land.on_settle", "'kept'", "'surrendered'")


def test_unknown_tier(tmp_path):
    p = write(tmp_path, "p.toml", POLICY + '\n[levers.hukou.tiers.megacity]\nopen = true\nsource = "x"\n')
    refused(p, "levers.hukou.tiers.megacity", "central_city", "rural_community")


def test_unknown_town(tmp_path):
    p = write(tmp_path, "p.toml", POLICY + '\n[levers.hukou.towns.Atlantis]\nopen = true\nsource = "x"\n')
    msg = refused(p, "levers.hukou.towns.Atlantis", "unknown town")
    assert "Capital" in msg


def test_unknown_town_is_refused_before_a_model_runs(tmp_path):
    p = write(tmp_path, "p.toml", POLICY + '\n[levers.hukou.towns.Atlantis]\nopen = true\nsource = "x"\n')
    with pytest.raises(ConfigError, match="Atlantis"):
        SettlementModel(p, seed=1)


def test_unknown_lever_group(tmp_path):
    p = write(tmp_path, "p.toml", POLICY + '\n[levers.taxes]\nrate = 1\nsource = "x"\n')
    refused(p, "levers.taxes", "unknown lever group", "hukou")


def test_disconnected_place_graph(tmp_path):
    text = REGION.replace('a = "Hills"\nb = "Smalltown"', 'a = "Hills"\nb = "Hills2"')
    text += ('\n[[villages]]\nname = "Hills2"\nrural_share = 0.0\nland_mu_per_household = 1\n'
             'homestead_value_yuan = 1\nsource = "x"\n')
    p = write(tmp_path, "small_region.toml", text)
    msg = refused(p, "roads", "disconnected")
    assert "Hills" in msg


def test_road_to_unknown_place(tmp_path):
    p = write(tmp_path, "small_region.toml", REGION.replace('a = "Hills"', 'a = "Nowhere"'))
    refused(p, "roads[5]", "unknown place 'Nowhere'")


def test_missing_source_is_refused(tmp_path):
    p = write(tmp_path, "p.toml", POLICY + "\n[levers.schools.default]\nnonhukou_admission_share = 0.5\n")
    refused(p, "levers.schools.default.nonhukou_admission_share", "has no source")


def test_region_shares_must_sum_to_one(tmp_path):
    p = write(tmp_path, "small_region.toml", REGION.replace("urban_share = 0.55", "urban_share = 0.9"))
    refused(p, "towns[*].urban_share", "sum to 1")


def test_hukou_above_resident_urbanisation(tmp_path):
    p = write(tmp_path, "small_region.toml", REGION.replace("hukou_urbanization = 0.25", "hukou_urbanization = 0.5"))
    refused(p, "region", "must not exceed")


def test_bad_toml_syntax(tmp_path):
    p = write(tmp_path, "p.toml", "[package\nname = 1")
    refused(p, "not valid TOML")


def test_behaviour_out_of_range(tmp_path):
    p = tmp_path / "b.toml"
    p.write_text('[behaviour]\nsource = "x"\nreview_rate = 2.0\n')
    with pytest.raises(ConfigError, match=re.escape("behaviour.review_rate")):
        load_behaviour(p)


def test_extends_overrides_parent_and_keeps_the_rest(tmp_path):
    write(tmp_path, "base_policy.toml", POLICY)
    child = write(tmp_path, "child.toml", '[package]\nname = "child"\nextends = "base_policy.toml"\n'
                  'source = "x"\n[levers.hukou.default]\nopen = true\nsource = "x"\n')
    pol = load_policy(child)
    assert pol.levers["hukou"]["default"]["open"] is True
    assert pol.levers["hukou"]["default"]["purchase_required"] is True
    assert pol.meta.start == 2016 and pol.region_path.name == "small_region.toml"


def test_circular_extends(tmp_path):
    write(tmp_path, "a.toml", '[package]\nname = "a"\nextends = "b.toml"\nsource = "x"\n')
    b = write(tmp_path, "b.toml", '[package]\nname = "b"\nextends = "a.toml"\nsource = "x"\n')
    with pytest.raises(ConfigError, match="circular"):
        load_policy(b)


def test_year_dated_change_applies_from_its_year(tmp_path, behaviour):
    p = write(tmp_path, "p.toml", POLICY + '\n[[changes]]\nyear = 2019\nsource = "x"\n'
              '[changes.levers.hukou.default]\nopen = true\n')
    region = load_region(tmp_path / "small_region.toml")
    m = SettlementModel(p, region, behaviour, seed=2).run()
    settled = {r["year"]: r["settled_persons"] for r in m.metrics}
    assert max(settled[y] for y in (2016, 2017, 2018)) * 3 < min(settled[y] for y in (2019, 2020))


def test_region_table_needs_a_source(tmp_path):
    text = REGION.replace('default_scale = 2.0\nsource = "assumption: test region"', 'default_scale = 2.0')
    assert text != REGION
    p = write(tmp_path, "small_region.toml", text)
    refused(p, "region.", "has no source")


def test_unknown_target_metric(tmp_path):
    p = write(tmp_path, "p.toml", POLICY + '\n[[targets]]\nmetric = "happiness"\nyear = 2020\nop = ">="\n'
              'value = 1\nsource = "x"\n')
    refused(p, "targets[0].metric", "unknown metric 'happiness'", "hukou_urbanization")


def test_transfer_shares_must_not_exceed_one(tmp_path, behaviour):
    p = write(tmp_path, "p.toml", POLICY.replace("seat_cost_yuan = 30000",
                                                  "seat_cost_yuan = 30000\ntransfer_share_schools = 0.9\n"
                                                  "transfer_share_housing = 0.9"))
    with pytest.raises(ConfigError, match="transfer_share_schools"):
        SettlementModel(p, seed=1)


def test_start_before_base_year_is_refused(behaviour):
    with pytest.raises(ConfigError, match="base year"):
        SettlementModel(DATA / "base_policy.toml", seed=1, start=2014)


def test_out_folder_that_is_not_a_run_is_never_deleted(tmp_path):
    from sim.experiments.run import run_package

    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "precious.txt").write_text("keep me")
    for replace in (False, True):  # not ours: refused, with or without --replace
        with pytest.raises(OutputError):
            run_package(DATA / "base_policy.toml", out=keep, end=2016, replace=replace)
    assert (keep / "precious.txt").read_text() == "keep me"
    run_package(DATA / "base_policy.toml", out=tmp_path / "run", end=2016)
    with pytest.raises(OutputError, match="--replace"):  # an earlier run is kept unless asked
        run_package(DATA / "base_policy.toml", out=tmp_path / "run", end=2016)
    run_package(DATA / "base_policy.toml", out=tmp_path / "run", end=2016, replace=True)
    # a folder holding some other manifest.json (a finished sweep, another tool's) is not ours
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text("{}")
    with pytest.raises(OutputError, match="not a folder hukou-sim created"):
        run_package(DATA / "base_policy.toml", out=other, end=2016, replace=True)
    assert (other / "manifest.json").is_file()
