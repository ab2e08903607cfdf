"""Results viewer: the notebook runs top to bottom; the report has every section and PNG; a
figure given results that lack a metric raises a clear error."""

from __future__ import annotations

import re
import shutil

import nbformat
import polars as pl
import pytest
from nbclient import NotebookClient

from sim.experiments.spec import adhoc_experiment
from sim.experiments.sweep import run_sweep
from sim.report import viewer
from tests.conftest import DATA, ROOT


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A small sweep of two packages (the base and an open-hukou variant) on the test region."""
    tmp = tmp_path_factory.mktemp("viewer")
    base = (DATA / "base_policy.toml").read_text()
    (tmp / "small_region.toml").write_text((DATA / "small_region.toml").read_text())
    (tmp / "closed.toml").write_text(base)
    (tmp / "open.toml").write_text(base.replace('name = "test_base"', 'name = "test_open"')
                                   .replace("purchase_required = true", "open = true"))
    exp = adhoc_experiment([str(tmp / "closed.toml"), str(tmp / "open.toml")], None, 2, scale=4.0,
                           name="viewer_test")
    out = tmp / "sweep"
    rep = run_sweep(exp, out, workers=1, progress=False)
    assert rep.done == 4
    return out


def test_notebook_runs_top_to_bottom(results, tmp_path):
    nb = nbformat.read(ROOT / "results" / "viewer.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit it without outputs"
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = f'RESULTS = r"{results}"'
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) >= 5


def test_report_has_every_section_and_the_pngs(results, tmp_path):
    path = viewer.report(results, tmp_path / "report")
    text = path.read_text()
    for section in ("urbanisation", "differences", "flows", "groups", "pressure", "summary", "effect",
                    "targets-verdict", "cost", "levers", "glossary", "provenance"):
        assert f'id="{section}"' in text, section
    for key, _, _ in viewer.FIGURES:
        assert (tmp_path / "report" / f"{key}.png").stat().st_size > 10_000
    # self-contained: images inlined, nothing fetched
    assert text.count("data:image/png;base64,") == len(viewer.FIGURES)
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert "<script" not in text


def test_report_from_sim_run_folder(tmp_path):
    from sim.cli import main

    out = tmp_path / "run"
    assert main(["run", str(DATA / "base_policy.toml"), "--end", "2018", "--replications", "2",
                 "--out", str(out), "--quiet"]) == 0
    assert main(["report", str(out)]) == 0
    assert (out / "report" / "report.html").is_file()


def test_missing_metric_raises_a_clear_error(results, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(results, broken)
    for f in (broken / "metrics").glob("*.parquet"):
        pl.read_parquet(f).drop("hukou_urbanization").write_parquet(f)
    res = viewer.load(broken)
    with pytest.raises(viewer.ResultsError, match="hukou_urbanization"):
        viewer.fig_urbanization(res)
    with pytest.raises(viewer.ResultsError, match=str(broken)):
        viewer.report(broken, tmp_path / "r")


def test_not_a_results_folder(tmp_path):
    with pytest.raises(viewer.ResultsError, match="neither a sweep folder"):
        viewer.load(tmp_path)


def test_report_keeps_the_order_packages_were_given(tmp_path):
    from sim.cli import main

    (tmp_path / "small_region.toml").write_text((DATA / "small_region.toml").read_text())
    zz = tmp_path / "zz_first.toml"
    zz.write_text((DATA / "base_policy.toml").read_text().replace('name = "test_base"', 'name = "zz_first"'))
    out = tmp_path / "run"
    assert main(["run", str(zz), str(DATA / "base_policy.toml"), "--end", "2017", "--out", str(out),
                 "--quiet"]) == 0
    assert viewer.load(out).labels == ["zz_first", "test_base"]


def test_report_of_a_metrics_only_sweep_says_what_is_missing(tmp_path):
    exp_path = tmp_path / "exp.toml"
    exp_path.write_text(f'[experiment]\nname = "m"\npackages = ["{DATA / "base_policy.toml"}"]\n'
                        'replications = 2\nscale = 6.0\noutputs = ["metrics"]\nsource = "test"\n')
    from sim.experiments.spec import load_experiment

    run_sweep(load_experiment(exp_path), tmp_path / "sweep", workers=1, progress=False)
    text = viewer.report(tmp_path / "sweep", tmp_path / "r").read_text()
    assert "Not available: these results kept no flows" in text
    assert 'id="urbanisation"' in text


def test_sweep_manifest_carries_provenance_and_the_report_shows_it(results, tmp_path):
    """The behaviour file's path and hash, the commit: recorded by the sweep, shown by the report."""
    import hashlib
    import json

    prov = json.loads((results / "manifest.json").read_text())["provenance"]
    beh = prov["behaviour"]
    from pathlib import Path

    assert beh["sha256"] == hashlib.sha256(Path(beh["path"]).read_bytes()).hexdigest()
    assert prov["commit"] and prov["versions"]["numpy"] and prov["command"]
    assert all(len(f["sha256"]) == 64 for f in prov["files"])
    text = viewer.report(results, tmp_path / "report").read_text()
    assert beh["sha256"][:12] in text and Path(beh["path"]).name in text
    assert prov["commit"] in text
    assert "pending calibration" not in text
    if Path(beh["path"]).name == "posterior.csv":  # the default: named as what it is, bands labelled
        assert "posterior ensemble of the pattern calibration" in text and "a user's file" not in text
        assert "bands cover behaviour and chance" in text
