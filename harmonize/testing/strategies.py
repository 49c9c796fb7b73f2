"""Hypothesis strategies for label maps and compiled mapping tables (reusable by any test).

* :func:`int_dtypes` -- the integer dtypes label maps come in.
* :func:`compiled_mappings` -- random :class:`~harmonize.types.CompiledMapping` tables (offset,
  declared holes, keep_instances, background/ignore, policy, out dtype).
* :func:`label_maps` -- 2-D maps of a dtype drawn from a value pool, either piecewise constant
  (blocks, as real label maps are) or pixel noise, including empty (0 x 0) maps.
* :func:`native_values` -- a value pool for a mapping and dtype: ids inside the table, ids just
  outside it, and the dtype's limits.
* :func:`mapping_cases` -- ``(mapping, dtype, semantic, instance)`` tuples built from the above.

Hypothesis is a test dependency: import this module only from tests.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from harmonize.types import CompiledMapping

__all__ = [
    "INT_DTYPES",
    "compiled_mappings",
    "int_dtypes",
    "label_maps",
    "mapping_cases",
    "native_values",
]

#: Integer dtypes the engine accepts for label maps.
INT_DTYPES: tuple[np.dtype, ...] = tuple(
    np.dtype(t)
    for t in (np.uint8, np.uint16, np.int32, np.int64, np.uint32, np.int8, np.int16, np.uint64)
)


def int_dtypes() -> st.SearchStrategy[np.dtype]:
    """One of :data:`INT_DTYPES`."""
    return st.sampled_from(INT_DTYPES)


@st.composite
def compiled_mappings(
    draw: st.DrawFn,
    *,
    max_len: int = 40,
    offset: st.SearchStrategy[int] | None = None,
    n_out_max: int = 30,
    policy: str | None = None,
) -> CompiledMapping:
    """A random compiled mapping.

    Parameters
    ----------
    max_len : int
        Largest table length.
    offset : strategy of int, optional
        Smallest native id of the table (default: -3..5).
    n_out_max : int
        Output ids ``lut`` draws from ``0..n_out_max-1``; ignore is 255 or a small id.
    policy : {"error", "ignore"}, optional
        Fixed unknown policy (default: drawn).
    """
    n = draw(st.integers(0, max_len))
    off = draw(offset if offset is not None else st.integers(-3, 5))
    n_real = draw(st.integers(1, n_out_max))
    ignore = draw(st.sampled_from([255, n_real]))
    background = draw(st.sampled_from([None, 0]))
    out_dtype = np.dtype(draw(st.sampled_from([np.uint8, np.uint16])))
    vals = st.integers(0, n_real - 1) | st.just(ignore)
    lut = np.array(draw(st.lists(vals, min_size=n, max_size=n)), dtype=out_dtype)
    declared = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    keep = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    pol = policy if policy is not None else draw(st.sampled_from(["error", "ignore"]))
    return CompiledMapping(
        dataset="synthetic",
        ontology="synthetic",
        lut=lut,
        declared=declared,
        keep_instances=keep,
        offset=off,
        out_dtype=out_dtype,
        background=background,
        ignore=ignore,
        unknown_policy=pol,  # type: ignore[arg-type]
    )


def native_values(mapping: CompiledMapping, dtype: np.dtype) -> list[int]:
    """Values worth putting in a map of ``dtype`` for ``mapping``: every table id the dtype can
    hold, the ids just outside the table, 0 and the dtype's limits."""
    info = np.iinfo(dtype)
    lo, hi = mapping.offset, mapping.offset + len(mapping.lut) - 1
    pool = set(range(lo, hi + 1)) | {lo - 1, hi + 1, hi + 100, 0, info.min, info.max}
    if info.bits >= 16:
        pool |= {255, 256, 65535}
    if info.bits >= 32:
        pool |= {int(np.iinfo(np.int32).min), int(np.iinfo(np.int32).max)}
    return sorted(v for v in pool if info.min <= v <= info.max)


@st.composite
def label_maps(
    draw: st.DrawFn,
    dtype: np.dtype,
    values: list[int],
    *,
    max_side: int = 24,
    max_block: int = 40,
    allow_empty: bool = True,
) -> np.ndarray:
    """A 2-D label map of ``dtype`` with values from ``values``.

    Piecewise-constant maps are a small random grid upsampled by random block sizes (wide enough
    that whole 32-byte chunks are uniform); noise maps draw every pixel.
    """
    if allow_empty and draw(st.integers(0, 15)) == 0:
        shape = draw(st.sampled_from([(0, 0), (0, 5), (3, 0)]))
        return np.zeros(shape, dtype)
    gh = draw(st.integers(1, 4))
    gw = draw(st.integers(1, 4))
    pick = st.sampled_from(values)
    grid = np.array(draw(st.lists(pick, min_size=gh * gw, max_size=gh * gw)), dtype=object)
    grid = grid.reshape(gh, gw)
    if draw(st.booleans()):  # piecewise constant
        bh = draw(st.integers(1, max_side))
        bw = draw(st.integers(1, max_block))
        out = np.repeat(np.repeat(grid, bh, axis=0), bw, axis=1)
        arr = np.array(out.tolist(), dtype=dtype).reshape(out.shape)
    else:  # noise over the grid's values
        h = draw(st.integers(1, max_side))
        w = draw(st.integers(1, max_side * 3))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        flat = np.array(grid.ravel().tolist(), dtype=dtype)
        arr = flat[rng.integers(0, flat.size, size=(h, w))]
    return np.ascontiguousarray(arr)


@st.composite
def mapping_cases(
    draw: st.DrawFn, *, policy: str | None = None, with_instances: bool = True
) -> tuple[CompiledMapping, np.dtype, np.ndarray, np.ndarray | None]:
    """``(mapping, dtype, semantic, instance)``: a random mapping, a dtype, a semantic map of that
    dtype over :func:`native_values`, and (optionally) an instance map of the same shape (same
    dtype; ids from a small pool that includes 0 and the dtype's limits)."""
    dtype = draw(int_dtypes())
    mapping = draw(compiled_mappings(policy=policy))
    sem = draw(label_maps(dtype, native_values(mapping, dtype)))
    if not with_instances:
        return mapping, dtype, sem, None
    info = np.iinfo(dtype)
    wanted = {0, 1, 2, 3, 7, 1000, 26001, int(info.max), int(info.min)}
    inst_pool = sorted(v for v in wanted if info.min <= v <= info.max)
    choice = st.sampled_from(inst_pool)
    if sem.size == 0:
        inst = np.zeros(sem.shape, dtype)
    elif draw(st.booleans()):  # instances aligned with the semantic blocks plus noise
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        ids = np.array([draw(choice) for _ in range(4)], dtype=dtype)
        inst = ids[rng.integers(0, 4, size=sem.shape)]
    else:
        inst = np.full(sem.shape, draw(choice), dtype)
    return mapping, dtype, sem, np.ascontiguousarray(inst)
