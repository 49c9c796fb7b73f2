"""Kernel-level tests: channel collapse against the PanNuke-metrics/CellViT reference, serial vs
parallel, table caching, and the import rule of the engine."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmonize.engine import kernels as K
from harmonize.engine.kernels import collapse_channels
from harmonize.engine.remap import prepare, remap_semantic
from harmonize.testing.strategies import compiled_mappings, int_dtypes, label_maps, native_values

from ._reference import ref_collapse, ref_semantic

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def channel_stacks(draw):
    h = draw(st.integers(1, 20))
    w = draw(st.integers(1, 40))
    n = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dtype = draw(st.sampled_from([np.float64, np.int32, np.uint16]))
    stack = np.zeros((h, w, n + 1), dtype)
    for c in range(n):
        density = draw(st.floats(0, 0.9))
        mx = draw(st.integers(1, 3500))
        ids = rng.integers(1, mx + 1, size=(h, w))
        stack[..., c] = np.where(rng.random((h, w)) < density, ids, 0)
    inst_any = (stack[..., :n] > 0).any(-1)
    bg_rate = draw(st.floats(0, 1))
    stack[..., n] = (~inst_any) & (rng.random((h, w)) < bg_rate)  # some all-zero (void) pixels
    classes = np.array(draw(st.permutations(list(range(1, n + 1)))), np.int64)
    return stack, classes


@FAST
@given(channel_stacks(), st.booleans())
def test_collapse_matches_reference(case, parallel):
    stack, classes = case
    n = classes.size
    got = collapse_channels(stack, classes, background_channel=n, parallel=parallel)
    want = ref_collapse(stack, classes, n)
    for g, w, name in zip(got, want, ("semantic", "instance", "ids", "classes"), strict=True):
        assert g.dtype == w.dtype, name
        np.testing.assert_array_equal(g, w, err_msg=name)


def test_collapse_later_channel_wins_and_void():
    stack = np.zeros((1, 4, 3), np.float64)
    stack[0, 0, 0] = 5  # channel 0 only
    stack[0, 1, 0] = 5  # overlap: channel 1 wins
    stack[0, 1, 1] = 2
    stack[0, 2, 2] = 1  # background channel
    # pixel 3: all zero -> void
    sem, inst, ids, cls = collapse_channels(stack, np.array([1, 2]), background_channel=2)
    np.testing.assert_array_equal(sem, [[1, 2, 0, 255]])
    np.testing.assert_array_equal(inst, [[5, 7, 0, 0]])  # channel 1 ids offset by max(ch0) = 5
    np.testing.assert_array_equal(ids, [5, 7])
    np.testing.assert_array_equal(cls, [1, 2])


def test_collapse_serial_equals_parallel_pannuke_size():
    rng = np.random.default_rng(1)
    stack = np.where(rng.random((256, 256, 6)) < 0.2, rng.integers(1, 3500, (256, 256, 6)), 0)
    stack = stack.astype(np.float64)
    a = collapse_channels(stack, np.arange(1, 6), background_channel=5)
    b = collapse_channels(stack, np.arange(1, 6), background_channel=5, parallel=True)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.slow  # compiles the parallel kernel for every dtype combination: minutes on 2 vCPUs
@FAST
@given(int_dtypes(), compiled_mappings(policy="ignore"), st.data())
def test_remap_semantic_serial_equals_parallel(dtype, m, data):
    sem = data.draw(label_maps(dtype, native_values(m, dtype)))
    a, ca = remap_semantic(sem, m, parallel=False)
    b, cb = remap_semantic(sem, m, parallel=True)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ca, cb)
    want, unknown = ref_semantic(sem, m)
    np.testing.assert_array_equal(a, want)
    assert ca[-1] == unknown


def test_uniform_chunks_and_tails_every_length():
    """Every length 0..200 (chunks of 32/16/8/4 elements plus tails), uniform and mixed runs."""
    from harmonize.types import CompiledMapping

    m = CompiledMapping(
        dataset="t",
        ontology="o",
        lut=np.array([3, 4, 5], np.uint8),
        declared=np.array([1, 0, 1], bool),
        keep_instances=np.ones(3, bool),
        offset=0,
        out_dtype=np.dtype(np.uint8),
        background=None,
        ignore=9,
        unknown_policy="ignore",
    )
    for dtype in (np.uint8, np.uint16, np.int32, np.int64):
        for n in range(0, 200, 7):
            for sem in (np.full((1, n), 2, dtype), (np.arange(n) % 4).astype(dtype)[None]):
                got, counts = remap_semantic(sem, m)
                want, unknown = ref_semantic(sem, m)
                np.testing.assert_array_equal(got, want)
                assert counts[-1] == unknown
                written = counts[:-1].copy()
                written[9] += counts[-1]  # unknown pixels were written as ignore (9)
                np.testing.assert_array_equal(
                    written, np.bincount(want.ravel(), minlength=written.size)
                )


def test_prepare_is_cached_per_mapping():
    from harmonize.types import CompiledMapping

    m = CompiledMapping(
        dataset="t",
        ontology="o",
        lut=np.array([1], np.uint8),
        declared=np.ones(1, bool),
        keep_instances=np.ones(1, bool),
        offset=0,
        out_dtype=np.dtype(np.uint8),
        background=0,
        ignore=255,
    )
    p = prepare(m)
    assert prepare(m) is p
    assert p.dense_codes(np.dtype(np.uint16)) is p.dense_codes(np.dtype(np.uint16))
    assert p.dense_codes(np.dtype(np.uint16)).size == 65536


def test_decide_classes_ties_and_forced():
    rows = np.array([0, 0, 1, 1, 2], np.int64)
    cols = np.array([1, 2, 3, 4, 1], np.int64)
    cnts = np.array([5, 5, 2, 3, 1], np.int64)
    keep_out = np.array([False, True, True, True, True])
    forced = np.array([-1, -1, 0], np.int64)
    cls, keep, mixed, tied = K.decide_classes(rows, cols, cnts, 3, forced, keep_out, 0, 255)
    np.testing.assert_array_equal(cls, [1, 4, 0])
    np.testing.assert_array_equal(keep, [True, True, False])  # forced background is dropped
    np.testing.assert_array_equal(mixed, [True, True, False])
    np.testing.assert_array_equal(tied, [True, False, False])


def test_engine_imports_no_pydantic_yaml_zarr():
    # numba itself imports yaml (for .numba_config.yaml) when it is installed: compare with the
    # modules loaded by numba alone.
    code = (
        "import sys, numpy as np, numba\n"
        "before = set(sys.modules)\n"
        "import harmonize.engine.sample, harmonize.engine.remap, harmonize.engine.kernels\n"
        "new = set(sys.modules) - before\n"
        "bad = [m for m in new if m.split('.')[0] in ('pydantic', 'yaml', 'zarr')]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_wide_instance_ids_use_unique_path(dtype):
    """Ids spread over a huge range (beyond a direct table) take the np.unique path."""
    from harmonize.engine.remap import rewrite_instances
    from harmonize.types import CompiledMapping

    m = CompiledMapping(
        dataset="t",
        ontology="o",
        lut=np.array([0, 1], np.uint8),
        declared=np.ones(2, bool),
        keep_instances=np.ones(2, bool),
        offset=0,
        out_dtype=np.dtype(np.uint8),
        background=0,
        ignore=255,
    )
    info = np.iinfo(dtype)
    inst = np.array([[info.min, 0, info.max, info.max, 12]], dtype)
    sem = np.ones_like(inst, dtype=np.uint8)
    res = rewrite_instances(inst, sem, m)
    np.testing.assert_array_equal(res.instance, [[1, 0, 3, 3, 2]])
    np.testing.assert_array_equal(res.old_ids, [info.min, 12, info.max])


def test_remap_semantic_into_out_buffer():
    from harmonize.errors import ShapeError
    from harmonize.types import CompiledMapping

    m = CompiledMapping(
        dataset="t",
        ontology="o",
        lut=np.array([3, 4], np.uint8),
        declared=np.ones(2, bool),
        keep_instances=np.ones(2, bool),
        offset=0,
        out_dtype=np.dtype(np.uint8),
        background=None,
        ignore=9,
    )
    sem = np.array([[0, 1, 7]], np.uint16)
    buf = np.zeros((1, 3), np.uint8)
    got, _ = remap_semantic(sem, m, out=buf)
    assert np.shares_memory(got, buf)
    np.testing.assert_array_equal(buf, [[3, 4, 9]])
    with pytest.raises(ShapeError):
        remap_semantic(sem, m, out=np.zeros((3, 1), np.uint8))
