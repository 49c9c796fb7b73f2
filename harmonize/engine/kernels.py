"""Numba kernels (compiled on first call, cached on disk).

Every kernel has a plain-numpy reference in the tests (``tests/engine``). Kernels are ``nogil=True``
so worker threads can run them side by side, and ``cache=True`` so only the first run on a machine
pays compilation. Each hot kernel has a serial and a ``parallel=True`` variant; both give identical
results (integer counts, no floating-point reductions). The parallel variants split the flat pixel
range into blocks whose bounds are multiples of :data:`CHUNK` pixels, keep per-block counters and add
them afterwards. The default threading layer (``workqueue``) aborts when several threads launch
parallel kernels at once: inside threaded executors call the serial variants (``parallel=False``).

The kernels work on flat (1-D, C-contiguous) views; the wrappers in :mod:`harmonize.engine.sample`
and :mod:`harmonize.engine.remap` reshape.

Semantic remap
    Each native value ``v`` is turned into a *code* through a table: the output id when ``v`` is
    declared, else ``n_out`` (the "unknown" code). The pixel gets ``code`` if ``code < n_out`` else
    ``ignore``, and ``counts[code]`` is incremented, so per-output-id pixel counts (plus the number of
    unknown pixels) come out of the same pass. For 8/16-bit inputs the table spans the whole dtype
    range (no bounds check); for wider inputs the table starts at ``offset`` and is bounds-checked.

    Label maps are piecewise constant, so the kernels test 32-byte chunks for uniformity with four
    64-bit compares and, when a chunk holds one value, do one lookup and one counter update for the
    whole chunk. Chunks that are not uniform take the per-pixel path, which spreads its counter
    updates over four sub-histograms so runs of one value do not serialise on one counter.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba.extending import overload

__all__ = [
    "CHUNK_BYTES",
    "collapse_channels",
    "decide_classes",
    "instance_presence",
    "instance_presence_parallel",
    "instance_relabel",
    "instance_votes",
    "instance_votes_parallel",
    "minmax",
    "relabel_in_place",
    "remap_codes",
    "remap_codes_parallel",
    "split_encoded",
    "value_counts",
]

#: Bytes per uniformity chunk of the semantic kernels (four 64-bit words).
CHUNK_BYTES = 32
_SUB = 4  # sub-histograms of the per-pixel path


# --------------------------------------------------------------------------------------------------
# semantic remap
# --------------------------------------------------------------------------------------------------


def _itemsize(a):  # pragma: no cover - replaced by the overload below inside numba
    return a.itemsize


@overload(_itemsize, inline="always")
def _itemsize_overload(a):
    # the element size as a compile-time constant, so chunk loops have constant trip counts
    # (``a.itemsize`` is read from the array struct at run time)
    n = a.dtype.bitwidth // 8
    return lambda a: n


@nb.njit(cache=True, nogil=True, inline="always")
def _code_of(v, codes, offset, checked, unknown):
    if checked:
        idx = np.int64(v) - offset
        if idx < 0 or idx >= codes.size:
            return unknown
        return np.int64(codes[idx])
    return np.int64(codes[v])


@nb.njit(cache=True, nogil=True, inline="always")
def _word_uniform(w, bits):
    # a 64-bit word holds one repeated element iff it equals itself rotated by one element
    if bits >= 64:
        return True
    return ((w >> np.uint64(bits)) | (w << np.uint64(64 - bits))) == w


@nb.njit(cache=True, nogil=True)
def _remap_range(src, dst, codes, offset, checked, n_out, ignore, counts, start, stop):
    """Remap ``src[start:stop]`` into ``dst[start:stop]``; add code counts to ``counts`` (SUB, n+1).

    ``start`` must be a multiple of the chunk length (so chunk views are 32-byte aligned relative
    to the array start). Uniform chunks (32 bytes) and uniform words (8 bytes) take one lookup;
    their counts accumulate in a register run (``cur``, ``run``) flushed when the code changes.
    """
    unknown = np.int64(n_out)
    ign = dst.dtype.type(ignore)
    size = _itemsize(src)
    per = CHUNK_BYTES // size  # elements per chunk
    per_word = 8 // size  # elements per 64-bit word
    bits = 8 * size
    n_chunks = (stop - start) // per
    cur = np.int64(0)
    run = np.int64(0)
    if n_chunks > 0:
        words = src[start : start + n_chunks * per].view(np.uint64)
        for b in range(n_chunks):
            w0 = words[4 * b]
            s = start + b * per
            if (
                words[4 * b + 1] == w0
                and words[4 * b + 2] == w0
                and words[4 * b + 3] == w0
                and _word_uniform(w0, bits)
            ):
                c = _code_of(src[s], codes, offset, checked, unknown)
                x = dst.dtype.type(c) if c < unknown else ign
                for k in range(per):
                    dst[s + k] = x
                if c == cur:
                    run += per
                else:
                    counts[0, cur] += run
                    cur = c
                    run = per
                continue
            for q in range(4):
                wq = words[4 * b + q]
                sq = s + q * per_word
                if _word_uniform(wq, bits):
                    c = _code_of(src[sq], codes, offset, checked, unknown)
                    x = dst.dtype.type(c) if c < unknown else ign
                    for k in range(per_word):
                        dst[sq + k] = x
                    if c == cur:
                        run += per_word
                    else:
                        counts[0, cur] += run
                        cur = c
                        run = per_word
                else:
                    for k in range(per_word):
                        c = _code_of(src[sq + k], codes, offset, checked, unknown)
                        dst[sq + k] = dst.dtype.type(c) if c < unknown else ign
                        counts[k % _SUB, c] += 1
    counts[0, cur] += run
    for i in range(start + n_chunks * per, stop):
        c = _code_of(src[i], codes, offset, checked, unknown)
        dst[i] = dst.dtype.type(c) if c < unknown else ign
        counts[0, c] += 1


@nb.njit(cache=True, nogil=True)
def remap_codes(src, dst, codes, offset, checked, n_out, ignore):
    """Serial semantic remap with fused counts.

    Parameters
    ----------
    src : ndarray (N,), integer dtype, C-contiguous
        Native values.
    dst : ndarray (N,), output dtype
        Receives the output id per pixel (``ignore`` for unknown values).
    codes : ndarray (M,), unsigned integer
        Code per table entry: output id, or ``n_out`` for undeclared entries.
    offset : int
        Native value of ``codes[0]`` (used only when ``checked``).
    checked : bool
        ``False`` when ``codes`` spans the whole unsigned range of ``src``'s dtype (no bounds
        check); ``True`` to bounds-check ``v - offset`` (values outside are unknown).
    n_out : int
        Number of output ids; code ``n_out`` means unknown.
    ignore : int
        Output id written for unknown values.

    Returns
    -------
    counts : ndarray (n_out + 1,), int64
        Pixels per code; the last entry counts unknown pixels.
    """
    counts = np.zeros((_SUB, n_out + 1), np.int64)
    _remap_range(src, dst, codes, offset, checked, n_out, ignore, counts, 0, src.size)
    return counts.sum(axis=0)


@nb.njit(cache=True, nogil=True, parallel=True)
def remap_codes_parallel(src, dst, codes, offset, checked, n_out, ignore, n_blocks):
    """Parallel :func:`remap_codes`: ``n_blocks`` blocks of whole chunks, per-block counters."""
    n = src.size
    per = CHUNK_BYTES // _itemsize(src)
    chunks = (n + per - 1) // per
    step = ((chunks + n_blocks - 1) // n_blocks) * per
    counts = np.zeros((n_blocks, _SUB, n_out + 1), np.int64)
    for b in nb.prange(n_blocks):
        lo = min(n, b * step)
        hi = min(n, lo + step)
        _remap_range(src, dst, codes, offset, checked, n_out, ignore, counts[b], lo, hi)
    out = np.zeros(n_out + 1, np.int64)
    for b in range(n_blocks):
        for q in range(_SUB):
            for c in range(n_out + 1):
                out[c] += counts[b, q, c]
    return out


# --------------------------------------------------------------------------------------------------
# instance rewrite
# --------------------------------------------------------------------------------------------------


@nb.njit(cache=True, nogil=True)
def minmax(a):
    """Return ``(min, max)`` of a non-empty 1-D integer array as int64."""
    lo = np.int64(a[0])
    hi = lo
    for i in range(a.size):
        v = np.int64(a[i])
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
    return lo, hi


@nb.njit(cache=True, nogil=True)
def _presence_range(inst, base, present, start, stop):
    prev = np.int64(0)
    i = start
    per_word = 8 // _itemsize(inst)
    if _itemsize(inst) < 8:  # skip all-zero 64-bit words (instance maps are mostly 0)
        while i < stop and (i % per_word) != 0:
            v = np.int64(inst[i])
            if v != 0 and v != prev:
                present[v - base] = 1
                prev = v
            i += 1
        n_words = (stop - i) // per_word
        if n_words > 0:
            words = inst[i : i + n_words * per_word].view(np.uint64)
            for b in range(n_words):
                if words[b] == 0:
                    continue
                for k in range(per_word):
                    v = np.int64(inst[i + b * per_word + k])
                    if v != 0 and v != prev:
                        present[v - base] = 1
                        prev = v
            i += n_words * per_word
    for j in range(i, stop):
        v = np.int64(inst[j])
        if v != 0 and v != prev:
            present[v - base] = 1
            prev = v


@nb.njit(cache=True, nogil=True)
def instance_presence(inst, base, present):
    """Set ``present[v - base] = 1`` for every nonzero value ``v`` of ``inst`` (1-D)."""
    _presence_range(inst, base, present, 0, inst.size)


@nb.njit(cache=True, nogil=True, parallel=True)
def instance_presence_parallel(inst, base, present, n_blocks):
    """Parallel :func:`instance_presence` (blocks write the same value 1: races are benign)."""
    n = inst.size
    step = ((n + n_blocks - 1) // n_blocks + 7) // 8 * 8  # word-aligned blocks
    for b in nb.prange(n_blocks):
        lo = min(n, b * step)
        _presence_range(inst, base, present, lo, min(n, lo + step))


@nb.njit(cache=True, nogil=True)
def _votes_range(inst, sem, rank, base, votes, out, start, stop):
    # Instance maps are piecewise constant and mostly 0: all-zero 64-bit words of the instance
    # map are written as 0 without looking at the pixels; one rank lookup per run of one native
    # id; votes accumulate in a register run of one (instance, class) pair, flushed on change.
    size = _itemsize(inst)
    per_word = 8 // size
    prev = np.int64(0)
    r = np.int64(0)
    run_r = np.int64(0)
    run_c = np.int64(0)
    run = np.int64(0)
    i = start
    n_words = 0
    words = inst[0:0].view(np.uint64)
    if size < 8 and start % per_word == 0:
        n_words = (stop - start) // per_word
        words = inst[start : start + n_words * per_word].view(np.uint64)
    for b in range(n_words):
        s = start + b * per_word
        if words[b] == 0:
            for k in range(per_word):
                out[s + k] = 0
            continue
        for k in range(per_word):
            v = np.int64(inst[s + k])
            if v != prev:
                prev = v
                r = np.int64(rank[v - base]) if v != 0 else np.int64(0)
            out[s + k] = r
            if r != 0:
                c = np.int64(sem[s + k])
                if r == run_r and c == run_c:
                    run += 1
                else:
                    if run:
                        votes[run_r - 1, run_c] += run
                    run_r = r
                    run_c = c
                    run = np.int64(1)
    i = start + n_words * per_word
    for j in range(i, stop):
        v = np.int64(inst[j])
        if v != prev:
            prev = v
            r = np.int64(rank[v - base]) if v != 0 else np.int64(0)
        out[j] = r
        if r != 0:
            c = np.int64(sem[j])
            if r == run_r and c == run_c:
                run += 1
            else:
                if run:
                    votes[run_r - 1, run_c] += run
                run_r = r
                run_c = c
                run = np.int64(1)
    if run:
        votes[run_r - 1, run_c] += run


@nb.njit(cache=True, nogil=True)
def instance_votes(inst, sem, rank, base, n_inst, n_out):
    """Relabel instances through ``rank`` and count output classes per instance in one pass.

    Parameters
    ----------
    inst : ndarray (N,), integer dtype
        Native instance ids, 0 = none.
    sem : ndarray (N,), unsigned integer
        Output class per pixel (all values ``< n_out``).
    rank : ndarray (R,), uint32
        New id (1..n_inst) of native id ``base + j`` at ``rank[j]``; 0 for absent ids.
    base : int
        Native id of ``rank[0]``.
    n_inst, n_out : int
        Number of instances and of output ids.

    Returns
    -------
    out : ndarray (N,), uint32
        New instance id per pixel.
    votes : ndarray (n_inst, n_out), int64
        Pixels of each output class per instance (row ``k - 1`` for new id ``k``).
    """
    out = np.empty(inst.size, np.uint32)
    votes = np.zeros((n_inst, n_out), np.int64)
    _votes_range(inst, sem, rank, base, votes, out, 0, inst.size)
    return out, votes


@nb.njit(cache=True, nogil=True, parallel=True)
def instance_votes_parallel(inst, sem, rank, base, n_inst, n_out, n_blocks):
    """Parallel :func:`instance_votes` with per-block vote tables (summed afterwards)."""
    n = inst.size
    out = np.empty(n, np.uint32)
    step = ((n + n_blocks - 1) // n_blocks + 7) // 8 * 8  # word-aligned blocks
    part = np.zeros((n_blocks, n_inst, n_out), np.int64)
    for b in nb.prange(n_blocks):
        lo = min(n, b * step)
        _votes_range(inst, sem, rank, base, part[b], out, lo, min(n, lo + step))
    votes = np.zeros((n_inst, n_out), np.int64)
    for b in range(n_blocks):
        for k in range(n_inst):
            for c in range(n_out):
                votes[k, c] += part[b, k, c]
    return out, votes


@nb.njit(cache=True, nogil=True)
def instance_relabel(inst, rank, base):
    """Like :func:`instance_votes` without the votes: new id per pixel (uint32)."""
    out = np.empty(inst.size, np.uint32)
    prev = np.int64(0)
    r = np.uint32(0)
    for i in range(inst.size):
        v = np.int64(inst[i])
        if v != prev:
            prev = v
            r = rank[v - base] if v != 0 else np.uint32(0)
        out[i] = r
    return out


@nb.njit(cache=True, nogil=True)
def relabel_in_place(a, table):
    """``a[i] = table[a[i]]`` for a 1-D uint32 array (drops instances and renumbers).

    ``table[0]`` must be 0.
    """
    prev = np.uint32(0)
    new = table[0]
    for i in range(a.size):
        v = a[i]
        if v != prev:
            prev = v
            new = table[v]
        a[i] = new


@nb.njit(cache=True, nogil=True)
def decide_classes(rows, cols, cnts, k_n, forced, keep_out, background, ignore):
    """Decide each instance's output class from its votes (or a forced class).

    Parameters
    ----------
    rows, cols, cnts : ndarray (E,), int64
        Sparse vote table sorted by ``(row, col)``: instance ``rows[e]`` (0-based) has ``cnts[e]``
        pixels of output class ``cols[e]`` (only nonzero entries).
    k_n : int
        Number of instances.
    forced : ndarray (k_n,), int64
        Output class given by the dataset per instance, ``-1`` to take the majority vote, ``-2``
        to drop the instance regardless (native class without instances in the output).
    keep_out : ndarray (n_out,), bool
        Whether an output class may carry instances (majority-vote path).
    background : int
        Output id of background, or -1 when the ontology has none.
    ignore : int
        Output id of ignore.

    Returns
    -------
    cls : ndarray (k_n,), int64
        Output class per instance (forced, else majority; ties go to the smallest output id).
    keep : ndarray (k_n,), bool
        Whether the instance survives.
    mixed, tied : ndarray (k_n,), bool
        Pixels span several output classes; the majority vote had a tie (majority path only).
    """
    best = np.full(k_n, -1, np.int64)
    best_n = np.zeros(k_n, np.int64)
    n_best = np.zeros(k_n, np.int64)
    n_classes = np.zeros(k_n, np.int64)
    for e in range(rows.size):  # cols ascend within a row: strict > keeps the smallest on ties
        k = rows[e]
        n = cnts[e]
        n_classes[k] += 1
        if n > best_n[k]:
            best[k] = cols[e]
            best_n[k] = n
            n_best[k] = 1
        elif n == best_n[k]:
            n_best[k] += 1
    cls = np.zeros(k_n, np.int64)
    keep = np.zeros(k_n, np.bool_)
    mixed = np.zeros(k_n, np.bool_)
    tied = np.zeros(k_n, np.bool_)
    for k in range(k_n):
        mixed[k] = n_classes[k] > 1
        f = forced[k]
        b = best[k]
        if f >= 0:
            cls[k] = f
            keep[k] = f != ignore and f != background
        else:
            cls[k] = b if b >= 0 else ignore
            if f == -1:
                tied[k] = n_best[k] > 1
                keep[k] = b >= 0 and b != ignore and b != background and keep_out[b]
    return cls, keep, mixed, tied


# --------------------------------------------------------------------------------------------------
# PanNuke channel collapse
# --------------------------------------------------------------------------------------------------


@nb.njit(cache=True, nogil=True)
def _channel_max(stack, n_inst):
    h, w, _ = stack.shape
    mx = np.zeros(n_inst, np.int64)
    for i in range(h):
        for j in range(w):
            for c in range(n_inst):
                v = np.int64(stack[i, j, c])
                if v > mx[c]:
                    mx[c] = v
    return mx


@nb.njit(cache=True, nogil=True)
def _collapse_rows(stack, n_inst, classes, offsets, bg_channel, background, void, sem, inst, seen):
    h, w, _ = stack.shape
    for i in range(h):
        for j in range(w):
            cls = -1
            iid = np.int64(0)
            for c in range(n_inst):  # later channels overwrite earlier ones
                v = np.int64(stack[i, j, c])
                if v > 0:
                    cls = classes[c]
                    iid = offsets[c] + v
            if cls >= 0:
                sem[i, j] = cls
                inst[i, j] = iid
                seen[iid] = True
            elif bg_channel >= 0 and stack[i, j, bg_channel] != 0:
                sem[i, j] = background
                inst[i, j] = 0
            else:
                sem[i, j] = void
                inst[i, j] = 0


@nb.njit(cache=True, nogil=True)
def _collapse(stack, n_inst, classes, offsets, total, bg_channel, background, void):
    h, w, _ = stack.shape
    sem = np.empty((h, w), np.uint8)
    inst = np.empty((h, w), np.int32)
    seen = np.zeros(total + 1, np.bool_)
    _collapse_rows(stack, n_inst, classes, offsets, bg_channel, background, void, sem, inst, seen)
    return sem, inst, seen


@nb.njit(cache=True, nogil=True, parallel=True)
def _collapse_parallel(
    stack, n_inst, classes, offsets, total, bg_channel, background, void, n_blocks
):
    h, w, _ = stack.shape
    sem = np.empty((h, w), np.uint8)
    inst = np.empty((h, w), np.int32)
    seen = np.zeros(total + 1, np.bool_)
    step = (h + n_blocks - 1) // n_blocks
    for b in nb.prange(n_blocks):
        lo = min(h, b * step)
        hi = min(h, lo + step)
        _collapse_rows(
            stack[lo:hi],
            n_inst,
            classes,
            offsets,
            bg_channel,
            background,
            void,
            sem[lo:hi],
            inst[lo:hi],
            seen,
        )
    return sem, inst, seen


def collapse_channels(
    stack: np.ndarray,
    channel_classes: np.ndarray,
    *,
    background_channel: int | None,
    background: int = 0,
    void: int = 255,
    parallel: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Collapse a stack of per-class instance channels (PanNuke masks) into one class map and one
    instance map.

    Parameters
    ----------
    stack : ndarray, shape (H, W, C), any numeric dtype (PanNuke: float64)
        Channels ``0..len(channel_classes)-1`` are instance label images (0 = none, positive integer
        ids, unique within a channel only); ``background_channel`` (if any) is nonzero on background.
    channel_classes : ndarray, shape (K,), int
        Native class id of each instance channel (PanNuke: ``[1, 2, 3, 4, 5]``).
    background_channel : int or None
        Index of the background channel (PanNuke: 5).
    background, void : int
        Class written where the background channel is set, and where no channel is set at all
        (PanNuke's all-zero pixels).
    parallel : bool
        Use the ``parallel=True`` kernel (rows split across threads; identical results). Worth it
        only for stacks much larger than PanNuke's 256x256 patches.

    Returns
    -------
    semantic : ndarray (H, W) uint8
        Class per pixel. Where channels overlap, the **later channel wins** (the PanNuke official
        evaluation's ``binarize``).
    instance : ndarray (H, W) int32
        Instance ids made unique across channels: channel ``c``'s id ``v`` becomes
        ``v + sum(max id of channels < c)`` (CellViT's running-offset convention).
    instance_ids : ndarray (N,) int64
        Sorted ids present in ``instance``.
    instance_classes : ndarray (N,) int32
        Class of each id (that of the channel it came from).
    """
    if stack.ndim != 3:
        raise ValueError(f"expected an (H, W, C) stack, got shape {stack.shape}")
    classes = np.asarray(channel_classes, np.int64)
    n_inst = classes.shape[0]
    if n_inst > stack.shape[2]:
        raise ValueError(f"{n_inst} instance channels declared but the stack has {stack.shape[2]}")
    bg = -1 if background_channel is None else int(background_channel)
    mx = _channel_max(stack, n_inst)
    offsets = np.zeros(n_inst, np.int64)
    offsets[1:] = np.cumsum(mx)[:-1]
    total = int(offsets[-1] + mx[-1]) if n_inst else 0
    if total > np.iinfo(np.int32).max:
        raise ValueError("instance ids overflow int32 after making them unique")
    if parallel:
        n_blocks = max(1, min(stack.shape[0], 4 * nb.get_num_threads()))
        sem, inst, seen = _collapse_parallel(
            stack, n_inst, classes, offsets, total, bg, background, void, n_blocks
        )
    else:
        sem, inst, seen = _collapse(stack, n_inst, classes, offsets, total, bg, background, void)
    ids = np.flatnonzero(seen).astype(np.int64)
    chan = np.searchsorted(offsets, ids, side="left") - 1  # id in (offsets[c], offsets[c] + mx[c]]
    return sem, inst, ids, classes[chan].astype(np.int32)


