"""Hostile and broken input to the readers (issue 11, items 2, 7, 8): disguised lossy label files,
sample ids that climb out of the dataset root, and decompression bombs.

Each case is built from a look-alike the generator writes, with one file made hostile.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harmonize import datasets
from harmonize.datasets import _io
from harmonize.errors import CorruptFileError, LossyLabelError, TooLargeError, UnsafePathError


def _first_png(folder: Path) -> Path:
    return sorted(folder.rglob("*.png"))[0]


# -- item 2: label maps in a lossy format ---------------------------------------------------------
def _resave_as_jpeg(png: Path) -> None:
    """Re-save a label PNG as JPEG at quality 95, keeping its name (what a careless tool does)."""
    arr = np.asarray(Image.open(png).convert("L"))
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=95)
    png.write_bytes(buf.getvalue())


def test_coco_stuff_label_png_that_is_a_jpeg_is_refused(tmp_path: Path) -> None:
    res = datasets.synthesize("coco_stuff", tmp_path, n=2, seed=0)
    label = _first_png(res.root / "annotations")
    _resave_as_jpeg(label)
    # Pillow itself happily decodes it (the content sniffing ignores the name): the old behaviour
    assert np.asarray(Image.open(label)).ndim == 2
    reader = datasets.open_reader("coco_stuff", res.root)
    ref = next(r for r in reader.list_refs() if r.paths[1] == str(label))
    with pytest.raises(LossyLabelError, match="JPEG") as exc:
        reader.read(ref)
    assert exc.value.path == label
    assert isinstance(exc.value, CorruptFileError)


def test_lossy_label_is_skipped_under_skip(tmp_path: Path) -> None:
    res = datasets.synthesize("pascal_voc", tmp_path, n=3, seed=0)
    label = _first_png(res.root / "VOCdevkit" / "VOC2012" / "SegmentationClass")
    _resave_as_jpeg(label)
    reader = datasets.open_reader("pascal_voc", res.root, on_error="skip")
    got = {s.sample_id for s in reader}
    assert label.stem not in got
    assert [s.sample_id for s in reader.skipped] == [label.stem]
    assert reader.skipped[0].kind == "LossyLabelError"


@pytest.mark.parametrize(
    ("suffix", "fmt"),
    [(".png", "WEBP"), (".png", "TIFF"), (".tif", "PNG"), (".tif", "JPEG"), (".mat", "JPEG")],
)
def test_label_file_content_must_match_its_extension(tmp_path: Path, suffix: str, fmt: str) -> None:
    p = tmp_path / f"label{suffix}"
    img = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8))
    img.save(p, format=fmt, **({"lossless": False} if fmt == "WEBP" else {}))
    with pytest.raises(LossyLabelError) as exc:
        _io.check_label_file(p)
    assert exc.value.path == p


def test_matching_label_files_pass_the_magic_check(tmp_path: Path) -> None:
    png, tif, npy = tmp_path / "a.png", tmp_path / "a.tif", tmp_path / "a.npy"
    img = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8))
    img.save(png)
    img.save(tif)
    np.save(npy, np.zeros((2, 2)))
    for p in (png, tif, npy):
        assert _io.check_label_file(p) == p


def test_consep_legacy_npy_that_is_not_an_npy_is_refused(tmp_path: Path) -> None:
    res = datasets.synthesize("consep", tmp_path, n=2, seed=0, edge_cases=True)
    npy = sorted(res.root.rglob("Labels/*.npy"))[0]
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(npy, format="JPEG")
    reader = datasets.open_reader("consep", res.root, **res.reader_options)
    ref = next(r for r in reader.list_refs() if str(npy) in r.paths)
    with pytest.raises(LossyLabelError) as exc:
        reader.read(ref)
    assert exc.value.path == npy


# -- item 7: path traversal ----------------------------------------------------------------------
def _plant_secret(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"not for you")
    return outside


def test_voc_split_list_cannot_climb_out_of_the_root(tmp_path: Path) -> None:
    _plant_secret(tmp_path)
    res = datasets.synthesize("pascal_voc", tmp_path / "voc", n=2, seed=0)
    lst = res.root / "VOCdevkit" / "VOC2012" / "ImageSets" / "Segmentation" / "train.txt"
    lines = lst.read_text().splitlines()
    lst.write_text("\n".join([*lines, "../../../../outside/secret"]) + "\n")
    with pytest.raises(UnsafePathError, match="outside") as exc:
        datasets.open_reader("pascal_voc", res.root).list_refs()
    assert exc.value.path == lst
    assert exc.value.line == len(lines) + 1


def test_lizard_info_csv_row_cannot_climb_out_of_the_root(tmp_path: Path) -> None:
    _plant_secret(tmp_path)
    res = datasets.synthesize("lizard", tmp_path / "lizard", n=2, seed=0)
    csv_p = res.root / "Lizard_Labels" / "info.csv"
    lines = csv_p.read_text().splitlines()
    csv_p.write_text("\n".join([*lines, "../../outside/x,consep,1"]) + "\n")
    with pytest.raises(UnsafePathError) as exc:
        datasets.open_reader("lizard", res.root).list_refs()
    assert exc.value.path == csv_p
    assert exc.value.line == len(lines) + 1


def test_coco_stuff_10k_list_cannot_climb_out_of_the_root(tmp_path: Path) -> None:
    res = datasets.synthesize("coco_stuff", tmp_path / "c", n=2, seed=0, release="10k")
    lst = res.root / "imageLists" / "train.txt"
    lst.write_text(lst.read_text() + "..\\..\\outside\\x\n")
    with pytest.raises(UnsafePathError) as exc:
        datasets.open_reader("coco_stuff", res.root).list_refs()
    assert exc.value.path == lst


@pytest.mark.parametrize("bad", ["../x", "a/b", "a\\b", "..", "x/../../y", "", "c:x", "a\0b"])
def test_check_sample_id_refuses_paths(bad: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError):
        _io.check_sample_id(bad, tmp_path / "list.txt", 3)


@pytest.mark.parametrize("good", ["2007_000033", "COCO_train2014_000000000077", "consep_1", "a.b"])
def test_check_sample_id_accepts_plain_ids(good: str, tmp_path: Path) -> None:
    assert _io.check_sample_id(good, tmp_path / "list.txt", 3) == good


def test_symlink_leaving_the_root_is_recorded_by_its_target(tmp_path: Path) -> None:
    res = datasets.synthesize("coco_stuff", tmp_path / "c", n=2, seed=0)
    label = _first_png(res.root / "annotations")
    elsewhere = tmp_path / "elsewhere" / label.name
    elsewhere.parent.mkdir()
    label.rename(elsewhere)
    label.symlink_to(elsewhere)
    reader = datasets.open_reader("coco_stuff", res.root)
    ref = next(r for r in reader.list_refs() if r.sample_id == label.stem)
    assert ref.paths[1] == os.path.realpath(elsewhere)
    assert reader.read(ref).semantic.shape == np.asarray(Image.open(elsewhere)).shape
    others = [r for r in reader.list_refs() if r.sample_id != label.stem]
    assert all(p.startswith(str(res.root)) for r in others for p in r.paths)


# -- item 8: decompression bombs ------------------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bomb(path: Path, w: int, h: int) -> Path:
    """A PNG whose IHDR (valid CRC) declares ``w x h`` 8-bit grey and whose IDAT is one zlib stream
    of a few rows: tiny on disk, huge when decoded."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (w + 1) * 4, 9)
    path.write_bytes(
        _io._PNG_SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )
    return path


