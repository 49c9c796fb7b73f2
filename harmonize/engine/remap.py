"""Array-level wrappers around the kernels: table preparation (cached per mapping), semantic remap,
instance rewrite.

:func:`harmonize.engine.sample.remap_sample` is what the pipeline calls; the functions here are the
building blocks it uses, exposed for benchmarks, tests and callers that hold bare arrays.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

import numba as nb
import numpy as np

from harmonize.engine import kernels as K
from harmonize.errors import ShapeError
from harmonize.types import CompiledMapping

__all__ = [
    "PARALLEL_MIN_PIXELS",
    "InstanceResult",
    "Prepared",
    "map_native_classes",
    "prepare",
    "remap_semantic",
    "rewrite_instances",
    "unknown_values",
]

#: Pixel count from which ``parallel=None`` ("auto") picks the parallel kernels. On the 2-vCPU
#: machine the benchmarks ran on, threads paid off only well above a Cityscapes frame (2 Mpx).
PARALLEL_MIN_PIXELS = 8 * 1024 * 1024

#: Dense vote tables (instances x output ids, int64) up to this many cells; sparse votes beyond.
_DENSE_VOTES_MAX = 1 << 22

#: Instance id ranges up to ``max(_RANGE_MIN, 4 * pixels)`` use direct tables; wider ones np.unique.
_RANGE_MIN = 1 << 20


@dataclass(eq=False)
class Prepared:
    """A :class:`CompiledMapping`'s tables in the form the kernels want (built once per mapping).

    Attributes
    ----------
    n_out : int
        Output ids ``0..n_out-1``; code ``n_out`` marks unknown native values.
    codes : ndarray (len(lut),), uint16 or uint32
        Code per table entry: ``lut[j]`` if ``declared[j]`` else ``n_out``.
    offset : int
        Native id of ``codes[0]``.
    ignore : int
        Output id of ignore.
    background : int
        Output id of background, -1 if none.
    keep_out : ndarray (n_out,), bool
        Output classes that may carry instances: those onto which at least one declared native
        class with ``keep_instances`` maps (minus background and ignore).
    """

    n_out: int
    codes: np.ndarray
    offset: int
    ignore: int
    background: int
    keep_out: np.ndarray
    out_dtype: np.dtype
    _dense: dict[str, np.ndarray] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def dense_codes(self, dtype: np.dtype) -> np.ndarray:
        """Codes over the whole range of an 8- or 16-bit dtype, indexed by the unsigned bit pattern.

        Built once per (mapping, dtype) and cached.
        """
        dtype = np.dtype(dtype)
        key = dtype.str
        table = self._dense.get(key)
        if table is None:
            with self._lock:
                table = self._dense.get(key)
                if table is None:
                    table = _expand(self.codes, self.offset, self.n_out, dtype)
                    self._dense[key] = table
        return table


def _expand(codes: np.ndarray, offset: int, n_out: int, dtype: np.dtype) -> np.ndarray:
    bits = 8 * dtype.itemsize
    pattern = np.arange(1 << bits, dtype=np.uint16 if bits == 16 else np.uint8)
    values = pattern.view(dtype).astype(np.int64) if dtype.kind == "i" else pattern.astype(np.int64)
    idx = values - offset
    inside = (idx >= 0) & (idx < codes.size)
    out = np.full(1 << bits, n_out, codes.dtype)
    out[inside] = codes[idx[inside]]
    return out


_CACHE: weakref.WeakKeyDictionary[CompiledMapping, Prepared] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def prepare(mapping: CompiledMapping) -> Prepared:
    """Return the kernel tables of ``mapping`` (cached per mapping object).

    Raises
    ------
    ShapeError
        If ``lut``, ``declared`` and ``keep_instances`` differ in length or are not 1-D, an
        output id is negative, or the table's native ids do not fit in int64.
    """
    prep = _CACHE.get(mapping)
    if prep is not None:
        return prep
    with _CACHE_LOCK:
        prep = _CACHE.get(mapping)
        if prep is None:
            prep = _build(mapping)
            _CACHE[mapping] = prep
    return prep


def _build(m: CompiledMapping) -> Prepared:
    lut = np.asarray(m.lut)
    declared = np.asarray(m.declared, bool)
    keep = np.asarray(m.keep_instances, bool)
    where = f"mapping {m.dataset!r} -> {m.ontology!r}"
    if lut.ndim != 1 or declared.shape != lut.shape or keep.shape != lut.shape:
        raise ShapeError(
            f"{where}: lut, declared and keep_instances must be 1-D of one length, got "
            f"{lut.shape}, {declared.shape}, {keep.shape}"
        )
    i64 = np.iinfo(np.int64)
    if not (i64.min <= int(m.offset) and int(m.offset) + lut.size - 1 <= i64.max):
        raise ShapeError(f"{where}: table ids must fit in int64 (offset {m.offset})")
    if lut.size and int(lut.min()) < 0:
        raise ShapeError(f"{where}: output ids must be >= 0 (lut min {int(lut.min())})")
    n_out = m.n_out
    code_dtype = np.uint16 if n_out < np.iinfo(np.uint16).max else np.uint32
    codes = np.where(declared, lut.astype(np.int64), n_out).astype(code_dtype)
    keep_out = np.zeros(n_out, bool)
    sel = declared & keep
    keep_out[lut[sel].astype(np.int64)] = True
    keep_out[m.ignore] = False
    if m.background is not None:
        keep_out[m.background] = False
    return Prepared(
        n_out=n_out,
        codes=codes,
        offset=int(m.offset),
        ignore=int(m.ignore),
        background=-1 if m.background is None else int(m.background),
        keep_out=keep_out,
        out_dtype=np.dtype(m.out_dtype),
    )


def _n_blocks() -> int:
    return max(1, 4 * nb.get_num_threads())


def _use_parallel(parallel: bool | None, size: int) -> bool:
    if parallel is None:
        return size >= PARALLEL_MIN_PIXELS and nb.get_num_threads() > 1
    return bool(parallel)


def _flat_int(a: np.ndarray, what: str) -> np.ndarray:
    """C-contiguous 1-D view (copy only if needed); bool -> uint8."""
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    if a.dtype.kind not in "iu":
        raise ShapeError(f"{what} must hold integers, got dtype {a.dtype}")
    return np.ascontiguousarray(a).reshape(-1)


def remap_semantic(
    semantic: np.ndarray,
    mapping: CompiledMapping,
    *,
    parallel: bool | None = None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rewrite a native class map into output ids and count pixels per output id in one pass.

    Parameters
    ----------
    semantic : ndarray, any shape, integer or bool dtype
        Native class ids.
    mapping : CompiledMapping
        The compiled mapping.
    parallel : bool or None
        Use the parallel kernel; ``None`` picks it for maps of at least
        :data:`PARALLEL_MIN_PIXELS` pixels when numba has more than one thread.
    out : ndarray, optional
        C-contiguous array of ``semantic``'s shape and ``mapping.out_dtype`` to write into (saves
        allocating, and first-touch page faults, when a caller reuses buffers).

    Returns
    -------
    out : ndarray, same shape, ``mapping.out_dtype``
        Output id per pixel; native values outside the table or undeclared become ``ignore``.
    counts : ndarray (n_out + 1,), int64
        Pixels per output id as written, *before* unknown pixels are added to ``ignore``: the last
        entry counts the unknown pixels (which were written as ``ignore``).

    Examples
    --------
    CoNSeP's eight classes onto the four of ``consep-4`` (both epithelial classes become 3):

    >>> import numpy as np
    >>> from harmonize import compile_mapping, load_mapping, load_ontology, load_taxonomy
    >>> cm = compile_mapping(
    ...     load_taxonomy("consep"), load_ontology("consep-4"), load_mapping("consep", "consep-4")
    ... )
    >>> out, counts = remap_semantic(np.array([[0, 1, 2], [3, 4, 7]], np.uint8), cm)
    >>> out
    array([[0, 1, 2],
           [3, 3, 4]], dtype=uint8)
    >>> counts[:5].tolist(), int(counts[-1])  # pixels of output ids 0..4; unknown pixels
    ([1, 1, 1, 2, 1], 0)
    """
    prep = prepare(mapping)
    src = _flat_int(np.asarray(semantic), "semantic map")
    if src.dtype.itemsize <= 2:
        codes = prep.dense_codes(src.dtype)
        src = src.view(np.uint8 if src.dtype.itemsize == 1 else np.uint16)
        checked, offset = False, 0
    else:
        codes, checked, offset = prep.codes, True, prep.offset
        if src.dtype == np.uint64 and src.size and int(src.max()) > np.iinfo(np.int64).max:
            # the kernel compares as int64: pin values beyond int64 to one outside the table
            big = src > np.iinfo(np.int64).max
            src = src.astype(np.int64)
            src[big] = offset - 1 if offset > np.iinfo(np.int64).min else offset + codes.size
    if out is None:
        dst = np.empty(src.size, prep.out_dtype)
    else:
        if (
            out.shape != np.shape(semantic)
            or out.dtype != prep.out_dtype
            or not out.flags.c_contiguous
        ):
            raise ShapeError(
                f"out must be C-contiguous {prep.out_dtype} of shape {np.shape(semantic)}, got "
                f"{out.dtype} {out.shape}"
            )
        dst = out.reshape(-1)
    if _use_parallel(parallel, src.size):
        counts = K.remap_codes_parallel(
            src, dst, codes, offset, checked, prep.n_out, prep.ignore, _n_blocks()
        )
    else:
        counts = K.remap_codes(src, dst, codes, offset, checked, prep.n_out, prep.ignore)
    return dst.reshape(np.shape(semantic)), counts


