"""One grouped alert per run reaches a real local webhook, errors first, and the channel's secret never leaks."""

from __future__ import annotations

import csv
import logging
from citytrade.quality import notify as alerts
from citytrade.config import SEEDS_DIR
from conftest import run_cli, write_release
from receiver import Receiver

SECRET = "s3cr3t-hook-token"

ALERTS = [
    {"severity": "warning", "check_name": "growth_outlier",
     "message": "Tibet 西藏自治区 (540000) 2023: growth of 133.8% is an outlier"},
    {"severity": "error", "check_name": "hierarchy",
     "message": "China 中国 (000000) 2024 (national) 8.00 trillion yuan is below Guangdong 广东省 (440000) 9.11 trillion yuan"},
    {"severity": "warning", "check_name": "release_conflict",
     "message": "Shenzhen 深圳市 (440300) 2024: releases published the same day disagree"},
]


def _url(receiver: Receiver) -> str:
    return f"json://alice:{SECRET}@127.0.0.1:{receiver.port}/hook"


def test_one_grouped_message_with_errors_first_and_no_secret_in_logs(monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    with Receiver() as receiver:
        monkeypatch.setenv(alerts.ALERT_URLS_ENV, _url(receiver))
        sent = alerts.notify_report({"status": "published", "message": "published 9 marts", "run_id": "r1", "new_alerts": ALERTS})
    assert sent.sent and sent.channels == 1
    assert len(receiver.messages) == 1
    message = receiver.messages[0]["body"]
    assert message["title"] == "citytrade run published: 1 error(s), 2 warning(s)"
    text = message["message"]
    hierarchy = text.index("[hierarchy] China 中国 (000000) 2024")
    assert text.index("Errors (1):") < hierarchy < text.index("Warnings (2):") < text.index("[growth_outlier]")
    assert SECRET not in caplog.text and SECRET not in sent.outcome
    assert "127.0.0.1" in sent.outcome


def test_a_clean_run_sends_nothing_and_a_dead_channel_does_not_raise(monkeypatch):
    with Receiver() as receiver:
        monkeypatch.setenv(alerts.ALERT_URLS_ENV, _url(receiver))
        quiet = alerts.notify_report({"status": "published", "message": "published", "run_id": "r2", "new_alerts": []})
        port = receiver.port
    assert not quiet.sent and receiver.messages == []
    monkeypatch.setenv(alerts.ALERT_URLS_ENV, f"json://alice:{SECRET}@127.0.0.1:{port}/hook")  # nobody listens any more
    failed = alerts.notify_report({"status": "blocked", "message": "nothing published", "run_id": "r3", "new_alerts": ALERTS})
    assert not failed.sent and "NOT sent" in failed.outcome and SECRET not in failed.outcome


def _complete_top100_with(count: int) -> str:
    """A list published as complete with `count` entries: made up, marked synthetic."""
    with open(SEEDS_DIR / "areas.csv", encoding="utf-8") as handle:
        cities = [row["name_zh"] for row in csv.DictReader(handle) if row["level"] == "city"][:count]
    return "year,rank,area,score\n" + "".join(f"2024,{rank},{city},{90 - rank * 0.5:.2f}\n" for rank, city in enumerate(cities, start=1))


def test_blocked_run_keeps_the_publish_exits_3_with_one_line_and_sends_one_alert(raw_dir, home):
    write_release(raw_dir, "trade.csv", "area,year,month_from,month_to,total\nShenzhen,2024,1,12,4.50\nShanghai,2024,1,12,4.27\n",
                  synthetic="true")  # fmt: skip
    first = run_cli("run", "--raw-dir", str(raw_dir), "--home", str(home))
    assert first.returncode == 0, first.stderr[-2000:]
    published = home / "published" / "citytrade.duckdb"
    before = published.read_bytes()
    files_before = sorted(str(path.relative_to(home / "published")) for path in (home / "published").rglob("*"))

    write_release(raw_dir, "top100_2024.csv", _complete_top100_with(99), format="top100-v1", complete="true", synthetic="true",
                  unit=None, basis=None)  # fmt: skip
    with Receiver() as receiver:
        second = run_cli("run", "--raw-dir", str(raw_dir), "--home", str(home), env={alerts.ALERT_URLS_ENV: _url(receiver)})
    assert second.returncode == 3, second.stderr[-2000:]
    reason = [line for line in second.stderr.splitlines() if line.startswith("citytrade: nothing published")]
    assert len(reason) == 1 and "top100_list_size" in reason[0]
    assert published.read_bytes() == before
    # the publish staged while the mart gate ran was dropped: no staging file, no new Parquet version
    assert sorted(str(path.relative_to(home / "published")) for path in (home / "published").rglob("*")) == files_before

    assert len(receiver.messages) == 1
    body = receiver.messages[0]["body"]
    assert body["title"].startswith("citytrade run blocked: ")
    assert "nothing published" in body["message"] and "top100_list_size" in body["message"]
    assert body["message"].index("Errors (1):") < body["message"].index("- [top100_list_size] 99 row(s) of top100_competitiveness")
    assert "a list published as complete has exactly 100 entries" in body["message"]
    leaked = [str(path) for path in home.rglob("*") if path.is_file() and SECRET.encode() in path.read_bytes()]
    assert SECRET not in second.stdout + second.stderr and leaked == []

    listed = run_cli("alerts", "--raw-dir", str(raw_dir), "--home", str(home))
    assert listed.returncode == 0, listed.stderr[-2000:]
    first_line = listed.stdout.splitlines()[0]
    assert first_line.startswith("error") and "top100_list_size" in first_line


def test_channels_from_a_prefect_secret_block_reach_the_receiver(prefect_harness, raw_dir, home, monkeypatch, caplog):
    from prefect.blocks.system import Secret

    from conftest import run_flow

    caplog.set_level(logging.DEBUG)
    write_release(raw_dir, "trade.csv", "area,year,month_from,month_to,total,total_yoy_pct\nShenzhen,2023,1,12,3.87,\nShenzhen,2024,1,12,4.50,25.0\n",
                  synthetic="true")  # fmt: skip
    monkeypatch.delenv(alerts.ALERT_URLS_ENV, raising=False)
    monkeypatch.setenv(alerts.ALERT_SECRET_BLOCK_ENV, "citytrade-test-alert-urls")
    monkeypatch.setenv("CITYTRADE_AS_OF", "2025-02-01")  # 2024 city figures are fresh then: one warning only
    with Receiver() as receiver:
        Secret(value=_url(receiver)).save("citytrade-test-alert-urls", overwrite=True)
        report = run_flow(raw_dir, home)
    assert report.status == "published"
    assert len(receiver.messages) == 1
    body = receiver.messages[0]["body"]
    assert body["title"] == "citytrade run published: 0 error(s), 1 warning(s)"
    assert (
        "- [growth_vs_levels_total] Shenzhen 深圳市 (440300) 2024 (firm_location): published total growth 25.0% but the levels "
        "(4.50 vs 3.87 trillion yuan a year before) give 16.00% to 16.56% (often a revised base)"
    ) in body["message"].splitlines()
    assert SECRET not in caplog.text
