"""Image fingerprints for the leakage check: content hashes and multi-scale window pHashes.

* :func:`content_hash` hashes the *decoded* uint8 pixels (plus shape), so the same image saved as PNG
  and TIFF, or with different metadata, hashes the same.
* :func:`working_image` turns an RGB tile into the grey image every later step works on, downscaled
  (never upscaled) so that its longer side is at most ``max_side`` pixels.
* :func:`window_hashes` builds a Gaussian pyramid of the working image with ``levels_per_octave``
  levels per halving of size (:func:`skimage.transform.pyramid_gaussian`) and hashes every
  ``window`` x ``window`` window on a grid of step ``stride`` at every level with a DCT perceptual
  hash (pHash: the 8 x 8 lowest DCT-II frequencies of the window without the DC term, each bit =
  coefficient above their median). The same tissue seen at another magnification appears at another
  level of the pyramid; the same tissue cropped appears at another grid position.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = [
    "WindowHashes",
    "content_hash",
    "dct_basis",
    "window_geometry",
    "window_hashes",
    "working_image",
]

#: pHash keeps the ``HASH_FREQ x HASH_FREQ`` lowest DCT frequencies (minus DC): 63 bits.
HASH_FREQ = 8


def content_hash(image: np.ndarray) -> str:
    """Hex digest (BLAKE2b, 128 bit) of a decoded image's pixels and shape.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C), uint8
        Decoded pixels. Other dtypes are hashed as they are (dtype is part of the hash).

    Returns
    -------
    str
        32 hex characters; equal for equal pixel arrays, whatever file format they came from.
    """
    a = np.ascontiguousarray(image)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def working_image(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Grey working copy of an image and its scale.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3) uint8 RGB, or (H, W) grey
        The decoded image.
    max_side : int
        Longest side of the working copy in pixels; larger images are downscaled (with
        anti-aliasing), smaller ones are kept as they are.

    Returns
    -------
    grey : ndarray, shape (h, w), float32 in [0, 1]
        Luminance (``skimage.color.rgb2gray`` weights).
    scale : float
        Working pixels per image pixel (``<= 1``).
    """
    from skimage.color import rgb2gray
    from skimage.transform import resize
    from skimage.util import img_as_float32

    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
    grey = rgb2gray(a) if a.ndim == 3 else img_as_float32(a)
    grey = grey.astype(np.float32, copy=False)
    h, w = grey.shape
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        out_shape = (max(1, round(h * scale)), max(1, round(w * scale)))
        grey = resize(grey, out_shape, anti_aliasing=True, preserve_range=True).astype(np.float32)
        scale = float(np.mean([out_shape[0] / h, out_shape[1] / w]))
    return grey, scale


@cache
def dct_basis(window: int, freq: int = HASH_FREQ) -> np.ndarray:
    """``(freq, window)`` float32 rows of the orthonormal DCT-II matrix (from :func:`scipy.fft.dct`):
    ``basis @ x`` gives the ``freq`` lowest DCT coefficients of a length-``window`` signal."""
    from scipy.fft import dct

    return dct(np.eye(window), type=2, norm="ortho", axis=0)[:freq].astype(np.float32)


