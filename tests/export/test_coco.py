"""``export coco``: read back with pycocotools' own COCO API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("pycocotools")
from pycocotools.coco import COCO

from harmonize.export.coco import export_coco


def test_coco_annotations_decode_to_the_store_instances(nuclei_store, tmp_path: Path) -> None:
    out = tmp_path / "coco"
    summary = export_coco(nuclei_store, out)
    pairs = {(s.source, s.split) for s in nuclei_store}
    want_files = {out / "annotations" / f"instances_{a}_{b}.json" for a, b in pairs}
    assert {Path(f) for f in summary["files"]} == want_files
    onto = nuclei_store.ontology
    specials = {int(c["id"]) for c in onto.classes if c.get("role")}
    seen = 0
    for source, split in sorted(pairs):
        coco = COCO(str(out / "annotations" / f"instances_{source}_{split}.json"))
        cats = coco.loadCats(coco.getCatIds())
        assert {c["id"] for c in cats} == {int(c["id"]) for c in onto.classes if not c.get("role")}
        for c in cats:
            assert c["name"] == onto.by_id[c["id"]]["name"]
            assert c["supercategory"] == (onto.by_id[c["id"]].get("parent") or c["name"])
        samples = {s.sample_id: s for s in nuclei_store if s.source == source and s.split == split}
        assert len(coco.getImgIds()) == len(samples)
        for img in coco.loadImgs(coco.getImgIds()):
            s = samples[Path(img["file_name"]).stem]
            assert (img["height"], img["width"]) == s.semantic.shape
            assert (out / "images" / f"{source}_{split}" / img["file_name"]).is_file()
            anns = coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]]))
            classes = np.asarray(s.instance_classes)
            n_real = sum(
                1
                for k, c in enumerate(classes, 1)
                if int(c) not in specials and (s.instance == k).any()
            )
            assert len(anns) == n_real
            # each annotation is exactly one store instance, with its class
            for a in anns:
                m = coco.annToMask(a).astype(bool)
                ks = np.unique(s.instance[m])
                assert len(ks) == 1 and ks[0] > 0
                k = int(ks[0])
                np.testing.assert_array_equal(m, s.instance == k)
                assert a["category_id"] == int(classes[k - 1])
                assert a["area"] == m.sum() and a["iscrowd"] == 0
                ys, xs = np.nonzero(m)
                assert a["bbox"] == [
                    xs.min(),
                    ys.min(),
                    xs.max() - xs.min() + 1,
                    ys.max() - ys.min() + 1,
                ]
            seen += len(anns)
    assert seen == summary["annotations"] > 0


def test_coco_cli_images_none_and_link(nuclei_store, tmp_path: Path) -> None:
    from harmonize.cli import app

    r = CliRunner().invoke(
        app, ["export", "coco", nuclei_store.url, str(tmp_path / "n"), "--images", "none"]
    )
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "n" / "images").exists()
    export_coco(nuclei_store, tmp_path / "l", images="link")
    links = [p for p in (tmp_path / "l" / "images").rglob("*") if p.is_symlink()]
    for p in links:
        assert p.resolve().is_file()
    linkable = [
        s for s in nuclei_store if s.paths and Path(s.paths[0]).suffix.lower() in (".png", ".tif")
    ]
    assert len(links) == len(linkable) > 0
    doc = json.loads(next((tmp_path / "l" / "annotations").glob("*.json")).read_text())
    assert doc["images"] and all("file_name" in i for i in doc["images"])
