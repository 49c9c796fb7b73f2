"""File decoding shared by the dataset readers, with typed errors that name the file.

Every reader goes through these functions so that a truncated PNG, a ``.mat`` without its key or a
malformed XML file fails the same way everywhere: a :class:`~harmonize.errors.HarmonizeError`
subclass whose message starts with the path.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.errors import (
    CorruptFileError,
    MissingFileError,
    MissingKeyError,
    ShapeError,
    SizeMismatchError,
)

__all__ = [
    "check_same_size",
    "read_image_rgb",
    "read_image_size",
    "read_json",
    "read_label_png",
    "read_mat",
    "read_tiff_size",
    "read_xml",
    "require_file",
    "write_png",
]


def require_file(path: str | Path, what: str = "file") -> Path:
    """Return ``path`` as a Path, or raise :class:`MissingFileError` naming it."""
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"{what} not found", path=p)
    return p


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _decode_png_direct(path: Path, colour_types: tuple[int, ...]) -> np.ndarray | None:
    """Decode a PNG with libpng (``imagecodecs.png_decode``) when it is read as it is stored.

    Only 8- and 16-bit PNGs whose IHDR colour type is in ``colour_types`` (0 grey, 2 RGB, 6 RGBA)
    take this path: libpng would expand a palette to RGB, scale 1/2/4-bit grey and turn a ``tRNS``
    chunk into an alpha channel, none of which may happen to a label map. Anything else, and any
    file libpng rejects, returns ``None`` and goes through Pillow, which names the problem. Pillow
    decodes a 2048x1024 Cityscapes label PNG 10-20x slower (``python -m benchmarks pipeline``).
    """
    import imagecodecs

    try:
        data = path.read_bytes()
    except OSError:
        return None
    # IHDR is the first chunk: signature(8) length(4) "IHDR"(4) width(4) height(4) depth colour
    if len(data) < 29 or data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        return None
    depth, colour = data[24], data[25]
    if depth not in (8, 16) or colour not in colour_types:
        return None
    pos = 8
    while pos + 8 <= len(data):  # chunks before the image data: a tRNS chunk must come there
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            break
        if kind == b"tRNS":
            return None
        pos += 12 + int.from_bytes(data[pos : pos + 4], "big")
    try:
        arr = imagecodecs.png_decode(data)
    except Exception:  # imagecodecs.PngError and friends: let Pillow report it
        return None
    want_ndim = 2 if colour == 0 else 3
    if arr.ndim != want_ndim or arr.dtype != (np.uint8 if depth == 8 else np.uint16):
        return None
    return arr


def _open_pil(path: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path)
        img.load()  # force decoding now: truncated files fail here, not later
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptFileError(f"cannot decode image ({exc})", path=path) from exc
    return img


#: Pillow modes whose pixels are read as they are; any other mode (P, CMYK, YCbCr, LA, 1, ...) is
#: converted to RGB by Pillow first, so no channel is misread as R, G or B.
_DIRECT_MODES = {"RGB", "RGBA", "L", "I;16", "I;16B", "I;16L", "I", "F"}


def read_image_rgb(path: str | Path) -> np.ndarray:
    """Read an RGB image (PNG, JPEG, TIFF) as ``(H, W, 3)`` uint8.

    Grey images are broadcast to three channels and an alpha channel is dropped (MoNuSAC TIFFs are
    RGBA). 16-bit RGB is scaled down to 8 bits. Palette, CMYK, YCbCr, grey+alpha and 1-bit images
    are converted to RGB by Pillow. Plain 8/16-bit grey, RGB and RGBA PNGs are decoded by libpng
    (imagecodecs), the rest by Pillow. TIFFs are read with tifffile (first page; planar-separate
    channels moved last), falling back to Pillow's own TIFF decoder when tifffile fails.
    """
    p = require_file(path, "image")
    if p.suffix.lower() in (".tif", ".tiff"):
        arr = _read_tiff_page(p)
    elif (arr := _decode_png_direct(p, (0, 2, 6))) is not None:
        pass
    else:
        img = _open_pil(p)
        if img.mode not in _DIRECT_MODES:
            img = img.convert("RGB")
        arr = np.asarray(img)
    return _to_rgb8(arr, p)


def _read_tiff_page(p: Path) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(p) as tif:
            page = tif.pages[0]
            arr = page.asarray()
            if page.planarconfig == tifffile.PLANARCONFIG.SEPARATE and arr.ndim == 3:
                arr = np.moveaxis(arr, 0, -1)
        return arr
    except Exception as exc:  # tifffile raises a zoo of types; try Pillow's own TIFF decoder
        first = exc
    img = _open_pil_or_none(p)
    if img is None:
        raise CorruptFileError(f"cannot decode TIFF ({first})", path=p) from first
    if img.mode not in _DIRECT_MODES:
        img = img.convert("RGB")
    return np.asarray(img)


def _open_pil_or_none(path: Path):
    try:
        return _open_pil(path)
    except CorruptFileError:
        return None


def read_tiff_size(path: str | Path) -> tuple[int, int]:
    """``(H, W)`` of a TIFF's first page from its header (planar layout and pages handled)."""
    import tifffile

    p = require_file(path, "image")
    try:
        with tifffile.TiffFile(p) as tif:
            page = tif.pages[0]
            return int(page.imagelength), int(page.imagewidth)
    except Exception as exc:  # tifffile raises many types on corrupt files
        raise CorruptFileError(f"cannot read TIFF header ({exc})", path=p) from exc


