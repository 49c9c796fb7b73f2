"""The PanNuke reader's memory on a moderately large fold: listing and reading samples of a
memory-mapped fold map only what they touch (resident set, not just Python allocations)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from harmonize import datasets
from harmonize.datasets.pannuke import TISSUES, fold_paths
from harmonize.lookalike.pannuke import _make_patch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _rss() -> int:
    """Resident set of this process in bytes (anonymous + file-backed pages)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _write_fold(root: Path, n: int, size: int = 256) -> Path:
    """A fold of ``n`` real-size float64 patches, written block by block (never whole in RAM)."""
    base = root / "PanNuke"
    _, images_p, types_p, masks_p = fold_paths(base, 1)
    images_p.parent.mkdir(parents=True)
    masks_p.parent.mkdir(parents=True)
    rng = np.random.default_rng(5)
    drawn = [_make_patch(rng, (size, size), None) for _ in range(4)]
    images = np.lib.format.open_memmap(images_p, "w+", np.float64, (n, size, size, 3))
    masks = np.lib.format.open_memmap(masks_p, "w+", np.float64, (n, size, size, 6))
    for i in range(n):
        mask, _, _, _, image = drawn[i % len(drawn)]
        images[i], masks[i] = image, mask
        if i % 16 == 15:
            images.flush()
            masks.flush()
    del images, masks
    np.save(types_p, np.array([TISSUES[i % len(TISSUES)] for i in range(n)], "<U13"))
    return base


def test_reading_samples_of_a_mapped_fold_keeps_rss_bounded(tmp_path: Path) -> None:
    n = 120  # masks.npy 377 MB, images.npy 189 MB
    base = _write_fold(tmp_path, n)
    whole = sum(p.stat().st_size for p in base.rglob("*.npy"))
    reader = datasets.open_reader("pannuke", base, splits=["fold1"])
    first = reader.read(reader.list_refs()[0])  # warm imports and the numba kernel
    first.image()
    before = _rss()
    refs = reader.list_refs()
    assert len(refs) == n
    got = []
    for k in (3, 60, n - 1):
        s = reader.read(refs[k])
        got.append((s.semantic.copy(), s.instance.copy(), s.image()))
    grown = _rss() - before
    one = 256 * 256 * 9 * 8  # one patch of masks + image, float64
    assert grown < 8 * one < whole / 10, (grown, one, whole)
    assert all(sem.shape == (256, 256) and img.dtype == np.uint8 for sem, _, img in got)
    assert any(len(np.unique(inst)) > 1 for _, inst, _ in got)


def test_whole_array_loading_would_fail_the_bound(tmp_path: Path) -> None:
    """The bound above is not vacuous: ``np.load`` without a memory map (what the official
    preparation scripts do) grows the resident set by the whole array."""
    base = _write_fold(tmp_path, 40)
    masks_p = fold_paths(base, 1)[3]
    before = _rss()
    masks = np.load(masks_p)
    grown = _rss() - before
    assert grown > 0.9 * masks.nbytes > 8 * 256 * 256 * 9 * 8