# -- label-file checks used by readers (one pass, no temporaries) ----------------------------------
@nb.njit(cache=True, nogil=True)
def _counts_small(a, counts):
    # count runs of equal values: label maps are piecewise constant, and adding a run at a time
    # avoids the store-to-load chain of ``counts[v] += 1`` on repeated values
    flat = a.ravel()
    if flat.size == 0:
        return counts
    prev = flat[0]
    run = 0
    for i in range(flat.size):
        v = flat[i]
        if v == prev:
            run += 1
        else:
            counts[prev] += run
            prev = v
            run = 1
    counts[prev] += run
    return counts


def value_counts(a: np.ndarray) -> np.ndarray:
    """Pixel count of every value of a uint8 or uint16 array, in one pass.

    Returns an int64 array of length 256 (uint8) or 65536 (uint16) -- ``np.bincount`` without the
    int64 copy of the input. Other dtypes fall back to ``np.bincount`` of non-negative values.
    """
    a = np.ascontiguousarray(a)
    if a.dtype in (np.uint8, np.uint16):
        return _counts_small(a, np.zeros(1 << (8 * a.dtype.itemsize), np.int64))
    return np.bincount(a.ravel().astype(np.int64))


@nb.njit(cache=True, nogil=True)
def _split_encoded(encoded, divisor, classes, instance, counts):
    e = encoded.ravel()
    c = classes.ravel()
    ins = instance.ravel()
    n = e.size
    i = 0
    # one run of equal values at a time (label maps are piecewise constant): decode once per run,
    # then fill both outputs over the run
    while i < n:
        v = e[i]
        j = i + 1
        while j < n and e[j] == v:
            j += 1
        cls = v if v < divisor else v // divisor
        iv = v if v >= divisor else 0
        c[i:j] = cls
        ins[i:j] = iv
        counts[v] += j - i
        i = j


