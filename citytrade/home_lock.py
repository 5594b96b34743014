"""The lock that keeps two runs off one home (`<home>/run.lock`): taken, and handed over across an exec.

A plain flock: the OS drops it when its holder dies, even by SIGKILL. citytrade.pipeline.run_lock takes it for a
run; citytrade.launch takes it before it becomes Prefect's engine, so that the run's dbt worker parses the project
(which writes the home's partial-parse file) under it meanwhile, and hands it over to the flow there (issue #8).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from pathlib import Path
from typing import IO

HANDED_OVER_ENV = "CITYTRADE_RUN_LOCK_HANDED_OVER"  # JSON: {"path": the lock file, "fd": its descriptor}


class RunLocked(RuntimeError):
    """Another run holds this home."""


def acquire(lock_path: Path, wait: bool = False) -> IO[str]:
    """Take the home's lock (RunLocked if another run holds it and not `wait`); the open file holds it."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise RunLocked(f"another citytrade run is using {lock_path.parent} ({holder}); wait for it to finish or pass --wait") from None
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} since {dt.datetime.now().isoformat(timespec='seconds')}")  # an exec keeps the pid
    handle.flush()
    return handle


def hand_over(handle: IO[str], lock_path: Path) -> None:
    """Keep the lock across this process's coming exec (its file stays open there) and say where it is."""
    os.set_inheritable(handle.fileno(), True)
    os.environ[HANDED_OVER_ENV] = json.dumps({"path": str(lock_path), "fd": handle.fileno()})


def adopt(lock_path: Path) -> IO[str] | None:
    """The lock of `lock_path` handed over before this process exec'd, now held here; None if none was. A lock handed
    over for another home is let go."""
    handed = os.environ.pop(HANDED_OVER_ENV, None)
    if not handed:
        return None
    try:
        entry = json.loads(handed)
        handle = os.fdopen(entry["fd"], "a+")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    os.set_inheritable(handle.fileno(), False)
    if Path(entry["path"]) != lock_path:
        handle.close()  # the flock goes with its last descriptor
        return None
    return handle
