"""Sweep benchmark (issue 4): a 40-run sweep of the small test region with 1 and with 2 local
workers, in one go. Reports the speed-up and the per-run overhead of the executor (wall time
per run beyond the time spent inside the runs).

    .venv/bin/python benchmarks/sweep_speedup.py [--runs 40] [--scale 1]

Not a test: timings on a shared machine are noisy; the ratio is measured in one process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.experiments.spec import load_experiment  # noqa: E402
from sim.experiments.sweep import run_sweep  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    exp_path = tmp / "bench.toml"
    exp_path.write_text(f"""
[experiment]
name = "bench"
packages = ["{ROOT / 'tests' / 'data' / 'base_policy.toml'}"]
replications = {args.runs // 2}
scale = {args.scale}
outputs = ["metrics", "flows"]
source = "benchmark"
[design]
method = "grid"
[[design.levers]]
path = "hukou.default.open"
values = [false, true]
""")
    exp = load_experiment(exp_path)
    from sim.experiments.sweep import local_executor

    rows = []
    for workers in (1, 2):
        t0 = time.perf_counter()
        ex = local_executor(workers)  # starts the workers (imports, compiled-kernel cache)
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        rep = run_sweep(exp, tmp / f"w{workers}", executor=ex, progress=False)
        wall = time.perf_counter() - t1
        ex.shutdown()
        inside = sum(rep.run_seconds)
        rows.append({"workers": workers, "runs": rep.total, "startup_s": startup, "wall_s": wall,
                     "run_s_sum": inside,
                     "overhead_per_run_s": (wall * workers - inside) / rep.total})
        assert not rep.failed, rep.failed
    speedup = rows[0]["wall_s"] / rows[1]["wall_s"]
    print(f"cores: {os.cpu_count()}; {rows[0]['runs']} runs of the small test region at scale {args.scale}")
    print(f"{'workers':>8} {'pool start s':>13} {'sweep wall s':>13} {'sum of run s':>13} {'overhead/run s':>15}")
    for r in rows:
        print(f"{r['workers']:>8} {r['startup_s']:>13.2f} {r['wall_s']:>13.2f} {r['run_s_sum']:>13.2f} "
              f"{r['overhead_per_run_s']:>15.3f}")
    with_start = (rows[0]["wall_s"] + rows[0]["startup_s"]) / (rows[1]["wall_s"] + rows[1]["startup_s"])
    print(f"speed-up 2 vs 1 workers: {speedup:.2f}x on the runs (target >= 1.7x); "
          f"{with_start:.2f}x including the pool start-up")
    print(json.dumps({"speedup": round(speedup, 3), "speedup_with_startup": round(with_start, 3),
                      "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
