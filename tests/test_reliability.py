"""Reliability under bad input and faults (issue 13): no command deletes what it did not create,
runs never mix, nonsense is refused with one message naming the file and key."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from sim.cli import check_file, main
from sim.configuration import ConfigError, load_policy
from sim.errors import OutputError
from sim.experiments.spec import load_experiment
from sim.experiments.sweep import completed, read_output, run_sweep
from sim.outputs.files import child
from tests.conftest import DATA, ROOT
from tests.test_sweep import experiment


# ---------------------------------------------------------------------------------------------
# Paths: hostile names are refused; nothing is deleted that sim did not create
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["..", ".", "../x", "a/b", "/abs", "a\x00b", ".hidden", "", "a\\b"])
def test_hostile_names_cannot_name_a_folder(name, tmp_path):
    with pytest.raises(OutputError):
        child(tmp_path, name, "experiment name")


@pytest.mark.parametrize("name", ["..", ".", "../up", "a/b"])
def test_experiment_named_dotdot_is_refused_by_check_and_sweep(name, tmp_path, capsys):
    exp = experiment(tmp_path)
    exp.write_text(exp.read_text().replace('name = "small_sweep"', f'name = "{name}"'))
    assert main(["check", str(exp)]) == 2
    assert "experiment.name" in capsys.readouterr().err
    with pytest.raises(ConfigError):
        load_experiment(exp)


def test_replace_deletes_only_sweep_folders_sim_made(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = experiment(tmp_path)
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    (precious / "design.parquet").write_text("looks like a sweep, is not")
    code = main(["sweep", str(exp), "--out", str(precious), "--replace", "--workers", "1", "--quiet"])
    assert code == 2
    assert (precious / "thesis.tex").read_text() == "years of work"
    # a folder of runs that is not a sweep: refused too
    run = tmp_path / "run"
    assert main(["run", str(DATA / "base_policy.toml"), "--end", "2016", "--out", str(run), "--quiet"]) == 0
    assert main(["sweep", str(exp), "--out", str(run), "--replace", "--workers", "1", "--quiet"]) == 2
    assert (run / "metrics.parquet").is_file()


def test_sweep_into_a_foreign_nonempty_folder_is_refused(tmp_path):
    exp = load_experiment(experiment(tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    with pytest.raises(OutputError, match="not a sweep folder"):
        run_sweep(exp, other, workers=1, progress=False)
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]


# ---------------------------------------------------------------------------------------------
# Never mix runs
# ---------------------------------------------------------------------------------------------

def test_resume_after_editing_a_config_is_refused(tmp_path):
    """The sweep's identity includes the content of every file it reads."""
    policy = tmp_path / "pkg.toml"
    policy.write_text((DATA / "base_policy.toml").read_text().replace(
        'region = "small_region.toml"', f'region = "{DATA / "small_region.toml"}"'))
    exp_path = experiment(tmp_path)
    exp_path.write_text(exp_path.read_text().replace(str(DATA / "base_policy.toml"), str(policy))
                        .replace("replications = 3", "replications = 1"))
    out = tmp_path / "out"
    first = run_sweep(load_experiment(exp_path), out, workers=1, progress=False)
    assert first.done == 4
    text = policy.read_text()
    policy.write_text(text + "\n# an edit that changes nothing but the bytes\n")
    with pytest.raises(OutputError, match="content of a config"):
        run_sweep(load_experiment(exp_path), out, workers=1, progress=False, resume=True)
    policy.write_text(text)  # restored: the same content resumes (nothing left to do)
    again = run_sweep(load_experiment(exp_path), out, workers=1, progress=False, resume=True)
    assert again.skipped == 4 and again.done == 0


def test_sweep_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "out"
        exp_path = experiment(tmp_path)
        exp_path.write_text(exp_path.read_text().replace("replications = 3", "replications = 1"))
        run_sweep(load_experiment(exp_path), out, workers=1, progress=False)
    finally:
        os.umask(old)
    for f in [*out.rglob("*.parquet"), *out.rglob("*.json")]:
        assert stat.S_IMODE(f.stat().st_mode) & 0o044 == 0o044, f


# ---------------------------------------------------------------------------------------------
# Nonsense refused, by `sim check` as by `sim run`
# ---------------------------------------------------------------------------------------------

def _policy(tmp_path: Path, extra: str, package: str = "") -> Path:
    p = tmp_path / "bad_policy.toml"
    p.write_text(f'[package]\nname = "bad"\nextends = "{DATA / "base_policy.toml"}"\nsource = "test"\n'
                 f'{package}\n{extra}')
    return p


