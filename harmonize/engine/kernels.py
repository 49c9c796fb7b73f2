"""Numba kernels (compiled on first call, cached on disk).

Every kernel has a plain-numpy reference in the tests. Kernels are ``nogil=True`` so worker threads
can run them side by side, and ``cache=True`` so only the first run on a machine pays compilation.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["collapse_channels"]


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
def _collapse(stack, n_inst, classes, offsets, bg_channel, background, void):
    h, w, _ = stack.shape
    sem = np.empty((h, w), np.uint8)
    inst = np.zeros((h, w), np.int32)
    for i in range(h):
        for j in range(w):
            cls = -1
            iid = 0
            for c in range(n_inst):  # later channels overwrite earlier ones
                v = np.int64(stack[i, j, c])
                if v > 0:
                    cls = classes[c]
                    iid = offsets[c] + v
            if cls >= 0:
                sem[i, j] = cls
                inst[i, j] = iid
            elif bg_channel >= 0 and stack[i, j, bg_channel] != 0:
                sem[i, j] = background
            else:
                sem[i, j] = void
    return sem, inst


def collapse_channels(
    stack: np.ndarray,
    channel_classes: np.ndarray,
    *,
    background_channel: int | None,
    background: int = 0,
    void: int = 255,
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
    if offsets[-1] + mx[-1] > np.iinfo(np.int32).max:
        raise ValueError("instance ids overflow int32 after making them unique")
    sem, inst = _collapse(stack, n_inst, classes, offsets, bg, background, void)
    ids = np.unique(inst)
    ids = ids[ids > 0].astype(np.int64)
    chan = np.searchsorted(offsets, ids, side="left") - 1  # id in (offsets[c], offsets[c] + mx[c]]
    return sem, inst, ids, classes[chan].astype(np.int32)
