"""Benchmark of `sim search` (issue 17, "Speed"): two linked levers on Xuchang at the default
scale, 20 posterior draws per candidate, on a local pool. Prints the evaluations, the runs and
the wall time, and whether a front was reached within ten minutes. Not a test: run it by hand,

    .venv/bin/python benchmarks/bench_search.py [--workers 2] [--replications 20] [--budget 24]
                                                [--scale S]

The search is experiments/xuchang_search.toml (the purchase subsidy, both tiers linked) with a
second linked lever, the deed-tax subsidy share, in the same tiers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT_S = 600.0

SECOND = """
[[levers]]
name = "deed_tax_subsidy_share"
paths = ["housing.tiers.central_city.deed_tax_subsidy_share",
         "housing.tiers.sub_center.deed_tax_subsidy_share"]
range = [0.0, 1.0]
step = 0.05
source = "the whole range of a share; step: assumption"
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--replications", type=int, default=20)
    ap.add_argument("--budget", type=int, default=24)
    ap.add_argument("--scale", type=float, default=None, help="households per agent (default: the region's)")
    args = ap.parse_args()
    from sim.experiments.search import format_result, load_search, run_search
    from sim.experiments.sweep import local_executor

    text = (ROOT / "experiments" / "xuchang_search.toml").read_text()
    text = text.replace('package = "../configs/', f'package = "{ROOT}/configs/')
    text = text.replace("replications = 20", f"replications = {args.replications}")
    text = text.replace("budget = 16", f"budget = {args.budget}")
    if args.scale is not None:
        text = text.replace("[search]\n", f"[search]\nscale = {args.scale}\n", 1)
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "bench_search.toml"
        spec.write_text(text + SECOND)
        search = load_search(spec)
        t0 = time.perf_counter()
        pool = local_executor(args.workers) if args.workers > 1 else None
        try:
            res = run_search(search, executor=pool, progress=True)
        finally:
            if pool is not None:
                pool.shutdown()
        seconds = time.perf_counter() - t0
    print(format_result(res))
    runs = res.evaluations.height * args.replications
    print(f"\nbench_search: {res.evaluations.height} settings evaluated ({runs} runs of "
          f"{args.replications} replications, scale {args.scale or 'default'}), front of "
          f"{res.front.height} settings, {seconds:.0f} s with {args.workers} workers "
          f"({seconds / max(runs, 1):.2f} s a run); within {LIMIT_S:.0f} s: "
          f"{'yes' if seconds <= LIMIT_S else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
