"""Write the notebooks of this folder from the cells below: ``python notebooks/make_notebooks.py``.

The notebooks are generated so that they can be reviewed as Python and are committed without
outputs. ``tests/test_notebooks.py`` checks that the committed ``.ipynb`` files are exactly what
this script writes, and runs every notebook from top to bottom (offline, on the bundled sample).
Edit the cells here, run the script, commit both.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

Cell = tuple[str, str, tuple[str, ...]]


# Shown at the top of every notebook: lifecircle reports what it assumed (missing categories,
# estimated populations, coordinates outside China ...) through logging, and a notebook shows
# logging only once it is configured.
SETUP_LOGGING = """\
# lifecircle 的提示和警告显示在单元格下方 / show lifecircle's notes and warnings below each cell
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
logging.getLogger("lifecircle").setLevel(logging.INFO)"""


def md(text: str) -> Cell:
    return ("markdown", textwrap.dedent(text).strip("\n"), ())


def code(text: str, *tags: str) -> Cell:
    """A code cell; ``tags`` mark the cells whose outputs the test checks."""
    source = textwrap.dedent(text).strip("\n").replace("# <setup logging>", SETUP_LOGGING)
    return ("code", source, tags)


# ====================================================================================== 01
QUICKSTART: list[Cell] = [
    md("""
    # 快速上手 / Quickstart

    本笔记本在随包附带的示例数据上把 lifecircle 的整个流程走一遍：步行路网 → 设施 → 社区与居民 →
    5/10/15 分钟生活圈覆盖分析 → 短板社区与短板设施 → 建议选址 → 地图 → Excel 与补短板项目库。

    This notebook runs the whole lifecircle pipeline on the sample data that ships with the
    package: walking network → facilities → communities and residents → coverage in the
    5/10/15-minute life circles → shortfall communities and categories → proposed sites → map →
    Excel and the project reserve pool.

    **关于示例数据 / About the sample.** 示例是 OpenStreetMap 上的赫尔辛基市中心（约 1.2 × 1.7 km），
    因为它是开放数据、体积小、可以离线运行；六个“社区”是为演示划分的，不是官方边界。
    换成嘉兴的数据见 `02_your_own_city.ipynb`。
    The sample is central Helsinki from OpenStreetMap (about 1.2 × 1.7 km): open, small and
    usable offline. Its six "communities" are drawn for the demo, not official boundaries. For
    Jiaxing, see `02_your_own_city.ipynb`.

    所有文件写到一个临时文件夹；想保存在别处，把 `OUT` 改成你的文件夹。
    All files go to a temporary folder; set `OUT` to a folder of your own to keep them.
    """),
    code(
        """
    import logging
    import tempfile
    from pathlib import Path

    import pandas as pd

    import lifecircle as lc
    from lifecircle.cli import sample_dir

    # <setup logging>
    pd.set_option("display.max_columns", 60)
    pd.set_option("display.max_colwidth", 120)  # 原因列完整显示 / show the reasons in full

    DATA = sample_dir()                                  # 示例数据 / the bundled sample
    OSM = DATA / "helsinki_centre.osm.pbf"               # OpenStreetMap 文件 / OSM file
    COMMUNITIES = DATA / "helsinki_communities.geojson"  # 社区边界 / community boundaries
    OUT = Path(tempfile.mkdtemp(prefix="lifecircle-quickstart-"))  # 输出文件夹 / output folder
    print("lifecircle", lc.__version__)
    print("sample data:", DATA)
    print("outputs:    ", OUT)
    """,
        "setup",
    ),
    md("""
    ## 1. 步行路网 / Walking network

    从 OSM 文件读出可步行的道路（人行道、步道、台阶、生活街道……；高速公路、禁止步行的道路除外），
    并投影到米制坐标系（在中国用 CGCS2000 高斯-克吕格 3 度带，嘉兴为 EPSG:4549；这里是 UTM）。
    距离全部沿路网计算，不用直线距离。

    The walkable ways of the OSM file (footways, paths, steps, residential streets …; no
    motorways or `foot=no`), projected to metres (CGCS2000 Gauss-Krüger in China, EPSG:4549 for
    Jiaxing; UTM here). All distances follow the network, never straight lines.
    """),
    code("""
    net = lc.load_network(OSM)
    net
    """),
    md("""
    路网常常断成几块（例如被裁切的边缘、没有连上的小路）。默认只保留最大的一块，并说明丢掉了多少；
    `keep="all"` 保留全部。
    A network often comes in pieces (ways cut at the edge of the extract, paths not joined to
    the streets). By default the largest piece is kept and the rest reported; `keep="all"` keeps
    everything.
    """),
    code("""
    print(net.components)
    """),
    md("""
    ## 2. 标准 / The standard profile

    `jiaxing-yilao-yixiao` 是嘉兴“一老一小”配置：以 GB 50180-2018 为基础，只保留养老、托育、幼儿园、
    社区卫生和老幼活动场地，并加上床位、托位的千人指标。每个数字都注明来源（见 `03_custom_standard.ipynb`）。
    `jiaxing-yilao-yixiao` is the Jiaxing "elderly and children" profile: GB 50180-2018 narrowed
    to elderly care, childcare, kindergartens, community health and activity grounds, with
    per-1,000 bed and childcare-place targets. Every number carries its source (see
    `03_custom_standard.ipynb`).
    """),
    code("""
    profile = lc.load_profile("jiaxing-yilao-yixiao")
    profile
    """),
    md("""
    ## 3. 设施 / Facilities from OpenStreetMap

    按标准里每类设施的 OSM 标签找出设施，并统计每类的数量。
    Facilities are found by the OSM tags of each category of the profile; here is the count per
    category.
    """),
    code("""
    fac = lc.facilities_from_osm(OSM, profile)
    counts = fac["category"].value_counts().reindex(list(profile.categories), fill_value=0)
    pd.DataFrame({"类别 category": [profile.categories[c].name_zh for c in counts.index],
                  "设施数 facilities": counts.to_numpy()}, index=counts.index)
    """),
    md("""
    **OSM 不够 / OSM is not enough.** 这个示例里 OSM 没有养老机构、幼儿园、托育、日间照料和助餐点。
    OSM 由志愿者绘制，小型设施（居民楼二层的托育点、社区中心里的助餐点）很少被画上，在中国城市更少。
    所以还要加载民政、卫健、教育部门的设施清单（`lc.load_facilities`）。示例附带一份**虚构的示例清单**
    （仅用于演示，坐标为 WGS84），它有意漏掉了“助餐点”这一类：没有任何数据的类别不算短板，而是列入
    数据核查清单。

    OSM in this extract has no nursing home, kindergarten, nursery, day care or meal-aid point:
    small facilities (a nursery on the second floor of a housing block, a meal point inside a
    community centre) are rarely mapped, in Chinese cities even less. So the bureau lists are
    loaded too (`lc.load_facilities`). The sample ships an **illustrative, made-up** list (WGS84
    coordinates) that deliberately leaves out meal-aid points: a category with no data at all is
    not a shortfall, it goes to the data checklist.

    另外，OSM 标签无法区分社区卫生服务中心（15 分钟）和服务站（5 分钟）：名称含“社区卫生服务中心”
    的诊所和医院算服务中心，其他诊所算服务站。应以卫健部门的清单为准。
    Also, OSM tags cannot tell a community health centre (15-minute level) from a health station
    (5-minute level): hospitals and clinics named 社区卫生服务中心 count as centres, other clinics
    as stations. The health bureau's list should decide.
    """),
    code(
        """
    bureau = lc.load_facilities(DATA / "illustrative_bureau_facilities.csv", profile, crs="wgs84")
    fac = lc.merge_duplicates(fac, bureau)
    counts = fac["category"].value_counts().reindex(list(profile.categories), fill_value=0)
    pd.DataFrame({"类别 category": [profile.categories[c].name_zh for c in counts.index],
                  "设施数 facilities": counts.to_numpy()}, index=counts.index)
    """,
        "with-bureau",
    ),
    code("""
    fac[["category", "category_zh", "name", "source"]].head(8)
    """),
    md("""
    ## 4. 社区 / Communities

    社区边界（面）或社区点，常见的中文或英文列名（社区名称、常住人口、街道、区县、统计用区划代码……）会被自动识别。
    示例社区没有人口列。
    Community polygons (or points); common Chinese and English column names (社区名称, 常住人口,
    街道, 区县, 统计用区划代码 …) are recognised. The sample communities have no population column.
    """),
    code("""
    comm = lc.load_communities(COMMUNITIES)
    comm.drop(columns="geometry")
    """),
    md("""
    ## 5. 居民在哪里 / Where residents live

    居民并不都住在社区中心点。`demand_points` 把每个社区的人口按住宅楼的建筑面积（占地 × 层数）分到各栋楼；
    没有人口数据时，用建筑面积 ÷ 40 m²/人 估算，并标记 `pop_estimated`。
    示例里有两个商业区社区没有住宅楼：`missing_population="zero"` 把它们算作 0 人（和 `lifecircle demo` 一样），
    否则会报错，提示你补上人口列。`grid_m=50` 在没有住宅楼的社区里每 50 m 放一个点。

    People do not all live at the community centroid. `demand_points` spreads each community's
    population over its residential buildings, weighted by floor area (footprint × levels);
    without a population column it estimates residents as floor area ÷ 40 m² per person and
    flags them `pop_estimated`. Two commercial cells of the sample have no residential building:
    `missing_population="zero"` counts them as 0 residents (as `lifecircle demo` does) instead
    of stopping with an error that asks for a population column. `grid_m=50` puts a point every
    50 m in communities without buildings.
    """),
    code("""
    buildings, landuse = lc.communities.buildings_from_osm(OSM)
    print(f"{len(buildings):,} buildings, {len(landuse):,} land-use areas in the OSM file")

    demand = lc.demand_points(comm, buildings=buildings, landuse=landuse, grid_m=50,
                              missing_population="zero")
    demand.communities[["community_name", "population", "pop_source", "pop_estimated"]]
    """),
    md("""
    ## 6. 分析 / The analysis

    对每个社区 × 每类设施：沿路网到最近设施的距离、标准距离内的居民比例（≥ 80% 算达标）、有床位/托位指标时的
    供给（高斯两步移动搜索法）。各层级分开检查：15 分钟层级的设施不能满足 5 分钟层级的需求。

    For every community × category: the walking distance to the nearest facility, the share of
    residents within the standard distance (≥ 80% meets it), and, where the profile has a
    per-1,000 target, the supply (Gaussian two-step floating catchment). Levels are checked one
    by one: a 15-minute facility never satisfies a 5-minute need.
    """),
    code("""
    a = lc.analyze(net, fac, comm, profile, demand=demand)
    a
    """),
    md("""
    ### 短板社区 / Shortfall communities

    按优先级排序：先是“应配建”（▲）类别，再按 权重 × 受影响人数。每行有中英文原因。
    Ranked: required (▲) categories first, then weight × residents affected. Each row gives the
    reason in Chinese and English.
    """),
    code(
        """
    a.shortfalls.head(10)
    """,
        "shortfalls",
    ),
    md("""
    ### 数据核查清单 / Data checklist

    没有任何数据的类别（或某个街道 3 km 内一个都没有、而别处有）不算短板，也不计入服务指数：
    它们列在这里，并说明应补充什么数据。如果确实没有（清单是完整的），用
    `complete_categories=["elderly_meal_aid"]` 说明，它们就成为真正的短板。
    A category without any data (or with none within 3 km of a street while other streets have
    some) is not a shortfall and not part of the index: it is listed here with the source to
    add. If there really are none (the list is complete), say so with
    `complete_categories=["elderly_meal_aid"]` and they become real shortfalls.
    """),
    code(
        """
    a.data_gaps
    """,
        "data-gaps",
    ),
    md("""
    同一张表，只看规划人员最常用的几列 / The same list, the columns planners read first:
    """),
    code("""
    a.shortfalls[["priority_rank", "community_name", "category_zh", "level", "distance_m",
                  "threshold_m", "uncovered_pop", "reason_zh"]].head(10)
    """),
    md("""
    ### 短板设施 / Shortfall categories

    每类设施在全市（以及各区县、街道）的覆盖比例，最差的排在前面。
    Coverage of each category city-wide (and per county and street), worst first.
    """),
    code(
        """
    a.categories[a.categories.scope == "city"]
    """,
        "categories",
    ),
    md("""
    ### 社区设施服务指数 / Community service index

    0–100：100 表示每类设施的目标人群都在步行范围内（且供给达标）。没有居民的社区没有指数。
    0–100: 100 means every target resident of every category is within reach (and supply meets
    the targets). Communities without residents have no index.
    """),
    code("""
    a.index
    """),
    md("""
    总体情况：达标社区比例与目标（到 2025 年约 60%）的比较。目标针对城镇社区（不含村）：
    `share_of` 说明比例按哪些社区计算；示例社区的名称不含“社区/村”，无法区分城乡，所以按全部社区计算。
    Headline numbers: the share of communities meeting the standard against the target (about
    60% by 2025). The target is a share of urban communities (not villages): `share_of` says
    which communities the share counts; the sample's names do not say 社区 or 村, so it counts
    all of them.
    """),
    code("""
    a.summary
    """),
    md("""
    ## 7. 建议选址 / Proposed sites

    每类设施最多建议 3 处新址，每一处都选能新覆盖最多未覆盖居民的位置（贪心最大覆盖）。
    这是起点，不是结论：还要核对用地、产权和现有设施的容量。
    Up to 3 new sites per category, each where it newly covers the most uncovered residents
    (greedy maximal covering). A starting point, not a decision: land, ownership and the capacity
    of existing facilities still need checking.
    """),
    code(
        """
    sites = a.propose_sites(max_sites=3)
    sites.drop(columns="geometry")
    """,
        "sites",
    ),
    md("""
    ## 8. 地图 / Map

    社区按服务指数着色；可以在右上角打开各类短板、设施、覆盖范围和建议选址图层。
    下面给服务指数最低的两个社区画出 5/10/15 分钟步行等时圈，`covered=True` 画出每类设施的覆盖范围。
    `offline=True` 把地图脚本嵌入页面，不依赖可能被屏蔽的 CDN（底图瓦片仍需联网）。

    Communities are coloured by the service index; switch the shortfall, facility, covered-area
    and site layers on in the top-right control. Below, the two communities with the lowest
    index get their 5/10/15-minute walking isochrones, and `covered=True` draws the area each
    category covers. `offline=True` puts the map's script into the page, so it does not depend
    on a CDN that may be blocked (the basemap tiles still need the internet).
    """),
    code(
        """
    worst = a.index.sort_values("service_index")["community_id"].head(2).tolist()
    m = a.map(communities=worst, covered=True, offline=True)
    m
    """,
        "map",
    ),
    md("""
    保存为一个 HTML 文件，可以发给街道，用浏览器直接打开。
    Save it as one HTML file to send to a street office; it opens in any browser.
    """),
    code("""
    lc.save_map(m, OUT / "短板地图.html", offline=True)
    """),
    md("""
    ## 9. 导出 / Export

    Excel：总体情况、短板社区、数据核查清单、短板设施、服务指数、街道汇总、区县汇总、覆盖明细，
    有建议选址时再加一张“建议选址”（中文表头与中文取值，人数为整数，比例为百分比）。
    Excel: summary, shortfall communities, data checklist, shortfall categories, service index,
    by street, by county and coverage, plus proposed sites when there are any (Chinese headers
    and values, whole numbers for people, shares as percentages).
    """),
    code("""
    a.to_excel(OUT / "短板清单.xlsx")
    """),
    md("""
    补短板项目库（GeoPackage，可在 QGIS/ArcGIS 中打开编辑；也可以是 PostGIS、Excel 或 CSV）。
    下次分析后再导出时，规划人员填写的状态、年份、责任单位和备注会保留（见 `docs/pool.md`）。
    The project reserve pool (GeoPackage, to open and edit in QGIS/ArcGIS; PostGIS, Excel or CSV
    also work). When the next analysis is exported into the same pool, what planners wrote
    (status, year, owner, notes) is kept (see `docs/pool.md`).
    """),
    code("""
    report = lc.export_pool(a, OUT / "补短板项目库.gpkg")
    print(report)
    """),
    code(
        """
    pool = lc.read_pool(OUT / "补短板项目库.gpkg")
    pool.head()
    """,
        "pool",
    ),
    md("""
    输出文件 / The files written:
    """),
    code(
        """
    sorted(p.name for p in OUT.iterdir())
    """,
        "files",
    ),
]

# ====================================================================================== 02
YOUR_CITY: list[Cell] = [
    md("""
    # 用在你自己的城市 / Your own city

    把 lifecircle 用在嘉兴（或任何城市）需要四样东西 / Four inputs:

    | 数据 / data | 来源 / where from |
    | --- | --- |
    | 步行路网与 OSM 设施 / walking network, OSM facilities | Overpass（联网）或 Geofabrik `.osm.pbf` 文件 / online, or a Geofabrik extract |
    | 部门设施清单 / bureau facility lists | 民政、卫健、教育部门的 Excel/CSV，常为高德（GCJ-02）或百度（BD-09）坐标 / Excel or CSV, often in Amap or Baidu coordinates |
    | 社区边界与人口 / communities and population | 社区边界（GeoPackage/Shapefile）、常住人口、统计用区划代码 / boundaries, population, statistical codes |
    | 运行配置 / a run configuration | `lifecircle config init` 生成 / written by `lifecircle config init` |

    本笔记本离线运行：找不到你的文件时，自动改用随包示例（赫尔辛基）并打印说明。
    下面的部门清单和社区属性是**为演示编造的**，不是真实数据。
    This notebook runs offline: where your files are missing it falls back to the bundled
    sample (Helsinki) and says so. The bureau list and community attributes below are **made
    up for the demonstration**.
    """),
    code("""
    import json
    import logging
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    import geopandas as gpd
    import pandas as pd
    import shapely
    from pyproj import Geod

    import lifecircle as lc
    from lifecircle import coords
    from lifecircle.cli import sample_dir

    # <setup logging>
    pd.set_option("display.max_columns", 60)
    pd.set_option("display.max_colwidth", 120)  # 原因列完整显示 / show the reasons in full

    OUT = Path(tempfile.mkdtemp(prefix="lifecircle-city-"))  # 输出文件夹 / output folder
    print("outputs:", OUT)
    """),
    md("""
    ## 1. 路网 / The walking network

    **联网 / Online** (Overpass)：`lc.load_network("南湖区, 嘉兴市, 浙江省")`。需要能访问 overpass-api.de，
    在国内常常很慢或不通。Needs overpass-api.de, often slow or blocked from China.

    **离线 / Offline** (推荐 / recommended)：从 download.geofabrik.de 下载 `china-latest.osm.pbf`，
    用 [osmium-tool](https://osmcode.org/osmium-tool/) 切出嘉兴（多留一圈边，跨界步行不会丢）：
    Download `china-latest.osm.pbf` from download.geofabrik.de and cut Jiaxing out with
    osmium-tool, with a margin so that walks across the border are kept:

    ```bash
    osmium extract -b 120.28,30.26,121.34,31.04 china-latest.osm.pbf -o jiaxing.osm.pbf
    ```

    把 `ONLINE` 设为 `True`，或把 `jiaxing.osm.pbf` 放在本笔记本旁边，下面的单元格就会用你的数据。
    Set `ONLINE = True`, or put `jiaxing.osm.pbf` next to this notebook, and the cell below uses it.
    """),
    code(
        """
    ONLINE = False                    # True: 从 Overpass 下载 / download from Overpass
    PLACE = "南湖区, 嘉兴市, 浙江省"
    MY_OSM = Path("jiaxing.osm.pbf")  # osmium extract 切出的文件 / your Geofabrik cut

    if ONLINE:
        OSM_SOURCE = PLACE
    elif MY_OSM.exists():
        OSM_SOURCE = MY_OSM
    else:
        OSM_SOURCE = sample_dir() / "helsinki_centre.osm.pbf"
        print(f"注意 note: {MY_OSM} not found and ONLINE = False, so this notebook uses the bundled "
              f"sample (central Helsinki): {OSM_SOURCE}")
    USING_SAMPLE = OSM_SOURCE == sample_dir() / "helsinki_centre.osm.pbf"

    net = lc.load_network(OSM_SOURCE)
    net
    """,
        "network",
    ),
    md("""
    嘉兴有上千个社区，每次都读 OSM 文件会慢一些：可以把路网存成文件夹，下次直接读。
    Save the network once and load the folder next time:
    """),
    code("""
    net.save(OUT / "network")
    net = lc.load_network(OUT / "network")
    net
    """),
    md("""
    OSM 里的设施（和快速上手一样）/ The OSM facilities (as in the quickstart):
    """),
    code("""
    profile = lc.load_profile("jiaxing-yilao-yixiao")
    osm_fac = lc.facilities_from_osm(OSM_SOURCE, profile)
    osm_fac["category"].value_counts()
    """),
    md("""
    ## 2. 部门设施清单（GCJ-02 坐标）/ A bureau facility list in GCJ-02

    民政局、卫健委的清单常常是在高德地图上取的坐标，即 **GCJ-02**（“火星坐标”），在嘉兴与 WGS84 相差约
    500 m，比 5 分钟生活圈的 300 m 还大。不换算就会造成假的短板和假的覆盖。

    Bureau lists are often digitised on Amap, in **GCJ-02**, which in Jiaxing is about 500 m off
    WGS84: more than the 300 m of the 5-minute level. Unconverted, it creates false gaps and
    false coverage.

    下面先**编造**一张小清单（列名：经度、纬度、名称、类别、床位），把几个设施放在路网的街道上，
    再用 `coords.wgs84_to_gcj02` 换成 GCJ-02——就像从高德地图上取的坐标一样。
    清单里还有一个 OSM 里也有的诊所（同一个设施在两个来源中各出现一次，很常见）。

    Below we **make up** a small list (columns 经度, 纬度, 名称, 类别, 床位), put its facilities
    on streets of the network and convert their coordinates to GCJ-02 with
    `coords.wgs84_to_gcj02`, as if they had been picked on Amap. It also lists a clinic that OSM
    has too (the same facility in two sources: common).
    """),
    code(
        """
    # 演示用的虚构清单 — MADE UP for this demonstration, not real facilities
    x0, y0, x1, y1 = net.bounds
    nodes_wgs84 = net.nodes.to_crs(4326)


    def street_at(fx, fy):
        \"\"\"WGS84 lon/lat of the street crossing nearest to (fx, fy) of the network's extent (0–1).\"\"\"
        p = shapely.Point(x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))
        pt = nodes_wgs84.geometry.iloc[int(net.nodes.distance(p).argmin())]
        return pt.x, pt.y


    rows = [  # name, category as the bureau writes it, beds, position in the network's extent
        ("阳光颐养院", "养老院", 120, (0.30, 0.60)),
        ("康乐社区日间照料中心", "日间照料中心", 15, (0.55, 0.45)),
        ("小橡树托育园", "托育机构", None, (0.50, 0.50)),
        ("启明幼儿园", "幼儿园", None, (0.70, 0.35)),
        ("幸福食堂", "老年食堂", None, (0.40, 0.30)),
    ]
    records = [(name, kind, beds, *street_at(fx, fy)) for name, kind, beds, (fx, fy) in rows]
    # a clinic that OSM has too, listed by the bureau 10–20 m east of the OSM point
    named = osm_fac[(osm_fac["category"] == "health_station") & osm_fac["name"].notna()]
    if len(named):
        twin = named.iloc[0]
        records.append((twin["name"], "社区卫生服务站", None, twin.geometry.x + 0.0002, twin.geometry.y))

    lon_wgs84 = [r[3] for r in records]
    lat_wgs84 = [r[4] for r in records]
    lon_gcj, lat_gcj = coords.wgs84_to_gcj02(lon_wgs84, lat_wgs84)  # as if picked on Amap
    bureau_table = pd.DataFrame({
        "经度": lon_gcj.round(6), "纬度": lat_gcj.round(6),
        "名称": [r[0] for r in records], "类别": [r[1] for r in records],
        "床位": pd.array([r[2] for r in records], dtype="Int64"),
    })
    BUREAU_CSV = OUT / "民政局设施清单_演示.csv"
    bureau_table.to_csv(BUREAU_CSV, index=False, encoding="utf-8-sig")  # Excel 能直接打开 / opens in Excel
    bureau_table
    """,
        "bureau-table",
    ),
    md("""
    不说明坐标系就加载，会得到一个明确的错误，而不是猜测（猜错会把每个点移动 0.5–1.1 km）：
    Loading it without saying which coordinate system it uses is a clear error, not a guess (a
    wrong guess moves every point by 0.5–1.1 km):
    """),
    code(
        """
    try:
        lc.load_facilities(BUREAU_CSV, profile)
    except lc.CRSError as err:
        print("错误 error:", err)
    """,
        "no-crs",
    ),
    md("""
    说明是 GCJ-02（高德）就行；百度坐标用 `crs="bd09"`，GPS 用 `crs="wgs84"`。类别列里的“养老院”“托育机构”等
    按标准里的关键词归类。
    Say it is GCJ-02 (Amap); Baidu coordinates are `crs="bd09"`, GPS `crs="wgs84"`. The 类别
    values (养老院, 托育机构 …) are matched to the profile's categories by its keywords.
    """),
    code(
        """
    bureau = lc.load_facilities(BUREAU_CSV, profile, crs="gcj02", network=net)
    bureau[["category", "category_zh", "name", "capacity", "category_source", "row"]]
    """,
        "bureau",
    ),
    md("""
    换算移动了多少？原始经纬度与换算后的 WGS84 点之间的距离：
    How far did the conversion move the points? Distance between the raw and the converted
    coordinates:
    """),
    code(
        """
    geod = Geod(ellps="WGS84")
    raw = bureau_table.loc[bureau["row"].to_numpy() - 2]  # "row": spreadsheet row, header = row 1
    _, _, moved = geod.inv(raw["经度"].to_numpy(), raw["纬度"].to_numpy(),
                           bureau.geometry.x.to_numpy(), bureau.geometry.y.to_numpy())
    print("moved by (m):", moved.round(1))
    if USING_SAMPLE:
        print("赫尔辛基在中国境外，GCJ-02 在境外不做偏移，所以是 0 m。"
              "Helsinki is outside China, where GCJ-02 is not shifted: 0 m.")
    """,
        "moved",
    ),
    md("""
    在嘉兴这个偏移有多大？拿南湖区的一个点 (120.755, 30.747) 算一下：
    How large is the shift in Jiaxing? Take a point in Nanhu district, (120.755, 30.747):
    """),
    code(
        """
    lon, lat = 120.755, 30.747                       # WGS84, 嘉兴南湖区 / Nanhu, Jiaxing
    glon, glat = coords.wgs84_to_gcj02(lon, lat)     # 高德坐标 / Amap (GCJ-02)
    blon, blat = coords.wgs84_to_bd09(lon, lat)      # 百度坐标 / Baidu (BD-09)
    gcj_shift = geod.inv(lon, lat, float(glon), float(glat))[2]
    bd_shift = geod.inv(lon, lat, float(blon), float(blat))[2]
    print(f"GCJ-02: ({float(glon):.6f}, {float(glat):.6f}), {gcj_shift:.0f} m from WGS84")
    print(f"BD-09:  ({float(blon):.6f}, {float(blat):.6f}), {bd_shift:.0f} m from WGS84")
    back = coords.gcj02_to_wgs84(glon, glat)
    error = geod.inv(lon, lat, float(back[0]), float(back[1]))[2]
    print(f"GCJ-02 → WGS84 round trip error: {error:.1e} m")
    """,
        "jiaxing-shift",
    ),
    md("""
    不确定一张“WGS84”的表是不是其实没换算？`lc.detect_offset` 把它和已知正确的图层（OSM 设施、路网）比较，
    看哪种读法最贴合。示例在中国境外，没有偏移可查，所以这里结论是“没有明显偏移”。
    Not sure whether a table labelled WGS84 is really unconverted GCJ-02? `lc.detect_offset`
    compares it with a layer known to be right (OSM facilities, the network) under each reading.
    The sample is outside China, so here it finds no shift.
    """),
    code("""
    report = lc.detect_offset(bureau, net)
    print(report.message)
    """),
    md("""
    ## 3. 合并 OSM 与部门清单 / Merging OSM and the bureau list

    同一设施在两个来源里各有一条时（同类别、相距 50 m 以内、名称相似），合并为一条，保留信息更全的记录，
    床位等容量以部门数据为准；`merged_from` 记录被合并的编号。
    The same facility in two sources (same category, within 50 m, similar names) becomes one
    record: the richer one is kept, capacity comes from the bureau, and `merged_from` lists
    the ids merged into it.
    """),
    code(
        """
    fac = lc.merge_duplicates(osm_fac, bureau)
    print(f"OSM {len(osm_fac)} + bureau {len(bureau)} = {len(osm_fac) + len(bureau)} records "
          f"→ {len(fac)} facilities")
    fac.loc[fac["merged_from"].notna(), ["category", "name", "source", "merged_from"]]
    """,
        "merged",
    ),
    md("""
    ## 4. 社区：中文列名与统计用区划代码 / Communities with Chinese columns and statistical codes

    你的社区表可能是这样的：社区名称、统计用区划代码（12 位）、常住人口、60岁以上、区县、街道。
    这些列名都能自动识别；街道代码（前 9 位）和区县代码（前 6 位）从 12 位代码推出。
    下面用示例社区的边界**编造**这样一张表（代码套用南湖区 330402 的格式，人口是虚构的），存成 GeoPackage。

    Your community table may look like this: 社区名称, 统计用区划代码 (12 digits), 常住人口,
    60岁以上, 区县, 街道. These names are recognised; the street code (first 9 digits) and county
    code (first 6) follow from the 12-digit code. Below, such a table is **made up** on the sample
    boundaries (codes in the format of Nanhu district, 330402; populations invented) and saved as
    a GeoPackage.

    用你自己的数据时 / With your own data: `comm = lc.load_communities("社区边界.gpkg")`.
    """),
    code(
        """
    MY_COMMUNITIES = Path("社区边界.gpkg")  # 你的社区边界 / your community boundaries

    if MY_COMMUNITIES.exists():
        COMMUNITIES = MY_COMMUNITIES
    elif USING_SAMPLE:
        sample = gpd.read_file(sample_dir() / "helsinki_communities.geojson")
        demo = gpd.GeoDataFrame({
            "社区名称": sample["name"],
            "统计用区划代码": ["330402001001", "330402001002", "330402001003",
                              "330402002001", "330402002002", "330402002003"],
            "常住人口": [3200, 4100, 800, 600, 5200, 2900],   # 虚构 / made up
            "60岁以上": [820, 1150, 150, 90, 1240, 760],      # 虚构 / made up
            "区县": "南湖区（演示）",
            "街道": ["演示街道一"] * 3 + ["演示街道二"] * 3,
        }, geometry=sample.geometry.values, crs=sample.crs)
        COMMUNITIES = OUT / "社区边界_演示.gpkg"
        demo.to_file(COMMUNITIES, driver="GPKG")
        print("注意 note: using made-up community attributes on the sample boundaries:", COMMUNITIES)
    else:
        raise FileNotFoundError(f"put your community boundaries at {MY_COMMUNITIES} "
                                "(or change the path)")

    comm = lc.load_communities(COMMUNITIES)
    comm[["community_name", "community_code", "street_code", "street_name", "county_code",
          "county_name", "population", "pop_elderly"]]
    """,
        "communities",
    ),
    md("""
    有了人口和 60 岁以上人口，养老类设施就按老年人计算覆盖（`target_group = elderly`）。用这些数据分析一次：
    With population and people aged 60+, elderly-care categories are measured over older
    residents (`target_group = elderly`). One analysis with these inputs:
    """),
    code(
        """
    buildings, landuse = lc.communities.buildings_from_osm(OSM_SOURCE) if not ONLINE else (None, None)
    a = lc.analyze(net, fac, comm, profile, buildings=buildings, landuse=landuse, grid_m=50)
    a.shortfalls[["priority_rank", "street_name", "community_name", "category_zh", "target_group",
                  "uncovered_pop", "reason_zh"]].head(10)
    """,
        "analysis",
    ),
    md("""
    养老类的短板按 60 岁以上人口计算 / Elderly-care shortfalls count people aged 60+:
    """),
    code(
        """
    elderly = a.shortfalls[a.shortfalls["target_group"] == "elderly"]
    elderly[["community_name", "category_zh", "group_pop", "uncovered_pop", "reason_zh"]].head(6)
    """,
        "elderly",
    ),
    code("""
    a.index_by_street
    """),
    md("""
    ## 5. 命令行 / From the command line

    同样的流程也可以不写代码：`lifecircle config init` 写出一个带注释的配置文件，改好路径后
    `lifecircle run 配置.toml`。在笔记本里用 `subprocess` 调用（`sys.executable -m lifecircle`
    保证用的是这个内核的 Python）；在终端里直接输入 `lifecircle ...` 即可。

    The same pipeline without code: `lifecircle config init` writes a commented configuration;
    edit its paths and run `lifecircle run config.toml`. From a notebook, call it with
    `subprocess` (`sys.executable -m lifecircle` uses this kernel's Python); in a terminal just
    type `lifecircle ...`.
    """),
    code(
        """
    def lifecircle_cmd(*args):
        \"\"\"Run the lifecircle command and print what it says.\"\"\"
        r = subprocess.run([sys.executable, "-m", "lifecircle", *map(str, args)],
                           capture_output=True, text=True, encoding="utf-8", check=False,
                           cwd=OUT)  # 在输出文件夹里运行 / run in OUT, like a terminal opened there
        print(r.stdout)
        if r.returncode != 0:
            print(r.stderr)
            raise RuntimeError(f"lifecircle {' '.join(map(str, args))} failed "
                               f"(exit code {r.returncode})")


    lifecircle_cmd("config", "init", "--out", OUT / "lifecircle.toml")
    print((OUT / "lifecircle.toml").read_text(encoding="utf-8")[:1200], "...")
    """,
        "config-init",
    ),
    md("""
    为本例写一个小配置：OSM 文件、部门清单（GCJ-02）、社区表。相对路径相对于配置文件所在的文件夹。
    A small configuration for this example: the OSM file, the bureau list (GCJ-02) and the
    communities. Relative paths are relative to the configuration file.
    """),
    code("""
    def toml_str(value):
        \"\"\"A TOML string; paths made absolute, with forward slashes (also on Windows).\"\"\"
        return json.dumps(value.resolve().as_posix() if isinstance(value, Path) else value,
                          ensure_ascii=False)


    config = f'''
    [network]
    source = {toml_str(OSM_SOURCE)}

    [[facilities]]
    osm = true

    [[facilities]]
    path = {toml_str(BUREAU_CSV.name)}
    crs = "gcj02"

    [communities]
    path = {toml_str(Path(COMMUNITIES))}

    [demand]
    grid_m = 50

    [analysis]
    profile = "jiaxing-yilao-yixiao"

    [sites]
    max_sites = 3

    [output]
    dir = "run_output"
    formats = ["xlsx", "csv"]
    pool = "补短板项目库.gpkg"
    '''
    CONFIG = OUT / "jiaxing-demo.toml"
    CONFIG.write_text(config, encoding="utf-8")
    print(config)
    """),
    code(
        """
    lifecircle_cmd("run", CONFIG)
    """,
        "cli-run",
    ),
    code(
        """
    sorted(p.name for p in (OUT / "run_output").iterdir())
    """,
        "run-files",
    ),
]

# ====================================================================================== 03
CUSTOM: list[Cell] = [
    md("""
    # 自定义标准 / A custom standard

    “标准”（profile）是数据，不写在代码里：生活圈层级、每类设施的步行距离、千人指标、识别规则
    （OSM 标签、名称关键词、高德类型编码），以及**每个数字的出处**。本笔记本：查看内置标准、
    临时改距离、写一个继承嘉兴配置的自己的标准、看一个拼写错误怎样被指出，并比较两种标准下的分析结果。

    A standard profile is data, not code: levels, each category's walking distance, per-1,000
    targets, how facilities are recognised (OSM tags, name keywords, Amap type codes), and **where
    every number comes from**. This notebook looks at the built-in profiles, changes distances on
    the fly, writes a profile of its own on top of the Jiaxing one, shows how a typo is reported,
    and compares the analysis under both.
    """),
    code(
        """
    import logging
    import tempfile
    from pathlib import Path

    import pandas as pd

    import lifecircle as lc
    from lifecircle.cli import sample_dir

    # <setup logging>
    pd.set_option("display.max_columns", 60)
    pd.set_option("display.max_colwidth", 120)

    OUT = Path(tempfile.mkdtemp(prefix="lifecircle-profile-"))  # 输出文件夹 / output folder
    lc.list_profiles()
    """,
        "list",
    ),
    md("""
    ## 1. 内置标准及其出处 / A built-in profile and its sources

    GB 50180-2018 的 38 类设施。每个距离都带有来源和标记：

    | 标记 mark | 含义 / meaning |
    | --- | --- |
    | **V** | 在原文中看到 / seen in the source text |
    | **V2** | 只在转引原文的二手资料中看到 / seen only in a secondary source quoting it |
    | **C** | lifecircle 计算或选定，备注说明怎样得到 / calculated or chosen here; the note says how |
    | **R** | 凭记忆，**未核实** / recalled, **not verified** — 使用前请对照官方文本 / check before relying on it |

    `verified` 只有在距离和千人指标全部来自 **V** 来源时才为 True。GB 附录表原文没有拿到，所以多数半径是 R。
    `verified` is True only when the threshold and capacity targets all come from **V** sources.
    The GB appendix tables were not available, so most radii are R.
    """),
    code(
        """
    gb = lc.load_profile("gb50180-2018")
    table = gb.to_frame()
    table[["name_zh", "level", "distance_m", "required_zh", "distance_mark", "verified",
           "distance_source"]]
    """,
        "gb-table",
    ),
    code("""
    table["distance_mark"].value_counts()
    """),
    md("""
    ## 2. 临时改距离 / Changing distances on the fly

    GB 50180-2018 的 15 分钟生活圈是 800–1000 m，默认用 1000 m。`with_distances(L15=800)` 得到一份
    15 分钟层级为 800 m 的副本（原标准不变），新数字的出处标为 C。
    The 15-minute level of GB 50180-2018 is 800–1000 m; 1000 m is the default.
    `with_distances(L15=800)` gives a copy with 800 m there (the original is unchanged); the new
    numbers are marked C.
    """),
    code(
        """
    jx = lc.load_profile("jiaxing-yilao-yixiao")
    jx800 = jx.with_distances(L15=800)
    pd.DataFrame({
        "level": jx.to_frame()["level"],
        "jiaxing-yilao-yixiao": jx.to_frame()["distance_m"],
        "with_distances(L15=800)": jx800.to_frame()["distance_m"],
        "source of the new number": jx800.to_frame()["distance_source"].str[:60],
    })
    """,
        "with-distances",
    ),
    md("""
    ## 3. 写自己的标准 / A profile of your own

    新建一个 TOML 文件，`extends = "jiaxing-yilao-yixiao"`，只写不同之处：

    * **改距离**：浙江提出城乡“15 分钟托育服务圈”，把托育从 5 分钟层级（300 m）改到 15 分钟层级（1000 m）。
      文件里设了 `distance_m`，就必须在同一个表里写 `distance_source`（出处）。
    * **删一类**：`drop = ["elderly_meal_aid"]`（老年食堂/助餐点）。
    * **加一类**：社区老年活动室，按 OSM 标签和名称关键词识别。

    A TOML file that `extends = "jiaxing-yilao-yixiao"` and says only what differs:

    * **a distance**: Zhejiang aims at a 15-minute childcare circle, so the nursery moves from the
      5-minute level (300 m) to the 15-minute level (1000 m). A file that sets `distance_m` must
      say where it comes from in `distance_source`, in the same table.
    * **a category dropped**: `drop = ["elderly_meal_aid"]` (elderly canteen / meal-aid point).
    * **a category added**: 社区老年活动室 (activity room for older people), recognised by OSM
      tags and name keywords.

    `lifecircle profile init jiaxing-yilao-yixiao` 复制整个文件供编辑 / copies the whole file to edit.
    """),
    code(
        '''
    MY_PROFILE = OUT / "my-jiaxing.toml"
    MY_PROFILE.write_text("""\\
    id = "my-jiaxing"
    version = "0.1"
    extends = "jiaxing-yilao-yixiao"
    title_zh = "我的嘉兴“一老一小”配置（演示）"
    title_en = "My Jiaxing elderly-and-children profile (demo)"

    drop = ["elderly_meal_aid"]

    [categories.nursery]
    level = "L15"
    distance_m = 1000
    distance_source = [
      { document = "浙江省“十四五”托育服务发展规划", clause = "2025年目标", mark = "C", note = "城乡“15分钟托育服务圈” (V2, quoted in the jiaxing profile) read as the 15-minute distance of GB 50180-2018, 1000 m" },
    ]

    [categories.elderly_activity_room]
    name_zh = "社区老年活动室"
    name_en = "community activity room for older people"
    level = "L5"
    required = false
    element_type = "品质提升型"
    weight = 1.0
    target_group = "elderly"
    sources = [{ document = "my city", clause = "", mark = "C", note = "added for this demonstration" }]
    osm = [
      { amenity = "community_centre", "community_centre:for" = "senior|elderly" },
      { amenity = "social_centre", "social_centre:for" = "senior|elderly" },
    ]
    keywords = ["老年活动室", "老年活动中心", "老年人活动中心", "老年之家"]
    """, encoding="utf-8")

    custom = lc.load_profile(MY_PROFILE)
    custom
    ''',
        "custom",
    ),
    code("""
    custom.to_frame().loc[["nursery", "elderly_activity_room"],
                          ["name_zh", "level", "distance_m", "distance_mark", "distance_source"]]
    """),
    md("""
    ## 4. 拼写错误会被指出 / A typo is reported with its key and line

    每个键都会检查。写错一个键（`distanse_m`），错误信息给出文件、行号、键的路径和最接近的正确写法：
    Every key is checked. A mistyped key (`distanse_m`) is reported with the file, the line, the
    key path and the nearest valid key:
    """),
    code(
        """
    typo = MY_PROFILE.read_text(encoding="utf-8").replace("distance_m = 1000", "distanse_m = 1000")
    TYPO_PROFILE = OUT / "my-jiaxing-typo.toml"
    TYPO_PROFILE.write_text(typo, encoding="utf-8")
    try:
        lc.load_profile(TYPO_PROFILE)
    except lc.ProfileError as err:
        print("错误 error:", err)
        print("line:", err.line, " key:", err.key)
    """,
        "typo",
    ),
    md("""
    ## 5. 两种标准下的分析 / The analysis under both profiles

    示例数据与快速上手相同。OSM 里没有托育和老年活动室，所以再**编造**两处设施（不是真实数据）：
    一个托育园和一个老年活动室，各放在一个社区里住户最多的楼旁边的街道交叉口。
    设施按各自的标准分类：新加的“老年活动室”只有自定义标准认得，内置标准会提示这一行无法归类。

    The same sample as the quickstart. OSM has no nursery or activity room there, so two
    facilities are **made up** (not real): a nursery and an activity room, each at the street
    crossing next to the most populous building of a community. Facilities are categorised by
    each profile: only the custom one knows 老年活动室; the built-in one warns that the row
    matches no category.
    """),
    code(
        """
    DATA = sample_dir()
    OSM = DATA / "helsinki_centre.osm.pbf"
    net = lc.load_network(OSM)
    comm = lc.load_communities(DATA / "helsinki_communities.geojson")
    buildings, landuse = lc.communities.buildings_from_osm(OSM)
    demand = lc.demand_points(comm, buildings=buildings, landuse=landuse, grid_m=50,
                              missing_population="zero")

    # 演示用的虚构设施 — MADE UP for this demonstration: each at the street crossing nearest to the
    # home of most residents (the biggest residential building) in a community
    homes = demand.points.to_crs(net.crs)
    homes["community_name"] = homes["community_id"].map(comm["community_name"])  # comm: indexed by id
    nodes_wgs84 = net.nodes.to_crs(4326).geometry


    def crossing_near_homes(community_name):
        pts = homes[homes["community_name"] == community_name]
        home = pts.geometry.iloc[int(pts["pop"].to_numpy().argmax())]
        p = nodes_wgs84.iloc[int(net.nodes.distance(home).argmin())]
        return round(p.x, 6), round(p.y, 6)


    made_up = pd.DataFrame(
        [("小橡树托育园", "托育", *crossing_near_homes("Siltasaari")),
         ("和平里老年活动室", "老年活动室", *crossing_near_homes("Kaisaniemi"))],
        columns=["名称", "类别", "经度", "纬度"])
    made_up
    """,
        "made-up",
    ),
    code("""
    def facilities_for(profile):
        osm = lc.facilities_from_osm(OSM, profile)
        extra = lc.load_facilities(made_up, profile, crs="wgs84", source="demo")
        return lc.merge_duplicates(osm, extra)


    builtin_fac = facilities_for(jx)
    custom_fac = facilities_for(custom)
    a_builtin = lc.analyze(net, builtin_fac, comm, jx, demand=demand)
    a_custom = lc.analyze(net, custom_fac, comm, custom, demand=demand)
    a_builtin, a_custom
    """),
    md("""
    全市每类设施的覆盖比例（目标人群中住在标准距离以内的比例）。托育在 1000 m 下覆盖了更多居民；
    助餐点在自定义标准里没有了；老年活动室是新的一类。
    City-wide covered share of each category (the share of target residents within its
    distance). At 1000 m the nursery reaches many more residents; meal aid is gone from the
    custom profile; the activity room is new.
    """),
    code(
        """
    def city(a):
        c = a.categories[a.categories["scope"] == "city"].set_index("category")
        return c[["category_zh", "level", "threshold_m", "facilities", "covered_share"]]


    b, c = city(a_builtin), city(a_custom)
    pd.DataFrame({
        "类别 category": b["category_zh"].combine_first(c["category_zh"]),
        "距离 jiaxing (m)": b["threshold_m"], "距离 my-jiaxing (m)": c["threshold_m"],
        "设施 jiaxing": b["facilities"], "设施 my-jiaxing": c["facilities"],
        "覆盖 jiaxing": b["covered_share"].round(3), "覆盖 my-jiaxing": c["covered_share"].round(3),
    })
    """,
        "compare",
    ),
    md("""
    ## 6. 层级不嵌套 / Levels are not nested

    GB 50180-2018：“上层级配套设施不能覆盖下层级居住区配建的配套设施”。lifecircle 分类别检查：
    15 分钟层级的社区卫生服务中心就在楼下，也不能满足 5 分钟层级的社区卫生服务站需求。

    GB 50180-2018: a higher level's facilities do not cover the facilities a lower level must
    have. lifecircle checks each category on its own: a 15-minute community health *centre*
    next door does not satisfy the 5-minute health *station* need.

    为了看清这一点，假设卫健部门确认这些诊所都是“社区卫生服务中心”（15 分钟层级），没有“服务站”：
    把它们改标为 `health_centre`，再分析一次。
    To see it, suppose the health bureau says these clinics are all community health centres
    (15-minute level) and none is a station: relabel them `health_centre` and analyse again.
    """),
    code(
        """
    is_station = custom_fac["category"] == "health_station"
    centres_only = pd.concat([custom_fac[~is_station & (custom_fac["category"] != "health_centre")],
                              custom_fac[is_station].assign(category="health_centre")])
    centres_only.index = [f"{i}@centre" for i in centres_only.index]
    a_centres = lc.analyze(net, centres_only, comm, custom, demand=demand)
    cov = a_centres.coverage[a_centres.coverage["category"].isin(["health_centre", "health_station"])]
    cov.pivot(index="community_name", columns="category",
              values=["distance_min_m", "threshold_m", "covered_share", "meets_standard"])
    """,
        "non-nested",
    ),
    md("""
    看 `distance_min_m`：有的社区，最近的卫生服务中心离部分居民只有几十米，“服务中心”一项达标；
    但“服务站”一项仍是 0% 覆盖、不达标——上层级的设施不算作下层级的设施。
    （没有居民的两个社区没有需要覆盖的人，两项都算达标。）
    Look at `distance_min_m`: in some communities the nearest health centre is a few dozen
    metres from some residents and the centre category is met, yet the station category has 0%
    coverage and falls short: a facility of a higher level is not counted for a lower one. (The
    two communities without residents have nobody to cover and meet both.)
    """),
    code(
        """
    station = a_centres.categories[(a_centres.categories["scope"] == "city")
                                   & (a_centres.categories["category"] == "health_station")]
    assert float(station["covered_share"].iloc[0]) == 0.0  # not satisfied by the centres
    print("custom.nested_levels =", custom.nested_levels)
    station[["category_zh", "level", "facilities", "covered_share"]]
    """,
        "station",
    ),
]

# ====================================================================================== 04
MONITORING: list[Cell] = [
    md("""
    # 常态化评估 / Monitoring the campaign

    “未来社区”建设是一个循环：评估 → 谋划项目 → 建设 → 再评估 → 按月/按季度报告达标进度，并听取居民意见。
    本笔记本在随包附带的示例上走一遍：项目库里的项目若建成会怎样（情景分析）、记录每次评估、比较两次评估
    （哪些社区改善、为什么）、居民满意度调查、以及可打印的季度报告（HTML 和 Excel）。

    The campaign is a cycle: assess → plan projects → build → assess again → report progress
    month by month, and listen to residents. This notebook runs it on the bundled sample: what
    if the pool's projects were built (scenario), keeping each run, comparing two runs (which
    communities improved, and why), a residents' survey, and the printable quarterly report
    (HTML and Excel). The API and what is measured are described in `docs/monitoring.md`.

    **关于示例数据 / About the sample.** 路网和设施同 `01_quickstart.ipynb`（赫尔辛基市中心，
    外加一份虚构的部门清单）；下面的项目状态、日期和问卷都是为演示编的。
    Network and facilities as in `01_quickstart.ipynb` (central Helsinki plus a made-up bureau
    list); the project statuses, dates and survey below are made up for the demonstration.
    """),
    code(
        """
    import logging
    import tempfile
    from pathlib import Path

    import pandas as pd

    import lifecircle as lc
    from lifecircle.cli import sample_dir

    # <setup logging>
    pd.set_option("display.max_columns", 60)

    DATA = sample_dir()
    OSM = DATA / "helsinki_centre.osm.pbf"
    OUT = Path(tempfile.mkdtemp(prefix="lifecircle-monitoring-"))  # 输出文件夹 / output folder
    POOL = OUT / "补短板项目库.gpkg"                                  # 项目库 / the reserve pool

    net = lc.load_network(OSM)
    profile = lc.load_profile("jiaxing-yilao-yixiao")
    fac = lc.merge_duplicates(
        lc.facilities_from_osm(OSM, profile),
        lc.load_facilities(DATA / "illustrative_bureau_facilities.csv", profile, crs="wgs84"),
    )
    comm = lc.load_communities(DATA / "helsinki_communities.geojson")
    buildings, landuse = lc.communities.buildings_from_osm(OSM)
    demand = lc.demand_points(comm, buildings=buildings, landuse=landuse, grid_m=50,
                              missing_population="zero")
    a = lc.analyze(net, fac, comm, profile, demand=demand)
    a.propose_sites(max_sites=2)  # 建议选址进入项目库 / proposed sites go to the pool
    a
    """,
        "setup",
    ),
    md("""
    ## 1. 项目库 / The reserve pool

    把短板项目写入项目库（GeoPackage，QGIS 可直接打开）。规划人员在库里填写状态（储备/申报/在建/建成/取消）、
    年份、责任单位和备注；再次导出不会覆盖这些内容。这里用代码模拟规划人员的编辑：Siltasaari 社区的项目
    “在建”，其中一个写成了“ 已建成”（多了空格、多了“已”字）——也能识别。

    The shortfall projects go to the pool (a GeoPackage that QGIS opens). Planners fill in the
    status (储备/申报/在建/建成/取消), year, owner and notes there; exporting again never
    overwrites them. Here code plays the planner: Siltasaari's projects are "under construction"
    (在建), one of them typed " 已建成" (a stray space, an extra 已) — read as built all the same.
    """),
    code(
        """
    print(lc.export_pool(a, POOL))
    pool = lc.read_pool(POOL)
    pool.loc[pool["community_name"] == "Siltasaari", "status"] = "在建"
    pool.loc[pool.index[pool["community_name"] == "Siltasaari"][0], "status"] = " 已建成"
    pool[["project_id", "community_name", "category_zh", "location_kind", "status"]]
    """,
        "pool",
    ),
    md("""
    ## 2. 情景分析：如果这些项目建成 / Scenario: if these projects were built

    `a.with_projects(pool)` 取状态为 申报/在建/建成 的项目，当作新设施加入，只对新设施做一次路网搜索，
    得到新的分析结果和对比。结果与把设施加进去从头重算完全一致（见 `tests/test_scenario.py`）。

    `a.with_projects(pool)` takes the projects whose status is declared, under construction or
    built as new facilities, searches the network from them alone, and returns the new analysis
    and the comparison. It equals a full re-analysis with the facilities appended
    (`tests/test_scenario.py`).

    项目库里没有床位、托位数（`capacity` 列）时，按该类现有设施的中位数估算，并有提示；填上更准确。
    `print(sc)` 说的是“所有必配类别都达标”的社区数；`newly_covered` 里的 `communities_meeting_*` 是每一类各自的达标社区数。
    Projects without a capacity (beds, places: the pool's `capacity` column) are given the
    median of their category, with a warning; fill it in for a better answer. `print(sc)` counts
    communities meeting every required category; `communities_meeting_*` in `newly_covered`
    counts them per category.
    """),
    code(
        """
    sc = a.with_projects(pool)
    print(sc)
    sc.newly_covered
    """,
        "scenario",
    ),
    md("""
    哪些社区的服务指数或达标状况变了，哪些类别新达标 / Communities whose index or status changed,
    and the categories they newly meet:
    """),
    code("""
    sc.communities[["community_name", "meets_before", "meets_after", "service_index_before",
                    "service_index_after", "change", "categories_met_zh"]]
    """),
    md("""
    ## 3. 记录每次评估 / Keep each run

    每次评估记在项目库旁的运行记录表里（日期、标准及版本、输入指纹、摘要和对比所需的精简表）。
    情景是预测，不是进展：只记录用真实设施清单做的评估（记录情景会有警告，报告也会标明“情景分析”）。
    这里假设到 12 月底 Siltasaari 的项目都已建成，部门清单里有了它们：用更新后的清单重新评估，
    把原分析记为 9 月底的评估、新的分析记为 12 月底的评估。（演示中用情景里的新设施代替新清单。）

    Each run is kept in the run history beside the pool (date, profile and version, input
    fingerprints, summary, and the slim tables a comparison needs). A scenario is a forecast,
    not progress: record runs made on real facility lists (recording a scenario warns, and its
    report says "scenario"). Here, by the end of December Siltasaari's projects are built and
    the bureau lists have them: the analysis made again on the updated list is the December run,
    the first analysis the September one. (The demo takes the scenario's new facilities for the
    updated list.)
    """),
    code(
        """
    pool.loc[pool["community_name"] == "Siltasaari", "status"] = "建成"   # 已建成 / built
    built = sc.added.assign(source="部门清单 2026-12")                      # 新清单中的这些设施
    dec = lc.analyze(net, pd.concat([fac, built]), comm, profile, demand=demand)
    lc.record_run(a, POOL, run_date="2026-09-30")
    lc.record_run(dec, POOL, run_date="2026-12-31")
    runs = lc.read_runs(POOL)
    runs[["run_id", "run_date", "profile", "share_meeting_standard", "shortfalls", "facilities"]]
    """,
        "runs",
    ),
    md("""
    ## 4. 比较两次评估 / Compare two runs

    逐个社区 × 类别列出改善和退步，并说明原因：新设施开放、设施关闭或搬迁、同类设施增减（供给变化）、
    人口变化、标准变化；以及各街道、区县距目标（60%）还差多少、按此进度哪一年达标。

    Every community × category that improved or worsened, with the cause: a facility opened,
    closed or moved, the category gained or lost other facilities (supply), the population or
    the standard changed; and per street and county, the gap to the target (60%) and the year it
    is reached at this pace.
    """),
    code(
        """
    recs = [lc.read_run(POOL, r) for r in runs["run_id"]]
    cmp = lc.compare(recs[0], recs[1], target_year=2027)
    print(cmp)
    cmp.changes[["community_name", "category", "change", "causes", "reason_zh"]]
    """,
        "compare",
    ),
    code("""
    cmp.by_county[["county_name", "share_before", "share_after", "gap_to_target",
                   "reached_by_year", "on_track"]]
    """),
    md("""
    ## 5. 居民意见 / Residents' voice

    满意度调查（Excel 或表格）：社区名称或代码、样本量、满意度 1–5、各类设施“需要/不需要”或需求排序。
    名称写法不同（大小写、全角空格、“居委会”后缀）也能对上；对不上的行单独列出。带单位的数字（“约120”、
    “80份”、“2分”）照常读取。下面的问卷是编的。

    A satisfaction survey (Excel or a table): community name or code, sample size, satisfaction
    1–5, and per category 需要/不需要 or a demand rank. Names written differently (case,
    full-width spaces, the 居委会 ending) still match; rows that match nothing are listed.
    Numbers with units (约120, 80份, 2分) are read. The survey below is made up.
    """),
    code(
        """
    survey_table = pd.DataFrame({
        "社区名称": ["Kaartinkaupunki", "SILTASAARI ", "Keskusta　", "Kaisaniemi居委会", "Töölö"],
        "样本量": ["约120", "80份", 95, 60, 40],
        "满意度": ["2分", 4.5, 3.8, 4.2, 3.0],
        "托育排序": [1, 2, 1, 3, 1],
        "幼儿园": ["需要", "不需要", "需要", "需要", "需要"],
    })
    survey = lc.load_survey(survey_table, a.communities, profile)
    survey.unmatched
    """,
        "survey",
    ),
    md("""
    与覆盖结果对照，列出需要跟进的不一致：覆盖达标但不满意、未达标却满意、居民需要但未达标……
    Disagreements to follow up: covered but unsatisfied, short but satisfied, wanted and short …
    """),
    code(
        """
    voice = lc.residents_voice(dec, survey)
    voice.follow_up
    """,
        "voice",
    ),
    md("""
    ## 6. 季度报告 / The quarterly report

    一个自包含、可打印、离线可看的 HTML（图表以图片嵌入），和同样内容的 Excel（带原生图表）：
    总体指标、各区县/街道达标比例对比目标、与上期相比的进展和趋势、重点短板社区、数据核查清单、居民意见（`voice=`）、项目库进展。
    `previous=` 可以直接给全部运行记录：本次自己的记录会被识别并排除。

    A self-contained, printable HTML that opens offline (charts as inline images), and the same
    tables in Excel (with native charts): headline figures, the share meeting the standard per
    county and street against the target, progress since the previous run and the trend, the
    top shortfall communities, the data checklist, the residents' voice (`voice=`) and the
    programme status from the pool. `previous=` may be every recorded run: this run's own
    record is recognised and left out.
    """),
    code(
        """
    html = lc.report(dec, previous=recs, path=OUT / "2026年第4季度.html", pool=pool,
                     target_year=2027, voice=voice)
    xlsx = lc.report(dec, previous=recs, path=OUT / "2026年第4季度.xlsx", pool=pool,
                     target_year=2027, voice=voice)
    print("outputs:", OUT)
    for f in sorted(OUT.iterdir()):
        print(f"{f.name:28s} {f.stat().st_size / 1024:6.0f} KB")
    """,
        "report",
    ),
    md("""
    在浏览器中打开 HTML 报告 / Open the HTML report in a browser:
    `import webbrowser; webbrowser.open(html.as_uri())`.
    """),
]

NOTEBOOKS: dict[str, list[Cell]] = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_your_own_city.ipynb": YOUR_CITY,
    "03_custom_standard.ipynb": CUSTOM,
    "04_campaign_monitoring.ipynb": MONITORING,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` without outputs, with stable cell ids."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python"},
    }
    stem = name.split("_", 1)[0]
    for i, (kind, source, tags) in enumerate(NOTEBOOKS[name]):
        cell = (nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell)(
            source
        )
        cell.id = f"nb{stem}-{i:02d}"
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(name: str) -> str:
    """The text of the notebook file ``name``."""
    text = nbformat.writes(build(name))
    return text if text.endswith("\n") else text + "\n"


def main() -> int:
    for name in NOTEBOOKS:
        path = HERE / name
        path.write_text(render(name), encoding="utf-8", newline="\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
