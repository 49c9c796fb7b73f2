"""Finding the same tissue (or scene) in several images: exact copies, crops and rescaled copies.

:func:`find_duplicates` works on any sequence of ``(ImageRef, image)``; :func:`find_leakage` feeds it
the images of a harmonize store. A pair of images is *leakage* when the two come from different
sources or different splits; a pair within one source and split is a *duplicate* (reported apart).
The method and its tolerance are described in ``docs/leakage.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np

from harmonize.leakage.hashing import (
    WindowHashes,
    content_hash,
    window_geometry,
    window_hashes,
    working_image,
)
from harmonize.leakage.match import (
    Verified,
    estimate_transform,
    verify,
    vote_cells,
    window_match_keys,
)

__all__ = [
    "ImageRef",
    "LeakageParams",
    "LeakageReport",
    "Match",
    "find_duplicates",
    "find_leakage",
]

Kind = Literal["exact", "near", "crop", "rescale", "crop+rescale"]

#: |log2 scale| below this counts as "same scale" (about 2 %).
SAME_SCALE_LOG2 = 0.03
#: An image at least this fraction of whose area is shared counts as wholly shared.
FULL_OVERLAP = 0.97


@dataclass(frozen=True)
class LeakageParams:
    """Settings of the near-duplicate search (the defaults are the documented tolerance).

    Attributes
    ----------
    max_side : int
        Working resolution: images are downscaled so their longer side is at most this many px.
    window, stride : int
        Hashed window edge and grid step, in pixels of each pyramid level.
    levels_per_octave : int
        Pyramid levels per halving of size.
    octaves : float
        Largest relative scale searched is ``2 ** octaves`` (either way).
    min_contrast : float
        Windows flatter than this (RMS grey amplitude in [0, 1]) are not hashed.
    max_hamming : int
        Largest Hamming distance (of 63 bits) between matching window hashes.
    min_votes : int
        Fewest geometrically consistent window matches for a candidate pair.
    min_score : float
        Smallest normalized cross-correlation of the overlap for a verified near-duplicate.
    max_images : int
        A hash band value shared by windows of more than this many images is not used for
        candidates (0: no limit): tissue texture makes some values common to many unrelated
        tiles, while a tile is copied into few others. A fixed cap keeps the work per band value
        bounded, so the search grows linearly with the collection; the bands lengthen with the
        collection (:func:`~harmonize.leakage.match.band_layout`) so that copies' values stay
        below it.
    min_cell_votes : int
        Fewest window matches of a pair in one ``(scale, offset)`` vote cell for it to get a
        transform estimate (counted for all pairs at once): copies put dozens in one cell,
        unrelated tiles' texture matches agree on none.
    probe_below : int
        Images with fewer hashed windows than this (a 128-px crop has about 1,500, a 256-px tile
        about 9,200) also match windows whose hash band differs from theirs in one bit
        (``probe`` of :func:`~harmonize.leakage.match.window_matches`). A small image shares few
        windows with its source, and off the 4-px grid most of them differ in a few bits, spread
        over both bands of a large collection: the exact band search alone keeps too few of them
        to vote (0: probe no image).
    probed_votes : int
        ``min_votes`` of a pair with a probed image. Probing multiplies a window's chance
        matches by the band width, and unrelated small tiles then agree on 4-5 votes often
        (of 8,000 look-alike tiles, 2,000 such pairs against 700 candidates without probing);
        their copies put 6 or more (all 200 planted 128-px copies).
    min_consistent : float
        Fewest geometrically consistent window matches, as a fraction of all the pair's window
        matches, for a candidate to be verified. Tissue texture makes unrelated tiles share
        thousands of window hashes that agree on no transform (a few %); copies agree on 25 %+.
    """

    max_side: int = 1024
    window: int = 32
    stride: int = 4
    levels_per_octave: int = 4
    octaves: float = 2.0
    min_contrast: float = 0.01
    max_hamming: int = 12
    min_votes: int = 4
    min_score: float = 0.8
    min_consistent: float = 0.1
    max_images: int = 32
    min_cell_votes: int = 3
    probe_below: int = 4096
    probed_votes: int = 6

    def __post_init__(self) -> None:
        checks = {
            "max_side": self.max_side >= self.window,
            "window": self.window >= 16,
            "stride": 1 <= self.stride <= self.window,
            "levels_per_octave": self.levels_per_octave >= 1,
            "octaves": self.octaves >= 0,
            "max_hamming": 0 <= self.max_hamming <= 63,
            "min_votes": self.min_votes >= 1,
            "min_score": -1.0 <= self.min_score <= 1.0,
            "min_consistent": 0.0 <= self.min_consistent <= 1.0,
            "max_images": self.max_images >= 0,
            "probe_below": self.probe_below >= 0,
            "probed_votes": self.probed_votes >= 1,
            "min_cell_votes": self.min_cell_votes >= 1,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid leakage parameters {bad}: {self}")

    def probes(self, n_windows: np.ndarray | int) -> np.ndarray:
        """Whether an image of ``n_windows`` hashed windows (an int or an array of them) has its
        band values probed (fewer than ``probe_below`` windows)."""
        return np.asarray(n_windows) < self.probe_below


@dataclass(frozen=True)
class ImageRef:
    """Where an image comes from: source, split and sample id (``index``: store index, if any)."""

    source: str
    split: str
    sample_id: str
    index: int | None = None
    shape: tuple[int, int] | None = None

    def label(self) -> str:
        return f"{self.source}/{self.split}/{self.sample_id}"


@dataclass(frozen=True)
class Match:
    """Two images that share content.

    ``b`` shows ``a``'s content mapped by ``p_b = scale * p_a + offset`` (pixel-edge coordinates of
    the original images; ``offset`` is where ``a``'s top-left corner lands in ``b``, ``(row, col)``).
    Pairs are oriented so that ``a`` is the one more wholly contained in the other (the crop), and
    for two whole images so that ``scale <= 1`` (``b`` is the smaller rendition).

    Attributes
    ----------
    kind : {"exact", "near", "crop", "rescale", "crop+rescale"}
        ``exact``: equal decoded pixels. ``near``: same framing and scale, different pixels
        (re-encoding, noise, colour). ``crop``: same scale, the shared region is not all of both.
        ``rescale``: both wholly shared, different scale. ``crop+rescale``: both.
    score : float
        Normalized cross-correlation of the shared region (1.0 for exact copies).
    overlap_a, overlap_b : float
        Fraction of each image's area that is shared.
    votes : int
        Geometrically consistent window matches behind the candidate (0 for exact copies).
    """

    a: ImageRef
    b: ImageRef
    kind: Kind
    scale: float
    offset: tuple[float, float]
    score: float
    overlap_a: float
    overlap_b: float
    votes: int = 0

    @property
    def across(self) -> list[str]:
        """What differs between the two: ``["source"]``, ``["split"]``, both, or nothing."""
        out = []
        if self.a.source != self.b.source:
            out.append("source")
        if self.a.split != self.b.split:
            out.append("split")
        return out

    @property
    def leak(self) -> bool:
        """True when the pair crosses sources or splits."""
        return bool(self.across)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("a", "b"):
            if d[k]["shape"] is not None:
                d[k]["shape"] = list(d[k]["shape"])
        d["offset"] = [round(self.offset[0], 2) + 0.0, round(self.offset[1], 2) + 0.0]
        d["scale"] = round(self.scale, 4)
        d["score"] = round(self.score, 4)
        d["overlap_a"] = round(self.overlap_a, 4)
        d["overlap_b"] = round(self.overlap_b, 4)
        d["across"] = self.across
        d["leak"] = self.leak
        return d


@dataclass
class LeakageReport:
    """What :func:`find_duplicates` found.

    Attributes
    ----------
    matches : list of Match
        Every pair sharing content; :attr:`leaks` and :attr:`duplicates` split them.
    n_images : int
        Images checked.
    unchecked : list of ImageRef
        Images too small or too flat to hash (only their exact copies are found).
    params : LeakageParams
    seconds : float
    """

    matches: list[Match]
    n_images: int
    unchecked: list[ImageRef] = field(default_factory=list)
    params: LeakageParams = field(default_factory=LeakageParams)
    seconds: float = 0.0

    @property
    def leaks(self) -> list[Match]:
        """Pairs across sources or splits."""
        return [m for m in self.matches if m.leak]

    @property
    def duplicates(self) -> list[Match]:
        """Pairs within one source and split."""
        return [m for m in self.matches if not m.leak]

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": self.n_images,
            "leaks": [m.to_dict() for m in self.leaks],
            "duplicates": [m.to_dict() for m in self.duplicates],
            "unchecked": [r.label() for r in self.unchecked],
            "params": asdict(self.params),
            "seconds": round(self.seconds, 3),
        }

    def render(self, fmt: Literal["text", "json", "markdown"] = "text") -> str:
        """The report as plain text, JSON or a Markdown table."""
        from harmonize.leakage.render import render

        return render(self, fmt)


# ------------------------------------------------------------------------------------------------
def _kind(scale: float, overlap_a: float, overlap_b: float) -> Kind:
    same_scale = abs(np.log2(scale)) < SAME_SCALE_LOG2
    whole = overlap_a >= FULL_OVERLAP and overlap_b >= FULL_OVERLAP
    if whole:
        return "near" if same_scale else "rescale"
    return "crop" if same_scale else "crop+rescale"


def _oriented(
    a: ImageRef, b: ImageRef, scale: float, offset: tuple[float, float], oa: float, ob: float
) -> tuple[ImageRef, ImageRef, float, tuple[float, float], float, float]:
    """Swap ``a`` and ``b`` (inverting the transform) so ``a`` is the contained one."""
    swap = ob > oa + 0.02 or (abs(ob - oa) <= 0.02 and scale > 1.0 + 1e-9)
    if not swap:
        return a, b, scale, offset, oa, ob
    inv = 1.0 / scale
    return b, a, inv, (-offset[0] * inv, -offset[1] * inv), ob, oa


@dataclass
class _Entry:
    ref: ImageRef
    digest: str
    shape: tuple[int, int]
    windows: WindowHashes
    factor: float = 1.0
    grey: np.ndarray | None = None  # kept only when there is no loader
    copies: list[ImageRef] = field(default_factory=list)  # exact copies of this representative


Loader = Callable[[ImageRef], np.ndarray]


def find_duplicates(
    images: Iterable[tuple[ImageRef, np.ndarray]],
    params: LeakageParams | None = None,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    total: int | None = None,
    loader: Loader | None = None,
) -> LeakageReport:
    """Find exact copies, crops and rescaled copies among images.

    Parameters
    ----------
    images : iterable of (ImageRef, ndarray)
        Each image ``(H, W, 3)`` uint8 RGB (or ``(H, W)`` grey), with where it comes from. Images are
        consumed one at a time; only their window hashes (13 bytes a window, about 120 kB for a
        256-px tile) are kept, and a grey working copy (at most ``max_side`` px) when there is no
        ``loader``.
    params : LeakageParams, optional
        Search settings; the defaults are the documented tolerance.
    progress : callable, optional
        ``progress(phase, done, total)`` with phases ``"hash"`` (per image) and ``"verify"`` (per
        candidate pair).
    total : int, optional
        Number of images, for progress only.
    loader : callable, optional
        ``loader(ref)`` returns the image of ``ref`` again (as ``images`` yielded it). With it,
        no pixels are held between hashing and verification: the few candidate pairs' images
        are read again, so memory stays at the window hashes whatever the collection's size.

    Returns
    -------
    LeakageReport
    """
    p = params or LeakageParams()
    t0 = time.perf_counter()
    reps: list[_Entry] = []
    by_digest: dict[str, _Entry] = {}
    n = 0
    for ref, img in images:
        n += 1
        arr = np.asarray(img)
        ref = ref if ref.shape is not None else _with_shape(ref, arr.shape[:2])
        digest = content_hash(arr)
        if digest in by_digest:
            by_digest[digest].copies.append(ref)
        else:
            grey, factor = working_image(arr, p.max_side)
            e = _Entry(ref, digest, arr.shape[:2], _hash(grey, factor, p), factor)
            e.grey = grey if loader is None else None
            reps.append(e)
            by_digest[digest] = e
        del arr, img
        if progress:
            progress("hash", n, total or 0)
    del by_digest

    matches: list[Match] = []
    for e in reps:  # exact copies: every pair within a digest group
        group = [e.ref, *e.copies]
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                matches.append(Match(group[i], group[j], "exact", 1.0, (0.0, 0.0), 1.0, 1.0, 1.0))

    unchecked = [r for e in reps if not len(e.windows) for r in (e.ref, *e.copies)]
    for ia, ib, v in _verified_pairs(reps, p, progress, loader):
        ea, eb = reps[ia], reps[ib]
        for ra in (ea.ref, *ea.copies):
            for rb in (eb.ref, *eb.copies):
                a, b, s, o, oa, ob = _oriented(ra, rb, v.scale, v.offset, v.overlap_a, v.overlap_b)
                matches.append(Match(a, b, _kind(s, oa, ob), s, o, v.score, oa, ob, v.votes))
    matches.sort(key=lambda m: (not m.leak, m.a.label(), m.b.label()))
    return LeakageReport(matches, n, unchecked, p, time.perf_counter() - t0)


def _hash(grey: np.ndarray, factor: float, p: LeakageParams) -> WindowHashes:
    return window_hashes(
        grey,
        factor,
        window=p.window,
        stride=p.stride,
        levels_per_octave=p.levels_per_octave,
        octaves=p.octaves,
        min_contrast=p.min_contrast,
    )


def _candidates(
    reps: Sequence[_Entry], p: LeakageParams
) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """Image pairs worth a transform estimate, with their window matches.

    Returns ``(a, b, windows of a, windows of b)`` for each pair of representatives (``a < b``)
    with at least ``min_votes`` window matches and ``min_cell_votes`` of them in one vote cell.
    Everything here is done for all windows and matches at once (sorts and bincounts), so the
    cost follows the number of windows and matches, not of image pairs.
    """
    sizes = np.array([len(e.windows) for e in reps], np.int64)
    if sizes.sum() == 0:
        return []
    start = np.r_[0, np.cumsum(sizes)[:-1]]
    hashes = np.concatenate([e.windows.hashes for e in reps])
    for e, lo in zip(reps, start, strict=True):  # the tables become views of the one array
        e.windows = replace(e.windows, hashes=hashes[lo : lo + len(e.windows)])
    owner = np.repeat(np.arange(len(reps), dtype=np.int32), sizes)
    probed = p.probes(sizes)
    probe = np.flatnonzero(np.repeat(probed, sizes)) if probed.any() else None
    key = window_match_keys(
        hashes, owner, max_hamming=p.max_hamming, max_images=p.max_images, probe=probe
    )
    del probe
    n_win = np.int64(len(hashes))
    factor = np.array([e.factor for e in reps])
    out = []
    # in chunks of whole first images (all matches of a pair are in one chunk; the keys are
    # sorted by first window, so by first image): bounded memory
    bounds = np.searchsorted(key, np.r_[start, n_win] * n_win)
    lo = 0
    while lo < len(reps):
        hi = lo + 1
        while hi < len(reps) and bounds[hi + 1] - bounds[lo] <= _MATCH_CHUNK:
            hi += 1
        k = key[bounds[lo] : bounds[hi]]
        lo = hi
        if len(k):
            u, v = k // n_win, k % n_win
            ia, ib = owner[u].astype(np.int64), owner[v].astype(np.int64)
            out += _chunk_candidates(reps, p, factor, ia, u - start[ia], ib, v - start[ib])
    return out


#: Window matches turned into votes at a time.
_MATCH_CHUNK = 1 << 22


def _chunk_candidates(
    reps: Sequence[_Entry],
    p: LeakageParams,
    factor: np.ndarray,
    ia: np.ndarray,
    lu: np.ndarray,
    ib: np.ndarray,
    lv: np.ndarray,
) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """:func:`_candidates` for the matches ``(ia, lu) - (ib, lv)`` (image, local window)."""
    # every match's vote, as estimate_transform casts it
    sa, ca, sb, cb = _match_geometry(reps, ia, lu, ib, lv)
    scale = sa / sb
    cell = p.window / 4 / factor[ib]
    sbin = np.round(p.levels_per_octave * np.log2(scale)).astype(np.int64)
    obin = np.floor((cb - scale[:, None] * ca) / cell[:, None]).astype(np.int64)
    del sa, ca, sb, cb, scale, cell
    pair_id = ia * len(reps) + ib
    pairs, n_match, densest = vote_cells(pair_id, sbin, obin)
    del sbin, obin
    keep = pairs[(n_match >= p.min_votes) & (densest >= p.min_cell_votes)]
    sel = np.flatnonzero(np.isin(pair_id, keep))
    if not len(sel):
        return []
    sel = sel[np.argsort(pair_id[sel], kind="stable")]
    pid = pair_id[sel]
    cut = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1], True])
    out = []
    for k in range(len(cut) - 1):
        g = sel[cut[k] : cut[k + 1]]
        out.append((int(ia[g[0]]), int(ib[g[0]]), lu[g], lv[g]))
    return out


def _match_geometry(
    reps: Sequence[_Entry], ia: np.ndarray, lu: np.ndarray, ib: np.ndarray, lv: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scales and centres of both windows of every match (see ``WindowHashes.geometry``)."""
    n_lev = np.array([len(e.windows.level_scale) for e in reps], np.int64)
    lev_start = np.r_[0, np.cumsum(n_lev)[:-1]]
    level_scale = np.concatenate([e.windows.level_scale for e in reps])
    window, stride = reps[0].windows.window, reps[0].windows.stride
    out: list[np.ndarray] = []
    for im, loc in ((ia, lu), (ib, lv)):
        lev = np.empty(len(im), np.int64)
        pos = np.empty((len(im), 2), np.uint16)
        order = np.argsort(im, kind="stable")
        bounds = np.searchsorted(im[order], np.arange(len(reps) + 1))
        for k in np.flatnonzero(np.diff(bounds)).tolist():  # per image: windows are indexed locally
            at = order[bounds[k] : bounds[k + 1]]
            w = reps[k].windows
            lev[at] = w.level[loc[at]]
            pos[at] = w.pos[loc[at]]
        out += window_geometry(level_scale[lev_start[im] + lev], pos, window, stride)
    return out[0], out[1], out[2], out[3]


