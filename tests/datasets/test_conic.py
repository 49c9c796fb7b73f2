"""CoNIC reader and look-alike generator (TissueImageAnalytics/CoNIC extract_patches.py)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from harmonize import datasets
from harmonize.datasets.base import SynthResult
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    HarmonizeError,
    MissingFileError,
    MissingKeyError,
    ShapeError,
    SizeMismatchError,
)
from harmonize.taxonomy import compile_mapping, load_mapping, load_ontology, load_taxonomy
from harmonize.testing.contract import ReaderContract

COLUMNS = ["neutrophil", "epithelial", "lymphocyte", "plasma", "eosinophil", "connective"]


def _names(root: Path) -> list[str]:
    with (root / "patch_info.csv").open() as fh:
        return [r["patch_info"] for r in csv.DictReader(fh)]


def _edit_labels(root: Path, fn) -> None:
    """Apply ``fn`` to the whole labels array and save it back (same dtype)."""
    labels = np.load(root / "labels.npy")
    fn(labels)
    np.save(root / "labels.npy", labels)


def _first_with_nuclei(root: Path) -> int:
    labels = np.load(root / "labels.npy", mmap_mode="r")
    return next(k for k in range(labels.shape[0]) if labels[k, ..., 0].max() >= 2)


class TestConic(ReaderContract):
    dataset = "conic"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 2, "seed": 0, "size": (48, 48)}

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        k = _first_with_nuclei(root)

        def seven(labels: np.ndarray) -> None:
            inst = labels[k, ..., 0]
            labels[k, ..., 1][inst == inst.max()] = 7  # a type CoNIC does not have

        _edit_labels(root, seven)
        return _names(root)[k], ClassIdError


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    out = tmp_path_factory.mktemp("conic_edge_mod")
    return datasets.synthesize("conic", out, n=3, seed=4, size=(64, 64), edge_cases=True)


def _fresh(tmp_path: Path) -> SynthResult:
    return datasets.synthesize("conic", tmp_path / "d", n=2, seed=2, size=(48, 48))


def _read_all(root: Path, **kw) -> dict:
    return {s.sample_id: s for s in datasets.open_reader("conic", root, **kw)}


# extract_patches.py's counting, re-implemented from the script: misc/utils.py cropping_center to
# the central (H - 32, W - 32) region (224x224 of 256), then per class the unique instance values
# of (cropped instance map * (cropped class map == class)), background dropped.
def cropping_center(x: np.ndarray, crop_shape: tuple[int, int]) -> np.ndarray:
    h0 = int((x.shape[0] - crop_shape[0]) * 0.5)
    w0 = int((x.shape[1] - crop_shape[1]) * 0.5)
    return x[h0 : h0 + crop_shape[0], w0 : w0 + crop_shape[1]]


def official_counts(inst: np.ndarray, cls: np.ndarray) -> list[int]:
    crop = (inst.shape[0] - 32, inst.shape[1] - 32)
    ic, cc = cropping_center(inst, crop), cropping_center(cls, crop)
    return [len(np.unique(ic * (cc == c)).tolist()[1:]) for c in range(1, 7)]


def test_files_are_the_release_layout(edge: SynthResult) -> None:
    root = edge.root
    images = np.load(root / "images.npy")
    labels = np.load(root / "labels.npy")
    assert images.dtype == np.uint8 and images.shape[1:] == (64, 64, 3)
    assert labels.dtype == np.uint16 and labels.shape == (*images.shape[:3], 2)
    with (root / "counts.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == COLUMNS  # no index column (to_csv(index=False))
    assert len(rows) - 1 == len(images) == len(_names(root))
    for name in _names(root):
        stem, _, patch = name.rpartition("-")
        assert len(patch) == 4 and patch.isdigit() and stem


def test_reads_arrays_exactly_and_counts_match_the_script(edge: SynthResult) -> None:
    labels = np.load(edge.root / "labels.npy")
    images = np.load(edge.root / "images.npy")
    with (edge.root / "counts.csv").open() as fh:
        counts = [[int(r[c]) for c in COLUMNS] for r in csv.DictReader(fh)]
    samples = _read_all(edge.root)
    names = _names(edge.root)
    assert list(samples) == names  # array order
    for k, name in enumerate(names):
        s = samples[name]
        np.testing.assert_array_equal(s.instance, labels[k, ..., 0])
        np.testing.assert_array_equal(s.semantic, labels[k, ..., 1])
        np.testing.assert_array_equal(s.image(), images[k])
        assert official_counts(labels[k, ..., 0], labels[k, ..., 1]) == counts[k]
        assert list(s.meta["counts"].values()) == counts[k]
        # one type per instance, read from the type channel
        for iid, c in zip(s.instance_ids, s.instance_classes, strict=True):
            assert set(np.unique(labels[k, ..., 1][labels[k, ..., 0] == iid])) == {c}


def test_source_image_metadata_ties_patches_to_lizard(edge: SynthResult) -> None:
    reader = datasets.open_reader("conic", edge.root)
    for ref in reader.list_refs():
        stem, patch = ref.sample_id.rsplit("-", 1)
        assert ref.meta["source_image"] == stem
        assert ref.meta["patch"] == int(patch)
        assert ref.meta["cohort"] == stem.split("_")[0]
        assert ref.meta["magnification"] == "20x"
    # the look-alike's border patches overlap (as step 256 + border-aligned windows do)
    a, b = edge.quirks["overlapping_patches"][0].split()
    assert a.rsplit("-", 1)[0] == b.rsplit("-", 1)[0]


def test_edge_patches(edge: SynthResult) -> None:
    samples = _read_all(edge.root)
    empty = samples[edge.quirks["empty"][0]]
    assert not empty.instance.any() and len(empty.instance_ids) == 0
    margin = samples[edge.quirks["margin_only"][0]]
    assert len(margin.instance_ids) > 0, "look-alike wrote no margin nuclei"
    assert sum(margin.meta["counts"].values()) == 0  # present in the maps, not counted


def test_mapping_is_lizards(edge: SynthResult) -> None:
    onto = load_ontology("nuclei")
    conic = compile_mapping(load_taxonomy("conic"), onto, load_mapping("conic", "nuclei"))
    lizard = compile_mapping(load_taxonomy("lizard"), onto, load_mapping("lizard", "nuclei"))
    np.testing.assert_array_equal(conic.lut[:7], lizard.lut[:7])
    names = [conic.class_names[int(v)] for v in conic.lut[1:7]]
    assert names == ["neutrophil", "epithelial", "lymphocyte", "plasma", "eosinophil", "stromal"]


# -- refusals ---------------------------------------------------------------------------------
def test_counts_row_disagreeing_with_labels_names_file_and_line(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    counts = result.root / "counts.csv"
    lines = counts.read_text().splitlines()
    k = 1
    fields = lines[k + 1].split(",")
    fields[1] = str(int(fields[1]) + 3)  # epithelial
    lines[k + 1] = ",".join(fields)
    counts.write_text("\n".join(lines) + "\n")
    name = _names(result.root)[k]
    with pytest.raises(CorruptFileError) as info:
        _read_all(result.root)
    assert info.value.line == k + 2 and str(counts) in str(info.value)
    assert name in str(info.value) and "epithelial" in str(info.value)
    skipping = datasets.open_reader("conic", result.root, on_error="skip")
    assert {s.sample_id for s in skipping} == set(result.samples) - {name}
    # the check can be switched off; then counts.csv is not needed at all
    counts.unlink()
    assert set(_read_all(result.root, check_counts=False)) == set(result.samples)
    with pytest.raises(MissingFileError):
        datasets.open_reader("conic", result.root).list_refs()


def test_instance_on_two_types_is_refused(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    k = _first_with_nuclei(result.root)
    labels = np.load(result.root / "labels.npy")
    inst = labels[k, ..., 0]
    iid = int(np.bincount(inst.ravel())[1:].argmax()) + 1  # the largest instance
    rr, cc = np.nonzero(inst == iid)
    old = int(labels[k, rr[0], cc[0], 1])

    def split(a: np.ndarray) -> None:
        a[k, rr[0], cc[0], 1] = 1 if old != 1 else 2

    _edit_labels(result.root, split)
    with pytest.raises(CorruptFileError) as info:
        _read_all(result.root, check_counts=False)
    assert f"instance {iid}" in str(info.value) and "labels.npy" in str(info.value)


def test_typed_pixel_outside_instances_is_refused(tmp_path: Path) -> None:
    result = _fresh(tmp_path)

    def stray(a: np.ndarray) -> None:
        bg = np.argwhere(a[0, ..., 0] == 0)[0]
        a[0, bg[0], bg[1], 1] = 3

    _edit_labels(result.root, stray)
    with pytest.raises(CorruptFileError) as info:
        _read_all(result.root, check_counts=False)
    assert "outside every instance" in str(info.value)


def test_inconsistent_arrays_are_refused(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    root = result.root
    images = np.load(root / "images.npy")
    np.save(root / "images.npy", images[:-1])
    with pytest.raises(SizeMismatchError) as info:
        datasets.open_reader("conic", root).list_refs()
    assert "labels.npy" in str(info.value)
    # a label-only run does not need images.npy at all
    assert len(datasets.open_reader("conic", root, images=False).list_refs()) == len(images)
    np.save(root / "images.npy", images.astype(np.float64))
    with pytest.raises(ShapeError, match="uint8"):
        datasets.open_reader("conic", root).list_refs()
    np.save(root / "images.npy", images)
    labels = np.load(root / "labels.npy")
    np.save(root / "labels.npy", labels.astype(np.float32))
    with pytest.raises(ShapeError, match="integers"):
        datasets.open_reader("conic", root).list_refs()
    np.save(root / "labels.npy", np.concatenate([labels, labels[..., :1]], axis=-1))
    with pytest.raises(ShapeError, match=r"\(N, H, W, 2\)"):
        datasets.open_reader("conic", root).list_refs()


def test_csv_row_counts_and_names(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    info_p = result.root / "patch_info.csv"
    original = info_p.read_text()
    info_p.write_text("\n".join(original.splitlines()[:-1]) + "\n")
    with pytest.raises(ShapeError) as info:
        datasets.open_reader("conic", result.root).list_refs()
    assert str(info_p) in str(info.value)
    lines = original.splitlines()
    lines[3] = "not a patch name"
    info_p.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorruptFileError) as info:
        datasets.open_reader("conic", result.root).list_refs()
    assert info.value.line == 4
    info_p.write_text(original.replace("patch_info", "name", 1))
    with pytest.raises(MissingKeyError):
        datasets.open_reader("conic", result.root).list_refs()
    info_p.write_text(original)
    counts = result.root / "counts.csv"
    counts.write_text(counts.read_text().replace("plasma", "plasma_cell", 1))
    with pytest.raises(MissingKeyError, match="plasma"):
        datasets.open_reader("conic", result.root).list_refs()
    counts.write_text(
        counts.read_text().replace("plasma_cell", "plasma", 1).replace("\n0,", "\n-1,", 1)
    )
    with pytest.raises(CorruptFileError, match="non-negative"):
        datasets.open_reader("conic", result.root).list_refs()


def test_unknown_option_is_refused(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    with pytest.raises(TypeError, match="check_count"):
        datasets.open_reader("conic", result.root, check_count=False)


# -- memory -----------------------------------------------------------------------------------
def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_reading_patches_keeps_rss_flat(tmp_path: Path) -> None:
    """Arrays are memory-mapped: reading patches copies one patch, never the release."""
    n, size = 300, 256  # labels.npy 79 MB, images.npy 59 MB
    small = datasets.synthesize("conic", tmp_path / "small", n=1, seed=3, size=(size, size))
    root = tmp_path / "big"
    root.mkdir()
    src_l = np.load(small.root / "labels.npy")
    src_i = np.load(small.root / "images.npy")
    m = len(src_l)
    labels = np.lib.format.open_memmap(root / "labels.npy", "w+", np.uint16, (n, size, size, 2))
    images = np.lib.format.open_memmap(root / "images.npy", "w+", np.uint8, (n, size, size, 3))
    for i in range(n):
        labels[i], images[i] = src_l[i % m], src_i[i % m]
    labels.flush()
    images.flush()
    del labels, images
    rows = (small.root / "counts.csv").read_text().splitlines()
    (root / "patch_info.csv").write_text(
        "\n".join(["patch_info", *(f"consep_{i}-0000" for i in range(n))]) + "\n"
    )
    (root / "counts.csv").write_text("\n".join([rows[0], *(rows[1 + i % m] for i in range(n))]))
    whole = sum(p.stat().st_size for p in root.glob("*.npy"))
    reader = datasets.open_reader("conic", root)
    reader.read(reader.list_refs()[0]).image()  # warm imports
    before = _rss()
    refs = reader.list_refs()
    got = [reader.read(refs[k]) for k in (5, 150, n - 1)]
    imgs = [s.image() for s in got]
    grown = _rss() - before
    one = size * size * (2 * 2 + 3 + 4 * 3)  # a label patch, an image, int32 copies
    assert grown < 8 * one < whole / 10, (grown, one, whole)
    assert all(i.shape == (size, size, 3) for i in imgs)
    assert any(len(s.instance_ids) for s in got)
