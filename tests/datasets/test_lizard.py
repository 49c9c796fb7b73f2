"""Lizard reader and look-alike generator (nuclei_datasets.md §5.1)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.io as sio

from harmonize import datasets
from harmonize.datasets.base import SynthResult
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    HarmonizeError,
    MissingFileError,
    MissingKeyError,
    SizeMismatchError,
)
from harmonize.lookalike._draw import write_mat
from harmonize.testing.contract import ReaderContract


class TestLizard(ReaderContract):
    dataset = "lizard"
    synth_kwargs: ClassVar[dict[str, Any]] = {"n": 3, "seed": 0, "size": (56, 64)}

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        mat = root / "Lizard_Labels" / "Labels" / "glas_1.mat"
        data = sio.loadmat(mat)
        write_mat(mat, {k: v for k, v in data.items() if not k.startswith("__") and k != "class"})
        return "glas_1", MissingKeyError


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    out = tmp_path_factory.mktemp("lizard_edge_mod")
    return datasets.synthesize("lizard", out, n=4, seed=7, size=(56, 64), edge_cases=True)


# Lizard's read_label.py, re-implemented: classes looked up by the *position* of the instance value
# in np.squeeze(id).
def read_label_classes(mat_file: Path) -> dict[int, int]:
    label = sio.loadmat(mat_file)
    inst_map = label["inst_map"]
    nuclei_id = label["id"]
    classes = label["class"]
    unique_values = np.unique(inst_map).tolist()[1:]
    nuclei_id = np.squeeze(nuclei_id).tolist()
    out = {}
    for value in unique_values:
        idx = nuclei_id.index(value)
        class_ = classes[idx]
        out[int(value)] = int(np.squeeze(class_))
    return out


def test_classes_match_read_label_py(edge: SynthResult) -> None:
    reader = datasets.open_reader("lizard", edge.root)
    checked = 0
    for s in reader:
        mat = Path(s.ref.paths[1])
        n_records = sio.loadmat(mat)["id"].size
        if n_records < 2:  # read_label.py's np.squeeze(id).tolist() is not a list for N <= 1
            continue
        want = read_label_classes(mat)
        got = dict(zip(s.instance_ids.tolist(), s.instance_classes.tolist(), strict=True))
        assert got == want, s.sample_id
        label = sio.loadmat(mat)
        lut = np.zeros(int(label["inst_map"].max()) + 1, np.int64)
        for v, c in want.items():
            lut[v] = c
        np.testing.assert_array_equal(s.semantic, lut[label["inst_map"]])
        np.testing.assert_array_equal(s.instance, label["inst_map"])
        checked += 1
    assert checked >= 4


def test_ids_are_shuffled_and_non_contiguous(edge: SynthResult) -> None:
    shuffled = 0
    for p in edge.quirks["shuffled_ids"]:
        ids = np.squeeze(sio.loadmat(p)["id"]).reshape(-1)
        if len(ids) > 2 and not np.all(np.diff(ids) > 0):
            shuffled += 1
    assert shuffled >= 1, "no file had its id records out of order"
    reader = datasets.open_reader("lizard", edge.root)
    gaps = [s for s in reader if len(s.instance_ids) and s.instance_ids.max() > len(s.instance_ids)]
    assert gaps, "instance ids are always contiguous"


def test_mat_layout_matches_read_label_py(edge: SynthResult) -> None:
    p = edge.quirks["shuffled_ids"][0]
    m = sio.loadmat(p)
    n = m["id"].shape[0]
    assert m["inst_map"].dtype == np.int32 and m["inst_map"].ndim == 2
    assert m["id"].shape == (n, 1) and m["class"].shape == (n, 1)
    assert m["bbox"].shape == (n, 4) and m["centroid"].shape == (n, 2)
    # bbox (y1, y2, x1, x2), centroid (x, y) of each record's pixels
    inst = m["inst_map"]
    for j, v in enumerate(m["id"][:, 0]):
        rr, cc = np.nonzero(inst == v)
        y1, y2, x1, x2 = m["bbox"][j]
        assert (y1, y2, x1, x2) == (rr.min(), rr.max() + 1, cc.min(), cc.max() + 1)
        np.testing.assert_allclose(m["centroid"][j], (cc.mean(), rr.mean()))


def test_edge_cases_empty_single_and_orphan_record(edge: SynthResult) -> None:
    reader = datasets.open_reader("lizard", edge.root)
    by_id = {s.sample_id: s for s in reader}
    empty = Path(edge.quirks["empty"][0]).stem
    assert not by_id[empty].instance.any() and len(by_id[empty].instance_ids) == 0
    assert sio.loadmat(edge.quirks["empty"][0])["id"].size == 0
    single = Path(edge.quirks["single"][0]).stem
    rec = sio.loadmat(edge.quirks["single"][0])
    assert rec["id"].shape == (1, 1)
    assert by_id[single].instance_classes.tolist() == [int(rec["class"][0, 0])]
    orphan = Path(edge.quirks["orphan_record"][0])
    m = sio.loadmat(orphan)
    unused = set(m["id"][:, 0].tolist()) - set(np.unique(m["inst_map"]).tolist())
    assert unused, "the orphan record should have no pixel"
    assert not unused & set(by_id[orphan.stem].instance_ids.tolist())


def test_splits_sources_and_image_folders(edge: SynthResult) -> None:
    info = edge.root / "Lizard_Labels" / "info.csv"
    with info.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["Filename", "Source", "Split"]
    reader = datasets.open_reader("lizard", edge.root)
    refs = {r.sample_id: r for r in reader.list_refs()}
    assert list(refs) == [r["Filename"] for r in rows]  # file order
    for r in rows:
        ref = refs[r["Filename"]]
        assert ref.split == f"fold{r['Split']}"
        assert ref.meta["source"] == r["Source"]
        assert ref.meta["magnification"] == "20x" and ref.meta["mpp"] == 0.5
    folders = {Path(r.paths[0]).parent.name for r in refs.values()}
    assert folders == {"Lizard_Images1", "Lizard_Images2"}


def test_kaggle_wrapped_layout(tmp_path: Path) -> None:
    result = datasets.synthesize("lizard", tmp_path / "k", n=3, seed=1, size=(40, 48))
    root = result.root
    for name in ("Lizard_Images1", "Lizard_Images2", "Lizard_Labels"):
        wrap = root / name.lower()
        wrap.mkdir()
        (root / name).rename(wrap / name)
    got = {s.sample_id for s in datasets.open_reader("lizard", root)}
    assert got == set(result.samples)


def _fresh(tmp_path: Path) -> SynthResult:
    return datasets.synthesize("lizard", tmp_path / "d", n=3, seed=2, size=(40, 48))


def _first_mat(result: SynthResult) -> Path:
    return result.root / "Lizard_Labels" / "Labels" / "consep_1.mat"


def _rewrite(mat: Path, **changes) -> None:
    data = {k: v for k, v in sio.loadmat(mat).items() if not k.startswith("__")}
    data.update(changes)
    for k in [k for k, v in changes.items() if v is None]:
        del data[k]
    write_mat(mat, data)


def _read(result: SynthResult, sid: str = "consep_1"):
    reader = datasets.open_reader("lizard", result.root)
    return reader.read(next(r for r in reader.list_refs() if r.sample_id == sid))


def test_mat_without_class_is_missing_key(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    _rewrite(_first_mat(result), **{"class": None})
    with pytest.raises(MissingKeyError) as info:
        _read(result)
    assert "'class'" in str(info.value) and str(_first_mat(result)) in str(info.value)


def test_unknown_class_7(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    m = sio.loadmat(_first_mat(result))
    cls = m["class"].copy()
    cls[0, 0] = 7
    _rewrite(_first_mat(result), **{"class": cls})
    with pytest.raises(ClassIdError) as info:
        _read(result)
    assert "7" in str(info.value) and str(_first_mat(result)) in str(info.value)


def test_instance_without_record_is_corrupt(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    m = sio.loadmat(_first_mat(result))
    _rewrite(_first_mat(result), id=m["id"][1:], **{"class": m["class"][1:]})
    with pytest.raises(CorruptFileError) as info:
        _read(result)
    assert str(int(m["id"][0, 0])) in str(info.value)


def test_info_csv_missing(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    info = result.root / "Lizard_Labels" / "info.csv"
    info.unlink()
    with pytest.raises(MissingFileError) as exc:
        datasets.open_reader("lizard", result.root).list_refs()
    assert str(info) in str(exc.value)


def test_info_csv_bad_split_names_line(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    info = result.root / "Lizard_Labels" / "info.csv"
    lines = info.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ",4"
    info.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorruptFileError) as exc:
        datasets.open_reader("lizard", result.root).list_refs()
    assert exc.value.line == 3 and str(info) in str(exc.value)


def test_image_and_label_size_mismatch(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    m = sio.loadmat(_first_mat(result))
    _rewrite(_first_mat(result), inst_map=np.pad(m["inst_map"], ((0, 3), (0, 0))))
    with pytest.raises(SizeMismatchError):
        _read(result)


def test_missing_image(tmp_path: Path) -> None:
    result = _fresh(tmp_path)
    (result.root / "Lizard_Images1" / "consep_1.png").unlink()
    with pytest.raises(MissingFileError) as info:
        _read(result)
    assert "consep_1.png" in str(info.value)