def _tiff_bomb(path: Path, w: int, h: int) -> Path:
    """A small valid RGB TIFF whose ImageWidth/ImageLength tags are patched to ``w x h``."""
    import tifffile

    tifffile.imwrite(path, np.zeros((8, 8, 3), np.uint8), photometric="rgb")
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        offs = {name: tags[name].valueoffset for name in ("ImageWidth", "ImageLength")}
        types = {name: tags[name].dtype for name in ("ImageWidth", "ImageLength")}
    data = bytearray(path.read_bytes())
    for name, val in (("ImageWidth", w), ("ImageLength", h)):
        fmt = "<I" if types[name] == 4 else "<H"
        data[offs[name] : offs[name] + struct.calcsize(fmt)] = struct.pack(fmt, val)
    path.write_bytes(bytes(data))
    return path


def test_png_bomb_header_is_refused_by_size_reading(tmp_path: Path) -> None:
    p = _png_bomb(tmp_path / "bomb.png", 60000, 60000)
    with pytest.raises(TooLargeError, match="60000x60000") as exc:
        _io.read_image_size(p)
    assert exc.value.path == p


@pytest.mark.parametrize("w", [40000, 14000])  # above Pillow's own limit, and between its two
def test_png_bomb_label_is_refused_before_decoding(tmp_path: Path, w: int) -> None:
    p = _png_bomb(tmp_path / "bomb.png", w, 40000)
    t0 = time.perf_counter()
    for read in (_io.read_label_png, _io.read_image_rgb):
        with pytest.raises(TooLargeError) as exc:
            read(p)
        assert exc.value.path == p
    assert time.perf_counter() - t0 < 2.0


