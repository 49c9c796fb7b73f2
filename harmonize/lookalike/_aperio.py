"""Aperio ImageScope XML writer for the MoNuSAC and MoNuSeg look-alikes, and the Aperio SVS image
files of the MoNuSAC look-alike (:func:`write_aperio_svs`).

The format and its parser: :mod:`harmonize.datasets._aperio` (reference ``nuclei_datasets.md``
§3.2). :func:`write_aperio_xml` writes the layout the parser reads; :func:`round_vertices` rounds a
generator's truth polygons exactly as they are written, so that truth and file agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["round_vertices", "write_aperio_svs", "write_aperio_xml"]

_HEADERS = (
    ("9999", "Region"),
    ("9997", "Length"),
    ("9996", "Area"),
    ("9998", "Text"),
    ("1", "Description"),
)


def _fmt(v: float, decimals: int) -> str:
    return f"{v:.{decimals}f}"


def write_aperio_xml(
    path: str | Path,
    annotations: Sequence[tuple[str, Sequence[np.ndarray]]],
    *,
    microns_per_pixel: float = 0.252,
    decimals: int = 3,
) -> None:
    """Write an ImageScope XML file in the layout of ``nuclei_datasets.md`` §3.2.

    Parameters
    ----------
    path : path-like
        Output ``.xml`` file.
    annotations : sequence of (attribute name, sequence of (K, 2) float arrays)
        One ``<Annotation Name="">`` per entry, whose ``<Attribute Name=...>`` is the given name,
        with one ``<Region>`` per polygon of ``(x, y)`` vertices.
    microns_per_pixel : float
        ``Annotations@MicronsPerPixel``.
    decimals : int
        Decimals written for vertex coordinates; callers should round their truth to the same.
    """
    out: list[str] = [f'<Annotations MicronsPerPixel="{microns_per_pixel:.6f}">']
    colours = ("65280", "65535", "16711680", "255", "16776960")
    for a_idx, (name, polys) in enumerate(annotations, start=1):
        out.append(
            f'<Annotation Id="{a_idx}" Name="" ReadOnly="0" NameReadOnly="0" '
            f'LineColorReadOnly="0" Incremental="0" Type="4" '
            f'LineColor="{colours[(a_idx - 1) % len(colours)]}" Visible="1" Selected="1" '
            f'MarkupImagePath="" MacroName="">'
        )
        out.append("<Attributes>")
        out.append(f'<Attribute Name="{name}" Id="0" Value=""/>')
        out.append("</Attributes>")
        out.append("<Regions>")
        out.append("<RegionAttributeHeaders>")
        for hid, hname in _HEADERS:
            out.append(f'<AttributeHeader Id="{hid}" Name="{hname}" ColumnWidth="-1"/>')
        out.append("</RegionAttributeHeaders>")
        for r_idx, poly in enumerate(polys, start=1):
            xy = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
            closed = np.vstack([xy, xy[:1]]) if len(xy) else xy
            length = float(np.sum(np.hypot(*np.diff(closed, axis=0).T))) if len(xy) else 0.0
            x, y = xy[:, 0], xy[:, 1]
            area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
            mpp = microns_per_pixel
            out.append(
                f'<Region Id="{r_idx}" Type="0" Zoom="1" Selected="0" ImageLocation="" '
                f'ImageFocus="-1" Length="{length:.1f}" Area="{area:.1f}" '
                f'LengthMicrons="{length * mpp:.1f}" AreaMicrons="{area * mpp * mpp:.1f}" '
                f'Text="" NegativeROA="0" InputRegionId="0" Analyze="1" DisplayId="{r_idx}">'
            )
            out.append("<Attributes/>")
            out.append("<Vertices>")
            for vx, vy in xy:
                out.append(f'<Vertex X="{_fmt(vx, decimals)}" Y="{_fmt(vy, decimals)}" Z="0"/>')
            out.append("</Vertices>")
            out.append("</Region>")
        out.append("</Regions>")
        out.append("<Plots/>")
        out.append("</Annotation>")
    out.append("</Annotations>")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("\n".join(out) + "\n", encoding="utf-8")


def round_vertices(vertices: np.ndarray, decimals: int = 3) -> np.ndarray:
    """Round ``(K, 2)`` vertices exactly as :func:`write_aperio_xml` writes and a reader parses them."""
    return np.array(
        [[float(_fmt(v, decimals)) for v in row] for row in np.asarray(vertices, np.float64)],
        dtype=np.float64,
    ).reshape(-1, 2)


#: ``ImageDescription`` of an Aperio SVS level-0 page: the library banner, a CRLF, the image and
#: tile geometry, then ``|key = value`` pairs (fields as in TCGA slides; values [U]).
_SVS_BANNER = "Aperio Image Library v12.0.15"


def write_aperio_svs(
    path: str | Path,
    rgb: np.ndarray,
    *,
    mpp: float = 0.252,
    magnification: int = 40,
    tile: int = 240,
    quality: int = 90,
) -> None:
    """Write ``rgb`` as a small Aperio SVS file (look-alikes only).

    An SVS is a TIFF: page 0 is the full-resolution level, tiled (``tile`` x ``tile``, Aperio's
    usual 240) and JPEG-compressed (photometric RGB), with an ``ImageDescription`` that starts with
    ``Aperio Image Library`` (how tifffile and OpenSlide recognise the format) and carries
    ``AppMag`` and ``MPP``; page 1 is a stripped JPEG thumbnail with its own Aperio description.
    JPEG is lossy: the pixels differ slightly from ``rgb``.
    """
    import tifffile

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    h, w = rgb.shape[:2]
    fields = f"|AppMag = {magnification}|MPP = {mpp:.4f}|Filename = {p.stem}"
    level0 = f"{_SVS_BANNER} \r\n{w}x{h} [0,0 {w}x{h}] ({tile}x{tile}) JPEG/RGB Q={quality}{fields}"
    thumb = np.ascontiguousarray(rgb[::4, ::4])
    th, tw = thumb.shape[:2]
    args = {"outcolorspace": "RGB", "level": quality}
    with tifffile.TiffWriter(p) as out:
        out.write(
            np.ascontiguousarray(rgb),
            tile=(tile, tile),
            compression="jpeg",
            compressionargs=args,
            subsampling=(1, 1),
            photometric="rgb",
            description=level0,
            metadata=None,
            software=False,
        )
        out.write(
            thumb,
            compression="jpeg",
            compressionargs=args,
            subsampling=(1, 1),
            photometric="rgb",
            description=f"{_SVS_BANNER} \r\n{w}x{h} -> {tw}x{th} - {fields}",
            metadata=None,
            software=False,
        )
