"""Membership of the groups settlement is reported by (``SETTLEMENT_GROUPS``), one bit each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine.compiled import njit, prange

if TYPE_CHECKING:
    from sim.engine.model import SettlementModel


@njit(cache=True, parallel=True)
def _group_bits(birth_year, kids_school, land_mu, land_exited, native, out):
    for h in prange(out.size):
        out[h] = ((birth_year[h] >= 1980) * 1 + (kids_school[h] > 0) * 2
                  + (land_mu[h] > 0 and not land_exited[h]) * 4 + native[h] * 8 + (not native[h]) * 16)


def group_bits(m: SettlementModel) -> np.ndarray:
    """Membership of the reported groups, one bit per group after "all" (bit ``g - 1`` for
    ``GROUPS[g]``), as uint8: new generation (head born 1980 or later), with school-age
    children, with contract land held, native, outsider."""
    hh = m.hh
    out = np.empty(hh.n, dtype=np.uint8)
    _group_bits(hh.birth_year, hh.kids_school, hh.land_mu, hh.land_exited, hh.native, out)
    return out

