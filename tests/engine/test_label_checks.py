"""Reader-side check kernels against plain numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from harmonize.engine.kernels import split_encoded, value_counts


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        st.sampled_from([np.uint8, np.uint16]), st.tuples(st.integers(0, 40), st.integers(0, 40))
    )
)
def test_value_counts_equals_bincount(a: np.ndarray) -> None:
    got = value_counts(a)
    want = np.bincount(a.ravel().astype(np.int64), minlength=1 << (8 * a.dtype.itemsize))
    np.testing.assert_array_equal(got, want)


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.uint16,
        st.tuples(st.integers(0, 30), st.integers(0, 30)),
        elements=st.sampled_from([0, 7, 11, 24, 255, 1000, 24000, 24001, 26003, 33999, 65535]),
    )
)
def test_split_encoded_equals_numpy(enc: np.ndarray) -> None:
    classes, instance, counts = split_encoded(enc, 1000)
    assert classes.dtype == np.uint8 and instance.dtype == np.uint16
    np.testing.assert_array_equal(classes, np.where(enc < 1000, enc, enc // 1000))
    np.testing.assert_array_equal(instance, np.where(enc >= 1000, enc, 0))
    np.testing.assert_array_equal(counts, np.bincount(enc.ravel(), minlength=65536))


def test_split_encoded_refuses_what_it_cannot_hold() -> None:
    with pytest.raises(TypeError, match="uint16"):
        split_encoded(np.zeros((2, 2), np.int32))
    with pytest.raises(ValueError, match="overflow uint8"):
        split_encoded(np.zeros((2, 2), np.uint16), 100)
    with pytest.raises(ValueError, match=r"plain values \[256, 999\] are classes above 255"):
        split_encoded(np.array([[7, 256], [999, 26000]], np.uint16), 1000)
