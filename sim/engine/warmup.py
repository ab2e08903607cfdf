"""Compile every pass of the engine ahead of use, with visible progress (``sim warmup``, run by
``make`` after install), so that the first ``make run`` does not sit silent for minutes.

Numba compiles a pass the first time it is called and keeps the machine code in its on-disk
cache (``cache=True``); this runs a small model of two seed packages through every stage of a
few years, saying which stage it is compiling, then writes the stamp that
:func:`sim.engine.compiled.announce_compilation` looks for.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from sim.configuration import POLICIES
from sim.engine import stages
from sim.engine.compiled import HAVE_NUMBA, cache_stamp, silence_announcement
from sim.engine.model import SettlementModel

PACKAGES = ("dehong_2011", "qingdao_2017")
"""Seed packages whose levers between them reach every compiled pass (Qingdao's reclassifies
rural communities; Dehong's rations public rental and school seats)."""


def warm(say: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)) -> float:
    """Compile every pass (a no-op where the cache is warm); returns the seconds it took."""
    t0 = time.perf_counter()
    if not HAVE_NUMBA:
        say("hukou-sim: numba is not installed; nothing to compile (the numpy engine runs)")
        return 0.0
    say("hukou-sim: compiling the engine's kernels into numba's cache (once after install or an "
        "update; 1-5 minutes)")
    silence_announcement()
    for k, name in enumerate(PACKAGES, 1):
        t1 = time.perf_counter()
        say(f"  [{k}/{len(PACKAGES)}] {name}: building a small world")
        m = SettlementModel(POLICIES / f"{name}.toml", seed=0, scale=400.0)
        end = min(m.end, m.start + 2)
        while m.year < end:  # SettlementModel.step, saying which stage compiles
            m.begin_year()
            for i, stage in enumerate(stages.YEAR, 1):
                if m.year == m.start:
                    say(f"  [{k}/{len(PACKAGES)}] {name}: stage {i}/8 {stage.__name__}")
                stage(m)
            m.end_year()
        say(f"  [{k}/{len(PACKAGES)}] {name}: done ({time.perf_counter() - t1:.0f} s)")
    stamp = cache_stamp()
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text("every compiled pass is in numba's cache\n")
    dt = time.perf_counter() - t0
    say(f"hukou-sim: kernels compiled and cached ({dt:.0f} s)")
    return dt
