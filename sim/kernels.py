"""Compiled kernels and counter-based random numbers (issue 6).

Every random number the yearly step uses is a hash of (seed, replication, stream, year,
household, slot): :func:`stream_key` makes the key of a stream in a year, :func:`uniform` (in
compiled loops) and :func:`slot_uniform` (for a set of rows) give household ``h``'s draw in a
slot. Draws are computed only where they are used, for no memory, yet stay identical whatever
the policy (common random numbers) and whatever the order households are visited in.

The choice stage:

:mod:`sim.decision` is the specification of the decision rule: readable numpy terms, one per
named utility component. This module computes exactly the same utilities in one compiled pass
per household (numba), with no [rows, alternatives] temporaries, and draws the choice noise from
a counter-based generator: the Gumbel noise of household ``h``, alternative ``a`` in a year is a
hash of (seed, replication, year, h, a). Draws therefore exist only for the households that
decide, yet stay identical whatever the policy (common random numbers).

``SettlementModel(engine="numpy")`` runs the specification itself (same noise, via
:func:`counter_uniform`); ``tests/test_kernels.py`` checks that both engines give identical
outputs. If numba is not installed, the model falls back to the numpy engine.
"""

from __future__ import annotations

import math

import numpy as np

from sim.households import PUBLIC_RENTAL

try:
    import llvmlite.binding as _llvm
    from numba import get_num_threads, njit, prange

    # A per-household pass reads and writes a dozen household arrays. LLVM vectorises such a
    # loop behind run-time checks that the arrays do not overlap (falling back to the scalar
    # loop if they do), but by default gives up beyond 128 checks; allowing more makes the
    # ageing pass ~6x faster, for example. Set once per process, before anything is compiled;
    # it changes only which loops are vectorised, never what they compute.
    _llvm.set_option("sim", "-vectorize-memory-check-threshold=1024")
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False

    def njit(*args, **kwargs):  # type: ignore[no-redef]
        def wrap(f):
            return f
        return wrap(args[0]) if args and callable(args[0]) else wrap

    prange = range  # type: ignore[assignment]

    def get_num_threads() -> int:  # type: ignore[misc]
        return 1

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def stream_key(seed: int, replication: int, stream: int, year: int) -> np.uint64:
    """A 64-bit key for one stream in one year of one replication (never the policy)."""
    ss = np.random.SeedSequence(seed, spawn_key=(replication, stream, max(year, 0)))
    return np.uint64(ss.generate_state(1, dtype=np.uint64)[0])


def counter_uniform(key: np.uint64, rows: np.ndarray, n_alt: int) -> np.ndarray:
    """Uniforms in (0, 1) for [rows, alternatives] from splitmix64(key + counter) (numpy)."""
    with np.errstate(over="ignore"):
        ctr = rows.astype(np.uint64)[:, None] * np.uint64(n_alt) + np.arange(n_alt, dtype=np.uint64)[None, :]
        z = key + (ctr + np.uint64(1)) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always", error_model="numpy")
def _uniform(key, ctr):
    z = key + (ctr + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (float(z >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always", error_model="numpy")
def uniform(key, h, n_slots, slot):
    """Household ``h``'s uniform in (0, 1) in ``slot`` of a stream with ``n_slots`` per household
    (the same number :func:`counter_uniform` gives at [h, slot])."""
    return _uniform(key, np.uint64(h) * np.uint64(n_slots) + np.uint64(slot))


_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951


@njit(cache=True, inline="always", error_model="numpy")
def log(x):
    """Natural logarithm of a positive normal float, within 1 ulp (fdlibm's ``__ieee754_log``
    without its special cases). Plain arithmetic rather than a libm call, so that loops over
    towns that take it are vectorised: the choice kernel takes ~70 logarithms per household."""
    b = np.float64(x).view(np.uint64)
    k = np.int64(b >> np.uint64(52)) - 1023
    m = np.uint64((b & np.uint64(0x000FFFFFFFFFFFFF)) | np.uint64(0x3FF0000000000000)).view(np.float64)
    big = m > _SQRT2  # m in [1, 2): bring it to [sqrt(2)/2, sqrt(2))
    f = (0.5 * m if big else m) - 1.0
    k = float(k + 1 if big else k)
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01))
    t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01
                                              + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)))
    hfsq = 0.5 * f * f
    return k * _LN2_HI - ((hfsq - (s * (hfsq + t1 + t2) + k * _LN2_LO)) - f)


