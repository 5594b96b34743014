"""`citytrade rankings` on the sample publish says what the ranking mart says, as a table and as JSON."""

from __future__ import annotations

import json

import duckdb
import pytest

from conftest import run_cli


def _mart(home, sql: str, params: list) -> list[dict]:
    con = duckdb.connect(str(home / "published" / "citytrade.duckdb"), read_only=True)
    try:
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()


def _latest_period(home, rank: str) -> tuple[int, int]:
    """The latest full year with a ranking by `rank`."""
    row = _mart(home, f"""select year, month_to from marts.city_trade_ranking
                          where basis = 'firm_location' and month_from = 1 and month_to = 12 and {rank} is not null
                          order by year desc, month_to desc limit 1""", [])  # fmt: skip
    assert row, f"the sample publish has no city ranking by {rank}"
    return row[0]["year"], row[0]["month_to"]


def _expected(home, year: int, month_to: int, rank: str, top: int) -> list[dict]:
    return _mart(
        home,
        f"""select {rank} as rank, area_code, name_en, name_zh, province_name_en, total_cny, exports_cny, imports_cny,
                   total_yoy_pct, share_of_national_pct, rank_change, cities_ranked, period_label, rank_best, rank_worst,
                   areas_reported, areas_in_universe, areas_missing, coverage_of_national_pct
            from marts.city_trade_ranking
            where basis = 'firm_location' and year = ? and month_from = 1 and month_to = ? and {rank} is not null
            order by {rank} limit ?""",
        [year, month_to, top],
    )


def _table_rows(stdout: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip().strip("│").split("│")] for line in stdout.splitlines() if line.startswith("│")]


def test_json_agrees_with_the_mart(sample_home):
    year, _ = _latest_period(sample_home, "rank_total")
    result = run_cli("rankings", "--home", str(sample_home), "--json")  # defaults: latest full year, total, top 20
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    expected = _expected(sample_home, year, 12, "rank_total", 20)
    assert len(rows) == len(expected) > 0
    for got, want in zip(rows, expected):
        assert (got["year"], got["month_to"], got["basis"]) == (year, 12, "firm_location")
        assert got["rank"] == want["rank"] and got["area_code"] == want["area_code"] and got["name_en"] == want["name_en"]
        assert got["total_cny"] == want["total_cny"] and got["value_cny"] == want["total_cny"]
        assert got["share_of_national_pct"] == want["share_of_national_pct"]
        assert got["rank_change"] == want["rank_change"]
        assert got["ranked"] == want["cities_ranked"]
        assert (got["rank_best"], got["rank_worst"]) == (want["rank_best"], want["rank_worst"])
        assert got["coverage_of_national_pct"] == want["coverage_of_national_pct"]
    assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)


def test_table_agrees_with_the_mart(sample_home):
    year, _ = _latest_period(sample_home, "rank_total")
    expected = _expected(sample_home, year, 12, "rank_total", 20)
    result = run_cli("rankings", "--home", str(sample_home), "--year", str(year))
    assert result.returncode == 0, result.stderr
    assert f"City ranking by total, {expected[0]['period_label']} (firm location basis)" in result.stdout
    first = expected[0]
    footer = " ".join(result.stdout.split())  # the caption wraps at the terminal's width
    assert (f"{first['areas_reported']} of {first['areas_in_universe']} cities reported ({first['areas_missing']} missing, "
            f"{first['coverage_of_national_pct']:.1f}% of national trade)") in footer  # fmt: skip
    rows = _table_rows(result.stdout)
    assert len(rows) == len(expected)
    for cells, want in zip(rows, expected):
        rank, city, province, total, growth, share, change = cells
        certain = want["rank_best"] == want["rank_worst"]
        assert rank == (str(want["rank"]) if certain else f"{want['rank_best']}–{want['rank_worst']}")
        assert city == f"{want['name_en']} {want['name_zh']}"
        assert province == want["province_name_en"]
        assert total == f"{want['total_cny'] / 1e8:,.1f}"
        assert growth == ("-" if want["total_yoy_pct"] is None else f"{want['total_yoy_pct']:+.1f}")
        assert share == ("-" if want["share_of_national_pct"] is None else f"{want['share_of_national_pct']:.1f}")
        assert change == {None: "n/a", 0: "="}.get(want["rank_change"], f"▲{want['rank_change']}" if (want["rank_change"] or 0) > 0 else f"▼{-(want['rank_change'] or 0)}")


