"""The saved map opened in real headless Chromium (chromedriver) in a 1366×768 window: no network,
hostile names shown as text, the analysis' sentences in the popups, one marker per site, data
gaps drawn grey, Chinese text rendered with a CJK font, and a legend that folds and never
overlaps the layer control.

The main test keeps a screenshot (``map.png`` in its tmp dir, named in the test's properties
and in a logged warning) so CI can keep it as an artifact.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import lifecircle as lc
from conftest import need
from lifecircle.analysis import analyze
from lifecircle.outputs import map as mapping
from lifecircle.outputs.map import save_map
from test_map import IMG, OBRIEN, SCRIPT, _iso_frame, case  # noqa: F401 (case: a fixture)
from test_map_results import _river

log = logging.getLogger(__name__)

pytestmark = pytest.mark.browser

WINDOW = (1366, 768)


def _chromium():
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    need(Path(chromium).exists(), "Chromium not installed (Debian package 'chromium')")
    need(Path(driver).exists(), "chromedriver not installed (Debian package 'chromium-driver')")
    return chromium, driver


@pytest.fixture
def browser(tmp_path):
    chromium, driver_path = _chromium()
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    profile = tmp_path / "chrome-profile"
    profile.mkdir()
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    drv = webdriver.Chrome(service=Service(driver_path), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def gaps():
    return _river(False)


def _open(drv, path: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    drv.get_log("browser")
    drv.get_log("performance")  # drop what the start page logged
    drv.get(path.as_uri())
    WebDriverWait(drv, 30).until(
        lambda d: d.execute_script(
            "return typeof L !== 'undefined' && document.querySelectorAll("
            "'.leaflet-control-layers label').length > 0"
        )
    )
    drv.execute_script("window.map = Object.values(window).find(v => v instanceof L.Map);")


def _requests(drv) -> list[str]:
    urls = []
    for e in drv.get_log("performance"):
        msg = json.loads(e["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def _labels(drv) -> list[str]:
    return drv.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".map(l => l.textContent.trim())"
    )


def _switch_on(drv, label_start: str) -> None:
    drv.execute_script(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".filter(l => l.textContent.trim().startsWith(arguments[0]))"
        ".forEach(l => { var i = l.querySelector('input'); if (!i.checked) { i.click(); } })",
        label_start,
    )


_POPUPS = """
    var out = [];
    map.eachLayer(function (l) { if (l.feature && l.getPopup && l.getPopup()) {
        l.openPopup(); var c = l.getPopup().getElement().querySelector('.leaflet-popup-content');
        out.push([c.textContent, c.querySelectorAll('script,img').length]); l.closePopup(); } });
    return out;"""

_CJK = """
    var c = document.createElement('canvas'); c.width = 40; c.height = 40;
    var x = c.getContext('2d');
    function px(ch) { x.clearRect(0, 0, 40, 40); x.font = '32px sans-serif'; x.fillStyle = '#000';
        x.fillText(ch, 2, 34); return Array.from(x.getImageData(0, 0, 40, 40).data).join(','); }
    var a = px('社'), b = px('区'), t = px('\\uE000');
    return [a !== b, a !== t && b !== t, a.split(',').some(function (v) { return v !== '0'; })];"""


def _assert_not_blank(png: Path) -> None:
    from PIL import Image

    with Image.open(png) as im:
        assert im.size[0] == WINDOW[0]
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200  # legend, popup, text: not one flat grey
    assert max(n for n, _ in colours) < 0.95 * sum(n for n, _ in colours)


def _keep_screenshot(drv, path: Path, record_property) -> None:
    """Save the window as ``path`` once any popup has faded in, check it, and name it for CI."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, 10).until(
        lambda d: d.execute_script(
            "return Array.from(document.querySelectorAll('.leaflet-popup'))"
            ".every(p => getComputedStyle(p).opacity === '1');"
        )
    )
    time.sleep(0.3)  # the SVG is redrawn after the popup's pan
    assert drv.save_screenshot(str(path))
    _assert_not_blank(path)
    record_property("screenshot", str(path))
    log.warning("map screenshot kept at %s", path)


