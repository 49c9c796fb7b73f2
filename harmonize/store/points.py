"""Class points: per sample and class, a few pixel coordinates of that class, recorded at write
time so that ``balance="class"`` finds a rare-class location without decoding the sample.

For a class with ``n`` pixels the points are the pixels of ranks ``floor((j + 0.5) * n / K)``,
``j < min(K, n)``, in raster order: deterministic and spread over the whole class. One pass over the
semantic map, run by run (a numba kernel).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["POINTS_PER_CLASS", "class_points"]

#: Points recorded per sample and class.
POINTS_PER_CLASS = 16


@njit(cache=True, nogil=True)
def _points_kernel(flat, counts, k, width, out_cls, out_y, out_x, start):  # pragma: no cover
    # run by run: label maps are piecewise constant, so the per-pixel work is one compare and the
    # point ranks falling inside a run are found arithmetically
    seen = np.zeros(counts.shape[0], np.int64)
    got = np.zeros(counts.shape[0], np.int64)
    size = flat.shape[0]
    i = 0
    while i < size:
        c = flat[i]
        j = i + 1
        while j < size and flat[j] == c:
            j += 1
        run = j - i
        n = counts[c]
        m = min(k, n)
        g = got[c]
        s0 = seen[c]
        while g < m:
            target = ((2 * g + 1) * n) // (2 * m)
            if target >= s0 + run:
                break
            q = i + (target - s0)
            p = start[c] + g
            out_cls[p] = c
            out_y[p] = q // width
            out_x[p] = q % width
            g += 1
        got[c] = g
        seen[c] = s0 + run
        i = j
    return got


def class_points(
    semantic: np.ndarray, k: int = POINTS_PER_CLASS, counts: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``k`` pixels of every class present in ``semantic`` (``counts``: its pixel counts
    per id, when known, covering every id present).

    Returns
    -------
    classes : ndarray (P,) int64
        Class id of each point, ascending.
    yx : ndarray (P, 2) int64
        Row and column of each point (``semantic[y, x] == classes[p]``).
    """
    sem = np.ascontiguousarray(semantic)
    flat = sem.ravel()
    if counts is None:
        counts = np.bincount(flat, minlength=1) if flat.size else np.zeros(1, np.int64)
    counts = np.asarray(counts, np.int64)
    if flat.dtype.itemsize <= 2:  # every id the dtype can hold gets a slot (no bounds checks)
        top = 1 << (8 * flat.dtype.itemsize)
        if len(counts) < top:
            counts = np.concatenate([counts, np.zeros(top - len(counts), np.int64)])
    elif flat.size and int(flat.max()) >= len(counts):
        counts = np.bincount(flat).astype(np.int64)
    per = np.minimum(counts, k)
    start = np.concatenate([[0], np.cumsum(per)[:-1]]).astype(np.int64)
    total = int(per.sum())
    cls = np.zeros(total, np.int64)
    ys = np.zeros(total, np.int64)
    xs = np.zeros(total, np.int64)
    if total:
        _points_kernel(flat, counts, k, sem.shape[1], cls, ys, xs, start)
    return cls, np.stack([ys, xs], axis=1)
