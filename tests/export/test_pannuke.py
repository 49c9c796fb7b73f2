"""``export pannuke``: read back by harmonize's PanNuke reader and a CellViT-style loader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harmonize.datasets.pannuke import PanNukeReader
from harmonize.export.pannuke import export_pannuke
from harmonize.taxonomy.reverse import evaluation_mapping


def _expected(store, s, y, x, patch, lut):
    """Store instances of the tile (padded with 0) and the PanNuke class of each pixel."""
    inst = np.zeros((patch, patch), np.int64)
    crop = s.instance[y : y + patch, x : x + patch]
    inst[: crop.shape[0], : crop.shape[1]] = crop
    classes = np.asarray(s.instance_classes, np.int64)
    pn = np.concatenate([[0], lut[classes]])
    typ = pn[inst]
    typ[(typ < 1) | (typ > 5)] = 0
    inst[typ == 0] = 0
    return inst, typ


def _same_partition(a: np.ndarray, b: np.ndarray) -> None:
    assert ((a > 0) == (b > 0)).all()
    pairs = np.unique(np.stack([a[a > 0], b[b > 0]]), axis=1)
    assert len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]


def test_pannuke_export_round_trips(nuclei_store, tmp_path: Path) -> None:
    out = tmp_path / "pn"
    patch = 64  # small tiles so demo samples are cut into several, with padded borders
    summary = export_pannuke(nuclei_store, out, patch=patch)
    lut = np.asarray(evaluation_mapping(nuclei_store.ontology.name, "pannuke").lut, np.int64)
    index = json.loads((out / "folds.json").read_text())["tiles"]
    samples = {(s.source, s.sample_id): s for s in nuclei_store}
    n_tiles = 0
    for fold, tiles in index.items():
        k = int(fold[len("fold") :])
        # CellViT / PanNuke-metrics style loading
        images = np.load(out / f"Fold {k}" / "images" / fold / "images.npy")
        masks = np.load(out / f"Fold {k}" / "masks" / fold / "masks.npy")
        types = np.load(out / f"Fold {k}" / "images" / fold / "types.npy")
        assert images.dtype == masks.dtype == np.float64
        assert images.shape == (len(tiles), patch, patch, 3)
        assert masks.shape == (len(tiles), patch, patch, 6) and types.shape == (len(tiles),)
        assert images.min() >= 0 and images.max() <= 255
        for t, (src, sid, y, x) in enumerate(tiles):
            s = samples[(src, sid)]
            m = masks[t]
            inst_map = np.zeros((patch, patch), np.int64)
            type_map = np.zeros((patch, patch), np.int64)
            for c in range(5):
                layer = m[..., c].astype(np.int64)
                inst_map[layer > 0] = layer[layer > 0]
                type_map[layer > 0] = c + 1
            assert (m[..., 5] == (type_map == 0)).all()
            want_inst, want_type = _expected(nuclei_store, s, y, x, patch, lut)
            np.testing.assert_array_equal(type_map, want_type)
            _same_partition(inst_map, want_inst)
            crop = s.image[y : y + patch, x : x + patch]
            np.testing.assert_array_equal(images[t, : crop.shape[0], : crop.shape[1]], crop)
            n_tiles += 1
    assert n_tiles == summary["tiles"] > len(nuclei_store)

    # harmonize's own reader sees the same labels
    reader = PanNukeReader(out)
    refs = reader.list_refs()
    # the reader knows PanNuke's three folds only; further splits are Fold 4.. for other loaders
    assert len(refs) == sum(len(index[f]) for f in ("fold1", "fold2", "fold3") if f in index)
    for ref in refs:
        raw = reader.read(ref)
        fold, i = ref.sample_id.split("_")
        src, sid, y, x = index[fold][int(i)]
        want_inst, want_type = _expected(nuclei_store, samples[(src, sid)], y, x, patch, lut)
        np.testing.assert_array_equal(raw.semantic, want_type)
        _same_partition(np.asarray(raw.instance), want_inst)
        assert raw.meta["tissue"] == "Unknown"


def test_pannuke_drop_partial_tiles(nuclei_store, tmp_path: Path) -> None:
    summary = export_pannuke(nuclei_store, tmp_path / "pn", patch=64, pad=False)
    want = sum((s.height // 64) * (s.width // 64) for s in nuclei_store)
    assert summary["tiles"] == want
