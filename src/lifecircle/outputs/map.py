"""Interactive shortfall map: one HTML file planners can open, share and trust.

:func:`shortfall_map` draws an :class:`~lifecircle.analysis.Analysis` on a folium (Leaflet) map,
every layer switchable in the layer control:

* communities coloured by the facility-service index (0–100, five classes, with a legend);
* per category, the communities falling short of it — their rows of ``Analysis.shortfalls``
  (dashed outline in the category colour);
* per category without data somewhere, the communities not assessed for it (``data_status``
  ``no_data``: grey dotted outline, never drawn as shortfalls; the legend names the source to add);
* facilities per category (a round badge with the category's own glyph, one colour per category);
* 5/10/15-minute walking isochrones of selected communities;
* the area covered by each category's facilities;
* proposed sites (after :meth:`Analysis.propose_sites`), one marker per ``site_id``;
* a year-by-year programme (``programme=``, from :func:`lifecircle.plan_programme`): one badge
  per project with its category's glyph, coloured by its planned year (legend: the years).

Community popups list, per category, the analysis' own sentences: why it falls short
(``reason_*``) and what answers it (``answered_by_*``). Tooltips and popups are in Chinese or
English; every string that comes from the user's data
(names of communities, streets and facilities, category names) is HTML-escaped in Python before it
reaches the page, and the page's data is embedded as JSON that cannot close its ``<script>``.

Only Leaflet is loaded (folium's jQuery, Bootstrap and Font Awesome are not needed): from jsDelivr
with a Subresource-Integrity hash, or, with ``offline=True``, inlined from the copy vendored in
``lifecircle/outputs/static`` so the file needs no CDN. Geometry is simplified in a metric CRS and
coordinates are rounded to 5 decimals (about 1 m) to keep the file small; element ids are
deterministic, so the same analysis gives the same HTML.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from .. import settings
from .._errors import InputError
from .._files import atomic_write
from ..analysis.datastatus import NO_DATA
from ..sources.coords import wgs84_to_gcj02
from .labels import COLUMNS
from .programme import programme_header

if TYPE_CHECKING:
    from ..analysis import Analysis
    from ..analysis.programme import Programme

log = logging.getLogger(__name__)

__all__ = [
    "BASEMAPS",
    "INDEX_BREAKS",
    "INDEX_COLORS",
    "category_glyphs",
    "make_offline",
    "programme_colors",
    "save_map",
    "shortfall_map",
]

#: Version of the vendored Leaflet (``lifecircle/outputs/static/leaflet``); online maps load the same
#: version from jsDelivr, pinned by a Subresource-Integrity hash of the vendored file.
LEAFLET_VERSION = "1.9.4"
_CDN = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/"

#: Basemaps: ``"osm"`` OpenStreetMap; ``"tianditu"`` 天地图 (vector + labels, needs a key);
#: ``"amap"`` 高德 (GCJ-02: the overlays are shifted to match); ``"none"`` no tiles.
BASEMAPS = ("osm", "tianditu", "amap", "none")

#: Class breaks and colours (ColorBrewer RdYlGn, 5 classes) of the service index.
INDEX_BREAKS = (20.0, 40.0, 60.0, 80.0)
INDEX_COLORS = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
NO_DATA_COLOR = "#bdbdbd"
#: Outline of communities without data for a category (never the red of shortfalls).
NO_DATA_LINE = "#636363"

#: One colour per category, in the profile's category order (cycled after 12).
CATEGORY_COLORS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#393b79",
    "#637939",
)
#: Isochrone colours, shortest level first.
#: Colours of the programme's years, earliest first (viridis; years beyond ten repeat the last).
PROGRAMME_COLORS = (
    "#440154", "#482878", "#3e4989", "#31688e", "#26828e",
    "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725",
)  # fmt: skip
ISO_COLORS = ("#08519c", "#3182bd", "#6baed6", "#9ecae1", "#c6dbef")

#: Simplification tolerance (metres) of polygons drawn on the map.
DEFAULT_SIMPLIFY_M = 5.0
#: Features drawn per layer at most; beyond it a layer keeps its most relevant features and says
#: so in its name (and a warning is logged).
DEFAULT_MAX_FEATURES = 5000
#: Facility layers start switched on when the map has at most this many facilities (more clutter a
#: city-wide view; they are one click away in the layer control).
SHOW_FACILITIES_MAX = 300
#: Decimals of lon/lat in the page (5 ≈ 1 m).
COORD_DECIMALS = 5

#: Glyphs of facility badges in Chinese maps: every keyword found in the category's short name
#: (without its parenthesised part) offers its glyphs, in this order; see :func:`category_glyphs`.
_GLYPHS_ZH = (
    ("卫生服务中心", "医"), ("社区医院", "医"), ("医院", "医"), ("卫生服务站", "卫"), ("门诊", "诊"),
    ("养护", "护"), ("护理", "护"), ("养老", "养"), ("为老服务", "老"), ("日间照料", "照"),
    ("托老", "照"), ("助餐", "餐"), ("食堂", "餐食"), ("托育", "托"), ("托儿", "托"),
    ("幼儿园", "幼"), ("活动场地", "活"), ("室外综合健身", "健"), ("健身器械", "器"),
    ("健身房", "房"), ("健身", "健"), ("体育", "体"), ("大型", "大"), ("大、中型", "大"),
    ("中型", "运"), ("小型", "球"), ("游泳", "游"), ("小学", "小"), ("初中", "中"),
    ("社区学校", "学"), ("老年大学", "学"), ("文化活动中心", "文"), ("文化活动站", "艺"),
    ("菜市场", "菜"), ("生鲜", "菜"), ("公交", "公交车"), ("厕所", "厕"), ("派出所", "警"),
    ("司法", "司"), ("街道办事处", "街"), ("社区服务中心", "社"), ("社区服务站", "居"),
    ("居委会", "居"), ("银行", "银"), ("邮政", "邮"), ("快件", "快"), ("商场", "商"),
    ("商业网点", "店"), ("便利店", "便"), ("超市", "超"), ("早餐", "早"), ("物业", "物"),
    ("垃圾", "垃"),
)  # fmt: skip
#: Characters that say little about a category: tried last for Chinese glyphs.
_GENERIC_ZH = frozenset("社区设施服务机构站点所中心场地的和与及或等含型多功能、/ ")
#: Words English glyphs skip.
_STOP_EN = frozenset(
    "community sub district subdistrict service services the and or of for incl with ages a an "
    "to etc s".split()
)

_TEXT = {
    "zh": {
        "communities": "社区设施服务指数",
        "shortfall": "短板：{}",
        "no_data_layer": "缺数据：{}",
        "facilities": "设施：{}",
        "isochrones": "步行等时圈（{}分钟）",
        "isochrones_m": "步行范围（{} 米）",
        "covered": "覆盖范围：{}",
        "covered_all": "设施覆盖范围",
        "sites": "建议选址",
        "capped": "（显示 {:,} / 共 {:,}）",
        "estimated": "（估算）",
        "none_reachable": "步行可达范围内无",
        "all_met": "各类设施均达标",
        "no_data": "无数据",
        "not_assessed": "无数据，未评估",
        "gaps_title": "缺数据（无数据，未评估，不计为短板）",
        "gap_some": "{:,} 个社区无数据，未评估",
        "short_title": "短板",
        "met_title": "达标",
        "legend": "图例",
        "index_title": "设施服务指数（0–100）",
        "shortfall_note": "虚线框：该类设施短板社区",
        "no_data_note": "灰色点线框：该类设施缺数据的社区（未评估）",
        "facility": "设施",
        "site": "建议选址 {}",
        "site_note": "同一地点的多类设施合为一个标记",
        "site_rank": "第 {} 个",
        "new_cov": "可新覆盖 {:,.0f} 人",
        "minutes": "{}分钟",
        "run": "运行 {} · {}",
        "profile": "标准 {}",
        "share": "达标社区 {:.0%}（目标 {:.0%}）",
        "page_title": "生活圈设施短板地图 · {}",
        "capacity": "容量",
        "list_sep": "、",
        "programme": "建设时序",
        "prog_year": "{}年",
        "prog_count": "{} 个项目",
    },
    "en": {
        "communities": "Community service index",
        "shortfall": "Shortfall: {}",
        "no_data_layer": "No data: {}",
        "facilities": "Facilities: {}",
        "isochrones": "Walking isochrones ({} min)",
        "isochrones_m": "Walking reach ({} m)",
        "covered": "Covered: {}",
        "covered_all": "Covered area",
        "sites": "Proposed sites",
        "capped": " (showing {:,} of {:,})",
        "estimated": " (estimated)",
        "none_reachable": "none reachable",
        "all_met": "every category meets the standard",
        "no_data": "no data",
        "not_assessed": "no data, not assessed",
        "gaps_title": "No data (not assessed, not counted as shortfalls)",
        "gap_some": "{:,} communities without data, not assessed",
        "short_title": "Shortfalls",
        "met_title": "Meeting the standard",
        "legend": "Legend",
        "index_title": "Service index (0–100)",
        "shortfall_note": "dashed: communities short of it",
        "no_data_note": "grey dotted: communities without data for it (not assessed)",
        "facility": "Facility",
        "site": "Proposed site {}",
        "site_note": "several categories at one spot share one marker",
        "site_rank": "#{}",
        "new_cov": "would newly cover {:,.0f} people",
        "minutes": "{} min",
        "run": "run {} · {}",
        "profile": "profile {}",
        "share": "communities meeting the standard {:.0%} (target {:.0%})",
        "page_title": "Life-circle service gaps · {}",
        "capacity": "capacity",
        "list_sep": ", ",
        "programme": "Programme",
        "prog_year": "{}",
        "prog_count": "{} projects",
    },
}


# ---------------------------------------------------------------------- small helpers
def _e(value: Any) -> str:
    """HTML-escape a user-provided value ('' for missing values)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return html.escape(str(value), quote=True)