@njit(cache=True, inline="always", error_model="numpy")
def exp(x):
    """Exponential within 1 ulp (fdlibm's ``__ieee754_exp`` without its special cases) for x in
    [-700, 700], the range it is clamped to; vectorisable, as :func:`log`."""
    x = min(max(x, -700.0), 700.0)
    k = np.floor(x * 1.44269504088896338700e+00 + 0.5)
    hi = x - k * _LN2_HI
    lo = k * _LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (1.66666666666666019037e-01 + t * (-2.77777777770155933842e-03 + t * (
        6.61375632143793436117e-05 + t * (-1.65339022054652515390e-06 + t * 4.13813679705723846039e-08))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    return y * np.uint64(np.uint64(np.int64(k) + 1023) << np.uint64(52)).view(np.float64)


@njit(cache=True, inline="always", error_model="numpy")
def normal(key, h, n_slots, slot):
    """A standard normal: the inverse normal CDF of the uniform in ``slot`` (Acklam's rational
    approximation, relative error below 1.2e-9). Both the central and the tail formula are
    computed and one selected, so that a loop drawing normals is vectorised."""
    p = uniform(key, h, n_slots, slot)
    q = math.sqrt(-2.0 * log(min(p, 1.0 - p)))
    tail = ((((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00) * q
               - 2.549732539343734e+00) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00)
            / ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00) * q
                + 3.754408661907416e+00) * q + 1.0))
    c = p - 0.5
    r = c * c
    central = ((((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r - 2.759285104469687e+02) * r
                  + 1.383577518672690e+02) * r - 3.066479806614716e+01) * r + 2.506628277459239e+00) * c
               / (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r - 1.556989798598866e+02) * r
                    + 6.680131188771972e+01) * r - 1.328068155288572e+01) * r + 1.0))
    in_tails = (p < 0.02425) | (p > 0.97575)
    return (tail if p < 0.5 else -tail) if in_tails else central


def n_chunks() -> int:
    """Blocks of households a tallying pass splits into: each block accumulates into its own row
    (no two threads add to the same total), a few per thread to balance the load."""
    return 4 * get_num_threads()


@njit(cache=True, inline="always")
def chunk(c, n_chunks, n):
    """The households [lo, hi) of block ``c`` of ``n_chunks``."""
    step = (n + n_chunks - 1) // n_chunks
    return c * step, min(n, (c + 1) * step)


BLOCK = 1024  # households per block of a pass that reads its households' towns' values


@njit(cache=True, inline="always")
def n_blocks(n):
    return (n + BLOCK - 1) // BLOCK


@njit(cache=True, inline="always")
def town_values(b, n, place, T, table):
    """Households [lo, lo + size) of block ``b`` (of ``n`` households), and ``table[k, j]``
    (a per-town quantity k, [k, towns]) at each one's town j (the last town for a villager, who
    does not use it): [k, BLOCK]. Gathering these first, in a loop of their own, is what lets
    the compiler vectorise the rule that follows over the block's households (a loop that both
    gathers from one array and writes another is not)."""
    lo = b * BLOCK
    size = min(BLOCK, n - lo)
    out = np.empty((table.shape[0], BLOCK))
    for i in range(size):
        j = min(place[lo + i], T - 1)
        for k in range(table.shape[0]):
            out[k, i] = table[k, j]
    return lo, size, out


@njit(cache=True, inline="always")
def at(lo, i):
    """Household ``lo + i`` as an unsigned index (no negative-index wraparound, which would
    stop the compiler from vectorising)."""
    return np.uint64(lo) + np.uint64(i)


