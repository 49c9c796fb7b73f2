"""Process faults: the coordinator killed alone (SIGKILL, SIGTERM) must not leave worker processes
behind that keep committing shards, and a dask cluster that loses every worker must end the run
with a typed error instead of waiting forever. Every case ends with ``--resume`` completing the
store to the same arrays as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from test_run import _assert_same_store, _small_nuclei

from harmonize.errors import StoreError
from harmonize.pipeline import load_config, run
from harmonize.store import open_store

#: rich wraps a piped error message at 80 columns: give it room to show it is one line
_ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "500"}
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of a live process, None when it is gone (a zombie counts as gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = text[text.rindex(")") + 2 :].split()[:2]
    return None if state in "ZX" else (state, int(ppid))


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (scans /proc: ``task/*/children`` is not always built)."""
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and (st := _stat(int(d.name))) is not None:
            parents[int(d.name)] = st[1]
    out: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        kids = {c for c, pp in parents.items() if pp == p}
        todo.extend(kids - out)
        out |= kids
    return out


def _committed(url: Path) -> int:
    import warnings

    import zarr

    try:
        with warnings.catch_warnings():  # a store being written holds ``*.partial`` files
            warnings.simplefilter("ignore")
            g = zarr.open_group(str(url), mode="r")
            return sum(
                int((g["sources"][s]["shard_done"][:] != "").sum())
                for s in g["sources"].group_keys()
            )
    except Exception:
        return 0


def _configs(tmp_path: Path, n: int = 10, **executor):
    """A clean store written in-process and a YAML config for the store to interrupt."""
    cfg, _ = _small_nuclei(tmp_path, n=n, samples_per_shard=1)
    clean = cfg.model_copy(
        update={"output": cfg.output.model_copy(update={"path": str(tmp_path / "clean.zarr")})}
    ).with_base(None)
    run(clean, workers=1)
    data = clean.resolved()
    data["output"]["path"] = str(tmp_path / "killed.zarr")
    data["executor"] = {**data.get("executor", {}), **executor}
    cfg_path = tmp_path / "killed.yaml"
    cfg_path.write_text(yaml.safe_dump(data))
    return cfg_path, tmp_path / "clean.zarr", tmp_path / "killed.zarr"


def _start_and_wait_for_a_commit(cfg_path: Path, store: Path, *args: str, children: bool = True):
    """Start ``harmonize run`` in a subprocess; return it once a shard is committed and (with
    ``children``) its worker processes have started (their pids with it)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harmonize", "run", str(cfg_path), "--quiet", *args],
        env=_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if _committed(store) >= 1:
            kids = _descendants(proc.pid)
            if kids or not children:
                return proc, kids
        time.sleep(0.01)
    proc.kill()
    _, err = proc.communicate()
    pytest.fail(f"the run ended (rc {proc.returncode}) before it could be killed: {err[-800:]!r}")


def _wait_gone(pids: set[int], seconds: float) -> tuple[set[int], float]:
    t0 = time.monotonic()
    alive = set(pids)
    while alive and time.monotonic() - t0 < seconds:
        alive = {p for p in alive if _stat(p) is not None}
        time.sleep(0.02)
    return alive, time.monotonic() - t0


def _resume_matches_clean(cfg_path: Path, clean: Path, store: Path) -> None:
    with pytest.raises(StoreError, match="incomplete"):
        open_store(store)
    report = run(load_config(cfg_path), resume=True, workers=1)
    assert report.resumed_shards >= 1
    assert open_store(store).complete
    _assert_same_store(str(clean), str(store))


@linux_only
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_workers_die_with_their_coordinator(tmp_path: Path, sig: signal.Signals) -> None:
    """Killing the coordinator alone (not its process group) takes its spawned workers and
    multiprocessing's resource tracker down within seconds: no shard is committed after it, the
    caller's pipes reach EOF, and ``--resume`` completes the store."""
    cfg_path, clean, store = _configs(tmp_path)
    proc, kids = _start_and_wait_for_a_commit(cfg_path, store, "-j", "2")
    os.kill(proc.pid, sig)
    try:
        # EOF on stdout/stderr: nothing (no orphan) holds the caller's pipes any more
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        for p in _descendants(proc.pid) | kids:
            os.kill(p, signal.SIGKILL)
        proc.kill()
        proc.communicate()
        pytest.fail("the coordinator did not exit on its signal, or an orphan kept its pipes open")
    alive, _ = _wait_gone(kids, 5.0)
    for p in alive:  # do not leave them running after the test
        os.kill(p, signal.SIGKILL)
    assert not alive, f"processes outlived their coordinator: {sorted(alive)}"
    before = _committed(store)
    time.sleep(1.0)
    assert _committed(store) == before, "shards were committed after the coordinator died"
    if sig == signal.SIGTERM:
        assert proc.returncode == 2
        lines = err.decode().strip().splitlines()
        assert len(lines) == 1 and "SIGTERM" in lines[0] and "--resume" in lines[0], err
        assert not Path(str(store) + ".lock").exists()
    else:
        assert proc.returncode == -signal.SIGKILL
    _resume_matches_clean(cfg_path, clean, store)


