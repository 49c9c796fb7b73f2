"""The zarrs codec pipeline: on by default, standard bytes, and safe in forked workers."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys

import pytest
from test_store import build

from harmonize.store import open_store
from harmonize.store._zarr import uses_zarrs

SIZES = {"p": [(40, 60), (25, 70), (64, 33)], "q": [(48, 48), (30, 52)]}
LAYERS = ("semantic", "instance", "image")

pytest.importorskip("zarrs", reason="zarrs is a dependency; this checks its set-up")

#: Reads every pixel array of a store with plain zarr-python (its own Python codec pipeline, no
#: harmonize import) and prints a digest per array.
_PLAIN_READ = """
import hashlib, json, sys, zarr
assert zarr.config.get("codec_pipeline.path").endswith("BatchedCodecPipeline")
g = zarr.open_group(sys.argv[1], mode="r")
out = {}
for name in sorted(g["sources"].group_keys()):
    for layer in ("semantic", "instance", "image"):
        a = g["sources"][name][layer][...]
        out[f"{name}/{layer}"] = [str(a.dtype), list(a.shape), hashlib.sha256(a.tobytes()).hexdigest()]
print(json.dumps(out))
"""


def _digests(url: str, env: dict[str, str] | None = None) -> dict:
    res = subprocess.run(
        [sys.executable, "-c", _PLAIN_READ, url],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(res.stdout)


def test_harmonize_reads_and_writes_through_zarrs():
    assert uses_zarrs()


def test_zarrs_written_store_reads_the_same_with_plain_zarr(tmp_path):
    url, _, _ = build(tmp_path, SIZES)
    store = open_store(url)
    plain = _digests(url)
    import hashlib

    for name in store.sources:
        for layer in LAYERS:
            a = store._group["sources"][name][layer][...]
            digest = hashlib.sha256(a.tobytes()).hexdigest()
            assert plain[f"{name}/{layer}"] == [str(a.dtype), list(a.shape), digest]


def test_store_written_without_zarrs_has_the_same_pixels(tmp_path):
    """HARMONIZE_ZARRS=0 switches back to zarr's pipeline; the pixel arrays do not change."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[2]); from test_store import build; "
        "from pathlib import Path; from harmonize.store._zarr import pipeline_name; "
        "assert pipeline_name().endswith('BatchedCodecPipeline'); "
        "print(build(Path(sys.argv[1]), " + repr(SIZES) + ")[0])"
    )
    here = os.path.dirname(__file__)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    env = {**os.environ, "HARMONIZE_ZARRS": "0"}
    res = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "a"), here],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    without = res.stdout.strip().splitlines()[-1]
    with_zarrs, _, _ = build(tmp_path / "b", SIZES)
    assert _digests(without) == _digests(with_zarrs)


def _read_all(url, q):
    store = open_store(url)
    q.put({n: store._group["sources"][n]["image"][...].sum() for n in store.sources})


def test_a_forked_child_reads_many_chunks_after_the_parent_did(tmp_path):
    """zarrs' rayon thread pool does not survive fork; harmonize's one-chunk-at-a-time setting
    keeps it unused, so a child forked after the parent read (a DataLoader worker) does not hang."""
    url, _, _ = build(tmp_path, SIZES)
    store = open_store(url)
    want = {n: store._group["sources"][n]["image"][...].sum() for n in store.sources}  # many chunks
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    proc = ctx.Process(target=_read_all, args=(url, q))
    proc.start()
    proc.join(60)
    if proc.is_alive():
        proc.kill()
        pytest.fail("a forked child hung reading the store through zarrs")
    assert proc.exitcode == 0
    assert q.get(timeout=5) == want