@dataclass(frozen=True)
class WindowHashes:
    """The window hashes of one image, compactly (13 bytes a window).

    Attributes
    ----------
    hashes : ndarray, shape (N,), uint64
        63-bit pHash of each kept window (bit 63 is always 0).
    level : ndarray, shape (N,), uint8
        Pyramid level of the window (0 = working resolution).
    pos : ndarray, shape (N, 2), uint16
        Grid position ``(row, col)`` of the window at its level (top-left corner ``pos * stride``).
    level_scale : ndarray, shape (L,), float32
        Level pixels per image pixel of each pyramid level.
    window, stride : int
        Window edge and grid step, in level pixels.
    """

    hashes: np.ndarray
    level: np.ndarray
    pos: np.ndarray
    level_scale: np.ndarray
    window: int = 32
    stride: int = 4

    def __len__(self) -> int:
        return len(self.hashes)

    def geometry(self, idx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scale and centre of windows ``idx`` (default: all).

        Returns
        -------
        scale : ndarray, shape (k,), float64
            Level pixels per image pixel of each window's level.
        center : ndarray, shape (k, 2), float64
            Window centre ``(row, col)`` in *image* pixels (of the original, not the working
            copy), pixel-edge coordinates (pixel ``i`` spans ``[i, i + 1)``), which scale linearly;
            rounded to float32 like the scale.
        """
        lev = self.level if idx is None else self.level[idx]
        pos = self.pos if idx is None else self.pos[idx]
        return window_geometry(self.level_scale[lev], pos, self.window, self.stride)


def window_geometry(
    scale: np.ndarray, pos: np.ndarray, window: int, stride: int
) -> tuple[np.ndarray, np.ndarray]:
    """Scale and image-pixel centre of windows from their level scale (float32) and grid
    position (see :meth:`WindowHashes.geometry`)."""
    corner = pos.astype(np.float64) * stride + (window - 1) / 2
    centre = ((corner + 0.5) / scale.astype(np.float64)[:, None]).astype(np.float32)
    return scale.astype(np.float64), centre.astype(np.float64)


def _phash_grid(img: np.ndarray, basis: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """pHash bits and AC energy of every ``w x w`` window of ``img`` on a grid of step ``stride``,
    row-major, with the 2-D DCT done separably (rows of all windows first, then columns), so the
    overlapping windows share the row transforms."""
    from numpy.lib.stride_tricks import sliding_window_view

    w = basis.shape[1]
    rows = sliding_window_view(img, w, axis=1)[:, ::stride, :] @ basis.T  # (H, nx, v)
    rows = np.ascontiguousarray(rows.transpose(1, 2, 0))  # (nx, v, H): columns contiguous
    cols = sliding_window_view(rows, w, axis=2)[:, :, ::stride]  # (nx, v, ny, w)
    coef = (cols @ basis.T).transpose(2, 0, 3, 1)  # (ny, nx, u, v)
    n = coef.shape[0] * coef.shape[1]
    ac = coef.reshape(n, -1)[:, 1:]
    k = (ac.shape[1] - 1) // 2  # the median of the (odd) 63 AC terms is their k-th smallest
    med = np.partition(ac, k, axis=1)[:, k : k + 1]
    bits = np.zeros((n, 64), bool)
    bits[:, : ac.shape[1]] = ac > med
    packed = np.packbits(bits, axis=1, bitorder="little").view("<u8")[:, 0]
    # standard deviation of the window's low-pass content (Parseval: the orthonormal DCT keeps
    # energy), in grey levels of [0, 1]
    energy = np.sqrt(np.sum(ac.astype(np.float64) ** 2, axis=1)) / w
    return packed.astype(np.uint64), energy


def window_hashes(
    grey: np.ndarray,
    scale: float,
    *,
    window: int = 32,
    stride: int = 4,
    levels_per_octave: int = 4,
    octaves: float = 2.0,
    min_contrast: float = 0.01,
) -> WindowHashes:
    """pHashes of overlapping windows at every level of a Gaussian pyramid.

    Parameters
    ----------
    grey : ndarray, shape (h, w), float32
        Working image (:func:`working_image`).
    scale : float
        Working pixels per image pixel of ``grey``.
    window : int
        Window edge in pixels of each level.
    stride : int
        Grid step between windows in pixels of each level.
    levels_per_octave : int
        Pyramid levels per halving of size; the downscale between levels is
        ``2 ** (1 / levels_per_octave)``.
    octaves : float
        How many halvings the pyramid spans (fewer when the image gets smaller than ``window``).
    min_contrast : float
        Windows whose low-pass content (the 63 hashed DCT frequencies) has a standard deviation
        below this (grey levels in [0, 1]) are skipped: their hash bits would be set by noise alone
        (flat background).

    Returns
    -------
    WindowHashes
    """
    from skimage.transform import pyramid_gaussian

    basis = dct_basis(window)
    h0, w0 = grey.shape
    # one level beyond the range: pyramid sizes round up, so level k is slightly finer than nominal
    max_layer = int(np.floor(levels_per_octave * octaves + 1e-9)) + 1
    out_h, out_l, out_p, scales = [], [], [], []
    pyramid = pyramid_gaussian(
        grey, max_layer=max_layer, downscale=2 ** (1 / levels_per_octave), preserve_range=True
    )
    for lev, img in enumerate(pyramid):
        hl, wl = img.shape
        if hl < window or wl < window:
            break
        scales.append(scale * float(np.mean([hl / h0, wl / w0])))  # level px per image px
        hashes, energy = _phash_grid(img.astype(np.float32, copy=False), basis, stride)
        nx = (wl - window) // stride + 1
        keep = np.flatnonzero(energy >= min_contrast)
        out_h.append(hashes[keep])
        out_l.append(np.full(len(keep), lev, np.uint8))
        out_p.append(np.stack([keep // nx, keep % nx], axis=1).astype(np.uint16))
    if not out_h:
        return WindowHashes(
            np.zeros(0, np.uint64),
            np.zeros(0, np.uint8),
            np.zeros((0, 2), np.uint16),
            np.zeros(0, np.float32),
            window,
            stride,
        )
    return WindowHashes(
        np.concatenate(out_h),
        np.concatenate(out_l),
        np.concatenate(out_p),
        np.asarray(scales, np.float32),
        window,
        stride,
    )
