"""Loading behaviour parameters, and where the default lives.

Behaviour is either one parameter set (a ``[behaviour]`` TOML file) or a *posterior ensemble*
(``configs/behaviour/posterior.csv``, written by ``sim calibrate --abc``): a table of parameter
sets, one per draw, over the hand-set file for every parameter it does not name. With an
ensemble, replication ``r`` of every run uses draw ``r mod N``: the draw is keyed by the
replication, never by the package, so packages stay paired (common random numbers within a
draw) and the spread across replications covers behaviour and chance together.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from sim.configuration.files import check_provenance, read_toml, validate
from sim.configuration.paths import BEHAVIOUR_DIR
from sim.configuration.schema import Behaviour
from sim.errors import ConfigError

POSTERIOR = BEHAVIOUR_DIR / "posterior.csv"
HAND_SET = BEHAVIOUR_DIR / "default.toml"


def load_behaviour(path: str | Path | None) -> Behaviour:
    """Load one behaviour parameter set; ``None`` gives the default single file."""
    path = Path(path) if path is not None else default_behaviour_path()
    raw = read_toml(path)
    table = raw.get("behaviour")
    extra = set(raw) - {"behaviour"}
    if table is None or extra:
        raise ConfigError(f"{path}: expected a single [behaviour] table (found {sorted(raw)})")
    behaviour = validate(Behaviour, table, path, "behaviour")
    check_provenance(raw, path)
    return behaviour


def default_behaviour_path() -> Path:
    """The single behaviour file runs use when one set is wanted: the calibrated one where it
    exists, else the hand-set file."""
    calibrated = BEHAVIOUR_DIR / "calibrated.toml"
    return calibrated if calibrated.is_file() else HAND_SET


@dataclass(frozen=True)
class BehaviourEnsemble:
    """Posterior draws of some behaviour parameters over a base parameter set."""

    path: Path
    base: Behaviour
    draws: tuple[dict[str, float], ...]

    def __len__(self) -> int:
        return len(self.draws)

    def index(self, replication: int) -> int:
        """The draw replication ``replication`` uses."""
        return int(replication) % len(self.draws)

    def draw(self, replication: int) -> Behaviour:
        values = self.draws[self.index(replication)]
        return self.base.model_copy(update=values)


def load_ensemble(path: str | Path) -> BehaviourEnsemble:
    """Read a posterior ensemble CSV (``#`` comment lines, a ``draw`` column, one column per
    parameter); every row is checked as a full behaviour parameter set."""
    path = Path(path)
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the posterior ensemble ({exc})") from None
    rows = list(csv.DictReader(lines))
    if not rows:
        raise ConfigError(f"{path}: the posterior ensemble has no draws")
    base = load_behaviour(HAND_SET)
    names = [c for c in rows[0] if c != "draw"]
    unknown = [c for c in names if c not in Behaviour.model_fields or c in ("source", "sources")]
    if unknown:
        raise ConfigError(f"{path}: unknown behaviour parameter column(s) {', '.join(unknown)}")
    draws = []
    for i, row in enumerate(rows):
        try:
            values = {c: float(row[c]) for c in names}
            Behaviour.model_validate({**base.model_dump(), **values})
        except (ValueError, TypeError, ValidationError) as exc:
            msg = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise ConfigError(f"{path}: draw {i} (line {i + 2} after comments): {msg}") from None
        draws.append(values)
    return BehaviourEnsemble(path, base, tuple(draws))


BehaviourSource = Behaviour | BehaviourEnsemble


def default_behaviour_source() -> Path:
    """What runs use by default: the posterior ensemble where it exists, else the single file."""
    return POSTERIOR if POSTERIOR.is_file() else default_behaviour_path()


def load_behaviour_source(path: str | Path | None) -> BehaviourSource:
    """A behaviour file (one set: ``--behaviour FILE`` pins it) or an ensemble (``.csv``);
    ``None`` gives the default (:func:`default_behaviour_source`)."""
    path = Path(path) if path is not None else default_behaviour_source()
    return load_ensemble(path) if path.suffix == ".csv" else load_behaviour(path)


def behaviour_for(source: BehaviourSource, replication: int) -> Behaviour:
    """The parameter set replication ``replication`` uses."""
    return source.draw(replication) if isinstance(source, BehaviourEnsemble) else source


def uncertainty_label(source: BehaviourSource) -> str:
    """What the spread across replications covers, for every table and figure."""
    if isinstance(source, BehaviourEnsemble):
        return (f"bands cover behaviour and chance: replication r uses posterior draw r mod "
                f"{len(source)} of {source.path.name}")
    return "bands cover chance only: one behaviour parameter set"