def test_png_bomb_does_not_allocate(tmp_path: Path) -> None:
    """Under a 1 GiB address-space cap, decoding the 40000x40000 label (1.6 GB) would die with
    MemoryError; refusing from the header raises the typed error."""
    p = _png_bomb(tmp_path / "bomb.png", 40000, 40000)
    code = f"""
import resource
from harmonize.datasets import _io
from harmonize.errors import TooLargeError
import numpy, PIL.Image, imagecodecs
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
try:
    _io.read_label_png({str(p)!r})
except TooLargeError:
    print("typed")
"""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "typed", out.stderr[-2000:]


def test_tiff_bomb_is_refused_before_allocation(tmp_path: Path) -> None:
    p = _tiff_bomb(tmp_path / "bomb.tif", 60000, 60000)
    for read in (_io.read_image_size, _io.read_image_rgb):
        with pytest.raises(TooLargeError) as exc:
            read(p)
        assert exc.value.path == p


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    p = tmp_path / "small.png"
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(p)
    try:
        _io.set_max_pixels(599)
        with pytest.raises(TooLargeError):
            _io.read_label_png(p)
        _io.set_max_pixels(600)
        assert _io.read_label_png(p).shape == (20, 30)
    finally:
        _io.set_max_pixels(None)
    assert _io.max_pixels() == _io.DEFAULT_MAX_PIXELS


def test_mat_arrays_above_the_limit_are_refused(tmp_path: Path) -> None:
    import scipy.io

    p = tmp_path / "big.mat"
    scipy.io.savemat(p, {"inst_map": np.zeros((40, 50), np.int32)})
    try:
        _io.set_max_pixels(1999)
        with pytest.raises(TooLargeError) as exc:
            _io.read_mat(p, ["inst_map"])
        assert exc.value.path == p
    finally:
        _io.set_max_pixels(None)


def test_cityscapes_polygons_json_declaring_a_huge_frame_is_refused(tmp_path: Path) -> None:
    res = datasets.synthesize("cityscapes", tmp_path, n=2, seed=0)
    reader = datasets.open_reader("cityscapes", res.root, source="polygons")
    ref = reader.list_refs()[0]
    js = next(Path(p) for p in ref.paths if p.endswith("_polygons.json"))
    doc = json.loads(js.read_text())
    doc["imgHeight"], doc["imgWidth"] = 100000, 100000
    js.write_text(json.dumps(doc))
    with pytest.raises(TooLargeError) as exc:
        reader.read(ref)
    assert exc.value.path == js


# -- item 3: degenerate, outside and clipped polygons are reported, never lost silently ----------
def _add_regions(xml: Path, regions: list[tuple[str, list[tuple[float, float]]]]) -> dict[str, int]:
    """Append regions (id, vertices) to the first <Regions> of an Aperio XML; return id -> line."""
    lines = xml.read_text().splitlines()
    at = next(i for i, t in enumerate(lines) if t.strip() == "</Regions>")
    new: list[str] = []
    where: dict[str, int] = {}
    for rid, verts in regions:
        where[rid] = at + len(new) + 1  # 1-based line of the <Region> element
        new.append(f'<Region Id="{rid}" Type="0">')
        new.append("<Attributes/>")
        new.append("<Vertices>")
        new.extend(f'<Vertex X="{x}" Y="{y}" Z="0"/>' for x, y in verts)
        new.append("</Vertices>")
        new.append("</Region>")
    xml.write_text("\n".join(lines[:at] + new + lines[at:]) + "\n")
    return where


def _hostile_regions(h: int, w: int) -> list[tuple[str, list[tuple[float, float]]]]:
    return [
        ("901", []),
        ("902", [(5.0, 5.0)]),
        ("903", [(5.0, 5.0), (9.0, 9.0)]),
        ("904", [(w + 10.0, 2.0), (w + 20.0, 2.0), (w + 15.0, 9.0)]),  # wholly outside
        ("905", [(w - 4.0, 10.0), (w + 6.0, 10.0), (w + 6.0, 20.0), (w - 4.0, 20.0)]),  # edge
    ]


