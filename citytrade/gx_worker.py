"""GX in a helper process of the run, started with the run, so that GX's import overlaps the ingest and dbt.

Importing great_expectations takes 2.3 s (scipy, altair and sqlalchemy, which the worker defers or hides), and a run
needs it only at the row gate, 5-8 s in. A run starts this worker first (`citytrade run` against a running server,
else the flow); it imports GX on the other core while this process ingests and builds (issue #8). The run's process
keeps the warehouse and extracts each relation to a file (citytrade.quality); the worker runs the same GX functions
on those files that would otherwise run in-process and answers with plain data.
It is a helper process (citytrade.helper_process): if it dies or fails, the gate cannot run: the run fails, it
never passes.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
import threading
from pathlib import Path
from typing import ContextManager

from citytrade.helper_process import HelperKind, HelperProcess, begin, serve
from citytrade.quality import CheckCouldNotRun

GX_WORKER = HelperKind("citytrade.gx_worker", "GX worker", CheckCouldNotRun, {"CheckCouldNotRun": CheckCouldNotRun})


def current() -> HelperProcess | None:
    """The run's GX worker, if one is running in this process."""
    return GX_WORKER.current


def running(log_path: Path) -> ContextManager[HelperProcess]:
    """A GX worker for the length of the block (the one already running, if `citytrade run` started it);
    quality.run_checkpoint and build_data_docs use it meanwhile."""
    return GX_WORKER.running(log_path)


# Modules GX imports at its start only for what citytrade's suites never use: scipy.stats for the KL-divergence
# and KS-test expectations, altair for their charts. They are about a third of GX's import (5.1-7.1 s -> 3.1-4.4 s
# for `import great_expectations` on the 2-core machine on a slow day); deferred, each is loaded, whole and as
# usual, the first time anything reads one of its names.
DEFERRED_IMPORTS = frozenset({"scipy.stats", "altair"})


class DeferredImports(importlib.abc.MetaPathFinder):
    """Finds the modules in `names` as the other finders do, with importlib's LazyLoader in front of their loader."""

    def __init__(self, names: frozenset[str]):
        self.names = names

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def defer_imports(names: frozenset[str] = DEFERRED_IMPORTS) -> None:
    """Defer `names` in this process from now on (once: a second call changes nothing)."""
    if not any(isinstance(finder, DeferredImports) for finder in sys.meta_path):
        sys.meta_path.insert(0, DeferredImports(names))


# SQLAlchemy, which GX imports at its start if it is installed (it is: Prefect's server needs it), for its SQL data
# sources only. citytrade's checkpoints read Arrow files with GX's pandas engine, so the worker hides it and GX takes
# it for absent, as it does where it is not installed: 0.28 CPU s less of every cold run's GX import (1.66 -> 1.38 s,
# mean of five, issue #8), on two cores a cold run keeps busy from start to end.
NOT_FOR_GX = frozenset({"sqlalchemy"})


class Hidden(importlib.abc.MetaPathFinder):
    """Makes the packages in `names` (and their modules) fail to import, as if they were not installed."""

    def __init__(self, names: frozenset[str]):
        self.names = names

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".", 1)[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden from the GX worker)", name=fullname)
        return None


def hide_imports(names: frozenset[str] = NOT_FOR_GX) -> None:
    """Hide `names` from imports in this process from now on (before any of them is imported; once)."""
    if not any(isinstance(finder, Hidden) for finder in sys.meta_path):
        sys.meta_path.insert(0, Hidden(names))


# GX's import runs below the run's CPU priority (nice 10). It overlaps the start of a cold run, when the run's
# process imports Prefect and ingests and the dbt worker imports dbt and parses: three processes on two cores, and
# only GX is not needed yet (the row gate comes once the first build is done). At an equal share its 2 CPU s slowed
# the other two; below them it takes what they leave, and is still ready before the row gate (issue #8). Only the
# import: on Linux a nice value is a thread's, and the requests are served at the run's priority, since a gate is
# on the critical path itself, beside a Prefect server or worker on the same machine (and a process cannot take
# its priority back without privileges).
NICENESS = 10


def import_below_the_run(module: str, niceness: int = NICENESS) -> None:
    """Import `module` in a thread of its own at `niceness` more than this process's, and wait for it; an error of
    the import is raised here."""
    failed: list[BaseException] = []

    def work() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(os.getpriority(os.PRIO_PROCESS, 0) + niceness, 19))
            importlib.import_module(module)
        except BaseException as exc:  # raised again below, in the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=work, name=f"import-{module}")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def main() -> None:
    answers = begin()
    defer_imports()
    hide_imports()
    import_below_the_run("great_expectations")  # the point of the worker: this import, before the first request

    from citytrade import quality

    serve(answers, {"checkpoint": quality.gx_checkpoint, "docs": quality.gx_data_docs}, passed_on=(CheckCouldNotRun,))


if __name__ == "__main__":
    main()
