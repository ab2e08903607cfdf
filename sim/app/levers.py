"""The levers a planner can change in ``sim app``: every lever field of the policy schema, grouped
as the documents group them, with its type, the range the schema allows, the plausible range
of the lever catalogue (:data:`sim.experiments.response.CATALOGUE`) and what the package sets.

Nothing here is typed twice: kinds and bounds are read from the pydantic models of
:mod:`sim.configuration.schema`, and a value is accepted only if the package with it passes the
same validation as a file (:meth:`sim.configuration.Policy.with_levers`), so the message a
planner sees is the one ``sim check`` would give, naming the lever and what is allowed.

A change applies **region-wide**: the value is written to the group's ``default`` and to every
tier and town where the package (any layer or dated change) sets the field, as the lever
responses do (:func:`sim.experiments.response.region_wide`), in a top layer that beats the
package's dated changes. So "purchase subsidy = 20,000" means 20,000 in every town and year.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.configuration import (
    PER_TOWN_GROUPS,
    REGION_WIDE_GROUPS,
    ConfigError,
    Policy,
    deep_merge,
)
from sim.configuration.settings import FIRST_YEAR, LAST_YEAR
from sim.experiments.response import CATALOGUE, region_wide
from sim.experiments.spec import lever_override

SECTIONS: dict[str, tuple[str, ...]] = {
    "hukou entry": ("hukou", "hukou_outsiders", "hukou_province", "priority"),
    "housing": ("housing",),
    "rights": ("rights",),
    "schools": ("schools",),
    "services": ("services",),
    "jobs": ("jobs",),
    "fiscal": ("fiscal",),
    "in-situ": ("in_situ",),
}
"""The documents' headings (DESIGN §4) and the schema's lever groups under each; who is served
first (``priority``) sits with hukou entry, where the documents put 优先解决 ... 落户."""

GROUP_TITLES = {
    "hukou": "natives' entry rules (hukou)",
    "hukou_outsiders": "out-of-province migrants' entry rules (hukou_outsiders)",
    "hukou_province": "entry rules for outsiders from the region's own province, on top of the "
                      "outsiders' (hukou_province)",
    "priority": "who is served first (priority)",
}


@dataclass(frozen=True)
class LeverSpec:
    """One lever field: where it is (``group.field``, nested as ``rights.land.paid_exit``), its
    kind and what the schema allows, and the catalogue's plausible range."""

    name: str
    section: str
    kind: Literal["bool", "choice", "int", "float", "groups", "year_or_none", "tier_rules"]
    default: Any  # the schema's default: the "no policy" state
    options: tuple[Any, ...] = ()  # choices (kind "choice" or "groups"); tier_rules: (tiers, rules)
    lower: float | None = None
    lower_strict: bool = False
    upper: float | None = None
    upper_strict: bool = False
    what: str = ""  # the catalogue's description
    plausible: str = ""  # the catalogue's plausible range, with where it comes from

    @property
    def group(self) -> str:
        return self.name.split(".")[0]

    @property
    def field(self) -> str:
        return self.name.split(".", 1)[1]

    def allowed(self) -> str:
        """What the schema allows, in words."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(map(str, self.options))
        if self.kind == "groups":
            return "a list of groups from " + ", ".join(self.options) + ", each at most once"
        if self.kind == "year_or_none":  # a package file cannot say 'none' (TOML has no null)
            return (f"a year from {FIRST_YEAR} to {LAST_YEAR} (a year after the run keeps the right "
                    "throughout it)")
        if self.kind == "tier_rules":
            tiers, rules = self.options
            return (f"tier=rule pairs separated by commas (tiers: {', '.join(tiers)}; rules: "
                    f"{', '.join(rules)}), or empty for none")
        kind = "a whole number" if self.kind == "int" else "a number"
        parts = []
        if self.lower is not None:
            parts.append(f"{'>' if self.lower_strict else '≥'} {self.lower:g}")
        if self.upper is not None:
            parts.append(f"{'<' if self.upper_strict else '≤'} {self.upper:g}")
        return kind + (" " + " and ".join(parts) if parts else "")

    def parse(self, text: Any) -> Any:
        """A value as typed into the form (text, or a list for groups) turned into the schema's
        type; raises ValueError naming the lever and what is allowed."""
        if self.kind == "groups":
            values = list(text) if isinstance(text, (list, tuple)) else \
                [s.strip() for s in str(text).split(",") if s.strip()]
            bad = [v for v in values if v not in self.options]
            if bad:
                raise ValueError(f"{self.name}: unknown group(s) {bad}; allowed: {self.allowed()}")
            return values
        if isinstance(text, bool) and self.kind == "bool":
            return text
        raw = str(text).strip()
        if self.kind == "year_or_none":
            if not raw.isdigit() or not FIRST_YEAR <= int(raw) <= LAST_YEAR:
                raise ValueError(f"{self.name}: '{raw}' is not allowed; allowed: {self.allowed()}")
            return int(raw)
        if self.kind == "tier_rules":
            if isinstance(text, dict):
                pairs = list(text.items())
            else:
                pairs = [tuple(p.strip() for p in item.split("=", 1)) if "=" in item else (item.strip(), "")
                         for item in raw.split(",") if item.strip()]
            tiers, rules = self.options
            bad = [f"{t}={r}" for t, r in pairs if t not in tiers or r not in rules]
            if bad or len({t for t, _ in pairs}) < len(pairs):
                raise ValueError(f"{self.name}: '{raw}' is not allowed; allowed: {self.allowed()}")
            return dict(pairs)
        try:
            if self.kind == "bool":
                if raw.lower() not in ("true", "false"):
                    raise ValueError
                return raw.lower() == "true"
            if self.kind == "choice":
                if raw not in map(str, self.options):
                    raise ValueError
                return raw
            number = float(raw.replace(",", "").replace("_", ""))
            if self.kind == "int":
                if not number.is_integer():
                    raise ValueError
                return int(number)
            return number
        except ValueError:
            raise ValueError(f"{self.name}: '{raw}' is not allowed; allowed: {self.allowed()}") from None


def _bounds(info: FieldInfo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in info.metadata:
        for attr, key, strict in (("ge", "lower", False), ("gt", "lower", True),
                                  ("le", "upper", False), ("lt", "upper", True)):
            value = getattr(m, attr, None)
            if value is not None:
                out[key] = float(value)
                out[f"{key}_strict"] = strict
    return out


def _kind(annotation: Any) -> tuple[str, tuple[Any, ...]]:
    if get_origin(annotation) is dict:  # rights.<right>.on_settle_tiers: a rule per tier
        tier, rule = get_args(annotation)
        return "tier_rules", (get_args(tier), get_args(rule))
    if get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in get_args(annotation):
        return "year_or_none", ()  # kept_until_year, the only optional lever field
    if annotation is bool:
        return "bool", ()
    if get_origin(annotation) is Literal:
        return "choice", get_args(annotation)
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        return "groups", get_args(item)
    if annotation is int:
        return "int", ()
    return "float", ()


def _section(group: str) -> str:
    return next(s for s, groups in SECTIONS.items() if group in groups)


def catalogue() -> list[LeverSpec]:
    """Every lever field of the schema, in the documents' order of sections, then schema order."""
    out: list[LeverSpec] = []

    def walk(model: type[BaseModel], prefix: str, group: str) -> None:
        hints = typing.get_type_hints(model, include_extras=False)
        for name, info in model.model_fields.items():
            if name in ("source", "sources"):
                continue
            ann = hints[name]
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{prefix}{name}.", group)
                continue
            kind, options = _kind(ann)
            full = prefix + name
            entry = CATALOGUE.get(full)
            plausible = ""
            if entry is not None:
                lo, hi = entry.values[0], entry.values[-1]
                plausible = (f"{_text(lo)} to {_text(hi)}" if not entry.categorical
                             else "; ".join(f"[{_text(v)}]" if isinstance(v, (list, tuple)) else _text(v)
                                            for v in entry.values)) + f" ({entry.range_source})"
            out.append(LeverSpec(full, _section(group), kind, info.get_default(call_default_factory=True), options,
                                 what=entry.what if entry is not None else "",
                                 plausible=plausible, **_bounds(info)))

    groups = {**PER_TOWN_GROUPS, **REGION_WIDE_GROUPS}
    for names in SECTIONS.values():
        for group in names:
            walk(groups[group], f"{group}.", group)
    return out


