"""Area resolution: every area of the reference divisions by any usual spelling or code; unknown names suggest the closest."""

from __future__ import annotations

import csv

import pytest
from citytrade.ingest.areas import AreaResolver, UnknownArea
from citytrade.config import SEEDS_DIR

AREAS = list(csv.DictReader(open(SEEDS_DIR / "areas.csv", encoding="utf-8")))
# Names two areas share go to the province by design (seeds/README.md): the city has its own forms.
SHARED_NAMES = {"220200": {"吉林", "Jilin", "JILIN"}, "632500": {"海南"}}


@pytest.fixture(scope="module")
def resolver() -> AreaResolver:
    return AreaResolver()


def test_reference_divisions_are_all_there():
    levels = [row["level"] for row in AREAS]
    assert levels.count("nation") == 1 and levels.count("municipality") == 4 and levels.count("province") == 27
    assert levels.count("city") >= 330


@pytest.mark.parametrize("area", AREAS, ids=[row["area_code"] for row in AREAS])
def test_every_area_by_chinese_name_with_or_without_suffix_english_name_and_code(resolver, area):
    code = area["area_code"]
    spellings = [area["name_zh"], f" {area['name_zh']}\u3000", area["name_zh_short"], area["name_en"], area["name_en"].upper(), code]
    if area["level"] != "nation":  # 2-digit province and 4-digit city codes, and 12-digit statistical codes
        spellings += [code[:4] if area["level"] == "city" else code[:2], code + "000000"]
    for spelling in set(spellings) - SHARED_NAMES.get(code, set()):
        assert resolver.resolve(spelling) == code, spelling


@pytest.mark.parametrize(
    ("spelling", "code"),
    [("中国", "000000"), ("全国", "000000"), ("China", "000000"), ("000000", "000000"), ("深圳", "440300"),
     ("Shenzhen City", "440300"), ("Shenzhen Shi", "440300"), ("Guangdong Sheng", "440000"), ("Xi'an", "610100"),
     ("Xian", "610100"), ("Huhehaote", "150100"), ("Hohhot", "150100"), ("Wulumuqi", "650100"), ("Xizang", "540000"),
     ("广西壮族自治区", "450000"), ("Inner Mongolia", "150000"), ("Neimenggu", "150000"), ("延边州", "222400"),
     ("４４０３００", "440300"), ("Ｎｉｎｇｂｏ", "330200"), ("Jilin City", "220200"), ("Suzhou", "320500")],
)  # fmt: skip
def test_usual_spellings(resolver, spelling, code):
    assert resolver.resolve(spelling) == code


def test_unknown_name_suggests_the_closest_known_names(resolver):
    with pytest.raises(UnknownArea) as caught:
        resolver.resolve("Guangzou")
    message = str(caught.value)
    assert message.startswith("unknown area 'Guangzou'; did you mean Guangzhou (广州市, 440100)")
    assert "area_aliases.csv" in message and "\n" not in message


@pytest.mark.parametrize(
    ("spelling", "suggested"),
    [("Shenzen", ["Shenzhen (深圳市, 440300)"]),
     ("Taizhou", ["Taizhou (Jiangsu) (泰州市, 321200)", "Taizhou (Zhejiang) (台州市, 331000)"]),
     ("苏洲市", ["Suzhou (苏州市, 320500)"]),
     ("广洲", ["Guangzhou (广州市, 440100)"])],
)  # fmt: skip
def test_suggestions_name_the_likely_areas(resolver, spelling, suggested):
    with pytest.raises(UnknownArea) as caught:
        resolver.resolve(spelling)
    hint = str(caught.value).split("did you mean ", 1)[1]
    for name in suggested:
        assert name in hint
    if spelling == "Shenzen":
        assert " or " not in hint.split("?")[0]  # one clear candidate, no noise
