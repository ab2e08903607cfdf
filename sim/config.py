"""Configuration: TOML files for regions, policy packages and behaviour, validated on load.

Three kinds of file, each with a schema below:

* a **region** (``configs/regions/*.toml``): towns, villages, roads, baseline population;
* a **policy package** (``configs/policies/*.toml``): lever values per tier or town, year-dated
  changes, optional ``extends`` of another package, default region and horizon, targets;
* **behaviour** (``configs/behaviour/*.toml``): utility weights and other uncertain parameters.

Lever defaults (the values in force when a package does not set a lever) are the "no policy"
state: every route closed, no subsidy, no service for non-hukou residents, rights kept, nothing
reserved. The few defaults that are parameters rather than switches are assumptions, cited here
because packages rely on them:

* ``housing.public_rental_rent_share = 0.6``: public rental at 60% of market rent (assumption;
  typical of 公租房 rent-setting rules at 60-80% of market);
* ``services.permit_min_years = 1``: services follow one year of residence (assumption; the 2015
  residence-permit regulation asks for half a year);
* ``fiscal.transfer_share_schools = fiscal.transfer_share_housing = 0.5``: a settler-linked
  transfer split evenly between school seats and public rental (assumption);
* ``fiscal.seat_cost_yuan = 60000`` and ``fiscal.rental_unit_cost_yuan = 150000``: unit costs of a
  school seat and a 50 m2 public rental flat (assumption; packages override the seat cost);
* ``in_situ.nonfarm_threshold = 0.7``: seed 000 §四(二)'s 70% non-farm share (对经济和就业非农化水平超过70%的农村新型社区,纳入城镇化管理);
* ``priority.long_resident_years = 5``: seed 002 §(四)'s "连续居住5年以上" priority group.

Validation happens here, at the boundary, and nowhere else: a bad file raises
:class:`ConfigError` naming the file, the key and what is allowed, before anything runs.
Every number must say where it came from: a table holding values needs a ``source`` string (or a
``sources`` table naming a source per key); a parent table's ``source`` covers its sub-tables.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

TIERS = ("central_city", "sub_center", "small_town", "rural_community")
Tier = Literal["central_city", "sub_center", "small_town", "rural_community"]
GROUPS = ("students", "soldiers", "long_resident", "whole_family", "new_generation")
Group = Literal["students", "soldiers", "long_resident", "whole_family", "new_generation"]

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
NonNegInt = Annotated[int, Field(ge=0)]


class ConfigError(ValueError):
    """A configuration file is invalid. The message names the file, the key and what is allowed."""


class Strict(BaseModel):
    """Base for every config table: unknown keys are refused, numbers are not coerced from text."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Cited(Strict):
    """A table that may carry its provenance."""

    source: str | None = None
    sources: dict[str, str] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Levers (DESIGN §4). Per-town groups are resolved default -> tier -> town.
# --------------------------------------------------------------------------------------------


class PointsWeights(Cited):
    """Points-system weights (积分落户): points per unit of each household attribute."""

    per_year_resident: NonNeg = 0.0
    per_insurance_year: NonNeg = 0.0
    per_education_level: NonNeg = 0.0
    per_skill_level: NonNeg = 0.0
    owns_home: NonNeg = 0.0
    stable_job: NonNeg = 0.0


class HukouRules(Cited):
    """Who may take urban hukou in a town (DESIGN §4, hukou entry).

    Eligibility = ``open`` OR an exempt priority group OR kin reunification OR the talent route
    OR the points route OR the basic route. The basic route exists when ``residence``, ``job`` or
    ``purchase_required`` is set: the residence / job conditions combined by ``combine``, AND the
    minimum years resident, minimum insurance years, home purchase, and (if ``talent`` is
    "required") the talent condition.
    """

    open: bool = False
    residence: bool = False
    rental_counts: bool = False
    job: bool = False
    combine: Literal["or", "and"] = "or"
    min_years_resident: Annotated[int, Field(ge=0, le=30)] = 0
    min_insurance_years: Annotated[int, Field(ge=0, le=30)] = 0
    purchase_required: bool = False
    min_floor_area_m2: Annotated[float, Field(ge=0, le=500)] = 0.0
    talent: Literal["none", "route", "required"] = "none"
    tax_threshold_yuan: NonNeg = 0.0
    skill_min_level: Annotated[int, Field(ge=0, le=3)] = 0
    points_threshold: NonNeg = 0.0
    points_weights: PointsWeights = Field(default_factory=PointsWeights)
    exempt_groups: list[Group] = Field(default_factory=list)
    kin_generations: Annotated[int, Field(ge=0, le=3)] = 0
    annual_quota: NonNegInt = 0  # 0 = no quota


