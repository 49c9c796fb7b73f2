"""Random-access training patches from a store, usable as a PyTorch map-style dataset.

:class:`TrainingSet` has ``__len__`` and ``__getitem__`` returning dicts of numpy arrays, which
``torch.utils.data.DataLoader`` collates into tensors; harmonize never imports torch. It pickles by
URL, so DataLoader worker processes reopen the store themselves; a worker forked with the object
(the default ``fork`` start method) reopens it on first use, since an fsspec store's event loop does
not survive a fork. Instance ids come as int32. Call ``ts.set_epoch(e)`` before each epoch: the
epoch is shared with forked workers, also persistent ones.
"""

from __future__ import annotations

import math
import mmap
import os
import struct
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

__all__ = ["TrainingSet", "repeat_factors"]


def repeat_factors(presence: np.ndarray, threshold: float = 0.1) -> np.ndarray:
    """Per-sample repeat factors of LVIS repeat-factor sampling (Gupta et al., 2019).

    Parameters
    ----------
    presence : ndarray, shape (N, C), bool
        Whether sample ``n`` contains class ``c``.
    threshold : float
        Classes present in fewer than this fraction of samples are oversampled.

    Returns
    -------
    ndarray, shape (N,), float64
        ``r(n) = max(1, max_{c in n} sqrt(threshold / f(c)))`` with ``f(c)`` the fraction of samples
        containing ``c``; 1 for samples with no class.
    """
    presence = np.asarray(presence, bool)
    n = presence.shape[0]
    if n == 0:
        return np.zeros(0)
    freq = presence.mean(axis=0)
    with np.errstate(divide="ignore"):
        rc = np.where(freq > 0, np.sqrt(threshold / np.maximum(freq, 1e-12)), 1.0)
    rc = np.maximum(rc, 1.0)
    per = np.where(presence, rc[None, :], 1.0)
    return per.max(axis=1) if presence.shape[1] else np.ones(n)


