"""Image decoding shared by every reader (_io.read_image_rgb): the file variants real releases use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from harmonize.datasets import _io
from harmonize.datasets._io import read_image_rgb, read_label_png, read_tiff_size
from harmonize.errors import CorruptFileError

RGB = np.random.default_rng(0).integers(0, 256, size=(20, 30, 3), dtype=np.uint8)


@pytest.mark.parametrize("compression", ["tiff_lzw", "jpeg", "tiff_deflate", "packbits", None])
def test_compressed_tiffs_decode(tmp_path: Path, compression: str | None) -> None:
    # OpenCV (the MoNuSAC organisers' writer) saves LZW TIFFs
    p = tmp_path / "x.tif"
    Image.fromarray(RGB).save(p, **({"compression": compression} if compression else {}))
    got = read_image_rgb(p)
    assert got.shape == (20, 30, 3)
    if compression != "jpeg":  # lossy
        np.testing.assert_array_equal(got, RGB)
    else:
        assert np.abs(got.astype(int) - RGB).mean() < 40


def test_planar_and_multipage_tiffs(tmp_path: Path) -> None:
    planar = tmp_path / "planar.tif"
    tifffile.imwrite(planar, np.moveaxis(RGB, -1, 0), photometric="rgb", planarconfig="separate")
    assert read_tiff_size(planar) == (20, 30)
    np.testing.assert_array_equal(read_image_rgb(planar), RGB)
    pages = tmp_path / "pages.tif"
    tifffile.imwrite(pages, np.stack([RGB, RGB[::-1]]), photometric="rgb")
    assert read_tiff_size(pages) == (20, 30)
    np.testing.assert_array_equal(read_image_rgb(pages), RGB)  # first page


def test_non_rgb_modes_are_converted(tmp_path: Path) -> None:
    cmyk = tmp_path / "c.jpg"
    Image.new("RGB", (4, 4), (200, 50, 10)).convert("CMYK").save(cmyk, quality=100)
    assert np.abs(read_image_rgb(cmyk)[0, 0].astype(int) - [200, 50, 10]).max() < 12
    la = tmp_path / "la.png"
    Image.new("LA", (4, 4), (77, 128)).save(la)
    np.testing.assert_array_equal(read_image_rgb(la)[0, 0], [77, 77, 77])
    one = tmp_path / "one.png"
    Image.new("1", (4, 4), 1).save(one)
    np.testing.assert_array_equal(read_image_rgb(one)[0, 0], [255, 255, 255])


def test_truncated_tiff_is_corrupt(tmp_path: Path) -> None:
    p = tmp_path / "t.tif"
    Image.fromarray(RGB).save(p, compression="tiff_lzw")
    p.write_bytes(p.read_bytes()[:60])
    with pytest.raises(CorruptFileError) as info:
        read_image_rgb(p)
    assert str(p) in str(info.value)


# -- PNGs: libpng (imagecodecs) where it reads the file as stored, Pillow otherwise ---------------
def _pil(path: Path) -> np.ndarray:
    """Pillow's reading of a PNG: the reference the libpng path must equal."""
    with Image.open(path) as img:
        return np.asarray(img)


@pytest.mark.parametrize(
    ("name", "array"),
    [
        ("grey8", np.random.default_rng(1).integers(0, 256, (37, 53), dtype=np.uint8)),
        ("grey16", np.random.default_rng(2).integers(0, 65536, (37, 53), dtype=np.uint16)),
        ("cityscapes16", np.array([[0, 7, 26000], [26001, 33999, 11]], np.uint16)),
    ],
)
def test_label_pngs_decode_as_pillow_does(tmp_path: Path, name: str, array: np.ndarray) -> None:
    p = tmp_path / f"{name}.png"
    Image.fromarray(array).save(p)
    assert _io._decode_png_direct(p, (0,)) is not None  # the fast path is taken ...
    got = read_label_png(p)
    assert got.dtype == array.dtype
    np.testing.assert_array_equal(got, array)  # ... and gives the stored values
    np.testing.assert_array_equal(got, _pil(p))


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_rgb_pngs_decode_as_pillow_does(tmp_path: Path, mode: str) -> None:
    p = tmp_path / "x.png"
    img = Image.fromarray(RGB)
    (img if mode == "RGB" else img.convert("RGBA")).save(p)
    assert _io._decode_png_direct(p, (0, 2, 6)) is not None
    np.testing.assert_array_equal(read_image_rgb(p), RGB)


def test_pngs_libpng_would_transform_go_through_pillow(tmp_path: Path) -> None:
    vals = (np.arange(12 * 9) % 21).astype(np.uint8).reshape(12, 9)
    # palette (VOC): libpng expands it to RGB, but the index is the label
    pal = tmp_path / "pal.png"
    img = Image.fromarray(vals, mode="L").convert("P")
    img.putpalette([(i * 37) % 256 for i in range(768)])
    img.save(pal)
    assert _io._decode_png_direct(pal, (0,)) is None
    np.testing.assert_array_equal(read_label_png(pal, palette=True), _pil(pal))
    # a tRNS chunk would become an alpha channel
    trns = tmp_path / "trns.png"
    Image.fromarray(vals).save(trns, transparency=0)
    assert _io._decode_png_direct(trns, (0,)) is None
    np.testing.assert_array_equal(read_label_png(trns), vals)
    # 1-bit grey: libpng scales 1 to 255 on expansion; Pillow's reading is kept
    one = tmp_path / "one.png"
    Image.fromarray(vals > 10).save(one)
    assert _io._decode_png_direct(one, (0,)) is None


def test_broken_pngs_name_the_file(tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    Image.fromarray(np.full((64, 64), 7, np.uint8)).save(good)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    idat = data.index(b"IDAT")
    flipped[idat + 6] ^= 0xFF  # inside the compressed data: CRC error
    crc = tmp_path / "crc.png"
    crc.write_bytes(bytes(flipped))
    for bad in (truncated, crc):
        assert _io._decode_png_direct(bad, (0,)) is None  # libpng refuses; Pillow says why
        with pytest.raises(CorruptFileError) as info:
            read_label_png(bad)
        assert info.value.path == bad
