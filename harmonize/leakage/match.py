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

import numpy as np

from harmonize.leakage.hashing import WindowHashes

__all__ = ["Transform", "Verified", "estimate_transform", "resample", "verify", "window_matches"]


def _band_pairs(
    keys: np.ndarray, max_bucket: int, image: np.ndarray | None = None, max_images: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs ``(i, j)``, ``i != j``, with equal ``keys``; buckets larger than
    ``max_bucket`` are dropped (hashes that common carry no information: flat or periodic tissue)."""
    order = np.argsort(keys, kind="stable") if image is None else np.lexsort((image, keys))
    k = keys[order]
    n = len(k)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    sizes = np.diff(np.r_[starts, n])
    size_of = np.repeat(sizes, sizes)
    pos = np.arange(n) - np.repeat(starts, sizes)
    ok = (size_of >= 2) & (size_of <= max_bucket)
    if image is not None and max_images > 0:
        # images per bucket: a band value seen in many images is texture, not a copy
        im = image[order]
        new_img = np.r_[True, (k[1:] != k[:-1]) | (im[1:] != im[:-1])]
        n_img = np.add.reduceat(new_img.astype(np.int64), starts)
        ok &= np.repeat(n_img, sizes) <= max_images
    # the sorted positions with a partner d places on in their bucket shrink as d grows: filter
    # the previous set instead of rescanning all n (work = number of pairs, not n * bucket size)
    cur = np.flatnonzero(ok)
    left, right = [], []
    d = 1
    while True:
        cur = cur[pos[cur] + d < size_of[cur]]
        if not len(cur):
            break
        left.append(order[cur])
        right.append(order[cur + d])
        d += 1
    if not left:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(left), np.concatenate(right)


def window_matches(
    hashes: np.ndarray,
    image: np.ndarray,
    *,
    max_hamming: int,
    bands: int = 4,
    max_bucket: int = 256,
    max_images: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of windows of *different* images whose hashes nearly agree.

    Parameters
    ----------
    hashes : ndarray, shape (N,), uint64
        All windows' hashes (63 bits used).
    image : ndarray, shape (N,), int
        Image index of each window.
    max_hamming : int
        Largest Hamming distance of a match.
    bands : int
        Bit bands for candidate generation (a match must agree exactly on one of them).
    max_bucket : int
        Band values shared by more windows than this are ignored.

    Returns
    -------
    u, v : ndarray, shape (M,), int64
        Window indices with ``image[u] < image[v]``, each pair once.
    """
    bits = 63
    width = -(-bits // bands)
    n_win = np.int64(len(hashes))
    found = []
    for b in range(bands):
        lo = b * width
        nb = min(width, bits - lo)
        if nb <= 0:
            break
        key = (hashes >> np.uint64(lo)) & np.uint64((1 << nb) - 1)
        u, v = _band_pairs(key, max_bucket, image, max_images)
        keep = image[u] != image[v]
        u, v = u[keep], v[keep]
        close = np.bitwise_count(hashes[u] ^ hashes[v]) <= max_hamming
        u, v = u[close], v[close]
        swap = image[u] > image[v]
        u, v = np.where(swap, v, u), np.where(swap, u, v)
        found.append(u.astype(np.int64) * n_win + v)  # one int64 key per window pair
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pair = np.unique(np.concatenate(found))
    return pair // n_win, pair % n_win


@dataclass(frozen=True)
class Transform:
    """``p_b = scale * p_a + offset`` in image pixels (``offset`` as ``(row, col)``)."""

    scale: float
    offset: tuple[float, float]
    votes: int


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
    sa, sb = wa.scale[ia].astype(np.float64), wb.scale[ib].astype(np.float64)
    ca, cb = wa.center[ia].astype(np.float64), wb.center[ib].astype(np.float64)
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
    # least squares p_b = s p_a + o over the inliers when they spread enough to fix the scale
    pa, pb = ca[inl], cb[inl]
    if np.ptp(pa, axis=0).max() > 4 * cell:
        a_mat = np.zeros((2 * len(pa), 3))
        a_mat[0::2, 0], a_mat[0::2, 1] = pa[:, 0], 1
        a_mat[1::2, 0], a_mat[1::2, 2] = pa[:, 1], 1
        sol, *_ = np.linalg.lstsq(a_mat, pb.reshape(-1), rcond=None)
        if 0.8 < sol[0] / s0 < 1.25:
            s0, o0 = float(sol[0]), sol[1:]
    return Transform(s0, (float(o0[0]), float(o0[1])), int(inl.sum()))


@dataclass(frozen=True)
class Verified:
    """A verified pair: refined transform (image pixels), NCC score and shared fractions."""

    scale: float
    offset: tuple[float, float]
    score: float
    overlap_a: float
    overlap_b: float


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
    (steps of 1/32 octave over ``+-scale_range`` octaves, then 1/128 octave around the best),
    the offset refined over ``+-margin`` px by :func:`skimage.feature.match_template`.

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
        +-3/32 octave); a candidate whose best of them is below ``gate`` is dropped (returns None).
        Unrelated tiles score about 0.05 there, a true copy near its final score: the gate spares
        the full search (two dozen resamplings) on the false candidates, which are nearly all.

    Returns
    -------
    Verified or None
        None when the overlap is too small to score.
    """
    off0 = np.asarray(t.offset, dtype=np.float64)
    best: tuple[float, float, np.ndarray] | None = None
    steps = round(scale_range * 32)
    pre = [k for k in (0, -3, 3) if abs(k) <= steps]
    for k in pre:
        got = _score_at(ga, fa, gb, fb, t.scale * 2 ** (k / 32), off0, margin, min_side)
        if got is not None and (best is None or got[0] > best[0]):
            best = (got[0], t.scale * 2 ** (k / 32), got[1])
    if best is None or best[0] < gate:
        return None
    for k in range(-steps, steps + 1):
        if k in pre:
            continue
        s = t.scale * 2 ** (k / 32)
        got = _score_at(ga, fa, gb, fb, s, off0, margin, min_side)
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
    base = best[2]
    for s, off in [(x, o) for x in [s_mid, *fine] for o in (base, np.round(base * fb) / fb)]:
        got = _score_at(ga, fa, gb, fb, s, off, 2, min_side)
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
    )
