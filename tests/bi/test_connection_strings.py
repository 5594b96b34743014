"""The connection strings docs/bi.md gives BI tools open the publish read-only and read every mart."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError


@pytest.mark.parametrize("form", ["connect_args", "url_query"])
def test_documented_connections_read_every_mart_and_refuse_writes(sample_home, form):
    database = sample_home / "published" / "citytrade.duckdb"
    if form == "connect_args":
        engine = create_engine(f"duckdb:///{database}", connect_args={"read_only": True})
    else:
        engine = create_engine(f"duckdb:///{database}?access_mode=read_only")
    try:
        with engine.connect() as connection:
            marts = inspect(connection).get_table_names(schema="marts")
            assert "city_trade_ranking" in marts and "quality_alerts" in marts
            for mart in marts:
                connection.execute(text(f"select * from marts.{mart} limit 1")).fetchall()
            top = connection.execute(text(
                "select name_en from marts.city_trade_ranking where basis = 'firm_location' and month_from = 1 and month_to = 12 "
                "order by year desc, rank_total limit 1")).scalar_one()  # fmt: skip
            assert top
            with pytest.raises(SQLAlchemyError, match="read-only|Cannot execute statement"):
                connection.execute(text("create table marts.scratch as select 1 as x"))
    finally:
        engine.dispose()