BAD_POLICIES = {
    "start year 0": ("", "start = 0", "package.start"),
    "end year 100000": ("", "end = 100000", "package.end"),
    "start 40000": ("", "start = 40000", "package.start"),
    "change year 20180": ('[[changes]]\nyear = 20180\nsource = "t"\n[changes.levers.hukou.default]\nopen = true\n', "", "changes"),
    "change year 0": ('[[changes]]\nyear = 0\nsource = "t"\n[changes.levers.hukou.default]\nopen = true\n', "", "changes"),
    "target to_year before year": ('[[targets]]\nmetric = "settled_persons"\nyear = 2018\nto_year = 2016\nop = ">="\nvalue = 1.0\nsource = "t"\n', "", "targets"),
    "target rate of 30": ('[[targets]]\nmetric = "resident_urbanization"\nyear = 2018\nop = ">="\nvalue = 30.0\nsource = "t"\n', "", "targets"),
    "target nan": ('[[targets]]\nmetric = "resident_urbanization"\nyear = 2018\nop = ">="\nvalue = nan\nsource = "t"\n', "", "nan"),
    "duplicate priority": ('[levers.priority]\norder = ["students", "students"]\nsource = "t"\n', "", "priority"),
    "name with a slash": ("", "", "package.name"),
    "fiscal shares over 1": ('[levers.fiscal.default]\ntransfer_share_schools = 0.8\ntransfer_share_housing = 0.5\nsource = "t"\n', "", "levers.fiscal"),
    "reported rate of 1.175": ('[[targets]]\nmetric = "hukou_urbanization_reported"\nyear = 2018\nop = ">="\nvalue = 1.175\nsource = "t"\n', "", "targets"),
}


@pytest.mark.parametrize("case", list(BAD_POLICIES))
def test_nonsense_policy_is_refused_by_check_and_run(case, tmp_path, capsys):
    extra, package, key = BAD_POLICIES[case]
    path = _policy(tmp_path, extra, package)
    if case == "name with a slash":
        path.write_text(path.read_text().replace('name = "bad"', 'name = "a/b"'))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert key in err and "Traceback" not in err, err
    code = main(["run", str(path), "--region", str(DATA / "small_region.toml"),
                 "--out", str(tmp_path / "o"), "--quiet"])
    assert code == 2 and not (tmp_path / "o").exists()


def _region(tmp_path: Path, edit) -> Path:
    p = tmp_path / "bad_region.toml"
    p.write_text(edit((DATA / "small_region.toml").read_text()))
    return p


def test_nonsense_regions_are_refused(tmp_path):
    text = (DATA / "small_region.toml").read_text()
    first_town = text.split('name = "', 2)[2].split('"')[0] if text.count('name = "') > 1 else None
    cases = {
        "base_year": lambda t: t.replace("base_year = ", "base_year = -1 #", 1),
        "population": lambda t: t.replace("population = ", "population = 10000000000000 #", 1),
        "default_scale": lambda t: t.replace("[region]", "[region]\ndefault_scale = 1e9", 1)
        if "default_scale" not in t else t.replace("default_scale = ", "default_scale = 1e9 #", 1),
        "name": lambda t: t.replace(f'name = "{first_town}"', 'name = "  "', 1),
        "nan": lambda t: t.replace("km = ", "km = nan #", 1),
        "roads": lambda t: t + '\n[[roads]]\na = "{0}"\nb = "{0}"\nkm = 3.0\nsource = "t"\n'.format(first_town),
    }
    for key, edit in cases.items():
        path = _region(tmp_path, edit)
        with pytest.raises(ConfigError) as exc:
            check_file(path)
        assert key in str(exc.value), (key, str(exc.value))


def test_non_utf8_config_does_not_stop_checking_the_others(tmp_path, capsys):
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('[behaviour]\nsource = "caf\xe9"\n'.encode("latin-1"))
    assert main(["check", str(bad), str(DATA / "base_policy.toml")]) == 2
    captured = capsys.readouterr()
    assert "UTF-8" in captured.err and "OK" in captured.out and "Traceback" not in captured.err


def test_nan_behaviour_is_refused(tmp_path, capsys):
    b = tmp_path / "b.toml"
    b.write_text((ROOT / "configs" / "behaviour" / "default.toml").read_text().replace(
        "beta_income = ", "beta_income = nan #", 1))
    assert main(["check", str(b)]) == 2
    assert "finite" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Faults: locks, damaged files, dead parents, unwritable folders
# ---------------------------------------------------------------------------------------------

def _one_rep(tmp_path: Path) -> Path:
    p = experiment(tmp_path)
    p.write_text(p.read_text().replace("replications = 3", "replications = 1"))
    return p