class HousingLevers(Cited):
    """Housing support in a town (DESIGN §4, housing)."""

    purchase_subsidy_yuan: NonNeg = 0.0
    deed_tax_subsidy_share: Share = 0.0
    purchase_fee_relief_share: Share = 0.0
    purchase_support_requires_hukou: bool = False
    rental_subsidy_yuan: NonNeg = 0.0
    rental_subsidy_to: Literal["none", "hukou", "permit"] = "none"
    public_rental_open_to: Literal["hukou", "residents"] = "hukou"
    public_rental_min_job_years: Annotated[int, Field(ge=0, le=10)] = 0
    public_rental_natives_only: bool = False
    public_rental_build_per_year: NonNegInt = 0
    public_rental_rent_share: Share = 0.6
    provident_fund_migrants: bool = False


class SchoolLevers(Cited):
    """Access of non-hukou children to public schools (DESIGN §4, school access)."""

    nonhukou_admission_share: Share = 0.0
    enrolment_basis: Literal["hukou", "residence_permit"] = "hukou"
    seat_growth_per_year: Annotated[float, Field(ge=0, le=0.5)] = 0.0
    funding_per_migrant_child_yuan: NonNeg = 0.0
    local_exam_nonhukou: bool = False


class ServiceLevers(Cited):
    """Residence-permit services and portability (DESIGN §4, services)."""

    permit_coverage: Share = 0.0
    permit_min_years: Annotated[int, Field(ge=0, le=10)] = 1
    insurance_portable: bool = False
    agri_subsidies_kept: bool = False


class JobLevers(Cited):
    """Job programmes in a town, per year (DESIGN §4, jobs)."""

    reserved_jobs: NonNegInt = 0
    training_places: NonNegInt = 0
    placements: NonNegInt = 0


class FiscalLevers(Cited):
    """人地钱挂钩 and unit costs (DESIGN §4, fiscal)."""

    transfer_per_settler_yuan: NonNeg = 0.0
    transfer_share_schools: Share = 0.5
    transfer_share_housing: Share = 0.5
    land_per_settler_m2: NonNeg = 0.0
    seat_cost_yuan: Annotated[float, Field(gt=0)] = 60000.0
    rental_unit_cost_yuan: Annotated[float, Field(gt=0)] = 150000.0
    service_cost_per_person_yuan: NonNeg = 0.0


class RightPolicy(Cited):
    """What happens to one rural right (三权) when a household settles in town."""

    on_settle: Literal["kept", "kept_for_life", "surrendered"] = "kept"
    paid_exit: bool = False
    compensation_share: Annotated[float, Field(ge=0, le=3)] = 0.0


class RightsLevers(Cited):
    """The three rural rights (DESIGN §4, rural rights). Region-wide."""

    land: RightPolicy = Field(default_factory=RightPolicy)
    homestead: RightPolicy = Field(default_factory=RightPolicy)
    collective: RightPolicy = Field(default_factory=RightPolicy)
    land_rental: bool = False
    homestead_voucher: bool = False
    voucher_bonus_share: Annotated[float, Field(ge=0, le=1)] = 0.0


class InSituLevers(Cited):
    """In-situ urbanisation (DESIGN §4, in-situ). Region-wide."""

    reclassify: bool = False
    nonfarm_threshold: Share = 0.7
    urban_village_conversion_share: Share = 0.0


class PriorityLevers(Cited):
    """The order in which groups are served when seats, units, jobs or quota run short."""

    order: list[Group] = Field(default_factory=list)
    long_resident_years: Annotated[int, Field(ge=1, le=30)] = 5


