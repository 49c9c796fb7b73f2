"""`harmonize run`: plan, create (or resume) the store, execute shard tasks, finalize, report.

Executors: ``local`` (the calling process for one worker, else a pool of spawned worker
processes) and ``dask`` (a dask.distributed cluster, or a LocalCluster when no scheduler is given).
Every executor runs the same :func:`process_shard`, so their stores are identical.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from harmonize.errors import (
    ConfigError,
    ExecutorError,
    HarmonizeError,
    RunInterruptedError,
    StoreError,
)
from harmonize.pipeline.config import (
    RunConfig,
    env_storage_options,
    load_config,
    with_storage_options,
)
from harmonize.pipeline.plan import ShardTask, make_plan
from harmonize.pipeline.report import RunReport

__all__ = ["process_shard", "run"]

_READERS: dict[Any, Any] = {}
#: per worker process: readers and open stores, reused across the shards the worker writes
_GROUPS: dict[tuple[str, str], Any] = {}


#: in a spawned pool worker: the coordinator's pid and the event it sets to stop the workers
#: (``None`` in the coordinator itself and in dask workers, which have no such parent)
_COORDINATOR_PID: int | None = None
_ABORT: Any = None
#: how often a pool worker's watchdog thread checks on its coordinator (seconds)
WATCH_INTERVAL = 0.2
#: exit codes of a pool worker that ends itself (nobody reads them: its coordinator is gone)
_EXIT_ORPHANED = 70
_EXIT_ABORTED = 71


def _configure_worker_zarr() -> None:
    import zarr

    from harmonize.store._zarr import uses_zarrs

    # several worker processes share the machine: keep each one's async I/O pool small (the
    # zarrs pipeline, set up by uses_zarrs' first call, already runs one thread per call)
    zarr.config.set({"async.concurrency": 4})
    if not uses_zarrs():
        zarr.config.set({"threading.max_workers": 2})


def _die_with_parent() -> bool:
    """Linux: have the kernel SIGKILL this process the moment its parent exits (prctl
    ``PR_SET_PDEATHSIG``). True when set. Strictly it fires when the parent *thread* that started
    this process exits: pool processes are started by the thread that calls :func:`_start_pool`
    (and ``submit``), which outlives the pool since :func:`run` shuts the pool down itself."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - no usable libc
        return False


def _coordinator_gone() -> int | None:
    """In a pool worker: the exit code to end with when its coordinator died (the worker was
    re-parented) or asked the workers to stop; ``None`` while it may go on (and outside workers)."""
    if _COORDINATOR_PID is None:
        return None
    if os.getppid() != _COORDINATOR_PID:
        return _EXIT_ORPHANED
    if _ABORT is not None and _ABORT.is_set():
        return _EXIT_ABORTED
    return None


def _exit_if_coordinator_gone() -> None:
    """End a pool worker at once, committing nothing, when its coordinator is gone."""
    code = _coordinator_gone()
    if code is not None:
        os._exit(code)


def _watch_coordinator(interval: float) -> None:
    """A pool worker's watchdog thread: the portable fallback to ``PR_SET_PDEATHSIG`` (and the way
    the coordinator's stop event reaches a busy worker)."""
    while True:
        _exit_if_coordinator_gone()
        if _ABORT is not None:
            _ABORT.wait(interval)
        else:
            time.sleep(interval)


def _init_worker(coordinator_pid: int, abort: Any, interval: float = WATCH_INTERVAL) -> None:
    """Pool initializer: tie the worker's life to its coordinator, then configure zarr."""
    global _COORDINATOR_PID, _ABORT
    _COORDINATOR_PID, _ABORT = coordinator_pid, abort
    _die_with_parent()
    _exit_if_coordinator_gone()  # the coordinator died before the prctl took effect
    threading.Thread(
        target=_watch_coordinator, args=(interval,), name="harmonize-watchdog", daemon=True
    ).start()
    _configure_worker_zarr()


