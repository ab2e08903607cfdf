"""Compiled-loop primitives and counter-based random numbers (issue 6).

Every random number the yearly step uses is a hash of (seed, replication, stream, year,
household, slot): :func:`stream_key` makes the key of a stream in a year, :func:`uniform` (in
compiled loops) and :func:`slot_uniform` (for a set of rows) give household ``h``'s draw in a
slot. Draws are computed only where they are used, for no memory, yet stay identical whatever
the policy (common random numbers) and whatever the order households are visited in.

"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

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
    """Persons living at household h's place (:meth:`sim.world.households.Households.persons_at_place`):
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


# ---------------------------------------------------------------------------------------------
# Compilation is never silent
# ---------------------------------------------------------------------------------------------

_announced = False


def _sources_hash() -> str:
    """A hash of every source a compiled pass can read (the engine's, the world's and the
    configuration's modules, whose names and constants kernels use) and of the numba and Python
    versions."""
    import hashlib
    import sys

    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted([*here.rglob("*.py"), *(here.parent / "world").glob("*.py"),
                     *(here.parent / "configuration").glob("*.py")]):
        h.update(f.read_bytes())
    try:
        import numba

        h.update(numba.__version__.encode())
    except ImportError:  # pragma: no cover
        pass
    h.update(sys.version.encode())
    return h.hexdigest()[:16]


def cache_stamp() -> Path:
    """The file :mod:`sim.engine.warmup` writes once every compiled pass is in numba's on-disk
    cache: named by :func:`_sources_hash`, so an edit or an upgrade makes it stale."""
    return Path(__file__).resolve().parent / "__pycache__" / f"warm-{_sources_hash()}"


def clear_stale_cache(package: Path | None = None) -> bool:
    """Drop numba's on-disk cache of every kernel once the sources change (returns whether it did).

    Numba invalidates a cached kernel only when the file that defines it changes; a constant the
    kernel reads from another module (a group count from :mod:`sim.configuration`, ``BLOCK``
    from here) is frozen into the machine code, so an edit elsewhere would leave a kernel
    silently computing with the old value. A marker named by :func:`_sources_hash` records that
    the cache was cleared for these sources; the first process to see the sources changed
    deletes every ``*.nbi``/``*.nbc`` under ``package`` (default: the ``sim`` package) and
    writes it, so kernels recompile once (1-5 minutes) and later processes reuse them."""
    package = package or Path(__file__).resolve().parent.parent
    pycache = package / "__pycache__"
    marker = pycache / f"clean-{_sources_hash()}"
    if marker.is_file():
        return False
    for f in [*package.rglob("__pycache__/*.nbi"), *package.rglob("__pycache__/*.nbc"),
              *pycache.glob("clean-*")]:
        try:
            f.unlink()
        except FileNotFoundError:  # another process got there first
            pass
    pycache.mkdir(parents=True, exist_ok=True)
    marker.write_text("numba's cache was cleared for these sources\n")
    return True


def silence_announcement() -> None:
    """For a caller that reports compilation its own way (:mod:`sim.engine.warmup`)."""
    global _announced
    _announced = True


def announce_compilation() -> None:
    """Say so, once per process and in one line, when the compiled passes are not known to be in
    the cache (the first run after install or after an edit compiles them, for minutes)."""
    global _announced
    if _announced or not HAVE_NUMBA:
        return
    _announced = True
    import multiprocessing
    import sys

    if multiprocessing.parent_process() is not None:
        return  # a sweep's worker: the parent has said it
    if not cache_stamp().is_file():
        print("hukou-sim: compiling the engine's kernels (once after install or an update; "
              "1-5 minutes; `make` does it ahead with `sim warmup`)...", file=sys.stderr, flush=True)


def _clear_at_import() -> None:
    """Before any kernel can load from numba's cache in this process: the main process (a sweep's
    workers start after it) drops a stale cache (:func:`clear_stale_cache`); a read-only
    install keeps its cache."""
    import multiprocessing

    if HAVE_NUMBA and multiprocessing.parent_process() is None:
        try:
            clear_stale_cache()
        except OSError:  # pragma: no cover - a read-only install
            pass


_clear_at_import()
