"""Unit levels and the data streams, with the Chinese labels the UI shows."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    TOWN = "town"
    VILLAGE = "village"
    GRID = "grid"


#: Top to bottom. A real city may skip a level (towns directly under the city).
LEVEL_ORDER: tuple[Level, ...] = (
    Level.CITY,
    Level.DISTRICT,
    Level.TOWN,
    Level.VILLAGE,
    Level.GRID,
)
LEVEL_RANK = {lvl: i for i, lvl in enumerate(LEVEL_ORDER)}
LEVEL_LABELS = {
    Level.CITY: "市",
    Level.DISTRICT: "区县",
    Level.TOWN: "乡镇街道",
    Level.VILLAGE: "村社区",
    Level.GRID: "网格",
}


class Stream(StrEnum):
    DISPUTE = "dispute"
    PETITION = "petition"
    GRID_EVENT = "grid_event"


STREAM_LABELS = {
    Stream.DISPUTE: "矛盾纠纷",
    Stream.PETITION: "信访",
    Stream.GRID_EVENT: "网格事件",
}

RISK_DOMAINS: tuple[str, ...] = ("政治安全", "社会治安", "社会矛盾", "公共安全", "网络安全")


class RiskLevel(StrEnum):
    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    BLUE = "blue"


RISK_LEVEL_LABELS = {
    RiskLevel.RED: "红色(一级)",
    RiskLevel.ORANGE: "橙色(二级)",
    RiskLevel.YELLOW: "黄色(三级)",
    RiskLevel.BLUE: "蓝色(四级)",
}
RISK_LEVEL_COLORS = {
    RiskLevel.RED: "#d7263d",
    RiskLevel.ORANGE: "#f46036",
    RiskLevel.YELLOW: "#e9c46a",
    RiskLevel.BLUE: "#2e86de",
}
