"""Stage 4, choice: each household that reviews its situation this year picks an alternative
(the random-utility rule of :mod:`sim.engine.decision`), and buys a home where it wants one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine import compiled, decision, decision_kernel
from sim.engine.compiled import njit, prange, uniform
from sim.world.households import OWNED

if TYPE_CHECKING:
    from sim.engine.model import SettlementModel

CHUNK = 32768  # households per block in the choice stage (keeps [rows, alternatives] in cache)


CHOICE_SLOTS = 2  # per household: reviewing this year, buying a home


@njit(cache=True, parallel=True)
def _deciders(key, hukou_urban, placement, review_rate, out):
    """Households without urban hukou that review their situation this year (at the behaviour's
    rate) or hold a job placement."""
    for h in prange(out.size):
        out[h] = (not hukou_urban[h]) & ((placement[h] >= 0) | (uniform(key, h, CHOICE_SLOTS, 0) < review_rate))


def choice(m: SettlementModel) -> None:
    """Each household without urban hukou that reviews its situation this year (or holds a job
    placement) picks the alternative of highest utility plus Gumbel noise; its next-best
    alternative without settling is kept for when the quota runs out. Settlement intention is
    computed for every non-hukou town resident. Town residents who stay then buy a home if
    they can afford it."""
    hh, beh, T = m.hh, m.behaviour, m.T
    choice_key = m.key("choice")
    A = decision.n_alternatives(T)
    ctx = m.context()
    deciders = np.empty(hh.n, dtype=np.bool_)
    _deciders(choice_key, hh.hukou_urban, hh.placement, float(beh.review_rate), deciders)
    want = np.full(hh.n, -1, dtype=np.int16)
    fallback = np.full(hh.n, -1, dtype=np.int16)
    intention = np.full(hh.n, np.nan, dtype=np.float32)
    # Gumbel noise from a counter-based generator keyed by (seed, replication, year, household,
    # alternative): common random numbers whatever the policy, drawn only for the deciders
    key = m.key("choice_noise")
    rows = np.flatnonzero(deciders)
    mig = np.flatnonzero(m.start_migrants)  # nobody has moved since the eligibility stage
    if m.engine == "numba":
        for lo in range(0, rows.size, CHUNK * 8):
            part = rows[lo:lo + CHUNK * 8]
            want[part], fallback[part] = decision_kernel.choose_rows(hh, part, ctx, m.eligible_here[part], key)
        for lo in range(0, mig.size, CHUNK * 8):
            part = mig[lo:lo + CHUNK * 8]
            intention[part] = decision_kernel.intention_rows(hh, part, ctx)
    else:  # the specification itself (sim.engine.decision), in blocks
        for lo in range(0, rows.size, CHUNK):
            part = rows[lo:lo + CHUNK]
            noise = -np.log(-np.log(compiled.counter_uniform(key, part, A)))
            v = decision.utilities(hh, part, ctx, m.year, m.eligible_here[part]) + noise
            want[part] = v.argmax(axis=1)
            fallback[part] = v[:, : 1 + T].argmax(axis=1)
        for lo in range(0, mig.size, CHUNK):
            part = mig[lo:lo + CHUNK]
            intention[part] = decision.settlement_intention(hh, part, ctx, m.year)
    m.want, m.fallback, m.intention, m.deciders = want, fallback, intention, rows
    buy_homes(m, choice_key)


@njit(cache=True, parallel=True, error_model="numpy")
def _buy_homes(key, T, want, place, hukou, hukou_urban, owned_town, stable_job, savings, tenure,
               price, levers, e, purchase_rate, support_out):
    """Per household: a town dweller staying in its town who owns no home buys one with
    probability ``purchase_rate`` when its savings cover the up-front cost: the down payment
    (lower with the housing provident fund), deed tax and fees, less the policy's subsidy,
    deed-tax subsidy and fee relief (support may be for hukou holders only). Writes the support
    received (-1 if no purchase)."""
    area, down_share, provident_share, deed_rate, fee_rate = e
    for h in prange(place.size):
        support_out[h] = -1.0
        pl = place[h]
        w = want[h]
        if not (pl < T and (hukou_urban[h] or pl != hukou[h])) or owned_town[h] >= 0:
            continue
        if not (w < 0 or w == 1 + pl or w == 1 + T + pl):
            continue
        fund_migrants, requires_hukou, subsidy, deed_subsidy, fee_relief = levers[pl]
        # support reserved for hukou holders goes to those who hold hukou here now (a household
        # asking to settle this year may still be refused by the quota)
        hukou_here = hukou_urban[h] and hukou[h] == pl
        value = price[pl] * area
        fund = (fund_migrants > 0 or hukou_here) and stable_job[h]
        down = value * (provident_share if fund else down_share)
        deed = value * deed_rate
        fees = value * fee_rate
        support = subsidy + deed * deed_subsidy + fees * fee_relief if (requires_hukou == 0 or hukou_here) else 0.0
        gross = down + deed + fees
        support = min(support, gross)
        cost = gross - support
        if savings[h] >= cost and uniform(key, h, CHOICE_SLOTS, 1) < purchase_rate:
            savings[h] -= cost
            owned_town[h] = pl
            tenure[h] = OWNED
            support_out[h] = support


def buy_homes(m: SettlementModel, key: np.uint64) -> None:
    """Town residents staying in their town who own no home buy a first home (see
    :func:`_buy_homes`)."""
    hh, eco, lv = m.hh, m.economy, m.levers
    levers = np.column_stack([lv.col("housing", name).astype(np.float64) for name in (
        "provident_fund_migrants", "purchase_support_requires_hukou", "purchase_subsidy_yuan",
        "deed_tax_subsidy_share", "purchase_fee_relief_share")])
    e = (eco.home_floor_area_m2, eco.down_payment_share, eco.provident_down_payment_share,
         eco.deed_tax_rate, eco.transaction_fee_rate)
    support = np.empty(hh.n)
    _buy_homes(key, m.T, m.want, hh.place, hh.hukou, hh.hukou_urban, hh.owned_town, hh.stable_job,
               hh.savings, hh.tenure, m.price.astype(np.float64), levers, tuple(float(x) for x in e),
               float(m.behaviour.purchase_rate), support)
    bought = support[support >= 0]
    m.year_counts["homes_bought"] = bought.size * m.scale
    m.year_counts["purchase_support_yuan"] = float(bought.sum()) * m.scale


