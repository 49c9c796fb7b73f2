"""Aperio ImageScope XML annotations, shared by the MoNuSAC and MoNuSeg readers.

Format (reference: ``nuclei_datasets.md`` §3.2, §4.1; example in DeepMicroscopy/MITOS_WSI_CCMCT
issue #2)::

    <Annotations MicronsPerPixel="...">
      <Annotation Id="1" Name="" ...>                 one per class (MoNuSAC) / a single one (MoNuSeg)
        <Attributes>
          <Attribute Name="Epithelial" Id="0" Value=""/>   class name (MoNuSAC), "Description"...
        </Attributes>
        <Regions>
          <RegionAttributeHeaders> ... </RegionAttributeHeaders>
          <Region Id="1" ...>                         one nucleus
            <Attributes/>
            <Vertices> <Vertex X="123.4" Y="56.7" Z="0"/> ... </Vertices>
          </Region> ...
        </Regions>
        <Plots/>
      </Annotation> ...
    </Annotations>

``Annotation@Name`` is always empty; the class is ``Attributes/Attribute@Name``. Vertex coordinates
are decimals (parsed as float). Polygons are rasterized as the official MoNuSAC notebooks
(ruchikaverma-iitg/MoNuSAC ``n-ary_mask_generation.ipynb``) and CellViT's ``prepare_monuseg.py`` do:
``skimage.draw.polygon(rows=Y, cols=X, shape)``, which clips to the image.

The parser is built on :mod:`xml.parsers.expat` directly (``xml.etree`` does not record element
lines), so structural errors name the line of the offending element: malformed XML ->
:class:`~harmonize.errors.CorruptFileError` with the parser's line; a ``Region`` without
``Vertices`` or a ``Vertex`` without ``X``/``Y`` -> :class:`~harmonize.errors.MissingKeyError`; a
non-numeric or non-finite coordinate -> :class:`~harmonize.errors.CorruptFileError`.

Polygons that cannot be drawn as written are never lost silently (:func:`region_pixels`):

* a region with 0, 1 or 2 ``<Vertex>`` (no area) and a region lying wholly outside the image lose
  the nucleus: under ``on_error="raise"`` a :class:`~harmonize.errors.PolygonError` naming the
  file, line and region id (refuse rather than guess); under ``"skip"`` the region is dropped and
  the sample kept, with a warning;
* a region crossing the image edge is clipped (as the official notebooks do): common in real
  MoNuSeg/MoNuSAC tiles and harmless to the pixels inside, so it is a warning under both
  policies, never an error. "Crossing" means the vertices' bounding box reaches a pixel centre
  outside the image (a vertex at x <= -1 or x >= W, or the same for y).

Warnings are plain dicts (``path``, ``line``, ``region_id``, ``message``) that the readers put in
:attr:`harmonize.types.RawSample.warnings`; the run report and the store's ``warnings`` attribute
list them per sample.

The look-alikes' writer of this format is :mod:`harmonize.lookalike._aperio`.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

import numpy as np

from harmonize.datasets._io import require_file
from harmonize.errors import CorruptFileError, MissingKeyError, PolygonError

__all__ = [
    "AperioAnnotation",
    "AperioRegion",
    "AperioXML",
    "parse_aperio_xml",
    "polygon_pixels",
    "region_pixels",
]


@dataclass(frozen=True, eq=False)
class AperioRegion:
    """One ``<Region>``: a closed polygon (one nucleus).

    Attributes
    ----------
    vertices : ndarray, shape (K, 2), float64
        Vertex coordinates as ``(x, y)`` = ``(column, row)`` in pixels, in file order.
    line : int
        1-based line of the ``<Region>`` element.
    region_id : str or None
        ``Region@Id`` as written.
    """

    vertices: np.ndarray
    line: int
    region_id: str | None = None


@dataclass(frozen=True, eq=False)
class AperioAnnotation:
    """One ``<Annotation>`` layer.

    Attributes
    ----------
    attribute_names : tuple of str
        ``Name`` of every ``Attributes/Attribute`` child, in file order (MoNuSAC: the class name).
    regions : tuple of AperioRegion
        Its regions in file order (``RegionAttributeHeaders`` and other children skipped).
    line : int
        1-based line of the ``<Annotation>`` element.
    """

    attribute_names: tuple[str, ...]
    regions: tuple[AperioRegion, ...]
    line: int

    @property
    def label(self) -> str | None:
        """The first ``Attribute@Name`` (as the official notebook's ``root[k][0]`` reads it)."""
        return self.attribute_names[0] if self.attribute_names else None


@dataclass(frozen=True, eq=False)
class AperioXML:
    """A parsed ImageScope annotation file."""

    path: Path
    annotations: tuple[AperioAnnotation, ...]
    microns_per_pixel: float | None = None

    def regions(self) -> list[AperioRegion]:
        """Every region of every annotation, in document order."""
        return [r for a in self.annotations for r in a.regions]


def _parse_with_lines(path: Path) -> tuple[ET.Element, dict[int, int]]:
    """Parse ``path`` into an ElementTree, returning the root and ``id(element) -> line``."""
    builder = ET.TreeBuilder()
    lines: dict[int, int] = {}
    parser = expat.ParserCreate()

    def start(tag: str, attrs: dict[str, str]) -> None:
        el = builder.start(tag, attrs)
        lines[id(el)] = parser.CurrentLineNumber

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.buffer_text = True
    try:
        with open(path, "rb") as fh:
            parser.ParseFile(fh)
        root = builder.close()
    except expat.ExpatError as exc:
        raise CorruptFileError(
            f"malformed XML ({expat.errors.messages[exc.code]})", path=path, line=exc.lineno
        ) from exc
    except AssertionError as exc:  # TreeBuilder.close() on an unterminated document
        raise CorruptFileError("malformed XML (document is not complete)", path=path) from exc
    return root, lines


def _coord(vertex: ET.Element, axis: str, path: Path, line: int | None) -> float:
    raw = vertex.get(axis)
    if raw is None:
        raise MissingKeyError(f"<Vertex> has no {axis} attribute", path=path, line=line)
    try:
        value = float(raw)
    except ValueError:
        raise CorruptFileError(
            f"<Vertex> {axis}={raw!r} is not a number", path=path, line=line
        ) from None
    if not math.isfinite(value):
        raise CorruptFileError(f"<Vertex> {axis}={raw!r} is not finite", path=path, line=line)
    return value


def parse_aperio_xml(path: str | Path) -> AperioXML:
    """Parse an Aperio ImageScope annotation XML file.

    Parameters
    ----------
    path : path-like
        The ``.xml`` file.

    Returns
    -------
    AperioXML
        Annotations in file order, each with its attribute names and regions.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    CorruptFileError
        Malformed XML (with the parser's line), a root other than ``<Annotations>``, or a vertex
        coordinate that is not a finite number (with the ``<Vertex>`` line).
    MissingKeyError
        A ``<Region>`` without ``<Vertices>``, or a ``<Vertex>`` without ``X``/``Y`` (with line).
    """
    p = require_file(path, "annotation XML")
    root, lines = _parse_with_lines(p)
    if root.tag != "Annotations":
        raise CorruptFileError(
            f"root element is <{root.tag}>, expected <Annotations> (Aperio ImageScope XML)",
            path=p,
            line=lines.get(id(root)),
        )
    mpp: float | None = None
    try:
        mpp = float(root.get("MicronsPerPixel", ""))
    except ValueError:
        mpp = None
    annotations: list[AperioAnnotation] = []
    for ann in root:
        if ann.tag != "Annotation":
            continue
        names: list[str] = []
        regions: list[AperioRegion] = []
        for child in ann:
            if child.tag == "Attributes":
                names.extend(a.get("Name", "") for a in child if a.tag == "Attribute")
            elif child.tag == "Regions":
                for reg in child:
                    if reg.tag != "Region":  # RegionAttributeHeaders
                        continue
                    regions.append(_region(reg, p, lines))
        annotations.append(AperioAnnotation(tuple(names), tuple(regions), lines[id(ann)]))
    return AperioXML(p, tuple(annotations), mpp if mpp and math.isfinite(mpp) else None)


def _region(reg: ET.Element, path: Path, lines: dict[int, int]) -> AperioRegion:
    line = lines[id(reg)]
    verts = next((c for c in reg if c.tag == "Vertices"), None)
    if verts is None:
        raise MissingKeyError(
            f"<Region Id={reg.get('Id')!r}> has no <Vertices>", path=path, line=line
        )
    coords = [
        (_coord(v, "X", path, lines.get(id(v))), _coord(v, "Y", path, lines.get(id(v))))
        for v in verts
        if v.tag == "Vertex"
    ]
    arr = np.array(coords, dtype=np.float64).reshape(-1, 2)
    return AperioRegion(arr, line, reg.get("Id"))


def polygon_pixels(vertices: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the pixels inside a polygon, clipped to ``shape``.

    Parameters
    ----------
    vertices : ndarray, shape (K, 2), float
        ``(x, y)`` vertices in pixels.
    shape : (H, W)
        Image size; pixels outside are dropped.

    Returns
    -------
    rr, cc : ndarray of intp
        As ``skimage.draw.polygon(Y, X, shape)`` (the official MoNuSAC notebooks' call).
    """
    from skimage.draw import polygon

    if len(vertices) == 0:
        empty = np.zeros(0, np.intp)
        return empty, empty
    return polygon(vertices[:, 1], vertices[:, 0], shape=shape)


def region_pixels(
    region: AperioRegion,
    shape: tuple[int, int],
    path: str | Path,
    *,
    strict: bool,
    warnings: list[dict],
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`polygon_pixels` of one region, with degenerate, outside and clipped regions reported.

    Parameters
    ----------
    region : AperioRegion
        The parsed region (its ``line`` and ``region_id`` name it in messages).
    shape : (H, W)
        Image size.
    path : path-like
        The XML file, for messages.
    strict : bool
        ``True`` (``on_error="raise"``): a region with fewer than 3 vertices or wholly outside the
        image raises :class:`PolygonError`. ``False``: it is dropped with a warning.
    warnings : list of dict
        Appended to: one dict per dropped or clipped region (see the module docstring).

    Returns
    -------
    rr, cc : ndarray of intp
        Pixels to paint (empty for a dropped region).
    """
    h, w = shape
    n = len(region.vertices)
    where = f"<Region Id={region.region_id!r}>"
    empty = np.zeros(0, np.intp)

    def report(message: str, drop: bool) -> None:
        if drop and strict:
            raise PolygonError(
                f"{where} {message}; refusing to drop the nucleus silently (on_error: skip drops "
                "it with a warning)",
                path=path,
                line=region.line,
            )
        warnings.append(
            {
                "path": str(path),
                "line": region.line,
                "region_id": region.region_id,
                "message": f"{where} {message}" + ("; dropped" if drop else ""),
            }
        )

    if n < 3:
        report(f"has {n} <Vertex> (a polygon needs at least 3)", drop=True)
        return empty, empty
    x, y = region.vertices[:, 0], region.vertices[:, 1]
    x0, x1, y0, y1 = float(x.min()), float(x.max()), float(y.min()), float(y.max())
    bbox = f"x {x0:g}..{x1:g}, y {y0:g}..{y1:g}"
    if x1 < 0 or y1 < 0 or x0 > w - 1 or y0 > h - 1:
        report(f"lies wholly outside the {w}x{h} image ({bbox})", drop=True)
        return empty, empty
    rr, cc = polygon_pixels(region.vertices, shape)
    if x0 <= -1 or y0 <= -1 or x1 >= w or y1 >= h:
        report(
            f"crosses the edge of the {w}x{h} image ({bbox}): clipped, {len(rr)} pixels kept",
            drop=False,
        )
    return rr, cc
