"""The decision report (issue 17 §1): it opens with each package against its baseline, with the
sign a planner expects (package − baseline), each target's tolerance and probability, and the
cost per (additional) settler; every string from a config reaches the page as text; a factor
sweep gets response curves and its targets. Numbers are checked against the Parquet files."""

from __future__ import annotations

import re

import polars as pl
import pytest

from sim.configuration import METRIC_DEFINITIONS
from sim.experiments.spec import load_experiment
from sim.experiments.sweep import run_sweep
from sim.report import decision as dc
from sim.report import viewer
from sim.report.document import report
from tests.conftest import DATA

HOSTILE = "<script>window.pwned = 1</script> Open towns"

TARGETS = '''
[[targets]]
metric = "settled_persons"
year = 2016
to_year = 2018
aggregate = "mean"
op = "~"
value = 400
tolerance = 150
label = "about 400 settled a year"
source = "test: an 'about' target with a tolerance <b>bold</b>"

[[targets]]
metric = "hukou_urbanization"
year = 2018
op = ">="
value = 0.0
label = "hukou share at least 0%"
source = "test: met in every replication"

[[targets]]
metric = "resident_urbanization"
year = 2018
op = ">="
value = 0.99
label = "urbanisation at least 99%"
source = "test: met in no replication"
'''


def _packages(tmp):
    """An open-hukou package with targets and a hostile title, and its closed counterfactual."""
    base = (DATA / "base_policy.toml").read_text().replace(
        "seat_cost_yuan = 30000", "seat_cost_yuan = 30000\nservice_cost_per_person_yuan = 80000")
    (tmp / "small_region.toml").write_text((DATA / "small_region.toml").read_text())
    closed = tmp / "test_pre_reform.toml"
    closed.write_text(base.replace('name = "test_base"', 'name = "test_pre_reform"\n'
                                   'title = "Testland before the reform (counterfactual)"'))
    open_ = tmp / "test_open.toml"
    open_.write_text(base.replace('name = "test_base"', f'name = "test_open"\ntitle = "{HOSTILE}"')
                     .replace("purchase_required = true", "open = true") + TARGETS)
    return open_, closed


def _experiment(tmp, name: str, design: str = "") -> object:
    open_, closed = _packages(tmp)
    path = tmp / f"{name}.toml"
    # the counterfactual is listed second, as in experiments/dehong_default.toml
    path.write_text(f'[experiment]\nname = "{name}"\ntitle = "Open <i>vs</i> closed"\n'
                    f'packages = ["{open_}", "{closed}"]\nreplications = 3\nseed = 0\nscale = 4.0\n'
                    f'end = 2018\noutputs = ["metrics", "groups", "towns", "flows"]\nsource = "test"\n'
                    + design)
    return load_experiment(path)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("decision")
    out = tmp / "sweep"
    rep = run_sweep(_experiment(tmp, "decision_test"), out, workers=1, progress=False)
    assert rep.done == 6
    return out


@pytest.fixture(scope="module")
def page(sweep, tmp_path_factory) -> str:
    """The report of :func:`sweep`, written once."""
    return report(sweep, tmp_path_factory.mktemp("page")).read_text()


def _per_rep(out, package: str) -> pl.DataFrame:
    m = pl.concat([pl.read_parquet(f) for f in sorted((out / "metrics").glob("*.parquet"))])
    m = m.filter(pl.col("package") == package)
    return (m.filter(pl.col("year") > m["year"].min()).group_by("replication")
            .agg(pl.col("settled_persons").mean().alias("settled"), pl.col("public_cost_yuan").sum().alias("cost"),
                 pl.col("settled_persons").sum().alias("settled_total")).sort("replication"))


def test_effect_has_the_planners_sign_and_matches_the_parquet(sweep, page, tmp_path):
    res = viewer.load(sweep)
    (s,) = dc.summaries(res)
    assert (s.package.name, s.baseline.name) == ("test_open", "test_pre_reform")
    assert s.why == "its counterfactual"
    a, b = _per_rep(sweep, "test_open"), _per_rep(sweep, "test_pre_reform")
    diff = (a["settled"] - b["settled"]).mean()
    e = s.effect("settled_persons")
    assert diff > 0 and e.diff.mean == pytest.approx(diff) and e.diff.mean > 0
    assert e.package.mean == pytest.approx(a["settled"].mean())
    # cost per additional settler: the extra cost over the extra persons settled
    extra = (a["cost"] - b["cost"]).sum() / (a["settled_total"] - b["settled_total"]).sum()
    assert extra > 0 and s.cost.extra_point == pytest.approx(extra)
    assert s.cost.per_settler.mean == pytest.approx(a["cost"].sum() / a["settled_total"].sum())
    card = re.search(r'id="effect".*?</div>\s*</div>', page, re.S).group(0)
    assert f'<div class="big">{dc.count(diff, signed=True)}</div>' in card and "more than under the baseline" in card
    # named the other way round, the same difference reads negative
    (r,) = dc.summaries(res, baseline="test_open")
    assert r.effect("settled_persons").diff.mean == pytest.approx(-diff)
    assert "fewer than under the baseline" in report(sweep, tmp_path / "rev", baseline="test_open").read_text()


