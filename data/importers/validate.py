"""Parsers for single values: codes, levels, days, counts and the small vocabularies.

Each parser takes what a reader produced (a string from CSV, or an int/float/datetime from an
Excel cell) and returns the clean value, or raises :class:`Invalid` with a fixed bilingual
reason.  They are pure functions so they can be property-tested on their own.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from data.levels import RISK_DOMAINS, Level, RiskLevel, Stream


class Invalid(ValueError):
    """A value that cannot be used, with the reason in Chinese and English."""

    def __init__(self, reason_zh: str, reason_en: str):
        super().__init__(f"{reason_zh} / {reason_en}")
        self.reason_zh = reason_zh
        self.reason_en = reason_en


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


# --- codes -----------------------------------------------------------------------------------

_CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_\-]{0,19}$")
_SCI_RE = re.compile(r"^[0-9.]+[eE][+]?[0-9]+$")


def parse_code(value: object) -> str:
    """A unit code as a string in its natural length.

    Excel turns code columns into numbers (``350902`` → ``350902.0``); integral floats and
    ints are turned back into digit strings.  A code that went through scientific notation
    (``3.50902E+11``) has lost digits and is refused rather than guessed.
    """
    if is_blank(value):
        raise Invalid("代码为空", "code is empty")
    if isinstance(value, bool):
        raise Invalid("代码格式无效", "invalid code")
    if isinstance(value, int):
        if value < 0:
            raise Invalid("代码格式无效", "invalid code")
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0 or value != int(value):
            raise Invalid("代码格式无效", "invalid code")
        return str(int(value))
    text = str(value).strip()
    if _SCI_RE.match(text):
        raise Invalid(
            "代码被写成科学计数法，已丢失位数（请把该列设为文本）",
            "code in scientific notation has lost digits (format the column as text)",
        )
    if re.fullmatch(r"[0-9]+\.0+", text):
        # "350902.0": a code column saved from a numeric spreadsheet column.
        text = text.split(".", 1)[0]
    if not _CODE_RE.match(text):
        raise Invalid("代码格式无效", "invalid code")
    return text


def code_candidates(code: str) -> list[str]:
    """``code`` and its unpadded forms, to match e.g. ``350902000000`` or ``350900`` to ``3509``.

    National 12-digit statistical codes pad shorter codes with zeros; boundary files often use
    6-digit ``adcode`` values for cities whose unit list uses 4 digits.
    """
    out = [code]
    if code.isdigit():
        for n in (9, 6, 4):
            if len(code) > n and set(code[n:]) == {"0"}:
                out.append(code[:n])
    return out


# --- levels ----------------------------------------------------------------------------------

LEVEL_WORDS: dict[str, Level] = {
    "市": Level.CITY,
    "地级市": Level.CITY,
    "city": Level.CITY,
    "prefecture": Level.CITY,
    "区县": Level.DISTRICT,
    "县区": Level.DISTRICT,
    "县": Level.DISTRICT,
    "区": Level.DISTRICT,
    "县级市": Level.DISTRICT,
    "市辖区": Level.DISTRICT,
    "旗": Level.DISTRICT,
    "district": Level.DISTRICT,
    "county": Level.DISTRICT,
    "乡镇": Level.TOWN,
    "乡镇街道": Level.TOWN,
    "镇街": Level.TOWN,
    "街道": Level.TOWN,
    "镇": Level.TOWN,
    "乡": Level.TOWN,
    "苏木": Level.TOWN,
    "town": Level.TOWN,
    "township": Level.TOWN,
    "street": Level.TOWN,
    "subdistrict": Level.TOWN,
    "村": Level.VILLAGE,
    "社区": Level.VILLAGE,
    "村社区": Level.VILLAGE,
    "村居": Level.VILLAGE,
    "村委会": Level.VILLAGE,
    "居委会": Level.VILLAGE,
    "嘎查": Level.VILLAGE,
    "village": Level.VILLAGE,
    "community": Level.VILLAGE,
    "网格": Level.GRID,
    "grid": Level.GRID,
}

#: Code length → level when the level column is missing or blank (4/6 need the parent).
LEVEL_BY_CODE_LENGTH = {9: Level.TOWN, 12: Level.VILLAGE, 15: Level.GRID}


def parse_level(value: object, extra: Mapping[str, str] | None = None) -> Level | None:
    """A level from text (市/区县/…/网格, city/district/…); ``None`` when blank (infer it)."""
    if is_blank(value):
        return None
    text = str(value).strip()
    if extra and text in extra:
        text = extra[text]
    key = text.lower()
    if key in LEVEL_WORDS:
        return LEVEL_WORDS[key]
    try:
        return Level(key)
    except ValueError:
        raise Invalid("未知的层级名称", "unknown level name") from None


def infer_level(code: str, is_root: bool) -> Level:
    """Level from the code's length: 4 or 6 digits is the city at the root, else a district."""
    if code.isdigit():
        if len(code) in (4, 6):
            return Level.CITY if is_root else Level.DISTRICT
        if len(code) in LEVEL_BY_CODE_LENGTH:
            return LEVEL_BY_CODE_LENGTH[len(code)]
    raise Invalid(
        "无法从代码长度推断层级，请提供层级列",
        "cannot infer the level from the code length; add a level column",
    )