@njit(cache=True, inline="always")
def persons_here(h, T, place, hukou, hukou_urban, native, workers, elders, kids_pre, kids_school,
                 kids_with):
    """Persons living at household h's place (:meth:`sim.households.Households.persons_at_place`):
    a native migrant's elders and left-behind children stay at home."""
    pl = place[h]
    if pl < T and not hukou_urban[h] and pl != hukou[h] and native[h]:
        return workers[h] + kids_pre[h] + kids_with[h]
    return workers[h] + elders[h] + kids_pre[h] + kids_school[h]


@njit(cache=True, parallel=True, error_model="numpy")
def _slot_uniforms(key, rows, n_slots, slot, out):
    for i in prange(rows.size):
        out[i] = uniform(key, rows[i], n_slots, slot)


def slot_uniform(key: np.uint64, rows: np.ndarray, n_slots: int, slot: int) -> np.ndarray:
    """The uniforms of ``rows`` in one ``slot`` (float64, one per row)."""
    out = np.empty(rows.size, dtype=np.float64)
    if rows.size:
        _slot_uniforms(key, rows.astype(np.int64), n_slots, slot, out)
    return out


@njit(cache=True, inline="always", error_model="numpy")
def gumbel(key, ctr):
    """Standard Gumbel noise from the counter-based uniform at ``ctr``."""
    return -log(-log(_uniform(key, ctr)))


# Household arrays r[0..22], full length, in the order :func:`pack` lists them: place, hukou,
# origin, kin, workers, skill, placement, land_mu, land_exited, dividend, collective_exited,
# kids_school, native, elders, kids_pre, birth_year, head_age, insurance_years, years_in_town,
# owned_town, tenure, stable_job, job_years. Row k of a call is household rows[k]; ``eligible``
# and ``lost`` (rights lost by settling) are per row. The town table ``t`` is [18, towns]: one
# lever or town quantity per row (see :func:`pack`), contiguous over towns.
@njit(cache=True, inline="always", error_model="numpy")
def _row(h, lost, r, s):
    """The town-independent quantities of household h that :func:`_resident` and
    :func:`_settled` need (computed once per row)."""
    (b_inc, b_house, b_school, b_lb, b_exam, b_serv, b_rights, asc_hukou, skill_premium, farm_pm,
     local_nf, agri_pm, rent_pm, rural, land_rental, land_kept, coll_kept) = s
    ld = _land(h, r)
    dv = _dividend(h, r)
    subsidy = ld * agri_pm
    land_rent = ld * rent_pm * rural * land_rental
    nat = r[12][h]
    return (r[0][h], float(r[4][h]) * (1.0 + skill_premium * float(r[5][h])), r[6][h],
            land_rent + dv + subsidy, land_rent * land_kept + dv * coll_kept, subsidy * land_kept,
            _size(h, r), nat, r[18][h], r[19][h], r[20][h] == PUBLIC_RENTAL,
            r[21][h], float(r[22][h]), float(r[11][h]), (b_lb if nat else 0.0), lost)


@njit(cache=True, inline="always")
def _land(h, r):
    mu = float(r[7][h])  # (loaded first: a load under a condition stops vectorisation)
    return 0.0 if r[8][h] else mu


@njit(cache=True, inline="always")
def _dividend(h, r):
    dividend = float(r[9][h])
    return 0.0 if r[10][h] else dividend


@njit(cache=True, inline="always")
def _size(h, r):
    return float(max(r[4][h] + r[13][h] + r[14][h] + r[11][h], 1))


@njit(cache=True, inline="always", error_model="numpy")
def _wage(j, h, t):
    """Expected wage income of a row (town-independent part ``h``) at town j."""
    return h[1] * t[0, j] * (1.0 if h[2] == j else t[1, j])


