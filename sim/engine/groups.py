"""Membership of the groups settlement is reported by (``SETTLEMENT_GROUPS``), one bit each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.configuration import COLLECTIVE_DIVIDEND_MIN_YUAN, SETTLEMENT_GROUPS
from sim.engine.compiled import njit, prange

if TYPE_CHECKING:
    from sim.engine.model import SettlementModel

assert len(SETTLEMENT_GROUPS) - 1 <= 16  # one bit of a uint16 per group after "all"


@njit(cache=True, parallel=True)
def _group_bits(T, place, town_tier, birth_year, kids_school, land_mu, land_exited, homestead_value,
                homestead_exited, native, same_province, dividend, collective_exited, dividend_min, out):
    for h in prange(out.size):
        new_gen = birth_year[h] >= 1980
        kids = kids_school[h] > 0
        homestead = homestead_value[h] > 0 and not homestead_exited[h]
        shares = native[h] and dividend[h] >= dividend_min and not collective_exited[h]
        tier = town_tier[min(place[h], T - 1)] if place[h] < T else -1
        out[h] = (new_gen * 1 + kids * 2 + (land_mu[h] > 0 and not land_exited[h]) * 4
                  + native[h] * 8 + (not native[h]) * 16 + (not new_gen) * 32 + (not kids) * 64
                  + homestead * 128 + (not homestead) * 256
                  + (tier == 0) * 512 + (tier == 1) * 1024 + (tier == 2) * 2048 + (tier == 3) * 4096
                  + same_province[h] * 8192 + shares * 16384)


def group_bits(m: SettlementModel) -> np.ndarray:
    """Membership of the reported groups, one bit per group after "all" (bit ``g - 1`` for
    ``SETTLEMENT_GROUPS[g]``), as uint16: new generation (head born 1980 or later), with
    school-age children, with contract land held, native, outsider, older, without school-age
    children, with a homestead held (not exited), without one, and the tier of the town the
    household lives in (none for villagers), an outsider from the region's own province, and a
    native holding collective shares (not exited) whose dividend is at least
    :data:`~sim.configuration.names.COLLECTIVE_DIVIDEND_MIN_YUAN` a year (the package's collective
    rules reach natives' shares only: :func:`sim.engine.decision.rights_governed`)."""
    hh = m.hh
    out = np.empty(hh.n, dtype=np.uint16)
    _group_bits(m.T, hh.place, m.places.tier.astype(np.int64), hh.birth_year, hh.kids_school,
                hh.land_mu, hh.land_exited, hh.homestead_value, hh.homestead_exited, hh.native, hh.same_province,
                hh.dividend, hh.collective_exited, COLLECTIVE_DIVIDEND_MIN_YUAN, out)
    return out