class TrainingSet:
    """Patches of ``patch_size`` from the samples of a store.

    Parameters
    ----------
    store : Store
        An opened store.
    patch_size : int or (int, int)
        Patch height and width. Samples smaller than a patch are padded (semantic with the ignore id,
        image and instance with 0).
    sources : sequence of str, optional
        Restrict to these sources.
    split : str or sequence of str, optional
        Restrict to these splits.
    mode : {"grid", "random"}
        ``grid``: every non-overlapping tile of every sample, in order (``len`` = number of tiles).
        ``random``: ``samples_per_epoch`` patches at positions drawn deterministically from
        ``(seed, epoch, index)``; with ``balance="class"`` samples are drawn by repeat-factor sampling
        and patches are centred on a pixel of the rarest class present.
    samples_per_epoch : int, optional
        Length in random mode (default: number of samples).
    balance : {None, "class"}
        Class balancing in random mode.
    layers : sequence of str
        Layers returned (``image``, ``semantic``, ``instance``).
    seed : int
        Seed of the random positions.

    Items are dicts with ``index``, ``source``, ``origin`` (y0, x0) and the requested layers; when
    the store records label spaces (every store written by ``harmonize run``), also
    ``valid_classes`` (C,) bool -- the source's dataset mask over :attr:`Store.class_ids` -- and
    ``coarse_of`` (C, C) bool -- row ``i``: the leaf columns a pixel labelled ``class_ids[i]`` may be
    (see :func:`harmonize.store.access.label_space_arrays` and the README's partial-label loss).
    """

    def __init__(
        self,
        store,
        patch_size: int | tuple[int, int] = 256,
        *,
        sources: Sequence[str] | None = None,
        split: str | Sequence[str] | None = None,
        mode: Literal["grid", "random"] = "grid",
        samples_per_epoch: int | None = None,
        balance: Literal["class"] | None = None,
        layers: Sequence[str] = ("image", "semantic", "instance"),
        seed: int = 0,
        threshold: float = 0.1,
    ) -> None:
        self.store = store
        self.url = store.url
        self._open_options = dict(getattr(store, "open_options", {}))
        #: how workers reopen the store: the store's own class (pickled by reference)
        self._store_class = type(store)
        ph, pw = (patch_size, patch_size) if isinstance(patch_size, int) else patch_size
        if ph <= 0 or pw <= 0:
            raise ValueError(f"patch_size must be positive, got {patch_size}")
        self.patch = (int(ph), int(pw))
        if mode not in ("grid", "random"):
            raise ValueError(f"mode must be 'grid' or 'random', not {mode!r}")
        if balance not in (None, "class"):
            raise ValueError(f"balance must be None or 'class', not {balance!r}")
        if balance == "class" and not any("semantic" in lay.layers for lay in store.layouts):
            raise ValueError("balance='class' needs the semantic layer, which this store lacks")
        self.mode = mode
        self.balance = balance
        self.seed = int(seed)
        # the epoch lives in an anonymous shared page so that set_epoch in the main process reaches
        # DataLoader workers forked once (persistent_workers=True); pickling copies its value
        self._epoch_buf = _shared_int(0)
        self.layers = tuple(layers)
        self.sources = list(sources) if sources is not None else None
        self.split = split
        self.indices = np.asarray(store.indices(self.sources, split), dtype=np.int64)
        if not len(self.indices):
            raise ValueError(f"no samples in {store.url} for sources={sources}, split={split}")
        # per selected sample, as arrays: source ordinal, index within the source, true size
        # (no Sample objects and no group lookups per item)
        self._source_names = list(store.sources)
        pairs = [store._index[int(i)] for i in self.indices]
        self._src = np.array([p[0] for p in pairs], dtype=np.int64)
        self._local = np.array([p[1] for p in pairs], dtype=np.int64)
        tables = store._tables
        self._sizes = np.array(
            [
                (
                    int(tables[self._source_names[a]]["height"][b]),
                    int(tables[self._source_names[a]]["width"][b]),
                )
                for a, b in pairs
            ],
            dtype=np.int64,
        ).reshape(-1, 2)
        self._pid = os.getpid()
        self._handles: dict[int, dict[str, Any]] = {}
        self.samples_per_epoch = int(samples_per_epoch or len(self.indices))
        self.threshold = threshold
        if mode == "grid":
            tiles = np.ceil(self._sizes / np.array(self.patch)).astype(np.int64).prod(axis=1)
            self._tile_offsets = np.concatenate([[0], np.cumsum(tiles)])
        self._weights = None
        self._totals: dict[int, int] = {}
        # per row: start and stop into the rare class's (y, x) points, and those points
        self._points: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if balance == "class":
            rows = self._count_rows()
            self._load_points(rows)
            self._weights = repeat_factors((rows > 0) & self._class_mask()[None, :], threshold)
            self._totals = dict(
                zip(store.class_ids.tolist(), rows.sum(axis=0).tolist(), strict=True)
            )

    # -- statistics ---------------------------------------------------------------------------
    def _count_rows(self, kind: str = "pixel_counts") -> np.ndarray:
        rows = []
        for i in self.indices:
            s = self.store[int(i)]
            g = self.store._group["sources"][s.source]
            rows.append(g[kind][s.index])
        return np.asarray(rows, dtype=np.int64).reshape(len(self.indices), -1)

    def _class_mask(self) -> np.ndarray:
        """Columns of the count tables that are real classes (not background/ignore/...)."""
        specials = {int(c["id"]) for c in self.store.ontology.classes if c.get("role")}
        return np.array([int(c) not in specials for c in self.store.class_ids])

    def _presence(self) -> np.ndarray:
        return (self._count_rows() > 0) & self._class_mask()[None, :]

    def class_weights(
        self, method: Literal["inverse", "median", "log"] = "median"
    ) -> dict[int, float]:
        """Per-class loss weights from the stored pixel counts of the selected samples.

        ``inverse``: ``total / (C * n_c)``; ``median``: median frequency balancing (Eigen & Fergus),
        ``median(f) / f_c``; ``log``: ENet's ``1 / ln(1.02 + f_c)``. Special values (background,
        ignore...) get no weight; classes with no pixels get 0.
        """
        counts = self._count_rows().sum(axis=0)
        mask = self._class_mask()
        ids = self.store.class_ids
        c = counts[mask].astype(np.float64)
        present = c > 0
        out = {int(i): 0.0 for i in ids[mask]}
        if not present.any():
            return out
        freq = c / c.sum()
        if method == "inverse":
            w = np.where(present, c.sum() / (present.sum() * np.maximum(c, 1)), 0.0)
        elif method == "median":
            w = np.where(present, np.median(freq[present]) / np.maximum(freq, 1e-12), 0.0)
        elif method == "log":
            w = np.where(present, 1.0 / np.log(1.02 + freq), 0.0)
        else:
            raise ValueError(f"unknown method {method!r}")
        out.update({int(i): float(v) for i, v in zip(ids[mask], w, strict=True)})
        return out

    def sample_weights(self) -> np.ndarray:
        """Per-sample repeat factors (LVIS repeat-factor sampling), one per selected sample.

        Computing them does not change what random mode draws; ``balance="class"`` does.
        """
        if self._weights is not None:
            return self._weights.copy()
        return repeat_factors(self._presence(), self.threshold)

    def item_weights(self) -> np.ndarray:
        """Grid mode: one weight per item (tile), its sample's repeat factor, for
        ``torch.utils.data.WeightedRandomSampler(ts.item_weights(), len(ts))``."""
        if self.mode != "grid":
            raise ValueError(
                "item_weights() is for grid mode; random mode balances by itself with "
                "balance='class'"
            )
        tiles = np.diff(self._tile_offsets)
        return np.repeat(self.sample_weights(), tiles)

    # -- access -------------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        return struct.unpack_from("q", self._epoch_buf, 0)[0]

    @epoch.setter
    def epoch(self, value: int) -> None:
        struct.pack_into("q", self._epoch_buf, 0, int(value))

    def set_epoch(self, epoch: int) -> None:
        """Change the random positions of random mode: call ``ts.set_epoch(e)`` before iterating
        epoch ``e``.

        The epoch is kept in memory shared with processes forked from this one, so DataLoader
        workers see it even with ``persistent_workers=True`` (the default ``fork`` start method).
        Workers started with ``spawn``/``forkserver`` get a copy of the epoch at the time they
        start; with those and persistent workers, pass epoch-dependent indices from a sampler.
        """
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return int(self._tile_offsets[-1]) if self.mode == "grid" else self.samples_per_epoch

    def locate(self, i: int) -> tuple[int, int, int]:
        """``(store index, y0, x0)`` of patch ``i``."""
        k, y0, x0 = self._locate(i)
        return int(self.indices[k]), y0, x0

    def _locate(self, i: int) -> tuple[int, int, int]:
        """``(position in the selection, y0, x0)`` of patch ``i``."""
        if not 0 <= i < len(self):
            raise IndexError(f"patch {i} out of range ({len(self)})")
        ph, pw = self.patch
        if self.mode == "grid":
            k = int(np.searchsorted(self._tile_offsets, i, side="right") - 1)
            h, w = self._sizes[k]
            t = i - int(self._tile_offsets[k])
            nx = math.ceil(w / pw)
            return k, (t // nx) * ph, (t % nx) * pw
        rng = np.random.default_rng([self.seed, self.epoch, i])
        if self._weights is not None:
            p = self._weights / self._weights.sum()
            k = int(rng.choice(len(self.indices), p=p))
        else:
            k = int(rng.integers(len(self.indices)))
        h, w = (int(v) for v in self._sizes[k])
        center = self._rare_pixel(k, rng) if self.balance == "class" else None
        if center is not None:
            y0 = min(max(0, center[0] - ph // 2), max(0, h - ph))
            x0 = min(max(0, center[1] - pw // 2), max(0, w - pw))
        else:
            y0 = int(rng.integers(0, max(1, h - ph + 1)))
            x0 = int(rng.integers(0, max(1, w - pw + 1)))
        return k, y0, x0

    def _load_points(self, rows: np.ndarray) -> None:
        """The rarest class of every selected sample and the class points recorded for it at
        write time (format 2); stores without them (format 1) decode the sample on each draw."""
        groups = {n: self.store._group["sources"][n] for n in self._source_names}
        if not all("classpoint_offset" in groups[self._source_names[a]] for a in set(self._src)):
            return
        ids = self.store.class_ids
        mask = self._class_mask()
        totals = rows.sum(axis=0)
        # rarest: fewest pixels over the selection, ties broken by the smaller id (as before)
        order = np.lexsort((ids, totals))
        rank = np.empty(len(ids), np.int64)
        rank[order] = np.arange(len(ids))
        cand = np.where((rows > 0) & mask[None, :], rank[None, :], len(ids))
        best = cand.argmin(axis=1)
        rare = np.where(cand[np.arange(len(rows)), best] < len(ids), ids[best], -1)
        tables = {}
        for a in set(self._src.tolist()):
            g = groups[self._source_names[a]]
            tables[a] = (g["classpoint_offset"][:], g["classpoint_class"][:], g["classpoint_yx"][:])
        starts = np.zeros(len(rows), np.int64)
        stops = np.zeros(len(rows), np.int64)
        yx = []
        base = 0
        for k in range(len(rows)):
            if rare[k] < 0:
                continue
            off, cls, pts = tables[int(self._src[k])]
            a, b = int(off[self._local[k]]), int(off[self._local[k] + 1])
            sel = pts[a:b][cls[a:b] == rare[k]]
            starts[k], stops[k] = base, base + len(sel)
            base += len(sel)
            yx.append(sel)
        flat = np.concatenate(yx).astype(np.int64) if yx else np.zeros((0, 2), np.int64)
        self._points = (starts, stops, flat.reshape(-1, 2))

    def _rare_pixel(self, k: int, rng: np.random.Generator) -> tuple[int, int] | None:
        if self._points is not None:
            starts, stops, yx = self._points
            a, b = int(starts[k]), int(stops[k])
            if a == b:
                return None
            y, x = yx[a + int(rng.integers(b - a))]
            return int(y), int(x)
        s = self.store[int(self.indices[k])]
        present = [c for c, v in s.pixel_counts.items() if v and self._is_class(c)]
        if not present:
            return None
        rare = min(present, key=lambda c: (self._totals.get(c, 0), c))
        ys, xs = np.nonzero(s.semantic == rare)
        j = int(rng.integers(len(ys)))
        return int(ys[j]), int(xs[j])

    def _is_class(self, cid: int) -> bool:
        c = self.store.ontology.by_id.get(int(cid))
        return c is not None and not c.get("role")

    def _source_handles(self, si: int) -> dict[str, Any]:
        """Array handles of source ``si`` in this process (the store is reopened after a fork:
        an fsspec store's event loop does not survive it)."""
        pid = os.getpid()
        if pid != self._pid:
            self.store = self._store_class.open(self.url, **self._open_options)
            self._handles = {}
            self._pid = pid
        h = self._handles.get(si)
        if h is None:
            name = self._source_names[si]
            g = self.store._group["sources"][name]
            present = set(g.array_keys())
            h = {"arrays": {lay: g[lay] for lay in self.layers if lay in present}}
            if self.store.has_label_spaces:
                h["spaces"] = self.store.label_space_arrays(name)
            self._handles[si] = h
        return h

    def __getitem__(self, i: int) -> dict[str, Any]:
        k, y0, x0 = self._locate(int(i))
        si, local = int(self._src[k]), int(self._local[k])
        h, w = int(self._sizes[k, 0]), int(self._sizes[k, 1])
        handles = self._source_handles(si)
        ph, pw = self.patch
        y1, x1 = min(h, y0 + ph), min(w, x0 + pw)
        out: dict[str, Any] = {
            "index": int(self.indices[k]),
            "source": self._source_names[si],
            "origin": np.array([y0, x0]),
        }
        arrays = handles["arrays"]
        parts = _read_concurrently(
            [(arr, (local, slice(y0, y1), slice(x0, x1))) for arr in arrays.values()]
        )
        for (layer, arr), part in zip(arrays.items(), parts, strict=True):
            # instance ids come as int32 (torch cannot reduce uint32 tensors)
            dtype = np.int32 if layer == "instance" else arr.dtype
            shape = (ph, pw, *arr.shape[3:])
            if part.shape[:2] == (ph, pw):
                buf = part.astype(dtype, copy=False)
            else:
                fill = self.store.ontology.ignore if layer == "semantic" else 0
                buf = np.full(shape, fill, dtype=dtype)
                buf[: y1 - y0, : x1 - x0] = part
            out[layer] = buf
        if "spaces" in handles:
            # the source's dataset mask and label -> leaves table (same shape for every patch)
            out["valid_classes"] = handles["spaces"]["valid_classes"].copy()
            out["coarse_of"] = handles["spaces"]["coarse_of"].copy()
        return out

    # -- pickling for DataLoader workers ------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["store"] = None
        state["_handles"] = {}
        state["_epoch_buf"] = self.epoch  # a copy: pickled workers do not share the page
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        epoch = state.pop("_epoch_buf")
        self.__dict__.update(state)
        self._epoch_buf = _shared_int(epoch)
        self._pid = os.getpid()
        self.store = self._store_class.open(self.url, **self._open_options)


def _shared_int(value: int) -> mmap.mmap:
    """An 8-byte anonymous shared mapping holding ``value`` (shared with forked children)."""
    buf = mmap.mmap(-1, 8)
    struct.pack_into("q", buf, 0, int(value))
    return buf


def _read_concurrently(reads: Sequence[tuple[Any, Any]]) -> list[np.ndarray]:
    """``arr[selection]`` for every read, all in one pass of zarr's event loop."""
    import asyncio

    from zarr.core.sync import sync

    if len(reads) == 1:
        arr, sel = reads[0]
        return [np.asarray(arr[sel])]

    async def _all():
        return await asyncio.gather(*(a.async_array.getitem(sel) for a, sel in reads))

    return [np.asarray(r) for r in sync(_all())]