@njit(cache=True, inline="always", error_model="numpy")
def _resident(j, h, t, s):
    """The terms of a row's utility of living at town j without its hukou that differ from
    settling there: income, housing, schooling and services (as :mod:`sim.decision`). Written
    without branches (only selects), so that a loop over towns is vectorised."""
    (b_inc, b_house, b_school, b_lb, b_exam, b_serv, b_rights, asc_hukou, skill_premium, farm_pm,
     local_nf, agri_pm, rent_pm, rural, land_rental, land_kept, coll_kept) = s
    (pl, w_skill, placement, away, settled_kept, subsidy_kept, sz, nat, years, owned_town, tenant,
     job_ok, job_years, kd, lbn, lost) = h
    here = pl == j
    inc = max(_wage(j, h, t) + away, 1000.0)
    permit = (years if here else 0) >= t[5, j]
    # public rental open to residents with a stable job held long enough (natives only if so set)
    res_ok = (t[15, j] > 0.5) & job_ok & (job_years >= t[16, j]) & (nat | (t[17, j] < 0.5))
    p_rental = 1.0 if (tenant & here) else (t[4, j] if res_ok else 0.0)
    subsidy = t[11, j] if ((t[13, j] > 0.5) & permit) else 0.0
    cost = 0.0 if owned_town == j else max(t[2, j] * 12.0 * (1.0 - p_rental * t[14, j]) - subsidy, 0.0)
    access = (1.0 if ((t[8, j] > 0.5) & permit) else t[7, j]) * t[3, j]
    exam = 0.0 if t[9, j] > 0.5 else b_exam * access
    school = kd * (b_school * access - lbn * (1.0 - access) - exam)
    serv = b_serv * t[6, j] if permit else 0.0
    return b_inc * log(inc / sz) - b_house * cost / inc + school + serv


@njit(cache=True, inline="always", error_model="numpy")
def _settled(j, h, t, s):
    """The same terms for settling at town j (with its hukou), plus the rights lost and the
    hukou constant."""
    (b_inc, b_house, b_school, b_lb, b_exam, b_serv, b_rights, asc_hukou, skill_premium, farm_pm,
     local_nf, agri_pm, rent_pm, rural, land_rental, land_kept, coll_kept) = s
    (pl, w_skill, placement, away, settled_kept, subsidy_kept, sz, nat, years, owned_town, tenant,
     job_ok, job_years, kd, lbn, lost) = h
    inc = max(_wage(j, h, t) + settled_kept + (subsidy_kept if t[10, j] > 0.5 else 0.0), 1000.0)
    p_rental = 1.0 if (tenant & (pl == j)) else t[4, j]
    subsidy = (t[11, j] if t[12, j] > 0.5 else 0.0) + (t[11, j] if t[13, j] > 0.5 else 0.0)
    cost = 0.0 if owned_town == j else max(t[2, j] * 12.0 * (1.0 - p_rental * t[14, j]) - subsidy, 0.0)
    access = t[3, j]
    school = kd * (b_school * access - lbn * (1.0 - access))
    return (b_inc * log(inc / sz) - b_house * cost / inc + school + b_serv
            - b_rights * log(1.0 + lost / inc) + asc_hukou)


