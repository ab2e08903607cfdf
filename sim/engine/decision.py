"""The household decision (DESIGN §5): a random-utility (multinomial logit) choice.

This module is the one place where the location and settlement decision lives (the smaller
decisions — buying a home, exiting a right — are simple rules in :mod:`sim.engine.stages`). Alternatives for a household
without urban hukou are numbered

* ``0``: live at home — the village (or rural community) where the hukou is registered; not
  open to outsiders, whose home is outside the region;
* ``1 + j``: live in town ``j`` as a non-hukou resident (not the household's own community);
* ``1 + T + j``: settle in town ``j`` (take urban hukou) — open only in the town where the
  household lives (DESIGN §5), if it is eligible there this year and the town is urban (a rural
  community becomes urban only when reclassified).

The systematic utility of an alternative is the sum of the named terms below, each a
function of the household and the place, each documented and each weighted by a behaviour
parameter. :func:`utilities` assembles them; the choice stage adds Gumbel noise and takes the
best; :func:`settlement_intention` uses the same utilities to ask "would this household take
hukou in its town if it were eligible and nothing were rationed?".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.configuration import Behaviour, Economy
from sim.engine.levers import KEPT_FOR_LIFE, RIGHTS, SURRENDERED, Levers
from sim.world.households import PUBLIC_RENTAL, Households
from sim.world.places import Places

KEPT_FOR_LIFE_LOSS = 0.3  # assumption: share of a right's value lost when it is not inheritable


@dataclass
class TownState:
    """What households see of each town when they decide (last year's outcomes)."""

    wage: np.ndarray  # yuan per worker-year at skill 0
    employment_rate: np.ndarray
    rent: np.ndarray  # yuan per month for a typical home
    price: np.ndarray  # yuan per m2
    seat_access: np.ndarray  # share of seat demand met last year (0..1)
    rental_access: np.ndarray  # share of public-rental applicants housed last year (0..1)
    network: np.ndarray  # [origin place, town] share of the origin's households living in town
    rural_income_index: float  # growth of rural incomes since the base year


@dataclass
class Context:
    """Everything a decision needs besides the household arrays."""

    places: Places
    economy: Economy
    behaviour: Behaviour
    levers: Levers
    towns: TownState


def n_alternatives(n_towns: int) -> int:
    return 1 + 2 * n_towns


# ---------------------------------------------------------------------------------------------
# Utility terms. Each returns [rows, 1 + 2T] (village, resident in j, settled in j).
# ---------------------------------------------------------------------------------------------


def _alts(village: np.ndarray, resident: np.ndarray, settled: np.ndarray) -> np.ndarray:
    return np.concatenate([village[:, None], resident, settled], axis=1)


def has_permit(hh: Households, rows: np.ndarray, ctx: Context, here_only: bool = False) -> np.ndarray:
    """[rows, T] residence permit in town j: living there at least ``permit_min_years``
    (a household moving to j this year qualifies only if the minimum is 0). With
    ``here_only``: [rows], in the town where each row lives."""
    min_years = ctx.levers.col("services", "permit_min_years")
    if here_only:
        return hh.years_in_town[rows] >= min_years[hh.place[rows]]
    T = ctx.places.n_towns
    here = hh.place[rows][:, None] == np.arange(T)[None, :]
    years = np.where(here, hh.years_in_town[rows][:, None], 0)
    return years >= min_years[None, :]


def non_wage_income(hh: Households, rows: np.ndarray, ctx: Context,
                    settled_town: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Yearly income (yuan) from rural assets and farming: at home, away as a non-hukou
    resident, and settled in town j ([rows, T]; or [rows] for the towns ``settled_town``). The
    same rule pays realised income in :func:`sim.engine.stages.labour_market`. Which rights are
    kept is town j's rule (``rights.<right>.on_settle``, or the rule of j's tier).

    At home: farm income on the land held plus local non-farm work, the agricultural subsidy and
    collective dividends. Away: land earns rent only where land rental (流转) is allowed; the
    subsidy and dividends continue (rural hukou kept). Settled: rent and dividends only on the
    rights kept (not surrendered, not exited); the subsidy only where the town's policy keeps it.
    An outsider's rights lie outside the region: the package's rules do not reach them, and the
    national rule keeps them (:func:`rights_governed`).
    """
    eco, lv, ts = ctx.economy, ctx.levers, ctx.towns
    workers = hh.workers[rows].astype(np.float64)  # rows may be slice(None): views, no gather
    land = np.where(hh.land_exited[rows], 0.0, hh.land_mu[rows]).astype(np.float64)
    dividend = np.where(hh.collective_exited[rows], 0.0, hh.dividend[rows]).astype(np.float64)
    rural = ts.rural_income_index
    farm = land * eco.farm_income_per_mu * rural + workers * eco.local_nonfarm_income * rural
    subsidy = land * eco.agri_subsidy_per_mu
    land_rent = land * eco.land_rent_per_mu * rural * float(lv.rights.land_rental)
    home = farm + subsidy + dividend
    away = land_rent + dividend + subsidy
    outsider = ~rights_governed(hh, rows)
    land_town = lv.on_settle("land") != SURRENDERED  # [T]
    coll_town = lv.on_settle("collective") != SURRENDERED
    kept_all = lv.col("services", "agri_subsidies_kept")
    if settled_town is not None:
        town = np.clip(settled_town, 0, kept_all.size - 1)
        land_kept = land_town[town] | outsider
        coll_kept = coll_town[town] | outsider
        settled = land_rent * land_kept + dividend * coll_kept + np.where(kept_all[town], subsidy * land_kept, 0.0)
    else:
        land_kept = land_town[None, :] | outsider[:, None]
        coll_kept = coll_town[None, :] | outsider[:, None]
        settled = (land_rent[:, None] * land_kept + dividend[:, None] * coll_kept) + \
            np.where(kept_all[None, :], subsidy[:, None] * land_kept, 0.0)
    return home, away, settled


def income(hh: Households, rows: np.ndarray, ctx: Context) -> np.ndarray:
    """Expected yearly household income (yuan) at each alternative: in town, workers x wage x
    skill premium x employment probability (1 with a job placement in that town), plus the
    non-wage income of :func:`non_wage_income`; at home, the non-wage income alone."""
    beh, ts = ctx.behaviour, ctx.towns
    T = ctx.places.n_towns
    workers = hh.workers[rows].astype(np.float64)
    skill = 1.0 + beh.skill_premium * hh.skill[rows]
    p_emp = np.broadcast_to(ts.employment_rate[None, :], (rows.size, T)).copy()
    placed = hh.placement[rows]
    has_placement = placed >= 0
    p_emp[has_placement, placed[has_placement]] = 1.0
    wage = workers[:, None] * skill[:, None] * ts.wage[None, :] * p_emp
    home, away, settled = non_wage_income(hh, rows, ctx)
    return np.maximum(_alts(home, wage + away[:, None], wage + settled), 1000.0)


def income_per_person(hh: Households, rows: np.ndarray) -> np.ndarray:
    """[rows] the household's income this year per person (yuan): what housing security's
    income test reads."""
    return hh.income[rows].astype(np.float64) / np.maximum(hh.size(rows), 1)


def support_income_limit(levers: Levers) -> np.ndarray:
    """[T] the income limit per person of housing security in each town (+inf: no test)."""
    limit = levers.col("housing", "support_income_limit_yuan")
    return np.where(limit > 0, limit, np.inf)


def housing_cost(hh: Households, rows: np.ndarray, ctx: Context) -> np.ndarray:
    """Yearly housing cost (yuan) net of the subsidies the household would qualify for.

    Owners pay nothing more; renters pay the market rent less a rental subsidy where the policy
    gives one to hukou holders or to permit holders whose income passes the town's income test
    (its expected value: the amount times the take-up share), and expect public rental (at a
    discount) with the probability that applicants were housed last year, if eligible (the same
    income test). The village home (homestead) is free.
    """
    lv, ts = ctx.levers, ctx.towns
    T = ctx.places.n_towns
    R = rows.size
    towns = np.arange(T)[None, :]
    rent = np.broadcast_to(ts.rent[None, :] * 12.0, (R, T))
    owns = hh.owned_town[rows][:, None] == towns
    tenant = (hh.tenure[rows] == PUBLIC_RENTAL)[:, None] & (hh.place[rows][:, None] == towns)
    permit = has_permit(hh, rows, ctx)
    need = income_per_person(hh, rows)[:, None] <= support_income_limit(lv)[None, :]
    sub = (lv.col("housing", "rental_subsidy_yuan") * lv.col("housing", "rental_subsidy_takeup"))[None, :]
    sub_hukou = lv.is_("housing", "rental_subsidy_to", "hukou")[None, :]
    sub_permit = lv.is_("housing", "rental_subsidy_to", "permit")[None, :]
    discount = 1.0 - lv.col("housing", "public_rental_rent_share")[None, :]

    def cost(is_hukou: bool) -> np.ndarray:
        elig = public_rental_eligible(hh, rows, ctx, is_hukou)
        p_unit = np.where(tenant, 1.0, elig * ts.rental_access[None, :])
        c = rent * (1.0 - p_unit * discount)
        subsidy = np.where(need, sub * (sub_hukou if is_hukou else False)
                           + sub * (sub_permit & (permit | is_hukou)), 0.0)
        c = np.maximum(c - subsidy, 0.0)
        return np.where(owns, 0.0, c)

    return _alts(np.zeros(R), cost(False), cost(True))


def origin_ok(native, same_province, natives_only, province_only):
    """Does a non-hukou resident's origin class admit it to public rental: every class, natives
    only (``public_rental_natives_only``), or natives and outsiders from the same province
    (``public_rental_province_only``)?"""
    return native | (~natives_only & (~province_only | same_province))


def public_rental_eligible(hh: Households, rows: np.ndarray, ctx: Context,
                           is_hukou: bool | np.ndarray, here_only: bool = False) -> np.ndarray:
    """[rows, T] may apply for public rental in town j (open to hukou holders only, or to
    residents with ``public_rental_min_job_years`` of stable work, optionally natives only or
    natives and same-province outsiders only), if
    the household's income per person passes the town's income test of housing security.
    With ``here_only``: [rows], in the town where each row lives."""
    lv = ctx.levers
    limit = support_income_limit(lv)
    if here_only:
        town = hh.place[rows]
        pick = lambda a: a[town]  # noqa: E731
        towns = town
        row = lambda a: a  # noqa: E731
    else:
        pick = lambda a: a[None, :]  # noqa: E731
        towns = np.arange(ctx.places.n_towns)[None, :]
        row = lambda a: a[:, None]  # noqa: E731
    open_res = pick(lv.is_("housing", "public_rental_open_to", "residents"))
    job_ok = row(hh.stable_job[rows]) & \
        (row(hh.job_years[rows]) >= pick(lv.col("housing", "public_rental_min_job_years")))
    native_ok = origin_ok(row(hh.native[rows]), row(hh.same_province[rows]),
                          pick(lv.col("housing", "public_rental_natives_only")),
                          pick(lv.col("housing", "public_rental_province_only")))
    resident_ok = open_res & job_ok & native_ok
    not_owner = row(hh.owned_town[rows]) != towns
    need = row(income_per_person(hh, rows)) <= pick(limit)
    return not_owner & (resident_ok | np.asarray(is_hukou)) & need


def admission_share(levers: Levers) -> np.ndarray:
    """[T] the share of non-hukou pupils a town's public schools admit: the package's admission
    share, raised by operating money that follows migrant pupils: receiving schools admit the
    share of the pupils they would refuse whose operating cost the money covers
    (``operating_funds_per_migrant_pupil_yuan / fiscal.pupil_operating_cost_yuan``, at most 1)."""
    admit = levers.col("schools", "nonhukou_admission_share")
    covered = np.minimum(levers.col("schools", "operating_funds_per_migrant_pupil_yuan")
                         / levers.col("fiscal", "pupil_operating_cost_yuan"), 1.0)
    return admit + (1.0 - admit) * covered


def private_school_share(levers: Levers) -> np.ndarray:
    """[T] the share of native migrants' pupils without a public seat who study in town at a
    private school for migrant children rather than being left behind: the share of its cost the
    subsidy covers (``private_school_subsidy_yuan / fiscal.private_school_cost_yuan``, at most 1)."""
    return np.minimum(levers.col("schools", "private_school_subsidy_yuan")
                      / levers.col("fiscal", "private_school_cost_yuan"), 1.0)


def school_access(hh: Households, rows: np.ndarray, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Expected share of the household's school-age children who would get a public seat in
    town j, as a resident ([rows, T]) and as a hukou holder ([T]).

    A non-hukou child is admitted with the town's admission share (:func:`admission_share`), or
    like a hukou child where enrolment is based on the residence permit and the household holds
    one; either way only as far as seats went round last year.
    """
    lv, ts = ctx.levers, ctx.towns
    admit = admission_share(lv)[None, :]
    permit_basis = lv.is_("schools", "enrolment_basis", "residence_permit")[None, :]
    permit = has_permit(hh, rows, ctx)
    share = np.where(permit_basis & permit, 1.0, admit)
    return share * ts.seat_access[None, :], ts.seat_access


def schooling(hh: Households, rows: np.ndarray, ctx: Context) -> np.ndarray:
    """Utility of where the children study: value of a public seat with the parents, cost of
    leaving children behind (natives, unless a subsidised private school takes them:
    :func:`private_school_share`; outsiders' children go to a private school in town), and,
    where non-hukou children may not sit local exams, the cost of sending them back."""
    beh, lv = ctx.behaviour, ctx.levers
    kids = hh.kids_school[rows].astype(np.float64)[:, None]
    native = hh.native[rows][:, None]
    access_res, access_hukou = school_access(hh, rows, ctx)
    no_exam = ~lv.col("schools", "local_exam_nonhukou")[None, :]
    behind = 1.0 - private_school_share(lv)[None, :]  # of the pupils without a public seat
    resident = kids * (beh.beta_school * access_res
                       - beh.beta_left_behind * (1.0 - access_res) * native * behind
                       - beh.beta_exam * access_res * no_exam)
    settled = kids * (beh.beta_school * access_hukou[None, :]
                      - beh.beta_left_behind * (1.0 - access_hukou[None, :]) * native * behind)
    settled = np.broadcast_to(settled, resident.shape)
    return _alts(np.zeros(rows.size), resident, settled)


def services(hh: Households, rows: np.ndarray, ctx: Context) -> np.ndarray:
    """Hukou-linked public services: full with hukou, ``permit_coverage`` with a residence
    permit, none as a resident without one (village services are the baseline, 0)."""
    beh, lv = ctx.behaviour, ctx.levers
    cover = lv.col("services", "permit_coverage")[None, :] * has_permit(hh, rows, ctx)
    T = ctx.places.n_towns
    return _alts(np.zeros(rows.size), beh.beta_services * cover,
                 np.full((rows.size, T), beh.beta_services))


def rights_value(hh: Households, rows: np.ndarray, eco: Economy, beh: Behaviour) -> dict[str, np.ndarray]:
    """Asset value (yuan) of each rural right still held: land at its per-mu value, the
    homestead, and collective shares as ``rights_discount_years`` of dividends."""
    return {name: right_value(hh, rows, name, eco, beh) for name in ("land", "homestead", "collective")}


def right_value(hh: Households, rows: np.ndarray, name: str, eco: Economy, beh: Behaviour) -> np.ndarray:
    """Asset value (yuan) of one rural right (``land``, ``homestead``, ``collective``) if held."""
    if name == "land":
        return np.where(hh.land_exited[rows], 0.0, hh.land_mu[rows] * eco.land_value_per_mu)
    if name == "homestead":
        return np.where(hh.homestead_exited[rows], 0.0, hh.homestead_value[rows])
    return np.where(hh.collective_exited[rows], 0.0, hh.dividend[rows] * beh.rights_discount_years)


def rights_governed(hh: Households, rows: np.ndarray) -> np.ndarray:
    """[rows] the household's rural rights lie in the region, so the package's rights rules
    govern them. An outsider's lie in its home village outside the region, where the national
    rule keeps them on settling (国办发〔2011〕9号 §3; 国发〔2014〕25号 §三(十二))."""
    return hh.native[rows]


def kept_fraction(until_year: int | None, year: int, horizon: float) -> float:
    """Share of a kept right's value that remains when it ends in ``until_year`` (None: never):
    the years left over the horizon a right's value stands for (``rights_discount_years``),
    at most 1."""
    if until_year is None:
        return 1.0
    return min(max(until_year - year, 0) / horizon, 1.0)


def rights_lost_on_settling(hh: Households, rows: np.ndarray, ctx: Context) -> np.ndarray:
    """Yuan of rural rights a household expects to lose by settling in the town where it lives
    (the only town it can settle in; that town's rule, or its tier's): all of a surrendered right
    (less any compensation a paid exit offers), part of a right kept only for life (not
    inheritable), and of a right that is kept, the share ``rights_tenure_risk`` that households
    fear losing anyway (tenure insecurity: surveys find land and homestead holders less willing to
    transfer hukou even where the rules keep their rights; data/README.md, Gu et al. 2020). The
    same risk applies on top of a life-only right. A paid exit (有偿退出) caps what can be lost
    at the value less the compensation (:func:`exit_compensation_share`, with a homestead
    voucher's bonus): a right that can be sold is less at risk. A kept right that ends in
    ``kept_until_year`` keeps only :func:`kept_fraction` of what is not lost."""
    lv = ctx.levers
    rights = lv.rights
    risk = ctx.behaviour.rights_tenure_risk
    governed = rights_governed(hh, rows)
    town = np.minimum(hh.place[rows], ctx.places.n_towns - 1)  # villagers cannot settle: any rule
    lost = np.zeros(rows.size)
    for name in RIGHTS:
        rule = getattr(rights, name)
        code = lv.on_settle(name)[town]
        uncovered = max(0.0, 1.0 - exit_compensation_share(rights, name))
        share = np.where(code == SURRENDERED, uncovered,
                         np.where(code == KEPT_FOR_LIFE,
                                  (KEPT_FOR_LIFE_LOSS + risk * (1.0 - KEPT_FOR_LIFE_LOSS)) * uncovered,
                                  risk * uncovered))
        if rule.kept_until_year is not None:
            kept = kept_fraction(rule.kept_until_year, lv.year, ctx.behaviour.rights_discount_years)
            share = np.where(code == SURRENDERED, share, 1.0 - (1.0 - share) * kept)
        lost += right_value(hh, rows, name, ctx.economy, ctx.behaviour) * np.where(governed, share, risk)
    return lost


def exit_compensation_share(rights, name: str) -> float:
    """Share of a right's value a paid exit pays (0 without one); a homestead paid as a housing
    voucher (房票) is worth ``1 + voucher_bonus_share`` times the cash (as :mod:`.stages.s6_rights`
    pays it)."""
    rule = getattr(rights, name)
    if not rule.paid_exit:
        return 0.0
    bonus = 1.0 + rights.voucher_bonus_share if (name == "homestead" and rights.homestead_voucher) else 1.0
    return rule.compensation_share * bonus


def rights_kept(hh: Households, rows: np.ndarray, ctx: Context, inc: np.ndarray) -> np.ndarray:
    """Utility of the rural rights lost by settling, relative to income (log scale)."""
    T = ctx.places.n_towns
    lost = rights_lost_on_settling(hh, rows, ctx)
    rel = lost[:, None] / inc[:, 1 + T:]
    settled = -ctx.behaviour.beta_rights * np.log1p(rel)
    return _alts(np.zeros(rows.size), np.zeros((rows.size, T)), settled)


def distance(hh: Households, rows: np.ndarray, ctx: Context) -> np.ndarray:
    """Distance from home: -beta * ln(1 + road km from home). Outsiders' home is outside
    the region, equally far from every town, so the term is 0 for them."""
    places = ctx.places
    T = places.n_towns
    km = places.km[hh.home(rows)][:, :T].astype(np.float64)
    term = -ctx.behaviour.beta_distance * np.log1p(km)
    term[~hh.native[rows]] = 0.0
    return _alts(np.zeros(rows.size), term, term)


def network(hh: Households, rows: np.ndarray, ctx: Context) -> np.ndarray:
    """Chain migration: the share of the origin's households already living in town j, and
    a kin household living there."""
    T = ctx.places.n_towns
    share = ctx.towns.network[hh.origin[rows]]
    kin = hh.kin[rows]
    kin_place = np.where(kin >= 0, hh.place[np.maximum(kin, 0)], -1)
    kin_here = (kin_place[:, None] == np.arange(T)[None, :]).astype(np.float64)
    term = ctx.behaviour.beta_network * share + ctx.behaviour.beta_kin * kin_here
    return _alts(np.zeros(rows.size), term, term)


def generation(hh: Households, rows: np.ndarray, ctx: Context, year: int) -> np.ndarray:
    """Generation and age: the new generation (born 1980 or later) leans to town; older heads
    (over 45) lean to the village."""
    beh = ctx.behaviour
    T = ctx.places.n_towns
    newgen = (hh.birth_year[rows] >= 1980).astype(np.float64)
    older = np.maximum(hh.head_age[rows].astype(np.float64) - 45.0, 0.0)
    town = beh.beta_new_generation * newgen - beh.beta_age * older
    term = np.broadcast_to(town[:, None], (rows.size, T))
    return _alts(np.zeros(rows.size), term, term)


def moving(hh: Households, rows: np.ndarray, ctx: Context) -> np.ndarray:
    """Cost of moving away from the current place, plus the social-insurance years lost when
    changing town where insurance is not portable."""
    beh, lv = ctx.behaviour, ctx.levers
    T = ctx.places.n_towns
    place = hh.place[rows]
    dest = np.concatenate([hh.home(rows)[:, None],
                           np.broadcast_to(np.arange(T)[None, :], (rows.size, T)),
                           np.broadcast_to(np.arange(T)[None, :], (rows.size, T))], axis=1)
    moves = dest != place[:, None]
    in_town = place < T
    portable = lv.col("services", "insurance_portable")
    here_portable = portable[np.minimum(place, T - 1)] & in_town
    # contributions carry over only between two towns that both make them portable
    keeps = here_portable[:, None] & np.concatenate([[False], portable, portable])[None, :]
    lose_ins = in_town[:, None] & moves & ~keeps
    return -beh.beta_move * moves - beh.beta_insurance_loss * lose_ins * hh.insurance_years[rows][:, None]


def constants(ctx: Context) -> np.ndarray:
    """Alternative-specific constants: town life by tier (with or without its hukou)."""
    beh = ctx.behaviour
    bonus = {"central_city": beh.tier_bonus_central_city, "sub_center": beh.tier_bonus_sub_center,
             "small_town": beh.tier_bonus_small_town, "rural_community": beh.tier_bonus_rural_community}
    tiers = np.array([bonus[ctx.places.tier_name(j)] for j in range(ctx.places.n_towns)])
    town = beh.asc_town + tiers
    return np.concatenate([[0.0], town, town])[None, :]


# the city-size scale of the hukou value: 0 for a rural community, 1 for a central city
CITY_SIZE = {"rural_community": 0.0, "small_town": 1.0 / 3.0, "sub_center": 2.0 / 3.0, "central_city": 1.0}


def town_hukou_value(ctx: Context) -> np.ndarray:
    """[T] the part of the value of hukou that is the town's: the constant ``asc_hukou`` plus
    ``beta_hukou_city_size`` times the town's size on :data:`CITY_SIZE` (transfer intention
    rises with city size: CMDS 2016, Lao, Zhao & Gu 2022; data/README.md)."""
    beh = ctx.behaviour
    size = np.array([CITY_SIZE[ctx.places.tier_name(j)] for j in range(ctx.places.n_towns)])
    return beh.asc_hukou + beh.beta_hukou_city_size * size


def household_hukou_value(hh: Households, rows: np.ndarray, beh: Behaviour) -> np.ndarray:
    """[rows] the part of the value of hukou that is the household's own: each school-age child
    (hukou secures senior-high admission and the entrance exam where the family lives, beyond the
    seat and exam rules the levers set), a head of the new generation (born 1980 or later; Hao &
    Tang 2015), and a decline with the head's age past 40 (CMDS 2016: willingness falls after
    about 40; Qiu & Zhou 2019)."""
    kids = hh.kids_school[rows].astype(np.float64)
    newgen = (hh.birth_year[rows] >= 1980).astype(np.float64)
    over40 = np.maximum(hh.head_age[rows].astype(np.float64) - 40.0, 0.0)
    return beh.beta_hukou_children * kids + beh.beta_hukou_new_generation * newgen - beh.beta_hukou_age * over40


def hukou_value(hh: Households, rows: np.ndarray, ctx: Context) -> np.ndarray:
    """The value of hukou itself (DESIGN §5; issue 15), on the settle alternatives only: the
    town's part (:func:`town_hukou_value`), the household's (:func:`household_hukou_value`), and
    insurance: where the town does not make contributions portable, hukou secures the years
    contributed (``beta_hukou_insurance`` a year); and a home owned in the town
    (``beta_hukou_owner``: owners have a stake in the place, and CMDS finds homeownership raises
    permanent settlement intention; Hu, Zhang & Li 2025, Quality & Quantity 59:523). Rural rights at
    stake are :func:`rights_kept`; housing support and schooling tied to hukou are in their own
    terms."""
    beh, lv = ctx.behaviour, ctx.levers
    T = ctx.places.n_towns
    portable = lv.col("services", "insurance_portable")
    ins = beh.beta_hukou_insurance * hh.insurance_years[rows].astype(np.float64)[:, None] * ~portable[None, :]
    owner = beh.beta_hukou_owner * (hh.owned_town[rows][:, None] == np.arange(T)[None, :])
    settled = town_hukou_value(ctx)[None, :] + household_hukou_value(hh, rows, beh)[:, None] + ins + owner
    return _alts(np.zeros(rows.size), np.zeros((rows.size, T)), settled)


def utilities(hh: Households, rows: np.ndarray, ctx: Context, year: int,
              eligible: np.ndarray | None) -> np.ndarray:
    """Systematic utility [rows, 1 + 2T]; unavailable alternatives are -inf.

    ``eligible`` [rows] gates the settle alternative of the household's own town; ``None``
    opens it (used for settlement intention).
    """
    beh = ctx.behaviour
    T = ctx.places.n_towns
    inc = income(hh, rows, ctx)
    size = np.maximum(hh.size(rows), 1)[:, None]
    housing = housing_cost(hh, rows, ctx)
    v = (beh.beta_income * np.log(inc / size)
         - beh.beta_housing * housing / inc
         + schooling(hh, rows, ctx)
         + services(hh, rows, ctx)
         + rights_kept(hh, rows, ctx, inc)
         + distance(hh, rows, ctx)
         + network(hh, rows, ctx)
         + generation(hh, rows, ctx, year)
         + moving(hh, rows, ctx)
         + constants(ctx)
         + hukou_value(hh, rows, ctx))
    towns = np.arange(T)[None, :]
    available = np.ones_like(v, dtype=bool)
    available[:, 0] = hh.native[rows]
    available[:, 1:1 + T] = hh.home(rows)[:, None] != towns  # not a migrant in one's own community
    here = hh.place[rows][:, None] == towns
    urban = ctx.places.urban[:T][None, :]
    available[:, 1 + T:] = here & urban & (True if eligible is None else eligible[:, None])
    return np.where(available, v, -np.inf)


def settlement_intention(hh: Households, rows: np.ndarray, ctx: Context, year: int) -> np.ndarray:
    """Probability that a non-hukou town resident would take hukou in its own town rather than
    stay as a resident there, were it eligible and nothing rationed (binary logit on the same
    utilities as the choice). Rows must live in a town."""
    T = ctx.places.n_towns
    v = utilities(hh, rows, ctx, year, eligible=None)
    town = hh.place[rows]
    r = np.arange(rows.size)
    diff = v[r, 1 + T + town] - v[r, 1 + town]
    diff = np.where(np.isfinite(diff), diff, -50.0)
    return 1.0 / (1.0 + np.exp(-diff))
