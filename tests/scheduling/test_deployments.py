"""prefect.yaml on a real server: create the pool, deploy, trigger every deployment, run a worker, read the artifacts."""

from __future__ import annotations

import hashlib
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
import yaml

from conftest import REPO, SAMPLE_RAW
from harness import PREFECT_BIN, prefect_server, stop_group  # noqa: F401 (fixture)

DEPLOYMENTS = {
    "monthly-customs-release": "citytrade-pipeline",
    "landing-zone-watch": "citytrade-landing-zone-watch",
    "backfill": "citytrade-backfill",
}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published_marts(home: Path) -> dict[str, int]:
    con = duckdb.connect(str(home / "published" / "citytrade.duckdb"), read_only=True)
    try:
        names = [n for (n,) in con.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()]
        return {name: con.execute(f"select count(*) from marts.{name}").fetchone()[0] for name in names}
    finally:
        con.close()


def trigger(server, deployment: str, **params) -> str:
    """`prefect deployment run flow/deployment --param k=v`, as a user types it; returns the flow run id."""
    args = ["deployment", "run", f"{DEPLOYMENTS[deployment]}/{deployment}"]
    for key, value in params.items():
        args += ["--param", f"{key}={value}"]
    out = server.cli(*args).stdout
    return re.search(r"UUID:\s*([0-9a-f-]{36})", out).group(1)


def start_worker(server, **extra_env: str) -> subprocess.Popen:
    """`prefect worker start --pool citytrade --run-once` as Prefect documents it, in its own group: no CITYTRADE_REPO,
    started from a folder that is not the checkout (the pull step finds the checkout citytrade is installed from)."""
    environment = {key: value for key, value in {**server.env, **extra_env}.items() if key != "CITYTRADE_REPO"}
    return subprocess.Popen(
        [PREFECT_BIN, "worker", "start", "--pool", "citytrade", "--run-once"],
        cwd=server.home, env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip


def run_worker(server, **extra_env: str) -> str:
    """A --run-once worker to its end; its output."""
    worker = start_worker(server, **extra_env)
    try:
        out, _ = worker.communicate(timeout=900)
    finally:
        stop_group(worker)
    assert worker.returncode == 0, out
    return out


@pytest.fixture(scope="module")
def client(prefect_server):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_server.url}):
        with get_client(sync_client=True) as client:
            yield client


@pytest.fixture(scope="module")
def deployed(prefect_server, client):
    """The pool first, then `prefect deploy --all` from the repo; schedules paused so only triggered runs happen."""
    prefect_server.cli("work-pool", "create", "citytrade", "--type", "process")
    prefect_server.cli("--no-prompt", "deploy", "--all")  # CITYTRADE_REPO deliberately unset: nothing resolved now
    deployments = {d.name: d for d in client.read_deployments()}
    for deployment in deployments.values():
        for schedule in client.read_deployment_schedules(deployment.id):
            client.update_deployment_schedule(deployment.id, schedule.id, active=False)
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateName

    scheduled = FlowRunFilter(state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Scheduled"])))
    for run in client.read_flow_runs(flow_run_filter=scheduled):
        if run.auto_scheduled:
            client.delete_flow_run(run.id)
    return deployments


@pytest.fixture(scope="module")
def triggered(prefect_server, client, deployed, tmp_path_factory):
    """Every deployment triggered once, each on its own home, then one worker runs them all."""
    base = tmp_path_factory.mktemp("deployed-runs")
    raw_copy = base / "landing"
    shutil.copytree(SAMPLE_RAW, raw_copy)
    homes = {name: base / name for name in DEPLOYMENTS}
    runs = {
        "monthly-customs-release": trigger(prefect_server, "monthly-customs-release", raw_dir=SAMPLE_RAW, home=homes["monthly-customs-release"]),
        "landing-zone-watch": trigger(prefect_server, "landing-zone-watch", raw_dir=raw_copy, home=homes["landing-zone-watch"]),
        "backfill": trigger(prefect_server, "backfill", raw_dir=SAMPLE_RAW, home=homes["backfill"], years="[2025, 2026]"),
    }
    worker_log = run_worker(prefect_server)
    return {"runs": runs, "homes": homes, "raw_copy": raw_copy, "worker_log": worker_log}


def test_deployments_match_prefect_yaml_and_bake_in_no_path(deployed):
    config = yaml.safe_load((REPO / "prefect.yaml").read_text())
    assert set(deployed) == {d["name"] for d in config["deployments"]} == set(DEPLOYMENTS)
    for deployment in deployed.values():
        assert deployment.work_pool_name == "citytrade"
        assert deployment.pull_steps == [{"citytrade.scheduling.work_in_checkout": {}}], deployment.name
        assert str(REPO) not in str(deployment.model_dump()), deployment.name


def test_every_deployment_runs_to_completed_and_publishes_the_marts(client, triggered):
    for name, run_id in triggered["runs"].items():
        run = client.read_flow_run(run_id)
        assert run.state.is_completed(), f"{name}: {run.state.name} {run.state.message}\n{triggered['worker_log'][-3000:]}"
        marts = published_marts(triggered["homes"][name])
        assert marts["city_trade_ranking"] > 0, name
    backfilled = sorted(p.relative_to(triggered["homes"]["backfill"] / "backfill" / "2025-2026").as_posix()
                        for p in (triggered["homes"]["backfill"] / "backfill" / "2025-2026").rglob("*.csv"))  # fmt: skip
    assert backfilled == ["nbs/A060101.csv", "nbs/A060201.csv", "press/city_province_trade_press_2020_2025.csv",
                          "press/national_trade_2022_2025.csv"]  # fmt: skip


def test_artifacts_of_a_run_are_readable_through_the_api(client, triggered):
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    run_id = triggered["runs"]["monthly-customs-release"]
    artifacts = {a.key: a for a in client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))}
    assert {"validation-summary", "rankings-summary", "dbt-nodes-pre-gate", "dbt-nodes-marts"} <= set(artifacts)
    assert "status: **published**" in artifacts["validation-summary"].data
    # Shenzhen leads the six cities with 2025 figures; among all cities it could be 1st to 5th (docs/rank_bounds.md)
    assert re.search(r"\| 1–5 \| Shenzhen \(深圳", artifacts["rankings-summary"].data), artifacts["rankings-summary"].data
    assert "6 of 337 cities have figures for 2025 on this basis (331 missing, 33.7% of national trade)" in artifacts["rankings-summary"].data
    nodes = {row["node"]: row["status"] for row in yaml.safe_load(artifacts["dbt-nodes-marts"].data)}
    assert nodes["city_trade_ranking"] == "success"


