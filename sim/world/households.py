"""Households: the agents, held as columnar numpy arrays (DESIGN §2, §7).

One row per household. A household's members are in one of two locations: with the household
at its current place, or at home in the origin village (elders and left-behind children of a
non-hukou migrant household). Settled (urban-hukou) households and households living at home
(their village, or the rural community where their hukou is) have every member with them.
Outsider households (not natives of the region) migrate as whole families (assumption: their
home lies outside the region; an origin village inside it is drawn for the network and kin
terms, and stands in for the size of the land, homestead and collective shares they hold at
home, which the package's rights rules do not govern: the national rule keeps them on settling);
their school-age children without a public seat attend a private school in town. Outsiders are of
two origin classes: from elsewhere in the region's province (``same_province``; e.g. seed 001's
云南籍 who are not 德宏籍) or from another province; each class has its own hukou rules
(``hukou_province``, ``hukou_outsiders``).

Place numbers: towns 0..T-1, villages T..T+V-1 (see :mod:`sim.world.places`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.configuration import RegionFile
from sim.world.places import RURAL_COMMUNITY, Places

# housing tenure in town
DORM, RENTED, PUBLIC_RENTAL, OWNED, VILLAGE_HOME = 0, 1, 2, 3, 4
NO_PLACE = -1


@dataclass
class Households:
    """Columnar household state. Every array has one entry per household."""

    origin: np.ndarray  # place (int16, or int32 in regions of 32,767 places or more): origin village (urban natives: their town)
    place: np.ndarray  # place where the household lives now (dtype as origin)
    hukou: np.ndarray  # place where hukou is registered (dtype as origin)
    hukou_urban: np.ndarray  # bool: urban hukou
    native: np.ndarray  # bool: native of the region (not an outsider)
    same_province: np.ndarray  # bool: an outsider from elsewhere in the region's province (False for natives)
    head_age: np.ndarray  # int16
    birth_year: np.ndarray  # int16: head's birth year (new generation: >= 1980)
    education: np.ndarray  # int8 0 primary .. 3 college
    skill: np.ndarray  # int8 0 none .. 3 high (2 = mid-level technician / junior title)
    workers: np.ndarray  # int8 working-age adults (including the head)
    elders: np.ndarray  # int8
    kids_pre: np.ndarray  # int8 under school age
    kids_school: np.ndarray  # int8 compulsory-school age
    kids_with: np.ndarray  # int8 school-age children living with the household in town
    employed: np.ndarray  # int8 employed workers this year
    income: np.ndarray  # float32 yuan last year
    savings: np.ndarray  # float32 yuan
    years_in_town: np.ndarray  # int8 years resident in the current town
    insurance_years: np.ndarray  # int8 years of urban social-insurance contributions
    stable_job: np.ndarray  # bool: labour contract
    job_years: np.ndarray  # int8 years in a stable job
    tenure: np.ndarray  # int8 DORM / RENTED / PUBLIC_RENTAL / OWNED / VILLAGE_HOME
    owned_town: np.ndarray  # town where the household owns a home, or -1 (dtype as origin)
    land_mu: np.ndarray  # float32 contract land held
    homestead_value: np.ndarray  # float32 yuan
    dividend: np.ndarray  # float32 yuan per year from collective shares
    land_exited: np.ndarray  # bool
    homestead_exited: np.ndarray  # bool
    collective_exited: np.ndarray  # bool
    collective_for_life: np.ndarray  # bool: shares kept for the holder's life only
    kin: np.ndarray  # int32 index of a kin household, or -1
    kin_gen: np.ndarray  # int8 generations between the two households (1..3)
    graduate: np.ndarray  # bool: student route (hukou moved at enrolment)
    veteran: np.ndarray  # bool
    tax_paid: np.ndarray  # float32 yuan of business tax paid over the last three years
    placement: np.ndarray  # town of a job placement offered this year, or -1 (dtype as origin)
    reserved_offer: np.ndarray  # bool: this year's placement offer is a post of the town's reserve of jobs
    reserved_job: np.ndarray  # bool: holds a post of its town's standing reserve of jobs (jobs.reserved_jobs)
    settled_year: np.ndarray  # int16 year the household took urban hukou here (0 = never)
    public_seat: np.ndarray  # bool: its school-age children hold public school seats in town

    @property
    def n(self) -> int:
        return int(self.origin.shape[0])

    def size(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Persons per household (of ``rows`` only, if given)."""
        if rows is None:
            return self.workers.astype(np.int32) + self.elders + self.kids_pre + self.kids_school
        return (self.workers[rows].astype(np.int32) + self.elders[rows] + self.kids_pre[rows]
                + self.kids_school[rows])

    def in_town(self, n_towns: int) -> np.ndarray:
        return self.place < n_towns

    def home(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The place where a household is at home: where its hukou is registered (a village, a
        rural community, or a town for urban hukou); outsiders' home is outside the region, so
        their origin village stands in (never used for persons: outsiders live as whole
        families where they are). For ``rows`` only, if given."""
        if rows is None:
            return np.where(self.hukou >= 0, self.hukou, self.origin)
        h = self.hukou[rows]
        return np.where(h >= 0, h, self.origin[rows])

    def at_home_rural(self) -> np.ndarray:
        """Rural-hukou households living where their hukou is (village or rural community)."""
        return ~self.hukou_urban & (self.place == self.hukou)

    def town_dweller(self, n_towns: int) -> np.ndarray:
        """Households living in a town as townspeople: migrants and hukou holders (not rural
        households at home in their own rural community)."""
        return self.in_town(n_towns) & ~self.at_home_rural()

    def migrant(self, n_towns: int) -> np.ndarray:
        """Non-hukou town residents away from home: the migrants who may settle. (A rural
        household living in its own rural community is at home, not a migrant.)"""
        return self.in_town(n_towns) & ~self.hukou_urban & (self.place != self.hukou)

    def persons_at_place(self, n_towns: int) -> np.ndarray:
        """Persons living at the household's current place."""
        away = self.migrant(n_towns) & self.native
        return np.where(away, self.workers.astype(np.int32) + self.kids_pre + self.kids_with,
                        self.size())

    def persons_at_home(self, n_towns: int) -> np.ndarray:
        """Persons living at home (see :meth:`home`) while the household is away in town."""
        return self.size() - self.persons_at_place(n_towns)

    def left_behind(self, n_towns: int) -> np.ndarray:
        """School-age children of native migrant households left at home."""
        away = self.migrant(n_towns) & self.native
        return np.where(away, self.kids_school - self.kids_with, 0)

    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))


