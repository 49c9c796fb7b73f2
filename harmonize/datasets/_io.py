"""File decoding shared by the dataset readers, with typed errors that name the file.

Every reader goes through these functions so that a truncated PNG, a ``.mat`` without its key or a
malformed XML file fails the same way everywhere: a :class:`~harmonize.errors.HarmonizeError`
subclass whose message starts with the path.

Hostile input (all refused with a typed error naming the file, see ``docs/reliability.md``):

* **Lossy or disguised label files** -- :func:`check_label_file` compares a label file's magic bytes
  with its extension (``.png``, ``.tif``/``.tiff``, ``.mat``, ``.npy``) and refuses JPEG, lossy
  WebP and any other mismatch with :class:`~harmonize.errors.LossyLabelError` (a JPEG named
  ``.png`` decodes, but with changed label values). RGB images may be JPEG.
* **Decompression bombs** -- every decode path reads ``(H, W)`` from the header first and refuses
  more than :func:`max_pixels` pixels with :class:`~harmonize.errors.TooLargeError` before any pixel
  buffer is allocated. The limit defaults to :data:`DEFAULT_MAX_PIXELS` and is set per run from the
  config's ``limits.max_pixels`` (:func:`set_max_pixels`). ``.mat`` arrays are allocated by scipy
  while loading, so their size is checked right after loading (a compressed ``.mat`` bomb still
  costs its decompressed size once).
* **Path traversal** -- :func:`check_sample_id` refuses sample ids read from list files that hold a
  path separator or ``..``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

from harmonize.errors import (
    CorruptFileError,
    LossyLabelError,
    MissingFileError,
    MissingKeyError,
    ShapeError,
    SizeMismatchError,
    TooLargeError,
    UnsafePathError,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "check_label_file",
    "check_pixels",
    "check_same_size",
    "check_sample_id",
    "max_pixels",
    "read_id_list",
    "read_image_rgb",
    "read_image_size",
    "read_json",
    "read_label_png",
    "read_label_tiff",
    "read_mat",
    "read_npy_shape",
    "read_tiff_size",
    "read_xml",
    "require_file",
    "set_max_pixels",
    "sniff_format",
    "write_png",
]

#: Default pixel limit per image or label map: 2**28 = 268 Mpx (16384 x 16384). Far above every
#: supported dataset (the largest MoNuSAC sub-images and Lizard images are a few Mpx, Cityscapes
#: 2 Mpx), while an RGB image at the limit is 805 MB and a uint16 label map 537 MB -- what one
#: worker can hold. Raise it with ``limits: {max_pixels: ...}`` in the run config.
DEFAULT_MAX_PIXELS = 2**28

_max_pixels = DEFAULT_MAX_PIXELS

#: Image suffixes decoded as TIFF (first page) by tifffile: Aperio ``.svs`` files are TIFFs whose
#: first page is the full-resolution level (tiled JPEG or JPEG 2000, decoded by imagecodecs).
_TIFF_SUFFIXES = (".tif", ".tiff", ".svs")


def set_max_pixels(limit: int | None) -> None:
    """Set the per-file pixel limit of this process (``None`` restores the default)."""
    global _max_pixels
    if limit is None:
        limit = DEFAULT_MAX_PIXELS
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"max_pixels must be a positive integer, not {limit!r}")
    _max_pixels = limit


def max_pixels() -> int:
    """The per-file pixel limit in force (see :func:`set_max_pixels`)."""
    return _max_pixels


def check_pixels(h: int, w: int, path: str | Path, what: str = "image") -> None:
    """Raise :class:`TooLargeError` naming ``path`` when ``h * w`` exceeds :func:`max_pixels`."""
    if int(h) * int(w) > _max_pixels:
        raise TooLargeError(
            f"{what} declares {int(w)}x{int(h)} = {int(h) * int(w)} pixels, above the limit of "
            f"{_max_pixels} (limits.max_pixels in the run config); refused before decoding",
            path=path,
        )


def check_sample_id(value: str, path: str | Path, line: int | None = None) -> str:
    """Return ``value`` if it is safe to build file names from, else raise :class:`UnsafePathError`.

    Sample ids read from split lists, CSVs, JSON and XML become parts of file names; one holding a
    path separator (``/``, ``\\``), ``..``, a NUL byte or a drive colon could make a reader open
    files outside the dataset root, so it is refused with the list file and line named.
    """
    bad = (
        not value
        or value in (".", "..")
        or ".." in value
        or any(c in value for c in ("/", "\\", "\0", ":"))
    )
    if bad:
        raise UnsafePathError(
            f"sample id {value!r} holds a path separator or '..'; ids from list files must be "
            "plain file stems (refused: it would read files outside the dataset root)",
            path=path,
            line=line,
        )
    return value


def read_id_list(path: str | Path) -> list[str]:
    """Sample ids of a split list file: the first token of each non-blank line.

    Each id goes through :func:`check_sample_id`, so one holding a path separator or ``..`` is an
    :class:`UnsafePathError` naming the list and line; non-UTF-8 text is a
    :class:`CorruptFileError`.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"split list is not UTF-8 text ({exc})", path=p) from exc
    except OSError as exc:
        raise CorruptFileError(f"cannot read split list ({exc})", path=p) from exc
    return [
        check_sample_id(line.split()[0], p, n)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAGIC_BY_SUFFIX = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".mat": "mat", ".npy": "npy"}
