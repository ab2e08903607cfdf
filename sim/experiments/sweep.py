"""Sweeps: every (package x design point, replication) of an experiment run through a
``concurrent.futures.Executor`` — a local process pool, or a Dask cluster's executor.

Layout of ``results/<experiment>/``::

    manifest.json            the experiment, resolved; the design table; versions; timings
    design.parquet           one row per design point: point, package, factor values
    <output>/<run>.parquet   one file per run and output (metrics, groups, towns, flows, ...)
    done/<run>.json          written last, after a run's outputs: the run is complete
    failed/<run>.json        a run that raised: its error and traceback

Run ids are ``p<point>-r<replication>``. Each file is written to a temporary name and renamed
into place, so an interrupted sweep (Ctrl-C, a killed process or worker) leaves only complete
files; ``resume`` skips runs whose ``done`` marker exists and so never duplicates one. A local
pool that loses a worker is rebuilt and the unfinished runs resubmitted; Dask reschedules them
itself.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import polars as pl

from sim.errors import OutputError, SimError
from sim.experiments.spec import Experiment
from sim.outputs.files import is_ours, mark, umask, write_parquet

MAX_POOL_RESTARTS = 3


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs to run one replication of one design point."""

    run_id: str
    point: int
    package: str
    policy_path: str
    region_path: str | None
    behaviour_path: str | None  # None: the default behaviour file
    levers: str  # JSON of the lever overrides
    behaviour: str  # JSON of the behaviour overrides
    design: str  # JSON of the factor values
    replication: int
    seed: int
    start: int | None
    end: int | None
    scale: float | None
    outputs: tuple[str, ...]
    snapshot_years: tuple[int, ...]
    inputs: str  # JSON {path: sha256} of every config file the run reads: an edit changes the run
    out: str


def _stamp(path: str | None) -> int:
    """Modification time of a config file: part of every cache key, so a long-lived worker (a
    Dask cluster's) never simulates a file as it was before an edit."""
    from sim.configuration import default_behaviour_source

    return os.stat(path if path is not None else default_behaviour_source()).st_mtime_ns


@lru_cache(maxsize=16)
def _policy_at(path: str, stamp: int):
    from sim.configuration import load_policy

    return load_policy(path)


@lru_cache(maxsize=8)
def _region_at(path: str, stamp: int):
    from sim.configuration import load_region

    return load_region(path)


@lru_cache(maxsize=4)
def _behaviour_at(path: str | None, stamp: int):
    """One behaviour set, or a posterior ensemble (the default where it exists)."""
    from sim.configuration import load_behaviour_source

    return load_behaviour_source(path)


def _policy(path: str):
    return _policy_at(path, _stamp(path))


def _region(path: str):
    return _region_at(path, _stamp(path))


def _behaviour(path: str | None = None):
    return _behaviour_at(path, _stamp(path))


def _uncertainty(path: Path) -> str:
    from sim.configuration import load_behaviour_source, uncertainty_label

    return uncertainty_label(load_behaviour_source(path))


def task_hash(task: RunTask) -> str:
    """What a run is (everything but where it is written): a finished run is reused on resume
    only if its hash matches the task asked for now."""
    import hashlib

    d = asdict(task)
    d.pop("out")
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def atomic_write_parquet(df: pl.DataFrame, target: Path) -> None:
    """Write ``target`` under a temporary name and rename it into place (never half a file),
    readable as the user's umask says (mkstemp alone would make it 0600)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        write_parquet(df, tmp)
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(text: str, target: Path) -> None:
    """:func:`atomic_write_parquet` for text."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


