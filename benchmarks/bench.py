"""Performance benchmark (issue 6), run by `make bench`. Not a test: it measures, in one run,

* the full yearly step (all eight stages) in household-steps per second at ~100 thousand and
  ~1 million households (the Qingdao region and package, scaled), best of ``--repeat`` runs;
* the ratio to the idiomatic Mesa reference (benchmarks/reference_mesa.py: one Agent per
  household, shuffle_do) at ~100 thousand households, same rules, same run;
* peak memory per household: (peak resident memory - resident memory after imports) / households;
* a Qingdao-size run (one agent per household, ~3.1 million households, 10 years): wall time
  and peak resident memory.

Each measurement runs in a fresh process so peaks do not mix. Prints a table and writes
benchmarks/results.json.

    .venv/bin/python benchmarks/bench.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "configs" / "policies" / "qingdao_2017.toml"

CHILD = r'''
import json, resource, sys, time
sys.path.insert(0, {root!r})
def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
kind, scale, years = {kind!r}, {scale!r}, {years!r}
if kind == "engine":
    from sim.engine.model import SettlementModel
    from sim.configuration import load_policy
    pol = load_policy({policy!r})
    warm = SettlementModel(pol, seed=9, scale=max(scale * 20, 200.0), start=2018, end=2019).run()  # compile / warm caches
    del warm
    base = rss_mb()
    t0 = time.perf_counter()
    m = SettlementModel(pol, seed=1, scale=scale, start=2018, end=2017 + years)
    t1 = time.perf_counter()
    m.run()
    t2 = time.perf_counter()
    n = m.hh.n
else:
    from benchmarks.reference_mesa import ReferenceModel
    base = rss_mb()
    t0 = time.perf_counter()
    m = ReferenceModel({policy!r}, seed=1, scale=scale, start=2018, end=2017 + years)
    t1 = time.perf_counter()
    m.run()
    t2 = time.perf_counter()
    n = len(m.households)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"kind": kind, "households": n, "years": years, "init_s": t1 - t0, "run_s": t2 - t1,
                  "steps_per_s": n * years / (t2 - t1), "peak_mb": peak, "base_mb": base,
                  "bytes_per_household": (peak - base) * 1024 * 1024 / n}}))
'''


def measure(kind: str, scale: float, years: int) -> dict:
    code = CHILD.format(root=str(ROOT), kind=kind, scale=scale, years=years, policy=str(POLICY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} at scale {scale} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def best_of(runs: list[dict]) -> dict:
    """The fastest of several fresh-process measurements (this machine is shared: the others are
    slowed by whatever else runs), with every run's speed kept in ``all_steps_per_s``."""
    best = max(runs, key=lambda r: r["steps_per_s"])
    return {**best, "all_steps_per_s": [r["steps_per_s"] for r in runs]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip the Qingdao-size run")
    ap.add_argument("--reference-years", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3,
                    help="fresh-process runs per speed measurement, best kept (default 3)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    runs: dict[str, list[dict]] = {"engine_100k": [], "reference_100k": [], "engine_1m": []}
    for _ in range(args.repeat):  # interleaved, so a slow spell of the machine hits all three
        runs["engine_100k"].append(measure("engine", 31.0, 10))
        runs["reference_100k"].append(measure("reference", 31.0, args.reference_years))
        runs["engine_1m"].append(measure("engine", 3.1, 10))
    rows = {k: best_of(v) for k, v in runs.items()}
    if not args.quick:
        rows["qingdao_3m_10y"] = measure("engine", 1.0, 10)
    e100, e1m, ref = rows["engine_100k"], rows["engine_1m"], rows["reference_100k"]
    ratio = e100["steps_per_s"] / ref["steps_per_s"]
    print(f"speeds are the best of {args.repeat} fresh-process runs; all runs (M/s): "
          + "; ".join(f"{k} " + ", ".join(f"{v / 1e6:.3g}" for v in rows[k]["all_steps_per_s"])
                      for k in ("engine_100k", "engine_1m", "reference_100k")))
    print(f"{'measure':44} {'value':>16} {'target':>14}  met")
    def line(name, value, target, ok):
        print(f"{name:44} {value:>16} {target:>14}  {'yes' if ok else 'NO'}")
    line(f"full step at {e100['households']:,} households", f"{e100['steps_per_s']:,.0f}/s", "", True)
    line(f"full step at {e1m['households']:,} households", f"{e1m['steps_per_s']:,.0f}/s", ">= 10,000,000/s",
         e1m["steps_per_s"] >= 1e7)
    line(f"idiomatic Mesa reference at {ref['households']:,}", f"{ref['steps_per_s']:,.0f}/s", "", True)
    line("engine / reference at ~100k households", f"{ratio:,.0f}x", ">= 100x", ratio >= 100)
    line("peak memory per household (1M run)", f"{e1m['bytes_per_household']:,.0f} B", "<= 300 B",
         e1m["bytes_per_household"] <= 300)
    if "qingdao_3m_10y" in rows:
        q = rows["qingdao_3m_10y"]
        line(f"Qingdao-size run ({q['households']:,} hh x 10 y): wall", f"{q['init_s'] + q['run_s']:,.1f} s",
             "<= 60 s", q["init_s"] + q["run_s"] <= 60)
        line("Qingdao-size run: peak resident memory", f"{q['peak_mb'] / 1024:,.2f} GB", "<= 3 GB",
             q["peak_mb"] <= 3 * 1024)
        line("Qingdao-size run: peak memory per household", f"{q['bytes_per_household']:,.0f} B", "<= 300 B",
             q["bytes_per_household"] <= 300)
    rows["ratio_to_reference"] = ratio
    rows["benchmark_wall_s"] = time.perf_counter() - t0
    (ROOT / "benchmarks" / "results.json").write_text(json.dumps(rows, indent=2))
    print(f"(benchmark took {rows['benchmark_wall_s']:.0f} s; figures in benchmarks/results.json)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
