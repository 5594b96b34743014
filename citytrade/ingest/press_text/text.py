"""A press release as text: its bytes decoded (UTF-8, GB18030/GBK or Big5), an HTML page's article extracted, and
a folded copy of the same length to match words against, so every span found is a span of the decoded text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HTML_SUFFIXES = (".html", ".htm")
TEXT_SUFFIXES = (".txt",)

# Traditional characters of trade releases and area names, each with its simplified form (one character for one,
# so offsets in the folded text are offsets in the original).
_TRADITIONAL = (
    "進億萬長額關貿總與對東歐產機電業資營貨務帶區較幣場價為達實現計統顯據數當單雙兩們個後門廣蘇韓國順餘約幾過輸際"
    "減佔點綜稅體積導車鐵鋼礦紡織裝醫藥農糧氣類華灣臺羅亞聯協議員寧廈島連鄭漢慶陽瀋無錫臨濟紹溫衛濱爾蘭烏魯齊貴"
    "遼陝內龍雲晉閩贛粵瓊滬邊彙鏈義崑陰號報發聞經別將僅縮擴創歷紀錄節礎這從時於歲會說開頭買賣貼費級標準規劃環"
    "週夥伴營銷設備製造產儀錶網絡貸幹線專門該業務構築運輸雜誌陸鄰圍債權樣勢趨續穩響嚴強優質調衝擊壓漲戰韌預測"
)
_SIMPLIFIED = (
    "进亿万长额关贸总与对东欧产机电业资营货务带区较币场价为达实现计统显据数当单双两们个后门广苏韩国顺余约几过输际"
    "减占点综税体积导车铁钢矿纺织装医药农粮气类华湾台罗亚联协议员宁厦岛连郑汉庆阳沈无锡临济绍温卫滨尔兰乌鲁齐贵"
    "辽陕内龙云晋闽赣粤琼沪边汇链义昆阴号报发闻经别将仅缩扩创历纪录节础这从时于岁会说开头买卖贴费级标准规划环"
    "周伙伴营销设备制造产仪表网络贷干线专门该业务构筑运输杂志陆邻围债权样势趋续稳响严强优质调冲击压涨战韧预测"
)
assert len(_TRADITIONAL) == len(_SIMPLIFIED)
_FULLWIDTH = "０１２３４５６７８９．，％（）：；＋－～"
_HALFWIDTH = "0123456789.,%():;+-~"
_FOLD = str.maketrans(
    _TRADITIONAL + _FULLWIDTH + "ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00a0\u3000’",
    _SIMPLIFIED + _HALFWIDTH + "abcdefghijklmnopqrstuvwxyz  '",
)


class PressTextError(ValueError):
    """The file cannot be read as a press release; the message is one line a person can act on."""


@dataclass
class PressText:
    """The decoded (for HTML: extracted) text, the encoding it was read with, and its folded twin."""

    text: str
    encoding: str
    folded: str


def fold(text: str) -> str:
    """Simplified characters, ASCII digits and punctuation, lower case: the same length as `text`."""
    return text.translate(_FOLD)


def read_press_text(path: Path, declared_encoding: str | None = None) -> PressText:
    """Read a .txt or .html release; spans found later are offsets in PressText.text."""
    data = path.read_bytes()
    if not data.strip():
        raise PressTextError("the file is empty")
    is_html = path.suffix.lower() in HTML_SUFFIXES
    if not declared_encoding and is_html:
        declared_encoding = _html_charset(data)
    text, encoding = decode_bytes(data, declared_encoding)
    if is_html:
        text = article_text(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return PressText(text=text, encoding=encoding, folded=fold(text))


# Characters frequent in trade releases, in both scripts: a wrong decoding yields other characters.
_TELLING = set("的年月日进出口贸易增长同比亿元万海关统计其中我市省全期下降分别為進貿長億萬關統計與對東區")


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Text and the encoding it was read with: the declared one, else UTF-8 (BOM or not), else whichever of GB18030
    and Big5 decodes strictly and reads most like a trade release."""
    if declared:
        try:
            return data.decode(str(declared)).removeprefix("\ufeff"), str(declared)
        except LookupError:
            raise PressTextError(f"unknown encoding '{declared}' in the sidecar (e.g. utf-8, gb18030, big5)") from None
        except UnicodeDecodeError as exc:
            raise PressTextError(f"the file is not {declared} text as its sidecar says (byte {exc.start})") from None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    readings = []
    for encoding in ("gb18030", "big5"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if re.search("[\x00-\x08\x0b\x0e-\x1f]", text):
            continue  # control characters: binary data, whatever decodes it
        han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
        readings.append((sum(c in _TELLING for c in han) / max(len(han), 1), encoding, text))
    if not readings:
        raise PressTextError("cannot decode the file as UTF-8, GB18030 or Big5 text (set `encoding` in the sidecar)")
    _, encoding, text = max(readings)
    return text, encoding


def _html_charset(data: bytes) -> str | None:
    found = re.search(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_-]+)""", data[:4096], re.IGNORECASE)
    if not found:
        return None
    name = found.group(1).decode("ascii").lower()
    return "gb18030" if name in ("gb2312", "gbk", "gb18030") else name


def article_text(html: str) -> str:
    """The article of an HTML page as paragraphs of plain text (trafilatura), without navigation, tables or comments."""
    import trafilatura

    extracted = trafilatura.extract(html, favor_recall=True, include_tables=False, include_comments=False)
    if not extracted or not extracted.strip():
        raise PressTextError("no article text found in the HTML page")
    return extracted