def split_encoded(
    encoded: np.ndarray, divisor: int = 1000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a ``class * divisor + k`` map (a plain class below ``divisor``: the Cityscapes
    instanceIds encoding) into its class map and instance map, counting values, in one pass.

    Parameters
    ----------
    encoded : ndarray of uint16, shape (H, W)
    divisor : int
        At least 257, so that every ``v // divisor`` fits in uint8.

    Returns
    -------
    classes : ndarray of uint8, shape (H, W)
        ``v if v < divisor else v // divisor``.
    instance : ndarray of uint16, shape (H, W)
        ``v if v >= divisor else 0``.
    counts : ndarray of int64, shape (65536,)
        Pixel count of every encoded value (``np.bincount`` of ``encoded``).

    Raises
    ------
    ValueError
        If a plain value (below ``divisor``) is above 255: its class does not fit in uint8.
    """
    a = np.ascontiguousarray(encoded)
    if a.dtype != np.uint16:
        raise TypeError(f"split_encoded needs a uint16 map, not {a.dtype}")
    if divisor < 257:
        raise ValueError(f"divisor {divisor} < 257: classes up to 65535 // divisor overflow uint8")
    classes = np.empty(a.shape, np.uint8)
    instance = np.empty(a.shape, np.uint16)
    counts = np.zeros(1 << 16, np.int64)
    _split_encoded(a, np.uint16(divisor), classes, instance, counts)
    big = np.flatnonzero(counts[256:divisor])
    if big.size:
        raise ValueError(f"plain values {(big[:10] + 256).tolist()} are classes above 255")
    return classes, instance, counts