def test_targets_show_tolerance_definition_and_probability(sweep, page):
    text = page
    targets = re.search(r'id="targets-verdict".*?</ul>', text, re.S).group(0)
    assert "about 400 ± 150 (250 to 550)" in targets  # the tolerance of an "about" target
    assert "3 of 3 (100%)" in targets and "0 of 3 (0%)" in targets
    assert METRIC_DEFINITIONS["settled_persons"] in text  # how it is measured
    (s,) = dc.summaries(viewer.load(sweep))
    t = s.targets[0]
    m = pl.concat([pl.read_parquet(f) for f in (sweep / "metrics").glob("*.parquet")])
    per = (m.filter((pl.col("package") == "test_open") & pl.col("year").is_between(2016, 2018))
           .group_by("replication").agg(pl.col("settled_persons").mean())["settled_persons"])
    assert t.share == pytest.approx(((per - 400).abs() <= 150).mean())
    assert t.baseline_share is not None
    assert "public_cost_yuan" not in text.split('id="provenance"')[0]  # no code names before provenance


def test_every_config_string_is_escaped(page):
    text = page
    assert "<script" not in text and "&lt;script&gt;window.pwned = 1&lt;/script&gt; Open towns" in text
    assert "<b>bold</b>" not in text and "&lt;b&gt;bold&lt;/b&gt;" in text
    assert "<i>vs</i>" not in text and "Open &lt;i&gt;vs&lt;/i&gt; closed" in text
    assert not re.search(r'(src|href)="(https?:)?//', text) and "@import" not in text


def test_unknown_baseline_is_a_clear_error(sweep, tmp_path, capsys):
    from sim.cli import main
    from sim.errors import ResultsError

    with pytest.raises(ResultsError, match="--baseline 'nope'.*allowed: test_open, test_pre_reform"):
        dc.summaries(viewer.load(sweep), baseline="nope")
    assert main(["report", str(sweep), "--baseline", "nope", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "--baseline 'nope'" in err and "Traceback" not in err


def test_lever_rows_cite_sources_and_mark_what_differs():
    from sim.configuration import POLICIES, load_policy

    rows = dc.lever_rows(load_policy(POLICIES / "dehong_2011.toml"), load_policy(POLICIES / "dehong_pre_reform.toml"))
    residence = next(r for r in rows if r.path == "hukou.default.residence")
    assert (residence.value, residence.baseline, residence.differs) == ("yes", "no", True)
    assert "§(十一)" in residence.source
    purchase = next(r for r in rows if r.path == "hukou.default.purchase_required")  # set by the baseline only
    assert purchase.differs and purchase.baseline == "yes" and purchase.value.startswith("no")
    seat = next(r for r in rows if r.path == "fiscal.default.seat_cost_yuan")
    assert not seat.differs and seat.value == "30,000 yuan"
    assert all(r.source for r in rows)


def test_units_read_as_a_planner_writes_them():
    assert dc.yuan(2.155e9) == "21.6亿 yuan" and dc.yuan(82_345) == "8.23万 yuan"
    assert dc.count(21_345) == "21,300" and dc.count(204_000) == "20.4万" and dc.count(-54, signed=True) == "−54"
    assert dc.pct(0.3612) == "36.1%" and dc.pp(0.0123) == "+1.2 pp"
    assert dc.Stat(204_000, 79_600, 353_000, 10).text("count") == "20.4万 [8.0万 to 35.3万]"


def test_factor_sweep_gets_response_curves_and_its_targets(tmp_path):
    design = ('[design]\nmethod = "grid"\n[[design.levers]]\npath = "schools.default.nonhukou_admission_share"\n'
              "values = [0.0, 1.0]\n")
    exp = _experiment(tmp_path, "grid_test", design)
    out = tmp_path / "grid"
    run_sweep(exp, out, workers=1, progress=False)
    tab, sums = dc.design_summary(viewer.load(out))
    assert tab.height == 2 and set(tab["package"]) == {"test_open"}  # paired with the closed package at each value
    assert all(s.baseline.name == "test_pre_reform" for s in sums)
    text = report(out, tmp_path / "r").read_text()
    assert 'id="response"' in text
    assert (tmp_path / "r" / "response.png").stat().st_size > 10_000
    assert "states no numeric targets" not in text and "about 400 settled a year" in text
    assert "of 2 settings" in text
    assert "non-hukou admission share" in text  # the lever by name, not a point number


def test_an_extra_section_is_placed_and_escaped(sweep, tmp_path, monkeypatch):
    """A section added through EXTRA_SECTIONS (a map, a search front) appears, its text escaped;
    one that returns None adds nothing."""
    from sim.report import document

    def mine(res, out):
        return document.Section("extra-map", "Map <b>地图</b>", doc=f"{len(res.labels)} packages")

    monkeypatch.setattr(document, "EXTRA_SECTIONS", [mine, lambda res, out: None])
    text = report(sweep, tmp_path / "r").read_text()
    assert '<section id="extra-map">' in text and "Map &lt;b&gt;地图&lt;/b&gt;" in text
    assert "2 packages" in text and text.count("<section id=") == 6  # summary, levers, figures, map, glossary, provenance
