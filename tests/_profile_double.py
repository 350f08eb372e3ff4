"""A minimal stand-in for a standard profile with four categories (see test_analysis.py)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Level:
    id: str
    name_zh: str
    name_en: str
    walk_min: float | None
    distance_m: float


@dataclass(frozen=True)
class Capacity:
    unit: str
    per_1000: float
    population: str


@dataclass(frozen=True)
class Category:
    id: str
    name_zh: str
    name_en: str
    level: str
    distance_m: float
    required: bool = True
    weight: float = 1.0
    target_group: str = "total"
    walk_min: float | None = None
    capacity: tuple = field(default_factory=tuple)


@dataclass(frozen=True)
class Profile:
    id: str
    levels: dict
    categories: dict


def profile_double() -> Profile:
    levels = {
        "L15": Level("L15", "十五分钟生活圈居住区", "15-minute life circle", 15, 1000),
        "L5": Level("L5", "五分钟生活圈居住区", "5-minute life circle", 5, 300),
    }
    cats = [
        Category("health_center", "社区卫生服务中心", "Community health centre", "L15", 1000),
        Category("health_station", "社区卫生服务站", "Community health station", "L5", 300),
        Category("nursery", "托育", "Nursery", "L5", 300, weight=2.0,
                 capacity=(Capacity("places", 4.5, "total"),)),
        Category("elderly_daycare", "老年人日间照料中心", "Elderly day care", "L5", 300, weight=2.0,
                 target_group="elderly"),
    ]
    return Profile("test-double", levels, {c.id: c for c in cats})
