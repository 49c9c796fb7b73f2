"""Hostile input seen through a whole run (issue 11): the pixel limit from the config, polygon
warnings in the run report and the store, and ``unknown_values: ignore`` for out-of-range values."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from harmonize.datasets import _io
from harmonize.errors import ConfigError, TooLargeError
from harmonize.pipeline import load_config, run
from harmonize.pipeline.demo import configs_dir, demo_config
from harmonize.store import open_store


def _cfg(tmp_path: Path, config: str, dataset: str, n: int = 2, **overrides):
    cfg = load_config(configs_dir() / config)
    cache: dict = {}
    cfg = demo_config(
        cfg, tmp_path / "data", tmp_path / "out", n=n, cache=cache, datasets=[dataset]
    )
    if overrides:
        cfg = cfg.model_copy(update=overrides).with_base(None)
    return cfg, cache[dataset]


def _png_bomb(path: Path, w: int, h: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (3 * w + 1) * 2, 9)
    path.write_bytes(
        _io._PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_image_bomb_during_planning_is_typed_and_skipped(tmp_path: Path) -> None:
    cfg, res = _cfg(tmp_path, "scene_merged.yaml", "pascal_voc", on_error="skip")
    sid = sorted(res.samples)[0]
    jpg = next(res.root.rglob(f"JPEGImages/{sid}.jpg"))
    _png_bomb(jpg, 60000, 60000)  # a PNG under a .jpg name: Pillow opens it by content
    report = run(cfg, workers=1)
    bad = [s for s in report.skipped if s["sample_id"] == sid]
    assert len(bad) == 1, report.skipped
    assert "TooLargeError" in str(bad[0]) and str(jpg) in str(bad[0])
    assert report.written == report.samples - 1


def test_image_bomb_under_raise_names_the_file(tmp_path: Path) -> None:
    cfg, res = _cfg(tmp_path, "scene_merged.yaml", "pascal_voc", on_error="raise")
    sid = sorted(res.samples)[0]
    jpg = next(res.root.rglob(f"JPEGImages/{sid}.jpg"))
    _png_bomb(jpg, 60000, 60000)
    with pytest.raises(TooLargeError) as exc:
        run(cfg, workers=1)
    assert exc.value.path == jpg


def test_limits_max_pixels_from_the_config_is_applied(tmp_path: Path) -> None:
    cfg, res = _cfg(tmp_path, "scene_merged.yaml", "pascal_voc", on_error="skip")
    h, w = next(iter(res.samples.values())).semantic.shape
    small = cfg.model_copy(
        update={"limits": cfg.limits.model_copy(update={"max_pixels": h * w - 1})}
    )
    try:  # every sample is refused while sizing: the source has nothing readable left
        with pytest.raises(ConfigError, match="above the limit of") as exc:
            run(small.with_base(None), workers=1)
    finally:
        _io.set_max_pixels(None)
    assert f"limit of {h * w - 1}" in str(exc.value)


def test_limits_config_key_is_strict(tmp_path: Path) -> None:
    base = (configs_dir() / "scene_merged.yaml").read_text()
    good = tmp_path / "good.yaml"
    good.write_text(base + "limits: {max_pixels: 1000000}\n")
    assert load_config(good).limits.max_pixels == 1_000_000
    assert load_config(configs_dir() / "scene_merged.yaml").limits.max_pixels == 2**28
    for bad_value in ('"1000"', "0", "-5", "true"):
        bad = tmp_path / "bad.yaml"
        bad.write_text(base + f"limits: {{max_pixels: {bad_value}}}\n")
        with pytest.raises(ConfigError):
            load_config(bad)


def test_store_records_nothing_unexpected(tmp_path: Path) -> None:
    """A plain run still completes with the new config key in place (its default)."""
    cfg, _ = _cfg(tmp_path, "scene_merged.yaml", "pascal_voc")
    report = run(cfg, workers=1)
    assert report.written == report.samples
    assert open_store(cfg.output.path).complete


# -- item 5: unknown_values covers every value the taxonomy does not declare ----------------------
def _plant_value(res, dataset: str, value: int):
    """Write ``value`` into 12 pixels of the first sample's label file (pixels of no VOC object);
    return (sid, path, mask)."""
    import numpy as np
    import scipy.io
    from PIL import Image

    sid = sorted(res.samples)[0]
    if dataset == "pascal_voc":
        p = next(res.root.rglob(f"SegmentationClass/{sid}.png"))
        img = Image.open(p)
        arr = np.asarray(img).copy()
        obj = np.asarray(Image.open(p.parent.parent / "SegmentationObject" / p.name))
        mask = np.zeros(arr.shape, bool)
        mask.flat[np.flatnonzero(obj == 0)[:12]] = True
        arr[mask] = value
        out = Image.fromarray(arr, mode="P")
        out.putpalette(img.getpalette())
        out.save(p)
    elif dataset == "coco_stuff":
        p = next(res.root.rglob(f"annotations/*/{sid}.png"))
        arr = np.asarray(Image.open(p)).copy()
        mask = np.zeros(arr.shape, bool)
        mask[:3, :4] = True
        arr[mask] = value
        Image.fromarray(arr).save(p)
    else:  # consep
        p = next(res.root.rglob(f"Labels/{sid}.mat"))
        mat = scipy.io.loadmat(p)
        tmap = mat["type_map"].copy()
        mask = np.zeros(tmap.shape, bool)
        mask[:3, :4] = True
        tmap[mask] = value
        keep = {k: v for k, v in mat.items() if not k.startswith("__")}
        scipy.io.savemat(p, {**keep, "type_map": tmap})
    return sid, p, mask


CASES = [
    ("scene_merged.yaml", "pascal_voc", 30),
    ("scene_merged.yaml", "coco_stuff", 200),
    ("nuclei_merged.yaml", "consep", 9),
]


@pytest.mark.parametrize(("config", "dataset", "value"), CASES, ids=[c[1] for c in CASES])
def test_unknown_values_ignore_covers_out_of_range_values(tmp_path, config, dataset, value):
    import numpy as np
    import yaml

    cfg, res = _cfg(tmp_path, config, dataset, unknown_values="ignore", on_error="skip")
    sid, _, mask = _plant_value(res, dataset, value)
    report = run(cfg, workers=1)
    assert not report.skipped, report.skipped
    src = cfg.sources[0].source_name
    assert report.per_source[src]["unknown_pixels"] == 12
    onto = yaml.safe_load(
        (configs_dir().parent / "taxonomies" / "ontologies" / f"{cfg.ontology}.yaml").read_text()
    )
    ignore = next(s["id"] for s in onto["special"] if s["role"] == "ignore")
    store = open_store(cfg.output.path)
    got = next(store[i] for i in store.indices([src]) if store[i].sample_id == sid)
    assert (np.asarray(got.semantic)[mask] == ignore).all()
    assert mask.sum() == 12


@pytest.mark.parametrize(("config", "dataset", "value"), CASES, ids=[c[1] for c in CASES])
def test_unknown_values_error_names_the_file_and_value(tmp_path, config, dataset, value):
    from harmonize.errors import UnmappedValueError

    cfg, res = _cfg(tmp_path, config, dataset, unknown_values="error", on_error="raise")
    _, path, _ = _plant_value(res, dataset, value)
    with pytest.raises(UnmappedValueError) as exc:
        run(cfg, workers=1)
    assert str(exc.value.path) == str(path)
    assert f"{value} (12 pixels)" in str(exc.value)


# -- item 3: polygon warnings reach the run report and the store ----------------------------------
def test_polygon_warnings_reach_the_report_and_the_store(tmp_path: Path) -> None:
    import zarr

    cfg, res = _cfg(tmp_path, "nuclei_merged.yaml", "monusac", on_error="skip")
    xml = sorted(res.root.rglob("*.xml"))[0]
    lines = xml.read_text().splitlines()
    at = next(i for i, t in enumerate(lines) if t.strip() == "</Regions>")
    region = [
        '<Region Id="777">',
        "<Vertices>",
        '<Vertex X="3" Y="4"/>',
        "</Vertices>",
        "</Region>",
    ]
    xml.write_text("\n".join(lines[:at] + region + lines[at:]) + "\n")
    report = run(cfg, workers=1)
    assert not report.skipped and report.written == report.samples
    mine = [w for w in report.warnings if w["region_id"] == "777"]
    assert len(mine) == 1, report.warnings
    w = mine[0]
    src = cfg.sources[0].source_name
    assert w["source"] == src and w["path"] == str(xml) and w["line"] == at + 1
    assert "1 <Vertex>" in w["message"] and w["message"].endswith("dropped")
    store = open_store(cfg.output.path)
    stored = next(store[i] for i in store.indices([src]) if store[i].sample_id == w["sample_id"])
    assert str(xml) in stored.paths
    meta = zarr.open_group(cfg.output.path, mode="r").attrs["harmonize"]
    assert meta["warnings"] == report.warnings
    assert meta["report"]["warnings"] == report.warnings


def test_run_summary_lists_the_warnings(tmp_path: Path, capsys) -> None:
    cfg, res = _cfg(tmp_path, "nuclei_merged.yaml", "monusac", on_error="skip")
    xml = sorted(res.root.rglob("*.xml"))[0]
    lines = xml.read_text().splitlines()
    at = next(i for i, t in enumerate(lines) if t.strip() == "</Regions>")
    region = ['<Region Id="778">', "<Vertices>", "</Vertices>", "</Region>"]
    xml.write_text("\n".join(lines[:at] + region + lines[at:]) + "\n")
    report = run(cfg, workers=1)
    assert report.warnings
    capsys.readouterr()
    report.print_summary()
    out = capsys.readouterr().out
    assert f"{len(report.warnings)} warnings" in out
    flat = "".join(out.split())  # rich wraps long lines at the terminal width
    for w in report.warnings[:5]:
        assert "".join(w["sample_id"].split()) in flat
        assert "".join(w["message"].split()) in flat