PER_TOWN_GROUPS: dict[str, type[Cited]] = {
    "hukou": HukouRules,
    "hukou_outsiders": HukouRules,
    "housing": HousingLevers,
    "schools": SchoolLevers,
    "services": ServiceLevers,
    "jobs": JobLevers,
    "fiscal": FiscalLevers,
}
REGION_WIDE_GROUPS: dict[str, type[Cited]] = {
    "rights": RightsLevers,
    "in_situ": InSituLevers,
    "priority": PriorityLevers,
}


class Layered(Strict):
    """A per-town lever group as written: a default, per-tier and per-town overrides."""

    source: str | None = None
    default: dict[str, Any] = Field(default_factory=dict)
    tiers: dict[Tier, dict[str, Any]] = Field(default_factory=dict)
    towns: dict[str, dict[str, Any]] = Field(default_factory=dict)


class Target(Cited):
    """A stated target of the document: ``metric`` in ``year`` (or its ``sum`` / ``mean`` over
    ``year``..``to_year``) compared by ``op`` to ``value`` (``~``: within ``tolerance``)."""

    metric: str
    year: int
    to_year: int | None = None
    aggregate: Literal["value", "sum", "mean"] = "value"
    op: Literal[">=", "<=", "~"]
    value: float
    tolerance: NonNeg = 0.0
    label: str = ""


class StatisticalChange(Cited):
    """A change in how a statistic is measured (not behaviour): from ``year`` on, the reported
    ``metric`` is the simulated one plus ``shift`` (e.g. the 2015 abolition of the agricultural /
    non-agricultural hukou split moved the hukou urbanisation series)."""

    year: int
    metric: Literal["hukou_urbanization", "resident_urbanization"]
    shift: Annotated[float, Field(ge=-1, le=1)]
    label: str = ""


class PackageMeta(Cited):
    name: str
    title: str = ""
    extends: str | None = None
    region: str | None = None
    start: int | None = None
    end: int | None = None


class Change(Strict):
    year: int
    source: str | None = None
    sources: dict[str, str] = Field(default_factory=dict)
    levers: dict[str, Any]


class PolicyFile(Strict):
    package: PackageMeta
    levers: dict[str, Any] = Field(default_factory=dict)
    changes: list[Change] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=list)
    statistical: list[StatisticalChange] = Field(default_factory=list)
    not_encoded: list[dict[str, str]] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Region (DESIGN §2)
# --------------------------------------------------------------------------------------------


class RegionMeta(Cited):
    name: str
    name_zh: str = ""
    base_year: int
    population: Annotated[int, Field(gt=0)]
    mean_household_size: Annotated[float, Field(ge=1, le=10)]
    resident_urbanization: Share
    hukou_urbanization: Share
    outsider_share_of_migrants: Share = 0.0
    default_scale: Annotated[float, Field(ge=1)] = 1.0

    @model_validator(mode="after")
    def _gap(self) -> RegionMeta:
        if self.hukou_urbanization > self.resident_urbanization:
            raise ValueError(
                "hukou_urbanization must not exceed resident_urbanization "
                f"(got {self.hukou_urbanization} > {self.resident_urbanization})"
            )
        return self


class Economy(Cited):
    urban_wage_yuan: Annotated[float, Field(gt=0)]
    rural_income_per_capita: Annotated[float, Field(gt=0)]
    urban_income_per_capita: Annotated[float, Field(gt=0)]
    farm_income_per_mu: NonNeg
    land_rent_per_mu: NonNeg
    land_value_per_mu: NonNeg
    agri_subsidy_per_mu: NonNeg = 0.0
    local_nonfarm_income: NonNeg = 0.0
    home_floor_area_m2: Annotated[float, Field(gt=0)] = 90.0
    down_payment_share: Share = 0.3
    provident_down_payment_share: Share = 0.2
    deed_tax_rate: Share = 0.03
    transaction_fee_rate: Share = 0.02
    new_generation_share: Share = 0.5
    graduate_share: Share = 0.02
    veteran_share: Share = 0.01
    stable_job_share: Share = 0.35
    children_with_parents_share: Share = 0.37
    entrepreneur_share: Share = 0.03
    entrepreneur_tax_yuan: NonNeg = 60000.0