def _js(obj: Any) -> str:
    """JSON for embedding in a ``<script>`` element: compact and UTF-8.

    Inside a script element only ``</`` (which could close it) and ``<!--`` (which changes how
    the parser looks for the end) matter: they become ``<\\/`` and ``\\u003c!--``, the same
    strings to JavaScript. U+2028/9 are escaped for older JavaScript engines.
    """
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        s.replace("</", "<\\/")
        .replace("<!", "\\u003c!")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _label(col: str, lang: str) -> str:
    return COLUMNS[col][0 if lang == "zh" else 1]


def _short(name: str) -> str:
    """Category name without its parenthesised part: 托育机构（托儿所、托育点） → 托育机构."""
    out = re.split(r"[（(]", str(name), maxsplit=1)[0].strip(" /")
    return out or str(name)


def _num(v: Any) -> Any:
    """12.0 → 12 for display; other values unchanged."""
    if isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer():
        return int(v)
    return v


def _fmt_m(v: Any) -> str:
    v = float(v)
    return f"{v:,.0f}" if math.isfinite(v) else ""


def index_class(values: Any) -> np.ndarray:
    """Class of the service index: 0 (< 20) … 4 (≥ 80); 5 where missing."""
    v = np.asarray(values, dtype=float)
    k = np.searchsorted(np.asarray(INDEX_BREAKS), v, side="right")
    return np.where(np.isfinite(v), k, len(INDEX_COLORS))


def _as_list(x: Any) -> list[Any] | None:
    if x is None:
        return None
    if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        return [x]
    return list(x)


# ---------------------------------------------------------------------- assets
@cache
def _asset(rel: str) -> bytes:
    return resources.files("lifecircle").joinpath("outputs", "static", *rel.split("/")).read_bytes()


def _sri(rel: str) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(_asset(rel)).digest()).decode()


def _data_uri(rel: str) -> str:
    return "data:image/png;base64," + base64.b64encode(_asset(rel)).decode()


@cache
def _inline_head() -> str:
    """Leaflet's CSS and JS inlined; CSS images and the default marker icon as data URIs."""
    css = _asset("leaflet/leaflet.css").decode("utf-8")
    css = re.sub(
        r"url\(images/([\w.-]+\.png)\)",
        lambda m: f"url({_data_uri('leaflet/images/' + m.group(1))})",
        css,
    )
    js = _asset("leaflet/leaflet.js").decode("utf-8")
    js = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", js)  # no source-map fetch from devtools
    icons = {
        k: _data_uri(f"leaflet/images/{v}")
        for k, v in (
            ("iconUrl", "marker-icon.png"),
            ("iconRetinaUrl", "marker-icon-2x.png"),
            ("shadowUrl", "marker-shadow.png"),
        )
    }
    fix = "L.Icon.Default.imagePath='';L.Icon.Default.mergeOptions(" + _js(icons) + ");"
    # a closing tag inside would end the inlined element early (not so in Leaflet 1.9.4)
    for text, what in ((css, "leaflet.css"), (js, "leaflet.js")):
        if re.search(r"</(script|style)", text, re.IGNORECASE):
            raise RuntimeError(f"vendored {what} contains a closing tag; it cannot be inlined")
    return f"<style>{css}</style>\n<script>{js}</script>\n<script>{fix}</script>"


def _online_head() -> str:
    return (
        f'<link rel="stylesheet" href="{_CDN}leaflet.css" integrity="{_sri("leaflet/leaflet.css")}" '
        f'crossorigin="anonymous"/>\n'
        f'<script src="{_CDN}leaflet.js" integrity="{_sri("leaflet/leaflet.js")}" '
        f'crossorigin="anonymous"></script>'
    )


_CSS = """<style>
.lc-ico span{display:block;box-sizing:border-box;width:22px;height:22px;border-radius:50%;
 border:2px solid #fff;box-shadow:0 0 3px rgba(0,0,0,.6);color:#fff;font:bold 12px/18px sans-serif;
 text-align:center;text-shadow:0 0 2px #000;white-space:nowrap;overflow:hidden}
.lc-ico span.lc-g2{font-size:9px;letter-spacing:-.5px}.lc-prog span{border-radius:4px;border-color:#000}
.lc-site>span{display:flex;align-items:center;gap:1px;width:auto;height:24px;border-radius:3px;
 border:2px solid #000;background:#fff;color:#000;text-shadow:none;padding:0 2px;font-size:14px;
 line-height:20px;overflow:visible}
.lc-site b{display:inline-block;min-width:16px;height:16px;border-radius:50%;color:#fff;
 font:bold 10px/16px sans-serif;text-align:center;text-shadow:0 0 2px #000;padding:0 1px;
 box-sizing:border-box}
.lc-p{font:12px/1.45 sans-serif;overflow-wrap:anywhere}.lc-p table{border-collapse:collapse;margin-top:3px}
.lc-p th{text-align:left;font-weight:normal;color:#555;padding:0 8px 0 0;vertical-align:top}
.lc-p td{padding:0 6px 0 0;vertical-align:top}.lc-p small{color:#666}
.lc-p h4{margin:6px 0 2px;font-size:12px;border-bottom:1px solid #ddd}
.lc-p .lc-c{margin:2px 0 4px}.lc-p .n b{color:#b2182b}.lc-p .g b{color:#636363}
.lc-legend{background:rgba(255,255,255,.93);padding:4px 9px 6px;font:12px/1.55 sans-serif;
 max-height:55vh;overflow:hidden auto;overflow-wrap:anywhere;box-shadow:0 1px 5px rgba(0,0,0,.4);
 border-radius:5px;max-width:270px}
.lc-legend .lc-fold{font:bold 12px/1.6 sans-serif;border:0;background:none;padding:0;cursor:pointer;
 width:100%;text-align:left}
.lc-legend .lc-fold::after{content:" \\25BE"}.lc-legend.lc-folded .lc-fold::after{content:" \\25B8"}
.lc-legend.lc-folded .lc-body{display:none}.lc-legend b{display:block;margin-top:4px}
.lc-legend i{display:inline-block;box-sizing:border-box;width:14px;height:12px;margin-right:5px;
 vertical-align:-1px;border:1px solid #777}
.lc-legend .lc-ico{display:inline-block;vertical-align:middle;margin-right:4px}
.lc-legend .lc-ico span{width:18px;height:18px;font-size:10px;line-height:14px}
.lc-legend .lc-site>span{width:auto;height:20px;font-size:12px;line-height:16px}
.lc-legend small{color:#555;display:block;margin-top:2px}.lc-legend .lc-na{color:#636363}
</style>"""