def test_offline_map_in_headless_chromium(case, browser, tmp_path, record_property):  # noqa: F811
    from selenium.common.exceptions import NoAlertPresentException

    iso = _iso_frame(case)
    path = save_map(case.map(basemap="none", isochrones=iso), tmp_path / "offline.html")
    _open(browser, path)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    labels = _labels(browser)
    assert labels[0] == "社区设施服务指数" and "短板：托育 & <托儿所> (2)" in labels
    # the browser tab names the map and the standard (the profile's title)
    assert case.profile.title_zh and browser.title == f"生活圈设施短板地图 · {case.profile.title_zh}"
    assert "步行等时圈（5/10/15分钟）" in labels and labels[-1] == "建议选址 (2)"
    # 2 communities + 6 isochrones as SVG paths; 2 facilities + 2 sites (S1, S2) as markers
    n_paths = browser.execute_script(
        "return document.querySelectorAll('.leaflet-pane path').length"
    )
    n_markers = browser.execute_script(
        "return document.querySelectorAll('.leaflet-marker-icon').length"
    )
    assert (n_paths, n_markers) == (8, 4)
    # switch a shortfall layer on: two more (dashed) paths
    _switch_on(browser, "短板：托育")
    n_paths = browser.execute_script(
        "return document.querySelectorAll('.leaflet-pane path').length"
    )
    assert n_paths == 10
    # the hostile names are shown as text, never run
    text = browser.execute_script(_POPUPS)
    joined = " ".join(t for t, _ in text)
    assert SCRIPT in joined and OBRIEN in joined and IMG in joined
    assert all(n == 0 for _, n in text)
    # the popup of C1, as a planner reads it: the analysis' own sentences, per category
    c1s = [t for t, _ in text if t.startswith(SCRIPT)]
    assert len(c1s) == 2 and c1s[0] == c1s[1]  # index layer and the nursery shortfall layer
    c1 = c1s[0]
    assert "南湖区 · 建设街道" in c1 and "常住人口1,000" in c1 and "设施服务指数16.7" in c1
    names = {"health_station": "社区卫生服务站", "nursery": "托育 & <托儿所>",
             "elderly_daycare": "老年人日间照料中心"}  # fmt: skip
    rows = case.shortfalls[case.shortfalls["community_name"] == SCRIPT]
    assert len(rows) == 3
    for r in rows.itertuples():
        assert f"● {names[r.category]}{r.reason_zh}→ {r.answered_by_zh}" in c1
    assert (
        "短板● " in c1
        and "达标设施类别最近距离(米)标准距离(米)● 社区卫生服务中心65卫生服务中心1,000" in c1
    )
    tips = browser.execute_script("""
        var out = []; map.eachLayer(function (l) { if (l.feature && l.getTooltip && l.getTooltip()) {
            l.openTooltip(); out.push(l.getTooltip().getElement().textContent); l.closeTooltip(); } });
        return out;""")
    assert f"{SCRIPT} · 设施服务指数 16.7 · 短板数 3" in tips and f"{IMG} · 托育 & <托儿所>" in tips
    assert "建议选址 S1 · 社区卫生服务站、托育 & <托儿所>、老年人日间照料中心" in tips
    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert.text
    # no network at all: only the file itself and data: URIs
    urls = [u for u in _requests(browser) if not u.startswith(("chrome:", "chrome-"))]
    assert urls and all(u.startswith(("file:", "data:")) for u in urls), urls
    # Chinese is drawn with a CJK font, not as boxes (tofu)
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    need(bool(fonts.stdout.strip()), "no CJK font installed (Debian package fonts-noto-cjk)")
    assert browser.execute_script(_CJK) == [True, True, True]
    # the page as a planner sees it (fresh, as opened), C1's popup open; kept for CI
    _open(browser, path)
    _switch_on(browser, "短板：托育")
    browser.execute_script(
        "map.eachLayer(function (l) { if (l.feature && !window.lcShown && l.feature.properties.d"
        " && l.feature.properties.s.length === 3) { window.lcShown = 1; l.openPopup(); } });"
    )
    _keep_screenshot(browser, tmp_path / "map.png", record_property)


def test_offline_map_with_osm_tiles_requests_only_tiles(case, browser, tmp_path):  # noqa: F811
    """With a basemap, the only requests an offline page makes are tiles (which fail here: no
    network); those failures are the only console errors, and the data layers still render."""
    path = save_map(case.map(basemap="osm"), tmp_path / "osm.html", offline=True)
    _open(browser, path)
    time.sleep(1.0)
    urls = [
        u for u in _requests(browser) if not u.startswith(("chrome:", "chrome-", "file:", "data:"))
    ]
    assert urls and all(u.startswith("https://tile.openstreetmap.org/") for u in urls), urls
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert all("tile.openstreetmap.org" in e["message"] for e in errors), errors
    n_paths = browser.execute_script(
        "return document.querySelectorAll('.leaflet-overlay-pane path').length"
    )
    assert n_paths == 2


def test_site_markers_one_per_site_id(case, browser, tmp_path):  # noqa: F811
    _open(browser, save_map(case.map(basemap="none"), tmp_path / "sites.html"))
    markers = browser.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-marker-pane .lc-site'))"
        ".map(m => m.textContent)"
    )
    assert len(markers) == case.sites["site_id"].nunique() == 2
    assert sorted(markers) == ["★卫托照", "★卫照"]  # S1: three categories, S2: two