_LOSSY = {
    "jpeg": "a JPEG",
    "webp-lossy": "a lossy WebP",
    "jpeg2000": "a JPEG 2000",
    "jxl": "JPEG XL",
}


def sniff_format(head: bytes) -> str | None:
    """Name of the file format whose magic bytes start ``head`` (first 32+ bytes), or ``None``."""
    if head.startswith(_PNG_SIGNATURE):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp-lossless" if head[12:16] == b"VP8L" else "webp-lossy"
    if head.startswith(b"\x00\x00\x00\x0cjP  ") or head.startswith(b"\xff\x4f\xff\x51"):
        return "jpeg2000"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL "):
        return "jxl"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"MATLAB"):
        return "mat"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    return None


def check_label_file(path: str | Path, what: str = "label file") -> Path:
    """Check that a label file's content is the lossless format its extension names.

    ``.png`` must be a PNG, ``.tif``/``.tiff`` a TIFF, ``.npy`` a NumPy array. A ``.mat`` must not be an image (v4 files have no
    magic; v5 start with ``MATLAB``; v7.3 HDF5 files are reported by :func:`read_mat`). Raises
    :class:`LossyLabelError` naming the file and the format found; returns the path.
    """
    p = require_file(path, what)
    try:
        with open(p, "rb") as fh:
            head = fh.read(32)
    except OSError as exc:
        raise CorruptFileError(f"cannot read {what} ({exc})", path=p) from exc
    want = _MAGIC_BY_SUFFIX.get(p.suffix.lower())
    found = sniff_format(head)
    if want is None or found == want:
        return p
    if want == "mat" and found in (None, "hdf5"):
        return p  # v4 (no magic) and v7.3 (HDF5, user block may be absent): read_mat decides
    desc = _LOSSY.get(found or "", found or "not a recognised format")
    lossy = found in _LOSSY
    raise LossyLabelError(
        f"{what} has extension {p.suffix} but its content is {desc}"
        + (
            "; a lossy codec changes label values, so it is refused (restore the original file)"
            if lossy
            else "; label maps must be stored in the format their extension names"
        ),
        path=p,
    )


def read_npy_shape(path: str | Path) -> tuple[int, ...]:
    """Shape of a ``.npy`` file from its header (checks the magic; reads no data)."""
    p = check_label_file(path, ".npy file")
    try:
        with open(p, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, _ = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, _, _ = np.lib.format.read_array_header_2_0(fh)
    except (ValueError, OSError, EOFError) as exc:
        raise CorruptFileError(f"cannot read .npy header ({exc})", path=p) from exc
    return tuple(int(x) for x in shape)


def _png_size(data: bytes) -> tuple[int, int] | None:
    """``(H, W)`` from a PNG's IHDR chunk (``data`` holds at least its first 24 bytes)."""
    if len(data) < 24 or data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[20:24], "big"), int.from_bytes(data[16:20], "big")


def require_file(path: str | Path, what: str = "file") -> Path:
    """Return ``path`` as a Path, or raise :class:`MissingFileError` naming it."""
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"{what} not found", path=p)
    return p


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
    size = _png_size(data)
    if len(data) < 29 or size is None:
        return None
    check_pixels(*size, path)
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