def unknown_values(semantic: np.ndarray, mapping: CompiledMapping) -> tuple[np.ndarray, np.ndarray]:
    """Native values of ``semantic`` that ``mapping`` does not declare, with their pixel counts.

    Slow path (``np.unique``), for error messages. Returns ``(values, counts)`` sorted by value.
    """
    prep = prepare(mapping)
    vals, cnts = np.unique(np.asarray(semantic), return_counts=True)
    return _unknown_of(vals, prep), cnts[_unknown_mask(vals, prep)]


def _unknown_mask(vals: np.ndarray, prep: Prepared) -> np.ndarray:
    v = vals.astype(np.int64)
    if vals.dtype == np.uint64:  # values above int64 max are outside any table
        big = vals > np.iinfo(np.int64).max
    else:
        big = np.zeros(vals.shape, bool)
    idx = v - prep.offset
    inside = (idx >= 0) & (idx < prep.codes.size) & ~big
    unknown = np.ones(vals.shape, bool)
    unknown[inside] = prep.codes[idx[inside]] == prep.n_out
    return unknown


def _unknown_of(vals: np.ndarray, prep: Prepared) -> np.ndarray:
    return vals[_unknown_mask(vals, prep)]


def map_native_classes(
    classes: np.ndarray, mapping: CompiledMapping
) -> tuple[np.ndarray, np.ndarray]:
    """Map native per-instance classes through the table.

    Returns
    -------
    forced : ndarray (K,), int64
        Output class, or ``-2`` when the native class has ``keep_instances`` False (the instance
        is dropped), or ``ignore`` for unknown classes.
    unknown : ndarray (K,), bool
        Whether the native class is outside the table or undeclared.
    """
    prep = prepare(mapping)
    classes = np.asarray(classes)
    if classes.dtype.kind not in "iub":
        raise ShapeError(f"instance classes must hold integers, got dtype {classes.dtype}")
    unknown = _unknown_mask(classes, prep)
    idx = classes.astype(np.int64) - prep.offset
    forced = np.full(classes.shape, prep.ignore, np.int64)
    ok = ~unknown
    forced[ok] = prep.codes[idx[ok]].astype(np.int64)
    keep = np.asarray(mapping.keep_instances, bool)
    if keep.size:
        forced[ok & ~keep[np.where(ok, idx, 0)]] = -2
    return forced, unknown


