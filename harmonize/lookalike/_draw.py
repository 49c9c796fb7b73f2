"""Drawing and writing helpers shared by the look-alike generators (never used by readers).

Generators draw their ground truth in memory with these helpers, then encode it in the dataset's
native format. Everything takes an explicit :class:`numpy.random.Generator` so output is
deterministic for a seed, and the writers (:func:`write_rgb`, :func:`write_mat`) write the same
bytes for the same arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "Ellipse",
    "he_image",
    "paint_blobs",
    "random_ellipses",
    "scene_image",
    "write_mat",
    "write_rgb",
]


@dataclass(frozen=True)
class Ellipse:
    """A filled ellipse: centre ``(row, col)``, radii ``(r_row, r_col)``, rotation in radians."""

    row: float
    col: float
    r_row: float
    r_col: float
    rotation: float

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """Boolean mask of the ellipse, clipped to ``shape`` (rasterized by scikit-image)."""
        from skimage.draw import ellipse

        rr, cc = ellipse(
            self.row, self.col, self.r_row, self.r_col, shape=shape, rotation=self.rotation
        )
        m = np.zeros(shape, bool)
        m[rr, cc] = True
        return m

    def polygon(self, n: int = 16) -> np.ndarray:
        """``(n, 2)`` vertices ``(x, y)`` (float) approximating the outline, for XML/JSON formats."""
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        y = self.r_row * np.sin(t)
        x = self.r_col * np.cos(t)
        c, s = np.cos(self.rotation), np.sin(self.rotation)
        # skimage's rotation turns the (row, col) frame counter-clockwise
        rows = self.row + y * c - x * s
        cols = self.col + y * s + x * c
        return np.stack([cols, rows], axis=1)


def random_ellipses(
    rng: np.random.Generator,
    shape: tuple[int, int],
    n: int,
    radius: tuple[float, float] = (4.0, 12.0),
    *,
    overlap: bool = False,
    max_tries: int = 50,
) -> list[Ellipse]:
    """Draw up to ``n`` random nucleus-like ellipses inside ``shape``.

    With ``overlap=False`` ellipses are rejected while their bounding circles intersect an earlier
    one, so every ellipse keeps all its pixels; with ``overlap=True`` they may overlap.
    """
    h, w = shape
    out: list[Ellipse] = []
    tries = 0
    while len(out) < n and tries < n * max_tries:
        tries += 1
        r1, r2 = rng.uniform(radius[0], radius[1], size=2)
        row = rng.uniform(r1, max(r1 + 1, h - r1))
        col = rng.uniform(r2, max(r2 + 1, w - r2))
        e = Ellipse(float(row), float(col), float(r1), float(r2), float(rng.uniform(0, np.pi)))
        if not overlap:
            rad = max(r1, r2) + 1.5
            if any(
                (e.row - o.row) ** 2 + (e.col - o.col) ** 2 < (rad + max(o.r_row, o.r_col)) ** 2
                for o in out
            ):
                continue
        out.append(e)
    return out


def paint_blobs(rng: np.random.Generator, lab: np.ndarray, classes: Sequence[int]) -> None:
    """Paint 2-5 random axis-aligned ellipses of ``classes`` (one drawn per ellipse) onto the
    label map ``lab``, in place: the objects of a scene look-alike."""
    h, w = lab.shape
    yy, xx = np.mgrid[:h, :w]
    for _ in range(int(rng.integers(2, 6))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.05, 0.25) * h, rng.uniform(0.05, 0.25) * w
        lab[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1] = rng.choice(classes)


def he_image(rng: np.random.Generator, foreground: np.ndarray) -> np.ndarray:
    """An H&E-like RGB tile: pink eosin background, purple haematoxylin where ``foreground``.

    Parameters
    ----------
    rng : numpy Generator
    foreground : ndarray, shape (H, W), bool or int
        Nonzero where nuclei are.

    Returns
    -------
    ndarray, shape (H, W, 3), uint8
    """
    h, w = foreground.shape
    eosin = np.array([236.0, 170.0, 200.0])
    haem = np.array([95.0, 60.0, 140.0])
    img = np.empty((h, w, 3), np.float64)
    img[:] = eosin
    img[foreground != 0] = haem
    img += rng.normal(0.0, 9.0, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def scene_image(rng: np.random.Generator, semantic: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """A street/scene-like RGB image: each class painted in its colour plus noise.

    ``colors`` is indexed by the values of ``semantic`` (shape (K, 3), uint8).
    """
    img = colors[semantic].astype(np.float64)
    img += rng.normal(0.0, 12.0, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_rgb(path: str | Path, rgb: np.ndarray, *, alpha: bool = False) -> None:
    """Write an RGB uint8 image to PNG, JPEG or TIFF by extension (RGBA when ``alpha``)."""
    from pathlib import Path

    from PIL import Image

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    arr = rgb
    if alpha:
        arr = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 255, np.uint8)], axis=2)
    suffix = p.suffix.lower()
    if suffix in (".tif", ".tiff"):
        import tifffile

        tifffile.imwrite(p, arr, photometric="rgb")
    elif suffix in (".jpg", ".jpeg"):
        Image.fromarray(rgb).save(p, format="JPEG", quality=92)
    else:
        Image.fromarray(arr).save(p, format="PNG")


#: Fixed 116-byte text header for generated ``.mat`` files (scipy writes the current date there).
_MAT_HEADER = b"MATLAB 5.0 MAT-file Platform: posix, Created on: Thu Jan  1 00:00:00 1970".ljust(
    116
)


def write_mat(path: str | Path, mdict: dict) -> None:
    """Write a MATLAB v5 ``.mat`` file with :func:`scipy.io.savemat`, byte-for-byte deterministic.

    scipy stamps the creation date into the 116-byte text header; it is replaced by a fixed one so
    that a generator's output depends on its seed only. Python dicts become 1x1 MATLAB structs.
    """
    import io
    from pathlib import Path

    import scipy.io

    buf = io.BytesIO()
    scipy.io.savemat(buf, mdict)
    data = bytearray(buf.getvalue())
    data[:116] = _MAT_HEADER
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(bytes(data))