def place_dtype(n_places: int) -> type:
    """Place numbers are int16 where they fit (halving what the yearly passes read), else int32."""
    return np.int16 if n_places < np.iinfo(np.int16).max else np.int32


# Household composition (assumption): extra workers, school-age and pre-school children and
# elders are binomial draws whose probabilities are scaled so that the mean household size
# equals the region's; the shape (who is there at what head age) is fixed below.
_EXTRA_WORKERS = (3, 0.28)  # trials, probability at scale 1
_KIDS_SCHOOL = (2, 0.45)  # heads aged 28-49
_KIDS_PRE = (1, 0.35)  # heads under 40
_ELDERS = (3, 0.22)


def _composition(rng: np.random.Generator, head_age: np.ndarray, mean_size: float) -> tuple[np.ndarray, ...]:
    n = head_age.size
    school_age = (head_age >= 28) & (head_age < 50)
    pre_age = head_age < 40
    base = (_EXTRA_WORKERS[0] * _EXTRA_WORKERS[1] + school_age.mean() * _KIDS_SCHOOL[0] * _KIDS_SCHOOL[1]
            + pre_age.mean() * _KIDS_PRE[0] * _KIDS_PRE[1] + _ELDERS[0] * _ELDERS[1])
    f = max(mean_size - 1.0, 0.0) / base
    p = lambda spec: min(spec[1] * f, 1.0)  # noqa: E731
    workers = (1 + rng.binomial(_EXTRA_WORKERS[0], p(_EXTRA_WORKERS), n)).astype(np.int8)
    kids_school = np.where(school_age, rng.binomial(_KIDS_SCHOOL[0], p(_KIDS_SCHOOL), n), 0).astype(np.int8)
    kids_pre = np.where(pre_age, rng.binomial(_KIDS_PRE[0], p(_KIDS_PRE), n), 0).astype(np.int8)
    elders = rng.binomial(_ELDERS[0], p(_ELDERS), n).astype(np.int8)
    return workers, kids_school, kids_pre, elders