SINGLE_THREAD_ENV = {"POLARS_MAX_THREADS": "1", "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                     "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _single_threaded() -> None:
    """A sweep worker is one core: runs in parallel, not threads within a run (the compiled
    passes would otherwise take every core in every worker)."""
    try:
        import numba

        numba.set_num_threads(1)
    except (ImportError, ValueError):
        pass


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the process that started it dies (kill -9, SIGTERM):
    an orphaned worker would go on running queued jobs and hold the caller's pipe open."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before the request took effect
            os._exit(1)
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown still applies
        pass


def _start_worker() -> None:
    """Initialise a local worker: dies with its parent, single-threaded, and with the compiled
    passes loaded from numba's cache by one year of a tiny run (about 1 s, once per worker
    rather than inside its first run)."""
    _die_with_parent()
    _single_threaded()
    try:
        from sim.configuration import POLICIES
        from sim.engine.model import SettlementModel

        SettlementModel(POLICIES / "dehong_2011.toml", scale=5000.0, start=2011, end=2011).run()
    except Exception:  # noqa: BLE001 - an optimisation only; the runs load what they need
        pass


def run_model(task: Any) -> Any:
    """Build and run the model of one replication from a task's plain fields (a sweep's
    :class:`RunTask` or a search's :class:`~sim.experiments.evaluate.Job`): the package (cached
    per worker) with the task's levers laid over it, the posterior draw of the replication (a
    pinned file: the one set) with the task's behaviour parameters over it, and the region."""
    from sim.configuration import behaviour_for
    from sim.engine.model import SettlementModel

    policy = _policy(task.policy_path)
    levers = json.loads(task.levers)
    if levers:
        policy = policy.with_levers(levers)
    beh = behaviour_for(_behaviour(task.behaviour_path), task.replication)
    boverride = json.loads(task.behaviour)
    if boverride:
        beh = beh.model_validate({**beh.model_dump(), **boverride})
    region = _region(task.region_path) if task.region_path else _region(str(policy.region_path))
    return SettlementModel(policy, region, beh, seed=task.seed, replication=task.replication,
                           start=task.start, end=task.end, scale=task.scale,
                           snapshot_years=getattr(task, "snapshot_years", ())).run()


def execute(task: RunTask) -> dict[str, Any]:
    """Run one task in a worker and write its outputs; never raises (errors are recorded)."""
    from sim.outputs.tables import frames

    _single_threaded()

    t0 = time.perf_counter()
    out = Path(task.out)
    try:
        tables = frames(run_model(task))
        design = json.loads(task.design)
        extra = [pl.lit(task.point).alias("point"), pl.lit(task.package).alias("package")] + \
            [pl.lit(column_value(v)).alias(f"x.{k}") for k, v in design.items()]
        files = {}
        for name in task.outputs:
            if name in tables:
                df = tables[name].with_columns(extra)
                if "seed" not in df.columns:
                    df = df.with_columns(pl.lit(task.seed).alias("seed"))
                target = out / name / f"{task.run_id}.parquet"
                atomic_write_parquet(df, target)
                files[f"{name}/{target.name}"] = _fingerprint(target)
        seconds = time.perf_counter() - t0
        atomic_write_text(json.dumps({"run": task.run_id, "point": task.point,
                                      "replication": task.replication, "seed": task.seed,
                                      "hash": task_hash(task), "files": files, "seconds": seconds,
                                      "pid": os.getpid()}),
                          out / "done" / f"{task.run_id}.json")
        (out / "failed" / f"{task.run_id}.json").unlink(missing_ok=True)
        return {"run": task.run_id, "status": "done", "seconds": seconds}
    except Exception as exc:  # recorded, and the sweep goes on
        info = {"run": task.run_id, "point": task.point, "replication": task.replication,
                "seed": task.seed, "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()}
        try:
            atomic_write_text(json.dumps(info, indent=2), out / "failed" / f"{task.run_id}.json")
        except OSError:  # a full or read-only disk: the parent still hears of the failure
            pass
        return {"run": task.run_id, "status": "failed", "error": info["error"],
                "seconds": time.perf_counter() - t0}


def plan(exp: Experiment, out: Path) -> tuple[list[RunTask], pl.DataFrame]:
    """All tasks of an experiment and its design table (point, package, factor values)."""
    tasks, rows = [], []
    from sim.configuration import default_behaviour_source, load_policy, load_region
    from sim.outputs.provenance import file_hash

    behaviour_file = Path(exp.behaviour) if exp.behaviour else default_behaviour_source()

    point = 0
    multi_region = len(exp.region_choices()) > 1
    for pkg, reg in ((p, r) for p in exp.packages for r in exp.region_choices()):
        name = load_policy(pkg).name
        region_name = load_region(reg).region.name if reg else load_region(load_policy(pkg).region_path).region.name
        label = f"{name}@{region_name}" if multi_region else name
        files = [*load_policy(pkg).files, Path(reg) if reg else load_policy(pkg).region_path, behaviour_file]
        inputs = json.dumps({str(Path(f).resolve()): file_hash(f) for f in files}, sort_keys=True)
        for values in exp.points:
            levers: dict[str, Any] = {}
            beh: dict[str, Any] = {}
            for f in exp.factors:
                if f.kind == "lever":  # a linked factor sets every one of its paths
                    from sim.configuration import deep_merge

                    levers = deep_merge(levers, f.override(values[f.name]))
                else:
                    beh[f.name] = values[f.name]
            rows.append({"point": point, "package": label, "region": region_name,
                         **{f"x.{k}": column_value(v) for k, v in values.items()}})
            for r in range(exp.meta.replications):
                tasks.append(RunTask(
                    run_id=f"p{point:05d}-r{r:04d}", point=point, package=label,
                    policy_path=str(pkg), region_path=str(reg) if reg else None,
                    behaviour_path=str(exp.behaviour) if exp.behaviour else None,
                    levers=json.dumps(levers, sort_keys=True), behaviour=json.dumps(beh, sort_keys=True),
                    design=json.dumps(values, sort_keys=True), replication=r, seed=exp.meta.seed,
                    start=exp.meta.start, end=exp.meta.end, scale=exp.meta.scale,
                    outputs=tuple(exp.meta.outputs), snapshot_years=tuple(exp.meta.snapshot_years),
                    inputs=inputs, out=str(out)))
            point += 1
    return tasks, pl.DataFrame(rows)


def column_value(value: Any) -> Any:
    """A factor value as a design or output column holds it: a table of values (a lever such as
    ``rights.land.on_settle_tiers``) as its JSON text, since Parquet cannot store an empty struct
    and tables with different keys would not share one column type; anything else as it is."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict) else value


def completed(out: Path) -> set[str]:
    """The runs whose done marker exists (written last, after the run's files)."""
    done = out / "done"
    return {p.stem for p in done.glob("*.json")} if done.is_dir() else set()


def _fingerprint(path: Path) -> dict[str, Any]:
    """A written file's size and SHA-256, recorded in its run's done marker."""
    import hashlib

    data = path.read_bytes()
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def damaged(out: Path, run_id: str) -> str | None:
    """Why a finished run's files no longer match its done marker (a file missing, truncated or
    changed), or None when they match. A marker without file fingerprints counts as damaged."""
    try:
        marker = json.loads((out / "done" / f"{run_id}.json").read_text())
    except (OSError, ValueError):
        return "its done marker is unreadable"
    files = marker.get("files")
    if files is None:
        return "its done marker has no file fingerprints"
    for rel, want in files.items():
        path = out / rel
        if not path.is_file():
            return f"{rel} is missing"
        if path.stat().st_size != want["size"] or _fingerprint(path) != want:
            return f"{rel} does not match its recorded size and hash"
    return None


class SweepLock:
    """An exclusive lock on a sweep folder (``.lock``, flock): a second sweep into the same folder
    is refused with a message while the first runs, so two sweeps never mix their runs, and two
    identical sweeps never do the work twice. The lock goes with the process that holds it."""

    def __init__(self, out: Path):
        import fcntl

        self.path = out / ".lock"
        self.fh = open(self.path, "a+")  # noqa: SIM115 - held for the sweep's life
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.seek(0)
            holder = self.fh.read().strip() or "another process"
            self.fh.close()
            raise OutputError(f"{out}: another sweep ({holder}) is writing into this folder; wait "
                              "for it to finish, then --resume, or choose another --out") from None
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"pid {os.getpid()}")
        self.fh.flush()

    def release(self) -> None:
        import fcntl

        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def local_executor(workers: int) -> ProcessPoolExecutor:
    """A local pool of ``workers`` single-threaded processes (spawn: polars and numpy hold
    threads, which fork does not copy safely). Workers inherit SINGLE_THREAD_ENV."""
    from sim.engine.compiled import announce_compilation

    announce_compilation()  # the workers compile, if anyone does: say so here, once
    saved = {k: os.environ.get(k) for k in SINGLE_THREAD_ENV}
    os.environ.update(SINGLE_THREAD_ENV)
    try:
        ex = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                 initializer=_start_worker)
        # start the workers now, while the environment says single-threaded
        list(ex.map(int, range(workers)))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return ex


@dataclass
class SweepReport:
    out: Path
    total: int
    skipped: int
    done: int
    failed: list[dict[str, Any]]
    seconds: float
    run_seconds: list[float]
    runs: set[str]  # the run ids of this experiment

    def summary(self) -> str:
        return (f"{self.done} runs done, {self.skipped} already present, {len(self.failed)} failed "
                f"(of {self.total}) in {self.seconds:.1f} s -> {self.out}")


def run_sweep(exp: Experiment, out: str | Path, *, workers: int = 2, scheduler: str | None = None,
              executor: Executor | None = None, resume: bool = False,
              progress: bool = True) -> SweepReport:
    """Run every (design point, replication) of ``exp`` and write them under ``out``.

    ``executor``: any concurrent.futures executor (e.g. a Dask ``Client.get_executor()``);
    otherwise ``scheduler`` names a Dask scheduler address, else a local process pool of
    ``workers``. With ``resume``, runs already written are skipped; without it an existing
    folder holding finished runs is refused rather than mixed.
    """
    t0 = time.perf_counter()
    out = Path(out).resolve()
    tasks, design = plan(exp, out)
    inputs = {f for t in tasks for f in json.loads(t.inputs)}
    if out.exists() and not is_ours(out, "sweep") and any(out.iterdir()):
        raise OutputError(f"{out} exists and is not a sweep folder hukou-sim created; choose "
                          "another --out (nothing was written)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        mark(out, "sweep")
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the sweep folder here ({exc.strerror})") from None
    lock = SweepLock(out)
    try:
        return _run_locked(exp, out, tasks, design, workers=workers, scheduler=scheduler,
                           executor=executor, resume=resume, progress=progress, t0=t0, inputs=inputs)
    finally:
        lock.release()


def _run_locked(exp: Experiment, out: Path, tasks: list[RunTask], design: pl.DataFrame, *,
                workers: int, scheduler: str | None, executor: Executor | None, resume: bool,
                progress: bool, t0: float, inputs: set[str]) -> SweepReport:
    """:func:`run_sweep` once the folder is ours and locked: refuse to mix, rerun damaged runs,
    then run what is left."""
    from sim.configuration import default_behaviour_source
    from sim.outputs.provenance import provenance

    behaviour_file = Path(exp.behaviour) if exp.behaviour else default_behaviour_source()
    have = completed(out)
    if have and not resume:
        raise OutputError(f"{out} already holds {len(have)} finished runs; pass --resume to "
                          "continue it or choose another --out")
    wanted = {t.run_id: task_hash(t) for t in tasks}
    for run_id in sorted(have):
        try:
            done = json.loads((out / "done" / f"{run_id}.json").read_text())
        except (OSError, ValueError):
            done = {"hash": wanted.get(run_id)}  # unreadable: checked (and rerun) below
        if wanted.get(run_id) != done.get("hash"):
            raise OutputError(
                f"{out} holds runs of a different experiment (run {run_id} differs: packages, "
                "factors, replications, years, scale, outputs, or the content of a config or "
                "behaviour file it reads changed); refusing to mix them: choose another --out, "
                "or --replace to recompute (nothing was overwritten)")
    for run_id in sorted(have):  # a finished run whose files were damaged is run again
        why = damaged(out, run_id)
        if why:
            print(f"sim sweep: run {run_id} will be rerun: {why}", file=sys.stderr)
            (out / "done" / f"{run_id}.json").unlink()
            have.discard(run_id)
    manifest = {
        "experiment": exp.name, "file": str(exp.path), "meta": exp.meta.model_dump(),
        "design": exp.design.model_dump(), "packages": [str(p) for p in exp.packages],
        "regions": [str(r) for r in exp.region_choices() if r is not None] or "each package's own",
        "behaviour": str(exp.behaviour) if exp.behaviour else f"default ({behaviour_file})",
        "uncertainty": _uncertainty(behaviour_file),
        "points": len(exp.points) * len(exp.packages) * len(exp.region_choices()),
        "runs": len(tasks), "provenance": provenance(behaviour_file, sorted(inputs)),
        "executor": "dask:" + scheduler if scheduler else ("custom" if executor else f"local:{workers}"),
    }
    try:
        atomic_write_parquet(design, out / "design.parquet")
        atomic_write_text(json.dumps(manifest, indent=2, default=str), out / "manifest.json")
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the sweep's design and manifest ({exc.strerror or exc}); "
                          "nothing was run") from None
    todo = [t for t in tasks if t.run_id not in have]
    skipped = len(tasks) - len(todo)

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), initial=skipped, unit="run", desc=exp.name, file=sys.stderr,
                   dynamic_ncols=True)
    failed: list[dict[str, Any]] = []
    secs: list[float] = []
    client = None
    own_executor = executor is None
    try:
        if executor is None and scheduler:
            from distributed import Client

            client = Client(scheduler)
            executor = client.get_executor()
        restarts = 0
        ex = None
        pending = list(todo)
        while pending:
            try:
                ex = executor or local_executor(workers)
                futures: dict[Future, RunTask] = {ex.submit(execute, t): t for t in pending}
                for fut in as_completed(futures):
                    res = fut.result()
                    task = futures[fut]
                    pending.remove(task)
                    secs.append(res["seconds"])
                    if res["status"] == "failed":
                        failed.append(res)
                    if bar is not None:
                        bar.update(1)
                        if failed:
                            bar.set_postfix(failed=len(failed))
            except BrokenProcessPool:
                restarts += 1
                if restarts > MAX_POOL_RESTARTS:
                    raise SimError(f"sim sweep: a worker process died {restarts} times (out of memory, "
                                   f"or killed); {len(completed(out))} finished runs are kept in {out}; "
                                   "fix the cause, then run again with --resume") from None
                print(f"\nsim sweep: a worker died; restarting the pool and resubmitting "
                      f"{len(pending)} unfinished runs", file=sys.stderr)
            finally:
                if executor is None and ex is not None:
                    ex.shutdown(wait=False, cancel_futures=True)
                    ex = None
    except KeyboardInterrupt:
        n = len(completed(out))
        print(f"\nsim sweep: interrupted; {n} finished runs are kept in {out}; "
              "run again with --resume to finish", file=sys.stderr)
        raise
    finally:
        if bar is not None:
            bar.close()
        if client is not None:
            client.close()
        del own_executor
    return SweepReport(out, len(tasks), skipped, len(todo) - len(failed), failed,
                       time.perf_counter() - t0, secs, {t.run_id for t in tasks})


def read_output(out: str | Path, name: str = "metrics", runs: set[str] | None = None) -> pl.DataFrame:
    """Finished runs' rows of one output (only ``runs``, if given), sorted by point,
    replication and year."""
    out = Path(out)
    files = sorted((out / name).glob("*.parquet"))
    done = completed(out)
    files = [f for f in files if f.stem in done and (runs is None or f.stem in runs)]
    if not files:
        raise FileNotFoundError(f"{out}: no finished runs with output '{name}'")
    df = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    keys = [k for k in ("point", "replication", "year", "group", "town", "kind", "origin",
                        "destination") if k in df.columns]
    return df.sort(keys)