@njit(cache=True, parallel=True, error_model="numpy")
def choose(key, rows, r, eligible, lost, t, g, s, want_out, fallback_out, draw_noise, nc):
    """For each row: the utilities of all alternatives (as :func:`sim.decision.utilities`),
    plus counter-based Gumbel noise when ``draw_noise``; writes the best alternative and the
    best alternative without settling (for when the quota runs out)."""
    portable, c_town, urban, dist_term, network = g
    (b_inc, b_house, b_school, b_lb, b_exam, b_serv, b_rights, asc_hukou, skill_premium, farm_pm,
     local_nf, agri_pm, rent_pm, rural, land_rental, land_kept, coll_kept, b_dist, b_net, b_kin,
     b_newgen, b_age, b_move, b_ins) = s
    s_core = (b_inc, b_house, b_school, b_lb, b_exam, b_serv, b_rights, asc_hukou, skill_premium,
              farm_pm, local_nf, agri_pm, rent_pm, rural, land_rental, land_kept, coll_kept)
    T = c_town.size
    A = 1 + 2 * T
    for c in prange(nc):  # blocks of rows, each with its own scratch row of utilities
        lo, hi = chunk(c, nc, rows.size)
        v = np.empty(T)  # utilities of living in each town without its hukou
        for k in range(lo, hi):
            hh = rows[k]
            base = np.uint64(hh) * np.uint64(A)
            pl = r[0][hh]
            org = r[2][hh]
            hm = r[1][hh] if r[1][hh] >= 0 else org
            nat = r[12][hh]
            in_town = pl < T
            ins_loss = b_ins * float(r[17][hh]) if in_town else 0.0
            gen = b_newgen * (1.0 if r[15][hh] >= 1980 else 0.0) - b_age * max(float(r[16][hh]) - 45.0, 0.0)
            here_portable = in_town and portable[min(pl, T - 1)]
            h = _row(hh, lost[k], r, s_core)
            kin_pl = r[0][r[3][hh]] if r[3][hh] >= 0 else -1
            for j in range(T):  # terms shared by living in town j with or without its hukou
                move = 0.0 if pl == j else b_move + (0.0 if (here_portable & portable[j]) else ins_loss)
                v[j] = ((dist_term[hm, j] if nat else 0.0) + b_net * network[org, j]
                        + (b_kin if kin_pl == j else 0.0) + gen - move + c_town[j])
            settle = in_town and urban[min(pl, T - 1)] and eligible[k]
            v_settle = _settled(pl, h, t, s_core) + v[pl] if settle else -np.inf
            for j in range(T):  # living there without its hukou (unavailable in one's home town)
                v[j] = _resident(j, h, t, s_core) + v[j] if hm != j else -np.inf
            best = -np.inf
            best_a = 0
            if nat:  # alternative 0: home
                ld = _land(hh, r)
                farm = ld * farm_pm * rural + float(r[4][hh]) * local_nf * rural
                best = b_inc * math.log(max(farm + ld * agri_pm + _dividend(hh, r), 1000.0) / _size(hh, r))
                if hm != pl:
                    best -= b_move + ins_loss
            if draw_noise:
                if nat:
                    best += gumbel(key, base)
                for j in range(T):
                    v[j] += gumbel(key, base + np.uint64(1 + j))
                if settle:
                    v_settle += gumbel(key, base + np.uint64(1 + T + pl))
            for j in range(T):  # the first best (selects: the winner is random, a branch mispredicts)
                better = v[j] > best
                best_a = 1 + j if better else best_a
                best = v[j] if better else best
            fallback_out[k] = best_a
            want_out[k] = 1 + T + pl if v_settle > best else best_a


@njit(cache=True, parallel=True, error_model="numpy")
def intention(rows, r, lost, t, g, s, out):
    """Settlement intention of each row (a non-hukou town resident): the binary logit of
    settling in its town against staying there as a resident, on the same utilities."""
    urban = g[2]
    s_core = s[:17]
    for k in prange(rows.size):  # the utility differences (a loop without branches: vectorised)
        h = rows[k]
        j = r[0][h]
        hk = _row(h, lost[k], r, s_core)
        hukou, origin, urban_j = r[1][h], r[2][h], urban[j]
        diff = _settled(j, hk, t, s_core) - _resident(j, hk, t, s_core)
        # an alternative is unavailable: -50 as the specification does
        out[k] = diff if ((hukou if hukou >= 0 else origin) != j) & urban_j else -50.0
    for k in prange(rows.size):
        out[k] = 1.0 / (1.0 + exp(-out[k]))