def test_a_second_sweep_into_a_locked_folder_is_refused(tmp_path):
    from sim.experiments.sweep import SweepLock

    out = tmp_path / "out"
    exp = load_experiment(_one_rep(tmp_path))
    first = run_sweep(exp, out, workers=1, progress=False)
    held = SweepLock(out)  # as a running sweep holds it
    try:
        with pytest.raises(OutputError, match="another sweep"):
            run_sweep(exp, out, workers=1, progress=False, resume=True)
    finally:
        held.release()
    again = run_sweep(exp, out, workers=1, progress=False, resume=True)
    assert again.skipped == first.done and again.done == 0  # identical work is not redone


def test_a_truncated_run_file_is_rerun_on_resume(tmp_path, capsys):
    out = tmp_path / "out"
    exp = load_experiment(_one_rep(tmp_path))
    run_sweep(exp, out, workers=1, progress=False)
    before = read_output(out, "metrics")
    victim = sorted((out / "metrics").glob("*.parquet"))[0]
    with open(victim, "r+b") as fh:
        fh.truncate(100)
    rep = run_sweep(exp, out, workers=1, progress=False, resume=True)
    assert rep.done == 1 and victim.stem in capsys.readouterr().err
    assert read_output(out, "metrics").equals(before)


def test_workers_die_with_a_killed_sweep(tmp_path):
    """kill -9 of the sweep: no pool worker is alive 10 s later."""
    import signal
    import subprocess
    import sys
    import time

    exp_path = experiment(tmp_path, scale=2.0)
    exp_path.write_text(exp_path.read_text().replace("replications = 3", "replications = 40"))
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(exp_path), "--out",
                             str(tmp_path / "out"), "--workers", "2", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(completed(tmp_path / "out")) < 1:
        time.sleep(0.2)
    children = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                text=True).stdout.split()]
    assert children, "the sweep started no workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    alive = children
    while alive and time.time() < deadline:
        time.sleep(0.2)
        alive = [c for c in children if Path(f"/proc/{c}").exists()
                 and "Z" not in Path(f"/proc/{c}/stat").read_text().split()[2]]
    assert not alive, f"workers outlived their parent: {alive}"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out_gives_a_message(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    code = main(["run", str(DATA / "base_policy.toml"), "--end", "2016", "--out", str(ro / "x"), "--quiet"])
    assert code == 2 and "Traceback" not in capsys.readouterr().err


def test_unwritable_out_gives_a_message_even_as_root(tmp_path, capsys):
    """A path under a regular file cannot be created, for root too."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["run", str(DATA / "base_policy.toml"), "--end", "2016", "--out",
                 str(blocker / "x"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "cannot write" in err
    code = main(["sweep", str(_one_rep(tmp_path)), "--out", str(blocker / "y"), "--workers", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "cannot write" in err
    assert blocker.read_text() == "x"


def test_deep_or_circular_extends_is_refused_with_its_key(tmp_path):
    prev = DATA / "base_policy.toml"
    for i in range(40):
        p = tmp_path / f"p{i}.toml"
        p.write_text(f'[package]\nname = "p{i}"\nextends = "{prev}"\nsource = "t"\n')
        prev = p
    with pytest.raises(ConfigError, match="package.extends.*deep"):
        load_policy(prev)
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(f'[package]\nname = "a"\nextends = "{b}"\nsource = "t"\n')
    b.write_text(f'[package]\nname = "b"\nextends = "{a}"\nsource = "t"\n')
    with pytest.raises(ConfigError, match="circular"):
        load_policy(a)


def test_check_refuses_what_run_refuses(tmp_path, capsys):
    """`sim check` makes the year checks a run makes: start before the region's base year."""
    p = tmp_path / "early.toml"
    p.write_text(f'[package]\nname = "early"\nextends = "{DATA / "base_policy.toml"}"\nstart = 1990\n'
                 'end = 1995\nsource = "t"\n')
    assert main(["check", str(p)]) == 2
    assert "base year" in capsys.readouterr().err


def test_messages_name_the_real_problem(tmp_path):
    """Issue 13 item 12: the problem itself, with the key that points to it; nothing echoed from
    another file."""
    import re as _re

    region = (DATA / "small_region.toml").read_text()
    (tmp_path / "notowns.toml").write_text(_re.sub(r"\[\[towns\]\][^\[]*", "", region)
                                           .replace("[region]", "towns = []\n[region]", 1))
    base = DATA / "base_policy.toml"
    files = {
        "jobs5.toml": f'[package]\nname = "j"\nextends = "{base}"\nsource = "t"\n[levers]\njobs = 5\n',
        "noregion.toml": f'[package]\nname = "m"\nextends = "{base}"\nregion = "nowhere.toml"\nsource = "t"\n',
        "outside.toml": f'[package]\nname = "o"\nextends = "{ROOT / "configs/regions/dehong.toml"}"\nsource = "t"\n',
        "noparent.toml": '[package]\nname = "o"\nextends = "nothere.toml"\nsource = "t"\n',
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    expect = {
        "notowns.toml": "key 'towns': a region needs at least one town",
        "jobs5.toml": "key 'levers.jobs': must be a table",
        "noregion.toml": "key 'package.region': file not found",
        "outside.toml": "key 'package.extends': ",
        "noparent.toml": "key 'package.extends': file not found",
    }
    for name, message in expect.items():
        with pytest.raises(ConfigError) as exc:
            check_file(tmp_path / name)
        text = str(exc.value)
        assert message in text and "has no source" not in text, text
        assert "\n" not in text and "Dehong" not in text  # one line; the other file not echoed
    exp = tmp_path / "exp.toml"
    exp.write_text(experiment(tmp_path).read_text().replace("[experiment]", '[experiment]\nregion = "gone.toml"'))
    with pytest.raises(ConfigError, match="key 'experiment.region': file not found"):
        load_experiment(exp)


@pytest.fixture
def full_disk(tmp_path):
    """A 64 kB tmpfs: a full disk for the writes of a run (root only, as CI runs)."""
    import subprocess

    where = tmp_path / "full"
    where.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_a_full_disk_gives_a_message_and_leaves_no_temp_files(full_disk, capsys):
    out = full_disk / "run"
    code = main(["run", str(DATA / "base_policy.toml"), "--end", "2016", "--out", str(out),
                 "--snapshot-years", "2016", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "No space left" in err, err
    assert list(full_disk.iterdir()) == []  # the temporary folder is gone too


def test_a_full_disk_sweep_ends_without_a_traceback(full_disk, tmp_path, capsys):
    code = main(["sweep", str(_one_rep(tmp_path)), "--out", str(full_disk / "s"), "--workers", "1",
                 "--quiet"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err, err


@pytest.mark.parametrize("after", [0, 2])
def test_killed_at_any_moment_then_resumed_equals_an_uninterrupted_sweep(after, tmp_path):
    """kill -9 of the whole process group: before any run finished (during the pool's start-up)
    and part-way; the resumed sweep equals one never interrupted."""
    import signal
    import subprocess
    import sys
    import time

    path = experiment(tmp_path, scale=1.5)
    exp = load_experiment(path)
    reference = run_sweep(exp, tmp_path / "reference", workers=1, progress=False)
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(path), "--workers", "1",
                             "--out", str(out), "--quiet"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and (
            not (out / "manifest.json").exists() if after == 0 else len(completed(out)) < after):
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed = run_sweep(exp, out, workers=1, resume=True, progress=False)
    assert resumed.skipped + resumed.done == reference.done
    got, want = read_output(out, "metrics"), read_output(tmp_path / "reference", "metrics")
    assert got.drop("seed").equals(want.drop("seed")) or got.equals(want)


def test_ctrl_c_exits_cleanly_and_keeps_what_finished(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    path = experiment(tmp_path, scale=1.5)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(path), "--workers", "1",
                             "--out", str(out), "--quiet"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(completed(out)) < 2:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    kept = completed(out)
    assert len(kept) >= 2 and "--resume" in err
    assert all(not list((out / d).glob(".*.tmp*")) for d in ("metrics", "done") if (out / d).is_dir())


def test_workers_dying_at_start_up_end_with_one_message(tmp_path):
    """Every pool worker dies as it starts (a sitecustomize that exits in spawned children): the
    sweep gives up after its restarts with one line, exit 2, no traceback."""
    import subprocess
    import sys

    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os, sys\nif any('multiprocessing' in a for a in sys.argv):\n    os._exit(3)\n")
    env = {**os.environ, "PYTHONPATH": f"{hook}{os.pathsep}{ROOT}"}
    res = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(_one_rep(tmp_path)), "--out",
                          str(tmp_path / "out"), "--workers", "2", "--quiet"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "died" in res.stderr, res.stderr
    assert completed(tmp_path / "out") == set()


def test_report_shows_tex_like_names_as_text(tmp_path):
    """A label with TeX and markup in it (here a run folder whose manifest was edited by hand)
    reaches the figures as text, where matplotlib's math parser would crash, and the page escaped."""
    from sim.experiments.run import run_package
    from sim.report.viewer import report

    for name in ("a", "b"):
        run_package(DATA / "base_policy.toml", DATA / "small_region.toml", out=tmp_path / "runs" / name,
                    end=2017, replications=2)
        manifest = tmp_path / "runs" / name / "manifest.json"
        data = json.loads(manifest.read_text())
        data["package"] = f"$\\foo{{{name}}}$ <script>{name}</script>"
        manifest.write_text(json.dumps(data))
    html = report(tmp_path / "runs", tmp_path / "rep").read_text()
    assert "<script>a</script>" not in html and "&lt;script&gt;a&lt;/script&gt;" in html
