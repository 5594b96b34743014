"""Release parsers, one module per format; PARSERS maps a sidecar's `format` to its parser."""

from __future__ import annotations

from typing import Protocol
from citytrade.ingest.areas import AreaResolver
from citytrade.ingest.parsers import citytrade_detail_v1, citytrade_v1, gacc_province_table, nbs_easyquery, press_text_v1, top100_v1
from citytrade.ingest.parsers.base import ParsedRelease
from citytrade.ingest.releases import Release


class Parser(Protocol):
    def __call__(self, release: Release, resolver: AreaResolver) -> ParsedRelease: ...


PARSERS: dict[str, Parser] = {
    "citytrade-v1": citytrade_v1.parse,
    "top100-v1": top100_v1.parse,
    "nbs-easyquery": nbs_easyquery.parse,
    "citytrade-detail-v1": citytrade_detail_v1.parse,
    "gacc-province-table": gacc_province_table.parse,
    "press-text-v1": press_text_v1.parse,
}
