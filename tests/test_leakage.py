"""Leakage checks: exact, cropped and rescaled copies of tiles across sources and splits.

Copies are made with Pillow (BOX/bicubic resampling, JPEG), independently of the scikit-image
resampling the checker uses; tiles are H&E-like (purple nuclei on pink, with smooth texture).
Unrelated tiles include plain ``he_image`` tiles, whose colour statistics are all alike.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from harmonize.leakage import (
    ImageRef,
    LeakageParams,
    content_hash,
    find_duplicates,
    find_leakage,
)
from harmonize.lookalike._draw import he_image, random_ellipses


# ------------------------------------------------------------------------------------------------
# tiles and copies
# ------------------------------------------------------------------------------------------------
def tissue(rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """An H&E-like RGB tile with nuclei and smooth stromal texture."""
    shape = (size, size)
    fg = np.zeros(shape, np.int32)
    for k, e in enumerate(random_ellipses(rng, shape, n=size * size // 300, radius=(3, 9))):
        fg[e.mask(shape)] = k + 1
    img = he_image(rng, fg).astype(np.float64)
    img += gaussian_filter(rng.normal(0, 1, shape), 4)[..., None] * 60
    return np.clip(img, 0, 255).astype(np.uint8)


def plain(rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """A plain ``he_image`` tile: same colours and noise as every other one."""
    shape = (size, size)
    fg = np.zeros(shape, np.int32)
    for e in random_ellipses(rng, shape, n=40):
        fg[e.mask(shape)] = 1
    return he_image(rng, fg)


def resize(img: np.ndarray, factor: float, method=Image.Resampling.BOX) -> np.ndarray:
    h, w = img.shape[:2]
    size = (round(w * factor), round(h * factor))
    return np.asarray(Image.fromarray(img).resize(size, method))


def jpeg(img: np.ndarray, quality: int = 75) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def ref(source: str, split: str, sid: str) -> ImageRef:
    return ImageRef(source, split, sid)


def pairs_of(report) -> dict[frozenset[str], object]:
    return {frozenset((m.a.sample_id, m.b.sample_id)): m for m in report.matches}


# ------------------------------------------------------------------------------------------------
# content hash
# ------------------------------------------------------------------------------------------------
def test_content_hash_is_of_decoded_pixels(tmp_path: Path) -> None:
    import tifffile

    img = tissue(np.random.default_rng(3), 64)
    Image.fromarray(img).save(tmp_path / "a.png")
    tifffile.imwrite(tmp_path / "a.tif", img)
    png = np.asarray(Image.open(tmp_path / "a.png"))
    tif = tifffile.imread(tmp_path / "a.tif")
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "a.tif").read_bytes()
    assert content_hash(png) == content_hash(tif) == content_hash(img)
    changed = img.copy()
    changed[10, 10, 0] ^= 1
    assert content_hash(changed) != content_hash(img)
    # same bytes, other shape: a different image
    assert content_hash(img.reshape(32, 128, 3)) != content_hash(img)


# ------------------------------------------------------------------------------------------------
# one mixed collection: every kind of shared tile, and many that share nothing
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mixed():
    rng = np.random.default_rng(7)
    t = [tissue(rng) for _ in range(14)]
    items = [(ref("lizard", "train", f"t{k}"), img) for k, img in enumerate(t)]
    items += [(ref("lizard", "train", f"plain{k}"), plain(rng)) for k in range(6)]
    items += [(ref("consep", "test", f"other{k}"), tissue(rng)) for k in range(6)]
    # similar colour statistics: the same tile's pixels shuffled in blocks (no shared structure)
    blocks = t[13].reshape(8, 16, 8, 16, 3).transpose(0, 2, 1, 3, 4).reshape(64, 16, 16, 3)
    shuffled = blocks[rng.permutation(64)].reshape(8, 8, 16, 16, 3)
    shuffled = shuffled.transpose(0, 2, 1, 3, 4).reshape(128, 128, 3)
    items.append((ref("consep", "test", "shuffled13"), np.ascontiguousarray(shuffled)))
    shared = {
        "exact0": ("consep", "test", t[0].copy()),
        "exact1_split": ("lizard", "test", t[1].copy()),
        "crop2": ("consep", "test", t[2][13:93, 37:117]),
        "down3": ("pannuke", "fold1", resize(t[3], 0.5)),
        "cropdown4": ("pannuke", "fold1", resize(t[4][6:118, 10:122], 0.5)),
        "jpegdown5": ("pannuke", "fold2", jpeg(resize(t[5], 0.5), 75)),
        "up6": ("consep", "train", resize(t[6][20:84, 30:94], 2.0, Image.Resampling.BICUBIC)),
        "jpeg7": ("consep", "test", jpeg(t[7], 60)),
        "dup8": ("lizard", "train", t[8][0:100, 0:100]),
    }
    items += [(ref(src, split, sid), img) for sid, (src, split, img) in shared.items()]
    report = find_duplicates(items)
    return report, t


EXPECTED = {
    frozenset(("t0", "exact0")): ("exact", ["source", "split"]),
    frozenset(("t1", "exact1_split")): ("exact", ["split"]),
    frozenset(("t2", "crop2")): ("crop", ["source", "split"]),
    frozenset(("t3", "down3")): ("rescale", ["source", "split"]),
    frozenset(("t4", "cropdown4")): ("crop+rescale", ["source", "split"]),
    frozenset(("t5", "jpegdown5")): ("rescale", ["source", "split"]),
    frozenset(("t6", "up6")): ("crop+rescale", ["source"]),
    frozenset(("t7", "jpeg7")): ("near", ["source", "split"]),
    frozenset(("t8", "dup8")): ("crop", []),
}


def test_every_shared_tile_is_found_with_its_kind(mixed) -> None:
    report, _ = mixed
    got = pairs_of(report)
    for pair, (kind, across) in EXPECTED.items():
        assert pair in got, f"missed {sorted(pair)}"
        assert got[pair].kind == kind, f"{sorted(pair)}: {got[pair].kind} != {kind}"
        assert got[pair].across == across


def test_no_false_positives(mixed) -> None:
    """Unrelated tiles, plain tiles with alike colours and a block-shuffled tile match nothing."""
    report, _ = mixed
    extra = set(pairs_of(report)) - set(EXPECTED)
    assert not extra, f"false positives: {[sorted(p) for p in extra]}"


def test_leaks_and_duplicates_are_split(mixed) -> None:
    report, _ = mixed
    assert {frozenset((m.a.sample_id, m.b.sample_id)) for m in report.duplicates} == {
        frozenset(("t8", "dup8"))
    }
    assert len(report.leaks) == len(EXPECTED) - 1
    assert all(m.a.source != m.b.source or m.a.split != m.b.split for m in report.leaks)


def _check_geometry(m, contained: str, scale: float, origin: tuple[float, float]) -> None:
    """``contained`` is the copy; it must be ``a``, mapped into ``b`` by ``scale`` at ``origin``."""
    assert m.a.sample_id == contained
    assert m.scale == pytest.approx(scale, rel=0.02)
    np.testing.assert_allclose(m.offset, origin, atol=1.0)
    assert m.overlap_a > 0.95


def test_estimated_scale_and_offset(mixed) -> None:
    report, _ = mixed
    got = pairs_of(report)
    # an 80 x 80 crop at (13, 37): a lies in b at (13, 37), same scale
    _check_geometry(got[frozenset(("t2", "crop2"))], "crop2", 1.0, (13, 37))
    m = got[frozenset(("t2", "crop2"))]
    assert m.overlap_b == pytest.approx(80 * 80 / 128**2, abs=0.02)
    # crop at (6, 10) then halved: one pixel of the copy is two of the original
    _check_geometry(got[frozenset(("t4", "cropdown4"))], "cropdown4", 2.0, (6, 10))
    # a 64 px crop at (20, 30) doubled: the copy is the larger rendition, a = copy, scale 1/2
    _check_geometry(got[frozenset(("t6", "up6"))], "up6", 0.5, (20, 30))
    # whole tile halved: both wholly shared; oriented so that scale <= 1
    m = got[frozenset(("t3", "down3"))]
    assert (m.a.sample_id, m.scale) == ("t3", pytest.approx(0.5, rel=0.02))
    np.testing.assert_allclose(m.offset, (0, 0), atol=1.0)
    assert min(m.overlap_a, m.overlap_b) > 0.97


def test_scores_separate_copies_from_unrelated_tiles(mixed) -> None:
    report, _ = mixed
    exact = [m for m in report.matches if m.kind == "exact"]
    assert exact and all(m.score == 1.0 and m.votes == 0 for m in exact)
    near = [m for m in report.matches if m.kind != "exact"]
    assert all(m.score >= report.params.min_score for m in near)
    # the JPEG copies are not pixel-identical, so their NCC is below 1 but high
    got = pairs_of(report)
    assert 0.85 < got[frozenset(("t7", "jpeg7"))].score < 1.0


def test_exact_copies_are_expanded_to_every_member() -> None:
    rng = np.random.default_rng(11)
    a = tissue(rng)
    crop = a[20:100, 10:90]
    items = [
        (ref("s1", "train", "a"), a),
        (ref("s2", "train", "a_copy"), a.copy()),
        (ref("s3", "test", "crop"), crop),
    ]
    got = pairs_of(find_duplicates(items))
    assert got[frozenset(("a", "a_copy"))].kind == "exact"
    assert got[frozenset(("a", "crop"))].kind == "crop"
    assert got[frozenset(("a_copy", "crop"))].kind == "crop"
    assert len(got) == 3


# ------------------------------------------------------------------------------------------------
# the documented tolerance (docs/leakage.md), at its edges
# ------------------------------------------------------------------------------------------------
def _found(a: np.ndarray, b: np.ndarray, params: LeakageParams | None = None):
    rep = find_duplicates([(ref("x", "train", "a"), a), (ref("y", "test", "b"), b)], params)
    return rep.matches[0] if rep.matches else None


@pytest.mark.parametrize("side", [48, 64])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_smallest_documented_crop_is_found(seed: int, side: int) -> None:
    """A 48 or 64 px crop of a 128 px tile at an offset off the hash grid (48 px: found with the
    small image's band values probed, docs/leakage.md)."""
    rng = np.random.default_rng(100 + seed)
    a = tissue(rng)
    y, x = (int(v) for v in rng.integers(1, 127 - side, 2))
    m = _found(a, a[y : y + side, x : x + side])
    assert m is not None and m.kind == "crop"
    np.testing.assert_allclose(m.offset, (y, x), atol=1.0)


@pytest.mark.parametrize(
    ("size", "factor"),
    [(128, 0.5), (256, 0.3), (64, 2.0)],
    ids=["half-to-64px", "0.3x-to-77px", "2x-up"],
)
def test_scale_range_edges(size: int, factor: float) -> None:
    """Rescaled copies whose coarser side is the documented minimum of 64 px, and an upscale."""
    a = tissue(np.random.default_rng(size), size)
    b = resize(a, factor, Image.Resampling.BOX if factor < 1 else Image.Resampling.BICUBIC)
    m = _found(a, b)
    assert m is not None and m.kind == "rescale"
    assert m.scale == pytest.approx(min(factor, 1 / factor), rel=0.02)


def test_jpeg_and_noise_robustness() -> None:
    """JPEG quality 50 plus Gaussian noise (sigma 6 grey levels) on a 2x downscaled copy."""
    rng = np.random.default_rng(5)
    a = tissue(rng)
    b = resize(a, 0.5).astype(np.float64) + rng.normal(0, 6, (64, 64, 3))
    b = jpeg(np.clip(b, 0, 255).astype(np.uint8), 50)
    m = _found(a, b)
    assert m is not None and m.kind == "rescale" and m.score > 0.8


def test_colour_change_does_not_hide_a_copy() -> None:
    """Stain-normalised look-alike: the copy with its channels scaled still matches (grey NCC)."""
    a = tissue(np.random.default_rng(9))
    b = np.clip(a.astype(np.float64) * (0.8, 1.1, 0.9) + 10, 0, 255).astype(np.uint8)
    m = _found(a, b)
    assert m is not None and m.kind == "near"


def test_images_smaller_than_a_window_are_listed_unchecked() -> None:
    rng = np.random.default_rng(4)
    a = tissue(rng)
    tiny = a[:24, :24]
    rep = find_duplicates(
        [(ref("x", "train", "a"), a), (ref("y", "test", "tiny"), tiny), (ref("z", "t", "t2"), tiny)]
    )
    assert {r.sample_id for r in rep.unchecked} == {"tiny", "t2"}
    # their exact copies are still found
    assert [(m.a.sample_id, m.b.sample_id, m.kind) for m in rep.matches] == [
        ("tiny", "t2", "exact")
    ]


def test_threshold_is_the_ncc_cut() -> None:
    rng = np.random.default_rng(6)
    a = tissue(rng)
    b = jpeg(resize(a, 0.5), 40)
    m = _found(a, b)
    assert m is not None
    assert _found(a, b, LeakageParams(min_score=min(1.0, m.score + 0.005))) is None


def test_bad_parameters_are_rejected() -> None:
    with pytest.raises(ValueError, match="stride"):
        LeakageParams(stride=0)
    with pytest.raises(ValueError, match="min_score"):
        LeakageParams(min_score=1.5)


def test_render_formats(mixed) -> None:
    report, _ = mixed
    data = json.loads(report.render("json"))
    assert len(data["leaks"]) == len(report.leaks)
    assert {"a", "b", "kind", "scale", "offset", "score", "across"} <= set(data["leaks"][0])
    md = report.render("markdown")
    assert md.count("\n| ") >= len(report.matches)
    text = report.render("text")
    assert "lizard/train/t2" in text or "consep/test/crop2" in text
    with pytest.raises(ValueError):
        report.render("html")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# store level: two CPM-17-layout sources written by the pipeline, sharing tiles
# ------------------------------------------------------------------------------------------------
def _write_cpm17(root: Path, split: str, stem: str, img: np.ndarray) -> None:
    from scipy.io import savemat

    (root / split / "Images").mkdir(parents=True, exist_ok=True)
    (root / split / "Labels").mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(root / split / "Images" / f"{stem}.png")
    inst = np.zeros(img.shape[:2], np.int32)
    inst[2:8, 2:8] = 1
    savemat(root / split / "Labels" / f"{stem}.mat", {"inst_map": inst})


@pytest.fixture(scope="module")
def store_run(tmp_path_factory):
    from harmonize.pipeline import run
    from harmonize.pipeline.config import config_from_dict

    tmp = tmp_path_factory.mktemp("leak")
    rng = np.random.default_rng(21)
    t = [tissue(rng, 128 if k == 2 else 96) for k in range(6)]
    a, b = tmp / "A", tmp / "B"
    for k in range(4):
        _write_cpm17(a, "train", f"image_{k:02d}", t[k])
    _write_cpm17(a, "test", "image_00", t[0].copy())  # exact copy across splits
    _write_cpm17(b, "train", "image_00", t[1][10:74, 20:84])  # crop across sources
    _write_cpm17(b, "test", "image_00", resize(t[2], 0.5))  # 2x downscale to 64 px
    _write_cpm17(b, "test", "image_01", resize(t[3], 0.75))  # 0.75x rescale, 72 px
    _write_cpm17(b, "test", "image_02", t[4])
    _write_cpm17(b, "test", "image_03", t[5])
    cfg = config_from_dict(
        {
            "name": "leaky",
            "ontology": "nuclei",
            "sources": [
                {"dataset": "cpm17", "root": str(a), "name": "cpm-a"},
                {"dataset": "cpm17", "root": str(b), "name": "cpm-b"},
            ],
            "output": {"path": str(tmp / "leaky.zarr")},
            "leakage": True,
        }
    )
    report = run(cfg, workers=1)
    return report, tmp / "leaky.zarr"


def _ids(d: dict) -> set[frozenset[str]]:
    return {
        frozenset(
            (
                f"{m['a']['source']}/{m['a']['sample_id']}",
                f"{m['b']['source']}/{m['b']['sample_id']}",
            )
        )
        for m in d
    }


STORE_EXPECTED = {
    frozenset(("cpm-a/train_image_00", "cpm-a/test_image_00")),  # exact, across splits
    frozenset(("cpm-a/train_image_01", "cpm-b/train_image_00")),  # crop, across sources
    frozenset(("cpm-a/train_image_02", "cpm-b/test_image_00")),  # 2x downscale
    frozenset(("cpm-a/train_image_03", "cpm-b/test_image_01")),  # 0.75x rescale
}


def test_run_option_adds_findings_to_the_report(store_run) -> None:
    from harmonize.store import open_store

    report, path = store_run
    assert report.leakage is not None
    # tiles 4 and 5 appear once only: nothing else is claimed
    assert _ids(report.leakage["leaks"]) == STORE_EXPECTED
    assert not report.leakage["duplicates"]
    meta = open_store(str(path)).meta
    assert meta["leakage"] == report.leakage
    assert meta["report"]["leakage"] == report.leakage


def test_find_leakage_on_store_filters_sources(store_run) -> None:
    _, path = store_run
    full = find_leakage(str(path))
    only_b = find_leakage(str(path), sources=["cpm-b"])
    assert full.n_images == 10 and only_b.n_images == 5
    assert not only_b.matches  # cpm-b shares nothing with itself
    assert all(m.a.index is not None for m in full.matches)


def test_cli_leakage_json(store_run) -> None:
    from typer.testing import CliRunner

    from harmonize.cli import app

    _, path = store_run
    res = CliRunner().invoke(app, ["leakage", str(path), "--format", "json", "--quiet"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert frozenset(("cpm-a/train_image_01", "cpm-b/train_image_00")) in _ids(data["leaks"])
    res = CliRunner().invoke(app, ["leakage", str(path), "--quiet", "--fail"])
    assert res.exit_code == 1
    assert "LEAKS" in res.output


def test_store_without_images_is_refused(tmp_path: Path) -> None:
    from harmonize.errors import StoreError
    from harmonize.pipeline import run
    from harmonize.pipeline.config import config_from_dict

    rng = np.random.default_rng(2)
    _write_cpm17(tmp_path / "A", "train", "image_00", tissue(rng, 64))
    cfg = config_from_dict(
        {
            "name": "noimg",
            "ontology": "nuclei",
            "sources": [{"dataset": "cpm17", "root": str(tmp_path / "A")}],
            "output": {"path": str(tmp_path / "n.zarr"), "layers": ["semantic"]},
        }
    )
    report = run(cfg, workers=1, leakage=True)
    assert report.leakage == {"skipped": "the run wrote no image layer"}
    with pytest.raises(StoreError, match="image layer"):
        find_leakage(str(tmp_path / "n.zarr"))


def test_cli_run_leakage_flag(store_run, tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from harmonize.cli import app

    _, path = store_run
    root = path.parent
    cfg = {
        "name": "flagged",
        "ontology": "nuclei",
        "sources": [
            {"dataset": "cpm17", "root": str(root / "A"), "name": "cpm-a"},
            {"dataset": "cpm17", "root": str(root / "B"), "name": "cpm-b"},
        ],
        "output": {"path": str(tmp_path / "flagged.zarr")},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(app, ["run", str(tmp_path / "c.yaml"), "-j", "1", "--json"])
    assert res.exit_code == 0, res.output
    assert "leakage" not in json.loads(res.output)  # off unless asked for
    res = CliRunner().invoke(
        app, ["run", str(tmp_path / "c.yaml"), "-j", "1", "--json", "--overwrite", "--leakage"]
    )
    assert res.exit_code == 0, res.output
    assert _ids(json.loads(res.output)["leakage"]["leaks"]) == STORE_EXPECTED


# ------------------------------------------------------------------------------------------------
# the candidate gates (image cap, densest vote cell, consistent-vote fraction, 3-scale NCC
# pre-check) lose no pair
# ------------------------------------------------------------------------------------------------
def test_gates_find_the_same_pairs_as_the_ungated_search(monkeypatch) -> None:
    import functools

    import harmonize.leakage.check as check_mod

    rng = np.random.default_rng(44)
    t = [tissue(rng) for _ in range(6)]
    imgs = [(ref("a", "train", f"t{k}"), x) for k, x in enumerate(t)]
    imgs += [
        (ref("b", "train", "crop"), jpeg(t[0][20:100, 8:88])),
        (ref("b", "train", "half"), resize(t[1], 0.5)),
        (ref("b", "test", "rescaled"), jpeg(resize(t[2], 0.8, Image.Resampling.BICUBIC))),
        (ref("b", "test", "near"), jpeg(t[3], 60)),
        (ref("b", "test", "plain"), plain(rng)),
    ]
    gated = pairs_of(find_duplicates(imgs))
    monkeypatch.setattr(check_mod, "verify", functools.partial(check_mod.verify, gate=-1.0))
    ungated = pairs_of(
        find_duplicates(imgs, LeakageParams(min_consistent=0.0, max_images=0, min_cell_votes=1))
    )
    assert set(gated) == set(ungated)
    want = {frozenset(p) for p in (("t0", "crop"), ("t1", "half"), ("t2", "rescaled"))}
    assert want | {frozenset(("t3", "near"))} <= set(gated)
    for k in gated:
        assert gated[k].kind == ungated[k].kind
        assert abs(gated[k].score - ungated[k].score) < 1e-6


# ------------------------------------------------------------------------------------------------
# the indexed candidate search against a brute-force all-pairs reference
# ------------------------------------------------------------------------------------------------
def _near_threshold_hashes(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A few hundred 63-bit hashes, sorted by image: random ones, and copies of some with
    0-3 and 11-14 bits flipped, either spread over the hash or all in one 16-bit band."""
    base = rng.integers(0, 1 << 63, 240, dtype=np.uint64)
    out = list(base)
    for k, h in enumerate(base[:120]):
        flips = [0, 1, 2, 3, 11, 12, 13, 14][k % 8]
        if k % 3 == 0:  # concentrated: all flips inside one band (of either layout)
            lo = int(rng.integers(0, 4)) * 16
            bits = rng.choice(np.arange(lo, min(lo + 16, 63)), min(flips, 15), replace=False)
        else:
            bits = rng.choice(63, flips, replace=False)
        mask = np.uint64(0)
        for b in bits:
            mask |= np.uint64(1) << np.uint64(int(b))
        out.append(np.uint64(h ^ mask))
    for h in base[200:210]:  # values in 3-4 windows: buckets the tight caps drop
        out += [h] * int(rng.integers(2, 4))
    hashes = np.array(out, np.uint64)
    image = rng.integers(0, 40, len(hashes))
    order = np.argsort(image, kind="stable")
    return hashes[order], image[order]


def _brute_force(
    hashes: np.ndarray,
    image: np.ndarray,
    bands: list[tuple[int, int]],
    max_hamming: int,
    max_bucket: int,
    max_images: int,
    probe: frozenset[int] = frozenset(),
) -> set[tuple[int, int]]:
    """Every pair of windows of different images, checked one by one in plain Python.

    A pair is found when a band agrees exactly and its value is within the caps, or when one of
    the two windows is probed, a band differs in one bit and the other window's value is held by
    at most ``min(max_bucket, max_images)`` windows."""
    hs = [int(h) for h in hashes]
    ims = [int(i) for i in image]
    cap = min(max_bucket, max_images) if max_images else max_bucket
    usable = []  # per band: the values whose bucket is within the caps
    counts = []  # per band: windows a value
    for lo, width in bands:
        windows: dict[int, int] = {}
        images: dict[int, set[int]] = {}
        for h, im in zip(hs, ims, strict=True):
            key = (h >> lo) & ((1 << width) - 1)
            windows[key] = windows.get(key, 0) + 1
            images.setdefault(key, set()).add(im)
        usable.append(
            {
                key
                for key in windows
                if windows[key] <= max_bucket and (not max_images or len(images[key]) <= max_images)
            }
        )
        counts.append(windows)
    out = set()
    for i in range(len(hs)):
        for j in range(i + 1, len(hs)):
            if ims[i] == ims[j] or bin(hs[i] ^ hs[j]).count("1") > max_hamming:
                continue
            for (lo, width), ok, windows in zip(bands, usable, counts, strict=True):
                ki = (hs[i] >> lo) & ((1 << width) - 1)
                kj = (hs[j] >> lo) & ((1 << width) - 1)
                exact = ki == kj and ki in ok
                probed = bin(ki ^ kj).count("1") == 1 and (
                    (i in probe and windows[kj] <= cap) or (j in probe and windows[ki] <= cap)
                )
                if exact or probed:
                    out.add((i, j))
                    break
    return out


@pytest.mark.parametrize("many", [False, True], ids=["4x16-bit bands", "2x32-bit bands"])
@pytest.mark.parametrize("caps", [(256, 0), (3, 2)], ids=["no caps", "tight caps"])
@pytest.mark.parametrize("probed", [False, True], ids=["no probe", "probe"])
def test_window_matches_equal_a_brute_force_search(
    monkeypatch, many: bool, caps, probed: bool
) -> None:
    import harmonize.leakage.match as match_mod

    if many:  # the layout of large collections, without hashing a million windows
        monkeypatch.setattr(match_mod, "MANY_WINDOWS", 0)
    rng = np.random.default_rng(12)
    hashes, image = _near_threshold_hashes(rng)
    bands = match_mod.band_layout(len(hashes))
    assert [w for _, w in bands] == ([32, 31] if many else [16, 16, 16, 15])
    max_bucket, max_images = caps
    # the windows of every third image are probed (as small images' windows are)
    probe = np.flatnonzero(image % 3 == 0) if probed else None
    probe_set = frozenset(probe.tolist()) if probed else frozenset()
    for max_hamming in (3, 12):
        u, v = match_mod.window_matches(
            hashes,
            image,
            max_hamming=max_hamming,
            max_bucket=max_bucket,
            max_images=max_images,
            probe=probe,
        )
        got = set(zip(u.tolist(), v.tolist(), strict=True))
        assert len(got) == len(u)  # each pair once
        want = _brute_force(hashes, image, bands, max_hamming, max_bucket, max_images, probe_set)
        assert got == want
        if caps != (256, 0):  # the caps bite
            assert want < _brute_force(hashes, image, bands, max_hamming, 256, 0, probe_set)
        if probed and many:  # probing finds more than two exact bands alone
            assert want > _brute_force(hashes, image, bands, max_hamming, max_bucket, max_images)
        if caps == (256, 0):
            # pigeonhole: within (bands - 1) bits some band agrees exactly; with a probed window,
            # within (2 * bands - 1) bits some band differs in at most one
            d = np.bitwise_count(hashes[:, None] ^ hashes[None, :])
            reach = np.where(
                np.isin(np.arange(len(hashes)), list(probe_set)), 2 * len(bands) - 1, len(bands) - 1
            )
            reach = np.maximum(reach[:, None], reach[None, :])
            close = {
                (i, j)
                for i, j in zip(*np.nonzero(d <= np.minimum(max_hamming, reach)), strict=True)
                if i < j and image[i] != image[j]
            }
            assert close <= got
            assert len(close) > 10
    # the near-threshold copies: 11-14 flipped bits sit on both sides of max_hamming = 12
    d = np.bitwise_count(hashes[u] ^ hashes[v])
    assert d.max() <= 12


def test_vote_cells_equal_a_counter() -> None:
    from collections import Counter

    from harmonize.leakage.match import vote_cells

    rng = np.random.default_rng(5)
    pair = rng.integers(0, 30, 2000)
    sbin = rng.integers(-2, 3, 2000)
    obin = rng.integers(-3, 4, (2000, 2))
    pairs, matches, densest = vote_cells(pair, sbin, obin)
    cells = Counter(
        zip(pair.tolist(), sbin.tolist(), obin[:, 0].tolist(), obin[:, 1].tolist(), strict=True)
    )
    per_pair = Counter(pair.tolist())
    assert pairs.tolist() == sorted(per_pair)
    assert matches.tolist() == [per_pair[p] for p in sorted(per_pair)]
    assert densest.tolist() == [
        max(c for key, c in cells.items() if key[0] == p) for p in sorted(per_pair)
    ]


def test_a_crop_is_verified_when_few_grid_votes_pull_the_scale_fit_off() -> None:
    # A 128-px crop of a 256-px tile at (82, 107), matched by 6 windows (the case that was missed
    # at 2,000 tiles): window centres sit on a 4-px grid in both images, so the matched offsets
    # are 80 or 84 (rows) and 104 or 108 (cols), and here the row offset happens to grow with the
    # row. The least-squares scale is pulled off 1 by that; verification must still find the crop.
    from harmonize.leakage.hashing import WindowHashes
    from harmonize.leakage.match import Transform, estimate_transform, verify

    rng = np.random.default_rng(5)
    a = tissue(rng, 256)
    b = a[82:210, 107:235]
    # grid positions (row, col) of the matched windows in a; b's are a's minus the grid offset
    pa = np.array([[36, 43], [38, 36], [39, 42], [28, 41], [29, 36], [29, 44]])
    shift = np.array([[21, 27], [21, 27], [21, 27], [20, 26], [20, 26], [20, 26]])
    pb = pa - shift

    def table(pos: np.ndarray) -> WindowHashes:
        n = len(pos)
        return WindowHashes(
            np.zeros(n, np.uint64),
            np.zeros(n, np.uint8),
            pos.astype(np.uint16),
            np.ones(1, np.float32),
        )

    wa, wb, idx = table(pa), table(pb), np.arange(len(pa))
    t = estimate_transform(wa, idx, wb, idx, levels_per_octave=4, cell=8.0, min_votes=4)
    assert t is not None and t.votes == 6
    assert abs(np.log2(t.scale)) > 1 / 32  # the fit is off (else this test shows nothing)
    assert t.vote_scale == 1.0  # every vote says scale 1
    centres = pa * 4 + 16.0  # window centre, pixel-edge coordinates
    np.testing.assert_allclose(t.anchor, centres.mean(axis=0), atol=1e-3)

    got = verify(
        a.mean(-1) / 255, 1.0, b.mean(-1) / 255, 1.0, t, shape_a=a.shape[:2], shape_b=b.shape[:2]
    )
    assert got is not None and got.score > 0.99
    assert got.scale == pytest.approx(1.0)
    np.testing.assert_allclose(got.offset, (-82.0, -107.0), atol=0.5)
    # without the anchor and the vote scale (what verification had before), it is not found
    bare = Transform(t.scale, t.offset, t.votes)
    old = verify(
        a.mean(-1) / 255, 1.0, b.mean(-1) / 255, 1.0, bare, shape_a=a.shape[:2], shape_b=b.shape[:2]
    )
    assert old is None or old.score < 0.8


def test_probing_finds_small_crops_the_two_long_bands_miss(monkeypatch) -> None:
    """Large collections search two 32-bit bands; a 96-px crop off the hash grid shares few
    windows with its tile, most differing in a few bits over both bands. Probing the small
    image's band values at one bit (``probe_below``) finds every crop; without it some are lost."""
    import harmonize.leakage.match as match_mod

    monkeypatch.setattr(match_mod, "MANY_WINDOWS", 0)  # the layout of 8,000 tiles
    found, unprobed = 0, 0
    for seed in range(6):
        rng = np.random.default_rng(300 + seed)
        a = tissue(rng, 256)
        y, x = (int(v) | 1 for v in rng.integers(1, 127, 2))  # odd: off the 4-px grid
        crop = jpeg(a[y : y + 96, x : x + 96])
        m = _found(a, crop)
        if m is not None and m.kind == "crop":
            np.testing.assert_allclose(m.offset, (y, x), atol=1.0)
            found += 1
        unprobed += _found(a, crop, LeakageParams(probe_below=0)) is not None
    assert found == 6
    assert unprobed < found