@dataclass(frozen=True, eq=False)
class InstanceResult:
    """What :func:`rewrite_instances` returns (arrays per kept instance are in new-id order).

    Attributes
    ----------
    instance : ndarray, same shape as the input, uint32
        New ids ``1..K`` (ascending native id order), 0 = none or dropped.
    classes : ndarray (K,), out dtype
        Output class of new id ``k`` at ``k - 1``.
    old_ids : ndarray (K,), int64 (uint64 for uint64 maps)
        Native id of new id ``k`` at ``k - 1``.
    counts : ndarray (n_out,), int64
        Kept instances per output class.
    mixed, tied, dropped : ndarray, int64
        Native ids of instances (kept or not) whose pixels span several output classes; whose
        majority vote was a tie (resolved to the smallest output id); that were dropped.
    """

    instance: np.ndarray
    classes: np.ndarray
    old_ids: np.ndarray
    counts: np.ndarray
    mixed: np.ndarray
    tied: np.ndarray
    dropped: np.ndarray


def rewrite_instances(
    instance: np.ndarray,
    semantic_out: np.ndarray,
    mapping: CompiledMapping,
    *,
    forced_ids: np.ndarray | None = None,
    forced_classes: np.ndarray | None = None,
    parallel: bool | None = None,
) -> InstanceResult:
    """Relabel instances to ``1..K``, derive their classes, drop those that may not be instances.

    Parameters
    ----------
    instance : ndarray (H, W), integer or bool dtype
        Native instance ids, 0 = none (any other value, negative included, is an instance).
    semantic_out : ndarray (H, W), unsigned
        The remapped class map (output ids, all ``< n_out``), e.g. from :func:`remap_semantic`.
    mapping : CompiledMapping
        The compiled mapping.
    forced_ids, forced_classes : ndarray (M,), optional
        Native instance ids and their class codes from :func:`map_native_classes` (output id,
        ``-2`` = drop). Instances not listed (or all, when omitted) take the majority output class
        of their pixels, ties going to the smallest output id.
    parallel : bool or None
        Use the parallel kernels (``None``: by size).

    Returns
    -------
    InstanceResult
        An instance is dropped (its pixels become 0) when its class is ``ignore`` or background,
        when its native class has ``keep_instances`` False, or, on the majority path, when no
        declared native class with ``keep_instances`` maps onto its majority class.
    """
    prep = prepare(mapping)
    n_out = prep.n_out
    flat = _flat_int(np.asarray(instance), "instance map")
    sem = np.ascontiguousarray(semantic_out).reshape(-1)
    if sem.size != flat.size:
        raise ShapeError(f"instance map has {flat.size} pixels, semantic map {sem.size}")
    use_par = _use_parallel(parallel, flat.size)

    base, rank, old_ids, src = _rank_table(flat, use_par)
    if flat.dtype == np.uint64:  # keep ids beyond int64 exact
        old_ids = old_ids.astype(np.uint64)
    k0 = old_ids.size
    if k0 == 0:
        return _empty_result(np.shape(instance), prep)

    dense = k0 * n_out <= _DENSE_VOTES_MAX
    n_blocks = max(1, nb.get_num_threads())
    if dense and use_par and k0 * n_out * n_blocks <= _DENSE_VOTES_MAX:
        out, votes = K.instance_votes_parallel(src, sem, rank, base, k0, n_out, n_blocks)
    elif dense:
        out, votes = K.instance_votes(src, sem, rank, base, k0, n_out)
    else:
        out, votes = K.instance_relabel(src, rank, base), None
    if votes is not None:
        rows, cols = np.nonzero(votes)
        cnts = votes[rows, cols]
    else:  # sparse votes: (instance, class) pairs of the pixels that have an instance
        fg = out != 0
        keys = (out[fg].astype(np.int64) - 1) * n_out + sem[fg]
        uk, cnts = np.unique(keys, return_counts=True)
        rows, cols = uk // n_out, uk % n_out

    forced = np.full(k0, -1, np.int64)
    if forced_ids is not None and forced_classes is not None:
        raw = np.asarray(forced_ids)
        if raw.dtype.kind not in "iu":
            raise ShapeError(f"instance ids must hold integers, got dtype {raw.dtype}")
        if old_ids.dtype == np.uint64:  # compare in the ids' own dtype (no int64 wrap-around)
            valid = raw >= 0 if raw.dtype.kind == "i" else np.ones(raw.shape, bool)
        else:
            valid = raw <= np.iinfo(np.int64).max if raw.dtype == np.uint64 else raw == raw
        fid = np.where(valid, raw, 0).astype(old_ids.dtype)
        pos = np.searchsorted(old_ids, fid)
        hit = (pos < k0) & valid
        hit[hit] = old_ids[pos[hit]] == fid[hit]
        forced[pos[hit]] = np.asarray(forced_classes, np.int64)[hit]

    cls, keep, mixed, tied = K.decide_classes(
        rows.astype(np.int64),
        cols.astype(np.int64),
        cnts.astype(np.int64),
        k0,
        forced,
        prep.keep_out,
        prep.background,
        prep.ignore,
    )
    if not keep.all():
        final = np.zeros(k0 + 1, np.uint32)
        final[1:][keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.uint32)
        K.relabel_in_place(out, final)
    kept_cls = cls[keep]
    return InstanceResult(
        instance=out.reshape(np.shape(instance)),
        classes=kept_cls.astype(prep.out_dtype),
        old_ids=old_ids[keep],
        counts=np.bincount(kept_cls, minlength=n_out).astype(np.int64),
        mixed=old_ids[mixed],
        tied=old_ids[tied],
        dropped=old_ids[~keep],
    )


