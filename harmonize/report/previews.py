"""Sample previews: the image, the harmonized semantic map blended over it in the ontology's
colours, and instance outlines; plus PNG data URIs for self-contained HTML.

All functions are pure and work on numpy arrays: ``image`` ``(H, W, 3)`` uint8 RGB, ``semantic``
``(H, W)`` output ids, ``instance`` ``(H, W)`` ids 1..K (0 = none), ``colormap`` ``(M, 3)`` uint8
indexed by output id (:meth:`harmonize.store.access.OntologyTable.colormap`).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Preview",
    "downscale",
    "instance_outlines",
    "make_preview",
    "png_data_uri",
    "sample_indices",
    "semantic_overlay",
]

#: Grey used where a store has no image layer.
NO_IMAGE_GREY = 128


def sample_indices(n_available: int, per_source: int) -> list[int]:
    """``per_source`` indices spread evenly over ``range(n_available)`` (all if fewer).

    Deterministic: the first and the last sample are always included when ``per_source >= 2``.
    """
    if per_source <= 0 or n_available <= 0:
        return []
    if per_source >= n_available:
        return list(range(n_available))
    if per_source == 1:
        return [0]
    pos = np.linspace(0, n_available - 1, per_source)
    return sorted(set(np.rint(pos).astype(int).tolist()))


def downscale(
    image: np.ndarray | None,
    semantic: np.ndarray,
    instance: np.ndarray | None,
    max_side: int,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Shrink a sample so its longer side is at most ``max_side`` pixels.

    The image is resampled with a box filter (PIL); label maps by nearest-neighbour striding so
    ids are never blended. Returns the inputs unchanged when they already fit.
    """
    h, w = semantic.shape
    step = int(np.ceil(max(h, w) / max_side)) if max_side > 0 else 1
    if step <= 1:
        return image, semantic, instance
    sem = semantic[::step, ::step]
    inst = instance[::step, ::step] if instance is not None else None
    img = None
    if image is not None:
        from PIL import Image

        img = np.asarray(
            Image.fromarray(np.ascontiguousarray(image)).resize(
                (sem.shape[1], sem.shape[0]), Image.Resampling.BOX
            )
        )
    return img, sem, inst


def _base(image: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    if image is None:
        return np.full((*shape, 3), NO_IMAGE_GREY, np.uint8)
    return np.asarray(image, dtype=np.uint8)


def _colours(semantic: np.ndarray, colormap: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 colour of each id; ids beyond the colormap are black."""
    ids = np.asarray(semantic, dtype=np.int64)
    safe = np.clip(ids, 0, len(colormap) - 1)
    out = np.asarray(colormap, dtype=np.uint8)[safe]
    out[(ids < 0) | (ids >= len(colormap))] = 0
    return out


def semantic_overlay(
    image: np.ndarray | None,
    semantic: np.ndarray,
    colormap: np.ndarray,
    *,
    alpha: float = 0.5,
    skip: Sequence[int] = (),
) -> np.ndarray:
    """Blend the ontology colour of each pixel over the image.

    Parameters
    ----------
    image : numpy.ndarray or None
        ``(H, W, 3)`` uint8 RGB; None gives a grey background.
    semantic : numpy.ndarray
        ``(H, W)`` integer output ids.
    colormap : numpy.ndarray
        ``(M, 3)`` uint8 colour per output id.
    alpha : float
        Weight of the label colour, 0..1.
    skip : sequence of int
        Ids left unblended (e.g. background), so the tissue shows through.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` uint8.
    """
    base = _base(image, semantic.shape).astype(np.float32)
    col = _colours(semantic, colormap).astype(np.float32)
    out = (1.0 - alpha) * base + alpha * col
    if len(skip):
        keep = np.isin(semantic, np.asarray(skip))
        out[keep] = base[keep]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def instance_outlines(
    image: np.ndarray | None,
    instance: np.ndarray,
    *,
    instance_classes: np.ndarray | None = None,
    colormap: np.ndarray | None = None,
    default: tuple[int, int, int] = (255, 255, 255),
) -> np.ndarray:
    """Draw the inner boundary of every instance over the image.

    Parameters
    ----------
    image : numpy.ndarray or None
        ``(H, W, 3)`` uint8 RGB; None gives a grey background.
    instance : numpy.ndarray
        ``(H, W)`` instance ids 1..K, 0 = none.
    instance_classes : numpy.ndarray, optional
        ``(K,)`` output id of instance k at index k - 1; with ``colormap``, outlines take their
        class colour.
    colormap : numpy.ndarray, optional
        ``(M, 3)`` uint8 colour per output id.
    default : (int, int, int)
        Outline colour otherwise.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` uint8.
    """
    from skimage.segmentation import find_boundaries

    out = _base(image, instance.shape).copy()
    inst = np.asarray(instance)
    edge = find_boundaries(inst, mode="inner") & (inst > 0)
    if not edge.any():
        return out
    if instance_classes is not None and colormap is not None and len(instance_classes):
        k = inst[edge].astype(np.int64)
        table = np.full(int(k.max()) + 1, -1, np.int64)
        n = min(len(instance_classes), len(table) - 1)
        table[1 : n + 1] = np.asarray(instance_classes[:n], dtype=np.int64)
        cls = table[k]
        col = np.tile(np.asarray(default, np.uint8), (len(k), 1))
        ok = (cls >= 0) & (cls < len(colormap))
        col[ok] = np.asarray(colormap, np.uint8)[cls[ok]]
        out[edge] = col
    else:
        out[edge] = default
    return out


def png_data_uri(rgb: np.ndarray) -> str:
    """``data:image/png;base64,...`` of an ``(H, W, 3)`` uint8 array (deterministic bytes)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@dataclass(frozen=True)
class Preview:
    """The panels of one sample, ``(h, w, 3)`` uint8 each (``image`` None without an image layer:
    the other panels are then drawn on grey; ``outlines`` None without an instance layer)."""

    source: str
    sample_id: str
    split: str
    image: np.ndarray | None
    overlay: np.ndarray
    outlines: np.ndarray | None
    classes: tuple[int, ...]


def make_preview(
    sample,
    colormap: np.ndarray,
    *,
    max_side: int = 256,
    alpha: float = 0.5,
    skip: Sequence[int] = (),
) -> Preview:
    """Panels of a store :class:`~harmonize.store.access.Sample`.

    Parameters
    ----------
    sample : harmonize.store.access.Sample
        A sample of an open store (its layers are read here).
    colormap : numpy.ndarray
        ``(M, 3)`` uint8 colour per output id.
    max_side : int
        Longest side of the panels, pixels.
    alpha : float
        Overlay weight of the label colours.
    skip : sequence of int
        Ids not blended (e.g. background).
    """
    sem = np.asarray(sample.semantic)
    inst = sample.instance
    img, sem_s, inst_s = downscale(sample.image, sem, inst, max_side)
    base = _base(img, sem_s.shape)
    outlines = None
    if inst_s is not None:
        try:
            classes = sample.instance_classes
        except KeyError:  # class table not written (incomplete store)
            classes = None
        outlines = instance_outlines(base, inst_s, instance_classes=classes, colormap=colormap)
    return Preview(
        source=sample.source,
        sample_id=sample.sample_id,
        split=sample.split,
        image=base if img is not None else None,
        overlay=semantic_overlay(base, sem_s, colormap, alpha=alpha, skip=skip),
        outlines=outlines,
        classes=tuple(int(c) for c in np.unique(sem)),
    )