class Town(Cited):
    name: str
    tier: Tier
    county: str = ""
    urban_share: Share  # share of the region's urban residents living here at base year
    wage_index: Annotated[float, Field(gt=0, le=5)] = 1.0
    employment_rate: Share = 0.9
    rent_yuan_month: Annotated[float, Field(gt=0)]
    price_yuan_m2: Annotated[float, Field(gt=0)]
    school_seat_slack: Annotated[float, Field(ge=-0.9, le=2)] = 0.05
    public_rental_units: NonNegInt = 0
    nonfarm_share: Share = 0.0  # rural communities only: non-farm employment share at base year
    rural_resident_share: Share = 0.0  # rural communities only: share of rural-hukou people living here


class Village(Cited):
    name: str
    county: str = ""
    rural_share: Share  # share of the region's rural-hukou population whose origin is here
    land_mu_per_household: NonNeg
    homestead_value_yuan: NonNeg
    collective_dividend_yuan: NonNeg = 0.0
    urban_village_of: str | None = None  # an urban village (城中村) inside this town


class Road(Cited):
    a: str
    b: str
    km: Annotated[float, Field(gt=0)]


class RegionFile(Strict):
    region: RegionMeta
    economy: Economy
    towns: list[Town]
    villages: list[Village]
    roads: list[Road]


# --------------------------------------------------------------------------------------------
# Behaviour (DESIGN §5): uncertain parameters, not levers.
# --------------------------------------------------------------------------------------------


class Behaviour(Cited):
    """Utility weights and dynamics. Values are calibrated or swept, never set by policy."""

    beta_income: float = 1.0
    beta_housing: float = 1.2
    beta_school: float = 0.8
    beta_left_behind: float = 0.5
    beta_exam: float = 0.3
    beta_services: float = 0.6
    beta_rights: float = 0.8
    beta_distance: float = 0.25
    beta_network: float = 3.0
    beta_kin: float = 0.5
    beta_new_generation: float = 0.3
    beta_age: float = 0.03
    beta_move: float = 2.5
    beta_insurance_loss: float = 0.05
    asc_town: float = -1.6
    asc_hukou: float = -0.8
    tier_bonus_central_city: float = 0.3
    tier_bonus_sub_center: float = 0.1
    tier_bonus_small_town: float = 0.0
    tier_bonus_rural_community: float = -0.3
    review_rate: Share = 0.15
    wage_growth: Annotated[float, Field(ge=-0.2, le=0.3)] = 0.08
    rural_income_growth: Annotated[float, Field(ge=-0.2, le=0.3)] = 0.09
    wage_sd: Annotated[float, Field(ge=0, le=2)] = 0.25
    skill_premium: Annotated[float, Field(ge=0, le=1)] = 0.15
    stable_job_retention: Share = 0.97
    stable_job_entry: Share = 0.05
    savings_rate: Share = 0.25
    purchase_rate: Share = 0.3
    rent_elasticity: Annotated[float, Field(ge=0, le=5)] = 0.8
    land_supply_elasticity: Annotated[float, Field(ge=0, le=5)] = 0.5
    rights_discount_years: Annotated[float, Field(gt=0, le=100)] = 15.0
    exit_rate: Share = 0.3
    birth_rate: Annotated[float, Field(ge=0, le=0.1)] = 0.013
    death_rate: Annotated[float, Field(ge=0, le=0.1)] = 0.006
    local_nonfarm_growth: Annotated[float, Field(ge=0, le=0.2)] = 0.01


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning syntax errors into a ConfigError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


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
        key = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
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


# --------------------------------------------------------------------------------------------
# Public loaders
# --------------------------------------------------------------------------------------------


