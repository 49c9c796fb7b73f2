"""Matching window hashes between images and verifying candidate pairs.

1. :func:`window_matches`: windows of different images whose hashes share one of ``bands`` bit
   bands exactly (multi-index hashing: any two hashes within Hamming distance ``bands - 1`` share a
   band) and differ in at most ``max_hamming`` bits overall.
2. :func:`estimate_transform`: each matched window pair votes for a relative scale and offset
   ``p_b = scale * p_a + offset`` (image pixels); the densest cell of votes, refined by least squares
   over its inliers, is the candidate transform of the image pair.
3. :func:`verify`: the finer image is resampled onto the coarser one's grid at an exact scale
   (:func:`resample`: Gaussian anti-aliasing + :func:`skimage.transform.warp`), the offset refined
   and the overlap scored by normalized cross-correlation (:func:`skimage.feature.match_template`)
   over scales around the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harmonize.leakage.hashing import WindowHashes

__all__ = [
    "Transform",
    "Verified",
    "band_layout",
    "estimate_transform",
    "resample",
    "verify",
    "vote_cells",
    "window_match_keys",
    "window_matches",
]


#: Collections with more windows than this search two 32-bit bands instead of four 16-bit ones.
MANY_WINDOWS = 1 << 20


def band_layout(n_windows: int) -> list[tuple[int, int]]:
    """The ``(first bit, width)`` of each band searched for ``n_windows`` windows.

    Four 16-bit bands (any two hashes within 3 bits share one) up to :data:`MANY_WINDOWS`
    windows (about 110 PanNuke tiles); above, two bands of 32 and 31 bits, so that random
    collisions (``n_windows / 2 ** width`` windows a band value) stay rare however large the
    collection: with 16-bit bands 8,000 tiles put over 1,000 windows on each value, and every
    pair in a bucket is enumerated. Copies still share many windows within 1-3 bits.
    """
    widths = (16, 16, 16, 15) if n_windows <= MANY_WINDOWS else (32, 31)
    starts = np.cumsum((0, *widths[:-1]))
    return [(int(lo), w) for lo, w in zip(starts, widths, strict=True)]


_CHUNK = 1 << 22


def _band_pairs(
    hashes: np.ndarray,
    lo: int,
    width: int,
    image: np.ndarray,
    max_bucket: int,
    max_images: int,
    max_hamming: int,
    probe: np.ndarray | None = None,
) -> np.ndarray:
    """Keys ``i * N + j`` of the window pairs ``i < j`` of different images whose hashes have
    equal bits ``lo .. lo + width`` and differ in at most ``max_hamming`` bits.

    Buckets of more than ``max_bucket`` windows or windows of more than ``max_images`` images
    (``0``: no limit) are dropped: hash values that common are flat or textured tissue, not a
    copy. ``image`` must be non-decreasing in the window index (windows stored image by image).
    The windows ``probe`` (indices) are also paired with the windows whose band differs from
    theirs in exactly one bit (see :func:`_probe_pairs`). Memory: one uint64 a window (the sorted
    ``(band value, window index)``) plus the windows in buckets of two or more; work: one sort
    plus the number of pairs, plus ``width`` binary searches a probed window.
    """
    n = len(hashes)
    none = np.zeros(0, np.int64)
    if n < 2:
        return none
    idx_bits = max(1, int(n - 1).bit_length())
    if width + idx_bits > 64:  # pragma: no cover - over 2 ** 32 windows
        raise ValueError(f"too many windows ({n}) for one sort key")
    # one in-place uint64 sort of (band value, window index): a bucket's windows come out by
    # index, so by image, and no argsort index array is needed
    packed = hashes >> np.uint64(lo)
    packed &= np.uint64((1 << width) - 1)
    packed <<= np.uint64(idx_bits)
    for c in range(0, n, _CHUNK):
        packed[c : c + _CHUNK] |= np.arange(c, min(n, c + _CHUNK), dtype=np.uint64)
    packed.sort()
    probed = (
        _probe_pairs(
            packed, hashes, lo, width, image, probe, idx_bits, max_bucket, max_images, max_hamming
        )
        if probe is not None and len(probe)
        else none
    )
    # windows sharing their band value with a neighbour in the sorted order (chunked: no
    # full-length temporaries)
    same = np.empty(n - 1, bool)
    shift = np.uint64(idx_bits)
    for c in range(0, n - 1, _CHUNK):
        e = min(n - 1, c + _CHUNK)
        same[c:e] = ((packed[c + 1 : e + 1] ^ packed[c:e]) >> shift) == 0
    member = np.zeros(n, bool)
    member[1:] = same
    member[:-1] |= same
    del same
    sub = packed[member]
    del packed, member
    # window indices and positions in int32 where they fit (half the memory of the largest
    # temporaries, which set the search's peak on large collections)
    ind: type[np.signedinteger[Any]] = np.int32 if n < 2**31 else np.int64
    order = (sub & np.uint64((1 << idx_bits) - 1)).astype(ind)
    k = sub >> shift
    del sub
    m = len(k)
    if m < 2:
        return probed
    change = k[1:] != k[:-1]
    del k
    starts = np.flatnonzero(np.r_[True, change]).astype(ind)
    sizes = np.diff(np.r_[starts, m]).astype(ind)
    im = image[order]
    new_img = np.r_[True, change | (im[1:] != im[:-1])]
    del change
    n_img = np.add.reduceat(new_img.astype(ind), starts)
    del new_img
    ok_bucket = (sizes <= max_bucket) & (n_img >= 2)
    if max_images > 0:
        ok_bucket &= n_img <= max_images
    size_of = np.repeat(np.where(ok_bucket, sizes, 0).astype(ind), sizes)
    pos = np.arange(m, dtype=ind) - np.repeat(starts, sizes)
    del starts, sizes, n_img, ok_bucket
    # the sorted positions with a partner d places on in their bucket shrink as d grows: filter
    # the previous set instead of rescanning all (work = number of pairs, not m * bucket size)
    cur = np.flatnonzero(size_of >= 2).astype(ind)
    keys = []
    d = 1
    while True:
        cur = cur[pos[cur] + d < size_of[cur]]
        if not len(cur):
            break
        other = cur[im[cur] != im[cur + d]]
        u, v = order[other].astype(np.int64), order[other + d].astype(np.int64)
        close = np.bitwise_count(hashes[u] ^ hashes[v]) <= max_hamming
        keys.append(u[close] * np.int64(n) + v[close])  # only the close pairs are kept
        d += 1
    keys.append(probed)
    return np.concatenate(keys)


#: Probed windows looked up at a time.
_PROBE_CHUNK = 1 << 18


def _probe_pairs(
    packed: np.ndarray,
    hashes: np.ndarray,
    lo: int,
    width: int,
    image: np.ndarray,
    probe: np.ndarray,
    idx_bits: int,
    max_bucket: int,
    max_images: int,
    max_hamming: int,
) -> np.ndarray:
    """Keys ``min(q, w) * N + max(q, w)`` of the probed windows ``q`` and the windows ``w`` of
    other images whose band (bits ``lo .. lo + width``) differs from ``q``'s in exactly one bit,
    within ``max_hamming`` bits overall (multi-probe: ``width`` binary searches a probed window in
    ``packed``, the sorted ``(band value, window index)`` of all windows).

    A probed value is used when at most ``max_bucket`` windows, and at most ``max_images`` when
    that is set, hold it (a bucket's window count bounds its image count).
    """
    n = len(hashes)
    shift = np.uint64(idx_bits)
    low = np.uint64((1 << idx_bits) - 1)
    cap = min(max_bucket, max_images) if max_images > 0 else max_bucket
    keys = [np.zeros(0, np.int64)]
    for c in range(0, len(probe), _PROBE_CHUNK):
        q = probe[c : c + _PROBE_CHUNK].astype(np.int64)
        band = (hashes[q] >> np.uint64(lo)) & np.uint64((1 << width) - 1)
        for bit in range(width):
            target = (band ^ np.uint64(1 << bit)) << shift
            first = np.searchsorted(packed, target)
            count = np.searchsorted(packed, target | low, side="right") - first
            hit = (count > 0) & (count <= cap)
            if not hit.any():
                continue
            count = count[hit]
            qq = np.repeat(q[hit], count)
            at = np.repeat(first[hit] - np.cumsum(count) + count, count) + np.arange(len(qq))
            w = (packed[at] & low).astype(np.int64)
            ok = image[qq] != image[w]
            qq, w = qq[ok], w[ok]
            ok = np.bitwise_count(hashes[qq] ^ hashes[w]) <= max_hamming
            qq, w = qq[ok], w[ok]
            keys.append(np.minimum(qq, w) * np.int64(n) + np.maximum(qq, w))
    return np.concatenate(keys)


def window_matches(
    hashes: np.ndarray,
    image: np.ndarray,
    *,
    max_hamming: int,
    max_bucket: int = 256,
    max_images: int = 32,
    probe: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of windows of *different* images whose hashes nearly agree.

    Multi-index hashing: a pair must agree exactly on one band of bits (:func:`band_layout`)
    and differ in at most ``max_hamming`` bits overall. Only pairs sharing a band value are ever
    looked at, so the cost follows the number of such pairs, not the number of window pairs.

    Parameters
    ----------
    hashes : ndarray, shape (N,), uint64
        All windows' hashes (63 bits used), stored image by image.
    image : ndarray, shape (N,), int
        Image index of each window, non-decreasing.
    max_hamming : int
        Largest Hamming distance of a match.
    max_bucket : int
        Band values shared by more windows than this are ignored.
    max_images : int
        Band values shared by windows of more images than this are ignored (0: no limit).
    probe : ndarray of int, optional
        Windows that also match windows whose band differs from theirs in one bit (multi-probe
        hashing), when the probed value is held by at most ``max_images`` windows (or
        ``max_bucket`` without that cap). For the few windows of small images: with two 32-bit
        bands, a pair within ``max_hamming`` bits then needs at most one differing bit in some
        band instead of none, which finds several times more of a small crop's windows.

    Returns
    -------
    u, v : ndarray, shape (M,), int64
        Window indices with ``u < v`` (so ``image[u] < image[v]``), each pair once, sorted.
    """
    key = window_match_keys(
        hashes,
        image,
        max_hamming=max_hamming,
        max_bucket=max_bucket,
        max_images=max_images,
        probe=probe,
    )
    return key // len(hashes), key % len(hashes)


def window_match_keys(
    hashes: np.ndarray,
    image: np.ndarray,
    *,
    max_hamming: int,
    max_bucket: int = 256,
    max_images: int = 32,
    probe: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`window_matches` as one sorted int64 key ``u * N + v`` a pair (8 bytes a match)."""
    found = [
        _band_pairs(hashes, lo, width, image, max_bucket, max_images, max_hamming, probe)
        for lo, width in band_layout(len(hashes))
    ]
    key = np.concatenate(found) if len(found) > 1 else found[0]
    del found
    key.sort()
    if len(key) > 1:  # a pair found in several bands once
        dup = np.zeros(len(key), bool)
        dup[1:] = key[1:] == key[:-1]
        key = key[~dup]
    return key


def vote_cells(
    pair: np.ndarray, sbin: np.ndarray, obin: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image pair: its window matches and the most of them in one vote cell.

    Parameters
    ----------
    pair : ndarray, shape (M,), int64
        Image-pair id of each window match.
    sbin : ndarray, shape (M,), int64
        Scale bin of each match's vote.
    obin : ndarray, shape (M, 2), int64
        Offset bins ``(row, col)``.

    Returns
    -------
    pairs : ndarray, shape (P,), int64
        The distinct pair ids, sorted.
    matches : ndarray, shape (P,), int64
        Window matches of each.
    densest : ndarray, shape (P,), int64
        Most matches of each pair in one ``(scale, row, col)`` cell.
    """
    if not len(pair):
        z = np.zeros(0, np.int64)
        return z, z, z
    order = np.lexsort((obin[:, 1], obin[:, 0], sbin, pair))
    cols = [pair[order], sbin[order], obin[order, 0], obin[order, 1]]
    new_cell = np.zeros(len(order), bool)
    new_cell[0] = True
    for c in cols:
        new_cell[1:] |= c[1:] != c[:-1]
    cstart = np.flatnonzero(new_cell)
    ccount = np.diff(np.r_[cstart, len(order)])
    cpair = cols[0][cstart]
    pstart = np.flatnonzero(np.r_[True, cpair[1:] != cpair[:-1]])
    pairs = cpair[pstart]
    matches = np.add.reduceat(ccount, pstart)
    densest = np.maximum.reduceat(ccount, pstart)
    return pairs, matches, densest


@dataclass(frozen=True)
class Transform:
    """``p_b = scale * p_a + offset`` in image pixels (``offset`` as ``(row, col)``).

    ``anchor`` is the centre of the matched windows in ``a`` (image pixels): the point the votes
    pin down best. A scale search keeps its image fixed (the offset pivots about it) instead of
    ``a``'s corner, which for a crop far from the corner moves the overlap by many pixels.
    ``vote_scale`` is the scale the votes agree on (a ratio of pyramid levels) when the
    least-squares ``scale`` moved away from it; verification tries both.
    """

    scale: float
    offset: tuple[float, float]
    votes: int
    anchor: tuple[float, float] = (0.0, 0.0)
    vote_scale: float | None = None

    def offset_at(self, scale: float) -> np.ndarray:
        """The offset of this transform at another ``scale``, pivoting about :attr:`anchor`."""
        return np.asarray(self.offset) + (self.scale - scale) * np.asarray(self.anchor)


def estimate_transform(
    wa: WindowHashes,
    ia: np.ndarray,
    wb: WindowHashes,
    ib: np.ndarray,
    *,
    levels_per_octave: int,
    cell: float,
    min_votes: int,
) -> Transform | None:
    """The relative scale and offset most matched windows of images ``a`` and ``b`` agree on.

    Parameters
    ----------
    wa, wb : WindowHashes
        Window tables of the two images.
    ia, ib : ndarray, shape (M,), int
        Matched window indices into ``wa`` and ``wb``.
    levels_per_octave : int
        Pyramid levels per octave (the scale resolution of one vote).
    cell : float
        Offset tolerance of a vote, in pixels of ``b``.
    min_votes : int
        Fewest consistent window matches for a candidate.

    Returns
    -------
    Transform or None
    """
    if len(ia) < min_votes:
        return None
    sa, ca = wa.geometry(ia)
    sb, cb = wb.geometry(ib)
    scale = sa / sb  # b pixels per a pixel
    off = cb - scale[:, None] * ca
    sbin = np.round(levels_per_octave * np.log2(scale)).astype(np.int64)
    obin = np.floor(off / cell).astype(np.int64)
    # one int64 key per (scale bin, offset row bin, offset col bin): a 1-D unique, not axis=0
    cols = np.stack([sbin, obin[:, 0], obin[:, 1]], axis=1)
    lo = cols.min(axis=0)
    span = cols.max(axis=0) - lo + 1
    flat = ((cols[:, 0] - lo[0]) * span[1] + (cols[:, 1] - lo[1])) * span[2] + (cols[:, 2] - lo[2])
    uniq, counts = np.unique(flat, return_counts=True)
    keys = np.stack(
        [
            uniq // (span[1] * span[2]) + lo[0],
            (uniq // span[2]) % span[1] + lo[1],
            uniq % span[2] + lo[2],
        ],
        axis=1,
    )
    # densest cell counting its 3 x 3 x 3 neighbourhood (votes near a cell border split)
    best, best_n = None, 0
    top = np.argsort(counts)[::-1][:32]
    for k in top:
        near = np.all(np.abs(keys - keys[k]) <= 1, axis=1)
        n = int(counts[near].sum())
        if n > best_n:
            best, best_n = keys[k], n
    if best is None or best_n < min_votes:
        return None
    centre_off = (best[1:] + 0.5) * cell
    inl = (np.abs(sbin - best[0]) <= 1) & np.all(np.abs(off - centre_off) <= 1.5 * cell, axis=1)
    if inl.sum() < min_votes:
        return None
    s0 = float(np.exp(np.median(np.log(scale[inl]))))
    o0 = np.median(cb[inl] - s0 * ca[inl], axis=0)
    pa, pb = ca[inl], cb[inl]
    anchor = pa.mean(axis=0)
    vote_scale = None
    # least squares p_b = s p_a + o over the inliers when they spread enough to fix the scale.
    # Window centres sit on a 4-px grid, so over a small spread the fitted scale is off by up to
    # grid / spread (a 128-px crop's 6 votes, all at scale 1, fit 0.92): the vote scale is kept
    # beside it for the verification.
    if np.ptp(pa, axis=0).max() > 4 * cell:
        a_mat = np.zeros((2 * len(pa), 3))
        a_mat[0::2, 0], a_mat[0::2, 1] = pa[:, 0], 1
        a_mat[1::2, 0], a_mat[1::2, 2] = pa[:, 1], 1
        sol, *_ = np.linalg.lstsq(a_mat, pb.reshape(-1), rcond=None)
        if 0.8 < sol[0] / s0 < 1.25:
            if abs(np.log2(sol[0] / s0)) > 1 / 32:
                vote_scale = s0
            s0, o0 = float(sol[0]), sol[1:]
    # the offset that maps the anchor where the fit maps it (a pure change of reference point)
    return Transform(
        s0,
        (float(o0[0]), float(o0[1])),
        int(inl.sum()),
        (float(anchor[0]), float(anchor[1])),
        vote_scale,
    )


@dataclass(frozen=True)
class Verified:
    """A verified pair: refined transform (image pixels), NCC score, shared fractions, and the
    window votes of the estimate it refined."""

    scale: float
    offset: tuple[float, float]
    score: float
    overlap_a: float
    overlap_b: float
    votes: int


def _ncc_at(
    ref: np.ndarray, mov: np.ndarray, origin: np.ndarray, margin: int, min_side: int
) -> tuple[float, np.ndarray] | None:
    """Best NCC of ``mov`` placed at ``origin`` (row, col) in ``ref`` +- ``margin`` px."""
    from skimage.feature import match_template

    o = np.round(origin).astype(int)
    hr, wr = ref.shape
    hm, wm = mov.shape
    y0, x0 = max(0, o[0]), max(0, o[1])
    y1, x1 = min(hr, o[0] + hm), min(wr, o[1] + wm)
    if y1 - y0 - 2 * margin < min_side or x1 - x0 - 2 * margin < min_side:
        return None
    tmpl = mov[y0 - o[0] + margin : y1 - o[0] - margin, x0 - o[1] + margin : x1 - o[1] - margin]
    search = ref[y0:y1, x0:x1]
    if tmpl.std() < 1e-6 or search.std() < 1e-6:
        return None
    ncc = match_template(search, tmpl)
    k = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
    shift = np.array(k) - margin
    return float(ncc[k]), o + shift


def resample(grey: np.ndarray, scale: float, shift: np.ndarray) -> np.ndarray:
    """``grey`` resampled so that ``e_out = scale * e_in + shift`` (pixel-edge coordinates).

    Unlike :func:`skimage.transform.rescale`, whose output size is rounded (and so its true scale
    with it), the scale here is exact. Downscaling is anti-aliased with the Gaussian
    ``skimage.transform.rescale`` uses (``sigma = (1 / scale - 1) / 2``).

    Parameters
    ----------
    grey : ndarray, shape (h, w), float32
    scale : float
        Output pixels per input pixel.
    shift : ndarray, shape (2,)
        ``(row, col)`` sub-pixel shift in output pixels, each in ``[0, 1)``.

    Returns
    -------
    ndarray, float32, shape ``ceil(scale * (h, w) + shift)``
    """
    from scipy.ndimage import gaussian_filter
    from skimage.transform import AffineTransform, warp

    src = grey
    if scale < 1:
        src = gaussian_filter(grey, sigma=(1 / scale - 1) / 2, mode="reflect")
    shape = np.ceil(np.asarray(grey.shape) * scale + shift).astype(int)
    # warp maps output (col, row) index coordinates to input ones: i_in = (i_out + .5 - shift) / s - .5
    inv = AffineTransform(
        scale=1 / scale,
        translation=((0.5 - shift[1]) / scale - 0.5, (0.5 - shift[0]) / scale - 0.5),
    )
    return warp(
        src, inv, output_shape=tuple(shape), order=1, mode="edge", preserve_range=True
    ).astype(np.float32)


def _score_at(
    ga: np.ndarray,
    fa: float,
    gb: np.ndarray,
    fb: float,
    s: float,
    offset: np.ndarray,
    margin: int,
    min_side: int,
) -> tuple[float, np.ndarray] | None:
    """Best NCC and refined image offset for scale ``s`` near ``offset`` (image pixels of b)."""
    sw = s * fb / fa  # working b px per working a px
    ow = fb * offset  # e_b^w = sw * e_a^w + ow (pixel-edge coordinates)
    if sw <= 1:  # a is finer: bring it onto b's grid at origin floor(ow)
        base = np.floor(ow)
        mov = resample(ga, sw, ow - base)
        got = _ncc_at(gb, mov, base, margin, min_side)
        if got is None:
            return None
        return got[0], (got[1] + (ow - base)) / fb
    # b is finer: bring it onto a's grid; e_a^w = e_b^w / sw - ow / sw
    ob = -ow / sw
    base = np.floor(ob)
    mov = resample(gb, 1 / sw, ob - base)
    got = _ncc_at(ga, mov, base, margin, min_side)
    if got is None:
        return None
    return got[0], -(got[1] + (ob - base)) * sw / fb


def verify(
    ga: np.ndarray,
    fa: float,
    gb: np.ndarray,
    fb: float,
    t: Transform,
    *,
    shape_a: tuple[int, int],
    shape_b: tuple[int, int],
    margin: int = 6,
    min_side: int = 16,
    scale_range: float = 0.1,
    gate: float = 0.4,
) -> Verified | None:
    """Score a candidate transform by normalized cross-correlation of the overlap.

    The finer image is resampled onto the coarser one's grid at exact scales around ``t.scale``
    (and ``t.vote_scale``, when set; steps of 1/32 octave over ``+-scale_range`` octaves, then
    1/128 octave around the best), the offset pivoting about ``t.anchor``
    (:meth:`Transform.offset_at`) and refined over ``+-margin`` px by
    :func:`skimage.feature.match_template`.

    Parameters
    ----------
    ga, gb : ndarray, float32
        Working grey images of ``a`` and ``b``.
    fa, fb : float
        Their working pixels per image pixel.
    t : Transform
        Candidate ``p_b = scale * p_a + offset`` in image pixels.
    shape_a, shape_b : (int, int)
        Image sizes (pixels of the original images).
    margin : int
        Offset search radius around the estimate, in working pixels of the coarser image.
    min_side : int
        Smallest overlap edge (working pixels) that is scored.
    scale_range : float
        Scale search half-width in octaves (0.1: +-7 %).
    gate : float
        Before the full scale search, the NCC is taken at three scales (the estimate and
        +-3/32 octave; as many again around ``t.vote_scale``); a candidate whose best of them is below ``gate`` is dropped (returns None).
        Unrelated tiles score about 0.05 there, a true copy near its final score: the gate spares
        the full search (two dozen resamplings) on the false candidates, which are nearly all.

    Returns
    -------
    Verified or None
        None when the overlap is too small to score.
    """
    best: tuple[float, float, np.ndarray] | None = None
    steps = round(scale_range * 32)
    pre = [k for k in (0, -3, 3) if abs(k) <= steps]
    seeds = [t.scale] if t.vote_scale is None else [t.scale, t.vote_scale]
    seed = t.scale
    for s0 in seeds:
        for k in pre:
            s = s0 * 2 ** (k / 32)
            got = _score_at(ga, fa, gb, fb, s, t.offset_at(s), margin, min_side)
            if got is not None and (best is None or got[0] > best[0]):
                best, seed = (got[0], s, got[1]), s0
    if best is None or best[0] < gate:
        return None
    for k in range(-steps, steps + 1):
        if k in pre:
            continue
        s = seed * 2 ** (k / 32)
        got = _score_at(ga, fa, gb, fb, s, t.offset_at(s), margin, min_side)
        if got is not None and (best is None or got[0] > best[0]):
            best = (got[0], s, got[1])
    if best is None:
        return None
    s_mid = best[1]
    # fine steps around the best, plus the scales copies are usually made at: same scale, a
    # power of two (20x <-> 40x), and the ratios of the image sizes (a whole image rescaled)
    fine = [s_mid * 2 ** (k / 128) for k in (-3, -2, -1, 1, 2, 3)]
    usual = [1.0, 0.5, 2.0, 0.25, 4.0]
    usual += [shape_b[0] / shape_a[0], shape_b[1] / shape_a[1]]
    fine += [u for u in usual if abs(np.log2(u / s_mid)) <= 3 / 128]
    # the same around the estimate's sub-pixel offset and the nearest whole working pixel
    # (copies are usually cut at whole pixels)
    base, anchor = best[2], np.asarray(t.anchor)
    for s in [s_mid, *fine]:
        off = base + (s_mid - s) * anchor  # pivoting about the anchor, as above
        for o in (off, np.round(off * fb) / fb):
            got = _score_at(ga, fa, gb, fb, s, o, 2, min_side)
            if got is not None and got[0] > best[0]:
                best = (got[0], s, got[1])
    score, s, o = best
    ha, wa = shape_a
    hb, wb = shape_b
    # a's extent mapped into b, intersected with b
    y0, x0 = max(0.0, o[0]), max(0.0, o[1])
    y1, x1 = min(float(hb), o[0] + s * ha), min(float(wb), o[1] + s * wa)
    inter = max(0.0, y1 - y0) * max(0.0, x1 - x0)
    return Verified(
        scale=float(s),
        offset=(float(o[0]), float(o[1])),
        score=float(score),
        overlap_a=float(min(1.0, inter / (s * s * ha * wa))),
        overlap_b=float(min(1.0, inter / (hb * wb))),
        votes=int(t.votes),
    )