def test_a_worker_whose_coordinator_died_does_not_commit(tmp_path: Path) -> None:
    """The commit guard on its own (without the kernel's parent-death signal): a pool worker whose
    parent is not its coordinator any more writes the shard's pixels but never its commit marker,
    and exits."""
    import pickle

    import zarr

    from harmonize.pipeline.plan import make_plan

    cfg, _ = _small_nuclei(tmp_path, n=2, samples_per_shard=1)
    run(cfg, workers=1)
    task = make_plan(cfg).tasks()[0]
    g = zarr.open_group(cfg.output.path, mode="r+")
    done = g["sources"][task.layout.name]["shard_done"]
    done[task.shard] = ""  # as if the shard were in flight when the coordinator died
    (tmp_path / "task.pkl").write_bytes(pickle.dumps(task))
    code = (
        "import os, pickle, sys\n"
        "import importlib; r = importlib.import_module('harmonize.pipeline.execute')\n"
        "r._COORDINATOR_PID = os.getppid() + 1000000  # not our parent: it died\n"
        f"r.process_shard(pickle.loads(open({str(tmp_path / 'task.pkl')!r}, 'rb').read()))\n"
        "sys.exit(0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=_ENV, capture_output=True, timeout=120)
    assert proc.returncode == 70, proc.stderr.decode()[-800:]
    assert done[task.shard] == "", "an orphaned worker committed a shard"


@linux_only
def test_worker_watchdog_ends_an_orphan_without_pdeathsig(tmp_path: Path) -> None:
    """The portable fallback: the watchdog thread alone (no prctl) ends a worker soon after its
    parent dies."""
    worker = (
        "import os, time\n"
        "import importlib; r = importlib.import_module('harmonize.pipeline.execute')\n"
        "r._COORDINATOR_PID = os.getppid()\n"
        "import threading\n"
        "threading.Thread(target=r._watch_coordinator, args=(0.05,), daemon=True).start()\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = (
        "import subprocess, sys\n"
        f"p = subprocess.Popen([sys.executable, '-c', {worker!r}], stdout=subprocess.PIPE)\n"
        "assert p.stdout.readline().strip() == b'ready'\n"
        "print(p.pid, flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", parent], env=_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        pytest.fail(f"the worker did not start its watchdog: {proc.communicate()[1][-800:]!r}")
    pid = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    alive, seconds = _wait_gone({pid}, 5.0)
    for p in alive:
        os.kill(p, signal.SIGKILL)
    assert not alive, "the orphan outlived its parent"
    assert seconds < 2.0


@pytest.mark.slow  # starts a dask cluster and waits out its lost workers
def test_dask_run_fails_when_every_worker_is_gone(tmp_path: Path) -> None:
    """``--scheduler`` against a cluster that loses its only worker: after
    ``executor.worker_timeout`` seconds without any worker the CLI says so on one line and exits 2;
    the store is incomplete and ``--resume`` (local executor) completes it."""
    distributed = pytest.importorskip("distributed")
    timeout = 3.0
    cfg_path, clean, store = _configs(tmp_path, worker_timeout=timeout)
    with (
        distributed.LocalCluster(
            n_workers=0, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                cluster.scheduler_address,
                "--no-nanny",
                "--nthreads",
                "1",
                "--no-dashboard",
            ],
            env=_ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            client.wait_for_workers(1, timeout=60)
            proc, _ = _start_and_wait_for_a_commit(
                cfg_path, store, "--scheduler", cluster.scheduler_address, children=False
            )
            worker.kill()
            worker.wait()
            t0 = time.monotonic()
            try:
                _, err = proc.communicate(timeout=timeout + 30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                pytest.fail("the run kept waiting for workers that are gone")
            seconds = time.monotonic() - t0
        finally:
            worker.kill()
            worker.wait()
    assert proc.returncode == 2, err.decode()[-800:]
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1, err.decode()
    assert "no worker" in lines[0] and cluster.scheduler_address in lines[0], lines[0]
    assert "worker_timeout" in lines[0] and "--resume" in lines[0], lines[0]
    assert timeout - 0.5 <= seconds <= timeout + 15, seconds
    _resume_matches_clean(cfg_path, clean, store)


def test_a_task_that_kills_its_dask_worker_is_an_executor_error() -> None:
    """A shard task that takes its worker down every time ends in dask's ``KilledWorker``, which
    the run reports as :class:`ExecutorError`."""
    import functools
    import importlib
    from types import SimpleNamespace

    pytest.importorskip("distributed")
    import dask

    from harmonize.errors import ExecutorError

    run_mod = importlib.import_module("harmonize.pipeline.execute")
    # process_shard opens the task's reader first: this one ends the worker process
    killer = SimpleNamespace(reader=SimpleNamespace(open=functools.partial(os._exit, 1)))
    t0 = time.monotonic()
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        pytest.raises(ExecutorError, match="killed its dask worker"),
    ):
        list(run_mod._dask_map([killer], None, 1))
    # a bound against hanging, not a speed claim (a loaded 2-vCPU machine took 33 s)
    assert time.monotonic() - t0 < 120
