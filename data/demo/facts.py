"""Deterministic fictional facts for the demo city: cases, patrols, risks and hotspot cells.

Everything is drawn from one ``numpy.random.Generator`` seeded by the caller, so the same units,
seed and end day always give the same frames. Nothing here is real data: magnitudes, mixes and
calendar effects are calibrated on the public figures collected in the domain brief (§1b, §6)
so that the screens look plausible to a command-centre analyst.

Where facts are recorded follows practice:

* cases at grid level (the grid worker or the mediation committee logs them); petitions that
  walked into a 镇街 reception without a known grid (about 10 %) are recorded at town level,
  so roll-ups must add a town's own records to its children's;
* patrols at town level (a 派出所 jurisdiction is roughly a town);
* risks at village level;
* hotspot events on H3 resolution-8 cells, spread from the grid-level case counts.

Cases are counted by intake day (cohort accounting): ``closed`` on a row means "of the cases
received that day, closed by the end of the period", so recent days show fewer closed cases
and lower success rates, exactly as a live system does.

Generation is vectorised over units and days: daily counts are Poisson draws on a
(unit × day) intensity matrix, expanded to individual events only to draw category and channel,
then re-aggregated. The only Python loops run over days (risk stock-flow), cell positions
within a grid (hotspot spreading), the grids too small to hold a cell centre (one H3 lookup
each), or fixed small tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from data import schema
from data.demo import calendar as cal_mod
from data.levels import RISK_DOMAINS, Level, RiskLevel, Stream

H3_RESOLUTION = 8

# --- mixes (domain brief §6) -------------------------------------------------------------------

#: Huangshi monthly dispute mix (shares of 受理数).
DISPUTE_MIX: dict[str, float] = {
    "邻里纠纷": 0.320,
    "婚姻家庭纠纷": 0.184,
    "损害赔偿纠纷": 0.087,
    "房屋宅基地纠纷": 0.077,
    "医疗纠纷": 0.063,
    "其它纠纷": 0.062,
    "合同纠纷": 0.051,
    "交通事故纠纷": 0.038,
    "生产经营纠纷": 0.036,
    "征地拆迁纠纷": 0.032,
    "山林土地纠纷": 0.021,
    "劳动争议纠纷": 0.015,
    "消费纠纷": 0.008,
    "环境污染纠纷": 0.005,
    "物业纠纷": 0.001,
}

# Urban classes used to condition mixes: 0 = 主城区/城乡结合区 (111, 112),
# 1 = 镇中心区/镇乡结合区/特殊区域 (121–123), 2 = 乡中心区/村庄 (210, 220).
URBAN, TOWNSHIP, RURAL = 0, 1, 2
N_CLASSES = 3

#: Factors on the Huangshi mix per class [assumption, direction from the domain brief]: cities
#: raise the "new" types (物业, 消费, 交通, 医患, 劳资), villages the traditional ones.
DISPUTE_CLASS_FACTORS: dict[int, dict[str, float]] = {
    URBAN: {
        "物业纠纷": 15.0,
        "消费纠纷": 2.5,
        "交通事故纠纷": 1.6,
        "医疗纠纷": 1.5,
        "劳动争议纠纷": 2.0,
        "合同纠纷": 1.3,
        "山林土地纠纷": 0.1,
        "房屋宅基地纠纷": 0.35,
        "邻里纠纷": 0.85,
        "婚姻家庭纠纷": 0.85,
        "征地拆迁纠纷": 0.7,
    },
    TOWNSHIP: {
        "物业纠纷": 4.0,
        "消费纠纷": 1.4,
        "交通事故纠纷": 1.2,
        "医疗纠纷": 1.1,
        "劳动争议纠纷": 1.4,
        "山林土地纠纷": 0.7,
        "房屋宅基地纠纷": 0.9,
    },
    RURAL: {
        "物业纠纷": 0.1,
        "消费纠纷": 0.5,
        "医疗纠纷": 0.7,
        "劳动争议纠纷": 0.7,
        "山林土地纠纷": 1.8,
        "房屋宅基地纠纷": 1.5,
        "邻里纠纷": 1.15,
        "婚姻家庭纠纷": 1.15,
    },
}

DISPUTE_CHANNELS: dict[str, float] = {"主动调解": 0.524, "申请调解": 0.435, "委托移送": 0.041}

#: 市长信箱 subjects; the first four shares are from the brief, the rest [assumption].
PETITION_MIX: dict[str, float] = {
    "城建/房屋土地": 0.233,
    "劳动和社会保障": 0.153,
    "治安": 0.109,
    "金融商贸": 0.107,
    "农业农村": 0.085,
    "教育": 0.060,
    "生态环境": 0.060,
    "卫生健康": 0.055,
    "民政": 0.050,
    "交通运输": 0.043,
    "涉法涉诉": 0.025,
    "其它": 0.020,
}
PETITION_CLASS_FACTORS: dict[int, dict[str, float]] = {
    URBAN: {"城建/房屋土地": 1.2, "金融商贸": 1.3, "农业农村": 0.15, "教育": 1.1},
    TOWNSHIP: {"农业农村": 1.0},
    RURAL: {"农业农村": 2.2, "金融商贸": 0.6, "城建/房屋土地": 0.9},
}
PETITION_CHANNELS: dict[str, float] = {"来信": 0.22, "来访": 0.33, "网上信访": 0.45}

#: Da'an grid-worker mix (治安隐患 42 %, 矛盾纠纷 9 %, 突发 2 %); the rest [assumption].
GRID_EVENT_MIX_THIN: dict[str, float] = {
    "治安隐患": 0.42,
    "矛盾纠纷": 0.09,
    "突发事件": 0.02,
    "民生服务": 0.22,
    "环境卫生": 0.13,
    "安全隐患": 0.08,
    "其它": 0.04,
}
#: Liyang logs everything (安全隐患 18.5 %, 矛盾纠纷 4.4 %); the rest [assumption].
GRID_EVENT_MIX_DENSE: dict[str, float] = {
    "治安隐患": 0.20,
    "矛盾纠纷": 0.044,
    "突发事件": 0.011,
    "民生服务": 0.20,
    "环境卫生": 0.30,
    "安全隐患": 0.185,
    "其它": 0.06,
}
GRID_EVENT_CHANNELS: dict[str, float] = {"网格员上报": 0.80, "群众报送": 0.15, "部门流转": 0.05}

# --- rates (domain brief §1b "rates to use") ---------------------------------------------------

#: Disputes per 1,000 residents per year by class (brief: 4–13, urban higher).
DISPUTE_RATE = np.array([10.5, 8.0, 6.0])
#: Petitions (件次) per 1,000 residents per year: same order as disputes, lower.
PETITION_RATE = np.array([5.0, 3.8, 3.0])
#: Thin regime (Da'an): 1.8 grid events per 1,000 residents per month.
GRID_EVENT_RATE_THIN = 1.8 * 12
#: Dense regime (Liyang): 77 events per grid per month.
GRID_EVENTS_PER_GRID_MONTH_DENSE = 77.0

YEARLY_CHANGE = {Stream.DISPUTE: -0.05, Stream.PETITION: -0.06, Stream.GRID_EVENT: -0.03}

#: Share of 来访 petitions recorded only at the 镇街 reception (→ ≈10 % of all petitions).
WALK_IN_SHARE_OF_VISITS = 0.30

#: Time limits in days: mediation 30 d; 信访 handling 60 d (《信访工作条例》); grid events 7 d.
DEADLINE = {Stream.DISPUTE: 30, Stream.PETITION: 60, Stream.GRID_EVENT: 7}
_MAX_LAG = 120

RISK_LEVEL_SHARES = {
    RiskLevel.RED: 0.0025,
    RiskLevel.ORANGE: 0.0525,
    RiskLevel.YELLOW: 0.245,
    RiskLevel.BLUE: 0.70,
}
RISK_DOMAIN_SHARES = dict(zip(RISK_DOMAINS, (0.04, 0.25, 0.40, 0.25, 0.06), strict=True))
#: Daily chance that an open risk item is closed (销号): red items stay open longest.
RISK_CLOSE_HAZARD = {
    RiskLevel.RED: 1 / 25,
    RiskLevel.ORANGE: 1 / 18,
    RiskLevel.YELLOW: 1 / 12,
    RiskLevel.BLUE: 1 / 8,
}
#: New risk items per village per month for a village of 2,500 residents.
RISK_NEW_PER_VILLAGE_MONTH = 2.0

CASE_COLUMNS = ["unit_code", "day", "stream", "category", "channel", *schema.CASE_MEASURES]
PATROL_COLUMNS = ["unit_code", "day", *schema.PATROL_MEASURES]
RISK_COLUMNS = ["unit_code", "day", "domain", "level", *schema.RISK_MEASURES]


@dataclass(frozen=True)
class Incident:
    """One injected pattern, so the demo script and tests can point at it.

    Attributes
    ----------
    kind : str
        ``dispute_cluster``, ``petition_surge``, ``property_ramp`` or ``safety_campaign``.
    unit_code, unit_name : str
        The unit whose area the pattern covers (a town, district or village).
    start, end : datetime.date
        First and last day of the injected window, inclusive.
    description : str
        What happened, in Chinese, as a briefing would say it.
    stream, category : str
        Where the extra cases were added.
    injected : int
        Extra cases actually added on top of the baseline (all streams).
    """

    kind: str
    unit_code: str
    unit_name: str
    start: dt.date
    end: dt.date
    description: str
    stream: str
    category: str
    injected: int = 0


@dataclass
class DemoFacts:
    """All demo facts, as recorded at their lowest unit (see the module docstring)."""

    cases: pd.DataFrame
    patrols: pd.DataFrame
    risks: pd.DataFrame
    hotspot_cells: pd.DataFrame
    hotspot_daily: pd.DataFrame
    incidents: list[Incident] = field(default_factory=list)


# --- units -------------------------------------------------------------------------------------


@dataclass
class _Units:
    codes: np.ndarray  # object array of all unit codes; fact rows index into it
    names: np.ndarray
    level: np.ndarray
    grid: np.ndarray  # unit index of each leaf ("grid") unit
    grid_pop: np.ndarray  # effective population used for rates (专属 grids get a floor)
    grid_pop_reported: np.ndarray
    grid_class: np.ndarray
    grid_urbanity: np.ndarray  # 1 = 主城区 .. 0 = 村庄, drives patrol speed
    grid_village: np.ndarray  # unit index or -1
    grid_town: np.ndarray
    grid_district: np.ndarray
    towns: np.ndarray
    villages: np.ndarray
    districts: np.ndarray


def _ur_code(urban_rural: object) -> str:
    """Normalise an 城乡分类 value (str, int, float or missing) to its 3-digit string."""
    if urban_rural is None or pd.isna(urban_rural):
        return ""
    if isinstance(urban_rural, float):
        return str(int(urban_rural))
    return str(urban_rural).strip()


def _class_of(urban_rural: object) -> int:
    s = _ur_code(urban_rural)
    if s in ("111", "112"):
        return URBAN
    if s.startswith("12"):
        return TOWNSHIP
    if s.startswith("2"):
        return RURAL
    return -1


def _class_from_town_code(code: str) -> int:
    """GB/T 10114 town digits: 001–099 街道, 100–199 镇, 200–399 乡."""
    try:
        seq = int(code[6:9])
    except ValueError:
        return TOWNSHIP
    return URBAN if seq < 100 else TOWNSHIP if seq < 200 else RURAL


def _prepare_units(units: pd.DataFrame) -> _Units:
    df = units.reset_index(drop=True)
    codes = df["code"].astype(str).to_numpy(dtype=object)
    index = {c: i for i, c in enumerate(codes)}
    parent = np.array(
        [-1 if pd.isna(p) else index.get(str(p), -1) for p in df["parent_code"]],
        dtype=np.int64,
    )
    level = df["level"].astype(str).to_numpy(dtype=object)

    def ancestor_at(lvl: str) -> np.ndarray:
        out = np.where(level == lvl, np.arange(len(df)), -1)
        cur = parent.copy()
        for _ in range(len(Level)):  # a tree is at most five levels deep
            valid = cur >= 0
            hit = valid & (out < 0)
            hit[valid] &= level[cur[valid]] == lvl
            out[hit] = cur[hit]
            cur = np.where(valid, parent[np.maximum(cur, 0)], -1)
        return out

    present = set(level)
    leaf_level = next(
        (lv for lv in (Level.GRID, Level.VILLAGE, Level.TOWN) if lv.value in present), None
    )
    if leaf_level is None:
        raise ValueError("units need at least one town, village or grid")
    grid = np.flatnonzero(level == leaf_level.value)
    village_of, town_of, district_of = (ancestor_at(x) for x in ("village", "town", "district"))

    pop = pd.to_numeric(df["population"], errors="coerce").to_numpy(dtype=float)
    reported = np.nan_to_num(pop[grid], nan=0.0)
    positive = reported[reported > 0]
    floor = 0.3 * (np.median(positive) if positive.size else 1000.0)
    # 专属网格 (schools, hospitals, markets) may carry no residents but still log events.
    effective = np.where(reported > 0, reported, floor)

    ur = df["urban_rural"].to_numpy(dtype=object)
    own = np.array([_class_of(x) for x in ur])
    cls = own[grid].copy()
    for anc in (village_of[grid], town_of[grid]):
        missing = (cls < 0) & (anc >= 0)
        cls[missing] = own[anc[missing]]
    missing = (cls < 0) & (town_of[grid] >= 0)
    cls[missing] = [_class_from_town_code(codes[t]) for t in town_of[grid][missing]]
    cls[cls < 0] = TOWNSHIP
    urbanity_by_code = {"111": 1.0, "112": 0.85, "121": 0.6, "122": 0.45, "123": 0.4}
    urbanity = np.array([urbanity_by_code.get(_ur_code(x), np.nan) for x in ur[grid]])
    urbanity = np.where(np.isnan(urbanity), np.array([1.0, 0.5, 0.05])[cls], urbanity)

    return _Units(
        codes=codes,
        names=df["name"].astype(str).to_numpy(dtype=object),
        level=level,
        grid=grid,
        grid_pop=effective,
        grid_pop_reported=reported,
        grid_class=cls.astype(np.int64),
        grid_urbanity=urbanity,
        grid_village=village_of[grid],
        grid_town=town_of[grid],
        grid_district=district_of[grid],
        towns=np.flatnonzero(level == "town"),
        villages=np.flatnonzero(level == "village"),
        districts=np.flatnonzero(level == "district"),
    )


# --- per-stream model --------------------------------------------------------------------------


@dataclass
class _StreamModel:
    stream: Stream
    categories: list[str]
    channels: list[str]
    base: np.ndarray  # expected events per grid per day before calendar effects
    cat_day: np.ndarray  # (classes, days, categories) unnormalised mix × season
    chan_day: np.ndarray  # (days, channels) unnormalised mix × day-kind effect
    trend: np.ndarray  # (days,)

    @classmethod
    def calibrated(
        cls,
        stream: Stream,
        categories: list[str],
        channels: list[str],
        annual_base: np.ndarray,
        mix: np.ndarray,
        season: np.ndarray,
        chan_day: np.ndarray,
        trend: np.ndarray,
    ) -> _StreamModel:
        """A model whose calendar effects average out, so annual rates stay as calibrated."""
        return cls(
            stream,
            categories,
            channels,
            annual_base / _mean_day_factor(mix, season, chan_day),
            mix[:, None, :] * season[None, :, :],
            chan_day,
            trend,
        )

    def intensity(self, grids: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Expected events per (grid, day) for the given grid positions."""
        a = self.cat_day.sum(axis=2)  # (classes, days)
        b = self.chan_day.sum(axis=1) * self.trend  # (days,)
        return self.base[grids, None] * a[classes] * b[None, :]


