"""``export hovernet``: patches read back the way HoVer-Net's loader reads them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harmonize.export.hovernet import export_hovernet, patch_origins


def _load(path: Path):
    data = np.load(path)  # HoVer-Net FileLoader: img = data[..., :3], ann = data[..., 3:]
    img = data[..., :3].astype("uint8")
    ann = data[..., 3:].astype("int32")
    return img, ann[..., 0], ann[..., 1]


def _type_of(store, info):
    names = {v[0]: int(k) for k, v in info.items()}
    lut = np.zeros(256 * 256, np.int64)
    for c in store.ontology.classes:
        if not c.get("role"):
            lut[int(c["id"])] = names[c["name"]]
    return lut


@pytest.mark.parametrize("mode", ["valid", "mirror"])
def test_hovernet_patches_tile_the_store(nuclei_store, tmp_path: Path, mode: str) -> None:
    win, step = 48, 20
    out = tmp_path / "hv"
    summary = export_hovernet(nuclei_store, out, patch_size=win, step=step, mode=mode)
    info = json.loads((out / "type_info.json").read_text())
    assert info["0"][0] == "nolabe"
    ids = sorted(int(k) for k in info)
    assert ids == list(range(len(ids)))
    kept = sorted(int(c["id"]) for c in nuclei_store.ontology.classes if not c.get("role"))
    assert [info[str(t)][0] for t in range(1, len(ids))] == [
        nuclei_store.ontology.by_id[i]["name"] for i in kept
    ]
    lut = _type_of(nuclei_store, info)
    n = 0
    for s in nuclei_store:
        want_type = lut[s.semantic.astype(np.int64)]
        d = out / s.split / f"{win}x{win}_{step}x{step}"
        files = sorted(d.glob(f"{s.source}__{s.sample_id}_*.npy"))
        h, w = s.semantic.shape
        img = np.full((h, w, 3), -1, np.int64)
        inst = np.full((h, w), -1, np.int64)
        typ = np.full((h, w), -1, np.int64)
        if mode == "valid":
            origins = patch_origins(h, w, win, step)
            crop, off = win, 0
        else:
            diff = win - step
            origins = patch_origins(h + diff, w + diff, win, step)
            crop, off = step, diff // 2
        assert len(files) == len(origins)
        for f, (r, c) in zip(files, origins, strict=True):
            p_img, p_inst, p_type = _load(f)
            assert p_img.shape == (win, win, 3)
            # in mirror mode the patch's centre step x step sits at (r, c) of the sample
            sl = (slice(r, r + crop), slice(c, c + crop))
            cs = (slice(off, off + crop), slice(off, off + crop))
            hh, ww = img[sl].shape[:2]
            img[sl] = p_img[cs][:hh, :ww]
            inst[sl] = p_inst[cs][:hh, :ww]
            typ[sl] = p_type[cs][:hh, :ww]
        n += len(files)
        if files:
            np.testing.assert_array_equal(img, s.image)
            np.testing.assert_array_equal(inst, s.instance)
            np.testing.assert_array_equal(typ, want_type)
    assert n == summary["patches"] > 0
