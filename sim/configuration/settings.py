"""Run settings (seed, replications, scale, workers, years), declared once with their bounds.

The command line builds its argument types from :data:`SETTINGS`; the model and the experiments
check the same bounds with :func:`check`, so a value outside its range is refused wherever it
comes from, with a message naming the setting, what is allowed and what came. Tests generate
their table of bad invocations from the same declarations (one value just outside each bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.errors import SimError, UsageError

FIRST_YEAR, LAST_YEAR = 1949, 2100
"""Simulated years lie in this range (the People's Republic's statistics start in 1949)."""

MAX_HORIZON = 100
"""The longest run, in years."""

MIN_AGENTS = 10
"""The fewest agents a run may have: below it every rate is noise, or undefined."""


@dataclass(frozen=True)
class Setting:
    """One run setting: its type, bounds (``lo_open``: the lower bound itself is refused) and help."""

    name: str
    kind: type
    lo: float
    hi: float
    lo_open: bool = False
    help: str = ""

    def allowed(self) -> str:
        lo = f"> {self.lo:g}" if self.lo_open else f">= {self.lo:g}"
        what = "an integer" if self.kind is int else "a number"
        return f"{what} {lo} and <= {self.hi:g}"

    def parse(self, text: str | int | float) -> int | float:
        """The value of ``text``, or :class:`UsageError` naming the setting and what is allowed."""
        try:
            value = self.kind(text) if not isinstance(text, str) else (
                int(text, 10) if self.kind is int else float(text))
        except (TypeError, ValueError):
            raise UsageError(f"{self.name}: must be {self.allowed()} (got {text!r})") from None
        return self.check(value)

    def check(self, value: int | float) -> int | float:
        bad = (not math.isfinite(value) or value > self.hi
               or (value <= self.lo if self.lo_open else value < self.lo))
        if bad:
            raise UsageError(f"{self.name}: must be {self.allowed()} (got {value!r})")
        return value


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("seed", int, 0, 2**63 - 1, help="root seed: with the replication number it fixes the "
            "households and every draw, whatever the package (common random numbers)"),
    Setting("replications", int, 1, 10_000, help="replications per package or design point"),
    Setting("scale", float, 0, 1e7, lo_open=True,
            help="real households one agent stands for (default: the region's default_scale)"),
    Setting("workers", int, 1, 1024, help="local worker processes"),
    Setting("start", int, FIRST_YEAR, LAST_YEAR,
            help="first simulated year (default: the package's); after the region's base year"),
    Setting("end", int, FIRST_YEAR, LAST_YEAR, help="last simulated year (default: the package's)"),
    Setting("year", int, FIRST_YEAR, LAST_YEAR, help="a calendar year"),
)}
"""Every bounded run setting, by the name the command line and the model use."""


def check(name: str, value: int | float | None) -> int | float | None:
    """``value`` checked against :data:`SETTINGS` [name] (None passes: "use the default")."""
    return None if value is None else SETTINGS[name].check(value)


def check_years(start: int, end: int, base_year: int, where: str,
                error: type[SimError] = UsageError) -> None:
    """A run's years: inside [:data:`FIRST_YEAR`, :data:`LAST_YEAR`], after the region's base
    year, in order, and at most :data:`MAX_HORIZON` long; ``error`` is raised, naming ``where``."""
    for name, y in (("start", start), ("end", end)):
        try:
            check(name, y)
        except UsageError as exc:
            raise error(f"{where}: {exc}") from None
    if start <= base_year:
        raise error(f"{where}: start year {start} must be after the region's base year {base_year}")
    if end < start:
        raise error(f"{where}: end year {end} is before start year {start}")
    if end - start + 1 > MAX_HORIZON:
        raise error(f"{where}: a run of {end - start + 1} years ({start}-{end}) is longer than "
                         f"the {MAX_HORIZON} allowed")