# --- days ------------------------------------------------------------------------------------

_DAY_RES = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_MONTH_RES = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月?$"),
    re.compile(r"^(\d{4})(\d{2})$"),
)


def parse_day(value: object, today: dt.date | None = None) -> tuple[dt.date, bool]:
    """A day, or a month stored on its first day.

    Returns
    -------
    (date, monthly)
        ``monthly`` is True when the value named a month (``2026-10``, ``2026年10月``); the
        row is then stored on the month's first day.

    Raises
    ------
    Invalid
        Unparseable, impossible (2026-02-30) or after ``today``.
    """
    monthly = False
    day: dt.date | None = None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif is_blank(value):
        raise Invalid("日期为空", "date is empty")
    else:
        text = str(value).strip()
        for rx in _DAY_RES:
            m = rx.match(text)
            if m:
                day = _make_date(int(m[1]), int(m[2]), int(m[3]))
                break
        if day is None:
            for rx in _MONTH_RES:
                m = rx.match(text)
                if m:
                    day = _make_date(int(m[1]), int(m[2]), 1)
                    monthly = True
                    break
        if day is None:
            raise Invalid("无法识别的日期", "unparseable date")
    if day is None:  # pragma: no cover - every branch above sets it or raises
        raise Invalid("无法识别的日期", "unparseable date")
    if day > (today or dt.date.today()):
        raise Invalid("日期晚于今天", "date is in the future")
    return day, monthly


def _make_date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise Invalid("不存在的日期", "impossible date") from None


# --- counts ----------------------------------------------------------------------------------


