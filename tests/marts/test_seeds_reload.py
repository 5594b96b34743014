"""The pre-gate build loads the seeds again only when the warehouse does not hold these very files (issue #8)."""

from __future__ import annotations

import shutil
from pathlib import Path

from citytrade import transform
from citytrade.config import SEEDS_DIR, Settings
from citytrade.warehouse import connect
from conftest import SAMPLE_RAW


def pre_gate_build(settings: Settings) -> dict[str, str]:
    return transform.build_models(settings, transform.PRE_GATE, exclude=transform.PRE_GATE_EXCLUDE)


def test_unchanged_seeds_are_not_loaded_again_but_missing_or_changed_ones_are(sample_home: Path, tmp_path: Path):
    home = tmp_path / "home"
    shutil.copytree(sample_home, home, ignore=shutil.ignore_patterns("run.lock"))
    settings = Settings.from_args(SAMPLE_RAW, home)

    # the sample run loaded them: this build leaves them alone and still builds and tests the models
    statuses = pre_gate_build(settings)
    assert "areas" not in statuses and "units" not in statuses
    assert statuses["stg_raw__trade_observations"] == "success"
    assert statuses["relationships_stg_raw__trade_observations_area_code__area_code__ref_areas_"] == "pass"

    # a lookup table gone from the warehouse: every seed is loaded again
    with connect(settings.warehouse_path) as con:
        con.execute("drop table lookup.units")
    statuses = pre_gate_build(settings)
    assert statuses["units"] == "success" and statuses["areas"] == "success"
    with connect(settings.warehouse_path) as con:
        units = con.execute("select count(*) from lookup.units").fetchone()[0]
    assert units == sum(1 for _ in open(SEEDS_DIR / "units.csv", encoding="utf-8")) - 1

    # the warehouse holds other seed files than the project's (an edited alias file): loaded again
    with connect(settings.warehouse_path) as con:
        con.execute(f"update {transform.SEEDS_TABLE} set fingerprint = 'seeds of another day'")
    assert pre_gate_build(settings)["area_aliases"] == "success"
    assert "area_aliases" not in pre_gate_build(settings)

    # a full refresh always loads them
    full = transform.build_models(settings, transform.PRE_GATE, exclude=transform.PRE_GATE_EXCLUDE, full_refresh=True)
    assert full["areas"] == "success"


def test_the_fingerprint_follows_every_byte_of_the_seed_files(tmp_path: Path, monkeypatch):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    monkeypatch.setattr(transform, "SEEDS_DIR", seeds)
    before = transform.seeds_fingerprint_of_project()
    aliases = seeds / "area_aliases.csv"
    aliases.write_text(aliases.read_text(encoding="utf-8") + "Shenzhen Shi,440300\n", encoding="utf-8")
    assert transform.seeds_fingerprint_of_project() != before
    monkeypatch.setenv("CITYTRADE_DBT_TARGET", "postgres")
    assert transform.seeds_fingerprint_of_project() is None  # not tracked off DuckDB: always loaded there