def _to_rgb8(arr: np.ndarray, path: Path) -> np.ndarray:
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ShapeError(f"expected an RGB(A) image, got shape {arr.shape}", path=path)
    arr = arr[..., :3]
    if arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and arr.size and float(np.nanmax(arr)) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def read_label_png(
    path: str | Path,
    *,
    dtypes: Iterable[np.dtype | type] = (np.uint8, np.uint16),
    palette: bool | None = None,
) -> np.ndarray:
    """Read a single-channel label PNG without any colour conversion.

    Parameters
    ----------
    path : path-like
        The PNG file.
    dtypes : iterable of dtype
        Accepted pixel dtypes. Cityscapes labelIds are uint8, instanceIds uint16; Pillow versions
        that open 16-bit PNGs as mode ``I`` give int32, which is accepted and cast to uint16 when
        uint16 is accepted and the values fit.
    palette : bool, optional
        ``True`` requires a palette (``P``) image (VOC), ``False`` forbids one; ``None`` accepts both.
        The palette index is the label: the image is never converted through RGB.

    Returns
    -------
    ndarray, shape (H, W)
    """
    p = require_file(path, "label PNG")
    allowed = [np.dtype(d) for d in dtypes]
    if palette is not True:
        arr = _decode_png_direct(p, (0,))
        if arr is not None and arr.dtype in allowed:
            return arr
    img = _open_pil(p)
    if palette is True and img.mode != "P":
        raise ShapeError(f"expected a palette (mode P) PNG, got mode {img.mode}", path=p)
    if palette is False and img.mode == "P":
        raise ShapeError("expected a grey-level label PNG, got a palette image", path=p)
    arr = np.asarray(img)
    if arr.dtype == np.int32 and np.dtype(np.uint16) in allowed:
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise ShapeError("16-bit label PNG holds values outside 0..65535", path=p)
        arr = arr.astype(np.uint16)
    if arr.ndim != 2:
        raise ShapeError(f"expected a single-channel label image, got shape {arr.shape}", path=p)
    if arr.dtype not in allowed:
        raise ShapeError(
            f"label PNG has dtype {arr.dtype} (mode {img.mode}); expected one of "
            f"{', '.join(str(d) for d in allowed)}",
            path=p,
        )
    return np.ascontiguousarray(arr)


