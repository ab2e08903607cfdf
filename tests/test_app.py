"""The planner's app (issue 18) without a browser: the lever form (Solara's render tools), the
lever catalogue against the schema, uploads checked as `sim check` checks them, and a saved
variant that passes `sim check` and reproduces the app's run from the command line."""

from __future__ import annotations

import polars as pl
import pytest

from sim.configuration import POLICIES, ConfigError, load_policy

PACKAGE = POLICIES / "dehong_2011.toml"
LEVER = "housing.purchase_subsidy_yuan"


def render_form(entries: dict):
    """The lever form for dehong_2011 with ``entries``; returns its render context and the
    calls it made to on_run."""
    import solara

    from sim.app.components import LeverForm

    calls: list = []
    box, rc = solara.render(LeverForm(load_policy(PACKAGE), entries, lambda e: None,
                                      lambda values, kind: calls.append((values, kind))),
                            handle_error=False)
    return rc, calls


def click_run(rc) -> None:
    import ipyvuetify as v

    rc.find(v.Btn, children=["Run (coarse, a few seconds)"]).widget.click()


def test_valid_change_runs():
    import ipyvuetify as v

    rc, calls = render_form({LEVER: "30000", "hukou.combine": "and"})
    click_run(rc)
    assert calls == [({LEVER: 30000.0, "hukou.combine": "and"}, "coarse")]
    assert not [a for a in rc.find(v.Alert).widgets if "not allowed" in str(a.children)]


@pytest.mark.parametrize("value, allowed", [("-5", "≥ 0"), ("lots", "a number")])
def test_invalid_change_shows_the_message_and_runs_nothing(value, allowed):
    import ipyvuetify as v

    rc, calls = render_form({LEVER: value, "schools.nonhukou_admission_share": "0.9"})
    click_run(rc)
    assert calls == []
    messages = [str(a.children[0]) for a in rc.find(v.Alert).widgets if a.children]
    inline = [m for m in messages if m.startswith(LEVER)]
    assert inline and allowed in inline[0], messages  # under the lever: its name, what is allowed
    assert any(m.startswith("Nothing ran") for m in messages), messages
    field = [w for w in rc.find(v.TextField).widgets if w.class_ == "lever-housing-purchase_subsidy_yuan"]
    assert field[0].error


def test_catalogue_reads_every_schema_lever_with_its_range():
    from sim.app.levers import SECTIONS, catalogue
    from sim.experiments.response import schema_levers

    specs = {s.name: s for s in catalogue()}
    assert set(specs) == set(schema_levers())
    assert {s.section for s in specs.values()} == set(SECTIONS)
    assert specs["schools.nonhukou_admission_share"].allowed() == "a number ≥ 0 and ≤ 1"
    assert specs["hukou.min_years_resident"].allowed() == "a whole number ≥ 0 and ≤ 30"
    assert specs["fiscal.seat_cost_yuan"].allowed() == "a number > 0"
    assert specs["hukou.combine"].options == ("or", "and")
    # the two lever fields that are not scalars: a rule per tier, and a year that may be none
    tiers = specs["rights.land.on_settle_tiers"]
    assert tiers.kind == "tier_rules"
    assert tiers.parse("small_town=surrendered, sub_center=kept") == {"small_town": "surrendered",
                                                                       "sub_center": "kept"}
    assert tiers.parse("") == {}
    with pytest.raises(ValueError, match="rights.land.on_settle_tiers: 'town=lost' is not allowed"):
        tiers.parse("town=lost")
    until = specs["rights.land.kept_until_year"]
    assert until.parse("2028") == 2028
    for bad in ("28", ""):  # a package file cannot hold 'none': a year after the run keeps it
        with pytest.raises(ValueError, match="a year from 1949 to 2100"):
            until.parse(bad)


def test_upload_is_checked_like_sim_check():
    from sim.app.session import accept_upload

    good = b'[package]\nname = "mine"\nextends = "dehong_2011.toml"\nsource = "t"\n' \
           b'[levers.housing.default]\npurchase_subsidy_yuan = 5000\nsource = "t"\n'
    assert accept_upload("mine.toml", good).name == "mine"
    bad = good.replace(b"5000", b"-1")
    with pytest.raises(ConfigError, match="purchase_subsidy_yuan.*greater than or equal to 0"):
        accept_upload("mine.toml", bad)
    town = b'[package]\nname = "t2"\nextends = "dehong_2011.toml"\nsource = "t"\n' \
           b'[levers.housing.towns."nowhere"]\npurchase_subsidy_yuan = 5000\nsource = "t"\n'
    with pytest.raises(ConfigError, match="unknown town"):  # checked against the region
        accept_upload("t2.toml", town)


@pytest.mark.slow  # 3-25 s on this 2-core machine, by its load: four runs of ten years
def test_saved_variant_passes_check_and_reproduces_the_run(tmp_path):
    from sim.app import session
    from sim.cli import main

    policy = load_policy(PACKAGE)
    baseline = load_policy(session.default_baseline(policy))
    assert baseline.name == "dehong_pre_reform"
    edits = {LEVER: 30000.0, "housing.public_rental_build_per_year": 500}
    settings = session.RunSettings("test", 400.0, 2, seed=3, threads=1)  # as a coarse run; the CLI uses all
    told: list[float] = []
    folder, variant = session.run_variant(policy, baseline, edits, folder=tmp_path / "app",
                                          settings=settings, progress=lambda f, m: told.append(f))
    assert told == sorted(told) and told[-1] == 1.0 and len(set(told)) >= 5  # each replication told
    text = variant.read_text()
    assert "extends = " in text and "planner's choice" in text
    assert "[levers.housing.tiers.central_city]" in text  # the package's tier value is replaced too
    assert main(["check", str(variant)]) == 0
    summary = session.summarise(folder)
    assert summary.results.labels == [baseline.name, variant.stem]
    assert {"resident_urbanization", "hukou_urbanization"} <= set(summary.headline["metric"])
    from sim.app.components import headline_markdown

    table = headline_markdown(summary)  # what the planner reads: metrics in words, not code names
    assert "| resident urbanization (final year) |" in table and "resident_urbanization" not in table
    out = tmp_path / "cli"
    assert main(["run", str(baseline.path), str(variant), "--seed", "3", "--replications", "2",
                 "--scale", "400", "--out", str(out), "--quiet"]) == 0
    for name in (baseline.name, variant.stem):
        app = pl.read_parquet(folder / name / "metrics.parquet")
        cli = pl.read_parquet(out / name / "metrics.parquet")
        assert app.equals(cli), name


def test_mesa_page_builds():
    """Mesa's convention (tests/test_examples.py there): import the app, touch its page, step
    the model it shows."""
    import sim.app.app as app

    assert app.page is not None
    model = app.model
    for _ in range(2):
        model.step()
    assert model.metrics[-1]["year"] == model.start + 1


def test_sim_app_refuses_an_address_it_cannot_serve(capsys):
    import socket

    from sim.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["app", "--port", str(port)]) == 2
    assert f"argument --port: cannot serve on 127.0.0.1:{port}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["app", "--port", "70000"])
    assert exit_.value.code == 2
    assert "must be a whole number 1-65535 (got 70000)" in capsys.readouterr().err
