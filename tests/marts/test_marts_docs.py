"""dbt docs: after `dbt docs generate`, every mart and every column it really has carries a description."""

from __future__ import annotations

import json
from citytrade.config import DBT_PROJECT_DIR, Settings


def test_dbt_docs_describe_every_mart_and_every_mart_column(sample_home, tmp_path):
    from citytrade.transform.build import invoke_dbt  # lets go of the shared sample warehouse when done

    Settings.from_args(None, sample_home).apply_environment()
    target = tmp_path / "target"
    result = invoke_dbt([
        "docs", "generate", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target), "--log-path", str(tmp_path / "logs"), "--quiet",
    ])  # fmt: skip
    assert result.success, result.exception
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))

    marts = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model" and node["schema"] == "marts"}
    assert {"city_trade_ranking", "trade_concentration", "growth_leaders", "top100_vs_trade", "region_distribution"} <= {
        node["name"] for node in marts.values()
    }  # fmt: skip
    missing = []
    for uid, node in sorted(marts.items()):
        if not node["description"].strip():
            missing.append(f"{node['name']}: no description")
        built = catalog["nodes"].get(uid)
        if built is None:
            missing.append(f"{node['name']}: not in the catalog (not built?)")
            continue
        described = {name.lower(): column["description"].strip() for name, column in node["columns"].items()}
        for column in built["columns"]:
            if not described.get(column.lower()):
                missing.append(f"{node['name']}.{column}: no description")
        for column in set(described) - {name.lower() for name in built["columns"]}:
            missing.append(f"{node['name']}.{column}: described but not in the table")
    assert not missing, "undocumented or stale: " + "; ".join(missing)
    # the exposures are documented too
    exposures = {node["name"]: node for node in manifest["exposures"].values()}
    assert {"bi_publish", "html_report"} <= set(exposures)
    assert all(exposure["description"].strip() and exposure["depends_on"]["nodes"] for exposure in exposures.values())
