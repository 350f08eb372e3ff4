"""TEST DOUBLE of the standard profile API (``lifecircle.profiles``), for the facility tests.

The real ``Profile``/``Category`` are written in parallel in ``src/lifecircle/profiles.py``; this
stand-in has exactly the attributes and methods the facility loaders use, so the tests can run
before it lands. Replace ``make_test_profile()`` with ``lifecircle.load_profile(...)`` then.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def _value_ok(want: str, have: str | None) -> bool:
    if want == "*":
        return have is not None
    if want.startswith("!"):
        return have is None or have not in want[1:].split("|")
    return have is not None and have in want.split("|")


@dataclass(frozen=True)
class CategoryDouble:
    """Test double of ``lifecircle.profiles.Category``."""

    id: str
    name_zh: str
    name_en: str
    level: int = 15
    osm: tuple[dict[str, str], ...] = ()
    keywords: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()
    amap_types: tuple[str, ...] = ()

    def matches_tags(self, tags: dict[str, str]) -> bool:
        return any(all(_value_ok(v, tags.get(k)) for k, v in f.items()) for f in self.osm)

    def matches_name(self, name: str | None) -> bool:
        if not name:
            return False
        if any(x in name for x in self.exclude_keywords):
            return False
        return any(k in name for k in self.keywords)

    def matches_amap(self, typecode: str | None) -> bool:
        if not typecode:
            return False
        codes = [c.strip() for c in str(typecode).split("|") if c.strip()]
        return any(c.startswith(p) for c in codes for p in self.amap_types)


@dataclass
class ProfileDouble:
    """Test double of ``lifecircle.profiles.Profile``: an ordered dict of categories."""

    name: str
    categories: dict[str, CategoryDouble] = field(default_factory=dict)


def make_test_profile() -> ProfileDouble:
    """A small "一老一小" profile: the tag filters follow standards.md §7, Amap codes §8."""
    cats = [
        CategoryDouble(
            "kindergarten",
            "幼儿园",
            "Kindergarten",
            10,
            osm=({"amenity": "kindergarten"},),
            keywords=("幼儿园",),
            amap_types=("141204",),
        ),
        CategoryDouble(
            "childcare",
            "托育机构",
            "Childcare",
            5,
            osm=({"amenity": "childcare"},),
            keywords=("托育", "托儿所", "宝宝屋"),
            exclude_keywords=("培训",),
        ),
        CategoryDouble(
            "elderly_care",
            "养老服务设施",
            "Elderly care",
            10,
            osm=(
                {
                    "amenity": "social_facility",
                    "social_facility": "nursing_home|day_care|assisted_living",
                },
                {"amenity": "nursing_home"},
            ),
            keywords=("养老院", "敬老院", "日间照料", "托老所", "老年公寓", "护理院"),
            exclude_keywords=("养老金", "养老保险"),
        ),
        CategoryDouble(
            "community_health",
            "社区卫生服务站",
            "Community health",
            15,
            osm=(
                {"amenity": "clinic|doctors"},
                {"healthcare": "clinic|doctor", "amenity": "!hospital"},
            ),
            keywords=("社区卫生", "卫生服务站", "卫生服务中心", "卫生院"),
            amap_types=("090102",),
        ),
        CategoryDouble(
            "hospital",
            "医院",
            "Hospital",
            15,
            osm=({"amenity": "hospital"},),
            keywords=("医院",),
            exclude_keywords=("宠物",),
            amap_types=("090100", "090101", "0902"),
        ),
        CategoryDouble(
            "pharmacy",
            "药店",
            "Pharmacy",
            10,
            osm=({"amenity": "pharmacy"},),
            keywords=("药店", "药房", "大药房"),
            amap_types=("0906",),
        ),
        CategoryDouble(
            "school",
            "中小学",
            "School",
            15,
            osm=({"amenity": "school"},),
            keywords=("小学", "中学"),
            exclude_keywords=("培训",),
            amap_types=("141202", "141203"),
        ),
    ]
    return ProfileDouble("test-yilao-yixiao", {c.id: c for c in cats})