def _mix_matrix(
    mix: dict[str, float], factors: dict[int, dict[str, float]] | None
) -> tuple[list[str], np.ndarray]:
    cats = list(mix)
    base = np.array([mix[c] for c in cats])
    out = np.empty((N_CLASSES, len(cats)))
    for k in range(N_CLASSES):
        f = np.array([(factors or {}).get(k, {}).get(c, 1.0) for c in cats])
        out[k] = base * f / (base * f).sum()
    return cats, out


def _channel_matrix(
    cal: cal_mod.DemoCalendar, shares: dict[str, float], effects: dict[str, dict[str, float]]
) -> tuple[list[str], np.ndarray]:
    chans = list(shares)
    cols = [shares[c] * cal_mod.kind_multiplier(cal, **effects[c]) for c in chans]
    return chans, np.stack(cols, axis=1)


def _lognormal_effect(rng: np.random.Generator, sigma: float, size: int) -> np.ndarray:
    """Mean-one multiplicative heterogeneity."""
    return np.exp(rng.normal(-0.5 * sigma**2, sigma, size))


def _stream_models(
    units: _Units,
    cal: cal_mod.DemoCalendar,
    rng: np.random.Generator,
    regime: Literal["thin", "dense"],
) -> dict[Stream, _StreamModel]:
    n_grid = len(units.grid)
    # Towns differ (an active 综治中心, a big construction site); grids differ more.
    town_ids, town_pos = np.unique(units.grid_town, return_inverse=True)
    town_fx = _lognormal_effect(rng, 0.2, len(town_ids))[town_pos]
    pop_k = units.grid_pop / 1000.0 / 365.25
    labour = cal_mod.pre_spring_festival_wave(cal, 2.0)
    family = cal_mod.spring_festival_family_wave(cal, 1.4)
    farming = cal_mod.farming_wave(cal, 1.7)
    summer = cal_mod.summer_wave(cal, 1.25)
    winter = cal_mod.winter_wave(cal, 1.35)
    ones = np.ones(cal.n_days)

    def season(cats: list[str], curves: dict[str, np.ndarray]) -> np.ndarray:
        return np.stack([curves.get(c, ones) for c in cats], axis=1)  # (days, cats)

    models: dict[Stream, _StreamModel] = {}

    cats, mix = _mix_matrix(DISPUTE_MIX, DISPUTE_CLASS_FACTORS)
    s = season(
        cats,
        {
            "劳动争议纠纷": labour,
            "婚姻家庭纠纷": family,
            "山林土地纠纷": farming,
            "房屋宅基地纠纷": 1 + (farming - 1) * 0.7,
            "邻里纠纷": summer,
            "损害赔偿纠纷": 1 + (summer - 1) * 0.5,
            "交通事故纠纷": 1 + (family - 1) * 0.5,
        },
    )
    chans, ch = _channel_matrix(
        cal,
        DISPUTE_CHANNELS,
        {  # mediators work office hours; 主动调解 by grid workers continues at a lower pace
            "主动调解": dict(weekend=0.55, minor_holiday=0.45, major_holiday=0.35),
            "申请调解": dict(weekend=0.30, minor_holiday=0.25, major_holiday=0.20, monday=1.15),
            "委托移送": dict(weekend=0.15, minor_holiday=0.10, major_holiday=0.10),
        },
    )
    base = pop_k * DISPUTE_RATE[units.grid_class] * town_fx * _lognormal_effect(rng, 0.35, n_grid)
    models[Stream.DISPUTE] = _StreamModel.calibrated(
        Stream.DISPUTE,
        cats,
        chans,
        base,
        mix,
        s,
        ch,
        cal_mod.trend(cal, YEARLY_CHANGE[Stream.DISPUTE]),
    )

    cats, mix = _mix_matrix(PETITION_MIX, PETITION_CLASS_FACTORS)
    s = season(cats, {"劳动和社会保障": 1 + (labour - 1) * 0.8, "农业农村": farming**0.5})
    chans, ch = _channel_matrix(
        cal,
        PETITION_CHANNELS,
        {  # letters and visits are registered on workdays; online petitions keep coming
            "来信": dict(weekend=0.08, minor_holiday=0.05, major_holiday=0.05, monday=1.4),
            "来访": dict(weekend=0.12, minor_holiday=0.08, major_holiday=0.05, monday=1.2),
            "网上信访": dict(weekend=0.60, minor_holiday=0.50, major_holiday=0.40),
        },
    )
    base = pop_k * PETITION_RATE[units.grid_class] * town_fx * _lognormal_effect(rng, 0.35, n_grid)
    models[Stream.PETITION] = _StreamModel.calibrated(
        Stream.PETITION,
        cats,
        chans,
        base,
        mix,
        s,
        ch,
        cal_mod.trend(cal, YEARLY_CHANGE[Stream.PETITION]),
    )

    grid_mix = GRID_EVENT_MIX_THIN if regime == "thin" else GRID_EVENT_MIX_DENSE
    cats, mix = _mix_matrix(grid_mix, None)
    s = season(
        cats,
        {
            "安全隐患": winter * (1 + (summer - 1) * 0.8),
            "环境卫生": 1 + (summer - 1) * 1.2,
            "治安隐患": 1 + (summer - 1) * 0.6,
            "突发事件": 1 + (summer - 1) * 1.6,
            "矛盾纠纷": 1 + (labour - 1) * 0.3,
        },
    )
    chans, ch = _channel_matrix(
        cal,
        GRID_EVENT_CHANNELS,
        {
            "网格员上报": dict(weekend=0.60, minor_holiday=0.50, major_holiday=0.35),
            "群众报送": dict(weekend=0.95, minor_holiday=0.80, major_holiday=0.60),
            "部门流转": dict(weekend=0.20, minor_holiday=0.10, major_holiday=0.10),
        },
    )
    grid_fx = _lognormal_effect(rng, 0.35, n_grid)
    if regime == "thin":
        base = pop_k * GRID_EVENT_RATE_THIN * town_fx * grid_fx
    else:
        # Dense logging scales with the grid's size, but far less than proportionally.
        rel = np.sqrt(units.grid_pop / units.grid_pop.mean())
        base = GRID_EVENTS_PER_GRID_MONTH_DENSE * 12 / 365.25 * rel / rel.mean() * grid_fx
    models[Stream.GRID_EVENT] = _StreamModel.calibrated(
        Stream.GRID_EVENT,
        cats,
        chans,
        base,
        mix,
        s,
        ch,
        cal_mod.trend(cal, YEARLY_CHANGE[Stream.GRID_EVENT]),
    )
    return models


