"""A press text in the landing zone is a release like any other (issue #30): fingerprinted, loaded once,
quarantined whole when nothing in it can be used, a fixable figure quarantined with its line and quote, the
figures that are not an area's kept with their reasons; the file never touched."""

from __future__ import annotations

from pathlib import Path

import duckdb

from citytrade.ingest.load import ingest_releases

# Illustrative sentences: a total with its parts, a partner figure, an area dim_area does not know.
MIXED = (
    "据海关统计，今年前11个月，我市进出口4588.6亿元，同比增长17.9%。其中，出口2800.1亿元，增长20.1%；进口1788.5亿元，下降14.6%。\n"
    "同期，我市对美国进出口800.2亿元，增长5%。\n"
    "前11个月，义乌市进出口4688.3亿元，增长18.1%。\n"
)
ONLY_PARTNERS = "前11个月，全市对东盟进出口1200.5亿元，增长9%；对欧盟进出口980.3亿元，增长3%。\n"


def write_press(raw: Path, name: str, text: str, **fields) -> Path:
    path = raw / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    sidecar = {"format": "press-text-v1", "publisher": "test", "published_on": "2024-12-20", **fields}
    path.with_name(path.stem + ".meta.yaml").write_text("".join(f"{k}: {v}\n" for k, v in sidecar.items()), encoding="utf-8")
    return path


def test_a_press_text_loads_its_figures_quarantines_what_a_person_can_fix_and_keeps_the_rest(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "warehouse.duckdb"
    mixed = write_press(raw, "press/hangzhou.txt", MIXED, area="杭州")
    write_press(raw, "press/partners.txt", ONLY_PARTNERS, area="杭州")
    before = {path: path.read_bytes() for path in raw.rglob("*") if path.is_file()}

    summary = ingest_releases(raw, db, "run-1")

    assert summary.loaded == ["press/hangzhou.txt"] and summary.rejected == ["press/partners.txt"]
    yiwu = MIXED.index("义乌市进出口")  # the clause's span in the text
    assert summary.problems == [
        f"press/hangzhou.txt:3: chars {yiwu}-{yiwu + 22}: unknown area '义乌市': dim_area does not know it (add it to "
        "dbt_project/seeds/area_aliases.csv if it is one): «义乌市进出口4688.3亿元，增长18.1%»",
        "press/partners.txt: no figure of an area's total trade, exports or imports in the text "
        "(trade-partner figure (东盟); trade-partner figure (欧盟))",
    ]
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select area_code, year, month_from, month_to, basis, total_text, exports_text, imports_text, "
                           "total_yoy_pct, imports_yoy_pct, quote, span_start, span_end from raw.trade_observations").fetchall()  # fmt: skip
        refused = con.execute("select quote, reason from raw.press_refused_figures order by span_start").fetchall()
        statuses = dict(con.execute("select path, status from raw.releases").fetchall())
    assert rows == [("330100", 2024, 1, 11, "firm_location", "4588.6", "2800.1", "1788.5", 17.9, -14.6,
                     "我市进出口4588.6亿元，同比增长17.9% … 出口2800.1亿元，增长20.1% … 进口1788.5亿元，下降14.6%",
                     MIXED.index("我市进出口"), MIXED.index("。\n"))]  # fmt: skip  (from the first clause to the last)
    # a loaded release keeps what it refused; a release quarantined whole says why in its one line (above)
    assert refused == [("我市对美国进出口800.2亿元，增长5%", "trade-partner figure (美国)")]
    assert statuses == {"press/hangzhou.txt": "partial", "press/partners.txt": "rejected"}

    again = ingest_releases(raw, db, "run-2")  # the same bytes: nothing new
    assert again.unchanged == 2 and not again.loaded
    assert {path: path.read_bytes() for path in raw.rglob("*") if path.is_file()} == before
    mixed.write_text(MIXED.replace("义乌市", "金华市"), encoding="utf-8")  # fixed: a new version loads whole
    fixed = ingest_releases(raw, db, "run-3")
    assert fixed.loaded == ["press/hangzhou.txt"] and fixed.rows_loaded == 2 and not fixed.problems
