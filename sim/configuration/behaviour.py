"""Loading behaviour parameters, and where the default file lives."""

from __future__ import annotations

from pathlib import Path

from sim.configuration.files import check_provenance, read_toml, validate
from sim.configuration.paths import BEHAVIOUR_DIR
from sim.configuration.schema import Behaviour
from sim.errors import ConfigError


def load_behaviour(path: str | Path | None) -> Behaviour:
    """Load behaviour parameters; ``None`` gives the built-in defaults file."""
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
    """The behaviour file runs use unless told otherwise: the calibrated one where it exists."""
    calibrated = BEHAVIOUR_DIR / "calibrated.toml"
    return calibrated if calibrated.is_file() else BEHAVIOUR_DIR / "default.toml"

