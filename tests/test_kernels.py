"""The compiled choice kernel (sim.engine.decision_kernel) computes the specification (sim.engine.decision) exactly:
same choices, same intention, and identical model outputs from both engines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from polars.testing import assert_frame_equal

from sim.engine import compiled, decision, decision_kernel
from sim.engine.model import SettlementModel
from sim.outputs.tables import frames

pytestmark = pytest.mark.skipif(not compiled.HAVE_NUMBA, reason="numba not installed")

MIXES = {
    "base": {},
    "mixed": {"hukou": {"default": {"open": True}},
              "housing": {"default": {"rental_subsidy_yuan": 3000, "rental_subsidy_to": "permit",
                                      "public_rental_open_to": "residents", "rental_subsidy_takeup": 0.3,
                                      "support_income_limit_yuan": 12000, "public_rental_province_only": True}},
              "schools": {"default": {"enrolment_basis": "residence_permit", "nonhukou_admission_share": 0.5,
                                      "operating_funds_per_migrant_pupil_yuan": 2000,
                                      "private_school_subsidy_yuan": 1000}},
              "services": {"default": {"permit_coverage": 0.5, "insurance_portable": True,
                                       "agri_subsidies_kept": True}},
              "rights": {"land_rental": True, "land": {"on_settle": "surrendered",
                                                       "on_settle_tiers": {"sub_center": "kept"}},
                         "collective": {"on_settle_tiers": {"central_city": "surrendered"},
                                        "kept_until_year": 2019}},
              "jobs": {"default": {"placements": 100}}},
}


@pytest.mark.parametrize("mix", sorted(MIXES))
def test_kernel_equals_the_specification(mix, base, province_region, behaviour):
    m = SettlementModel(base.with_levers(MIXES[mix]), province_region, behaviour, seed=3)
    for _ in range(3):
        m.step()
    hh, ctx = m.hh, m.context()
    rows = np.flatnonzero(~hh.hukou_urban)
    eligible = m.eligible_here[rows] | (np.arange(rows.size) % 3 == 0)
    key = compiled.stream_key(1, 0, 7, m.year)
    A = decision.n_alternatives(m.T)
    v = decision.utilities(hh, rows, ctx, m.year, eligible)
    noisy = v - np.log(-np.log(compiled.counter_uniform(key, rows, A)))
    want, fallback = decision_kernel.choose_rows(hh, rows, ctx, eligible, key)
    assert (want == noisy.argmax(axis=1)).all()
    assert (fallback == noisy[:, : 1 + m.T].argmax(axis=1)).all()
    w0, _ = decision_kernel.choose_rows(hh, rows, ctx, eligible, key, draw_noise=False)
    assert (w0 == v.argmax(axis=1)).all()
    mig = np.flatnonzero(hh.migrant(m.T))
    assert np.allclose(decision_kernel.intention_rows(hh, mig, ctx),
                       decision.settlement_intention(hh, mig, ctx, m.year), atol=1e-12)


def test_counter_noise_is_uniform_and_depends_on_every_key_part():
    u = compiled.counter_uniform(compiled.stream_key(1, 0, 7, 2020), np.arange(20000), 5)
    assert 0 < u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.005
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.03
    other = compiled.counter_uniform(compiled.stream_key(1, 1, 7, 2020), np.arange(20000), 5)
    assert not np.allclose(u, other)


@pytest.mark.parametrize("mix", sorted(MIXES))
def test_both_engines_give_identical_outputs(mix, base, province_region, behaviour):
    pol = base.with_levers(MIXES[mix])
    a = frames(SettlementModel(pol, province_region, behaviour, seed=5, engine="numba").run())
    b = frames(SettlementModel(pol, province_region, behaviour, seed=5, engine="numpy").run())
    for name in ("metrics", "groups", "towns", "flows"):
        assert_frame_equal(a[name], b[name], check_exact=False, rel_tol=1e-9)


def test_counter_normal_is_the_inverse_normal_cdf_of_the_counter_uniform():
    from scipy.stats import kstest, norm

    key = compiled.stream_key(2, 0, 1, 2021)

    @compiled.njit
    def draw(n, out):
        for h in range(n):
            out[h] = compiled.normal(key, h, 6, 5)

    z = np.empty(200_000)
    draw(z.size, z)
    u = compiled.counter_uniform(key, np.arange(z.size), 6)[:, 5]
    assert np.abs(z - norm.ppf(u)).max() < 1e-8  # tails included
    assert kstest(z, "norm").pvalue > 1e-3


def test_compiled_log_and_exp_are_within_one_ulp_of_numpy():
    """compiled.log and compiled.exp (fdlibm's algorithms, vectorisable) against numpy's: log over
    the whole range of positive normal floats, near 1 and at the uniforms' extremes; exp over
    the range it is used on."""
    rng = np.random.default_rng(0)
    x = np.concatenate([np.exp(rng.uniform(-700, 700, 100_000)), rng.uniform(0, 1, 100_000),
                        1 + rng.uniform(-1e-6, 1e-6, 10_000), [1.0, 2.0, 0.5, 2.0 ** -53, 1 - 2.0 ** -53,
                                                              np.finfo(float).tiny, np.finfo(float).max]])

    @compiled.njit
    def logs(x, out):
        for i in range(x.size):
            out[i] = compiled.log(x[i])

    got = np.empty_like(x)
    logs(x, got)
    want = np.log(x)
    assert (np.abs(got - want) <= np.spacing(np.abs(want))).all()
    assert got[x == 1.0][0] == 0.0

    @compiled.njit
    def exps(x, out):
        for i in range(x.size):
            out[i] = compiled.exp(x[i])

    x = np.concatenate([rng.uniform(-700, 700, 100_000), rng.uniform(-1, 1, 100_000), [0.0, 1.0, -1.0]])
    got = np.empty_like(x)
    exps(x, got)
    want = np.exp(x)
    assert (np.abs(got - want) <= np.spacing(want)).all()
    assert got[x == 0.0][0] == 1.0


@pytest.mark.parametrize("origin", ["public_rental_natives_only", "public_rental_province_only"])
def test_rental_applicants_follow_the_public_rental_rule(origin, base, province_region, behaviour):
    """The compiled applicant pass of the capacity stage applies sim.engine.decision.public_rental_eligible."""
    from sim.engine.stages import rental_rules
    from sim.engine.stages.s5_capacity import _rental_applicants
    from sim.world.households import PUBLIC_RENTAL

    pol = base.with_levers({"housing": {"default": {"public_rental_open_to": "residents",
                                                    "public_rental_min_job_years": 2,
                                                    origin: True,
                                                    "support_income_limit_yuan": 12000}}})
    m = SettlementModel(pol, province_region, behaviour, seed=4)
    for _ in range(3):
        m.step()
    hh, T, lv = m.hh, m.T, m.levers
    tenants = np.zeros((1, T))
    got = np.empty(hh.n, dtype=np.bool_)
    _rental_applicants(T, hh.place, hh.hukou, hh.hukou_urban, hh.native, hh.same_province, hh.tenure,
                       hh.owned_town, hh.stable_job, hh.job_years, hh.income, hh.workers, hh.elders,
                       hh.kids_pre, hh.kids_school, rental_rules(lv), tenants, got)
    dweller = hh.town_dweller(T)
    rows = np.flatnonzero(dweller & (hh.tenure != PUBLIC_RENTAL))
    hukou_here = hh.hukou_urban[rows] & (hh.hukou[rows] == hh.place[rows])
    want = np.zeros(hh.n, dtype=bool)
    want[rows] = decision.public_rental_eligible(hh, rows, m.context(), hukou_here, here_only=True)
    assert want.any() and (got == want).all()
    assert tenants.sum() == (dweller & (hh.tenure == PUBLIC_RENTAL)).sum()


def test_realised_income_follows_the_non_wage_rule_of_the_decision(base, region, behaviour):
    """The compiled earnings pass pays what sim.engine.decision.non_wage_income specifies (wage noise
    switched off so the wage part is exact)."""
    from sim.engine import stages

    mix = base.with_levers({"rights": {"land_rental": True, "land": {"on_settle": "surrendered",
                                                                     "on_settle_tiers": {"small_town": "kept"}}},
                            "services": {"default": {"agri_subsidies_kept": True}}})
    beh = behaviour.model_copy(update={"wage_sd": 0.0})
    m = SettlementModel(mix, region, beh, seed=6)
    m.step()
    m.step()
    m.year += 1
    m.levers = m.levers_by_year[m.year]
    savings = m.hh.savings.copy()
    stages.labour_market(m)
    hh, T = m.hh, m.T
    in_town = hh.town_dweller(T)
    home, away, settled = decision.non_wage_income(hh, slice(None), m.context(), settled_town=hh.place)
    wage = hh.employed * m.wage[np.where(in_town, hh.place, 0)] * (1.0 + beh.skill_premium * hh.skill)
    want = np.where(in_town, wage + np.where(hh.hukou_urban, settled, away), home)
    assert in_town.any() and (~in_town).any() and hh.hukou_urban[in_town].any()
    assert np.allclose(hh.income, want, rtol=1e-6)
    assert np.allclose(hh.savings, np.maximum(savings + beh.savings_rate * hh.income, 0), rtol=1e-5, atol=0.05)


def test_compiled_passes_mean_what_their_python_says(tmp_path):
    """With NUMBA_DISABLE_JIT=1 every compiled loop runs as the plain Python it is written in:
    the outputs must be the same (no reliance on compiled integer widths or evaluation order)."""
    import os
    import subprocess
    import sys

    ROOT = Path(__file__).resolve().parent.parent
    DATA = ROOT / "tests" / "data"
    script = (
        "import sys, polars as pl\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from sim.engine.model import SettlementModel\nfrom sim.outputs.tables import frames\n"
        "from sim.configuration import load_policy, load_region\n"
        f"m = SettlementModel(load_policy({str(DATA / 'base_policy.toml')!r}), "
        f"load_region({str(DATA / 'small_region.toml')!r}), seed=3, scale=20.0).run()\n"
        "for k, df in frames(m).items(): df.write_parquet(sys.argv[1] + '_' + k + '.parquet')\n"
    )
    for name, jit in (("jit", "0"), ("python", "1")):
        env = {**os.environ, "NUMBA_DISABLE_JIT": jit}
        subprocess.run([sys.executable, "-W", "ignore", "-c", script, str(tmp_path / name)], env=env,
                       check=True, cwd=ROOT)
    import polars as pl

    for k in ("metrics", "groups", "towns", "flows"):
        assert_frame_equal(pl.read_parquet(tmp_path / f"jit_{k}.parquet"),
                           pl.read_parquet(tmp_path / f"python_{k}.parquet"), check_exact=False, rel_tol=1e-9)


def test_a_source_change_clears_numbas_whole_cache_once(tmp_path, monkeypatch):
    """Numba re-validates a cached kernel only against its own file; a constant read from another
    module would stay frozen. When the sources' hash changes, the first process deletes every
    cached kernel under the package and leaves a marker; the next keeps what was compiled since."""
    from sim.engine import compiled

    pkg = tmp_path / "sim"
    cached = [pkg / "engine" / "stages" / "__pycache__" / "s8_record._tally-40.py312.nbi",
              pkg / "engine" / "stages" / "__pycache__" / "s8_record._tally-40.py312.1.nbc",
              pkg / "world" / "__pycache__" / "households._draw-12.py312.nbi"]
    keep = pkg / "engine" / "__pycache__" / "model.cpython-312.pyc"
    for f in [*cached, keep, pkg / "__pycache__" / "clean-0000000000000000"]:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("x")
    monkeypatch.setattr(compiled, "_sources_hash", lambda: "1111111111111111")
    assert compiled.clear_stale_cache(pkg)
    assert not any(f.exists() for f in cached) and keep.exists()
    assert [m.name for m in (pkg / "__pycache__").glob("clean-*")] == ["clean-1111111111111111"]
    cached[0].write_text("compiled since")  # a later process's kernel is kept
    assert not compiled.clear_stale_cache(pkg) and cached[0].exists()
    monkeypatch.setattr(compiled, "_sources_hash", lambda: "2222222222222222")  # an edit
    assert compiled.clear_stale_cache(pkg) and not cached[0].exists()