def read_mat(path: str | Path, keys: Iterable[str], optional: Iterable[str] = ()) -> dict[str, Any]:
    """Load a MATLAB ``.mat`` file and return the required ``keys`` (plus any ``optional`` present).

    Handles v5 files with :func:`scipy.io.loadmat`; v7.3 (HDF5) files are reported as unsupported
    with a clear message.
    """
    import scipy.io

    p = require_file(path, ".mat file")
    try:
        data = scipy.io.loadmat(p)
    except NotImplementedError as exc:  # v7.3
        raise CorruptFileError(
            "MATLAB v7.3 (HDF5) .mat files are not supported; re-save with -v7", path=p
        ) from exc
    except Exception as exc:
        raise CorruptFileError(f"cannot read .mat file ({exc})", path=p) from exc
    out: dict[str, Any] = {}
    for k in keys:
        if k not in data:
            present = sorted(x for x in data if not x.startswith("__"))
            raise MissingKeyError(f"missing key {k!r} (keys present: {present})", path=p)
        out[k] = data[k]
    for k in optional:
        if k in data:
            out[k] = data[k]
    return out


def read_json(path: str | Path) -> Any:
    """Parse a JSON file, raising :class:`CorruptFileError` with the line of a syntax error."""
    p = require_file(path, "JSON file")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CorruptFileError(f"invalid JSON: {exc.msg}", path=p, line=exc.lineno) from exc
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"not UTF-8 text ({exc})", path=p) from exc


def read_xml(path: str | Path) -> ET.Element:
    """Parse an XML file and return its root, with the line of a syntax error."""
    p = require_file(path, "XML file")
    try:
        return ET.parse(p).getroot()
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise CorruptFileError(f"malformed XML ({exc})", path=p, line=line) from exc


def check_same_size(
    a: tuple[int, ...], b: tuple[int, ...], path: str | Path, what: str = "image and label"
) -> None:
    """Raise :class:`SizeMismatchError` when two ``(H, W, ...)`` shapes differ in ``H, W``."""
    if tuple(a[:2]) != tuple(b[:2]):
        raise SizeMismatchError(
            f"{what} sizes differ: {tuple(a[:2])} vs {tuple(b[:2])} (H, W)", path=path
        )


def write_png(path: str | Path, array: np.ndarray, palette: np.ndarray | None = None) -> None:
    """Write ``array`` as PNG: uint8 -> 8-bit grey (or palette ``P`` if ``palette`` is given, shape
    (K, 3) uint8), uint16 -> 16-bit grey, (H, W, 3) uint8 -> RGB, (H, W, 4) uint8 -> RGBA."""
    from PIL import Image

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if array.dtype == np.uint16:
        img = Image.fromarray(array)  # 16-bit grey; never mode "I" (Pillow cannot save it as PNG)
    elif array.dtype == np.uint8 and palette is not None:
        if array.ndim != 2:
            raise ValueError("a palette PNG needs a 2-D index array")
        h, w = array.shape
        img = Image.frombytes("P", (w, h), np.ascontiguousarray(array).tobytes())
        pal = np.zeros((256, 3), np.uint8)
        pal[: len(palette)] = palette
        img.putpalette(pal.reshape(-1).tolist())
    elif array.dtype == np.uint8:
        img = Image.fromarray(array)
    else:
        raise ValueError(f"cannot write dtype {array.dtype} as PNG")
    img.save(p, format="PNG")


def read_image_size(path: str | Path) -> tuple[int, int]:
    """Return ``(H, W)`` of an image from its header only (no pixel decoding).

    Cheap enough to check image/label sizes on every sample without decoding the image. TIFFs go
    through :func:`read_tiff_size` (tifffile, as :func:`read_image_rgb` decodes them).
    Raises :class:`MissingFileError` / :class:`CorruptFileError` naming the file.
    """
    from PIL import Image, UnidentifiedImageError

    p = require_file(path, "image")
    if p.suffix.lower() in (".tif", ".tiff"):
        return read_tiff_size(p)
    try:
        with Image.open(p) as img:
            w, h = img.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptFileError(f"cannot decode image header ({exc})", path=p) from exc
    return int(h), int(w)
