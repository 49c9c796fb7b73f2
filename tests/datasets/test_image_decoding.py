"""Image decoding shared by every reader (_io.read_image_rgb): the file variants real releases use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from harmonize.datasets._io import read_image_rgb, read_tiff_size
from harmonize.errors import CorruptFileError

RGB = np.random.default_rng(0).integers(0, 256, size=(20, 30, 3), dtype=np.uint8)


@pytest.mark.parametrize("compression", ["tiff_lzw", "jpeg", "tiff_deflate", "packbits", None])
def test_compressed_tiffs_decode(tmp_path: Path, compression: str | None) -> None:
    # OpenCV (the MoNuSAC organisers' writer) saves LZW TIFFs; tifffile needs the optional
    # imagecodecs for LZW and JPEG, so those go through Pillow's decoder
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
