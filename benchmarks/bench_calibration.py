"""Calibration and ensemble benchmark (issue 16's speed targets), measured in one run:

1. a pattern calibration (`sim calibrate --abc`'s ABC-SMC on configs/calibration/patterns.toml)
   of at least ``--simulations`` (2,000) particles, on the local cores; target: at most 15 min;
2. a posterior ensemble of a seed package: ``--draws`` (100) replications of the package over
   its horizon at its default scale, replication r under posterior draw r; target: at most 2 min.

It prints, for each, the work done, the wall time and its ratio to the target, and the cost of
one calibration particle split into its national run and its regional (Dehong pre-reform) run,
so a miss says which part to make cheaper.

    .venv/bin/python benchmarks/bench_calibration.py [--simulations 2000] [--draws 100]
        [--package dehong_2011] [--workers 2] [--skip-abc] [--skip-ensemble]

Not a test: the machine is shared; the ratios are what to read, measured in one process.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.experiments.abc import (  # noqa: E402
    behaviour_with,
    load_abc_spec,
    national_run,
    regional,
    run_abc,
)

SPEC = ROOT / "configs" / "calibration" / "patterns.toml"
ABC_TARGET_S, ENSEMBLE_TARGET_S = 15 * 60.0, 2 * 60.0


def particle_cost(repeats: int = 3) -> tuple[float, float]:
    """Median seconds of one particle's national run and of its regional runs, on one core and one
    thread (as a calibration worker runs them), at the prior's centre."""
    import numba

    numba.set_num_threads(1)  # as in the calibration's worker processes
    spec = load_abc_spec(SPEC)
    beh = behaviour_with({p.name: sum(p.range) / 2 for p in spec.parameters})
    national_run(spec, beh)  # compiled kernels loaded
    nat, reg = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        national_run(spec, beh)
        nat.append(time.perf_counter() - t)
        t = time.perf_counter()
        for p in spec.patterns:
            if p.kind == "regional":
                regional(spec, p, beh)
        reg.append(time.perf_counter() - t)
    return statistics.median(nat), statistics.median(reg)


def bench_abc(simulations: int, workers: int) -> dict:
    spec = load_abc_spec(SPEC)
    db = Path(tempfile.mkdtemp(prefix="bench-abc-")) / "abc.db"
    t = time.perf_counter()
    _, facts = run_abc(spec, generations=50, workers=workers, db=db, progress=False,
                       max_simulations=simulations)
    return {"seconds": time.perf_counter() - t, **facts}


def bench_ensemble(package: str, draws: int, workers: int) -> dict:
    from sim.configuration import BEHAVIOUR_DIR, POLICIES
    from sim.experiments.spec import load_experiment
    from sim.experiments.sweep import local_executor, run_sweep

    tmp = Path(tempfile.mkdtemp(prefix="bench-ensemble-"))
    exp_path = tmp / "ensemble.toml"
    exp_path.write_text(f"""
[experiment]
name = "ensemble"
packages = ["{POLICIES / (package + '.toml')}"]
replications = {draws}
behaviour = "{BEHAVIOUR_DIR / 'posterior.csv'}"
outputs = ["metrics"]
source = "benchmark (issue 16): a posterior ensemble of a seed package at its default scale"
""")
    exp = load_experiment(exp_path)
    ex = local_executor(workers)
    t = time.perf_counter()
    rep = run_sweep(exp, tmp / "out", executor=ex, progress=False)
    wall = time.perf_counter() - t
    ex.shutdown()
    if rep.failed:
        raise SystemExit(f"ensemble: {len(rep.failed)} runs failed; first: {rep.failed[0]['error']}")
    from sim.configuration import load_policy, load_region

    pol = load_policy(exp.packages[0])
    region = load_region(pol.region_path).region
    return {"seconds": wall, "runs": len(rep.run_seconds), "scale": region.default_scale,
            "years": f"{pol.meta.start or region.base_year + 1}-{pol.meta.end}"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--simulations", type=int, default=2000)
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--package", default="dehong_2011")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-abc", action="store_true")
    ap.add_argument("--skip-ensemble", action="store_true")
    args = ap.parse_args()
    nat, reg = particle_cost()
    print(f"one particle on one core: national run {nat:.2f} s, regional pattern runs {reg:.2f} s "
          f"({reg / (nat + reg):.0%} of the particle)")
    print(f"  so {args.simulations} particles on {args.workers} cores need about "
          f"{args.simulations * (nat + reg) / args.workers / 60:.1f} min at this load")
    if not args.skip_abc:
        r = bench_abc(args.simulations, args.workers)
        print(f"calibration: {r['evaluations']} particles simulated in {r['generations']} generations "
              f"(population {r['population_size']}), {r['seconds'] / 60:.1f} min wall: "
              f"{r['seconds'] / ABC_TARGET_S:.2f} x the 15-min target "
              f"({'met' if r['seconds'] <= ABC_TARGET_S and r['evaluations'] >= args.simulations else 'NOT met'})")
    if not args.skip_ensemble:
        r = bench_ensemble(args.package, args.draws, args.workers)
        print(f"posterior ensemble: {args.package}, {r['runs']} draws, {r['years']}, scale {r['scale']:g}, "
              f"{r['seconds']:.1f} s wall: {r['seconds'] / ENSEMBLE_TARGET_S:.2f} x the 2-min target "
              f"({'met' if r['seconds'] <= ENSEMBLE_TARGET_S else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
