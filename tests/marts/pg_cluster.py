"""A throwaway PostgreSQL cluster for tests: initdb into a temporary folder, listen on loopback only, stop after."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class NoPostgres(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


@dataclass
class Cluster:
    data_dir: Path
    port: int
    bin_dir: Path
    run_as: str | None
    user: str = "postgres"
    host: str = "127.0.0.1"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"


def find_bin_dir() -> Path:
    """Debian puts the server under /usr/lib/postgresql/<version>/bin; elsewhere it is on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    raise NoPostgres("no PostgreSQL server binaries (pg_ctl, initdb) found; install them (Debian: apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(cluster_user: str | None, args: list[str]) -> subprocess.CompletedProcess:
    # The server refuses to run as root: as root, run it as the `postgres` account Debian's package creates.
    command = ["runuser", "-u", cluster_user, "--", *args] if cluster_user else args
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def start_cluster() -> Cluster:
    bin_dir = find_bin_dir()
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root and there is no `postgres` user to run the server as") from None
        run_as = "postgres"
    data_dir = Path(tempfile.mkdtemp(prefix="citytrade-pg-"))
    if run_as:
        shutil.chown(data_dir, user=run_as)
    port = _free_port()
    init = _run(run_as, [str(bin_dir / "initdb"), "-D", str(data_dir / "data"), "-U", "postgres", "-A", "trust",
                         "-E", "UTF8", "--locale=C", "--no-sync"])  # fmt: skip
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
    options = f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = _run(run_as, [str(bin_dir / "pg_ctl"), "-D", str(data_dir / "data"), "-o", options, "-l",
                          str(data_dir / "server.log"), "-w", "-t", "60", "start"])  # fmt: skip
    if start.returncode != 0:
        log = (data_dir / "server.log").read_text(errors="replace") if (data_dir / "server.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {start.stderr.strip()} {log[-2000:]}")
    cluster = Cluster(data_dir=data_dir, port=port, bin_dir=bin_dir, run_as=run_as)
    _wait_ready(cluster)
    return cluster


def _wait_ready(cluster: Cluster, timeout: float = 30) -> None:
    import psycopg2

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg2.connect(cluster.dsn()).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop_cluster(cluster: Cluster) -> None:
    _run(cluster.run_as, [str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.data_dir / "data"), "-m", "fast", "-w", "stop"])
    shutil.rmtree(cluster.data_dir, ignore_errors=True)