def _verified_pairs(
    reps: Sequence[_Entry],
    p: LeakageParams,
    progress: Callable[[str, int, int], None] | None,
    loader: Loader | None,
) -> list[tuple[int, int, Verified]]:
    """Candidate pairs of representatives from window matches, verified by NCC."""
    groups = _candidates(reps, p)
    greys = _GreyCache(reps, p.max_side, loader)
    out = []
    for done, (a, b, wa, wb) in enumerate(groups, 1):
        ea, eb = reps[a], reps[b]
        # cell: half a window at the coarsest working scale of b, in pixels of b
        t = estimate_transform(
            ea.windows,
            wa,
            eb.windows,
            wb,
            levels_per_octave=p.levels_per_octave,
            cell=p.window / 4 / eb.factor,
            min_votes=p.probed_votes
            if p.probes(min(len(ea.windows), len(eb.windows)))
            else p.min_votes,
        )
        if progress:
            progress("verify", done, len(groups))
        if t is None or t.votes < p.min_consistent * len(wa):
            continue
        ga, gb = greys.get(a), greys.get(b)
        got = verify(ga, ea.factor, gb, eb.factor, t, shape_a=ea.shape, shape_b=eb.shape)
        if got is None or got.score < p.min_score:
            continue
        out.append((a, b, got))
    return out