def _open_pil_header(path: Path, what: str = "image") -> PILImage:
    """``Image.open`` (header only) with the pixel limit applied before anything is decoded.

    Pillow's own decompression-bomb check (a warning above ``Image.MAX_IMAGE_PIXELS``, an error
    above twice that) is replaced by :func:`check_pixels`: its error would escape untyped and
    without the file name, and its default (89 Mpx) is not the run's limit.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with open(path, "rb") as fh:
            hw = _png_size(fh.read(24))
    except OSError as exc:
        raise CorruptFileError(f"cannot read {what} ({exc})", path=path) from exc
    if hw is not None:  # a PNG: its IHDR gives the size before Pillow sees the file
        check_pixels(*hw, path, what)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = _max_pixels  # errors only above 2x; we refuse above 1x
            img = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise TooLargeError(
            f"{what} is above the pixel limit of {_max_pixels} ({exc})", path=path
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptFileError(f"cannot decode {what} header ({exc})", path=path) from exc
    w, h = img.size
    try:
        check_pixels(h, w, path, what)
    except TooLargeError:
        img.close()
        raise
    return img


def _open_pil(path: Path) -> PILImage:
    from PIL import UnidentifiedImageError

    img = _open_pil_header(path)
    try:
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
    RGBA). 16-bit RGB is scaled down to 8 bits. Aperio ``.svs`` files are read as TIFFs: their first
    page is level 0 (full resolution), so no OpenSlide is needed. Palette, CMYK, YCbCr, grey+alpha and 1-bit images
    are converted to RGB by Pillow. Plain 8/16-bit grey, RGB and RGBA PNGs are decoded by libpng
    (imagecodecs), the rest by Pillow. TIFFs are read with tifffile (first page; planar-separate
    channels moved last), falling back to Pillow's own TIFF decoder when tifffile fails.
    """
    p = require_file(path, "image")
    if p.suffix.lower() in _TIFF_SUFFIXES:
        arr: np.ndarray | None = _read_tiff_page(p)
    else:
        arr = _decode_png_direct(p, (0, 2, 6))
    if arr is None:
        img = _open_pil(p)
        if img.mode not in _DIRECT_MODES:
            img = img.convert("RGB")
        arr = np.asarray(img)
    return _to_rgb8(arr, p)


def _read_tiff_page(p: Path) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(p) as tif:
            page = tif.pages.first
            check_pixels(page.imagelength, page.imagewidth, p)
            arr = page.asarray()
            if page.planarconfig == tifffile.PLANARCONFIG.SEPARATE and arr.ndim == 3:
                arr = np.moveaxis(arr, 0, -1)
        return arr
    except TooLargeError:
        raise
    except Exception as exc:  # tifffile raises a zoo of types; try Pillow's own TIFF decoder
        first = exc
    img = _open_pil_or_none(p)
    if img is None:
        raise CorruptFileError(f"cannot decode TIFF ({first})", path=p) from first
    if img.mode not in _DIRECT_MODES:
        img = img.convert("RGB")
    return np.asarray(img)


def _open_pil_or_none(path: Path) -> PILImage | None:
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
            page = tif.pages.first
            hw = int(page.imagelength), int(page.imagewidth)
    except Exception as exc:  # tifffile raises many types on corrupt files
        raise CorruptFileError(f"cannot read TIFF header ({exc})", path=p) from exc
    check_pixels(*hw, p)
    return hw


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
    p = check_label_file(path, "label PNG")
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


def read_label_tiff(path: str | Path, what: str = "label TIFF") -> np.ndarray:
    """Read a single-channel integer label TIFF (first page) as stored, no colour conversion.

    The file must be a TIFF (:func:`check_label_file`), within :func:`max_pixels`, 2-D and of an
    integer dtype (NuInsSeg's MATLAB ``imwrite(uint16(...))`` masks are uint16); anything else is a
    :class:`ShapeError` naming it.
    """
    p = check_label_file(path, what)
    arr = _read_tiff_page(p)
    if arr.ndim != 2:
        raise ShapeError(f"expected a single-channel {what}, got shape {arr.shape}", path=p)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ShapeError(f"{what} must hold integers, got dtype {arr.dtype}", path=p)
    return np.ascontiguousarray(arr)


def read_mat(path: str | Path, keys: Iterable[str], optional: Iterable[str] = ()) -> dict[str, Any]:
    """Load a MATLAB ``.mat`` file and return the required ``keys`` (plus any ``optional`` present).

    Handles v5 files with :func:`scipy.io.loadmat`; v7.3 (HDF5) files are reported as unsupported
    with a clear message.
    """
    import scipy.io

    p = check_label_file(path, ".mat file")
    try:
        data = scipy.io.loadmat(p)
    except NotImplementedError as exc:  # v7.3
        raise CorruptFileError(
            "MATLAB v7.3 (HDF5) .mat files are not supported; re-save with -v7", path=p
        ) from exc
    except Exception as exc:
        raise CorruptFileError(f"cannot read .mat file ({exc})", path=p) from exc
    for k, v in data.items():  # scipy has allocated them already: checked after loading
        if isinstance(v, np.ndarray) and v.ndim >= 2 and v.dtype.kind in "iufb":
            check_pixels(v.shape[0], int(np.prod(v.shape[1:])), p, f"array {k!r}")
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
    p = require_file(path, "image")
    if p.suffix.lower() in _TIFF_SUFFIXES:
        return read_tiff_size(p)
    with _open_pil_header(p) as img:
        w, h = img.size
    return int(h), int(w)