def synthesize(region: RegionFile, places: Places, rng: np.random.Generator, scale: float = 1.0,
               year: int | None = None) -> Households:
    """Build the starting population of ``region`` (one row stands for ``scale`` households),
    dated ``year`` (default: the region's base year).

    Matches the region's population, mean household size, resident and hukou urbanisation
    (counting urban villages as urban), the new-generation share of migrants, and the town and
    village shares. Other attribute distributions are assumptions documented in docs/ODD.md.
    """
    meta, eco = region.region, region.economy
    T = places.n_towns
    year = meta.base_year if year is None else year
    persons_target = meta.population / scale
    n = int(persons_target / meta.mean_household_size * 1.15) + 32
    head_age = rng.integers(22, 70, n).astype(np.int16)
    workers, kids_school, kids_pre, elders = _composition(rng, head_age, meta.mean_household_size)
    size = workers.astype(np.int32) + elders + kids_pre + kids_school
    cum = np.cumsum(size)
    if cum[-1] < persons_target:  # very unusual draw: add households until the target is met
        extra = int((persons_target - cum[-1]) / meta.mean_household_size * 1.5) + 32
        age2 = rng.integers(22, 70, extra).astype(np.int16)
        parts = _composition(rng, age2, meta.mean_household_size)
        head_age = np.concatenate([head_age, age2])
        workers, kids_school, kids_pre, elders = (np.concatenate([a, b]) for a, b in
                                                  zip((workers, kids_school, kids_pre, elders), parts))
        size = workers.astype(np.int32) + elders + kids_pre + kids_school
        cum = np.cumsum(size)
    n = int(np.searchsorted(cum, persons_target)) + 1
    head_age, workers, kids_school, kids_pre, elders, size = (
        a[:n] for a in (head_age, workers, kids_school, kids_pre, elders, size))

    # origin villages by share; urban villages (城中村) are villages inside a town, counted urban
    village_share = np.array([v.rural_share for v in region.villages], dtype=np.float64)
    village_share = village_share / village_share.sum()
    # rural_share is a share of the rural-hukou population: urban-village households (who keep
    # rural hukou) are drawn in proportion to it; the other villages fill the rest (urban
    # natives drawn from them get a town as origin below)
    is_uv = places.urban[T:]
    draw = village_share.copy()
    uv_total = village_share[is_uv].sum() * (1.0 - meta.hukou_urbanization)
    if is_uv.any() and (~is_uv).any():
        draw[is_uv] = village_share[is_uv] * (1.0 - meta.hukou_urbanization)
        draw[~is_uv] = village_share[~is_uv] / village_share[~is_uv].sum() * (1.0 - uv_total)
    origin = (T + rng.choice(len(region.villages), size=n, p=draw / draw.sum())).astype(np.int32)
    urban_village = places.urban[origin]

    # statuses by persons: urban natives (urban hukou), non-hukou town residents, villagers
    order = rng.permutation(n)
    order = np.concatenate([order[~urban_village[order]], order[urban_village[order]]])
    cum = np.cumsum(size[order])
    total = float(size.sum())
    n_urban_hukou = int(np.searchsorted(cum, meta.hukou_urbanization * total))
    urban_native = np.zeros(n, dtype=bool)
    urban_native[order[:n_urban_hukou]] = True

    rest = order[n_urban_hukou:]
    rest = rest[~urban_village[rest]]  # urban-village households stay in their village
    # migrants are younger: re-age the rural households from which migrants are drawn (villagers
    # among them too: an assumption) so the new-generation share among migrants matches the
    # region's (children are redrawn for the new age, household sizes kept)
    born = year - head_age[rest]
    s0 = float((born >= 1980).mean()) if rest.size else 0.0
    target = eco.new_generation_share
    p_re = max(0.0, (target - s0) / max(1.0 - s0, 1e-9))
    youngest = max(year - 1980, 20)
    re = (rng.random(rest.size) < p_re) & (born < 1980)
    idx = rest[re]
    if idx.size and youngest > 20:
        head_age[idx] = rng.integers(20, youngest + 1, idx.size)
        _, ks, kp, _ = _composition(rng, head_age[idx], meta.mean_household_size)
        # keep each household's size (and so the matched population): children for the new
        # age, elders take up the difference, children give way if there is no room
        old = size[idx].astype(np.int32)
        room = old - workers[idx]
        ks = np.minimum(ks, room).astype(np.int8)
        kp = np.minimum(kp, room - ks).astype(np.int8)
        kids_school[idx], kids_pre[idx] = ks, kp
        elders[idx] = (room - ks - kp).astype(np.int8)
    wc = eco.children_with_parents_share
    kids_with_if_migrant = rng.binomial(kids_school[rest], wc).astype(np.int8)
    # origin of migrants: natives, or outsiders (from elsewhere in the province, then from
    # other provinces, by the same draw: a region without same-province outsiders draws as before)
    origin_u = rng.random(rest.size)
    native_mig = origin_u >= meta.outsider_share_of_migrants
    province_mig = ~native_mig & (origin_u >= meta.outsider_share_of_migrants
                                  * (1.0 - meta.province_share_of_outsiders))
    in_town_persons = np.where(native_mig,
                               workers[rest].astype(np.int32) + kids_pre[rest] + kids_with_if_migrant,
                               size[rest])
    total = float(size.sum())
    uv_persons = float(size[urban_village & ~urban_native].sum())
    need = meta.resident_urbanization * total - float(size[urban_native].sum()) - uv_persons
    k = int(np.searchsorted(np.cumsum(in_town_persons), max(need, 0.0)))
    migrant = np.zeros(n, dtype=bool)
    migrant[rest[:k]] = True
    native = np.ones(n, dtype=bool)
    native[rest[:k]] = native_mig[:k]
    same_province = np.zeros(n, dtype=bool)
    same_province[rest[:k]] = province_mig[:k]
    kids_with = np.zeros(n, dtype=np.int8)
    kids_with[rest[:k]] = kids_with_if_migrant[:k]
    outsider_idx = rest[:k][~native_mig[:k]]
    kids_with[outsider_idx] = kids_school[outsider_idx]
    kids_with[urban_native] = kids_school[urban_native]

    town_share = np.array([t.urban_share for t in region.towns], dtype=np.float64)
    town_share = town_share / town_share.sum()
    place = origin.copy()
    town_of = rng.choice(T, size=n, p=town_share).astype(np.int32)
    place[urban_native | migrant] = town_of[urban_native | migrant]
    # migrants come mostly from nearby villages: redraw origin with weight share / distance
    mig_idx = np.flatnonzero(migrant)
    rural_villages = np.flatnonzero(~places.urban[T:])
    if mig_idx.size and rural_villages.size:
        w = village_share[rural_villages][None, :] / \
            (1.0 + places.km[np.ix_(np.arange(T), T + rural_villages)])
        w = w / w.sum(axis=1, keepdims=True)
        cdf = np.cumsum(w[town_of[mig_idx]], axis=1)
        pick = np.minimum((rng.random(mig_idx.size)[:, None] > cdf).sum(axis=1), rural_villages.size - 1)
        origin[mig_idx] = T + rural_villages[pick]
    origin[urban_native] = town_of[urban_native]
    hukou = np.where(urban_native, place, origin).astype(np.int32)
    # rural communities (新型农村社区): some villagers already live there, at home: their hukou
    # is registered in the community; their land and assets stay those of their village
    taken = np.zeros(n, dtype=bool)
    for j, t in enumerate(region.towns):
        if places.tier[j] == RURAL_COMMUNITY and t.rural_resident_share > 0:
            villagers = np.flatnonzero(~urban_native & ~migrant & ~taken & ~urban_village)
            pick = villagers[rng.random(villagers.size) < t.rural_resident_share]
            place[pick] = j
            hukou[pick] = j
            taken[pick] = True
    hukou[~native] = NO_PLACE  # outsiders' rural hukou lies outside the region
    birth_year = (year - head_age).astype(np.int16)

    education = np.clip(rng.binomial(3, np.where(urban_native, 0.6, 0.3)), 0, 3).astype(np.int8)
    skill = np.clip(rng.binomial(3, np.where(urban_native | migrant, 0.25, 0.12)), 0, 3).astype(np.int8)
    stable = (urban_native & (rng.random(n) < 0.7)) | (migrant & (rng.random(n) < eco.stable_job_share))
    years_in_town = np.where(migrant, rng.integers(0, 10, n), np.where(urban_native, 20, 0)).astype(np.int8)
    ins_years = np.where(stable, np.minimum(years_in_town, rng.integers(0, 10, n)), 0).astype(np.int8)
    ins_years[urban_native] = np.clip(head_age[urban_native] - 20, 0, 60).astype(np.int8)
    tenure = np.full(n, VILLAGE_HOME, dtype=np.int8)
    tenure[migrant] = np.where(rng.random(mig_idx.size) < 0.3, DORM, RENTED)
    tenure[urban_native] = OWNED
    owned_town = np.where(urban_native, place, NO_PLACE).astype(np.int32)

    vill = origin - T
    # rural assets: every rural-hukou household, native or outsider (an outsider's assets lie in
    # its home village outside the region; a village of the region stands in for their size)
    is_village = (origin >= T) & ~urban_native
    land_per = np.array([v.land_mu_per_household for v in region.villages], dtype=np.float32)
    home_val = np.array([v.homestead_value_yuan for v in region.villages], dtype=np.float32)
    divi = np.array([v.collective_dividend_yuan for v in region.villages], dtype=np.float32)
    safe_v = np.clip(vill, 0, len(region.villages) - 1)
    land_mu = np.where(is_village, land_per[safe_v] * rng.gamma(4.0, 0.25, n), 0).astype(np.float32)
    homestead = np.where(is_village, home_val[safe_v] * rng.gamma(4.0, 0.25, n), 0).astype(np.float32)
    dividend = np.where(is_village, divi[safe_v], 0).astype(np.float32)

    wage = eco.urban_wage_yuan
    rural_pc = eco.rural_income_per_capita
    income = np.where(urban_native | migrant, wage * workers * 0.9, rural_pc * size).astype(np.float32)
    savings = (income * rng.uniform(0.2, 1.5, n)).astype(np.float32)

    kin = np.full(n, NO_PLACE, dtype=np.int32)
    kin_gen = np.zeros(n, dtype=np.int8)
    # kin ties: half the households have a kin household from the same origin
    has_kin = rng.random(n) < 0.5
    idx = np.flatnonzero(has_kin)
    if idx.size > 1:
        by_origin = np.argsort(origin[idx], kind="stable")
        sorted_idx = idx[by_origin]
        partner = np.roll(sorted_idx, 1)
        same = origin[partner] == origin[sorted_idx]
        kin[sorted_idx[same]] = partner[same]
        kin_gen[sorted_idx[same]] = rng.integers(1, 4, int(same.sum()))
    # some rural households have kin who settled in town long ago (urban natives)
    urban_idx = np.flatnonzero(urban_native)
    to_urban = ~urban_native & (kin < 0) & (rng.random(n) < 0.2)
    if urban_idx.size and to_urban.any():
        kin[to_urban] = urban_idx[rng.integers(0, urban_idx.size, int(to_urban.sum()))]
        kin_gen[to_urban] = rng.integers(1, 4, int(to_urban.sum()))

    graduate = (rng.random(n) < eco.graduate_share) & (birth_year >= 1980)
    veteran = rng.random(n) < eco.veteran_share
    tax_paid = np.where(rng.random(n) < eco.entrepreneur_share,
                        rng.gamma(2.0, eco.entrepreneur_tax_yuan / 2.0, n), 0).astype(np.float32)

    # who holds land and a homestead at all: drawn last (the draws above are unchanged) and
    # independently of native status, generation and children, so that the survey contrasts
    # (with / without a homestead, native / outsider) can be told apart
    land_mu[rng.random(n) >= eco.land_holding_share] = 0.0
    homestead[rng.random(n) >= eco.homestead_holding_share] = 0.0

    pt = place_dtype(places.n_places)
    return Households(
        origin=origin.astype(pt),
        place=place.astype(pt),
        hukou=hukou.astype(pt),
        hukou_urban=urban_native.copy(),
        native=native,
        same_province=same_province,
        head_age=head_age.astype(np.int16),
        birth_year=birth_year,
        education=education,
        skill=skill,
        workers=workers,
        elders=elders,
        kids_pre=kids_pre,
        kids_school=kids_school,
        kids_with=kids_with,
        employed=np.where(urban_native | migrant, workers, 0).astype(np.int8),
        income=income,
        savings=savings,
        years_in_town=years_in_town,
        insurance_years=ins_years,
        stable_job=stable,
        job_years=np.where(stable, np.minimum(years_in_town, 5), 0).astype(np.int8),
        tenure=tenure,
        owned_town=owned_town.astype(pt),
        land_mu=land_mu,
        homestead_value=homestead,
        dividend=dividend,
        land_exited=np.zeros(n, dtype=bool),
        homestead_exited=np.zeros(n, dtype=bool),
        collective_exited=np.zeros(n, dtype=bool),
        collective_for_life=np.zeros(n, dtype=bool),
        kin=kin,
        kin_gen=kin_gen,
        graduate=graduate,
        veteran=veteran,
        tax_paid=tax_paid,
        placement=np.full(n, NO_PLACE, dtype=pt),
        reserved_offer=np.zeros(n, dtype=bool),
        reserved_job=np.zeros(n, dtype=bool),
        settled_year=np.zeros(n, dtype=np.int16),
        public_seat=(urban_native | migrant) & (kids_with > 0),
    )