def _text(value: Any) -> str:
    """A lever value as the form shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def text(value: Any) -> str:
    """A lever value as the form shows it (``true``, ``20000``, ``students, soldiers``)."""
    return _text(value)


@dataclass(frozen=True)
class PackageValue:
    """What a package sets for one lever: the value in force in its first year (at the group's
    default), where the package sets the field otherwise (tiers, towns, dated changes), and the
    sources it cites for it."""

    value: Any
    elsewhere: tuple[str, ...]
    sources: tuple[str, ...]


def package_value(policy: Policy, spec: LeverSpec) -> PackageValue:
    """What ``policy`` sets for ``spec`` (the schema default where it sets nothing); computed
    once per package and lever (the form asks on every render)."""
    key = (id(policy), spec.name)
    cached = _VALUES.get(key)
    if cached is None or cached[0] is not policy:
        _VALUES[key] = (policy, _package_value(policy, spec))
    return _VALUES[key][1]


_VALUES: dict[tuple[int, str], tuple[Policy, PackageValue]] = {}


def _package_value(policy: Policy, spec: LeverSpec) -> PackageValue:
    start = policy.meta.start or 0
    tree = policy.levers_in(start)
    node: Any = tree.get(spec.group, {})
    if spec.group in PER_TOWN_GROUPS:
        node = node.get("default", {})
    for key in spec.field.split("."):
        node = node.get(key, {}) if isinstance(node, dict) else {}
    value = spec.default if node == {} else node
    elsewhere, sources = [], []
    for path, v, source, file in policy.lever_entries():
        dated, _, body = path.partition(").") if path.startswith("changes(") else ("", "", path)
        group, _, rest = body.partition(".")
        if group != spec.group or not rest.endswith(spec.field):
            continue
        where = rest[: -len(spec.field)].rstrip(".")  # default, tiers.X, towns.X, or "" (region-wide)
        if group in PER_TOWN_GROUPS and where.split(".")[0] not in ("default", "tiers", "towns"):
            continue
        if group not in PER_TOWN_GROUPS and where:
            continue
        if dated or where not in ("", "default"):
            year = dated.removeprefix("changes(")
            elsewhere.append(f"{'from ' + year + ': ' if dated else ''}{where or 'region-wide'} = {_text(v)}")
        cite = f"{source} ({file})" if source else f"no source given ({file})"
        if cite not in sources:
            sources.append(cite)
    return PackageValue(value, tuple(elsewhere), tuple(sources))


def override_tree(policy: Policy, edits: dict[str, Any]) -> dict[str, Any]:
    """The lever tree that applies ``edits`` (lever name -> typed value) region-wide in
    ``policy``'s region (see the module docstring)."""
    tree: dict[str, Any] = {}
    for name, value in edits.items():
        for path, v in region_wide(policy, name, value).items():
            tree = deep_merge(tree, lever_override(path, v))
    return tree


def validate_edits(policy: Policy, specs: dict[str, LeverSpec], raw: dict[str, Any]
                   ) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed values and errors for the form's raw entries. An entry is checked on its own (its
    type and the schema's range, through :meth:`Policy.with_levers`), so each error names its
    lever and what is allowed; then all together (a combination the schema refuses)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, text_value in raw.items():
        spec = specs[name]
        try:
            value = spec.parse(text_value)
            policy.with_levers(override_tree(policy, {name: value}))
        except ConfigError as exc:  # (a ValueError too: caught first)
            errors[name] = f"{name}: {_plain(str(exc))}; allowed: {spec.allowed()}"
            continue
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        values[name] = value
    if values and not errors:
        try:
            policy.with_levers(override_tree(policy, values))
        except ConfigError as exc:
            errors["(together)"] = _plain(str(exc))
    return values, errors


def _plain(message: str) -> str:
    """A schema message without the package's file and key in front (the form names the
    lever): "Input should be less than or equal to 1 (got 1.5)"."""
    head, sep, rest = message.partition(": key '")
    if not sep:
        return message
    key, sep, what = rest.partition("': ")
    return what if sep else message