# Popups of communities and facilities are assembled in the page from compact properties (every
# string in them was HTML-escaped in Python); that keeps large cities' files about half as big.
# A community's popup lists its shortfalls with the analysis' own sentences (reason and the project
# or site that answers it), the categories without data, then the categories it meets.
_JS = """<script>
function lcEach(f,l){var p=f.properties;if(p.t){l.bindTooltip(p.t,{sticky:true});}
if(p.p){l.bindPopup(p.p,{maxWidth:400,maxHeight:360});}}
function lcText(M,v){if(typeof v==='string'){return v;}var t=M.T[v[0]].split('\\u0001'),h=t[0];
for(var i=1;i<t.length;i++){h+=v[i]+t[i];}return h;}
function lcCommPopup(M,p){var L=M.L,sh='',gp='',ok='';
for(var j=0;j<p.d.length;j++){var r=p.d[j];if(r===null){continue;}
if(r===2){gp+='<div class="lc-c g"><b><i>\\u25CB</i> '+M.n[j]+'</b> \\u2014 '+M.na+
(M.h[j]?'<br><small>'+M.h[j]+'</small>':'')+'</div>';continue;}
var dot='<i style="color:'+M.c[j]+'">\\u25CF</i> ';
if(r[2]===0){sh+='<div class="lc-c n"><b>'+dot+M.n[j]+'</b><br>'+lcText(M,r[3])+
(r[4]?'<br><small>\\u2192 '+lcText(M,r[4])+'</small>':'')+'</div>';continue;}
ok+='<tr><td>'+dot+M.n[j]+'</td><td>'+(r[0]||M.none)+(r[1]?'<br><small>'+r[1]+'</small>':'')+
'</td><td>'+M.thr[j]+'</td></tr>';}
var h='<div class="lc-p"><b>'+p.n+'</b>'+(p.a?'<br><small>'+p.a+'</small>':'')+
'<table><tr><th>'+L[0]+'</th><td>'+p.pop+'</td></tr><tr><th>'+L[1]+'</th><td>'+p.i+
'</td></tr><tr><th>'+L[2]+'</th><td>'+p.s.length+'</td></tr>'+
(p.g.length?'<tr><th>'+M.na+'</th><td>'+p.g.length+'</td></tr>':'')+'</table>';
if(sh){h+='<h4>'+M.ts+'</h4>'+sh;}if(gp){h+='<h4>'+M.tg+'</h4>'+gp;}
if(ok){h+='<h4>'+M.tm+'</h4><table><tr><th>'+L[3]+'</th><th>'+L[4]+'</th><th>'+L[5]+'</th></tr>'+
ok+'</table>';}if(!sh&&!gp){h+='<div>'+M.ok+'</div>';}return h+'</div>';}
function lcComm(M){return function(f,l){var p=f.properties,L=M.L;
l.bindTooltip('<b>'+p.n+'</b> \\u00B7 '+L[1]+' '+p.i+(p.s.length?' \\u00B7 '+L[2]+' '+p.s.length:'')+
(p.g.length?' \\u00B7 '+M.na+' '+p.g.length:''),{sticky:true});
l.bindPopup(function(){return lcCommPopup(M,p);},{maxWidth:400,maxHeight:360});};}
function lcFac(M){return function(f,l){var p=f.properties;l.bindTooltip(p.n+' \\u00B7 '+M.cat,{sticky:true});
l.bindPopup('<div class="lc-p"><b>'+p.n+'</b><br>'+M.cat+(p.a?'<br><small>'+p.a+'</small>':'')+
(p.c?'<br>'+M.capl+': '+p.c:'')+'<br><small>'+M.id+': '+p.id+'</small></div>',{maxWidth:380});};}
function lcIcon(g,c,cls){return L.divIcon({className:'lc-ico '+(cls||''),
html:'<span'+(g.length>1?' class="lc-g2"':'')+' style="background:'+c+'">'+g+'</span>',
iconSize:[22,22],iconAnchor:[11,11],popupAnchor:[0,-11],tooltipAnchor:[11,0]});}
function lcSite(p){var h='\\u2605',w=18+17*p.g.length;
for(var i=0;i<p.g.length;i++){h+='<b style="background:'+p.c[i]+'">'+p.g[i]+'</b>';}
return L.divIcon({className:'lc-ico lc-site',html:'<span>'+h+'</span>',iconSize:[w,24],
iconAnchor:[w/2,12],popupAnchor:[0,-12],tooltipAnchor:[w/2,0]});}
function lcFold(d){var b=d.querySelector('.lc-fold');
function pad(){L.Popup.prototype.options.autoPanPaddingTopLeft=L.point(d.offsetWidth+15,10);}
L.DomEvent.on(b,'click',function(){var f=d.classList.toggle('lc-folded');
b.setAttribute('aria-expanded',f?'false':'true');pad();});setTimeout(pad,0);}
</script>"""


class _Assets(MacroElement):
    """Leaflet (online with SRI, or inlined), the map's CSS and its JS helpers, in the head."""

    _template = Template("""
        {% macro header(this, kwargs) %}{{ this.head() }}{% endmacro %}
    """)

    def __init__(self, offline: bool) -> None:
        super().__init__()
        self._name = "LcAssets"
        self.offline = bool(offline)

    def head(self) -> str:
        return (_inline_head() if self.offline else _online_head()) + "\n" + _CSS + "\n" + _JS


