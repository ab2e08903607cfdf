"""Stage 6, rights: settled households surrender, or exit for compensation, land, homestead and
collective shares as the package says."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine import decision
from sim.engine.compiled import slot_uniform
from sim.engine.levers import KEPT_FOR_LIFE, SURRENDERED

if TYPE_CHECKING:
    from sim.engine.model import SettlementModel


def rights(m: SettlementModel) -> None:
    """Settled native households surrender a right where the rule of the town they settled in
    (or of its tier) demands it (with the compensation a paid exit gives), or exit it voluntarily
    where a paid exit is offered and the compensation beats keeping it. A homestead exit may be
    paid as a housing voucher (房票) worth more than cash, added to savings for buying a home. A
    kept right ends, without compensation, from its ``kept_until_year`` on (the end of the
    contract round)."""
    hh, lv, beh = m.hh, m.levers, m.behaviour
    key = m.key("rights")
    rows = np.flatnonzero(hh.hukou_urban & hh.native & (hh.origin >= m.T))
    values = decision.rights_value(hh, rows, m.economy, beh)
    new = hh.settled_year[rows] == m.year
    income = np.maximum(hh.income[rows], 1000.0)
    town = np.clip(hh.hukou[rows], 0, m.T - 1)  # the town where the household settled
    comp_total = 0.0
    for k, (name, flag) in enumerate((("land", "land_exited"), ("homestead", "homestead_exited"),
                                      ("collective", "collective_exited"))):
        rule = getattr(lv.rights, name)
        code = lv.on_settle(name)[town]
        held = ~getattr(hh, flag)[rows] & (values[name] > 0)
        if rule.kept_until_year is not None and m.year >= rule.kept_until_year:
            ended = held & (code != SURRENDERED)  # the contract round is over
            getattr(hh, flag)[rows[ended]] = True
            held &= ~ended
        # what a paid exit pays, a homestead voucher's bonus included (the household weighs it)
        comp = values[name] * decision.exit_compensation_share(lv.rights, name)
        forced = held & new & (code == SURRENDERED)
        # keeping is worth less away from the village when land cannot be rented out
        keep = values[name] * (0.5 if (name == "land" and not lv.rights.land_rental) else 1.0)
        gain = (comp - keep) / income
        p = beh.exit_rate / (1.0 + np.exp(np.clip(-beh.beta_rights * gain * 4.0, -50, 50)))
        voluntary = held & ~forced & rule.paid_exit & (slot_uniform(key, rows, 3, k) < p)
        out = forced | voluntary
        idx = rows[out]
        getattr(hh, flag)[idx] = True
        paid = comp[out]
        hh.savings[idx] += paid.astype(np.float32)
        comp_total += float(paid.sum())
        if name == "land":
            m.year_counts["land_exited_mu"] = float(hh.land_mu[idx].sum()) * m.scale
        elif name == "homestead":
            m.year_counts["homesteads_exited"] = idx.size * m.scale
        else:
            m.year_counts["collective_shares_exited"] = idx.size * m.scale
        if name == "collective":
            hh.collective_for_life[rows[new & held & (code == KEPT_FOR_LIFE)]] = True
    m.year_counts["compensation_paid_yuan"] = comp_total * m.scale


