"""Entities: districts, stations, members, employers, cards, merchants, and what was planted."""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from pipelines.core.network import distance_matrix, haversine_km
from pipelines.core.reference import reference_tables
from pipelines.core.schema import CARD_TYPES, SCENES, SECTORS, table
from pipelines.ingest.generator.groups import Groups
from pipelines.ingest.generator.params import COMMUTE_PATTERNS, GeneratorParams

#: A month index meaning "not inside the period" (no move, no change of job, no change).
NEVER = np.int16(10_000)
#: Plane coordinates in km around the districts' mean, with a lon/lat origin and scale.
_KM_PER_DEG_LAT = 110.57
_KM_PER_DEG_LON_EQUATOR = 111.32


def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent, stable random stream per (seed, purpose, month ...)."""
    words = [k if isinstance(k, int) else zlib.crc32(k.encode()) for k in keys]
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def ids(prefix: str, n: int, width: int) -> pl.Series:
    """Sequential IDs like M00000001: pseudonymous, and distinctive enough to scan outputs for."""
    digits = pl.Series("id", np.arange(1, n + 1)).cast(pl.String).str.zfill(width)
    return pl.select(pl.lit(prefix) + digits).to_series()


def scrambled_ids(prefix: str, n: int, width: int, rng: np.random.Generator) -> pl.Series:
    """n distinct IDs like W48213907 in no order: an affine map of 1..n onto the width-digit
    numbers, with a multiplier prime to 10, so that no ID tells another (a wallet account
    number does not give away the member's)."""
    space = 10**width
    a = int(rng.integers(1, space // 10)) * 10 + int(rng.choice([1, 3, 7, 9]))
    b = int(rng.integers(0, space))
    digits = (np.arange(1, n + 1, dtype=np.int64) * (a % space) % space + b) % space
    return pl.select(pl.lit(prefix) + pl.Series(digits).cast(pl.String).str.zfill(width)).to_series()


def _where(mask: np.ndarray, values: pl.Series) -> pl.Expr:
    """`values` where `mask` holds, null elsewhere."""
    return pl.when(pl.Series(mask)).then(values)


def _days(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def scene_bit(scene: str) -> int:
    return 1 << SCENES.index(scene)


@dataclass
class Population:
    """Everything the monthly event generators need, as numpy arrays indexed by position."""

    params: GeneratorParams
    districts: pl.DataFrame
    stations: pl.DataFrame
    members: pl.DataFrame
    employers: pl.DataFrame
    cards: pl.DataFrame
    merchants: pl.DataFrame
    # member-level arrays
    member_home: np.ndarray  # district index at the end of the period
    member_prev_home: np.ndarray  # district index before a move (= member_home if none)
    member_move_month: np.ndarray  # month index from which member_home applies (0 if no move)
    member_age: np.ndarray
    member_join_day: np.ndarray  # days since epoch
    member_stop_day: np.ndarray  # first dormant day (days since epoch), or a day past the end
    member_profile: np.ndarray  # index into params.profiles
    member_tier: np.ndarray  # index into params.tiers (-1 for members who use no scene)
    member_scenes: np.ndarray  # bit mask of the scenes the member uses (scene_bit)
    member_wallet_only: np.ndarray  # bool: retail from the wallet only
    member_rate: np.ndarray  # tier multiplier x lognormal intensity: events per month at rate 1
    member_active: np.ndarray  # bool members x months: whether the member uses the card that month
    member_card: np.ndarray  # index into cards of the member's everyday card
    member_cluster: np.ndarray  # friend/family cluster among transfer users (-1: no transfers)
    friends: Groups  # the members who use transfers, by cluster
    member_bills: np.ndarray  # bool matrix members x bill types
    member_favourite: np.ndarray  # members x categories: favourite chain brand (0..brands-1)
    # places (plane km): anchors home / work / path, before and after a move or change of job
    home_xy: np.ndarray  # members x 2, after any move
    prev_home_xy: np.ndarray
    work_xy: np.ndarray  # members x 2 (NaN: no work or school)
    prev_work_xy: np.ndarray
    member_job_month: np.ndarray  # month index from which work_xy applies (0 if no change)
    merchant_xy: np.ndarray
    merchant_category: np.ndarray  # index into params.haunts order (= category_mix order)
    merchant_brand: np.ndarray  # brand within its category (0..brands-1), -1 for independents
    category_order: list[np.ndarray]  # per category: outlet indices in space-filling-curve order
    category_codes: list[np.ndarray]  # per category: their sorted curve codes
    # employees
    emp_member: np.ndarray
    emp_employer: np.ndarray
    emp_card: np.ndarray
    emp_pattern: np.ndarray  # index into COMMUTE_PATTERNS
    emp_home_station: np.ndarray  # index into stations
    emp_leg_km: np.ndarray  # the employee's usual bus / TRA / bike distance
    emp_feeder_km: np.ndarray  # bus feeder leg before rail, for bus+rail commuters
    member_home_station: dict[str, np.ndarray]  # system -> station index near home (after any move)
    member_prev_home_station: dict[str, np.ndarray]  # system -> station index near the home before
    anon_cards: np.ndarray  # card indices of anonymous cards
    card_type: np.ndarray  # fare class of each card, index into CARD_TYPES
    pattern_share: np.ndarray  # employers x patterns: each employer's true commute mix
    churned: np.ndarray  # bool: falls dormant inside the period

    def home_at(self, members: np.ndarray, month: int) -> np.ndarray:
        """District index of each member's home in month `month` (0-based in the period)."""
        moved = month >= self.member_move_month[members]
        return np.where(moved, self.member_home[members], self.member_prev_home[members])

    def home_station_at(self, members: np.ndarray, month: int) -> dict[str, np.ndarray]:
        moved = month >= self.member_move_month[members]
        return {
            s: np.where(moved, self.member_home_station[s][members], self.member_prev_home_station[s][members])
            for s in self.member_home_station
        }

    def active_in(self, members: np.ndarray, month: int) -> np.ndarray:
        return self.member_active[members, month]

    def uses(self, members: np.ndarray, scene: str) -> np.ndarray:
        return (self.member_scenes[members] & scene_bit(scene)) != 0


@dataclass(frozen=True)
class Block:
    """A fixed slice of members (with their staff cards) and of anonymous cards.

    Months are generated block by block so memory stays bounded at any scale; the block
    size is fixed, not tied to the machine, so the same seed gives the same data anywhere.
    """

    index: int
    members: np.ndarray
    employees: np.ndarray  # positions in the emp_* arrays
    anon: np.ndarray  # card indices


def member_count(params: GeneratorParams, scale: float) -> int:
    return max(50, round(params.members_per_scale * scale))


def block_count(n_members: int, size: int) -> int:
    return max(1, -(-n_members // size))


def blocks(pop: Population) -> list[Block]:
    n, size = pop.members.height, pop.params.block_members
    count = block_count(n, size)
    anon_edges = np.linspace(0, len(pop.anon_cards), count + 1).round().astype(int)
    out = []
    for b in range(count):
        lo, hi = b * size, min(n, (b + 1) * size)
        employees = np.flatnonzero((pop.emp_member >= lo) & (pop.emp_member < hi))
        out.append(Block(b, np.arange(lo, hi), employees, pop.anon_cards[anon_edges[b] : anon_edges[b + 1]]))
    return out


def _choice(rng: np.random.Generator, options: tuple, weights: list[float] | np.ndarray, n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(options), size=n, p=w / w.sum())


def _stratified(rng: np.random.Generator, n: int) -> np.ndarray:
    """n uniform draws, one in each n-th of [0, 1) in random order: the shares they give land
    on the parameters at any scale, instead of wandering by chance in a small population."""
    return (rng.permutation(n) + rng.random(n)) / n


def _choice_by_group(rng: np.random.Generator, group: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """For each member, an option index drawn by the weights of its group (a row of `weights`),
    stratified (see _stratified)."""
    cum = np.cumsum(weights, axis=1)
    cum = cum / cum[:, -1:]
    u = _stratified(rng, len(group))
    out = np.empty(len(group), dtype=np.int64)
    for g in range(len(weights)):
        at = group == g
        out[at] = np.minimum(np.searchsorted(cum[g], u[at], side="right"), weights.shape[1] - 1)
    return out


def first_month(rng: np.random.Generator, n: int, months: int, chance: float) -> np.ndarray:
    """For each of n members, the first month (1 .. months-1) in which an event of monthly
    `chance` happens, or NEVER; month 0 is excluded so every change has a "before"."""
    hits = rng.random((n, max(months - 1, 0))) < chance
    if hits.shape[1] == 0:  # a one-month period: no change has a month before it
        return np.full(n, NEVER, dtype=np.int16)
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, NEVER)
    return first.astype(np.int16)


def _allocate(total: int, shares: np.ndarray) -> np.ndarray:
    """Integer counts summing to `total` in proportion to `shares` (largest remainder), so a
    category's outlet count grows exactly with the scale instead of by chance."""
    exact = total * shares / shares.sum()
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]] += 1
    return counts


def morton(xy: np.ndarray) -> np.ndarray:
    """Z-order curve code of plane points (km): nearby points mostly get nearby codes, so the
    outlets nearest a point are found by a binary search and a window, at any density."""
    cell = np.clip(np.floor((xy + 64.0) * 512.0), 0, 2**16 - 1).astype(np.uint64)  # ~2 m cells
    code = np.zeros(cell.shape[:-1], dtype=np.uint64)
    for bit in range(16):
        b = np.uint64(bit)
        code |= ((cell[..., 0] >> b) & np.uint64(1)) << (np.uint64(2) * b)
        code |= ((cell[..., 1] >> b) & np.uint64(1)) << (np.uint64(2) * b + np.uint64(1))
    return code


def _home_stations(
    rng: np.random.Generator, home: np.ndarray, systems: np.ndarray, station_district: np.ndarray, n_dist: int
) -> dict[str, np.ndarray]:
    """A station of each system near each member's home: one in the home district if it has one."""
    out = {}
    for system in ("KRTC", "KLRT"):
        same_sys = np.flatnonzero(systems == system)
        pick = same_sys[rng.integers(0, len(same_sys), len(home))]
        for d in range(n_dist):
            local = same_sys[station_district[same_sys] == d]
            at_d = home == d
            if len(local) and at_d.any():
                pick[at_d] = local[rng.integers(0, len(local), int(at_d.sum()))]
        out[system] = pick
    return out


def build(params: GeneratorParams, scale: float, seed: int) -> Population:
    reference = reference_tables()
    districts, stations = reference["districts"], reference["stations"]
    n_dist = districts.height
    station_district = (
        stations["district_id"]
        .replace_strict(dict(zip(districts["district_id"], range(n_dist), strict=True)))
        .to_numpy()
    )
    d_lon, d_lat = districts["lon"].to_numpy(), districts["lat"].to_numpy()
    lon0, lat0 = d_lon.mean(), d_lat.mean()

    def plane(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return np.stack(
            [(lon - lon0) * _KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat0)), (lat - lat0) * _KM_PER_DEG_LAT], -1
        )

    district_xy = plane(d_lon, d_lat)
    station_xy = plane(stations["lon"].to_numpy(), stations["lat"].to_numpy())
    rng = rng_for(seed, "members")
    n = member_count(params, scale)
    n_months = params.months
    end_year = params.end.year
    start_day, end_day = _days(params.start), _days(params.end) + 1

    # --- members -------------------------------------------------------------------------
    bands = params.age_bands
    band = _choice(rng, bands, [b[2] for b in bands], n)
    lo = np.array([b[0] for b in bands])[band]
    hi = np.array([b[1] for b in bands])[band]
    age = rng.integers(lo, hi + 1)
    gender = np.where(rng.random(n) < params.female_share, "F", "M")
    # Synthetic residence weights: districts with more stations are denser.
    station_count = np.bincount(station_district, minlength=n_dist)
    dist_weight = 2.0 + station_count
    home = _choice(rng, tuple(range(n_dist)), dist_weight, n)
    joining_share = 1.0 - (1.0 - params.joining_per_month) ** n_months
    joining = rng.random(n) < joining_share
    join_day = np.where(
        joining,
        rng.integers(start_day, end_day - 7, n),
        rng.integers(_days(dt.date(2016, 1, 1)), start_day, n),
    )
    # Activity profile: shares tilted for concession-fare riders; minors pay no bills.
    profiles = params.profiles
    concession = (age <= 22) | (age >= 65)
    minor = age <= 20
    tilt = dict(params.concession_tilt)
    base = np.array([p.share for p in profiles])
    tilted = base * np.array([tilt.get(p.name, 1.0) for p in profiles])
    no_bills = np.array([0.0 if "bills" in p.scenes else 1.0 for p in profiles])
    # Groups: 0 other, 1 concession, 3 concession minor (a minor is on concession fares).
    profile = _choice_by_group(
        rng, concession.astype(int) + 2 * minor, np.stack([base, tilted, base * no_bills, tilted * no_bills])
    )
    scene_mask = np.array([sum(scene_bit(s) for s in p.scenes) for p in profiles], dtype=np.uint8)[profile]
    uses_any = scene_mask != 0
    tiers = params.tiers
    tier = np.where(uses_any, _choice_by_group(rng, np.zeros(n, int), np.array([[t.share for t in tiers]])), -1)
    intensity = rng.lognormal(0.0, params.activity_sigma, n)
    tier_rate = np.array([t.rate for t in tiers])
    member_rate = np.where(uses_any, tier_rate[np.maximum(tier, 0)] * intensity, 0.0)
    monthly = np.array([t.monthly_active for t in tiers])[np.maximum(tier, 0)]
    active = (rng.random((n, n_months)) < monthly[:, None]) & uses_any[:, None]
    # Churn: members who use the card, joined before the period, and fall dormant at a random
    # day after its first month and at least a month before it ends (both shortened for periods
    # under six months). They used the card every month until then.
    span = end_day - start_day
    churned = (rng.random(n) < params.churn_share) & (join_day < start_day) & uses_any
    churn_lo, churn_hi = start_day + min(31, span // 4), end_day - min(30, span // 6)
    stop_day = np.where(churned, rng.integers(churn_lo, churn_hi, n), end_day + 10_000)
    month_first_day = np.array([_days(m) for m in params.month_starts()])
    active |= churned[:, None] & (month_first_day[None, :] < stop_day[:, None])
    # Planned months are those the member is registered and not yet dormant in, some of them.
    month_next_day = np.append(month_first_day[1:], end_day)
    registered = (join_day[:, None] < month_next_day[None, :]) & (month_first_day[None, :] < stop_day[:, None])
    active &= registered
    # Guardians: each member aged 14-20 is linked to an adult member aged 30-64.
    # Ages are as of the period's last year; a member 20 in an earlier year of it was a minor
    # then, and the register of that year names their guardian (registers()).
    minors = np.flatnonzero(age <= 20 + params.end.year - params.start.year)
    adults = np.flatnonzero((age >= 30) & (age <= 64))
    guardian = np.full(n, -1)
    # A guardian is a member before the minor is: an adult drawn who joined later is replaced
    # by one of the adults who joined by then (the earliest adult if none had).
    draw = rng.integers(0, len(adults), len(minors))
    by_join = adults[np.argsort(join_day[adults], kind="stable")]
    before = np.maximum(np.searchsorted(join_day[by_join], join_day[minors], side="right"), 1)
    late = join_day[adults[draw]] > join_day[minors]
    guardian[minors] = np.where(late, by_join[draw * before // len(adults)], adults[draw])
    # What the operator does not know about some members.
    no_gender = rng.random(n) < params.unknown_gender_share
    no_birth_year = (rng.random(n) < params.unknown_birth_year_share) & (age > 20)
    no_district = rng.random(n) < params.unknown_district_share

    # --- where members live and work -------------------------------------------------------
    rng = rng_for(seed, "places")
    move_month = first_month(rng, n, n_months, params.move_per_month)
    prev_home = np.where(move_month < NEVER, _choice(rng, tuple(range(n_dist)), dist_weight, n), home)
    home_xy = district_xy[home] + rng.normal(0.0, 1.5, (n, 2))
    prev_home_xy = np.where(
        (move_month < NEVER)[:, None], district_xy[prev_home] + rng.normal(0.0, 1.5, (n, 2)), home_xy
    )
    # Work places sit where the rail network is dense; a student's school is near home.
    working = (age >= 22) & (age <= 64) & (rng.random(n) < params.work_share)
    student = age <= 22
    work_d = _choice(rng, tuple(range(n_dist)), 1.0 + station_count, n)
    work_xy = np.where(
        student[:, None],
        home_xy + rng.normal(0.0, 2.0, (n, 2)),
        district_xy[work_d] + rng.normal(0.0, 1.5, (n, 2)),
    )
    work_xy[~(working | student)] = np.nan
    job_month = np.where(working, first_month(rng, n, n_months, params.job_change_per_month), NEVER).astype(np.int16)
    new_work_d = _choice(rng, tuple(range(n_dist)), 1.0 + station_count, n)
    prev_work_xy = work_xy.copy()
    changed = job_month < NEVER
    work_xy[changed] = district_xy[new_work_d[changed]] + rng.normal(0.0, 1.5, (int(changed.sum()), 2))
    # Kept as float32 from here (see the return below): the same values, half the memory.
    home_xy, prev_home_xy, work_xy, prev_work_xy = (
        a.astype(np.float32) for a in (home_xy, prev_home_xy, work_xy, prev_work_xy)
    )
    del work_d, new_work_d, changed

    # --- employers -----------------------------------------------------------------------
    rng = rng_for(seed, "employers")
    n_emp = max(3, round(params.employers_per_scale * scale))
    systems = stations["system"].to_numpy()
    # Most work places sit by an MRT station, one in five by the light rail.
    work_station = np.where(
        rng.random(n_emp) < 0.8,
        rng.choice(np.flatnonzero(systems == "KRTC"), n_emp),
        rng.choice(np.flatnonzero(systems == "KLRT"), n_emp),
    )
    employers = pl.DataFrame(
        {
            "employer_id": ids("E", n_emp, 4),
            "employer_name": [f"Employer {i:04d} (synthetic)" for i in range(1, n_emp + 1)],
            "sector": np.array(SECTORS)[rng.integers(0, len(SECTORS), n_emp)],
            "district_id": stations["district_id"].gather(work_station),
            "work_station_id": stations["station_id"].gather(work_station),
            "in_carbon_programme": rng.random(n_emp) < 0.75,
        }
    )
    # Each employer's true commute mix: a Dirichlet draw, so employers differ.
    alpha = np.array([6.0, 3.0, 1.0, 1.5, 2.0])
    pattern_share = rng.dirichlet(alpha, n_emp)
    # Staff cards go to working-age members who ride: they commute on every working day, so
    # they are active every month, and they neither move nor change jobs inside the period.
    working_age = np.flatnonzero((age >= 22) & (age <= 64))
    riders = working_age[(scene_mask[working_age] & scene_bit("transit")) != 0]
    n_staff = min(round(params.employee_share * len(working_age)), len(riders))
    emp_member = np.sort(rng.choice(riders, n_staff, replace=False))
    size_weight = rng.lognormal(0.0, 0.8, n_emp)
    emp_employer = rng.choice(n_emp, n_staff, p=size_weight / size_weight.sum())
    emp_pattern = (rng.random(n_staff)[:, None] > np.cumsum(pattern_share[emp_employer], axis=1)).sum(axis=1)
    emp_pattern = np.minimum(emp_pattern, len(COMMUTE_PATTERNS) - 1)
    active[emp_member] = registered[emp_member]
    move_month[emp_member] = NEVER
    prev_home[emp_member] = home[emp_member]
    prev_home_xy[emp_member] = home_xy[emp_member]
    job_month[emp_member] = NEVER
    work_xy[emp_member] = station_xy[work_station[emp_employer]] + rng.normal(0.0, 0.3, (n_staff, 2))
    prev_work_xy[emp_member] = work_xy[emp_member]
    member_home_station = _home_stations(rng, home, systems, station_district, n_dist)
    member_prev_home_station = _home_stations(rng, prev_home, systems, station_district, n_dist)
    for system in member_prev_home_station:
        same = move_month == NEVER
        member_prev_home_station[system][same] = member_home_station[system][same]

    # An employee's home station is their home station on the work place's system; where that
    # is the work station itself (or R10/O5, one station), any other station of the system.
    _, dist = distance_matrix()
    work_sys = systems[work_station[emp_employer]]
    emp_home_station = np.where(
        work_sys == "KRTC", member_home_station["KRTC"][emp_member], member_home_station["KLRT"][emp_member]
    )
    while (clash := dist[emp_home_station, work_station[emp_employer]] == 0).any():
        for system in ("KRTC", "KLRT"):
            fix = clash & (work_sys == system)
            same_sys = np.flatnonzero(systems == system)
            emp_home_station[fix] = same_sys[rng.integers(0, len(same_sys), int(fix.sum()))]
    work_district = station_district[work_station[emp_employer]]
    straight = haversine_km(
        d_lon[home[emp_member]], d_lat[home[emp_member]], d_lon[work_district], d_lat[work_district]
    )
    pattern_name = np.array(COMMUTE_PATTERNS)[emp_pattern]
    emp_leg_km = np.select(
        [pattern_name == "bus", pattern_name == "tra", pattern_name == "bike"],
        [
            1.3 * straight + rng.uniform(1.5, 4.0, n_staff),
            rng.lognormal(np.log(15.0), 0.4, n_staff),
            rng.uniform(1.5, 6.0, n_staff),
        ],
        default=0.0,
    )
    emp_leg_km = np.clip(emp_leg_km, 0.5, 90.0)
    emp_feeder_km = rng.uniform(1.5, 5.0, n_staff)

    member_ids = ids("M", n, 8)
    members = pl.DataFrame(
        {
            "member_id": member_ids,
            "account_id": scrambled_ids("W", n, 8, rng_for(seed, "accounts")),
            "gender": gender,
            "birth_year": pl.Series((end_year - age).astype(np.int32)),
            "home_district_id": districts["district_id"].gather(home),
            "join_date": pl.Series(join_day.astype("datetime64[D]")),
        }
    ).with_columns(
        _where(~no_gender, pl.col("gender")).alias("gender"),
        _where(~no_birth_year, pl.col("birth_year")).alias("birth_year"),
        _where(~no_district, pl.col("home_district_id")).alias("home_district_id"),
        _where(guardian >= 0, member_ids.gather(np.maximum(guardian, 0))).alias("guardian_member_id"),
    )

    # --- cards ---------------------------------------------------------------------------
    rng = rng_for(seed, "cards")
    # Fare classes as small codes (index into CARD_TYPES), not strings: millions of cards.
    adult, student, senior, staff = (np.int8(CARD_TYPES.index(t)) for t in ("adult", "student", "senior", "staff"))
    personal_type = np.where(age <= 22, student, np.where(age >= 65, senior, adult)).astype(np.int8)
    second = np.flatnonzero((rng.random(n) < params.second_card_share) & (age >= 21))
    n_anon = round(params.anonymous_cards_per_member * n)
    holder = np.concatenate([np.arange(n), second, emp_member, np.full(n_anon, -1)])
    ctype = np.concatenate(
        [personal_type, np.full(len(second), adult), np.full(n_staff, staff), np.full(n_anon, adult)]
    )
    employer_of_card = np.concatenate([np.full(n + len(second), -1), emp_employer, np.full(n_anon, -1)])
    issued = np.where(
        holder >= 0,
        join_day[np.maximum(holder, 0)] + rng.integers(0, 30, len(holder)),
        rng.integers(_days(dt.date(2016, 1, 1)), start_day, len(holder)),
    )
    issued = np.minimum(issued, end_day - 1)
    n_cards = len(holder)
    card_ids = ids("K", n_cards, 9)
    cards = pl.select(
        card_id=card_ids,
        card_type=pl.Series(CARD_TYPES).gather(ctype),
        member_id=_where(holder >= 0, member_ids.gather(np.maximum(holder, 0))),
        employer_id=_where(employer_of_card >= 0, employers["employer_id"].gather(np.maximum(employer_of_card, 0))),
        issued_date=pl.Series(issued.astype("datetime64[D]")),
    )
    emp_card = np.arange(n + len(second), n + len(second) + n_staff)
    # Locals live until the function returns: drop the large ones no longer needed, as every
    # worker process builds the population.
    del holder, employer_of_card, issued, personal_type, lo, hi, band, gender
    anon_cards = np.arange(n + len(second) + n_staff, n_cards)

    # --- merchants -----------------------------------------------------------------------
    rng = rng_for(seed, "merchants")
    cats = tuple(c for c, _, _ in params.category_mix)
    outlet_share = dict((c, s) for c, s, _ in params.outlet_mix)
    chain_share_of = dict((c, s) for c, _, s in params.outlet_mix)
    per_category = _allocate(
        max(40, round(params.merchants_per_scale * scale)), np.array([outlet_share[c] for c in cats])
    )
    # Every category has at least a member's neighbourhood of outlets, so that a tiny city (the
    # test snapshot) still offers a choice instead of one department store taking them all;
    # from scale 0.25 on the counts are proportional.
    per_category = np.maximum(per_category, [h.nearby for h in params.haunts])
    n_merch = int(per_category.sum())
    cat = rng.permutation(np.repeat(np.arange(len(cats)), per_category))
    chain_share = np.array([chain_share_of[c] for c in cats])[cat]
    in_chain = rng.random(n_merch) < chain_share
    # Outlets of a chain share the brand.
    brands_per_cat = params.brands_per_category
    brand_local = rng.integers(0, brands_per_cat, n_merch)
    brand_idx = cat * brands_per_cat + brand_local
    merchant_district = _choice(rng, tuple(range(n_dist)), 1.0 + station_count, n_merch)
    # float32 like the members' places: distances between them are computed in float32.
    merchant_xy = (district_xy[merchant_district] + rng.normal(0.0, 1.5, (n_merch, 2))).astype(np.float32)
    merchant_ids = ids("S", n_merch, 7)
    brand_ids = ids("B", len(cats) * brands_per_cat, 4)
    cat_names = np.array(cats)
    brand_name = np.char.add(
        np.char.add("Brand ", np.char.zfill((brand_idx + 1).astype(str), 4)),
        np.char.add(" ", np.char.replace(cat_names[cat], "_", " ")),
    )
    merchants = pl.select(
        merchant_id=merchant_ids,
        merchant_name=pl.Series(
            np.where(
                in_chain,
                np.char.add(brand_name, np.char.add(" #", np.arange(1, n_merch + 1).astype(str))),
                np.char.add("Outlet ", np.char.add(np.arange(1, n_merch + 1).astype(str), " (independent)")),
            )
        ),
        brand_id=_where(in_chain, brand_ids.gather(brand_idx)),
        brand_name=_where(in_chain, pl.Series(brand_name)),
        category=pl.Series(cat_names[cat]),
        district_id=districts["district_id"].gather(merchant_district),
        opened_date=pl.Series(rng.integers(_days(dt.date(2012, 1, 1)), start_day, n_merch).astype("datetime64[D]")),
    )
    codes = morton(merchant_xy)
    category_order, category_codes = [], []
    for c in range(len(cats)):
        of_c = np.flatnonzero(cat == c)
        order = of_c[np.argsort(codes[of_c], kind="stable")]
        category_order.append(order)
        category_codes.append(codes[order])

    # --- spending habits -----------------------------------------------------------------
    rng = rng_for(seed, "habits")
    # Friend and family clusters of about four among the members who send transfers.
    p2p = np.flatnonzero((scene_mask & scene_bit("p2p")) != 0)
    cluster = np.full(n, -1)
    cluster[p2p] = rng.integers(0, max(1, len(p2p) // 4), len(p2p))
    # Bills: each bill-paying member holds some of the bill types, at least one.
    bill_share = np.array([s for _, s, _ in params.bills])
    pays_bills = (scene_mask & scene_bit("bills")) != 0
    member_bills = (rng.random((n, len(bill_share))) < bill_share) & pays_bills[:, None]
    none = pays_bills & ~member_bills.any(axis=1)
    member_bills[none, int(np.argmax(bill_share))] = True
    favourite = rng.integers(0, brands_per_cat, (n, len(cats)), dtype=np.int8)

    # Compact types: every worker process holds the whole population, at any scale.
    return Population(
        params=params,
        districts=districts,
        stations=stations,
        members=members.select(table("members").column_names).cast(dict(table("members").polars_schema)),
        employers=employers.cast(dict(table("employers").polars_schema)),
        cards=cards.cast(dict(table("cards").polars_schema)),
        merchants=merchants.cast(dict(table("merchants").polars_schema)),
        member_home=home.astype(np.int16),
        member_prev_home=prev_home.astype(np.int16),
        member_move_month=np.where(move_month < NEVER, move_month, 0).astype(np.int16),
        member_age=age.astype(np.int16),
        member_join_day=join_day.astype(np.int32),
        member_stop_day=stop_day.astype(np.int32),
        member_profile=profile.astype(np.int8),
        member_tier=tier.astype(np.int8),
        member_scenes=scene_mask,
        member_wallet_only=np.array([p.wallet_only for p in profiles])[profile],
        member_rate=member_rate,
        member_active=active,
        member_card=np.arange(n, dtype=np.int32),
        member_cluster=cluster.astype(np.int32),
        friends=Groups.of(p2p, cluster[p2p], int(cluster.max()) + 1 if len(p2p) else 1),
        member_bills=member_bills,
        member_favourite=favourite,
        home_xy=home_xy.astype(np.float32),
        prev_home_xy=prev_home_xy.astype(np.float32),
        work_xy=work_xy.astype(np.float32),
        prev_work_xy=prev_work_xy.astype(np.float32),
        member_job_month=np.where(job_month < NEVER, job_month, 0).astype(np.int16),
        merchant_xy=merchant_xy,
        merchant_category=cat,
        merchant_brand=np.where(in_chain, brand_local, -1),
        category_order=category_order,
        category_codes=category_codes,
        emp_member=emp_member,
        emp_employer=emp_employer,
        emp_card=emp_card,
        emp_pattern=emp_pattern,
        emp_home_station=emp_home_station,
        emp_leg_km=emp_leg_km,
        emp_feeder_km=emp_feeder_km,
        member_home_station={k: v.astype(np.int16) for k, v in member_home_station.items()},
        member_prev_home_station={k: v.astype(np.int16) for k, v in member_prev_home_station.items()},
        anon_cards=anon_cards,
        card_type=ctype,
        pattern_share=pattern_share,
        churned=churned,
    )


def joined_by(pop: Population, months: int) -> np.ndarray:
    """Whether each member has joined by the end of the population's first `months` months."""
    return pop.member_join_day <= _days(replace(pop.params, months=months).end)


def registers(pop: Population, months: int) -> dict[str, pl.DataFrame]:
    """The members and cards registers as they stand at the end of the population's first
    `months` months: the members who joined by then, each at the home they had then and with a
    guardian while 14-20 that year, and their
    cards and the anonymous ones. A card drawn to be issued later is dated that last day, as
    every card of a period drawn whole is dated by its end: the member already rides with it."""
    joined = joined_by(pop, months)
    home = pop.districts["district_id"].gather(pop.home_at(np.arange(len(joined)), months - 1))
    last = replace(pop.params, months=months).end
    members = pop.members.with_columns(
        pl.when(pl.col("home_district_id").is_not_null()).then(home).alias("home_district_id"),
        # A guardian is linked while the member is 14-20 in the register's year.
        pl.when((last.year - pl.col("birth_year")).is_between(14, 20))
        .then(pl.col("guardian_member_id"))
        .alias("guardian_member_id"),
    ).filter(pl.Series(joined))
    cards = pop.cards.filter(
        pl.col("member_id").is_null() | pl.col("member_id").is_in(members["member_id"].implode())
    ).with_columns(pl.min_horizontal("issued_date", pl.lit(last)).alias("issued_date"))
    return {"members": members, "cards": cards}


def employee_truth(pop: Population, months: int) -> dict[str, pl.DataFrame]:
    """What was planted about the staff cards of the members who joined by the end of the first
    `months` months, for tests to check the analyses recover it."""
    employers = pop.employers
    staff = np.flatnonzero(joined_by(pop, months)[pop.emp_member])
    return {
        "employees": pl.select(
            member_id=pop.members["member_id"].gather(pop.emp_member[staff]),
            card_id=pop.cards["card_id"].gather(pop.emp_card[staff]),
            employer_id=employers["employer_id"].gather(pop.emp_employer[staff]),
            commute_pattern=pl.Series(np.array(COMMUTE_PATTERNS)[pop.emp_pattern[staff]]),
            home_station_id=pop.stations["station_id"].gather(pop.emp_home_station[staff]),
        ),
        "employer_commute_mix": pl.DataFrame(
            {"employer_id": employers["employer_id"]}
            | {f"share_{c.replace('+', '_')}": pop.pattern_share[:, i] for i, c in enumerate(COMMUTE_PATTERNS)}
        ),
    }


def member_truth(pop: Population, members: np.ndarray) -> pl.DataFrame:
    """What was planted about these members (a block), for tests to check the analyses recover
    it; reports never read it. Written a block at a time, as it has a row per member."""
    p = pop.params
    months = p.month_starts()

    def month_date(index: np.ndarray) -> pl.Expr:
        valid = (index > 0) & (index < len(months))
        dates = pl.Series(np.array([*months, months[0]], dtype="datetime64[D]")[np.where(valid, index, len(months))])
        return _where(valid, dates)

    m = members
    scenes = pop.member_scenes[m]
    tier = pop.member_tier[m]
    district_ids = pop.districts["district_id"]
    return pl.select(
        member_id=pop.members["member_id"].gather(m),
        profile=pl.Series([x.name for x in p.profiles]).gather(pop.member_profile[m]),
        tier=_where(tier >= 0, pl.Series([t.name for t in p.tiers]).gather(np.maximum(tier, 0))),
        **{f"uses_{s}": pl.Series((scenes & scene_bit(s)) != 0) for s in SCENES},
        wallet_only=pl.Series(pop.member_wallet_only[m]),
        activity_rate=pl.Series(pop.member_rate[m]),
        active_months=_active_months(pop, m),
        dormant_from=_where(pop.churned[m], pl.Series(pop.member_stop_day[m].astype("datetime64[D]"))),
        moved_from=month_date(pop.member_move_month[m]),
        home_district_id=district_ids.gather(pop.member_home[m]),
        previous_home_district_id=district_ids.gather(pop.member_prev_home[m]),
        new_job_from=month_date(pop.member_job_month[m]),
        favourite_brand_ids=_favourite_brands(pop, m),
        age=pl.Series(pop.member_age[m].astype(np.int32)),
    )


def _active_months(pop: Population, members: np.ndarray) -> pl.Series:
    """Each member's planned active months as a list of month starts (empty for none)."""
    who, month = np.nonzero(pop.member_active[members])
    starts = np.array(pop.params.month_starts(), dtype="datetime64[D]")
    lists = pl.DataFrame({"who": who, "month": starts[month]}).group_by("who").agg(pl.col("month").sort())
    every = pl.DataFrame({"who": np.arange(len(members))}).join(lists, on="who", how="left")
    return every.sort("who")["month"].fill_null(pl.lit([], dtype=pl.List(pl.Date)))


def _favourite_brands(pop: Population, members: np.ndarray) -> pl.Series:
    """Each member's favourite chain brand in every category, in the categories' order."""
    per_cat = pop.params.brands_per_category
    brand_ids = ids("B", len(pop.params.haunts) * per_cat, 4)
    index = np.arange(len(pop.params.haunts))[None, :] * per_cat + pop.member_favourite[members]
    return brand_ids.gather(index.reshape(-1)).reshape(index.shape).cast(pl.List(pl.String))