class _GreyCache:
    """Working images of representatives: kept ones, or read again through the loader (the last
    few kept; candidate pairs come sorted by their first image)."""

    def __init__(
        self, reps: Sequence[_Entry], max_side: int, loader: Loader | None, size: int = 16
    ):
        self.reps, self.max_side, self.loader, self.size = reps, max_side, loader, size
        self.cache: dict[int, np.ndarray] = {}

    def get(self, k: int) -> np.ndarray:
        e = self.reps[k]
        if e.grey is not None:
            return e.grey
        if k not in self.cache:
            if self.loader is None:
                raise RuntimeError("no working image and no loader")  # pragma: no cover
            grey, _ = working_image(np.asarray(self.loader(e.ref)), self.max_side)
            if len(self.cache) >= self.size:
                self.cache.pop(next(iter(self.cache)))
            self.cache[k] = grey
        return self.cache[k]


def _with_shape(ref: ImageRef, shape: tuple[int, ...]) -> ImageRef:
    return ImageRef(ref.source, ref.split, ref.sample_id, ref.index, (int(shape[0]), int(shape[1])))


def find_leakage(
    store: Any,
    *,
    params: LeakageParams | None = None,
    sources: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> LeakageReport:
    """Find images shared across the sources and splits of a harmonize store.

    Parameters
    ----------
    store : Store or str
        An open :class:`~harmonize.store.access.Store`, or its path/URL (opened even if incomplete:
        the image layer is all that is needed).
    params : LeakageParams, optional
        Search settings (see :class:`LeakageParams`).
    sources, splits : sequence of str, optional
        Restrict the check to these sources / splits (default: all).
    progress : callable, optional
        ``progress(phase, done, total)``.

    Returns
    -------
    LeakageReport

    Raises
    ------
    StoreError
        When the store holds no image layer (the run did not write ``image``).
    """
    from harmonize.errors import StoreError
    from harmonize.store.access import Sample, Store, open_store

    st = store if isinstance(store, Store) else open_store(str(store), allow_incomplete=True)
    lacking = [lay.name for lay in st.layouts if "image" not in lay.layers]
    if sources is not None:
        lacking = [s for s in lacking if s in sources]
    if lacking:
        raise StoreError(
            f"sources {lacking} have no image layer; the leakage check compares images: write "
            "them with output.layers including `image`",
            path=st.url,
        )
    idx = st.indices(sources, splits)

    def pixels(s: Sample) -> np.ndarray:
        if s.image is None:  # pragma: no cover - sources without an image layer are refused above
            raise StoreError(f"{s.source}/{s.sample_id} has no image layer", path=st.url)
        return s.image

    def gen() -> Iterable[tuple[ImageRef, np.ndarray]]:
        for i in idx:
            s = st[i]
            yield ImageRef(s.source, s.split, s.sample_id, i, (s.height, s.width)), pixels(s)

    def load(ref: ImageRef) -> np.ndarray:  # candidate pairs' pixels, read again from the store
        if ref.index is None:  # pragma: no cover - every ref made by gen() has its index
            raise StoreError(f"{ref.sample_id}: no store index to read it from", path=st.url)
        return pixels(st[ref.index])

    return find_duplicates(gen(), params, progress=progress, total=len(idx), loader=load)
