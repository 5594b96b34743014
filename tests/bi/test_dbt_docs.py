"""dbt docs in the publish: `<home>/published/docs/` describes every published mart and column, and stays offline."""

from __future__ import annotations

import json

import duckdb


def test_docs_describe_every_published_mart_and_column(sample_home):
    docs = sample_home / "published" / "docs"
    assert (docs / "index.html").is_file(), "the run did not copy dbt's static docs into the publish"
    manifest = json.loads((docs / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((docs / "catalog.json").read_text(encoding="utf-8"))
    models = {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}

    con = duckdb.connect(str(sample_home / "published" / "citytrade.duckdb"), read_only=True)
    try:
        published = {
            table: [column for (column,) in con.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ? order by ordinal_position",
                [table]).fetchall()]
            for (table,) in con.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()
        }  # fmt: skip
    finally:
        con.close()
    assert published, "nothing published"
    undescribed = []
    for mart, columns in published.items():
        model = models.get(mart)
        assert model is not None, f"published mart {mart} is not a dbt model in the docs"
        if not model["description"].strip():
            undescribed.append(mart)
        documented = {name: column["description"].strip() for name, column in model["columns"].items()}
        undescribed += [f"{mart}.{column}" for column in columns if not documented.get(column)]
        assert any(key.endswith(f".{mart}") for key in catalog["nodes"]), f"{mart} is not in the docs catalog"
    assert undescribed == [], f"marts or columns without a description in the docs: {undescribed}"

    page = (docs / "index.html").read_text(encoding="utf-8")
    for mart in published:
        assert mart in page  # the static page carries the manifest and catalog inside it


def test_docs_page_sends_no_usage_statistics(sample_home):
    manifest = json.loads((sample_home / "published" / "docs" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["metadata"]["send_anonymous_usage_stats"] is False
    page = (sample_home / "published" / "docs" / "index.html").read_text(encoding="utf-8")
    assert '"send_anonymous_usage_stats": true' not in page and '"send_anonymous_usage_stats":true' not in page


def test_docs_are_made_again_only_when_the_project_or_a_relation_changed(sample_home, tmp_path):
    """A run whose project and relations are unchanged keeps the published docs (no `dbt docs generate`, issue #8)."""
    import shutil
    from citytrade import warehouse
    from citytrade.transform import docs as dbt_docs
    from citytrade.config import Settings
    from conftest import SAMPLE_RAW

    home = tmp_path / "home"
    shutil.copytree(sample_home, home, ignore=shutil.ignore_patterns("run.lock"))
    settings = Settings.from_args(SAMPLE_RAW, home)
    docs = home / "published" / "docs"
    made = (docs / "catalog.json").stat().st_mtime_ns

    dbt_docs.publish_docs(settings)
    assert (docs / "catalog.json").stat().st_mtime_ns == made, "unchanged project and relations, yet the docs were made again"

    with warehouse.connect(settings.warehouse_path) as con:
        con.execute("alter table marts.releases add column reviewer varchar")
    dbt_docs.publish_docs(settings)
    catalog = json.loads((docs / "catalog.json").read_text(encoding="utf-8"))
    assert "reviewer" in catalog["nodes"]["model.citytrade.releases"]["columns"]


def test_a_run_logs_dbt_at_warn_docs_included(sample_home):
    """dbt.log holds warnings and errors only, by default: neither the builds nor the docs write their debug log
    (0.75 CPU s a build; DBT_LOG_LEVEL_FILE=debug asks for it)."""
    log = sample_home / "dbt" / "logs" / "dbt.log"
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    assert "[debug]" not in text and "[info ]" not in text, text[:500]
