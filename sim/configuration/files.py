"""Reading TOML, validating it against a schema with messages that name the file and key,
checking that every number cites its source, and merging ``extends`` layers."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.errors import ConfigError


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning syntax errors into a ConfigError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh, parse_float=_finite)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    except _NonFinite as exc:
        raise ConfigError(f"{path}: {exc.args[0]!r} is not allowed: every number must be finite") from None


class _NonFinite(ValueError):
    pass


def _finite(text: str) -> float:
    """TOML floats, refusing ``nan`` and ``inf`` (no config number may be non-finite)."""
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise _NonFinite(text)
    return value


def _describe(err: dict[str, Any]) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return msg.replace("Input should be", "allowed:")
    got = err.get("input")
    if isinstance(got, (dict, list)):
        return msg
    return f"{msg} (got {got!r})"


def _raise(path: Path, prefix: str, exc: ValidationError, model: type[BaseModel]) -> None:
    lines = []
    for err in exc.errors():
        # a dict's key that fails (e.g. an unknown tier) is named by the key itself, not "[key]"
        key = ".".join(str(p) for p in (prefix, *err["loc"]) if p not in ("", "[key]"))
        if err["type"] == "extra_forbidden":
            parent = _model_at(model, err["loc"][:-1])
            allowed = ", ".join(k for k in parent.model_fields if k not in ("source", "sources"))
            lines.append(f"{path}: key '{key}': unknown key; allowed keys: {allowed}")
        else:
            lines.append(f"{path}: key '{key}': {_describe(err)}")
    raise ConfigError("\n".join(lines)) from None


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """Walk a pydantic model along an error location to the sub-model that raised it."""
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            break
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        candidates = [ann, *args]
        sub = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if sub is None:
            break
        model = sub
    return model


def validate(model: type[BaseModel], data: Any, path: Path, prefix: str = "") -> Any:
    """Validate ``data`` against ``model``; on failure raise ConfigError naming file and key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        _raise(path, prefix, exc, model)


def check_provenance(data: Any, path: Path, prefix: str = "", covered: bool = False) -> None:
    """Every number or switch must be covered by a ``source``: its own table's, a parent's, or
    a ``sources`` entry for that key. Raises ConfigError naming the first uncited key."""
    if isinstance(data, list):
        for i, item in enumerate(data):
            check_provenance(item, path, f"{prefix}[{i}]", covered)
        return
    if not isinstance(data, dict):
        return
    here = covered or bool(data.get("source"))
    cited = data.get("sources", {}) if isinstance(data.get("sources"), dict) else {}
    for key, value in data.items():
        if key in ("source", "sources"):
            continue
        if isinstance(value, str) and key in ("name", "name_zh", "title", "label", "tier", "county",
                                              "metric", "op", "a", "b", "extends", "region",
                                              "urban_village_of", "clause", "why"):
            continue  # names and references, not numbers
        sub = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, (dict, list)) and not _is_leaf_list(value):
            check_provenance(value, path, sub, here or key in cited)
        elif not (here or key in cited):
            raise ConfigError(
                f"{path}: key '{sub}' has no source; add `source = \"...\"` to its table "
                f"(a seed clause, a public statistic, or \"assumption\") or `sources.{key}`"
            )


def _is_leaf_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value)


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated by ``over``, recursing into tables; lists are replaced whole."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


