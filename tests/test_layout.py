"""The architecture holds: the layer contract, a namespace in step with its documentation, a
repository that needs nothing beside it, and Mesa's own tools on the model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import mesa
import pytest

from sim.engine.model import SettlementModel
from tests.conftest import DATA, ROOT

BIN = Path(sys.executable).parent


def test_import_contracts_hold():
    """`lint-imports` (the contracts in pyproject.toml): each layer imports only those below it."""
    exe = shutil.which("lint-imports", path=str(BIN)) or shutil.which("lint-imports")
    assert exe, "import-linter is a test dependency"
    res = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def test_readme_and_odd_name_every_layer_and_stage():
    readme = (ROOT / "README.md").read_text()
    odd = (ROOT / "docs" / "ODD.md").read_text()
    layers = sorted(p.name for p in (ROOT / "sim").iterdir() if (p / "__init__.py").is_file())
    stage_modules = sorted(p.stem for p in (ROOT / "sim" / "engine" / "stages").glob("s[0-9]_*.py"))
    assert len(stage_modules) == 8
    for name in layers:
        assert f"{name}/" in readme, f"README's layout section does not name sim/{name}/"
    for name in stage_modules:
        assert name in readme, f"README does not name the stage module {name}"
        assert name in odd, f"docs/ODD.md does not name the stage module {name}"


def test_no_file_refers_outside_the_repository():
    """Configs, code and docs cite in-repo paths (data/, seeds/), never ../shared."""
    offenders = []
    for path in [*ROOT.glob("configs/**/*.toml"), *ROOT.glob("experiments/*.toml"),
                 *ROOT.glob("sim/**/*.py"), *ROOT.glob("docs/*.md"), ROOT / "README.md"]:
        if "../shared" in path.read_text(encoding="utf-8"):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders
    assert (ROOT / "data" / "china_urbanization.csv").is_file()
    assert len(list((ROOT / "seeds").glob("00*.txt"))) == 5


@pytest.mark.slow
def test_fresh_clone_without_shared_checks_and_runs(tmp_path):
    """A clone with nothing beside it: `sim check` passes on every config, and a run works. The
    clone's own code runs (PYTHONPATH), on this environment's packages."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "alone" / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    # the clone has the committed tree; overlay the working tree's files so the test checks what
    # is about to be committed too
    for rel in subprocess.run(["git", "ls-files", "-m", "-o", "--exclude-standard"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.split():
        src = ROOT / rel
        if src.is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, clone / rel)
    assert not (clone.parent.parent / "shared").exists() and not (clone.parent / "shared").exists()
    env = {**os.environ, "PYTHONPATH": str(clone)}
    configs = sorted(str(p.relative_to(clone)) for p in [*clone.glob("configs/*/*.toml"),
                                                           *clone.glob("experiments/*.toml")])
    res = subprocess.run([sys.executable, "-m", "sim.cli", "check", *configs], cwd=clone, env=env,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("OK") == len(configs)
    where = subprocess.run([sys.executable, "-c", "import sim; print(sim.__file__)"], cwd=clone,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert str(clone) in where, "the clone's own package must be the one checked"
    res = subprocess.run([sys.executable, "-m", "sim.cli", "run", "configs/policies/dehong_2011.toml",
                          "--scale", "200", "--end", "2012", "--out", str(tmp_path / "r"), "--quiet"],
                         cwd=clone, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.mark.filterwarnings("ignore:The `iterations` keyword:DeprecationWarning")
def test_mesa_batch_run_with_iterations_and_unseeded():
    params = {"policy": str(DATA / "base_policy.toml"), "region": str(DATA / "small_region.toml"),
              "scale": 20.0, "end": 2017}
    rows = mesa.batch_run(SettlementModel, parameters=params, iterations=3, max_steps=3,  # as issue 12 asks
                          display_progress=False, number_processes=1)
    assert len({r["RunId"] for r in rows}) == 3
    assert all(0 <= r["resident_urbanization"] <= 1 for r in rows)
    m = SettlementModel(DATA / "base_policy.toml", DATA / "small_region.toml", rng=None, scale=20.0)
    assert isinstance(m.seed, int) and m.seed >= 0  # drawn and recorded
    again = SettlementModel(DATA / "base_policy.toml", DATA / "small_region.toml", seed=m.seed, scale=20.0)
    assert (again.hh.origin == m.hh.origin).all()  # the recorded seed reproduces the run


def test_town_network_has_integer_nodes_named_as_towns():
    """Mesa's space renderers draw integer node ids; the names stay as attributes."""
    m = SettlementModel(DATA / "base_policy.toml", DATA / "small_region.toml", seed=1, scale=20.0)
    nodes = list(m.grid.G.nodes(data=True))
    assert [j for j, _ in nodes] == list(range(m.T))
    assert [d["name"] for _, d in nodes] == m.places.names[: m.T]
    assert [a.cell.coordinate for a in m.town_agents] == list(range(m.T))
