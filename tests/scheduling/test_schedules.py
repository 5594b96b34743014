"""The cron schedules of prefect.yaml fire on the intended days and hours, Beijing time, as Prefect's scheduler computes them."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import yaml
from prefect.server.schemas.schedules import CronSchedule

from conftest import REPO

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.timezone.utc)  # 2027-01-01 00:00 in Shanghai


def schedules() -> dict[str, list[dict]]:
    config = yaml.safe_load((REPO / "prefect.yaml").read_text())
    return {d["name"]: d.get("schedules", []) for d in config["deployments"]}


def next_runs(schedule: dict, n: int) -> list[dt.datetime]:
    cron = CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])
    return [date.astimezone(SHANGHAI) for date in asyncio.run(cron.get_dates(n=n, start=START))]


def test_monthly_release_runs_on_the_21st_and_26th_at_0930_beijing_time_every_month():
    (schedule,) = schedules()["monthly-customs-release"]
    assert schedule["timezone"] == "Asia/Shanghai"
    runs = next_runs(schedule, 24)
    assert [(r.month, r.day, r.hour, r.minute) for r in runs[:4]] == [(1, 21, 9, 30), (1, 26, 9, 30), (2, 21, 9, 30), (2, 26, 9, 30)]
    assert {(r.day, r.hour, r.minute) for r in runs} == {(21, 9, 30), (26, 9, 30)}
    assert Counter((r.year, r.month) for r in runs) == {(2027, month): 2 for month in range(1, 13)}
    assert {r.astimezone(dt.timezone.utc).hour for r in runs} == {1}  # 01:30 UTC: the zone is applied, not UTC


def test_landing_zone_watch_runs_every_20_minutes_from_8_to_2240_beijing_time():
    (schedule,) = schedules()["landing-zone-watch"]
    assert schedule["timezone"] == "Asia/Shanghai"
    runs = next_runs(schedule, 45 * 3)
    per_day = Counter(r.date() for r in runs)
    assert list(per_day.values()) == [45, 45, 45]  # 15 hours x 3 ticks
    assert {(r.hour, r.minute) for r in runs} == {(h, m) for h in range(8, 23) for m in (0, 20, 40)}
    assert min(runs).time() == dt.time(8, 0) and max(runs).time() == dt.time(22, 40)
    gaps = {later.timestamp() - earlier.timestamp() for earlier, later in zip(runs, runs[1:]) if earlier.date() == later.date()}
    assert gaps == {20 * 60}


def test_backfill_is_run_by_hand_only():
    assert schedules()["backfill"] == []
