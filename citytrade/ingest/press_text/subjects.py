"""Whose trade a figure is: areas, the publisher's own area, ports, and the subjects that are not an area's total
(partners, products, enterprise types, trade modes, subsets), plus the measure words (total, exports, imports, balance)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from citytrade.ingest.areas import NATION_CODE, AreaResolver
from citytrade.ingest.press_text.numbers import alternatives
from citytrade.ingest.press_text.text import fold

# kind -> words (folded: simplified, lower case). Each kind but "area" names a refusal.
_WORDS = {
    "self": ("我市", "本市", "全市", "我省", "本省", "全省", "我区", "全区", "本区", "the city", "the province",
             "the municipality", "the region"),
    "nation": ("我国", "全国", "大陆", "中国大陆", "内地", "中国内地", "the country", "nationwide", "the nation"),
    "partner": (
        "美国", "欧盟", "东盟", "日本", "韩国", "俄罗斯", "英国", "德国", "法国", "印度", "越南", "泰国", "马来西亚", "印度尼西亚",
        "印尼", "新加坡", "菲律宾", "澳大利亚", "新西兰", "巴西", "墨西哥", "加拿大", "南非", "沙特", "阿联酋", "中东", "中亚", "非洲",
        "拉丁美洲", "拉美", "东南亚", "欧洲", "北美", "香港", "中国香港", "香港地区", "台湾", "中国台湾", "台湾地区", "澳门", "荷兰",
        "意大利", "土耳其", "波兰", "哈萨克斯坦", "贸易伙伴", "united states", "the us", "the u.s.", "the eu", "european union",
        "asean", "japan", "south korea", "russia", "germany", "britain", "the uk", "france", "india", "vietnam", "thailand",
        "malaysia", "indonesia", "singapore", "philippines", "australia", "new zealand", "brazil", "mexico", "canada",
        "south africa", "saudi arabia", "middle east", "central asia", "africa", "latin america", "southeast asia",
        "europe", "north america", "hong kong", "taiwan", "macao", "macau", "netherlands", "italy", "turkey", "poland",
        "kazakhstan", "trading partner", "trading partners", "usa", "the united states",
    ),
    "product": (
        "机电产品", "机电", "高新技术产品", "高技术产品", "劳动密集型产品", "集成电路", "积体电路", "电动汽车", "新能源汽车", "汽车", "手机",
        "家电", "家用电器", "农产品", "钢材", "原油", "铁矿砂", "铁矿石", "天然气", "煤炭", "大豆", "服装", "纺织品", "纺织", "船舶",
        "医药品", "医药", "粮食", "笔记本电脑", "电子信息", "新三样", "锂电池", "锂离子蓄电池", "太阳能电池", "光伏", "半导体", "芯片",
        "稀土", "家具", "玩具", "鞋", "箱包", "水产品", "成品油", "electromechanical products",
        "mechanical and electrical products", "high-tech products", "high-tech", "labor-intensive products",
        "labour-intensive products", "integrated circuits", "chips", "semiconductors", "automobiles", "cars", "vehicles",
        "electric vehicles", "mobile phones", "smartphones", "home appliances", "home-appliance", "home appliance",
        "household appliances", "agricultural products", "steel", "crude oil", "iron ore", "natural gas", "coal",
        "soybeans", "garments", "clothing", "textiles", "ships", "pharmaceuticals", "laptops", "lithium batteries",
        "solar cells", "photovoltaic", "rare earths", "furniture", "toys", "shoes",
    ),
    "enterprise": ("民营企业", "国有企业", "外商投资企业", "外资企业", "私营企业", "中小企业", "private enterprises", "private firms",
                   "private companies", "private businesses", "state-owned enterprises", "state-owned", "foreign-invested",
                   "foreign-funded", "foreign enterprises", "smes"),
    "mode": ("一般贸易", "加工贸易", "保税物流", "跨境电商", "市场采购", "边境小额贸易", "边境贸易", "进料加工", "来料加工",
             "general trade", "processing trade", "bonded logistics", "cross-border e-commerce", "market procurement",
             "border trade"),
    "subset": ("一带一路", "rcep", "金砖", "自贸试验区", "自贸区", "综合保税区", "综保区", "上合组织", "上海合作组织", "中欧班列",
               "自由贸易港", "粤港澳大湾区", "大湾区", "长三角", "京津冀", "belt and road", "brics", "free trade zone",
               "pilot free trade zone", "comprehensive bonded zone", "greater bay area", "yangtze river delta"),
}  # fmt: skip
MEASURES = {
    "total": ("外贸进出口", "进出口总值", "进出口总额", "进出口值", "进出口", "货物贸易", "外贸", "foreign trade", "goods trade",
              "export-import", "import-export", "exports-imports", "imports-exports", "two-way trade",
              "total trade", "trade volume", "trade value", "total imports and exports", "imports and exports",
              "import and export", "exports and imports", "export and import", "trade"),
    "exports": ("出口额", "出口值", "出口", "exports", "export", "exported", "outbound shipments"),
    "imports": ("进口额", "进口值", "进口", "imports", "import", "imported", "inbound shipments"),
    "balance": ("贸易顺差", "贸易逆差", "贸易差额", "顺差", "逆差", "trade surplus", "trade deficit", "trade balance", "surplus",
                "deficit"),
}  # fmt: skip
# a Chinese subject word ending like this is a product or an enterprise type even when no list names it
_GENERIC = re.compile(
    r"[\u4e00-\u9fff]{1,5}?(产品|制品|企业)|(?<![a-z])(?:[a-z-]+\s+)?(components|products|parts)(?![a-z])"
    r"|(?<![a-z])[a-z-]+\s+(enterprises|companies|businesses)(?![a-z])"
)
# a place the seeds may not know: two or three characters before 市/县 ("义乌市"), after a word that cannot be
# part of a name
_PLACE = re.compile(r"([\u4e00-\u9fff]{2,3})(市|县)(?!场|值|民|委|政府|级|区)")
_NOT_NAME_START = set("年月日期中据和与及对在的是为全今去本我该其同各个前后上下共等省")
_PORT_AFTER = re.compile(r"\s*(口岸|港口|港|port)")
_PARTNER_BEFORE = re.compile(r"(对|与|同|向|自|从|(?<![a-z])with|(?<![a-z])to|(?<![a-z])from)\s*(the\s+)?$")
_CUSTOMS_AFTER = re.compile(r"\s*(海关|customs)")
_PORT_OF = re.compile(r"(?:the\s+)?port\s+of\s+$")
# a name compared with or taken as a denominator is not whose figure it is: 比全国高, 占全省进出口总值的, higher than
# the national average, 78.9 percent of the province's total
_COMPARED = re.compile(r"(?:(?:比|于|占)(?:同期)?|位列|位居|居|列|(?:than|above|below)\s+(?:the\s+)?|(?:%|percent|per cent)\s+of\s+(?:the\s+)?)$")
# "China's northernmost province", "East China's Shandong Province": the nation names where the province is
_APPOSITION = re.compile(r"'s\s+(?:[a-z-]+\s+){0,2}(?:province|city|region|municipality)")
# "Xiamen in East China's Fujian province": Fujian only says where Xiamen is
_LOCATOR = re.compile(r"(?<![a-z])in\s+(?:the\s+)?(?:[a-z]+\s+){0,2}china's\s+$")
# "in southern China", "Northwest China's": a part of the country, not the nation
_PART_OF = re.compile(r"(?:north|south|east|west|central|northeast|northwest|southeast|southwest)(?:ern)?\s+$")
# whose trade a name is not: too often a comparison in prose ("the national average", "ranking 10th nationwide")
_NOT_SUBJECTS = {"national", "nationwide"}
# trade with a partner the lists lack: "trade with USA", "exports to Chile", "对智利出口"
_PARTNER_PHRASE = re.compile(
    r"(?:(?<![a-z])(?:trade|exports?|imports?|shipments)\s+(?:with|to|from)\s+(?:the\s+)?(?!(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\b)(?P<en>[a-z][a-z.'-]*(?:\s+(?!reached|rose|grew|was|were|hit|totall?ed|came|stood|climbed|fell|dropped|amounted|increased|decreased)[a-z][a-z.'-]*){0,2}))"
    r"|(?:对(?P<zh>[\u4e00-\u9fff]{2,8}?)(?:分别)?(?:进出口|出口|进口|贸易))"
)


@dataclass
class Subject:
    """A subject word where it stands: its kind, the area it names (area, self, nation, port), the word."""

    start: int
    end: int
    kind: str  # area, self, nation, port, unknown_area, partner, product, enterprise, mode, subset
    word: str
    area_code: str | None = None


def _known(name: str, names: dict[str, str]) -> bool:
    return name in names or any(word in names for word in name.split())


@dataclass
class Measure:
    start: int
    end: int
    measure: str  # total, exports, imports, balance
    word: str


@lru_cache(maxsize=4)
def _area_names(resolver: AreaResolver) -> tuple[re.Pattern, dict[str, str]]:
    names: dict[str, str] = {}
    for alias, code in resolver.aliases.items():
        key = fold(alias)
        if len(key) < 2 or key.isdigit() or (key.isascii() and len(key) < 4) or key in _NOT_SUBJECTS:
            continue
        names.setdefault(key, code)
    for area in resolver.areas.values():
        zh = fold(area.name_zh)
        for suffix in ("市", "省", "自治区", "壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区"):
            if zh.endswith(suffix) and len(zh) - len(suffix) >= 2:
                names.setdefault(zh[: -len(suffix)], area.area_code)
    chinese = [name for name in names if not name.isascii()]
    english = [name for name in names if name.isascii()]
    pattern = re.compile(f"(?:{alternatives(chinese)})|(?<![a-z])(?:{alternatives(english)})(?![a-z])")
    return pattern, names


def _word_pattern(kinds: dict[str, tuple[str, ...]]) -> tuple[re.Pattern, dict[str, str]]:
    """One pattern for the words of every kind, longest first across kinds ("trade surplus" before "trade")."""
    kind_of = {word: kind for kind, words in kinds.items() for word in words}
    words = sorted(kind_of, key=len, reverse=True)
    pattern = "|".join(re.escape(w) if not w.isascii() else rf"(?<![a-z]){re.escape(w)}(?![a-z])" for w in words)
    return re.compile(pattern), kind_of


_KIND_PATTERN, _KIND_OF = _word_pattern(_WORDS)
_MEASURE_PATTERN, _MEASURE_OF = _word_pattern(MEASURES)


def find_measures(folded: str) -> list[Measure]:
    return [Measure(m.start(), m.end(), _MEASURE_OF[m.group()], m.group()) for m in _MEASURE_PATTERN.finditer(folded)]


def find_subjects(folded: str, resolver: AreaResolver) -> list[Subject]:
    """Every subject word, longest first where they overlap; words of a kind list win over area names."""
    found: list[Subject] = []
    taken = [False] * (len(folded) + 1)

    def take(subject: Subject) -> None:
        if not any(taken[subject.start : subject.end]):
            found.append(subject)
            for index in range(subject.start, subject.end):
                taken[index] = True

    for match in _KIND_PATTERN.finditer(folded):
        kind = _KIND_OF[match.group()]
        subject = Subject(match.start(), match.end(), kind, match.group(), NATION_CODE if kind == "nation" else None)
        if _COMPARED.search(folded[max(0, match.start() - 12) : match.start()]):
            continue
        take(subject)
    pattern, names = _area_names(resolver)
    for match in pattern.finditer(folded):
        if _CUSTOMS_AFTER.match(folded, match.end()):
            continue  # 厦门海关 / Xiamen Customs: the publisher, not whose trade it is
        if _COMPARED.search(folded[max(0, match.start() - 12) : match.start()]):
            continue
        if _LOCATOR.search(folded[max(0, match.start() - 40) : match.start()]):
            continue
        if names[match.group()] == NATION_CODE and (
            _APPOSITION.match(folded, match.end()) or _PART_OF.search(folded[max(0, match.start() - 12) : match.start()])
        ):
            continue
        code = names[match.group()]
        port = _PORT_AFTER.match(folded, match.end())
        end = match.end()
        kind = "area"
        if port and not folded[match.end() : port.end()].strip().startswith("港") or (port and folded[match.end()] == "港"):
            kind, end = "port", port.end()
        if _PORT_OF.search(folded[max(0, match.start() - 12) : match.start()]):
            kind = "port"
        if code == NATION_CODE:
            kind = "nation"
        take(Subject(match.start(), end, kind, folded[match.start() : end], code))
    for match in _PARTNER_PHRASE.finditer(folded):
        group = "en" if match.group("en") else "zh"
        name = match.group(group)
        if any(not taken[index] for index in range(match.start(group), match.end(group))) and not _known(name, names):
            take(Subject(match.start(group), match.end(group), "partner", name))
    for match in _PLACE.finditer(folded):
        name = match.group(1)
        while name and name[0] in _NOT_NAME_START:
            name = name[1:]
        if len(name) < 2:
            continue
        start = match.end() - len(name) - 1
        take(Subject(start, match.end(), "unknown_area", name + match.group(2)))
    for match in _GENERIC.finditer(folded):
        kind = "enterprise" if match.group(1) == "企业" or match.group(3) else "product"
        take(Subject(match.start(), match.end(), kind, match.group()))
    found.sort(key=lambda subject: subject.start)
    for subject in found:
        if subject.kind in ("area", "port", "unknown_area", "nation") and _PARTNER_BEFORE.search(folded[max(0, subject.start - 6) : subject.start]):
            if subject.kind != "nation" or folded[max(0, subject.start - 6) : subject.start].strip().endswith(("对", "与", "with")):
                subject.kind = "partner"
    return found