def _mean_day_factor(mix: np.ndarray, season: np.ndarray, chan: np.ndarray) -> float:
    """Average calendar factor, so that annual rates come out as calibrated."""
    avg_mix = mix.mean(axis=0)
    return float(((season @ avg_mix) * chan.sum(axis=1)).mean())


# --- event drawing and aggregation ------------------------------------------------------------


@dataclass
class _Events:
    grid: np.ndarray  # position in units.grid
    day: np.ndarray
    cat: np.ndarray
    chan: np.ndarray
    surge: np.ndarray  # collective-action events (more 集访, more escalation)

    @staticmethod
    def concat(parts: Sequence[_Events]) -> _Events:
        if not parts:
            return _Events(
                *(np.zeros(0, t) for t in (np.int32, np.int32, np.int16, np.int16, bool))
            )
        return _Events(*(np.concatenate([getattr(p, f) for p in parts]) for f in _EVENT_FIELDS))

    def take(self, mask: np.ndarray) -> _Events:
        return _Events(*(getattr(self, f)[mask] for f in _EVENT_FIELDS))


_EVENT_FIELDS = ("grid", "day", "cat", "chan", "surge")


def _draw_index(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``weights`` (rows need not be normalised)."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return (u[:, None] > cum).sum(axis=1).astype(np.int16)


def _grid_chunks(
    model: _StreamModel, units: _Units, max_events: float = 3e6
) -> list[tuple[int, int]]:
    """Contiguous grid ranges of at most ``max_events`` expected events each.

    Grid-level rows of different grids never share a key, so a stream recorded only at grid
    level can be aggregated chunk by chunk; this bounds memory in the dense regime.
    """
    per_day = model.cat_day.sum(axis=2) * (model.chan_day.sum(axis=1) * model.trend)[None, :]
    expected = model.base * per_day.sum(axis=1)[units.grid_class]
    bounds = np.searchsorted(np.cumsum(expected), np.arange(max_events, expected.sum(), max_events))
    edges = np.unique(np.concatenate([[0], bounds, [len(expected)]]))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _baseline_events(
    model: _StreamModel,
    units: _Units,
    rng: np.random.Generator,
    lo_hi: tuple[int, int],
    chunk_cells: int = 4_000_000,
) -> _Events:
    n_days = model.cat_day.shape[1]
    per_chunk = max(1, chunk_cells // n_days)
    parts = []
    for lo in range(lo_hi[0], lo_hi[1], per_chunk):
        g = np.arange(lo, min(lo + per_chunk, lo_hi[1]))
        lam = model.intensity(g, units.grid_class[g])
        counts = rng.poisson(lam)
        gi, di = np.nonzero(counts)
        n = counts[gi, di]
        ev_g = np.repeat(g[gi], n).astype(np.int32)
        ev_d = np.repeat(di, n).astype(np.int32)
        parts.append(_categorise(model, units, rng, ev_g, ev_d, None, None))
    return _Events.concat(parts)


def _categorise(
    model: _StreamModel,
    units: _Units,
    rng: np.random.Generator,
    ev_g: np.ndarray,
    ev_d: np.ndarray,
    cat: int | None,
    chan_probs: np.ndarray | None,
    surge: bool = False,
    block: int = 1_000_000,
) -> _Events:
    """Draw category (unless fixed) and channel for each event, in memory-bounded blocks."""
    cats = np.empty(len(ev_g), dtype=np.int16)
    chans = np.empty(len(ev_g), dtype=np.int16)
    for lo in range(0, len(ev_g), block):
        sl = slice(lo, lo + block)
        if cat is None:
            cats[sl] = _draw_index(rng, model.cat_day[units.grid_class[ev_g[sl]], ev_d[sl]])
        else:
            cats[sl] = cat
        w = (
            model.chan_day[ev_d[sl]]
            if chan_probs is None
            else np.broadcast_to(chan_probs, (len(ev_g[sl]), len(chan_probs)))
        )
        chans[sl] = _draw_index(rng, w)
    return _Events(ev_g, ev_d, cats, chans, np.full(len(ev_g), surge))


def _window_events(
    model: _StreamModel,
    units: _Units,
    rng: np.random.Generator,
    grids: np.ndarray,
    weights: np.ndarray,
    days: np.ndarray,
    profile: np.ndarray,
    total: float,
    category: str,
    channels: dict[str, float],
    surge: bool = False,
) -> _Events:
    """Extra events of one category over a (grid × day) window: Poisson(total·w_g·p_d).

    The day profile is modulated by the stream's weekday/holiday pattern: people caught up in
    an incident still do not file on 除夕, and a surge that ignored weekends would look fake.
    """
    profile = profile * model.chan_day[days].sum(axis=1)
    lam = total * np.outer(weights / weights.sum(), profile / profile.sum())
    counts = rng.poisson(lam)
    gi, di = np.nonzero(counts)
    n = counts[gi, di]
    ev_g = np.repeat(grids[gi], n).astype(np.int32)
    ev_d = np.repeat(days[di], n).astype(np.int32)
    probs = np.array([channels.get(c, 0.0) for c in model.channels])
    return _categorise(
        model, units, rng, ev_g, ev_d, model.categories.index(category), probs, surge
    )


def _expected(model: _StreamModel, units: _Units, grids: np.ndarray, days: np.ndarray) -> float:
    """Expected baseline events of the given grids over the given days."""
    return float(model.intensity(grids, units.grid_class[grids])[:, days].sum())


# --- measures ----------------------------------------------------------------------------------


def _lag_pmf(stream: Stream) -> tuple[np.ndarray, float]:
    """Distribution of days from intake to closure, and the share never closed.

    Disputes: ~45 % mediated on the spot, the rest within days, a few past the 30-day limit.
    Petitions: mean ≈ 10 days (Fuzhou 5.8, Zhoukou 12), ≈2 % past the 60-day limit.
    Grid events: most closed the same or next day, ≈1 % past the 7-day limit.
    """
    x = np.arange(_MAX_LAG + 1, dtype=float)
    pmf = np.zeros_like(x)
    dl = DEADLINE[stream]
    if stream == Stream.DISPUTE:
        body = np.where((x >= 1) & (x <= dl), x**0.5 * np.exp(-x / 5.0), 0.0)
        late = np.where((x > dl) & (x <= 2 * dl), 1.0, 0.0)
        pmf = 0.45 * (x == 0) + 0.545 * body / body.sum() + 0.005 * late / late.sum()
        never = 0.0
    elif stream == Stream.PETITION:
        body = np.where((x >= 1) & (x <= dl), x * np.exp(-x / 4.5), 0.0)
        late = np.where((x > dl) & (x <= dl + 30), 1.0, 0.0)
        pmf = 0.978 * body / body.sum() + 0.022 * late / late.sum()
        never = 0.002
    else:
        body = np.where((x >= 1) & (x <= dl), x**0.2 * np.exp(-x / 1.8), 0.0)
        late = np.where((x > dl) & (x <= 20), 1.0, 0.0)
        pmf = 0.55 * (x == 0) + 0.44 * body / body.sum() + 0.01 * late / late.sum()
        never = 0.005
    return pmf, never


def _case_measures(
    stream: Stream,
    rng: np.random.Generator,
    n: np.ndarray,
    n_surge: np.ndarray,
    age: np.ndarray,
    years_from_middle: np.ndarray,
    grid_class: np.ndarray,
    is_visit: np.ndarray,
    escalation_p: float,
) -> dict[str, np.ndarray]:
    """Outcome counts for aggregated rows of ``n`` cases received on the same day."""
    zeros = np.zeros_like(n)
    pmf, never = _lag_pmf(stream)
    cdf = np.cumsum(pmf)
    cdf /= cdf[-1]
    a = np.minimum(age, _MAX_LAG)
    closed = rng.binomial(n, cdf[a] * (1.0 - never))
    # Exact closure lag of each closed case, truncated at the row's age.
    row = np.repeat(np.arange(len(n)), closed)
    lag = np.searchsorted(cdf, rng.random(len(row)) * cdf[a[row]], side="left")
    lag = np.minimum(lag, a[row])
    handling = np.bincount(row, weights=lag, minlength=len(n)).astype(np.int64)
    is_late = (lag > DEADLINE[stream]).astype(float)
    late = np.bincount(row, weights=is_late, minlength=len(n)).astype(np.int64)
    open_past_deadline = np.where(age > DEADLINE[stream], n - closed, 0)
    out = {m: zeros for m in schema.CASE_MEASURES}
    out.update(
        received=n,
        closed=closed,
        closed_on_time=closed - late,
        overdue=late + open_past_deadline,
        handling_days=handling,
    )
    if stream == Stream.DISPUTE:
        # Success creeps up ~0.4 pp a year; villages settle more (熟人社会), cities fewer.
        p = 0.975 + 0.004 * years_from_middle + np.array([-0.006, 0.0, 0.008])[grid_class]
        ok = rng.binomial(closed, np.clip(p, 0.95, 0.998))
        # 化解率 > 调解成功率: part of the failed mediations is settled by 诉调/访调/公调.
        resolved = ok + rng.binomial(closed - ok, 0.55)
        rated = rng.binomial(closed, 0.45)
        out.update(mediated_ok=ok, resolved=resolved, rated=rated)
        out["satisfied"] = rng.binomial(rated, 0.985)
    elif stream == Stream.PETITION:
        # 集访: a visit by a group (~22 people on average, as in the monthly bulletin).
        groups = rng.binomial(np.where(is_visit, n - n_surge, 0), 0.05) + rng.binomial(
            np.where(is_visit, n_surge, 0), 0.35
        )
        persons = n + 3 * groups + rng.poisson(18.0 * groups)
        rated = rng.binomial(closed, 0.70)
        p_sat = np.clip(0.965 + 0.004 * years_from_middle, 0.9, 0.995)
        out.update(
            persons=persons,
            repeated=rng.binomial(n, 0.035),
            escalated=rng.binomial(n - n_surge, escalation_p) + rng.binomial(n_surge, 0.02),
            rated=rated,
            satisfied=rng.binomial(rated, p_sat),
        )
    else:
        rated = rng.binomial(closed, 0.25)
        out.update(rated=rated, satisfied=rng.binomial(rated, 0.97))
    return {m: np.asarray(v, dtype=np.int64) for m, v in out.items()}


# --- hotspot cells -----------------------------------------------------------------------------


@dataclass
class _CellMap:
    cells: pd.DataFrame  # cell_id, lon, lat, unit_code
    ptr: np.ndarray  # CSR offsets per grid position (len n_grid + 1)
    cell: np.ndarray  # cell row per entry
    cond_p: np.ndarray  # P(this cell | not an earlier cell of the grid)


def _cell_map(units_gdf: gpd.GeoDataFrame, units: _Units, rng: np.random.Generator) -> _CellMap:
    n_grid = len(units.grid)
    empty = pd.DataFrame(
        {"cell_id": pd.Series(dtype=str), "lon": [], "lat": [], "unit_code": pd.Series(dtype=str)}
    )
    geoms = units_gdf.geometry.reset_index(drop=True).iloc[units.grid]
    has_geom = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    if not has_geom.any():
        return _CellMap(empty, np.zeros(n_grid + 1, np.int64), np.zeros(0, np.int64), np.zeros(0))
    crs = units_gdf.crs or "EPSG:4326"  # the units contract is WGS-84; tolerate a lost CRS
    grid_gs = gpd.GeoSeries(geoms.to_numpy()[has_geom], crs=crs).to_crs(4326)
    grid_pos = np.flatnonzero(has_geom)
    minx, miny, maxx, maxy = grid_gs.total_bounds
    pad = 0.01  # ~1 km: catch cells whose centre is inside but whose hexagon pokes out
    box = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    cand = sorted(h3.geo_to_cells(box, H3_RESOLUTION))
    latlng = np.array([h3.cell_to_latlng(c) for c in cand])
    pts = gpd.GeoDataFrame(
        {"cell": np.arange(len(cand))},
        geometry=shapely.points(latlng[:, 1], latlng[:, 0]),
        crs=4326,
    )
    polys = gpd.GeoDataFrame({"gpos": grid_pos}, geometry=grid_gs.to_numpy(), crs=4326)
    hit = gpd.sjoin(pts, polys, predicate="within", how="inner")
    hit = hit.sort_values(["cell", "gpos"]).drop_duplicates("cell")  # boundary ties: first grid
    cell_ids = [cand[i] for i in hit["cell"]]
    cell_rows = hit["cell"].to_numpy()
    cell_lat, cell_lon = latlng[cell_rows, 0], latlng[cell_rows, 1]
    owner = hit["gpos"].to_numpy()
    entry_grid = list(owner)
    entry_cell = list(range(len(cell_ids)))
    # Grids too small to hold a cell centre (most urban grids: ~0.1 km² vs 0.74 km² cells)
    # send their events to the cell under their representative point.
    has_cell = np.zeros(n_grid, bool)
    has_cell[owner] = True
    lonely = grid_pos[~has_cell[grid_pos]]
    if lonely.size:
        reps = gpd.GeoSeries(geoms.to_numpy()[lonely], crs=crs).to_crs(4326)
        reps = reps.representative_point()
        pos_of = {c: i for i, c in enumerate(cell_ids)}
        for gpos, x, y in zip(lonely, reps.x, reps.y, strict=True):
            c = h3.latlng_to_cell(y, x, H3_RESOLUTION)
            if c not in pos_of:  # centre outside every grid: the cell joins, held by this grid
                pos_of[c] = len(cell_ids)
                cell_ids.append(c)
                lat, lon = h3.cell_to_latlng(c)
                cell_lat = np.append(cell_lat, lat)
                cell_lon = np.append(cell_lon, lon)
                owner = np.append(owner, gpos)
            entry_grid.append(gpos)
            entry_cell.append(pos_of[c])
    eg = np.asarray(entry_grid, dtype=np.int64)
    ec = np.asarray(entry_cell, dtype=np.int64)
    order = np.lexsort((ec, eg))
    eg, ec = eg[order], ec[order]
    ptr = np.zeros(n_grid + 1, dtype=np.int64)
    np.add.at(ptr, eg + 1, 1)
    ptr = np.cumsum(ptr)
    # Some cells draw more events (a market, a station): a mean-one lognormal weight per cell.
    attraction = _lognormal_effect(rng, 0.8, len(cell_ids))[ec]
    # Weight of this entry and the grid's later entries: turns weights into the conditional
    # probabilities of sequential binomial splitting.
    cs = np.concatenate([[0.0], np.cumsum(attraction)])
    total_after = cs[ptr[eg + 1]] - cs[np.arange(len(eg))]
    cond_p = np.divide(attraction, total_after, out=np.ones_like(attraction), where=total_after > 0)
    cond_p = np.clip(cond_p, 0.0, 1.0)  # rounding in the differences of cumulative sums
    last = ptr[1:][ptr[1:] > ptr[:-1]] - 1
    cond_p[last] = 1.0  # the last cell of a grid takes whatever is left
    cells = pd.DataFrame(
        {
            "cell_id": cell_ids,
            "lon": cell_lon,
            "lat": cell_lat,
            "unit_code": units.codes[units.grid[owner]],
        }
    )
    return _CellMap(cells, ptr, ec, cond_p)


def _spread_to_cells(
    cmap: _CellMap, rng: np.random.Generator, grid: np.ndarray, day: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split (grid, day, n) counts over each grid's cells by sequential binomials."""
    k = cmap.ptr[grid + 1] - cmap.ptr[grid]
    keep = k > 0  # grids without geometry have no cells
    grid, day, n, k = grid[keep], day[keep], n[keep], k[keep]
    remaining = n.copy()
    out_c, out_d, out_n = [], [], []
    for j in range(int(k.max()) if k.size else 0):
        idx = np.flatnonzero((k > j) & (remaining > 0))
        if not idx.size:
            continue
        e = cmap.ptr[grid[idx]] + j
        x = rng.binomial(remaining[idx], cmap.cond_p[e])
        remaining[idx] -= x
        nz = x > 0
        out_c.append(cmap.cell[e[nz]])
        out_d.append(day[idx][nz])
        out_n.append(x[nz])
    if not out_c:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    c, d, x = (np.concatenate(v).astype(np.int64) for v in (out_c, out_d, out_n))
    # Several small grids can share one cell: sum them.
    n_days = int(day.max()) + 1
    keys, inv = np.unique(c * n_days + d, return_inverse=True)
    return keys // n_days, keys % n_days, np.bincount(inv, weights=x).astype(np.int64)


# --- incidents ---------------------------------------------------------------------------------


def _bell(length: int) -> np.ndarray:
    t = (np.arange(length) + 0.5) / length
    return np.sin(np.pi * t) ** 1.5


def _pick(rng: np.random.Generator, candidates: np.ndarray, score: np.ndarray) -> int:
    """A seeded pick among the better-scoring half, so incidents land on sizeable units."""
    order = candidates[np.argsort(-score, kind="stable")]
    top = order[: max(1, (len(order) + 1) // 2)]
    return int(top[rng.integers(len(top))])


@dataclass
class _Injection:
    incident: Incident
    events: dict[Stream, list[_Events]]
    risk_villages: np.ndarray  # unit indices of villages with linked risk alerts
    risk_days: np.ndarray


def _plan_incidents(
    models: dict[Stream, _StreamModel],
    units: _Units,
    cal: cal_mod.DemoCalendar,
    rng: np.random.Generator,
) -> list[_Injection]:
    n_days = cal.n_days
    out: list[_Injection] = []
    day = cal.days

    def window(start: int, length: int) -> np.ndarray:
        return np.arange(max(0, start), min(n_days, start + length))

    def quiet_start(lo: int, hi: int, length: int) -> int:
        """A start ``lo..hi`` days before the end whose window avoids 春节 and 国庆.

        A surge peaking in a golden week would be half-hidden by the holiday dip.
        """
        offsets = rng.permutation(np.arange(lo, hi + 1))
        for off in offsets:
            start = n_days - 1 - int(off)
            kinds = cal.kind[max(0, start) : start + length]
            if not (kinds == cal_mod.MAJOR_HOLIDAY).any():
                return start
        return n_days - 1 - int(offsets[0])

    def town_pop(t: int) -> float:
        return float(units.grid_pop[units.grid_town == t].sum())

    # Districts, or towns when the city has no county level (Jiayuguan-style).
    area_of = units.grid_district if (units.grid_district >= 0).any() else units.grid_town

    # 1. A dispute cluster in one town about two months before the end.
    towns = np.unique(units.grid_town[units.grid_town >= 0])
    used_area = -1
    if towns.size and n_days >= 120:
        t = _pick(rng, towns, np.array([town_pop(x) for x in towns]))
        grids = np.flatnonzero(units.grid_town == t)
        cls = np.bincount(units.grid_class[grids], weights=units.grid_pop[grids], minlength=3)
        urban = cls[URBAN] > cls[RURAL] + cls[TOWNSHIP]
        cat = "劳动争议纠纷" if urban else "征地拆迁纠纷"
        pet_cat = "劳动和社会保障" if urban else "城建/房屋土地"
        days = window(quiet_start(60, 80, 21), 21)
        # Concentrate on one or two villages so the cluster is spatial, not town-wide noise.
        vills = np.unique(units.grid_village[grids])
        focus = rng.choice(vills, size=min(2, len(vills)), replace=False)
        w = units.grid_pop[grids] * np.where(np.isin(units.grid_village[grids], focus), 3.0, 0.3)
        base = _expected(models[Stream.DISPUTE], units, grids, days)
        total = max(4.0 * base, 40.0)
        profile = _bell(len(days))
        ev_d = _window_events(
            models[Stream.DISPUTE],
            units,
            rng,
            grids,
            w,
            days,
            profile,
            total,
            cat,
            {"主动调解": 0.70, "申请调解": 0.28, "委托移送": 0.02},
        )
        pdays = window(int(days[0]) + 3, len(days))
        ev_p = _window_events(
            models[Stream.PETITION],
            units,
            rng,
            grids,
            w,
            pdays,
            _bell(len(pdays)),
            0.15 * total,
            pet_cat,
            {"来访": 0.6, "网上信访": 0.3, "来信": 0.1},
            surge=True,
        )
        name = units.names[t]
        what = "征地拆迁补偿" if cat == "征地拆迁纠纷" else "企业停产欠薪"
        inc = Incident(
            "dispute_cluster",
            units.codes[t],
            name,
            day[days[0]],
            day[days[-1]],
            f"{name}辖区因{what}问题引发{cat}集中爆发，三周内受理量达常态的4倍以上，"
            f"并伴随群体性来访，已列入重点矛盾纠纷挂牌督办。",
            Stream.DISPUTE.value,
            cat,
            len(ev_d.grid) + len(ev_p.grid),
        )
        rv = focus[focus >= 0]
        out.append(_Injection(inc, {Stream.DISPUTE: [ev_d], Stream.PETITION: [ev_p]}, rv, days))
        used_area = int(area_of[grids[0]])

    # 2. A petition surge in one district (another than the cluster's) in the last 90 days.
    areas = np.unique(area_of[area_of >= 0])
    if areas.size > 1:
        areas = areas[areas != used_area]
    if areas.size and n_days >= 90:
        d_unit = _pick(rng, areas, np.array([units.grid_pop[area_of == x].sum() for x in areas]))
        grids = np.flatnonzero(area_of == d_unit)
        days = window(quiet_start(30, 75, 14), 14)
        w = units.grid_pop[grids] * np.array([2.0, 1.0, 0.4])[units.grid_class[grids]]
        base = _expected(models[Stream.PETITION], units, grids, days)
        total = max(3.0 * base, 40.0)
        profile = np.concatenate([[0.3, 0.8], np.linspace(1.6, 0.5, len(days) - 2)])
        ev = _window_events(
            models[Stream.PETITION],
            units,
            rng,
            grids,
            w,
            days,
            profile,
            total,
            "金融商贸",
            {"网上信访": 0.5, "来访": 0.4, "来信": 0.1},
            surge=True,
        )
        name = units.names[d_unit]
        inc = Incident(
            "petition_surge",
            units.codes[d_unit],
            name,
            day[days[0]],
            day[days[-1]],
            f"{name}某连锁教培及健身机构突然闭店，预付卡退费问题引发信访激增，"
            f"两周内金融商贸类信访为常态的3倍以上，多批次集体访。",
            Stream.PETITION.value,
            "金融商贸",
            len(ev.grid),
        )
        top_v = np.unique(units.grid_village[grids[np.argsort(-w)[:3]]])
        out.append(_Injection(inc, {Stream.PETITION: [ev]}, top_v[top_v >= 0], days))

    # 3. Recent structure: 物业 disputes ramping up in one urban community (last 3 weeks).
    vills = np.unique(units.grid_village[units.grid_village >= 0])
    if vills.size and n_days >= 30:
        urb = np.array([units.grid_urbanity[units.grid_village == v].mean() for v in vills])
        pop = np.array([units.grid_pop[units.grid_village == v].sum() for v in vills])
        v = _pick(rng, vills, urb * 1e7 + pop)
        grids = np.flatnonzero(units.grid_village == v)
        days = window(n_days - 21, 21)
        base = _expected(models[Stream.DISPUTE], units, grids, days)
        total = max(3.0 * base, 15.0)
        profile = np.linspace(0.1, 1.0, len(days)) ** 1.5
        ev_d = _window_events(
            models[Stream.DISPUTE],
            units,
            rng,
            grids,
            units.grid_pop[grids],
            days,
            profile,
            total,
            "物业纠纷",
            {"申请调解": 0.6, "主动调解": 0.4},
        )
        ev_g = _window_events(
            models[Stream.GRID_EVENT],
            units,
            rng,
            grids,
            units.grid_pop[grids],
            days,
            profile,
            0.5 * total,
            "矛盾纠纷",
            {"网格员上报": 0.5, "群众报送": 0.5},
        )
        name = units.names[v]
        inc = Incident(
            "property_ramp",
            units.codes[v],
            name,
            day[days[0]],
            day[days[-1]],
            f"{name}小区物业服务企业更替、供暖费上调，近三周物业纠纷逐日上升，尚未见顶，需提前介入。",
            Stream.DISPUTE.value,
            "物业纠纷",
            len(ev_d.grid) + len(ev_g.grid),
        )
        out.append(
            _Injection(
                inc, {Stream.DISPUTE: [ev_d], Stream.GRID_EVENT: [ev_g]}, np.array([v]), days
            )
        )

    # 4. Recent structure: a winter fire-safety sweep in one district (last 30 days).
    areas = np.unique(area_of[area_of >= 0])
    if areas.size and n_days >= 45:
        d_unit = int(areas[rng.integers(len(areas))])
        grids = np.flatnonzero(area_of == d_unit)
        days = window(n_days - 30, 30)
        base = _expected(models[Stream.GRID_EVENT], units, grids, days)
        profile = np.minimum(1.0, (np.arange(len(days)) + 1) / 7.0)
        ev = _window_events(
            models[Stream.GRID_EVENT],
            units,
            rng,
            grids,
            units.grid_pop[grids],
            days,
            profile,
            max(0.6 * base, 30.0),
            "安全隐患",
            {"网格员上报": 1.0},
        )
        name = units.names[d_unit]
        inc = Incident(
            "safety_campaign",
            units.codes[d_unit],
            name,
            day[days[0]],
            day[days[-1]],
            f"{name}开展冬季消防安全隐患专项排查整治，网格员上报安全隐患明显增多。",
            Stream.GRID_EVENT.value,
            "安全隐患",
            len(ev.grid),
        )
        out.append(_Injection(inc, {Stream.GRID_EVENT: [ev]}, np.zeros(0, np.int64), days))
    return out


# --- streams to rows ---------------------------------------------------------------------------


def _case_rows(
    model: _StreamModel,
    events: _Events,
    units: _Units,
    cal: cal_mod.DemoCalendar,
    rng: np.random.Generator,
    escalation_p: float,
) -> tuple[dict[str, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Aggregate events to (unit, day, category, channel) rows with their measures.

    Returns the row arrays and the grid-level (grid position, day, received) counts that feed
    the hotspot cells.
    """
    unit = units.grid[events.grid].astype(np.int64)
    if model.stream == Stream.PETITION:
        # Walk-ins at the 镇街 reception are known only by town.
        visit = events.chan == model.channels.index("来访")
        town = units.grid_town[events.grid]
        walk_in = visit & (town >= 0) & (rng.random(len(unit)) < WALK_IN_SHARE_OF_VISITS)
        unit = np.where(walk_in, town, unit)
    n_days, n_cat, n_chan = cal.n_days, len(model.categories), len(model.channels)
    key = ((unit * n_days + events.day) * n_cat + events.cat) * n_chan + events.chan
    keys, inv = np.unique(key, return_inverse=True)
    n = np.bincount(inv, minlength=len(keys)).astype(np.int64)
    n_surge = np.bincount(inv, weights=events.surge.astype(float), minlength=len(keys))
    n_surge = n_surge.astype(np.int64)
    chan = keys % n_chan
    rest = keys // n_chan
    cat = rest % n_cat
    rest //= n_cat
    day = rest % n_days
    unit_r = rest // n_days
    # Class of the recording unit: its own for grids, the dominant one for towns.
    pos_of_unit = np.full(len(units.codes), -1, dtype=np.int64)
    pos_of_unit[units.grid] = np.arange(len(units.grid))
    gpos = pos_of_unit[unit_r]
    cls = np.where(gpos >= 0, units.grid_class[np.maximum(gpos, 0)], TOWNSHIP)
    is_visit = (
        chan == model.channels.index("来访")
        if model.stream == Stream.PETITION
        else np.zeros(len(n), bool)
    )
    measures = _case_measures(
        model.stream,
        rng,
        n,
        n_surge,
        cal.age[day],
        cal.years_from_middle[day],
        cls,
        is_visit,
        escalation_p,
    )
    rows = {"unit": unit_r, "day": day, "cat": cat, "chan": chan, **measures}
    at_grid = gpos >= 0
    gkey = gpos[at_grid] * n_days + day[at_grid]
    gk, ginv = np.unique(gkey, return_inverse=True)
    gn = np.bincount(ginv, weights=n[at_grid]).astype(np.int64)
    return rows, (gk // n_days, gk % n_days, gn)


def _object_take(values: Sequence[object] | np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Index a small lookup of shared Python objects (codes, labels, dates) cheaply."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    return arr[idx]


def _patrols(units: _Units, cal: cal_mod.DemoCalendar, rng: np.random.Generator) -> pd.DataFrame:
    towns = np.unique(units.grid_town[units.grid_town >= 0])
    if not towns.size:
        return pd.DataFrame(columns=PATROL_COLUMNS)
    pos = np.searchsorted(towns, units.grid_town[units.grid_town >= 0])
    pop = np.bincount(pos, weights=units.grid_pop[units.grid_town >= 0], minlength=len(towns))
    urb = (
        np.bincount(
            pos,
            weights=(units.grid_pop * units.grid_urbanity)[units.grid_town >= 0],
            minlength=len(towns),
        )
        / pop
    )
    # ≈0.09 patrol groups per 1,000 residents a day (Qinhuangdao: 700 police/day for ~3 M,
    # about three officers a group); cities patrol more densely.
    lam_groups = pop / 1000 * 0.09 * (0.8 + 0.5 * urb)
    # 处警: 20–35 per 1,000 residents a year, more in the city.
    lam_disp = pop / 1000 * (20 + 15 * urb) / 365.25
    sessions = cal_mod.two_sessions(cal)
    holiday_security = np.where(cal.kind == cal_mod.MAJOR_HOLIDAY, 1.2, 1.0)  # 节日安保
    patrol_day = (
        np.where(sessions, 1.35, 1.0)
        * holiday_security
        * np.where(cal.kind == cal_mod.WEEKEND, 1.05, 1.0)
    )
    disp_day = (
        cal_mod.summer_wave(cal, 1.15)
        * np.where(cal.weekday >= 4, 1.1, 1.0)  # Friday and weekend nights
        * cal_mod.trend(cal, -0.05)  # 警情 falling (Weifang −7.5 %)
    )
    T, D = len(towns), cal.n_days
    groups = 1 + rng.poisson(np.maximum(lam_groups[:, None] * patrol_day[None, :] - 1, 0.05))
    officers = 2 * groups + rng.binomial(2 * groups, 0.5)
    vehicles = rng.binomial(groups, (0.9 - 0.15 * urb)[:, None] * np.ones((1, D)))
    hours = np.round(rng.gamma(np.maximum(4.0 * groups, 1e-9), 1.0), 1)
    km_vehicle = rng.gamma(np.maximum(4.0 * vehicles, 1e-9), ((30 + 30 * (1 - urb)) / 4)[:, None])
    km_foot = rng.gamma(np.maximum(4.0 * (groups - vehicles), 1e-9), 1.5)
    km = np.round(
        np.where(vehicles > 0, km_vehicle, 0) + np.where(groups > vehicles, km_foot, 0), 1
    )
    disp = rng.poisson(lam_disp[:, None] * disp_day[None, :])
    # 1-3-5 minute circles: cumulative arrival shares, faster in the city, improving yearly.
    improve = 0.01 * cal.years_from_middle[None, :]
    p1 = np.clip((0.08 + 0.27 * urb)[:, None] + improve, 0, 1)
    p3 = np.clip((0.40 + 0.38 * urb)[:, None] + improve, 0, 1)
    p5 = np.clip((0.68 + 0.25 * urb)[:, None] + improve, 0, 1)
    a1 = rng.binomial(disp, p1)
    a3 = a1 + rng.binomial(disp - a1, np.clip((p3 - p1) / (1 - p1), 0, 1))
    a5 = a3 + rng.binomial(disp - a3, np.clip((p5 - p3) / (1 - p3), 0, 1))
    t_idx, d_idx = np.meshgrid(np.arange(T), np.arange(D), indexing="ij")
    frame = pd.DataFrame(
        {
            "unit_code": _object_take(units.codes, towns[t_idx.ravel()]),
            "day": _object_take(cal.days, d_idx.ravel()),
            "groups": groups.ravel().astype(np.int64),
            "officers": officers.ravel().astype(np.int64),
            "vehicles": vehicles.ravel().astype(np.int64),
            "hours": np.where(groups > 0, hours, 0.0).ravel(),
            "km": km.ravel(),
            "dispatches": disp.ravel().astype(np.int64),
            "arrived_1min": a1.ravel().astype(np.int64),
            "arrived_3min": a3.ravel().astype(np.int64),
            "arrived_5min": a5.ravel().astype(np.int64),
        }
    )
    return frame[frame[list(schema.PATROL_MEASURES)].to_numpy().any(axis=1)].reset_index(drop=True)


def _risks(
    units: _Units,
    cal: cal_mod.DemoCalendar,
    rng: np.random.Generator,
    injections: list[_Injection],
) -> pd.DataFrame:
    vills = units.villages
    if not vills.size:
        return pd.DataFrame(columns=RISK_COLUMNS)
    pos = np.full(len(units.codes), -1, dtype=np.int64)
    pos[vills] = np.arange(len(vills))
    vpop = np.zeros(len(vills))
    has_v = units.grid_village >= 0
    np.add.at(vpop, pos[units.grid_village[has_v]], units.grid_pop[has_v])
    vpop = np.where(vpop > 0, vpop, np.median(vpop[vpop > 0]) if (vpop > 0).any() else 2500.0)
    levels = list(RISK_LEVEL_SHARES)
    D = cal.n_days
    share = np.outer(list(RISK_DOMAIN_SHARES.values()), list(RISK_LEVEL_SHARES.values()))
    per_day = RISK_NEW_PER_VILLAGE_MONTH * 12 / 365.25
    vfx = _lognormal_effect(rng, 0.4, len(vills))
    lam = (per_day * (vpop / 2500) ** 0.8 * vfx)[:, None, None] * share[None]  # (V, dom, lvl)
    # Domain calendar: 两会 and 国庆 are 重点时段 with intensified 排查, so more items are
    # logged; 春节 eve brings wage-arrears conflicts; floods in summer and fires in winter
    # raise public-safety (公共安全) items.
    sessions = cal_mod.two_sessions(cal).astype(float)
    national_day = np.array(
        [(d.month == 9 and d.day >= 25) or (d.month == 10 and d.day <= 8) for d in cal.days],
        dtype=float,
    )
    dom_day = (
        np.stack(
            [
                1 + 2.0 * sessions + 0.5 * national_day,  # 政治安全
                (1 + 0.5 * sessions) * cal_mod.summer_wave(cal, 1.2),  # 社会治安
                (1 + 1.0 * sessions) * cal_mod.pre_spring_festival_wave(cal, 1.5),  # 社会矛盾
                (1 + 0.3 * sessions)
                * cal_mod.summer_wave(cal, 1.3)
                * cal_mod.winter_wave(cal, 1.4),
                1 + 1.0 * sessions,  # 网络安全
            ],
            axis=1,
        )
        * cal_mod.trend(cal, -0.04)[:, None]
    )
    extra = np.zeros((D, len(vills)))  # linked 社会矛盾 alerts from injected incidents
    for inj in injections:
        vv = pos[inj.risk_villages]
        vv = vv[vv >= 0]
        if vv.size and inj.risk_days.size:
            days = np.arange(inj.risk_days[0], min(D, inj.risk_days[-1] + 8))
            extra[np.ix_(days, vv)] += 6.0 / len(days)  # ~6 extra alerts per village
    extra_lvl = np.array([0.0, 0.3, 0.6, 0.1])  # mostly yellow/orange, as triage would grade
    hazard = np.array([RISK_CLOSE_HAZARD[lv] for lv in levels])[None, None, :]
    mean_dom = dom_day.mean(axis=0)[None, :, None]
    open_ = rng.poisson(lam * mean_dom / hazard)  # start in steady state
    sm = RISK_DOMAINS.index("社会矛盾")
    out_v, out_dom, out_lvl, out_d, out_new, out_closed, out_open = ([] for _ in range(7))
    for t in range(D):
        lam_d = lam * dom_day[t][None, :, None]
        lam_d[:, sm, :] += extra[t][:, None] * extra_lvl[None, :]
        new = rng.poisson(lam_d)
        closed = rng.binomial(open_, hazard * np.ones_like(lam_d))
        open_ = open_ + new - closed
        v, dm, lv = np.nonzero(new | closed | open_)
        out_v.append(v)
        out_dom.append(dm)
        out_lvl.append(lv)
        out_d.append(np.full(len(v), t))
        out_new.append(new[v, dm, lv])
        out_closed.append(closed[v, dm, lv])
        out_open.append(open_[v, dm, lv])
    v, dm, lv, d = (np.concatenate(x) for x in (out_v, out_dom, out_lvl, out_d))
    order = np.lexsort((lv, dm, d, v))
    return pd.DataFrame(
        {
            "unit_code": _object_take(units.codes, vills[v[order]]),
            "day": _object_take(cal.days, d[order]),
            "domain": _object_take(RISK_DOMAINS, dm[order]),
            "level": _object_take([lvl.value for lvl in levels], lv[order]),
            "new": np.concatenate(out_new)[order].astype(np.int64),
            "closed": np.concatenate(out_closed)[order].astype(np.int64),
            "open_end": np.concatenate(out_open)[order].astype(np.int64),
        }
    )


# --- entry point -------------------------------------------------------------------------------


def generate_facts(
    units: gpd.GeoDataFrame,
    *,
    seed: int,
    end: dt.date,
    years: int = 3,
    grid_event_regime: Literal["thin", "dense"] = "thin",
) -> DemoFacts:
    """Generate deterministic demo facts for a units GeoDataFrame.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        All units of all levels (``code, name, level, parent_code, population, households,
        urban_rural, grid_type, sort_key, geometry``), CRS EPSG:4326.
    seed : int
        Seed of the single random generator; same inputs and seed give identical frames.
    end : datetime.date
        Last day of data (the build passes yesterday).
    years : int, default 3
        Number of full years back from ``end`` (the first day is ``end`` minus ``years``
        years, plus one day).
    grid_event_regime : {"thin", "dense"}, default "thin"
        ``thin`` ≈ 1.8 grid events per 1,000 residents a month (Da'an, workers report
        selectively); ``dense`` ≈ 77 events per grid a month (Liyang, everything is logged;
        about 40× the rows).

    Returns
    -------
    DemoFacts
        Only rows with a nonzero measure. ``day`` columns hold ``datetime.date`` objects.
    """
    if years < 1:
        raise ValueError("years must be at least 1")
    if grid_event_regime not in ("thin", "dense"):
        raise ValueError(f"unknown grid_event_regime {grid_event_regime!r}")
    try:
        start = end.replace(year=end.year - years) + dt.timedelta(days=1)
    except ValueError:  # 29 February
        start = end.replace(year=end.year - years, day=28) + dt.timedelta(days=1)
    rng = np.random.default_rng(seed)
    cal = cal_mod.build_calendar(start, end)
    u = _prepare_units(units)
    models = _stream_models(u, cal, rng, grid_event_regime)
    cmap = _cell_map(units, u, rng)
    injections = _plan_incidents(models, u, cal, rng)

    # 越级访 (到省/进京) are single digits a month city-wide, whatever the city's size.
    pet = models[Stream.PETITION]
    base_by_class = np.bincount(u.grid_class, weights=pet.base, minlength=N_CLASSES)
    per_day = pet.cat_day.sum(axis=2) * (pet.chan_day.sum(axis=1) * pet.trend)[None, :]
    monthly_petitions = float(base_by_class @ per_day.sum(axis=1)) * 30.44 / cal.n_days
    escalation_p = float(np.clip(5.0 / max(monthly_petitions, 1.0), 0.0002, 0.005))

    case_parts: list[pd.DataFrame] = []
    hot_parts: list[pd.DataFrame] = []
    for stream, model in models.items():
        injected = _Events.concat([e for inj in injections for e in inj.events.get(stream, [])])
        # Petitions can move to town level, whose rows gather grids of any chunk: one chunk.
        chunks = [(0, len(u.grid))] if stream == Stream.PETITION else _grid_chunks(model, u)
        grid_days = []
        for lo, hi in chunks:
            extra = injected.take((injected.grid >= lo) & (injected.grid < hi))
            events = _Events.concat([_baseline_events(model, u, rng, (lo, hi)), extra])
            rows, grid_day = _case_rows(model, events, u, cal, rng, escalation_p)
            del events
            grid_days.append(grid_day)
            case_parts.append(
                pd.DataFrame(
                    {
                        "unit_code": _object_take(u.codes, rows["unit"]),
                        "day": _object_take(cal.days, rows["day"]),
                        "stream": stream.value,
                        "category": _object_take(model.categories, rows["cat"]),
                        "channel": _object_take(model.channels, rows["chan"]),
                        **{m: rows[m] for m in schema.CASE_MEASURES},
                    }
                )
            )
        g, d, n = (np.concatenate(x) for x in zip(*grid_days, strict=True))
        c, hd, hn = _spread_to_cells(cmap, rng, g, d, n)
        hot_parts.append(
            pd.DataFrame(
                {
                    "cell_id": _object_take(list(cmap.cells["cell_id"]), c),
                    "day": _object_take(cal.days, hd),
                    "stream": stream.value,
                    "events": hn,
                }
            )
        )
    cases = pd.concat(case_parts, ignore_index=True)
    hotspot_daily = pd.concat(hot_parts, ignore_index=True)
    del case_parts, hot_parts
    return DemoFacts(
        cases=cases,
        patrols=_patrols(u, cal, rng),
        risks=_risks(u, cal, rng, injections),
        hotspot_cells=cmap.cells,
        hotspot_daily=hotspot_daily,
        incidents=[inj.incident for inj in injections],
    )