def test_the_watch_does_nothing_when_no_release_changed_and_pulls_and_runs_when_a_remote_one_did(prefect_server, client, triggered, tmp_path):
    home = triggered["homes"]["landing-zone-watch"]
    published = home / "published" / "citytrade.duckdb"
    before = sha(published)

    quiet = trigger(prefect_server, "landing-zone-watch", raw_dir=triggered["raw_copy"], home=home)
    run_worker(prefect_server)
    assert client.read_flow_run(quiet).state.is_completed()
    assert sha(published) == before
    assert "nothing to do" in latest_artifact(client, quiet, "landing-zone-watch")

    # a revised sidecar appears on a remote site (a real HTTP server on loopback) listed in a sources file
    remote = tmp_path / "remote"
    remote.mkdir()
    shutil.copy(SAMPLE_RAW / "press" / "top100_2022_partial.csv", remote)
    sidecar = (SAMPLE_RAW / "press" / "top100_2022_partial.meta.yaml").read_text(encoding="utf-8")
    (remote / "top100_2022_partial.meta.yaml").write_text(sidecar + "retrieved_on: 2026-11-01\n", encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(remote)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    listing = tmp_path / "sources.yaml"
    listing.write_text(
        f"sources:\n  - url: http://127.0.0.1:{server.server_address[1]}/top100_2022_partial.csv\n"
        "    target: press/top100_2022_partial.csv\n", encoding="utf-8",
    )  # fmt: skip
    try:
        busy = trigger(prefect_server, "landing-zone-watch", raw_dir=triggered["raw_copy"], home=home, sources_file=listing)
        run_worker(prefect_server)
    finally:
        server.shutdown()
        server.server_close()
    assert client.read_flow_run(busy).state.is_completed()
    assert "press/top100_2022_partial.csv" in latest_artifact(client, busy, "landing-zone-watch")
    assert sha(published) != before
    assert (triggered["raw_copy"] / "press" / "top100_2022_partial.meta.yaml").read_text(encoding="utf-8").endswith("retrieved_on: 2026-11-01\n")
    fetched = [json.loads(line) for line in (home / "logs" / "sources.jsonl").read_text().splitlines()]
    assert {(f["path"], f["status"], f["sha256"]) for f in fetched} == {
        ("press/top100_2022_partial.csv", "unchanged", sha(remote / "top100_2022_partial.csv")),
        ("press/top100_2022_partial.meta.yaml", "changed", sha(remote / "top100_2022_partial.meta.yaml")),
    }


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def latest_artifact(client, run_id: str, key: str) -> str:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    found = client.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]), key=ArtifactFilterKey(any_=[key]))
    )
    assert found, f"no {key} artifact on run {run_id}"
    return found[0].data


def test_status_lists_past_and_next_runs_apart_in_local_time(prefect_server, triggered):
    """A run scheduled two days ahead is a next run, never a last one; times are this machine's, with its zone."""
    ahead = prefect_server.cli("deployment", "run", "citytrade-pipeline/monthly-customs-release", "--start-in", "2 days").stdout
    assert "Scheduled start time" in ahead, ahead
    result = subprocess.run(
        [sys.executable, "-m", "citytrade.cli.main", "status", "--home", str(triggered["homes"]["monthly-customs-release"])],
        cwd=REPO, env=prefect_server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"Prefect API: {prefect_server.url}" in result.stdout
    last, upcoming = result.stdout.split("last runs (Prefect):")[1].split("next scheduled runs:")
    upcoming = upcoming.split("published:")[0]
    zone = dt.datetime.now().astimezone().strftime("%Z")
    stamp = rf"(\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d) {zone}"
    assert re.search(rf"{stamp}\s+\d+ s\s+COMPLETED\s+citytrade-pipeline/monthly-customs-release", last), last
    assert "SCHEDULED" not in last
    following = re.findall(rf"{stamp}\s+citytrade-pipeline/monthly-customs-release", upcoming)
    assert following, upcoming
    now = dt.datetime.now().replace(microsecond=0)
    assert all(dt.datetime.fromisoformat(when) > now + dt.timedelta(days=1) for when in following), upcoming
    assert "published:" in result.stdout and re.search(r"\d+ marts from \d+ release", result.stdout)