def pack(hh, rows, ctx):
    """The kernels' inputs from the household arrays and a Context: household arrays (not
    copied), the rights each row would lose by settling, per-town arrays, global arrays and
    scalars."""
    from sim.decision import rights_lost_on_settling

    lv, beh, eco, ts, places = ctx.levers, ctx.behaviour, ctx.economy, ctx.towns, ctx.places
    T = places.n_towns
    bonus = {"central_city": beh.tier_bonus_central_city, "sub_center": beh.tier_bonus_sub_center,
             "small_town": beh.tier_bonus_small_town, "rural_community": beh.tier_bonus_rural_community}
    c_town = np.array([beh.asc_town + bonus[places.tier_name(j)] for j in range(T)])
    r = (hh.place, hh.hukou, hh.origin, hh.kin, hh.workers, hh.skill, hh.placement, hh.land_mu,
         hh.land_exited, hh.dividend, hh.collective_exited, hh.kids_school, hh.native, hh.elders,
         hh.kids_pre, hh.birth_year, hh.head_age, hh.insurance_years, hh.years_in_town,
         hh.owned_town, hh.tenure, hh.stable_job, hh.job_years)
    lost = rights_lost_on_settling(hh, rows, ctx).astype(np.float64)
    col, is_ = lv.col, lv.is_
    t = np.stack([np.asarray(c, dtype=np.float64) for c in (
        ts.wage.astype(np.float64), ts.employment_rate.astype(np.float64), ts.rent.astype(np.float64),
        ts.seat_access.astype(np.float64), ts.rental_access.astype(np.float64),
        col("services", "permit_min_years").astype(np.float64), col("services", "permit_coverage"),
        col("schools", "nonhukou_admission_share"), is_("schools", "enrolment_basis", "residence_permit"),
        col("schools", "local_exam_nonhukou"), col("services", "agri_subsidies_kept"),
        col("housing", "rental_subsidy_yuan"), is_("housing", "rental_subsidy_to", "hukou"),
        is_("housing", "rental_subsidy_to", "permit"), 1.0 - col("housing", "public_rental_rent_share"),
        is_("housing", "public_rental_open_to", "residents"),
        col("housing", "public_rental_min_job_years"), col("housing", "public_rental_natives_only"),
    )])  # [18, towns]: one lever or town quantity per row
    g = (col("services", "insurance_portable"), c_town, places.urban[:T].copy(),
         -float(beh.beta_distance) * np.log1p(places.km.astype(np.float64)), ts.network.astype(np.float64))
    s = (beh.beta_income, beh.beta_housing, beh.beta_school, beh.beta_left_behind, beh.beta_exam,
         beh.beta_services, beh.beta_rights, beh.asc_hukou, beh.skill_premium,
         eco.farm_income_per_mu, eco.local_nonfarm_income, eco.agri_subsidy_per_mu,
         eco.land_rent_per_mu, float(ts.rural_income_index), float(lv.rights.land_rental),
         float(lv.rights.land.on_settle != "surrendered"),
         float(lv.rights.collective.on_settle != "surrendered"),
         beh.beta_distance, beh.beta_network, beh.beta_kin, beh.beta_new_generation, beh.beta_age,
         beh.beta_move, beh.beta_insurance_loss)
    s = tuple(float(x) for x in s)
    return r, lost, t, g, s


def choose_rows(hh, rows: np.ndarray, ctx, eligible: np.ndarray, key: np.uint64,
                draw_noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Best alternative and best non-settle alternative of each row (compiled)."""
    r, lost, t, g, s = pack(hh, rows, ctx)
    want = np.empty(rows.size, dtype=np.int16)
    fallback = np.empty(rows.size, dtype=np.int16)
    choose(key, rows.astype(np.int64), r, np.ascontiguousarray(eligible, dtype=np.bool_), lost, t, g, s,
           want, fallback, draw_noise, n_chunks())
    return want, fallback


def intention_rows(hh, rows: np.ndarray, ctx) -> np.ndarray:
    """Settlement intention of each row (compiled); see :func:`sim.decision.settlement_intention`."""
    r, lost, t, g, s = pack(hh, rows, ctx)
    out = np.empty(rows.size, dtype=np.float64)
    intention(rows.astype(np.int64), r, lost, t, g, s, out)
    return out