def process_shard(task: ShardTask) -> dict[str, Any]:
    """Read, remap and write one shard (runs in a worker). Returns the shard summary."""
    from harmonize.datasets.base import Skipped
    from harmonize.engine.sample import remap_sample
    from harmonize.store._zarr import open_group
    from harmonize.store.writer import ShardSample, store_io, write_shard

    _exit_if_coordinator_gone()
    key = repr(task.reader)
    reader = _READERS.get(key)
    if reader is None:
        reader = _READERS[key] = task.reader.open()
    start, _ = task.layout.shard_range(task.shard)
    items = []
    want_image = "image" in task.layout.layers
    for j, ref in enumerate(task.refs):
        try:
            raw = reader.read(ref)
            hs = remap_sample(raw, task.mapping)
            img = None
            if want_image:
                img = raw.image()
                if img.shape[:2] != hs.semantic.shape:
                    from harmonize.errors import SizeMismatchError

                    raise SizeMismatchError(
                        f"image {img.shape[:2]} and labels {hs.semantic.shape} differ in size",
                        path=ref.paths[0] if ref.paths else None,
                    )
            items.append(ShardSample(start + j, hs, img))
        except HarmonizeError as exc:
            if task.on_error == "raise":
                raise
            items.append(
                ShardSample(
                    start + j,
                    None,
                    None,
                    Skipped.from_error(ref.sample_id, exc).to_dict(),
                )
            )
    gkey = (task.url, task.plan_digest)  # a new plan (or an overwritten store) reopens it
    with store_io(task.url):
        group = _GROUPS.get(gkey)
        if group is None:
            group = _GROUPS[gkey] = open_group(
                task.url, mode="r+", storage_options=dict(task.storage_options) or None
            )
        # a worker whose coordinator died ends here, before the commit marker: the shard stays
        # uncommitted (rewritten by --resume) and no orphan writes after a new run took the lock
        summary = write_shard(
            group,
            task.layout,
            task.shard,
            items,
            task.class_ids,
            before_commit=_exit_if_coordinator_gone,
        )
    summary["source"] = task.layout.name
    return summary


def _warm_worker() -> None:
    """Import the heavy modules in a fresh worker (submitted while the coordinator plans)."""
    import zarr  # noqa: F401

    import harmonize.engine.sample
    import harmonize.store.writer  # noqa: F401


