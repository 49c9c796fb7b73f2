"""Reader-side check kernels against plain numpy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from harmonize.engine.kernels import decode_mismatches, value_counts


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
@given(st.data())
def test_decode_mismatches_equals_numpy(data) -> None:
    h, w = data.draw(st.integers(1, 30)), data.draw(st.integers(1, 30))
    enc = data.draw(
        arrays(
            np.uint16,
            (h, w),
            elements=st.sampled_from([0, 7, 11, 24, 999, 1000, 24000, 24001, 26003, 33999, 65535]),
        )
    )
    dec = np.where(enc < 1000, enc, enc // 1000)
    lab = dec.astype(np.uint8).copy()
    flip = data.draw(arrays(np.bool_, (h, w)))
    lab[flip] = lab[flip] + 1  # every flipped pixel disagrees
    n, first = decode_mismatches(enc, lab)
    differ = dec.astype(np.int64) != lab.astype(np.int64)
    assert n == int(differ.sum())
    assert first == (int(np.flatnonzero(differ)[0]) if n else -1)
