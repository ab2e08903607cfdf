"""Loading a policy package: the ``extends`` chain, year-dated changes, targets, and the check
of town overrides against a region."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.configuration.files import check_provenance, deep_merge, read_toml, validate
from sim.configuration.names import GROUP_METRICS, METRIC_NAMES, TOWN_METRICS
from sim.configuration.schema import (
    PER_TOWN_GROUPS,
    REGION_WIDE_GROUPS,
    Layered,
    PackageMeta,
    PolicyFile,
    RegionFile,
    StatisticalChange,
    Target,
)
from sim.errors import ConfigError

MAX_EXTENDS = 32
"""The deepest ``extends`` chain a package may have."""


class Policy:
    """A resolved policy package: a stack of layers (the root of the ``extends`` chain first,
    then each child, then any overrides), each a base lever tree with its year-dated changes;
    plus the package's defaults (region, horizon), targets and unencoded clauses.

    The levers in force in a year fold the layers in order: a layer's base tree, then its
    changes up to that year, then the next layer. So a child's setting beats a parent's dated
    change, and an override beats both.
    """

    def __init__(self, path: Path, meta: PackageMeta,
                 layers: list[tuple[dict[str, Any], list[tuple[int, dict[str, Any]]]]],
                 targets: list[Target], not_encoded: list[dict[str, str]], files: list[Path],
                 statistical: list[StatisticalChange] | None = None):
        self.path = path
        self.statistical = list(statistical or [])
        self.meta = meta
        self.name = meta.name
        self.layers = [(base, sorted(changes, key=lambda c: c[0])) for base, changes in layers]
        self.targets = targets
        self.not_encoded = not_encoded
        self.files = files

    @property
    def levers(self) -> dict[str, Any]:
        """The base lever trees of all layers merged (before any dated change)."""
        tree: dict[str, Any] = {}
        for base, _ in self.layers:
            tree = deep_merge(tree, base)
        return tree

    @property
    def changes(self) -> list[tuple[int, dict[str, Any]]]:
        """All year-dated changes of all layers, by year."""
        return sorted((c for _, changes in self.layers for c in changes), key=lambda c: c[0])

    def levers_in(self, year: int) -> dict[str, Any]:
        """The lever tree in force in ``year``."""
        tree: dict[str, Any] = {}
        for base, changes in self.layers:
            tree = deep_merge(tree, base)
            for when, delta in changes:
                if when <= year:
                    tree = deep_merge(tree, delta)
        return tree

    def lever_entries(self) -> list[tuple[str, Any, str, str]]:
        """Every lever value the package's files set, in file order: (path as an experiment names
        it, value, its source, the file that sets it). A year-dated change is a path prefixed
        ``changes(YEAR).``; a later file's value overrides an earlier one's."""
        out: list[tuple[str, Any, str, str]] = []

        def walk(tree: dict[str, Any], prefix: str, inherited: str, file: str) -> None:
            for key, value in tree.items():
                if key in ("source", "sources"):
                    continue
                path = f"{prefix}{key}"
                if isinstance(value, dict):
                    walk(value, path + ".", value.get("source") or inherited, file)
                else:
                    out.append((path, value, tree.get("sources", {}).get(key) or tree.get("source")
                                or inherited, file))

        for (base, changes), file in zip(self.layers, self.files):
            walk(base, "", "", file.name)
            for year, tree in changes:
                walk(tree, f"changes({year}).", "", file.name)
        return out

    def with_levers(self, override: dict[str, Any], name: str | None = None) -> Policy:
        """A copy of this package with ``override`` (a partial lever tree) as a top layer,
        validated like a file's. Used by lever tests and sweeps."""
        _check_lever_tree(override, self.path, "levers")
        meta = self.meta.model_copy(update={"name": name or self.meta.name})
        return Policy(self.path, meta, [*self.layers, (override, [])], self.targets,
                      self.not_encoded, self.files, self.statistical)

    def statistical_shift(self, metric: str, year: int) -> float:
        """Sum of the statistical shifts of ``metric`` in force in ``year``."""
        return sum(c.shift for c in self.statistical if c.metric == metric and c.year <= year)

    @property
    def region_path(self) -> Path | None:
        return (self.path.parent / self.meta.region).resolve() if self.meta.region else None


def _check_lever_tree(tree: dict[str, Any], path: Path, prefix: str) -> None:
    """Validate a (possibly partial) lever tree: groups, layers, tiers and every key."""
    for group, body in tree.items():
        key = f"{prefix}.{group}"
        if group in PER_TOWN_GROUPS:
            if not isinstance(body, dict):
                raise ConfigError(f"{path}: key '{key}': must be a table with default/tiers/towns")
            layered = validate(Layered, body, path, key)
            model = PER_TOWN_GROUPS[group]
            validate(model, layered.default, path, f"{key}.default")
            for tier, layer in layered.tiers.items():
                validate(model, layer, path, f"{key}.tiers.{tier}")
            for town, layer in layered.towns.items():
                validate(model, layer, path, f"{key}.towns.{town}")
        elif group in REGION_WIDE_GROUPS:
            validate(REGION_WIDE_GROUPS[group], body, path, key)
        else:
            allowed = ", ".join([*PER_TOWN_GROUPS, *REGION_WIDE_GROUPS])
            raise ConfigError(f"{path}: key '{key}': unknown lever group; allowed: {allowed}")