@pytest.mark.parametrize("by", ["exports", "imports"])
def test_ranking_by_exports_or_imports_follows_that_rank(sample_home, by):
    # the latest full year with that rank, else the latest year to date with it
    period = _mart(sample_home, f"""select year, month_to from marts.city_trade_ranking
                                    where basis = 'firm_location' and month_from = 1 and rank_{by} is not null
                                    order by month_to = 12 desc, year desc, month_to desc limit 1""", [])  # fmt: skip
    assert period, f"the sample publish has no city ranking by {by}"
    year, month_to = period[0]["year"], period[0]["month_to"]
    expected = _expected(sample_home, year, month_to, f"rank_{by}", 3)
    args = ["rankings", "--home", str(sample_home), "--year", str(year), "--month-to", str(month_to), "--by", by, "--top", "3"]
    as_json = json.loads(run_cli(*args, "--json").stdout)
    assert [(r["rank"], r["area_code"], r["value_cny"]) for r in as_json] == [(w["rank"], w["area_code"], w[f"{by}_cny"]) for w in expected]
    table = run_cli(*args)
    assert table.returncode == 0, table.stderr
    rows = _table_rows(table.stdout)
    assert [(int(c[0]), c[1], c[3]) for c in rows] == [
        (w["rank"], f"{w['name_en']} {w['name_zh']}", f"{w[f'{by}_cny'] / 1e8:,.1f}") for w in expected
    ]
    assert f"{by} (100m yuan)" in table.stdout


def test_top_limits_the_rows(sample_home):
    rows = json.loads(run_cli("rankings", "--home", str(sample_home), "--top", "2", "--json").stdout)
    assert [r["rank"] for r in rows] == [1, 2]


def test_a_period_without_a_ranking_is_one_line_naming_what_is_published(sample_home):
    result = run_cli("rankings", "--home", str(sample_home), "--year", "1990")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no city ranking by total for 1990 through month 12 on the firm_location basis" in lines[0]
    year, _ = _latest_period(sample_home, "rank_total")
    assert f"--year {year} --month-to 12" in lines[0]


def test_nothing_published_is_one_line(tmp_path):
    (tmp_path / "empty-home").mkdir()
    result = run_cli("rankings", "--home", str(tmp_path / "empty-home"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nothing published yet" in lines[0]


def test_bad_month_is_a_usage_error(tmp_path):
    result = run_cli("rankings", "--home", str(tmp_path), "--month-to", "13")
    assert result.returncode == 2 and "month must be 1-12" in result.stderr


def test_rankings_2025_prints_rank_intervals_and_the_coverage(sample_home):
    """Dongguan is 4th of the six cities with 2025 figures; the press calls it the fifth-largest."""
    result = run_cli("rankings", "--home", str(sample_home), "--year", "2025")
    assert result.returncode == 0, result.stderr
    ranks = {cells[1].split()[0]: cells[0] for cells in _table_rows(result.stdout)}
    assert ranks == {"Shenzhen": "1–5", "Shanghai": "2–6", "Suzhou": "3–12", "Dongguan": "4–21", "Jinhua": "5–32",
                     "Chongqing": "6–41"}  # fmt: skip
    footer = " ".join(result.stdout.split())
    assert "6 of 337 cities reported (331 missing, 33.7% of national trade)" in footer