def _start_pool(workers: int):
    """A pool of ``workers`` spawned processes, already importing harmonize in the background."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # spawn, never fork: zarr runs an asyncio loop in a thread, which a fork would copy mid-flight
    ctx = mp.get_context("spawn")
    abort = ctx.Event()  # set by the coordinator to stop every worker at once (SIGTERM)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(os.getpid(), abort),
    )
    pool.harmonize_abort = abort  # type: ignore[attr-defined]
    for _ in range(workers):
        pool.submit(_warm_worker)
    return pool


class _StopSignal:
    """While writing shards, SIGTERM stops the run cleanly: the handler tells the pool's workers to
    exit (they commit nothing more) and the executor loop raises :class:`RunInterruptedError`
    at its next step, after the workers' tasks have ended, so no process of this run writes after
    the run lock is released. Only the main thread may install signal handlers; elsewhere the
    signal keeps its previous meaning."""

    def __init__(self, url: str | None, abort: Any = None) -> None:
        self.url, self.abort = url, abort
        self.signum: int | None = None
        self._old: Any = None

    def __enter__(self) -> _StopSignal:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGTERM, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)

    def _handle(self, signum: int, _frame: object) -> None:
        self.signum = signum
        if self.abort is not None:
            self.abort.set()

    def check(self) -> None:
        if self.signum is not None:
            raise RunInterruptedError(
                f"stopped by {signal.Signals(self.signum).name} while writing shards; the shards "
                "committed so far are kept: run again with --resume to finish the store",
                path=self.url,
            )


def _task_url(tasks: list) -> str | None:
    return getattr(tasks[0], "url", None) if tasks else None


def _local_map(tasks: list[ShardTask], pool, processes: int = 1) -> Iterable[dict[str, Any]]:
    """Shard summaries as shards finish: the pool's processes and the coordinator share the tasks.

    The pool gets up to two tasks per process queued ahead (never idle); whenever it has enough,
    the coordinator writes a shard itself, from the other end of the list, instead of waiting. So
    ``--workers N`` spawns ``N - 1`` processes, and a spawned process's start-up (imports, numba
    cache loads: about 1.5 s of CPU) is paid once less.
    """
    if pool is None:
        with _StopSignal(_task_url(tasks)) as stop:
            for t in tasks:
                stop.check()
                yield process_shard(t)
        return
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, wait

    pending = deque(tasks)
    depth = 2 * max(1, processes)
    futures: set = set()
    with _StopSignal(_task_url(tasks), getattr(pool, "harmonize_abort", None)) as stop:
        try:
            while pending or futures:
                stop.check()
                while pending and len(futures) < depth:
                    futures.add(pool.submit(process_shard, pending.popleft()))
                finished = {f for f in futures if f.done()}
                if not finished and not pending:
                    # wake up now and then to see whether a signal asked to stop
                    finished, _ = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
                for f in finished:
                    futures.discard(f)
                    yield f.result()
                if pending:
                    stop.check()
                    yield process_shard(pending.pop())
        except BaseException:
            for f in futures:
                f.cancel()
            # tasks already handed to a worker end (committed, failed, or their worker stopped)
            # before the error leaves: the caller then releases the run lock
            wait(futures)
            stop.check()  # stopped workers fail their tasks: report the signal, not that
            raise


def _dask_map(
    tasks: list[ShardTask],
    scheduler: str | None,
    workers: int,
    worker_timeout: float = 60.0,
    poll: float = 1.0,
) -> Iterable[dict[str, Any]]:
    """Shard summaries from a dask cluster (``scheduler``, else a LocalCluster of ``workers``).

    While waiting, the scheduler's worker list is polled every ``poll`` seconds: when it has held
    no worker for ``worker_timeout`` seconds, or a task killed its worker more often than the
    scheduler allows (``KilledWorker``), the run fails with :class:`ExecutorError`; the shards
    committed so far stay committed for ``--resume``.
    """
    try:
        from distributed import Client, KilledWorker, LocalCluster, wait
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError("the dask executor needs `pip install harmonize[dask]`") from exc
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
    # the address in messages: the one given, else the local cluster's
    address = scheduler or (client.scheduler.address if client.scheduler is not None else "?")
    url = _task_url(tasks)
    futures: list = []
    # a result lost with its worker is expected here: dask's notes on it ("rescheduling", the
    # orphaned gather's AllExit) must not reach the one-line CLI error
    client_log, asyncio_log = logging.getLogger("distributed.client"), logging.getLogger("asyncio")
    old_level = client_log.level
    client_log.setLevel(logging.ERROR)
    asyncio_log.addFilter(_drop_all_exit)
    try:
        with _StopSignal(url) as stop:
            client.run(_configure_worker_zarr)
            futures = client.map(process_shard, tasks, pure=False)
            pending = set(futures)
            no_worker_since: float | None = None
            while pending:
                stop.check()
                try:
                    finished, pending = wait(pending, timeout=poll, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    finished = set()
                for f in finished:
                    # a finished task whose result lived on a worker that is gone is pending
                    # again (the scheduler computes it anew): never block on it, wait for it
                    if not f.done():
                        pending.add(f)
                        continue
                    try:
                        summary = f.result(timeout=poll)
                    except TimeoutError:
                        if f.done():
                            raise
                        pending.add(f)
                        continue
                    except KilledWorker as exc:
                        raise ExecutorError(
                            f"a shard task killed its dask worker at {address} again and again "
                            f"({exc}); the store is incomplete: fix the cause, then run again "
                            "with --resume",
                            path=url,
                        ) from None
                    yield summary
                if not pending or finished:
                    continue
                if client.scheduler_info(n_workers=1)["workers"]:
                    no_worker_since = None
                    continue
                now = time.monotonic()
                no_worker_since = now if no_worker_since is None else no_worker_since
                if now - no_worker_since >= worker_timeout:
                    raise ExecutorError(
                        f"the dask scheduler {address} has had no worker for "
                        f"{worker_timeout:g} s (executor.worker_timeout) with {len(pending)} "
                        "shard tasks left; the store is incomplete: run again with --resume "
                        "once workers are back",
                        path=url,
                    )
    finally:
        with contextlib.suppress(Exception):
            client.cancel(futures)
        # bounded: a scheduler that stopped answering must not keep the run from exiting
        with contextlib.suppress(Exception):
            client.close(timeout=10)
        if cluster is not None:
            cluster.close()
        gc.collect()
        asyncio_log.removeFilter(_drop_all_exit)
        client_log.setLevel(old_level)


def _drop_all_exit(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    return type(exc).__name__ != "AllExit"


def run(
    config: RunConfig | str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    leakage: bool | None = None,
    storage_options: dict[str, Any] | None = None,
) -> RunReport:
    """Run a config end to end and return a :class:`RunReport`.

    Parameters
    ----------
    config : RunConfig or path
        The run configuration (or its YAML file).
    resume : bool
        Finish an interrupted run: shards already committed are kept, the rest written. The plan
        must be unchanged (same config and files), else :class:`StoreError`.
    overwrite : bool
        Replace an existing store.
    workers, scheduler, executor
        Override the config's executor settings.
    progress : callable, optional
        ``progress(phase, done, total)`` after each planned sample and each written shard's samples.
    leakage : bool, optional
        Run the leakage check (:func:`harmonize.leakage.find_leakage`) on the finished store and
        add its findings to the report (``report.leakage``, also stored in the store's root
        attributes). Default: the config's ``leakage``.
    storage_options : dict, optional
        fsspec options merged over the config's ``output.storage_options`` and over the JSON in
        the environment variable ``HARMONIZE_STORAGE_OPTIONS``: the place for credentials. They
        are used, never stored (secret-looking keys are redacted in the store's ``config``).
    """
    cfg = load_config(config) if not isinstance(config, RunConfig) else config
    cfg = with_storage_options(cfg, {**env_storage_options(), **(storage_options or {})})
    t0 = time.perf_counter()
    _READERS.clear()  # in-process shards (one worker) must not reuse readers of an earlier run
    kind = executor or ("dask" if scheduler else cfg.executor.kind)
    nworkers = workers or cfg.executor.workers or os.cpu_count() or 1
    if cfg.resolve(cfg.output.path).startswith("memory://"):
        if kind == "dask":
            raise ConfigError("a memory:// store lives in one process; use the local executor")
        nworkers = 1  # worker processes would each write into their own, separate memory
    sched = scheduler or cfg.executor.scheduler
    # worker processes start (and import numba, zarr, the kernels) while the coordinator plans; the
    # coordinator is one of the ``nworkers`` itself (it writes shards too), so ``nworkers - 1``
    pool = _start_pool(nworkers - 1) if kind == "local" and nworkers > 1 else None
    used = [False]
    try:
        with run_lock(cfg.resolve(cfg.output.path)):
            return _execute(
                cfg, t0, kind, nworkers, sched, pool, used, resume, overwrite, progress, leakage
            )
    finally:
        if pool is not None:
            pool.shutdown(wait=used[0], cancel_futures=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def run_lock(url: str) -> Iterator[None]:
    """Let one run at a time write a local store: ``<store>.lock`` holds the writer's host and pid.

    A lock left by a run that is gone (killed, crashed) on this host is taken over; a live one is
    a :class:`StoreError`. Two writers on one store would write the same shards (zarr loses data
    then). ``file://`` URLs are locked like plain paths; other (remote) URL stores are not
    locked: there, run one coordinator per store.
    """
    if url.startswith("file://"):
        url = url[len("file://") :]
    if "://" in url:
        yield
        return
    lock = Path(url.rstrip("/") + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                other_host, other_pid = lock.read_text().split()
                pid = int(other_pid)
            except (OSError, ValueError):
                other_host, pid = host, -1  # unreadable or half-written: treat as stale
            if other_host != host:
                raise StoreError(
                    f"a run on host {other_host} (pid {pid}) holds {lock}; remove that file if "
                    "the run is gone",
                    path=url,
                ) from None
            if pid > 0 and pid != os.getpid() and _pid_alive(pid):
                raise StoreError(
                    f"another run (pid {pid}) is writing this store; wait for it or stop it",
                    path=url,
                ) from None
            lock.unlink(missing_ok=True)  # stale: its run is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{host} {os.getpid()}\n")
        break
    else:
        raise StoreError(f"could not take the run lock {lock}", path=url)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


#: An unlocked (remote URL) store seen "creating" for less than this may be another live run's.
CREATING_GRACE_SECONDS = 600.0


def _refuse_recent_creation(url: str, so: dict | None) -> None:
    """Remote stores are not locked: a store another run started creating recently is refused
    (it may be alive); one older than :data:`CREATING_GRACE_SECONDS` is taken as crashed."""
    from harmonize.store._zarr import open_group
    from harmonize.store.writer import parse_utc_timestamp

    meta = open_group(url, mode="r", storage_options=so).attrs.get("harmonize") or {}
    since = parse_utc_timestamp(meta.get("creating_since"))
    age = time.time() - since if since is not None else 0.0
    if age < CREATING_GRACE_SECONDS:
        raise StoreError(
            f"another run began creating this store {age:.0f} s ago and URL stores are not "
            "locked; wait for it, or pass --overwrite if it is gone",
            path=url,
        )


def _remove_partial_writes(url: str) -> None:
    """Delete the temporary files a killed writer left in a local store (zarr's local store writes
    ``<name>.<uuid>.partial`` and renames it into place; a kill in between leaves it behind)."""
    if "://" in url:
        return
    for junk in Path(url).rglob("*.partial"):
        junk.unlink(missing_ok=True)


def _execute(
    cfg, t0, kind, nworkers, sched, pool, used, resume, overwrite, progress, leakage
) -> RunReport:
    """The body of :func:`run` (``used[0]`` is set when the pool ran shard tasks)."""
    from harmonize._version import __version__
    from harmonize.store._zarr import open_group, shard_summaries
    from harmonize.store.writer import (
        create_store,
        finalize,
        store_io,
        store_state,
        utc_timestamp,
    )

    planned = [0]

    def on_plan(_source: str, n: int) -> None:
        planned[0] += n
        if progress:
            progress("plan", planned[0], 0)

    plan = make_plan(cfg, on_progress=on_plan)
    report = RunReport(
        cfg.name,
        plan.url,
        samples=plan.n_samples + len(plan.planning_skipped),
        executor=kind,
        workers=nworkers,
    )
    report.skipped.extend(plan.planning_skipped)
    so = cfg.output.storage_options or None
    done: dict[str, set[int]] = {}
    group = None
    replace = overwrite
    if resume:
        state = store_state(plan.url, so)
        if state == "creating":
            if "://" in plan.url and not plan.url.startswith("file://"):
                _refuse_recent_creation(plan.url, so)
            replace = True  # killed while creating arrays: nothing was written yet, start over
        elif state == "store":
            _remove_partial_writes(plan.url)
            group = open_group(plan.url, mode="r+", storage_options=so)
            meta = group.attrs.get("harmonize") or {}
            if meta.get("plan_digest") != plan.digest:
                if not overwrite:
                    raise StoreError(
                        "cannot resume: the config or the input files changed since this store "
                        "was started (plan digest differs); run with --overwrite to start over",
                        path=plan.url,
                    )
                group = None  # --resume --overwrite: resume when possible, else replace
            else:
                for s in plan.sources:
                    sums = shard_summaries(group, s.layout)
                    done[s.name] = {k for k, v in enumerate(sums) if v is not None}
                report.resumed_shards = sum(len(v) for v in done.values())
    if group is None:
        tables = {
            s.name: {
                "sample_id": [r.sample_id for r in s.refs],
                "split": [r.split for r in s.refs],
                "paths": [json.dumps(list(r.paths)) for r in s.refs],
            }
            for s in plan.sources
        }
        attrs = {
            "harmonize_version": __version__,
            "created": utc_timestamp(),
            "name": cfg.name,
            "ontology": plan.ontology,
            "level": plan.level,
            "class_ids": plan.class_ids.tolist(),
            "config": cfg.resolved(),
            "plan_digest": plan.digest,
            "mappings": {
                s.name: {"mapping": s.mapping_path, "report": s.mapping.report}
                for s in plan.sources
            },
            "label_spaces": {s.name: s.label_space for s in plan.sources},
        }
        with store_io(plan.url, "creating"):
            group = create_store(
                plan.url,
                [s.layout for s in plan.sources],
                tables,
                attrs,
                compression=cfg.output.compression,
                level=cfg.output.level,
                overwrite=replace,
                storage_options=so,
            )
    tasks = plan.tasks(done)
    report.shards = sum(s.layout.n_shards for s in plan.sources)
    total = plan.n_samples
    written_samples = sum(
        len(range(*s.layout.shard_range(k))) for s in plan.sources for k in done.get(s.name, ())
    )
    if progress:
        progress("write", written_samples, total)
    if kind == "dask":
        stream = _dask_map(tasks, sched, nworkers, cfg.executor.worker_timeout)
    else:
        used[0] = pool is not None and len(tasks) > 1
        stream = _local_map(tasks, pool if used[0] else None, nworkers - 1)
    for summary in stream:
        written_samples += summary["stop"] - summary["start"]
        report.processed += summary["stop"] - summary["start"]
        if progress:
            progress("write", written_samples, total)
    # gather every shard's summary (including resumed ones) for the report and finalize
    per_source: dict[str, dict[str, Any]] = {}
    for s in plan.sources:
        sums = shard_summaries(group, s.layout)
        recs = [r for sm in sums if sm for r in sm["samples"]]
        skipped = [dict(r["skipped"], source=s.name) for r in recs if "skipped" in r]
        report.skipped.extend(skipped)
        ok = [r for r in recs if "skipped" not in r]
        ids = {i: ref.sample_id for i, ref in enumerate(s.refs)}
        report.warnings.extend(
            {"source": s.name, "sample_id": ids.get(r["index"]), **w}
            for r in ok
            for w in r.get("warnings", ())
        )
        # samples that already failed while sizing have no slot, but count as skipped
        early = sum(1 for x in plan.planning_skipped if x["source"] == s.name)
        per_source[s.name] = {
            "dataset": s.layout.dataset,
            "samples": len(s.refs) + early,
            "written": len(ok),
            "skipped": len(skipped) + early,
            "instances": sum(len(r.get("instance_classes", [])) for r in ok),
            "unknown_pixels": sum(r.get("unknown_pixels", 0) for r in ok),
            "mixed_instances": sum(len(r.get("mixed_instances", [])) for r in ok),
            "height": s.layout.height,
            "width": s.layout.width,
        }
        report.written += len(ok)
    report.per_source = per_source
    report.seconds = time.perf_counter() - t0
    with store_io(plan.url, "finalizing"):
        finalize(
            group,
            [s.layout for s in plan.sources],
            {"skipped": report.skipped, "warnings": report.warnings, "report": report.to_dict()},
        )
    if cfg.leakage if leakage is None else leakage:
        _add_leakage(group, plan.url, report, so)
    return report


def _add_leakage(group, url: str, report: RunReport, so: dict | None) -> None:
    """Run the leakage check on the finished store; record it in the report and the store."""
    from harmonize.leakage import find_leakage
    from harmonize.store.access import open_store

    store = open_store(url, storage_options=so)
    if not any("image" in lay.layers for lay in store.layouts):
        report.leakage = {"skipped": "the run wrote no image layer"}
    else:
        sources = [lay.name for lay in store.layouts if "image" in lay.layers]
        report.leakage = find_leakage(store, sources=sources).to_dict()
    meta = dict(group.attrs["harmonize"])
    meta["report"] = report.to_dict()
    meta["leakage"] = report.leakage
    group.attrs["harmonize"] = meta
