"""Regenerate the hand-made facility tables (run from the repository root).

The true WGS84 locations are chosen by hand (central Jiaxing, around Nanhu) and written to the
tables in the coordinate system an Amap (GCJ-02) or Baidu (BD-09) export would use, rounded to
6 decimals (≈0.1 m) as those services do. ``tests/test_facilities.py`` holds the same WGS84
truth and checks that loading gets it back.
"""

from __future__ import annotations

from pathlib import Path

from lifecircle.sources.coords import wgs84_to_bd09, wgs84_to_gcj02

HERE = Path(__file__).parent

# (名称, 类别, wgs84 lon, wgs84 lat, 容量, 地址)
UTF8_ROWS = [
    ("嘉兴市南湖区实验幼儿园", "幼儿园", 120.7550, 30.7470, "360", "南湖区中环南路"),
    ("南湖街道社区卫生服务中心", "社区卫生服务中心", 120.7620, 30.7510, "", "南湖区少年路"),
    ("建设街道日间照料中心", "养老服务设施", 120.7480, 30.7560, "30张", "南湖区建设路"),
    ("嘉兴市第一医院", "医院", 120.7603, 30.7589, "", "南湖区中环南路1882号"),
    ("阳光托育园", "托育机构", 120.7512, 30.7433, "40", "南湖区东栅街道"),
    ("中国工商银行嘉兴分行", "银行", 120.7570, 30.7500, "", "南湖区中山东路"),
    ("老百姓大药房(中山路店)", "", 120.7530, 30.7520, "", "南湖区中山路"),
    ("秀洲区新城幼儿园", "kindergarten", 120.7080, 30.7650, "270", "秀洲区新城街道"),
]

# (机构名称, 设施类型, wgs84 lon, wgs84 lat, 核定床位)
GBK_ROWS = [
    ("嘉兴市社会福利院", "养老院", 120.7425, 30.7610, "500"),
    ("新嘉街道居家养老服务照料中心", "日间照料中心", 120.7390, 30.7700, "25"),
    ("城南街道社区卫生服务站", "卫生服务站", 120.7700, 30.7380, ""),
]


def main() -> None:
    lines = ["序号,名称,类别,经度,纬度,容量,地址"]
    for i, (name, cat, lon, lat, cap, addr) in enumerate(UTF8_ROWS, start=1):
        gx, gy = wgs84_to_gcj02(lon, lat)
        lines.append(f"{i},{name},{cat},{float(gx):.6f},{float(gy):.6f},{cap},{addr}")
    (HERE / "jx_facilities_gcj02_utf8.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    lines = ["机构名称,设施类型,lng,lat,核定床位"]
    for name, cat, lon, lat, cap in GBK_ROWS:
        bx, by = wgs84_to_bd09(lon, lat)
        lines.append(f"{name},{cat},{float(bx):.6f},{float(by):.6f},{cap}")
    (HERE / "jx_facilities_bd09_gbk.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))


if __name__ == "__main__":
    main()