def load_region(path: str | Path) -> RegionFile:
    """Load and validate a region file (schema, provenance, names, connected place graph)."""
    path = Path(path)
    raw = read_toml(path)
    region = validate(RegionFile, raw, path)
    check_provenance(raw, path)
    names = [t.name for t in region.towns] + [v.name for v in region.villages]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"{path}: place name '{name}' is used twice; names must be unique")
        seen.add(name)
    towns = {t.name for t in region.towns}
    if not region.towns:
        raise ConfigError(f"{path}: key 'towns': a region needs at least one town")
    if not region.villages:
        raise ConfigError(f"{path}: key 'villages': a region needs at least one village")
    for i, road in enumerate(region.roads):
        for end in (road.a, road.b):
            if end not in seen:
                raise ConfigError(
                    f"{path}: key 'roads[{i}]': unknown place '{end}'; allowed: {sorted(seen)}"
                )
    for i, v in enumerate(region.villages):
        if v.urban_village_of is not None and v.urban_village_of not in towns:
            raise ConfigError(
                f"{path}: key 'villages[{i}].urban_village_of': unknown town "
                f"'{v.urban_village_of}'; allowed: {sorted(towns)}"
            )
    for key, parts in (("towns", [t.urban_share for t in region.towns]),
                       ("villages", [v.rural_share for v in region.villages])):
        total = sum(parts)
        if abs(total - 1.0) > 0.01:
            share = "urban_share" if key == "towns" else "rural_share"
            raise ConfigError(f"{path}: key '{key}[*].{share}': shares must sum to 1 (got {total:.3f})")
    for i, t in enumerate(region.towns):
        if t.tier == "rural_community" and t.urban_share > 0:
            raise ConfigError(f"{path}: key 'towns[{i}].urban_share': a rural_community is not urban "
                              f"at the base year; its urban_share must be 0 (got {t.urban_share}); "
                              "use rural_resident_share for its rural residents")
    from sim.places import build_graph, check_connected  # local import: avoids a cycle

    check_connected(build_graph(region), path)
    return region


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
    root = Path(__file__).resolve().parent.parent / "configs" / "behaviour"
    calibrated = root / "calibrated.toml"
    return calibrated if calibrated.is_file() else root / "default.toml"


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
        raise ConfigError(f"{path}: key 'package.extends': circular extends chain")
    raw = read_toml(path)
    data = validate(PolicyFile, raw, path)
    check_provenance({k: v for k, v in raw.items() if k != "not_encoded"}, path)
    _check_lever_tree(data.levers, path, "levers")
    for i, change in enumerate(data.changes):
        _check_lever_tree(change.levers, path, f"changes[{i}].levers")
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
    from sim.outputs import METRIC_NAMES  # local import: outputs imports config indirectly

    for i, t in enumerate(targets):
        if t.metric not in METRIC_NAMES:
            raise ConfigError(f"{path}: key 'targets[{i}].metric': unknown metric '{t.metric}'; "
                              f"allowed: {', '.join(METRIC_NAMES)}")
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
    return skipped


def check_file(path: str | Path) -> str:
    """Validate any config file, telling the kind from its tables. Returns a one-line summary."""
    path = Path(path)
    raw = read_toml(path)
    if "package" in raw:
        pol = load_policy(path)
        if pol.region_path is not None:
            check_policy_against_region(pol, load_region(pol.region_path))
        return f"{path}: policy package '{pol.name}' OK"
    if "region" in raw:
        reg = load_region(path)
        return f"{path}: region '{reg.region.name}' OK ({len(reg.towns)} towns, {len(reg.villages)} villages)"
    if "behaviour" in raw:
        load_behaviour(path)
        return f"{path}: behaviour OK"
    if "calibration" in raw:
        from sim.calibrate import load_spec

        spec = load_spec(path)
        load_policy(spec.package_path)
        return f"{path}: calibration spec OK ({len(spec.parameters)} parameters)"
    if "experiment" in raw:
        from sim.experiment import load_experiment

        exp = load_experiment(path)
        return f"{path}: experiment '{exp.name}' OK ({len(exp.points)} design points)"
    raise ConfigError(
        f"{path}: cannot tell what this file is; expected a [package], [region], [behaviour], "
        "[calibration] or [experiment] table"
    )
