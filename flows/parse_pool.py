"""The ingest's parse pool on a Prefect task runner: a large landing zone's releases parsed in worker processes
(issue #31). Its own module, so that a spawned worker imports Prefect and the parsers, not the whole pipeline flow."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import tempfile
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

from prefect import get_client, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote
from citytrade import config
from citytrade.ingest import load
from citytrade.ingest.areas import AreaResolver
from citytrade.ingest.releases import Release

# Set while a parse pool is stopping early (an error, Ctrl-C): in a worker process by its initializer, in the run's
# process for a thread pool. A running `parse releases` then returns at once instead of finishing its chunk, so that an
# interrupted run still ends, and records that it was interrupted, within the STOP_SECONDS its supervisor gives it.
parse_stop: threading.Event | None = None


@task(name="parse releases", cache_policy=NO_CACHE, persist_result=False)
def parse_releases(releases: list[Release], resolver: AreaResolver | None, scratch: str | None) -> list | str:
    """The releases' parse; from a worker process, the path of a file in `scratch` that holds it, a pickle a release.

    Not the parse itself: Prefect 3.8's process pool hands a task's return value back pickled through a pipe, which
    the run's process reads between the parses it makes itself (0.5-0.8 s for 200 releases, 17 MB), and unpickles
    once for each callback on the task's future and again for its result (3.9 ms a release, as long as parsing it).
    The file is read once, when the loader reaches it (ParseRun.result). Issue #31."""
    parsed = load.parse_releases(releases, resolver, stopped=parse_stop.is_set if parse_stop is not None else None)
    if scratch is None:  # a thread of the run's process
        return parsed
    path = os.path.join(scratch, f"{uuid.uuid4().hex}.pickle")
    with open(path, "wb") as handle:
        for outcome in parsed:  # one pickle a release, read back one at a time (ParseRun.result)
            pickle.dump(outcome, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


class TaskRunnerParsePool:
    """The ingest's parse pool (citytrade.ingest.load.ParsePool) on a Prefect task runner: each submission is one
    run of the task `parse releases`, for up to load.PARSE_CHUNK_RELEASES releases.

    By default a ProcessPoolTaskRunner: parsing is Python, which threads run one at a time (the GIL). On a cluster,
    prefect-dask's DaskTaskRunner (`DaskTaskRunner(address=...)`) fits the same place, as make_runner: any
    TaskRunner whose futures' result() gives the task's return value does. The runner is made when the pool is
    entered, that is only for a landing zone large enough to be parsed in parallel; make_runner gets the event that
    tells its tasks to stop early (parse_stop), set when the pool is left on an error or Ctrl-C."""

    def __init__(self, make_runner: Callable[[threading.Event], TaskRunner], workers: int, stop: threading.Event,
                 scratch_root: Path | None):  # fmt: skip
        self.make_runner, self.workers, self.stop, self.scratch_root = make_runner, workers, stop, scratch_root
        self.runner: TaskRunner | None = None
        self.stopped: Future | None = None  # the runner's exit, once finish() has started it
        self.scratch: str | None = None
        self.sent = 0  # releases submitted

    def __enter__(self) -> "TaskRunnerParsePool":
        if self.scratch_root is not None:  # where the workers leave their parses; gone with the pool
            self.scratch_root.mkdir(parents=True, exist_ok=True)
            self.scratch = tempfile.mkdtemp(prefix="parse-", dir=self.scratch_root)
        self.runner = self.make_runner(self.stop)
        self.runner.__enter__()
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        if exc_type is not None:
            self.stop.set()  # the running parses return at once: what they would give is not wanted
        try:
            if self.stopped is None:
                self.runner.__exit__(exc_type, *exc_info)  # shuts the pool down: its workers end, also on Ctrl-C
            else:
                self.stopped.result()  # finish() began it: wait until it has ended, raising what it raised
        finally:
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)

    def finish(self) -> None:
        """Shut the runner down in a thread of its own: its workers take 0.2-0.5 s to exit, which the run's process
        spends on its last parses instead of waiting. __exit__ waits for it."""
        if self.stopped is None:
            stopper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse-pool-stop")
            self.stopped = stopper.submit(self.runner.__exit__, None, None, None)
            stopper.shutdown(wait=False)  # its one thread ends once the runner has

    def submit(self, releases: list[Release], resolver: AreaResolver | None) -> "ParseRun":
        """One run of `parse releases`. Its arguments go quoted: Prefect would otherwise walk every release and its
        sidecar fields, looking for futures among them, in this process and again in the worker."""
        self.sent += len(releases)
        arguments = {"releases": quote(releases), "resolver": quote(resolver), "scratch": self.scratch}
        return ParseRun(self.runner.submit(parse_releases, arguments))


class ParseRun:
    """One submission's task run, as load.parse_in_order asks of a future: done() without waiting, wait(), result()."""

    def __init__(self, future: PrefectFuture):
        self.future, self.finished = future, threading.Event()
        future.add_done_callback(lambda _: self.finished.set())

    def done(self) -> bool:
        return self.finished.is_set()

    def wait(self) -> None:
        self.finished.wait()

    def result(self) -> Iterator:
        """The parses, in order, each read from the worker's file as the loader reaches it: not a whole chunk in
        memory at once, and no single read of one (0.1 s for 200 releases) that would keep the pool's threads in this
        process, which send the worker its next chunk, from running meanwhile."""
        parsed = self.future.result()
        if isinstance(parsed, list):
            yield from parsed
            return
        with open(parsed, "rb") as handle:
            while True:
                try:
                    yield pickle.load(handle)
                except EOFError:
                    break
        os.remove(parsed)


def start_parse_worker(api_url: str, stop: threading.Event) -> None:
    """A parse worker process, before its first task: report to the API of the run that started it (without it a
    worker of a run on Prefect's ephemeral API, no PREFECT_API_URL, starts an ephemeral API server of its own, 5 s of
    its first task), and heed the run's stop event."""
    global parse_stop
    os.environ.setdefault("PREFECT_API_URL", api_url)
    parse_stop = stop


def process_pool_runner(workers: int, stop: threading.Event) -> ProcessPoolTaskRunner:
    with get_client(sync_client=True) as client:
        api_url = str(client.api_url)
    return ProcessPoolTaskRunner(max_workers=workers, initializer=start_parse_worker, initargs=(api_url, stop))


def thread_pool_runner(workers: int, stop: threading.Event) -> ThreadPoolTaskRunner:
    global parse_stop
    parse_stop = stop
    return ThreadPoolTaskRunner(max_workers=workers)


def parse_pool(scratch_root: Path) -> TaskRunnerParsePool | None:
    """The parse pool the settings ask for (CITYTRADE_PARSE_WORKERS, CITYTRADE_PARSE_RUNNER), or None: one at a time.
    Nothing starts until a landing zone is large enough to be worth it (load.PARALLEL_PARSE_MIN_RELEASES). The run's
    own process is one of the parsers the setting counts: the pool has one worker fewer. Process workers leave their
    parses in a folder of scratch_root (Settings.scratch_dir: under the home, as all of a run's state)."""
    workers = config.parse_workers() - 1
    if workers < 1:
        return None
    if config.parse_runner() == "thread":
        return TaskRunnerParsePool(lambda stop: thread_pool_runner(workers, stop), workers, threading.Event(), scratch_root=None)
    # the stop event reaches the workers as they start (a process-shared event cannot go with each task)
    return TaskRunnerParsePool(lambda stop: process_pool_runner(workers, stop), workers, multiprocessing.get_context("spawn").Event(), scratch_root)