def _number(value: object) -> Decimal:
    if isinstance(value, bool):
        raise Invalid("不是数字", "not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid("不是数字", "not a number")
        return Decimal(repr(value))
    text = str(value).strip().replace(",", "").replace("，", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise Invalid("不是数字", "not a number") from None
    if not number.is_finite():
        raise Invalid("不是数字", "not a number")
    return number


def parse_count(value: object, blank: int | None = 0) -> int | None:
    """A non-negative whole count; a blank cell means ``blank`` (0 for fact tables)."""
    if is_blank(value):
        return blank
    number = _number(value)
    if number != number.to_integral_value():
        raise Invalid("计数不是整数", "count is not a whole number")
    if number < 0:
        raise Invalid("计数为负数", "negative count")
    return int(number)


def parse_amount(value: object) -> float:
    """A non-negative quantity that may have decimals (patrol hours, km); blank means 0."""
    if is_blank(value):
        return 0.0
    number = _number(value)
    if number < 0:
        raise Invalid("数量为负数", "negative count")
    return float(number)


# --- vocabularies ----------------------------------------------------------------------------

URBAN_RURAL_CODES = {
    "111": "主城区",
    "112": "城乡结合区",
    "121": "镇中心区",
    "122": "镇乡结合区",
    "123": "特殊区域",
    "210": "乡中心区",
    "220": "村庄",
}
_URBAN_RURAL_BY_NAME = {v: k for k, v in URBAN_RURAL_CODES.items()}


def parse_urban_rural(value: object) -> str | None:
    """NBS 城乡分类 code (111 … 220); accepts the code or its name; blank is None."""
    if is_blank(value):
        return None
    text = parse_code(value) if isinstance(value, int | float) else str(value).strip()
    text = _URBAN_RURAL_BY_NAME.get(text, text)
    if text not in URBAN_RURAL_CODES:
        raise Invalid("未知的城乡分类代码", "unknown urban-rural code")
    return text


STREAM_WORDS: dict[str, Stream] = {
    "矛盾纠纷": Stream.DISPUTE,
    "纠纷": Stream.DISPUTE,
    "矛调": Stream.DISPUTE,
    "信访": Stream.PETITION,
    "网格事件": Stream.GRID_EVENT,
    "网格": Stream.GRID_EVENT,
    "事件": Stream.GRID_EVENT,
}


def parse_stream(value: object, extra: Mapping[str, str] | None = None) -> Stream:
    if is_blank(value):
        raise Invalid("缺少数据类别(矛盾纠纷/信访/网格事件)", "stream is missing")
    text = str(value).strip()
    if extra and text in extra:
        text = extra[text]
    if text in STREAM_WORDS:
        return STREAM_WORDS[text]
    try:
        return Stream(text.lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        raise Invalid("未知的数据类别", "unknown stream") from None


RISK_LEVEL_WORDS: dict[str, RiskLevel] = {
    "红": RiskLevel.RED,
    "红色": RiskLevel.RED,
    "一级": RiskLevel.RED,
    "i级": RiskLevel.RED,
    "橙": RiskLevel.ORANGE,
    "橙色": RiskLevel.ORANGE,
    "二级": RiskLevel.ORANGE,
    "ii级": RiskLevel.ORANGE,
    "黄": RiskLevel.YELLOW,
    "黄色": RiskLevel.YELLOW,
    "三级": RiskLevel.YELLOW,
    "iii级": RiskLevel.YELLOW,
    "蓝": RiskLevel.BLUE,
    "蓝色": RiskLevel.BLUE,
    "四级": RiskLevel.BLUE,
    "iv级": RiskLevel.BLUE,
}


def parse_risk_level(value: object, extra: Mapping[str, str] | None = None) -> RiskLevel:
    if is_blank(value):
        raise Invalid("风险等级为空", "risk level is empty")
    text = str(value).strip()
    if extra and text in extra:
        text = extra[text]
    key = text.lower()
    # "红色(一级)" as the UI shows it: take the part before the bracket.
    key = re.split(r"[(（]", key, maxsplit=1)[0].strip()
    if key in RISK_LEVEL_WORDS:
        return RISK_LEVEL_WORDS[key]
    try:
        return RiskLevel(key)
    except ValueError:
        raise Invalid("未知的风险等级", "unknown risk level") from None


def parse_domain(value: object, extra: Mapping[str, str] | None = None) -> str:
    """One of :data:`data.levels.RISK_DOMAINS` (after the mapping file's renames)."""
    if is_blank(value):
        raise Invalid("风险领域为空", "risk domain is empty")
    text = str(value).strip()
    if extra and text in extra:
        text = extra[text]
    if text not in RISK_DOMAINS:
        raise Invalid("未知的风险领域", "unknown risk domain")
    return text


def parse_label(
    value: object, default: str, max_len: int, extra: Mapping[str, str] | None = None
) -> str:
    """A free category/channel name, renamed by the mapping file; blank means ``default``."""
    if is_blank(value):
        return default
    text = str(value).strip()
    if isinstance(value, float) and value == int(value):
        text = str(int(value))
    if extra and text in extra:
        text = extra[text]
    if len(text) > max_len:
        raise Invalid(f"名称超过{max_len}个字符", f"name longer than {max_len} characters")
    return text