class _Panes(MacroElement):
    """Map panes (covered areas under the communities, isochrones over them) and a metric scale."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {% for name, z in this.panes %}{{ this._parent.get_name()
        }}.createPane({{ name|tojson }}).style.zIndex = {{ z }};
        {% endfor %}L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, panes: list[tuple[str, int]]) -> None:
        super().__init__()
        self._name = "LcPanes"
        self.panes = panes


class _Data(MacroElement):
    """A GeoJSON FeatureCollection held once in the page (shared by several layers)."""

    _template = Template("""
        {% macro script(this, kwargs) %}var {{ this.get_name() }} = {{ this.text }};
        {% endmacro %}
    """)

    def __init__(self, features: list[str], meta: dict[str, Any] | None = None) -> None:
        super().__init__()
        self._name = "LcData"
        self.meta = meta
        head = '{"type":"FeatureCollection",' + (f'"lc":{_js(meta)},' if meta is not None else "")
        self.text = head + '"features":[' + ",".join(features) + "]}"


class _GeoLayer(MacroElement):
    """``L.geoJSON`` of a :class:`_Data`, optionally filtered, added to its parent feature group."""

    _template = Template("""
        {% macro script(this, kwargs) %}var {{ this.get_name() }} = L.geoJSON({{ this.data.get_name() }}, {
            {%- if this.filter %}filter: {{ this.filter }},{% endif %}
            {%- if this.style %}style: {{ this.style }},{% endif %}
            {%- if this.point %}pointToLayer: {{ this.point }},{% endif %}
            {%- if this.pane %}pane: {{ this.pane|tojson }},{% endif %}
            onEachFeature: {{ this.each_js() }}}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(
        self,
        data: _Data,
        *,
        style: str = "",
        point: str = "",
        filter: str = "",
        pane: str = "",
        kind: str = "",
        each: str = "",
    ) -> None:
        super().__init__()
        self._name = "LcLayer"
        self.data = data
        self.each = each
        self.style = style
        self.point = point
        self.filter = filter
        self.pane = pane
        self.kind = kind

    def each_js(self) -> str:
        """``onEachFeature``: pre-built tooltips/popups, or a builder fed the data's meta."""
        return f"{self.each}({self.data.get_name()}.lc)" if self.each else "lcEach"


class _Legend(MacroElement):
    """The legend in the bottom-left corner (the layer control is top right, so the two never
    overlap), folded and unfolded by the button in its title. Popups pan clear of its width
    (controls are drawn over popups)."""

    _template = Template("""
        {% macro script(this, kwargs) %}var {{ this.get_name() }} = L.control({position: "bottomleft"});
        {{ this.get_name() }}.onAdd = function () {
            var d = L.DomUtil.create("div", "lc-legend");
            d.innerHTML = {{ this.html_js }};
            L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);
            lcFold(d);
            return d;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, html_text: str) -> None:
        super().__init__()
        self._name = "LcLegend"
        self.html = html_text
        self.html_js = _js(html_text)


# ---------------------------------------------------------------------- geometry
class _Geo:
    """Turns frames into display GeoJSON: simplify (metric), WGS84, GCJ-02 shift, round."""

    def __init__(self, metric_crs: Any, simplify_m: float, gcj02: bool) -> None:
        self.metric = metric_crs
        self.simplify_m = float(simplify_m)
        self.gcj02 = gcj02

    def lonlat(self, gdf: gpd.GeoDataFrame, simplify: bool = True) -> np.ndarray:
        if gdf.crs is None:
            raise InputError("a layer for the map has no CRS; set it (e.g. gdf.set_crs(4326))")
        geoms = gdf.geometry.values
        if simplify and self.simplify_m > 0 and len(gdf):
            m = gdf.geometry.to_crs(self.metric).values
            m = shapely.simplify(
                np.asarray(m, dtype=object), self.simplify_m, preserve_topology=True
            )
            geoms = gpd.GeoSeries(m, crs=self.metric).to_crs(4326).values
        elif gdf.crs is not None and not gdf.crs.equals(4326):
            geoms = gdf.geometry.to_crs(4326).values
        g = np.asarray(geoms, dtype=object)
        if self.gcj02:

            def shift(c: np.ndarray) -> np.ndarray:
                x, y = wgs84_to_gcj02(c[:, 0], c[:, 1])
                return np.column_stack([x, y])

            g = shapely.transform(g, shift)
        return shapely.transform(g, lambda c: np.round(c, COORD_DECIMALS))

    @staticmethod
    def features(geoms: np.ndarray, props: list[dict[str, Any]]) -> list[str]:
        gj = shapely.to_geojson(geoms)
        return [
            '{"type":"Feature","geometry":' + g + ',"properties":' + _js(p) + "}"
            for g, p in zip(gj, props, strict=True)
        ]


# ---------------------------------------------------------------------- the map
def shortfall_map(
    analysis: Analysis,
    *,
    categories: Sequence[str] | None = None,
    communities: Sequence[str] | None = None,
    isochrones: gpd.GeoDataFrame | None = None,
    covered: gpd.GeoDataFrame | bool | None = None,
    basemap: str = "osm",
    tianditu_key: str | None = None,
    lang: str | None = None,
    offline: bool = True,
    county: str | Sequence[str] | None = None,
    street: str | Sequence[str] | None = None,
    simplify_m: float = DEFAULT_SIMPLIFY_M,
    max_features: int = DEFAULT_MAX_FEATURES,
    programme: Programme | None = None,
) -> folium.Map:
    """Interactive map of an analysis: service index, shortfalls, facilities, isochrones, sites.

    Parameters
    ----------
    analysis : the result of :func:`lifecircle.analyze`.
    categories : category ids to draw (default: all the analysis covered).
    communities : community ids whose 5/10/15-minute walking isochrones are computed
        (:meth:`Analysis.isochrones`) and drawn; the levels follow the analysis (its walking
        speed, or the profile's level distances, e.g. 300/500/1000 m).
    isochrones : precomputed isochrones instead (GeoDataFrame with ``walk_min`` and/or
        ``distance_m``, optionally ``origin`` = community id), e.g. from
        :func:`lifecircle.isochrones`.
    covered : precomputed covered areas (GeoDataFrame, optionally with ``category``), e.g. from
        :func:`lifecircle.covered_area`; or ``True`` to compute them for every drawn category at
        its threshold distance (:meth:`Analysis.covered_areas`).
    basemap : ``"osm"`` (default), ``"tianditu"`` (天地图, needs ``tianditu_key`` or the
        ``LIFECIRCLE_TIANDITU_KEY`` environment variable), ``"amap"`` (高德; every overlay is
        shifted to GCJ-02 so it lines up with the tiles) or ``"none"``.
    lang : ``"zh"`` or ``"en"`` (default :data:`lifecircle.settings.language`).
    offline : inline Leaflet (vendored, 0.17 MB) so the map needs no CDN, which is often slow or
        blocked for these users; only tiles are fetched. ``False`` loads Leaflet from jsDelivr.
    county, street : draw only these counties / streets (codes or names).
    simplify_m : simplification tolerance of polygons in metres (0: none).
    max_features : features per layer at most; larger layers keep the most relevant ones (lowest
        index, highest priority) and say so in their name.
    programme : a programme from :func:`lifecircle.plan_programme` (of this analysis): its
        projects of the drawn categories in scope as one layer, coloured by planned year, the
        years in the legend; popups give year, street, category, site, residents newly covered,
        cost (and capacity when known).

    Returns
    -------
    folium.Map — shown inline in Jupyter; ``m.save("map.html")`` or :func:`save_map` writes it.
    """
    lang = lang or settings.language
    tianditu_key = _check_options(lang, basemap, tianditu_key, max_features, simplify_m)
    cats = _drawn_categories(analysis, categories)
    geo = _Geo(analysis.network.crs, simplify_m, gcj02=basemap == "amap")
    idx = _scope(analysis.index, county, street)
    scope_ids = set(idx["community_id"])
    idx = _drawable(idx)
    if not len(idx):
        raise InputError("no community with a geometry to draw")
    idx = idx.sort_values(["service_index", "community_id"], kind="stable", na_position="last")
    shapes = geo.lonlat(idx)  # as drawn: simplified, shifted if needed, rounded
    m, bounds = _new_map(shapes, basemap, tianditu_key, lang, offline)
    prof = analysis.profile
    title = _TEXT[lang]["page_title"].format(prof.title_zh if lang == "zh" else prof.title_en)
    m.get_root().header.add_child(folium.Element(f"<title>{_e(title)}</title>"))  # browser tab
    lay = _Layers.create(m, analysis, cats, geo, lang, max_features)
    idx, counts = _add_communities(lay, idx, shapes)
    _add_facilities(lay, idx)
    iso_legend = _add_isochrones(lay, isochrones, communities, simplify_m)
    _add_covered(lay, covered, simplify_m)
    has_sites = _add_sites(lay, scope_ids)
    prog_legend = _add_programme(lay, programme, scope_ids)
    m.add_child(_Legend(_legend_html(lay, idx, counts, iso_legend, has_sites, prog_legend)))
    n_overlays = sum(isinstance(ch, folium.FeatureGroup) for ch in m._children.values())
    m.add_child(folium.LayerControl(collapsed=n_overlays > 12))
    (x0, y0, x1, y1) = bounds
    m.fit_bounds([[float(y0), float(x0)], [float(y1), float(x1)]])
    _deterministic_ids(m)
    return m


def _check_options(
    lang: str, basemap: str, tianditu_key: str | None, max_features: int, simplify_m: float
) -> str | None:
    """Refuse bad options; returns the Tianditu key (from the environment if not given)."""
    if lang not in _TEXT:
        raise InputError(f"lang must be 'zh' or 'en', got {lang!r}")
    if basemap not in BASEMAPS:
        raise InputError(f"basemap must be one of {list(BASEMAPS)}, got {basemap!r}")
    if basemap == "tianditu":
        tianditu_key = tianditu_key or os.environ.get("LIFECIRCLE_TIANDITU_KEY")
        if not tianditu_key:
            raise InputError(
                "basemap='tianditu' needs a Tianditu (天地图) key: apply for a free browser key at "
                "https://console.tianditu.gov.cn and pass tianditu_key=... (or set "
                "LIFECIRCLE_TIANDITU_KEY); note the key is written into the HTML file"
            )
        if not re.fullmatch(r"[A-Za-z0-9]+", tianditu_key):
            raise InputError("tianditu_key: a Tianditu key has only letters and digits")
    if max_features < 1:
        raise InputError(f"max_features must be at least 1, got {max_features}")
    if simplify_m < 0:
        raise InputError(f"simplify_m must be >= 0, got {simplify_m}")
    return tianditu_key


def _drawn_categories(analysis: Analysis, categories: Sequence[str] | None) -> list[str]:
    """The categories to draw, in the profile's order; an error names any not analysed."""
    all_cats = list(analysis.params.categories)
    cats = list(all_cats) if categories is None else _as_list(categories)
    unknown = [c for c in cats if c not in all_cats]
    if unknown:
        raise InputError(f"categories {unknown} were not analysed; the analysis has {all_cats}")
    return [c for c in all_cats if c in set(cats)]


def _new_map(
    shapes: np.ndarray, basemap: str, tianditu_key: str | None, lang: str, offline: bool
) -> tuple[folium.Map, tuple[float, float, float, float]]:
    """A map centred on ``shapes`` (the communities as drawn) with its assets, panes and tiles;
    and the bounds of ``shapes``."""
    (x0, y0, x1, y1) = shapely.total_bounds(shapes)
    m = folium.Map(
        location=[round((y0 + y1) / 2, 5), round((x0 + x1) / 2, 5)],
        tiles=None,
        zoom_start=14,
        max_zoom=19 if basemap in ("osm", "none") else 18,
    )
    m.default_js = []
    m.default_css = []
    m.add_child(_Assets(offline))
    m.add_child(_Panes([("lc-cov", 380), ("lc-iso", 420)]))
    _add_basemap(m, basemap, tianditu_key, lang)
    return m, (x0, y0, x1, y1)


@dataclass
class _Layers:
    """What every layer needs: the map, the analysis, its texts, the geometry and the categories.

    ``cats`` are the drawn categories (profile order); ``color`` and ``cname`` (display names)
    cover every analysed category and ``glyph`` every category of the profile, so that colours
    and glyphs do not change with the selection.
    """

    m: folium.Map
    analysis: Analysis
    lang: str
    geo: _Geo
    cats: list[str]
    color: dict[str, str]
    cname: dict[str, str]
    glyph: dict[str, str]
    max_features: int

    @classmethod
    def create(
        cls,
        m: folium.Map,
        analysis: Analysis,
        cats: list[str],
        geo: _Geo,
        lang: str,
        max_features: int,
    ) -> _Layers:
        """Colours and display names of the analysed categories and the glyphs of the profile's
        categories, for the map ``m``."""
        prof = analysis.profile
        all_cats = list(analysis.params.categories)
        return cls(
            m=m,
            analysis=analysis,
            lang=lang,
            geo=geo,
            cats=cats,
            color={c: CATEGORY_COLORS[i % len(CATEGORY_COLORS)] for i, c in enumerate(all_cats)},
            cname=_category_names(prof, all_cats, lang),
            glyph=category_glyphs(prof.categories.values(), lang),
            max_features=max_features,
        )

    @property
    def T(self) -> dict[str, str]:
        """The texts of the map's language."""
        return _TEXT[self.lang]

    @property
    def pos(self) -> dict[str, int]:
        """Position of each drawn category (shortfall lists of communities refer to it)."""
        return {c: i for i, c in enumerate(self.cats)}

    def add(self, name: str, show: bool, layer: _GeoLayer, data: _Data | None = None) -> None:
        """Add ``data`` (unless shared) and a switchable group ``name`` holding ``layer``."""
        if data is not None:
            self.m.add_child(data)
        fg = folium.FeatureGroup(name=name, show=show)
        fg.add_child(layer)
        self.m.add_child(fg)

    def cap(self, frame: Any, what: str) -> tuple[Any, str]:
        """``frame`` cut to ``max_features`` rows and the layer-name suffix saying so ('' if not)."""
        n = len(frame)
        if n <= self.max_features:
            return frame, ""
        log.warning("map: %d %s, only %d are drawn", n, what, self.max_features)
        return frame.iloc[: self.max_features], self.T["capped"].format(self.max_features, n)


# ---------------------------------------------------------------------- layers
@dataclass(frozen=True)
class _Counts:
    """Per drawn category (in :attr:`_Layers.cats` order), among the drawn communities: how many
    fall short of it, how many have no data for it, and how many were assessed for it."""

    short: list[int]
    gaps: list[int]
    assessed: list[int]

    @classmethod
    def of(cls, props: list[dict[str, Any]], n_cats: int) -> _Counts:
        """Counted from the communities' properties (``s``, ``g`` and ``d``)."""
        short, gaps, assessed = [0] * n_cats, [0] * n_cats, [0] * n_cats
        for p in props:
            for j in p["s"]:
                short[j] += 1
            for j in p["g"]:
                gaps[j] += 1
            for j, cell in enumerate(p["d"]):
                assessed[j] += isinstance(cell, list)
        return cls(short, gaps, assessed)


def _add_communities(
    lay: _Layers, idx: gpd.GeoDataFrame, shapes: np.ndarray
) -> tuple[gpd.GeoDataFrame, _Counts]:
    """The service-index layer and, on the same data, one shortfall layer per category and one
    no-data layer per category without data somewhere.

    Returns the communities drawn (the ``max_features`` with the lowest index) and their counts.
    """
    n_comm = len(idx)
    capped = ""
    if n_comm > lay.max_features:
        log.warning(
            "map: %d communities, only the %d with the lowest index are drawn "
            "(raise max_features, or map one county/street at a time)",
            n_comm,
            lay.max_features,
        )
        idx, shapes = idx.iloc[: lay.max_features], shapes[: lay.max_features]
        capped = lay.T["capped"].format(lay.max_features, n_comm)
    props, meta = _community_props(lay, idx)
    data = _Data(lay.geo.features(shapes, props), meta)
    style = (
        "function(f){return {color:'#555',weight:1,opacity:0.8,fillOpacity:0.6,fillColor:"
        + _js(list(INDEX_COLORS) + [NO_DATA_COLOR])
        + "[f.properties.k]};}"
    )
    point = "function(f,ll){return L.circleMarker(ll,{radius:7});}"
    layer = _GeoLayer(data, kind="communities", each="lcComm", style=style, point=point)
    lay.add(_e(lay.T["communities"]) + _e(capped), True, layer, data)
    counts = _Counts.of(props, len(lay.cats))
    _add_shortfalls(lay, data, counts)
    return idx, counts


def _add_shortfalls(lay: _Layers, data: _Data, counts: _Counts) -> None:
    """Per drawn category, the communities short of it (the rows of ``Analysis.shortfalls``:
    dashed outline in its colour); none for a category no drawn community was assessed for.
    Then per category without data somewhere, those communities (grey dotted outline): not
    assessed, so never drawn as shortfalls. Both filter the communities' shared ``data``."""
    T = lay.T
    for j, c in enumerate(lay.cats):
        if not counts.assessed[j]:
            continue
        col = _js(lay.color[c])
        layer = _GeoLayer(
            data,
            kind="shortfall",
            each="lcComm",
            filter=f"function(f){{return f.properties.s.indexOf({j})>-1;}}",
            style=(
                f"function(f){{return {{color:{col},weight:3,dashArray:'6 4',"
                f"fillColor:{col},fillOpacity:0.15}};}}"
            ),
            point="function(f,ll){return L.circleMarker(ll,{radius:10});}",
        )
        name = _e(T["shortfall"].format(lay.cname[c])) + f" ({counts.short[j]:,})"
        lay.add(name, False, layer)
    for j, c in enumerate(lay.cats):
        if not counts.gaps[j]:
            continue
        layer = _GeoLayer(
            data,
            kind="no_data",
            each="lcComm",
            filter=f"function(f){{return f.properties.g.indexOf({j})>-1;}}",
            style=(
                f"function(f){{return {{color:{_js(NO_DATA_LINE)},weight:2,dashArray:'1 5',"
                f"fillColor:{_js(NO_DATA_COLOR)},fillOpacity:0.5}};}}"
            ),
            point="function(f,ll){return L.circleMarker(ll,{radius:10});}",
        )
        name = _e(T["no_data_layer"].format(lay.cname[c])) + f" ({counts.gaps[j]:,})"
        lay.add(name, False, layer)


def _add_facilities(lay: _Layers, idx: gpd.GeoDataFrame) -> None:
    """Per drawn category, its facilities near the drawn communities, as round badges."""
    fac = _facilities_in_scope(lay.analysis, idx, lay.cats)
    show = len(fac) <= SHOW_FACILITIES_MAX
    T = lay.T
    for c in lay.cats:
        f = fac[fac["category"] == c]
        count = f" ({len(f):,})"
        f, capped = lay.cap(f, f"facilities of {c}")
        f = f.set_geometry(f.geometry.representative_point())  # polygons (OSM buildings) as points
        meta = {"cat": _e(lay.cname[c]), "capl": _e(T["capacity"]), "id": _e(T["facility"]) + " id"}
        data = _Data(lay.geo.features(lay.geo.lonlat(f, simplify=False), _facility_props(f)), meta)
        icon = f"lcIcon({_js(_e(lay.glyph[c]))},{_js(lay.color[c])})"
        layer = _GeoLayer(
            data,
            kind="facilities",
            each="lcFac",
            point=f"function(f,ll){{return L.marker(ll,{{icon:{icon}}});}}",
        )
        lay.add(_e(T["facilities"].format(lay.cname[c])) + _e(capped or count), show, layer, data)


def _add_sites(lay: _Layers, scope_ids: set[Any]) -> bool:
    """Proposed sites of the drawn categories in scope: one marker per ``site_id`` (sites of
    several categories at one spot share it) showing the glyph of each category proposed there;
    True if any were drawn."""
    sites = lay.analysis.sites
    if sites is None or not len(sites):
        return False
    s = sites[sites["category"].isin(lay.cats)]
    if "community_id" in s.columns:
        s = s[s["community_id"].isin(scope_ids)]
    if not len(s):
        return False
    sid = s["site_id"].astype(str)
    s = s.assign(_l=sid.str.len(), _s=sid, _o=s["category"].map(lay.pos))  # S2 before S10
    s = s.sort_values(["_l", "_s", "_o", "site_rank"], kind="stable")
    first = s.drop_duplicates("site_id")
    data = _Data(lay.geo.features(lay.geo.lonlat(first, simplify=False), _site_props(s, lay)))
    point = "function(f,ll){return L.marker(ll,{icon:lcSite(f.properties),zIndexOffset:1000});}"
    layer = _GeoLayer(data, kind="sites", point=point)
    lay.add(_e(lay.T["sites"]) + f" ({len(first):,})", True, layer, data)
    return True


def _add_programme(lay: _Layers, programme: Programme | None, scope_ids: set[Any]) -> str:
    """The programme's projects of the drawn categories in scope, one badge each (the category's
    glyph on its year's colour), earliest year first; returns the legend's part ('' if none)."""
    if programme is None:
        return ""
    table = getattr(programme, "table", None)
    if not isinstance(table, gpd.GeoDataFrame):
        raise InputError("programme must be a Programme from lifecircle.plan_programme(...)")
    years = sorted({int(y) for y in programme.by_year.get("year", [])} | set(table["year"]))
    color = programme_colors(years)
    t = table[table["category"].isin(lay.cats) & table["community_id"].isin(scope_ids)]
    t = t.sort_values(["year", "new_covered_pop"], ascending=[True, False], kind="stable")
    n = t["year"].value_counts()  # the legend counts the projects in scope, drawn or not
    t, capped = lay.cap(t, "programme projects")
    T = lay.T
    if len(t):
        data = _Data(lay.geo.features(lay.geo.lonlat(t, simplify=False), _programme_props(t, lay, color)))
        point = (
            "function(f,ll){return L.marker(ll,{icon:lcIcon(f.properties.g,f.properties.c,'lc-prog'),"
            "zIndexOffset:900});}"
        )
        span = f"{years[0]}–{years[-1]}" if len(years) > 1 else f"{years[0]}"
        name = f"{_e(T['programme'])} {span}" + _e(capped or f" ({len(t):,})")
        lay.add(name, True, _GeoLayer(data, kind="programme", point=point), data)
    rows = "".join(
        f'<span class="lc-ico lc-prog"><span style="background:{color[y]}"></span></span>'
        f"{_e(T['prog_year'].format(y))} <small style=\"display:inline\">"
        f"{_e(T['prog_count'].format(int(n.get(y, 0))))}</small><br>"
        for y in years
    )
    return f"<b>{_e(T['programme'])}</b>{rows}"


def programme_colors(years: Sequence[int]) -> dict[int, str]:
    """A colour per year (earliest dark purple, latest yellow), spread over :data:`PROGRAMME_COLORS`."""
    ys = sorted(set(years))
    if len(ys) <= 1:
        return {y: PROGRAMME_COLORS[0] for y in ys}
    k = len(PROGRAMME_COLORS) - 1
    return {y: PROGRAMME_COLORS[round(i * k / (len(ys) - 1))] for i, y in enumerate(ys)}


def _programme_props(t: gpd.GeoDataFrame, lay: _Layers, color: dict[int, str]) -> list[dict[str, Any]]:
    """Per project: escaped tooltip ``t`` and popup ``p``, glyph ``g`` and year colour ``c``."""
    T, lang = lay.T, lay.lang
    head = {c: _e(programme_header(c, lang)) for c in ("year", "street_name", "site_name",
                                                        "new_covered_pop", "cost", "capacity")}
    head["category"] = _e(_label("category_zh" if lang == "zh" else "category_en", lang))
    out = []
    for r in t.itertuples(index=False):
        site = _e(r.site_name) or _e(r.candidate_id)
        cat = _e(lay.cname[r.category])
        year = _e(T["prog_year"].format(int(r.year)))
        place = " · ".join(p for p in (_e(r.county_name), _e(r.street_name), _e(r.community_name)) if p)
        cells = [("year", year), ("street_name", _e(r.street_name)), ("category", cat),
                 ("site_name", site), ("new_covered_pop", _fmt_m(r.new_covered_pop)),
                 ("cost", _e(_num(r.cost))), ("capacity", _e(_num(r.capacity)))]  # fmt: skip
        rows = "".join(f"<tr><th>{head[k]}</th><td>{v}</td></tr>" for k, v in cells if v)
        pop = (f'<div class="lc-p"><b>{year} · {cat}</b><br>{site}'
               + (f"<br><small>{place}</small>" if place else "") + f"<table>{rows}</table></div>")  # fmt: skip
        out.append({"t": f"<b>{year}</b> · {cat} · {site}", "p": pop,
                    "g": _e(lay.glyph[r.category]), "c": color[int(r.year)]})  # fmt: skip
    return out


# ---------------------------------------------------------------------- pieces
def _category_names(prof: Any, cats: list[str], lang: str) -> dict[str, str]:
    full = {}
    for c in cats:
        cat = prof.categories[c]
        full[c] = (cat.name_zh if lang == "zh" else cat.name_en) or cat.name_zh or c
    short = {c: _short(n) for c, n in full.items()}
    dup = {n for n in short.values() if list(short.values()).count(n) > 1}
    return {c: (full[c] if short[c] in dup else short[c]) for c in cats}


def _glyph_candidates(cat: Any, lang: str) -> list[str]:
    """Glyphs a category could take, best first: Chinese the keyword glyphs of its short name,
    then its characters (telling ones first); English the initial of its first telling word,
    then that initial with the initial of another word, then with another letter of the word."""
    if lang == "zh":
        name = cat.name_zh or cat.id
        short = _short(name)
        out = [g for key, gs in _GLYPHS_ZH if key in short for g in gs]
        out += [ch for ch in short if ch not in _GENERIC_ZH]
        return out + [ch for ch in name if not ch.isspace()]
    name = _short(cat.name_en or cat.id)
    words = [w for w in re.findall(r"[A-Za-z]+", name) if w.lower() not in _STOP_EN]
    words = words or re.findall(r"[A-Za-z]+", name) or ["X"]
    first = words[0][0].upper()
    out = [first] + [first + w[0].upper() for w in words[1:]]
    return out + [first + ch for ch in words[0][1:].lower()]


def category_glyphs(categories: Iterable[Any], lang: str) -> dict[str, str]:
    """A glyph per category (id → glyph) for the facility badges, different for every category
    given: each takes its first candidate not taken by an earlier one (in the order given), and a
    number when every candidate is taken. Give the profile's categories in its order, so that the
    glyphs of a profile do not change with the categories analysed or drawn."""
    used: set[str] = set()
    out: dict[str, str] = {}
    for cat in categories:
        glyph = next((g for g in _glyph_candidates(cat, lang) if g not in used), None)
        k = 1
        while glyph is None:
            glyph = None if str(k) in used else str(k)
            k += 1
        used.add(glyph)
        out[cat.id] = glyph
    return out


def _scope(idx: gpd.GeoDataFrame, county: Any, street: Any) -> gpd.GeoDataFrame:
    for what, vals, cols in (
        ("county", county, ("county_code", "county_name")),
        ("street", street, ("street_code", "street_name")),
    ):
        vals = _as_list(vals)
        if vals is None:
            continue
        wanted = {str(v) for v in vals}
        hit = np.zeros(len(idx), dtype=bool)
        for col in cols:
            hit |= idx[col].astype(str).isin(wanted).to_numpy()
        found = set(idx.loc[hit, cols[0]].astype(str)) | set(idx.loc[hit, cols[1]].astype(str))
        missing = sorted(wanted - found)
        if missing:
            known = sorted(set(idx[cols[1]].dropna().astype(str)))
            raise InputError(f"{what} {missing} not found; known {what} names: {known[:20]}")
        idx = idx[hit]
    return idx


def _community_props(
    lay: _Layers, idx: gpd.GeoDataFrame
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Compact, escaped properties per community and the layer's meta (labels, categories).

    Per community: ``k`` index class, ``s`` positions of the categories it falls short of (its
    rows of ``Analysis.shortfalls``), ``g`` positions of the categories without data for it,
    ``n`` name, ``a`` county · street, ``pop``, ``i`` index, and ``d`` one cell per category
    (see :func:`_category_cell`). The page builds tooltip and popup from them (``lcComm``).
    """
    analysis, cats, T = lay.analysis, lay.cats, lay.T
    ids = set(idx["community_id"])
    cov = analysis.coverage
    cov = cov[cov["category"].isin(cats) & cov["community_id"].isin(ids)]
    fac = analysis.facilities
    fac_name = fac["name"] if "name" in fac.columns else pd.Series(dtype=object)
    packer = _Sentences()
    said = _shortfall_sentences(analysis.shortfalls, ids, lay.lang, packer)
    pos = lay.pos
    rows: dict[Any, list[Any]] = {}
    for r in cov.itertuples(index=False):
        rows.setdefault(r.community_id, []).append(r)
    k = index_class(idx["service_index"].to_numpy())
    out = []
    for r, kk in zip(idx.itertuples(index=False), k, strict=True):
        d: list[Any] = [None] * len(cats)
        for x in rows.get(r.community_id, []):
            fname = fac_name.get(x.nearest_facility) if x.nearest_facility is not None else None
            d[pos[x.category]] = _category_cell(x, said.get((x.community_id, x.category)), fname)
        pop = "" if pd.isna(r.population) else f"{r.population:,.0f}"
        if pop and bool(r.pop_estimated):
            pop += T["estimated"]
        out.append(
            {
                "k": int(kk),
                "s": [j for j, c in enumerate(d) if isinstance(c, list) and c[2] == 0],
                "g": [j for j, c in enumerate(d) if c == 2],
                "n": _e(r.community_name) or _e(r.community_id),
                "a": " · ".join(p for p in (_e(r.county_name), _e(r.street_name)) if p),
                "pop": _e(pop),
                "i": "" if pd.isna(r.service_index) else f"{r.service_index:.1f}",
                "d": d,
            }
        )
    return out, {**_community_meta(lay), "T": packer.templates}


class _Sentences:
    """The analysis' sentences in less space, losslessly: each kept as the index of its
    template (the escaped text with its numbers and project ids cut out, held once in the page)
    followed by those numbers and ids. The page (``lcText``) puts them back together: the same
    text, character for character. A text holding the cut mark itself is kept whole."""

    HOLE = "\x01"
    VARIABLE = re.compile(r"LC-[0-9a-f]+|\d[\d,.]*")

    def __init__(self) -> None:
        self.templates: list[str] = []
        self._index: dict[str, int] = {}

    def pack(self, text: str) -> list[Any] | str:
        """``[template index, *cut-out parts]``, or ``text`` itself when empty or unsafe."""
        if not text or self.HOLE in text:
            return text
        template = self.VARIABLE.sub(self.HOLE, text)
        k = self._index.setdefault(template, len(self.templates))
        if k == len(self.templates):
            self.templates.append(template)
        return [k, *self.VARIABLE.findall(text)]


def _shortfall_sentences(
    sf: pd.DataFrame, ids: set[Any], lang: str, packer: _Sentences
) -> dict[tuple[Any, str], tuple[Any, Any]]:
    """(community id, category) → the escaped reason and answer of each shortfall row (packed):
    the analysis' own sentences (``reason_*``, ``answered_by_*``), never composed again here."""
    sf = sf[sf["community_id"].isin(ids)]
    cols = [sf[k] for k in ("community_id", "category", f"reason_{lang}", f"answered_by_{lang}")]
    return {
        (c, k): (packer.pack(_e(why)), packer.pack(_e(ans)))
        for c, k, why, ans in zip(*cols, strict=True)
    }


def _category_cell(x: Any, said: tuple[Any, Any] | None, fname: Any) -> list[Any] | int:
    """One category of one community in the page: ``2`` without data (not assessed); else
    [nearest distance (m, '' if none reachable), nearest facility's name, 1 meets / 0 falls
    short] and, for a shortfall, the analysis' reason and answer (packed, see
    :class:`_Sentences`)."""
    if x.data_status == NO_DATA:
        return 2
    cell = [_fmt_m(x.distance_min_m), _e(fname)]
    return cell + [0, *said] if said is not None else cell + [1]


def _community_meta(lay: _Layers) -> dict[str, Any]:
    """What every community popup shares: labels, category names, colours, thresholds, the
    source to add for each category without data, and the section titles."""
    analysis, cats, lang, T = lay.analysis, lay.cats, lay.lang, lay.T
    cat_col = "category_zh" if lang == "zh" else "category_en"
    labels = (
        "population",
        "service_index",
        "n_shortfalls",
        cat_col,
        "distance_min_m",
        "threshold_m",
    )
    hints = _source_hints(analysis, lang)
    return {
        "L": [_e(_label(c, lang)) for c in labels],
        "n": [_e(lay.cname[c]) for c in cats],
        "c": [lay.color[c] for c in cats],
        "thr": [_fmt_m(analysis.thresholds[c]) for c in cats],
        "h": [hints.get(c, "") for c in cats],
        "none": _e(T["none_reachable"]),
        "ok": _e(T["all_met"]),
        "na": _e(T["not_assessed"]),
        "ts": _e(T["short_title"]),
        "tg": _e(T["gaps_title"]),
        "tm": _e(T["met_title"]),
    }


def _source_hints(analysis: Analysis, lang: str) -> dict[str, str]:
    """Category → the escaped source to add (``source_hint_*`` of the data checklist)."""
    gaps = analysis.data_gaps
    if gaps is None or not len(gaps):
        return {}
    first = gaps.drop_duplicates("category")
    return {c: _e(h) for c, h in zip(first["category"], first[f"source_hint_{lang}"], strict=True)}


def _facilities_in_scope(
    analysis: Analysis, idx: gpd.GeoDataFrame, cats: list[str]
) -> gpd.GeoDataFrame:
    """Facilities of the drawn categories near the drawn communities (within the largest threshold)."""
    fac = analysis.facilities
    fac = fac[fac["category"].isin(cats)]
    if not len(fac):
        return fac
    if len(idx) == len(analysis.index):
        return fac.sort_index()
    reach = max(analysis.thresholds[c] for c in cats)
    x0, y0, x1, y1 = idx.geometry.to_crs(analysis.network.crs).total_bounds
    xy = shapely.get_coordinates(fac.geometry.to_crs(analysis.network.crs).values)
    inside = (
        (xy[:, 0] >= x0 - reach)
        & (xy[:, 0] <= x1 + reach)
        & (xy[:, 1] >= y0 - reach)
        & (xy[:, 1] <= y1 + reach)
    )
    return fac[inside].sort_index()


def _facility_props(f: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Escaped ``n`` name (or id), ``id``, ``a`` address, ``c`` capacity; the page builds the popup."""
    names = f["name"].tolist() if "name" in f.columns else [None] * len(f)
    caps = f["capacity"].tolist() if "capacity" in f.columns else [None] * len(f)
    addr = f["address"].tolist() if "address" in f.columns else [None] * len(f)
    out = []
    for fid, name, cap, ad in zip(f.index, names, caps, addr, strict=True):
        p = {"n": _e(name) or _e(fid), "id": _e(fid)}
        if _e(ad):
            p["a"] = _e(ad)
        if _e(cap):
            p["c"] = _e(_num(cap))
        out.append(p)
    return out


def _site_props(s: gpd.GeoDataFrame, lay: _Layers) -> list[dict[str, Any]]:
    """Per ``site_id`` (in the order of ``s``): escaped tooltip ``t`` and popup ``p`` listing
    every category proposed there, and the glyphs ``g`` and colours ``c`` of the marker."""
    T = lay.T
    out = []
    for sid, g in s.groupby("site_id", sort=False):
        title = _e(T["site"].format(sid))
        uses = _e(T["list_sep"].join(lay.cname[c] for c in g["category"]))
        first = g.iloc[0]
        place = " · ".join(
            p for p in (_e(first.get("street_name")), _e(first.get("community_name"))) if p
        )
        rows = "".join(
            f'<tr><td><i style="color:{lay.color[r.category]}">●</i> {_e(lay.cname[r.category])}'
            f"</td><td>{_e(T['site_rank'].format(r.site_rank))} · "
            f"{_e(T['new_cov'].format(float(r.new_covered_pop)))}</td></tr>"
            for r in g.itertuples(index=False)
        )
        pop = (
            f'<div class="lc-p"><b>{title}</b><br>{uses}'
            + (f"<br><small>{place}</small>" if place else "")
            + f"<table>{rows}</table></div>"
        )
        out.append(
            {
                "t": f"<b>{title}</b> · {uses}",
                "p": pop,
                "g": [_e(lay.glyph[c]) for c in g["category"]],
                "c": [lay.color[c] for c in g["category"]],
            }
        )
    return out


def _computed(analysis: Analysis, method: str, what: str) -> Any:
    """``Analysis.isochrones`` / ``Analysis.covered_areas``, or a clear error where absent."""
    fn = getattr(analysis, method, None)
    if not callable(fn):
        raise InputError(
            f"computing {what} needs Analysis.{method} (lifecircle's isochrone module), which this "
            f"installation lacks; pass precomputed isochrones=/covered= GeoDataFrames instead"
        )
    return fn


def _compute_isochrones(
    analysis: Analysis, ids: Sequence[str], simplify_m: float
) -> gpd.GeoDataFrame:
    """Isochrones of communities at the analysis's levels (its speed or the profile's distances)."""
    ids = [str(i) for i in _as_list(ids) or []]
    known = set(analysis.communities["community_id"])
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise InputError(
            f"communities {unknown[:10]} are not in the analysis (give community_id values)"
        )
    return _computed(analysis, "isochrones", "isochrones")(communities=ids, simplify_m=simplify_m)


def _compute_covered(analysis: Analysis, cats: list[str], simplify_m: float) -> gpd.GeoDataFrame:
    """Covered area of each drawn category at its threshold distance."""
    fn = _computed(analysis, "covered_areas", "covered areas")
    return fn(categories=cats, simplify_m=simplify_m)


def _drawable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows with a geometry that is neither missing nor empty."""
    g = np.asarray(gdf.geometry.values, dtype=object)
    return gdf[~(shapely.is_missing(g) | shapely.is_empty(g))]


def _check_frame(gdf: Any, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{what}: give a GeoDataFrame (see lifecircle.isochrones)")
    if gdf.crs is None:
        raise InputError(f"{what}: no CRS")
    return _drawable(gdf)


def _add_isochrones(
    lay: _Layers,
    iso: gpd.GeoDataFrame | None,
    communities: Sequence[str] | None,
    simplify_m: float,
) -> tuple[str, list[tuple[str, str]]] | None:
    """The isochrone layer (given, or computed for ``communities``); returns its name and
    (colour, level label) pairs for the legend, or None when there is none."""
    if iso is not None and communities:
        raise InputError(
            "give either isochrones= (precomputed) or communities= (computed), not both"
        )
    if iso is None and communities:
        iso = _compute_isochrones(lay.analysis, communities, simplify_m)
    if iso is None:
        return None
    iso, levels = _ranked_isochrones(iso)
    iso, capped = lay.cap(iso, "isochrone polygons")
    names = lay.analysis.communities.set_index("community_id")["community_name"]
    props = []
    for r, wm, dm in zip(
        iso.itertuples(index=False), _col(iso, "walk_min"), _col(iso, "distance_m"), strict=True
    ):
        o = getattr(r, "origin", None)
        who = _e(names.get(o, o)) if o is not None else ""
        tip = (f"<b>{who}</b> · " if who else "") + _e(_level_text(lay.T, wm, dm))
        props.append({"r": int(r.lc_rank), "t": tip})
    data = _Data(lay.geo.features(lay.geo.lonlat(iso), props))
    if "walk_min" in iso.columns and iso["walk_min"].notna().all():
        minutes = sorted(pd.unique(iso["walk_min"].astype(float)))
        label = lay.T["isochrones"].format("/".join(f"{v:g}" for v in minutes))
    else:
        label = lay.T["isochrones_m"].format("/".join(f"{v:,.0f}" for v in levels))
    colors = [ISO_COLORS[min(i, len(ISO_COLORS) - 1)] for i in range(len(levels))]
    style = (
        "function(f){var c=" + _js(colors) + "[f.properties.r];"
        "return {color:c,weight:1.5,fillColor:c,fillOpacity:0.15};}"
    )
    layer = _GeoLayer(data, kind="isochrones", pane="lc-iso", style=style)
    lay.add(_e(label) + _e(capped), True, layer, data)
    legend = []
    for i in range(len(levels)):
        sel = iso[iso["lc_rank"] == i]
        wm = float(sel["walk_min"].iloc[0]) if "walk_min" in sel.columns and len(sel) else math.nan
        dm = (
            float(sel["distance_m"].iloc[0])
            if "distance_m" in sel.columns and len(sel)
            else math.nan
        )
        legend.append(_level_text(lay.T, wm, dm))
    return label, list(zip(colors, legend, strict=True))


def _ranked_isochrones(iso: Any) -> tuple[gpd.GeoDataFrame, list[float]]:
    """Drawable isochrones with ``lc_rank`` (0 = shortest level), longest first (drawn under the
    shorter ones), and the sorted levels (distance in metres, else minutes)."""
    iso = _check_frame(iso, "isochrones")
    if "distance_m" not in iso.columns and "walk_min" not in iso.columns:
        raise InputError("isochrones: a 'distance_m' or 'walk_min' column is needed")
    key = "distance_m" if "distance_m" in iso.columns else "walk_min"
    levels = sorted(pd.unique(iso[key].astype(float)))
    rank = {v: i for i, v in enumerate(levels)}
    iso = iso.assign(lc_rank=iso[key].astype(float).map(rank))
    sort = ["lc_rank"] + (["origin"] if "origin" in iso.columns else [])
    iso = iso.sort_values(sort, ascending=[False] + [True] * (len(sort) - 1), kind="stable")
    return iso, levels


def _col(frame: pd.DataFrame, col: str) -> pd.Series:
    """``frame[col]`` as floats, or NaN when the column is absent."""
    if col in frame.columns:
        return frame[col].astype(float)
    return pd.Series(np.nan, index=frame.index)


def _level_text(T: dict[str, str], walk_min: float, distance_m: float) -> str:
    """``5分钟 · 300 m``, either part left out when not finite."""
    parts = (
        T["minutes"].format(f"{walk_min:g}") if math.isfinite(walk_min) else "",
        f"{distance_m:,.0f} m" if math.isfinite(distance_m) else "",
    )
    return " · ".join(p for p in parts if p)


def _add_covered(lay: _Layers, covered: Any, simplify_m: float) -> None:
    """Covered areas (given, or computed for the drawn categories when ``covered`` is True), one
    layer per category (or one for all), under the communities."""
    cov = covered
    if cov is True:
        cov = _compute_covered(lay.analysis, lay.cats, simplify_m)
    if cov is None or cov is False:
        return
    cov = _check_frame(cov, "covered")
    groups: list[tuple[Any, gpd.GeoDataFrame]]
    if "category" in cov.columns:
        order = {c: i for i, c in enumerate(lay.cname)}
        keys = sorted(pd.unique(cov["category"]), key=lambda k: (order.get(k, len(order)), str(k)))
        groups = [(k, cov[cov["category"] == k]) for k in keys]
    else:
        groups = [(None, cov)]
    for k, g in groups:
        g = g.iloc[: lay.max_features]
        label = (
            lay.T["covered"].format(lay.cname.get(k, str(k)))
            if k is not None
            else lay.T["covered_all"]
        )
        col = _js(lay.color.get(k, "#555555"))
        props = []
        for r in g.itertuples(index=False):
            dm = float(getattr(r, "distance_m", np.nan))
            props.append({"t": _e(label) + (f" · {dm:,.0f} m" if math.isfinite(dm) else "")})
        data = _Data(lay.geo.features(lay.geo.lonlat(g), props))
        style = f"function(f){{return {{color:{col},weight:1,fillColor:{col},fillOpacity:0.25}};}}"
        lay.add(_e(label), False, _GeoLayer(data, kind="covered", pane="lc-cov", style=style), data)


def _add_basemap(m: folium.Map, basemap: str, key: str | None, lang: str) -> None:
    if basemap == "osm":
        folium.TileLayer(
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            name="OpenStreetMap",
            max_zoom=19,
            attr='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
            control=False,
        ).add_to(m)
    elif basemap == "tianditu":
        ann = "cva" if lang == "zh" else "eva"
        for layer, name in (("vec", "天地图"), (ann, "天地图注记")):
            folium.TileLayer(
                f"https://t{{s}}.tianditu.gov.cn/DataServer?T={layer}_w&x={{x}}&y={{y}}&l={{z}}&tk={key}",
                name=name,
                subdomains="01234567",
                max_zoom=18,
                overlay=layer != "vec",
                control=False,
                attr='&copy; <a href="https://www.tianditu.gov.cn">天地图 Tianditu</a>',
            ).add_to(m)
    elif basemap == "amap":
        folium.TileLayer(
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang="
            + ("zh_cn" if lang == "zh" else "en")
            + "&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            name="高德地图",
            subdomains="1234",
            max_zoom=18,
            control=False,
            attr='&copy; <a href="https://www.amap.com">高德地图 AutoNavi</a> (GCJ-02)',
        ).add_to(m)


def _legend_html(
    lay: _Layers,
    idx: gpd.GeoDataFrame,
    counts: _Counts,
    iso: tuple[str, list[tuple[str, str]]] | None,
    has_sites: bool,
    programme: str = "",
) -> str:
    """The legend: a fold button, then index classes, categories (greyed where no drawn
    community has data), line styles, sites, the categories without data and the source to
    add for them, isochrone levels, run and profile."""
    analysis, lang, T = lay.analysis, lay.lang, lay.T
    parts = [
        f'<button type="button" class="lc-fold" aria-expanded="true">{_e(T["legend"])}</button>'
        f'<div class="lc-body"><b>{_e(T["index_title"])}</b>'
    ]
    lo = (0.0,) + INDEX_BREAKS
    hi = INDEX_BREAKS + (100.0,)
    for c, a, b in zip(INDEX_COLORS, lo, hi, strict=True):
        parts.append(f'<i style="background:{c}"></i>{a:g}–{b:g}<br>')
    if idx["service_index"].isna().any():
        parts.append(f'<i style="background:{NO_DATA_COLOR}"></i>{_e(T["no_data"])}<br>')
    parts.append(f"<b>{_e(_label('category_zh' if lang == 'zh' else 'category_en', lang))}</b>")
    for j, c in enumerate(lay.cats):
        unassessed = counts.gaps[j] and not counts.assessed[j]
        bg = NO_DATA_COLOR if unassessed else lay.color[c]
        note = f' <span class="lc-na">（{_e(T["not_assessed"])}）</span>' if unassessed else ""
        parts.append(
            f'<span class="lc-ico"><span style="background:{bg}">{_e(lay.glyph[c])}</span></span>'
            f"{_e(lay.cname[c])}{note}<br>"
        )
    parts.append('<i style="border:2px dashed #555;background:none"></i>' + _e(T["shortfall_note"]))
    if any(counts.gaps):
        parts.append(
            f'<br><i style="border:2px dotted {NO_DATA_LINE};background:{NO_DATA_COLOR}"></i>'
            + _e(T["no_data_note"])
        )
    if has_sites:
        parts.append(
            '<br><span class="lc-ico lc-site"><span>★</span></span>'
            f"{_e(T['sites'])}<small>{_e(T['site_note'])}</small>"
        )
    parts.append(programme)
    parts.append(_gaps_legend(lay, counts))
    if iso is not None:
        parts.append(f"<b>{_e(iso[0])}</b>")
        for c, lab in iso[1]:
            parts.append(f'<i style="background:{c};opacity:.6"></i>{_e(lab)}<br>')
    s = analysis.summary
    lines = [
        T["share"].format(s["share_meeting_standard"], s["target_share"]),
        T["run"].format(analysis.run_id, analysis.created_at[:10]),
        T["profile"].format(analysis.profile.id),
        f"lifecircle {_version()}",
    ]
    parts.append("<small>" + "<br>".join(_e(x) for x in lines) + "</small></div>")
    return "".join(parts)


def _gaps_legend(lay: _Layers, counts: _Counts) -> str:
    """The categories without data among the drawn communities: ``{name}：无数据，未评估`` (or how
    many communities lack it) and the source to add, from the data checklist ('' if none)."""
    T = lay.T
    hints = _source_hints(lay.analysis, lay.lang)
    out = []
    for j, c in enumerate(lay.cats):
        if not counts.gaps[j]:
            continue
        what = T["not_assessed"] if not counts.assessed[j] else T["gap_some"].format(counts.gaps[j])
        sep = "：" if lay.lang == "zh" else ": "
        hint = f"<small>{hints[c]}</small>" if hints.get(c) else ""
        out.append(f'<div class="lc-na">{_e(lay.cname[c])}{sep}{_e(what)}{hint}</div>')
    return f"<b>{_e(T['gaps_title'])}</b>" + "".join(out) if out else ""


def _version() -> str:
    from .. import __version__

    return __version__


def _deterministic_ids(m: folium.Map) -> None:
    """Replace branca's random element ids by a counter, so the same analysis gives the same HTML."""
    n = 0

    def walk(el: Element) -> None:
        nonlocal n
        el._id = f"{n:04d}"
        n += 1
        for ch in el._children.values():
            walk(ch)

    walk(m.get_root())


# ---------------------------------------------------------------------- saving
def make_offline(m: folium.Map) -> folium.Map:
    """Inline Leaflet into ``m`` (in place) so the saved page needs no CDN; returns ``m``.

    Works for maps from :func:`shortfall_map` and for plain folium maps; other scripts or styles
    that folium elements of the map load (plugins) cannot be inlined and are logged as warnings.
    """
    assets = [ch for ch in m._children.values() if isinstance(ch, _Assets)]
    if assets:
        for a in assets:
            a.offline = True
    else:
        m.default_js = [(k, u) for k, u in m.default_js if k != "leaflet"]
        m.default_css = [(k, u) for k, u in m.default_css if k != "leaflet_css"]
        m.add_child(_Assets(True))
    remote = []

    def walk(el: Element) -> None:
        for _key, u in list(getattr(el, "default_js", [])) + list(getattr(el, "default_css", [])):
            remote.append(u)
        for ch in el._children.values():
            walk(ch)

    walk(m)
    for u in remote:
        log.warning(
            "offline map: %s is still loaded from the network (only Leaflet is vendored)", u
        )
    return m


def save_map(m: folium.Map, path: str | os.PathLike[str], offline: bool = True) -> Path:
    """Write ``m`` to ``path`` as one HTML file (atomically); ``offline=True`` inlines Leaflet first.

    The map of :func:`shortfall_map` can also be written with ``m.save(path)``; if it was built
    with ``offline=True``, that file is already self-contained.
    """
    if not isinstance(m, folium.Map):
        raise InputError("save_map: give a folium.Map (e.g. from Analysis.map())")
    if offline:
        make_offline(m)
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        log.warning(
            "save_map: %s does not end in .html; browsers may not open it by double-click", path
        )
    out = atomic_write(path, lambda tmp: m.save(str(tmp)))
    log.info("wrote %s (%.0f kB)", out, out.stat().st_size / 1024)
    return out