def load_policy(path: str | Path, _chain: tuple[Path, ...] = ()) -> Policy:
    """Load a policy package, following ``extends`` (child values override the parent's)."""
    path = Path(path).resolve()
    if path in _chain:
        raise ConfigError(f"{_chain[-1]}: key 'package.extends': circular extends chain back to {path}")
    if len(_chain) >= MAX_EXTENDS:
        raise ConfigError(f"{_chain[0]}: key 'package.extends': the chain is more than {MAX_EXTENDS} "
                          "packages deep; flatten it")
    raw = read_toml(path)
    if _chain and "package" not in raw:  # say what it is, without echoing another file's values
        raise ConfigError(f"{_chain[-1]}: key 'package.extends': {path} is not a policy package "
                          "(it has no [package] table)")
    data = validate(PolicyFile, raw, path)
    _check_lever_tree(data.levers, path, "levers")
    for i, change in enumerate(data.changes):
        _check_lever_tree(change.levers, path, f"changes[{i}].levers")
    check_provenance({k: v for k, v in raw.items() if k != "not_encoded"}, path)
    for key, rel in (("package.extends", data.package.extends), ("package.region", data.package.region)):
        if rel is not None and not (path.parent / rel).is_file():
            raise ConfigError(f"{path}: key '{key}': file not found: {(path.parent / rel).resolve()}")
    layers = [(data.levers, [(c.year, c.levers) for c in data.changes])]
    targets, files, statistical = list(data.targets), [path], list(data.statistical)
    meta = data.package
    if meta.extends:
        parent = load_policy(path.parent / meta.extends, (*_chain, path))
        layers = parent.layers + layers
        targets = targets or parent.targets
        statistical = statistical or parent.statistical
        files = parent.files + files
        meta = meta.model_copy(update={
            "region": meta.region if meta.region else _rebase(parent, parent.meta.region, path),
            "start": meta.start if meta.start is not None else parent.meta.start,
            "end": meta.end if meta.end is not None else parent.meta.end,
        })
    for i, t in enumerate(targets):
        allowed = TOWN_METRICS if t.town is not None else GROUP_METRICS if t.group is not None else METRIC_NAMES
        if t.metric not in allowed:
            kind = " of a town" if t.town is not None else " of a group" if t.group is not None else ""
            raise ConfigError(f"{path}: key 'targets[{i}].metric': unknown metric '{t.metric}'{kind}; "
                              f"allowed: {', '.join(allowed)}")
    return Policy(path, meta, layers, targets, data.not_encoded, files, statistical)


def _rebase(parent: Policy, rel: str | None, child: Path) -> str | None:
    if rel is None:
        return None
    return str((parent.path.parent / rel).resolve())


def own_region_name(policy: Policy) -> str | None:
    """The name of the region the package names as its own (None if it names none)."""
    if policy.region_path is None or not policy.region_path.is_file():
        return None
    return read_toml(policy.region_path).get("region", {}).get("name")


def check_policy_against_region(policy: Policy, region: RegionFile) -> list[str]:
    """Town overrides must name towns of the region the package was written for: on its own
    region an unknown town is refused (a typo would silently change nothing). Packages stay
    portable: on another region, overrides for towns it lacks are skipped (tier entries always
    apply); the skipped entries are returned so the run can record them."""
    towns = {t.name for t in region.towns}
    own = own_region_name(policy)
    strict = own is None or own == region.region.name
    trees = [("levers", policy.levers)] + [
        (f"changes(year {y}).levers", tree) for y, tree in policy.changes
    ]
    skipped = []
    for prefix, tree in trees:
        for group, body in tree.items():
            if group in PER_TOWN_GROUPS and isinstance(body, dict):
                for town in body.get("towns", {}):
                    if town in towns:
                        continue
                    key = f"{prefix}.{group}.towns.{town}"
                    if strict:
                        raise ConfigError(
                            f"{policy.path}: key '{key}': unknown town for region "
                            f"'{region.region.name}'; allowed: {sorted(towns)}"
                        )
                    skipped.append(key)
    for i, t in enumerate(policy.targets):
        if strict and t.town is not None and t.town not in towns:
            raise ConfigError(f"{policy.path}: key 'targets[{i}].town': unknown town '{t.town}' for region "
                              f"'{region.region.name}'; allowed: {sorted(towns)}")
    return skipped