@pytest.mark.parametrize("dataset", ["monuseg", "monusac"])
def test_degenerate_and_outside_polygons_raise_with_line_and_region(tmp_path, dataset) -> None:
    from harmonize.errors import PolygonError

    res = datasets.synthesize(dataset, tmp_path, n=2, seed=0)
    xml = sorted(res.root.rglob("*.xml"))[0]
    reader = datasets.open_reader(dataset, res.root, **res.reader_options)
    ref = next(r for r in reader.list_refs() if str(xml) in r.paths)
    h, w = _io.read_image_size(ref.paths[0])
    orig = xml.read_bytes()
    for rid, verts in _hostile_regions(h, w)[:4]:
        xml.write_bytes(orig)
        where = _add_regions(xml, [(rid, verts)])
        with pytest.raises(PolygonError, match=f"Id='{rid}'") as exc:
            reader.read(ref)
        assert exc.value.path == xml and exc.value.line == where[rid]


@pytest.mark.parametrize("dataset", ["monuseg", "monusac"])
def test_polygon_problems_are_warnings_under_skip(tmp_path, dataset) -> None:
    res = datasets.synthesize(dataset, tmp_path, n=2, seed=0)
    xml = sorted(res.root.rglob("*.xml"))[0]
    strict = datasets.open_reader(dataset, res.root, **res.reader_options)
    ref = next(r for r in strict.list_refs() if str(xml) in r.paths)
    before = strict.read(ref)
    known = {x["region_id"] for x in before.warnings}  # the look-alike's own edge crossings
    assert all("clipped" in x["message"] for x in before.warnings)
    assert not known & {"901", "902", "903", "904", "905"}
    orig = xml.read_bytes()
    h, w = before.shape
    where = _add_regions(xml, _hostile_regions(h, w))
    reader = datasets.open_reader(dataset, res.root, on_error="skip", **res.reader_options)
    s = reader.read_checked(ref)
    assert s is not None and not reader.skipped
    got = {x["region_id"]: x for x in s.warnings if x["region_id"] not in known}
    assert set(got) == set(where)
    for rid, line in where.items():
        assert got[rid]["line"] == line and got[rid]["path"] == str(xml)
    for rid in ("901", "902", "903", "904"):
        assert got[rid]["message"].endswith("dropped")
    assert "0 <Vertex>" in got["901"]["message"] and "2 <Vertex>" in got["903"]["message"]
    assert "wholly outside" in got["904"]["message"]
    assert "clipped" in got["905"]["message"] and "dropped" not in got["905"]["message"]
    # only the clipped region adds an instance; its pixels are the in-image part of its box
    assert len(np.unique(s.instance)) == len(np.unique(before.instance)) + 1
    from skimage.draw import polygon

    xs, ys = zip(*_hostile_regions(h, w)[4][1], strict=True)
    rr, cc = polygon(np.array(ys), np.array(xs))  # unclipped; the image keeps columns < w
    assert f"{int(((cc < w) & (rr < h)).sum())} pixels kept" in got["905"]["message"]
    # the edge crossing is a warning under raise too, not an error
    xml.write_bytes(orig)
    _add_regions(xml, _hostile_regions(h, w)[4:])
    s2 = strict.read(ref)
    assert [x["region_id"] for x in s2.warnings if x["region_id"] not in known] == ["905"]


def test_symlinked_folder_leaving_the_root_is_recorded_by_its_target(tmp_path: Path) -> None:
    res = datasets.synthesize("coco_stuff", tmp_path / "c", n=2, seed=0)
    images = res.root / "images" / "val2017"
    moved = tmp_path / "mounted" / "val2017"
    moved.parent.mkdir()
    images.rename(moved)
    images.symlink_to(moved, target_is_directory=True)
    refs = datasets.open_reader("coco_stuff", res.root).list_refs()
    val = [r for r in refs if r.split == "val2017"]
    assert val and all(
        r.paths[0] == os.path.join(os.path.realpath(moved), Path(r.paths[0]).name) for r in val
    )
    assert all(r.paths[1].startswith(str(res.root)) for r in refs)
    assert all(r.paths[0].startswith(str(res.root)) for r in refs if r.split != "val2017")
