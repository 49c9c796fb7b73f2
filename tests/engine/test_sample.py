"""remap_sample against plain-numpy references on random maps and tables (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmonize.engine import remap_sample
from harmonize.engine.remap import remap_semantic
from harmonize.errors import ShapeError, SizeMismatchError, UnmappedValueError
from harmonize.testing.strategies import INT_DTYPES, compiled_mappings, mapping_cases
from harmonize.types import CompiledMapping, RawSample, SampleRef

from ._reference import ref_instances, ref_semantic

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REF = SampleRef("synthetic", "s0", "train", ("img.png", "labels/s0.png"))


def sample(sem, inst=None, ids=None, classes=None) -> RawSample:
    return RawSample(REF, sem, inst, instance_ids=ids, instance_classes=classes)


def check(h, sem, inst, m, given_map=None):
    want_sem, unknown = ref_semantic(sem, m)
    assert h.semantic.dtype == m.out_dtype
    np.testing.assert_array_equal(h.semantic, want_sem)
    assert h.unknown_pixels == unknown
    np.testing.assert_array_equal(
        h.pixel_counts, np.bincount(want_sem.ravel().astype(np.int64), minlength=m.n_out)
    )
    if inst is None:
        assert h.instance is None
        return
    want = ref_instances(inst, want_sem, m, given_map)
    assert h.instance.dtype == np.uint32
    np.testing.assert_array_equal(h.instance, want["instance"])
    np.testing.assert_array_equal(h.instance_classes.astype(np.int64), want["classes"])
    np.testing.assert_array_equal(h.instance_old_ids, want["old_ids"])
    np.testing.assert_array_equal(h.instance_counts, want["counts"])
    np.testing.assert_array_equal(np.sort(h.mixed_instances), want["mixed"])
    np.testing.assert_array_equal(np.sort(h.tied_instances), want["tied"])
    np.testing.assert_array_equal(np.sort(h.dropped_instances), want["dropped"])


# the parallel kernels compile once per dtype combination: minutes on 2 vCPUs, so `slow`
@pytest.mark.parametrize("parallel", [False, pytest.param(True, marks=pytest.mark.slow)])
@FAST
@given(mapping_cases(policy="ignore"))
def test_matches_reference_ignore_policy(parallel, case):
    m, _dtype, sem, inst = case
    check(remap_sample(sample(sem, inst), m, parallel=parallel), sem, inst, m)


@FAST
@given(mapping_cases(policy="error"))
def test_error_policy_raises_exactly_when_unknown(case):
    m, _dtype, sem, inst = case
    _, unknown = ref_semantic(sem, m)
    if unknown:
        with pytest.raises(UnmappedValueError) as err:
            remap_sample(sample(sem, inst), m)
        msg = str(err.value)
        assert "'s0'" in msg and "'synthetic'" in msg and f"{unknown} pixels" in msg
        assert err.value.path is not None and err.value.path.name == "s0.png"
    else:
        check(remap_sample(sample(sem, inst), m), sem, inst, m)


@pytest.mark.slow
@FAST
@given(mapping_cases(policy="ignore"))
def test_serial_equals_parallel(case):
    m, _dtype, sem, inst = case
    a = remap_sample(sample(sem, inst), m, parallel=False)
    b = remap_sample(sample(sem, inst), m, parallel=True)
    for f in (
        "semantic",
        "instance",
        "instance_classes",
        "instance_old_ids",
        "pixel_counts",
        "instance_counts",
        "mixed_instances",
        "tied_instances",
        "dropped_instances",
    ):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert a.unknown_pixels == b.unknown_pixels


@FAST
@given(mapping_cases(policy="ignore"), st.data())
def test_native_instance_classes(case, data):
    m, _dtype, sem, inst = case
    present = [int(v) for v in np.unique(inst) if v != 0]
    listed = data.draw(st.lists(st.sampled_from(present), unique=True) if present else st.just([]))
    lo = m.offset - 2
    native = data.draw(
        st.lists(
            st.integers(lo, m.offset + len(m.lut) + 2),
            min_size=len(listed),
            max_size=len(listed),
        )
    )
    # plus an id the map does not hold (must be ignored)
    absent = next(v for v in (5, 6, 8, 9, 10) if v not in present)
    ids = np.array([*listed, absent], inst.dtype)
    classes = np.array([*native, m.offset], np.int64)
    h = remap_sample(sample(sem, inst, ids, classes), m)
    check(h, sem, inst, m, dict(zip(listed, native, strict=True)))


def small_mapping(policy="ignore") -> CompiledMapping:
    # native 0 bg, 1 a, 2 b, 3 c (no instances), 4 void, 5 undeclared
    return CompiledMapping(
        dataset="toy",
        ontology="onto",
        lut=np.array([0, 1, 2, 3, 255, 0], np.uint8),
        declared=np.array([1, 1, 1, 1, 1, 0], bool),
        keep_instances=np.array([0, 1, 1, 0, 0, 0], bool),
        offset=0,
        out_dtype=np.dtype(np.uint8),
        background=0,
        ignore=255,
        unknown_policy=policy,
    )


def test_native_class_overrides_majority():
    m = small_mapping()
    sem = np.array([[1, 1, 1, 2], [1, 1, 2, 2]], np.uint8)  # instance 7 is mostly class 1
    inst = np.array([[7, 7, 7, 7], [7, 7, 9, 9]], np.int32)
    by_vote = remap_sample(sample(sem, inst), m)
    np.testing.assert_array_equal(by_vote.instance_classes, [1, 2])
    given_ = remap_sample(sample(sem, inst, np.array([7]), np.array([2])), m)
    np.testing.assert_array_equal(given_.instance_classes, [2, 2])  # the dataset says 2
    np.testing.assert_array_equal(given_.instance_counts[:3], [0, 0, 2])
    np.testing.assert_array_equal(given_.mixed_instances, [7])  # its pixels still disagree
    np.testing.assert_array_equal(given_.semantic, by_vote.semantic)  # pixels are untouched
    # a native class without instances in the output drops it
    dropped = remap_sample(sample(sem, inst, np.array([7]), np.array([3])), m)
    np.testing.assert_array_equal(dropped.instance_old_ids, [9])
    np.testing.assert_array_equal(dropped.instance, np.where(inst == 9, 1, 0))
    np.testing.assert_array_equal(dropped.dropped_instances, [7])


def test_unknown_instance_class_under_error_policy():
    m = small_mapping("error")
    sem = np.ones((2, 4), np.uint8)
    inst = np.ones((2, 4), np.uint16)
    with pytest.raises(UnmappedValueError, match=r"1 instances hold 1 native value.*: 5 \("):
        remap_sample(sample(sem, inst, np.array([1]), np.array([5])), m)


def test_tie_goes_to_smallest_output_id_and_is_reported():
    m = small_mapping()
    sem = np.array([[2, 2, 1, 1]], np.uint8)
    inst = np.array([[5, 5, 5, 5]], np.uint8)
    h = remap_sample(sample(sem, inst), m)
    np.testing.assert_array_equal(h.instance_classes, [1])
    np.testing.assert_array_equal(h.tied_instances, [5])
    np.testing.assert_array_equal(h.mixed_instances, [5])


def test_error_message_lists_examples_and_count():
    m = small_mapping("error")
    sem = np.array([[5, 5, 5, 9, 200, 1]], np.uint8)
    with pytest.raises(UnmappedValueError) as err:
        remap_sample(sample(sem), m)
    msg = str(err.value)
    assert msg.startswith("labels/s0.png: sample 's0' of dataset 'synthetic'")
    assert "5 pixels hold 3 native value(s)" in msg and "5 (3 pixels)" in msg
    assert "200 (1 pixels)" in msg and "9 (1 pixels)" in msg


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("shape", [(0, 0), (0, 7), (5, 0)])
def test_empty_maps(dtype, shape):
    m = small_mapping()
    sem = np.zeros(shape, dtype)
    h = remap_sample(sample(sem, np.zeros(shape, dtype)), m)
    assert h.semantic.shape == shape and h.instance.shape == shape
    assert h.pixel_counts.sum() == 0 and h.instance_old_ids.size == 0


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("parallel", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_all_background_and_all_one_class(dtype, parallel):
    m = small_mapping()
    bg = np.zeros((33, 70), dtype)
    h = remap_sample(sample(bg, bg.copy()), m, parallel=parallel)
    assert (h.semantic == 0).all() and h.pixel_counts[0] == bg.size
    assert h.instance_old_ids.size == 0 and not h.instance.any()
    one = np.full((33, 70), 2, dtype)
    inst = np.full((33, 70), 4, dtype)
    h = remap_sample(sample(one, inst), m, parallel=parallel)
    assert (h.semantic == 2).all() and h.pixel_counts[2] == one.size
    np.testing.assert_array_equal(h.instance_classes, [2])
    assert (h.instance == 1).all() and h.mixed_instances.size == 0


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_dtype_limits(dtype):
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)
    # table covering the dtype's top ids (offset near the max) and the bottom (offset at min)
    top = min(hi, int(np.iinfo(np.int64).max))  # tables are indexed in int64
    for offset in (top - 3, lo):
        m = CompiledMapping(
            dataset="lim",
            ontology="o",
            lut=np.array([1, 2, 3, 4], np.uint8),
            declared=np.array([1, 1, 0, 1], bool),
            keep_instances=np.ones(4, bool),
            offset=offset,
            out_dtype=np.dtype(np.uint8),
            background=0,
            ignore=255,
            unknown_policy="ignore",
        )
        vals = sorted(
            {lo, hi, 0, offset, offset + 1, offset + 2, offset + 3}
            & set(
                v for v in (lo, hi, 0, offset, offset + 1, offset + 2, offset + 3) if lo <= v <= hi
            )
        )
        sem = np.repeat(np.array(vals, dtype), 40).reshape(len(vals), 40)
        inst = np.repeat(np.array(vals, dtype), 40).reshape(len(vals), 40)
        for par in (False, True):
            check(remap_sample(sample(sem, inst), m, parallel=par), sem, inst, m)


def test_int32_extremes_sparse_table():
    m = CompiledMapping(
        dataset="sparse",
        ontology="o",
        lut=np.array([7, 0, 9], np.uint16),
        declared=np.ones(3, bool),
        keep_instances=np.ones(3, bool),
        offset=-1,
        out_dtype=np.dtype(np.uint16),
        background=0,
        ignore=300,
        unknown_policy="ignore",
    )
    i32 = np.iinfo(np.int32)
    sem = np.array([[i32.min, -2, -1, 0, 1, 2, i32.max]], np.int32)
    inst = np.array([[i32.min, i32.max, 0, 0, 5, 5, i32.max]], np.int32)
    h = remap_sample(sample(sem, inst), m)
    np.testing.assert_array_equal(h.semantic, [[300, 300, 7, 0, 9, 300, 300]])
    assert h.unknown_pixels == 4 and h.pixel_counts[300] == 4
    check(h, sem, inst, m)


def test_bad_shapes():
    m = small_mapping()
    with pytest.raises(ShapeError):
        remap_sample(sample(np.zeros((2, 2, 2), np.uint8)), m)
    with pytest.raises(SizeMismatchError):
        remap_sample(sample(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8)), m)
    with pytest.raises(ShapeError):
        remap_sample(sample(np.zeros((2, 2), np.float32)), m)


@settings(max_examples=25, deadline=None)
@given(compiled_mappings(), st.sampled_from([np.uint8, np.uint16, np.int8, np.int16]))
def test_dense_table_covers_every_value(m, dtype):
    """For 8/16-bit maps every value of the dtype goes through the expanded table once."""
    info = np.iinfo(dtype)
    sem = np.arange(info.min, info.max + 1, dtype=np.int64).astype(dtype).reshape(-1, 256)
    out, counts = remap_semantic(sem, m)
    want, unknown = ref_semantic(sem, m)
    np.testing.assert_array_equal(out, want)
    assert counts[-1] == unknown


def test_non_contiguous_input():
    m = small_mapping()
    base = np.tile(np.array([0, 1, 2, 3, 4, 5], np.uint16), (8, 8))
    view = base[::2, ::3]
    h = remap_sample(sample(view, view), m)
    check(h, np.ascontiguousarray(view), np.ascontiguousarray(view), m)