def test_data_gaps_are_grey_and_say_so(gaps, browser, tmp_path):
    _open(browser, save_map(gaps.map(basemap="none"), tmp_path / "gaps.html"))
    labels = _labels(browser)
    assert "缺数据：社区卫生服务站 (2)" in labels
    assert not any(lab.startswith("短板：社区卫生服务站") for lab in labels)
    _switch_on(browser, "缺数据：")
    strokes = browser.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-overlay-pane path'))"
        ".map(p => [p.getAttribute('stroke'), p.getAttribute('stroke-dasharray')])"
    )
    assert strokes.count([mapping.NO_DATA_LINE, "1 5"]) == 4  # 2 communities × 2 categories
    hint = gaps.data_gaps.set_index("category").loc["health_station", "source_hint_zh"]
    popups = [t for t, _ in browser.execute_script(_POPUPS) if "常住人口" in t]
    assert len(popups) == 6  # 2 communities in the index layer and in the 2 no-data layers
    for popup in popups:
        assert f"○ 社区卫生服务站 — 无数据，未评估{hint}" in popup
        shortfalls = popup.split("缺数据（")[0]
        assert "社区卫生服务站" not in shortfalls and "老年人日间照料中心" not in shortfalls
    legend = browser.execute_script("return document.querySelector('.lc-legend').innerText")
    assert f"社区卫生服务站：无数据，未评估\n{hint}" in legend


def _rect(drv, selector: str) -> dict:
    return drv.execute_script(
        "var r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};",
        selector,
    )


def _settled_rect(drv, selector: str, timeout_s: float = 10.0) -> dict:
    """The bounding box of ``selector`` once it stays the same for 0.3 s."""
    last, t0 = None, time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        r = _rect(drv, selector)
        if r == last:
            return r
        last = r
        time.sleep(0.3)
    raise AssertionError(f"{selector} still moving after {timeout_s} s")


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and (b["top"] < a["bottom"])
    )


@pytest.mark.parametrize("profile", ["test-map", "gb50180-2018"])
def test_legend_folds_and_never_overlaps_the_layer_control(case, browser, tmp_path, profile):  # noqa: F811
    """In a 1366×768 window, the legend (folded or not) and the layer control (expanded) do not
    intersect: for the river case and for gb50180-2018's 38 categories (a long layer list and a
    long legend: most categories have no data in a 60-community city)."""
    if profile == "test-map":
        a = case
    else:
        prof = lc.load_profile(profile)
        c = lc.synthetic.city(60, prof)
        a = analyze(c.network, c.facilities, c.communities, prof)
        a.propose_sites(max_sites=2)
    _open(browser, save_map(a.map(basemap="none"), tmp_path / "legend.html"))
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    # hover over the layer control, as a planner does: a collapsed control expands
    layers = browser.find_element(By.CSS_SELECTOR, ".leaflet-control-layers")
    ActionChains(browser).move_to_element(layers).perform()
    assert "leaflet-control-layers-expanded" in layers.get_attribute("class")
    control = _rect(browser, ".leaflet-control-layers")
    width, height = browser.execute_script("return [window.innerWidth, window.innerHeight]")
    assert width == WINDOW[0] and height > 500
    assert control["bottom"] - control["top"] > 150  # expanded, not the folded icon
    unfolded = _rect(browser, ".lc-legend")
    assert unfolded["bottom"] - unfolded["top"] > 150 and not _overlap(unfolded, control)
    for r in (control, unfolded):  # both inside the window
        assert r["left"] >= 0 and r["top"] >= 0 and r["right"] <= width and r["bottom"] <= height
    browser.execute_script("document.querySelector('.lc-fold').click()")
    folded = _rect(browser, ".lc-legend")
    assert _rect(browser, ".leaflet-control-layers") == control  # still expanded
    assert folded["bottom"] - folded["top"] < 40 and not _overlap(folded, control)
    assert browser.execute_script(
        "return [document.querySelector('.lc-body').offsetHeight,"
        " document.querySelector('.lc-fold').getAttribute('aria-expanded'),"
        " document.querySelector('.lc-fold').textContent]"
    ) == [0, "false", "图例"]
    browser.execute_script("document.querySelector('.lc-fold').click()")
    assert _rect(browser, ".lc-legend") == unfolded
    # a popup opened beside the legend pans clear of it (controls are drawn over popups)
    browser.execute_script("""
        var best = null;
        map.eachLayer(function (l) { if (l.feature && l.feature.properties.d && l.getBounds) {
            var c = l.getBounds().getCenter();
            if (!best || c.lng - c.lat < best[0]) { best = [c.lng - c.lat, l]; } } });
        map.panTo(best[1].getBounds().getCenter(), {animate: false});
        // the community 60 px from the left edge, 120 px from the bottom: behind the legend
        map.panBy([window.innerWidth / 2 - 60, -(window.innerHeight / 2 - 120)], {animate: false});
        best[1].openPopup();""")
    popup = _settled_rect(browser, ".leaflet-popup")  # once the animated pan is over
    assert popup["bottom"] - popup["top"] > 100 and not _overlap(popup, unfolded)