def _empty_result(shape: tuple[int, ...], prep: Prepared) -> InstanceResult:
    none = np.zeros(0, np.int64)
    return InstanceResult(
        instance=np.zeros(shape, np.uint32),
        classes=np.zeros(0, prep.out_dtype),
        old_ids=none,
        counts=np.zeros(prep.n_out, np.int64),
        mixed=none,
        tied=none,
        dropped=none,
    )


def _rank_table(flat: np.ndarray, use_par: bool) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Direct table native id -> new id (sorted native order).

    Returns ``(base, rank, old_ids, src)``: ``rank[v - base]`` is the new id of native ``v`` in
    ``src`` (``src`` is ``flat``, or a compacted copy when the id range is too wide for a table).
    """
    if flat.size == 0:
        return 0, np.zeros(1, np.uint32), np.zeros(0, np.int64), flat
    if flat.dtype.itemsize <= 2:
        base = int(np.iinfo(flat.dtype).min)
        span = 1 << (8 * flat.dtype.itemsize)
    else:
        if flat.dtype == np.uint64 and int(flat.max()) > np.iinfo(np.int64).max:
            return _rank_by_unique(flat)  # ids beyond int64: no direct table
        lo, hi = K.minmax(flat)
        base, span = int(lo), int(hi) - int(lo) + 1
        if span > max(_RANGE_MIN, 4 * flat.size):
            return _rank_by_unique(flat)
    present = np.zeros(span, np.uint8)
    if use_par:
        K.instance_presence_parallel(flat, base, present, max(1, nb.get_num_threads()))
    else:
        K.instance_presence(flat, base, present)
    if base <= 0 < base + span:
        present[-base] = 0
    idx = np.flatnonzero(present)
    rank = np.zeros(span, np.uint32)
    rank[idx] = np.arange(1, idx.size + 1, dtype=np.uint32)
    return base, rank, idx.astype(np.int64) + base, flat


def _rank_by_unique(flat: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    uniq, inv = np.unique(flat, return_inverse=True)
    nz = uniq != 0
    code = (np.cumsum(nz) * nz).astype(np.uint32)
    compact = code[inv.reshape(-1)]
    k0 = int(nz.sum())
    old = uniq[nz] if uniq.dtype == np.uint64 else uniq[nz].astype(np.int64)
    return 0, np.arange(k0 + 1, dtype=np.uint32), old, compact
