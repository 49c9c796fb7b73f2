"""COCO panoptic 2017 look-alike: ``annotations/panoptic_{train2017,val2017}.json``, the RGB
segment-id PNGs in ``annotations/panoptic_{split}/`` and the images in ``{split}/``.

The format and its reader: :mod:`harmonize.datasets.coco_panoptic`. As in the release, a stuff
segment's colour is its category's colour and a thing segment's colour is its category's colour
or, once that is taken in the image, a random colour near it (panopticapi ``IdGenerator``); the
segment id is ``rgb2id`` of the colour. ``segments_info`` carries ``id``, ``category_id``,
``iscrowd``, ``bbox`` (x, y, w, h) and ``area``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.coco_panoptic import SPLITS, THING_IDS, id2rgb, rgb2id
from harmonize.lookalike._draw import scene_image, write_rgb

__all__ = ["synthesize"]

#: panoptic_coco_categories.json (cocodataset/panopticapi 7bb4655): id|name|isthing|color|super.
_CATEGORY_TABLE = """\
1|person|1|220,20,60|person
2|bicycle|1|119,11,32|vehicle
3|car|1|0,0,142|vehicle
4|motorcycle|1|0,0,230|vehicle
5|airplane|1|106,0,228|vehicle
6|bus|1|0,60,100|vehicle
7|train|1|0,80,100|vehicle
8|truck|1|0,0,70|vehicle
9|boat|1|0,0,192|vehicle
10|traffic light|1|250,170,30|outdoor
11|fire hydrant|1|100,170,30|outdoor
13|stop sign|1|220,220,0|outdoor
14|parking meter|1|175,116,175|outdoor
15|bench|1|250,0,30|outdoor
16|bird|1|165,42,42|animal
17|cat|1|255,77,255|animal
18|dog|1|0,226,252|animal
19|horse|1|182,182,255|animal
20|sheep|1|0,82,0|animal
21|cow|1|120,166,157|animal
22|elephant|1|110,76,0|animal
23|bear|1|174,57,255|animal
24|zebra|1|199,100,0|animal
25|giraffe|1|72,0,118|animal
27|backpack|1|255,179,240|accessory
28|umbrella|1|0,125,92|accessory
31|handbag|1|209,0,151|accessory
32|tie|1|188,208,182|accessory
33|suitcase|1|0,220,176|accessory
34|frisbee|1|255,99,164|sports
35|skis|1|92,0,73|sports
36|snowboard|1|133,129,255|sports
37|sports ball|1|78,180,255|sports
38|kite|1|0,228,0|sports
39|baseball bat|1|174,255,243|sports
40|baseball glove|1|45,89,255|sports
41|skateboard|1|134,134,103|sports
42|surfboard|1|145,148,174|sports
43|tennis racket|1|255,208,186|sports
44|bottle|1|197,226,255|kitchen
46|wine glass|1|171,134,1|kitchen
47|cup|1|109,63,54|kitchen
48|fork|1|207,138,255|kitchen
49|knife|1|151,0,95|kitchen
50|spoon|1|9,80,61|kitchen
51|bowl|1|84,105,51|kitchen
52|banana|1|74,65,105|food
53|apple|1|166,196,102|food
54|sandwich|1|208,195,210|food
55|orange|1|255,109,65|food
56|broccoli|1|0,143,149|food
57|carrot|1|179,0,194|food
58|hot dog|1|209,99,106|food
59|pizza|1|5,121,0|food
60|donut|1|227,255,205|food
61|cake|1|147,186,208|food
62|chair|1|153,69,1|furniture
63|couch|1|3,95,161|furniture
64|potted plant|1|163,255,0|furniture
65|bed|1|119,0,170|furniture
67|dining table|1|0,182,199|furniture
70|toilet|1|0,165,120|furniture
72|tv|1|183,130,88|electronic
73|laptop|1|95,32,0|electronic
74|mouse|1|130,114,135|electronic
75|remote|1|110,129,133|electronic
76|keyboard|1|166,74,118|electronic
77|cell phone|1|219,142,185|electronic
78|microwave|1|79,210,114|appliance
79|oven|1|178,90,62|appliance
80|toaster|1|65,70,15|appliance
81|sink|1|127,167,115|appliance
82|refrigerator|1|59,105,106|appliance
84|book|1|142,108,45|indoor
85|clock|1|196,172,0|indoor
86|vase|1|95,54,80|indoor
87|scissors|1|128,76,255|indoor
88|teddy bear|1|201,57,1|indoor
89|hair drier|1|246,0,122|indoor
90|toothbrush|1|191,162,208|indoor
92|banner|0|255,255,128|textile
93|blanket|0|147,211,203|textile
95|bridge|0|150,100,100|building
100|cardboard|0|168,171,172|raw-material
107|counter|0|146,112,198|furniture-stuff
109|curtain|0|210,170,100|textile
112|door-stuff|0|92,136,89|furniture-stuff
118|floor-wood|0|218,88,184|floor
119|flower|0|241,129,0|plant
122|fruit|0|217,17,255|food-stuff
125|gravel|0|124,74,181|ground
128|house|0|70,70,70|building
130|light|0|255,228,255|furniture-stuff
133|mirror-stuff|0|154,208,0|furniture-stuff
138|net|0|193,0,92|structural
141|pillow|0|76,91,113|textile
144|platform|0|255,180,195|ground
145|playingfield|0|106,154,176|ground
147|railroad|0|230,150,140|ground
148|river|0|60,143,255|water
149|road|0|128,64,128|ground
151|roof|0|92,82,55|building
154|sand|0|254,212,124|ground
155|sea|0|73,77,174|water
156|shelf|0|255,160,98|furniture-stuff
159|snow|0|255,255,255|ground
161|stairs|0|104,84,109|furniture-stuff
166|tent|0|169,164,131|building
168|towel|0|225,199,255|textile
171|wall-brick|0|137,54,74|wall
175|wall-stone|0|135,158,223|wall
176|wall-tile|0|7,246,231|wall
177|wall-wood|0|107,255,200|wall
178|water-other|0|58,41,149|water
180|window-blind|0|183,121,142|window
181|window-other|0|255,73,97|window
184|tree-merged|0|107,142,35|plant
185|fence-merged|0|190,153,153|structural
186|ceiling-merged|0|146,139,141|ceiling
187|sky-other-merged|0|70,130,180|sky
188|cabinet-merged|0|134,199,156|furniture-stuff
189|table-merged|0|209,226,140|furniture-stuff
190|floor-other-merged|0|96,36,108|floor
191|pavement-merged|0|96,96,96|ground
192|mountain-merged|0|64,170,64|solid
193|grass-merged|0|152,251,152|plant
194|dirt-merged|0|208,229,228|ground
195|paper-merged|0|206,186,171|raw-material
196|food-other-merged|0|152,161,64|food-stuff
197|building-other-merged|0|116,112,0|building
198|rock-merged|0|0,114,143|solid
199|wall-other-merged|0|102,102,156|wall
200|rug-merged|0|250,141,255|textile
"""
_CATEGORIES: list[dict[str, Any]] = [
    {
        "supercategory": sup,
        "color": [int(x) for x in col.split(",")],
        "isthing": int(thing),
        "id": int(cid),
        "name": name,
    }
    for cid, name, thing, col, sup in (ln.split("|") for ln in _CATEGORY_TABLE.splitlines())
]
_BY_ID = {c["id"]: c for c in _CATEGORIES}
_SKY, _GROUND, _STUFF = (187, 186), (149, 191, 193, 154, 190), (184, 197, 128, 199, 155, 92)
_THINGS = (1, 2, 3, 18, 44, 62, 64, 67, 72)


def _segment_colour(
    rng: np.random.Generator, cat: int, taken: set[tuple[int, int, int]]
) -> tuple[int, int, int]:
    """A segment colour as panopticapi's IdGenerator picks it: the category colour for stuff and
    for the first thing of a category, else a free colour within +-30 of it."""
    r, g, b = (int(v) for v in _BY_ID[cat]["color"])
    base = (r, g, b)
    if cat not in THING_IDS or base not in taken:
        taken.add(base)
        return base
    while True:
        r, g, b = (int(v) for v in np.clip(np.array(base) + rng.integers(-30, 31, 3), 0, 255))
        c = (r, g, b)
        if c not in taken:
            taken.add(c)
            return c


def _layout(
    rng: np.random.Generator, h: int, w: int, kind: str
) -> list[tuple[int, int, np.ndarray]]:
    """The segments of one image as (category, iscrowd, mask), painted in order (later on top);
    masks are made disjoint by the caller."""
    yy, xx = np.mgrid[:h, :w]
    segs: list[tuple[int, int, np.ndarray]] = []
    if kind == "void":
        return segs
    if kind == "every":  # one block per category, in a grid (every declared value occurs)
        cols = int(np.ceil(np.sqrt(len(_CATEGORIES))))
        for k, c in enumerate(_CATEGORIES):
            r, q = divmod(k, cols)
            m = (yy // max(1, h // cols) == r) & (xx // max(1, w // cols) == q)
            segs.append((c["id"], 0, m))
        return segs
    horizon = int(h * rng.uniform(0.3, 0.5))
    segs.append((int(rng.choice(_SKY)), 0, yy < horizon))
    segs.append((int(rng.choice(_GROUND)), 0, yy >= horizon))
    for _ in range(int(rng.integers(1, 3))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        rad = rng.uniform(0.1, 0.2) * min(h, w)
        segs.append((int(rng.choice(_STUFF)), 0, (yy - cy) ** 2 + (xx - cx) ** 2 < rad * rad))
    for _ in range(int(rng.integers(2, 5))):
        y0, x0 = int(rng.integers(0, h - 4)), int(rng.integers(0, w - 4))
        dy, dx = int(rng.integers(3, max(4, h // 3))), int(rng.integers(3, max(4, w // 3)))
        m = (yy >= y0) & (yy < y0 + dy) & (xx >= x0) & (xx < x0 + dx)
        segs.append((int(rng.choice(_THINGS)), 0, m))
    if kind == "crowd":  # a crowd of people drawn as one region
        segs.append((1, 1, (yy >= h // 2) & (xx < w // 3)))
    if kind == "touching":  # two cars side by side, one segment each
        band = (yy >= h // 3) & (yy < h // 3 + max(2, h // 5))
        segs.append((3, 0, band & (xx >= w // 4) & (xx < w // 2)))
        segs.append((3, 0, band & (xx >= w // 2) & (xx < 3 * w // 4)))
    return segs


def _paint(
    rng: np.random.Generator, h: int, w: int, kind: str
) -> tuple[np.ndarray, list[dict[str, Any]], np.ndarray, np.ndarray, dict[int, int]]:
    """Segment-id map, segments_info, and the truth: semantic, instance map, instance classes."""
    ids = np.zeros((h, w), np.uint32)
    taken: set[tuple[int, int, int]] = set()
    cats: dict[int, tuple[int, int]] = {}
    for cat, crowd, mask in _layout(rng, h, w, kind):
        if not mask.any():
            continue
        sid = rgb2id(np.array([[_segment_colour(rng, cat, taken)]], np.uint8))[0, 0]
        ids[mask] = sid
        cats[int(sid)] = (cat, crowd)
    void = int(rng.integers(0, 3)) if kind not in ("every", "void") else 0
    ids[:, :void] = 0  # a band nobody labelled (VOID)
    semantic = np.zeros((h, w), np.uint8)
    instance = np.zeros((h, w), np.int32)
    info: list[dict[str, Any]] = []
    classes: dict[int, int] = {}
    for sid in np.unique(ids).tolist():
        if sid == 0:
            continue
        cat, crowd = cats[sid]
        m = ids == sid
        ys, xs = np.nonzero(m)
        x0, y0 = int(xs.min()), int(ys.min())
        bbox = [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1]
        info.append(
            {"id": sid, "category_id": cat, "iscrowd": crowd, "bbox": bbox, "area": int(m.sum())}
        )
        semantic[m] = cat
        if cat in THING_IDS and not crowd:
            instance[m] = sid
            classes[sid] = cat
    order = rng.permutation(len(info))  # segments_info is not sorted by id in the release
    return ids, [info[k] for k in order], semantic, instance, classes


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (48, 64),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a COCO panoptic 2017 look-alike under ``out``.

    Parameters
    ----------
    out : path-like
        Dataset root to create.
    n : int
        Images in train2017 (val2017 gets ``ceil(n / 2)``).
    seed : int
        Output bytes are identical for a seed.
    size : (int, int)
        Typical ``(H, W)``; sizes vary per image.
    edge_cases : bool
        Add an image with no segment (all VOID, empty ``segments_info``), one with odd height and
        width, one with a crowd segment (semantic, no instance), one with two touching cars, and
        one holding every one of the 133 categories.

    Returns
    -------
    SynthResult
        Truth in native values: semantic = category ids (0 VOID), instances = non-crowd things.
    """
    root = Path(out)
    rng = np.random.default_rng(seed)
    counts = {"train2017": n, "val2017": -(-n // 2)}
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    image_id = 100
    for split in SPLITS:
        images, annotations = [], []
        kinds = ["plain"] * counts[split]
        if edge_cases and split == "train2017":
            kinds += ["void", "odd", "crowd", "touching", "every"]
        for kind in kinds:
            image_id += int(rng.integers(1, 50))
            h = int(size[0] + rng.integers(-size[0] // 4, size[0] // 4 + 1))
            w = int(size[1] + rng.integers(-size[1] // 4, size[1] // 4 + 1))
            if kind == "odd":
                h, w = h | 1, w | 1
            if kind == "every":
                h, w = max(h, 60), max(w, 60)
            ids, info, semantic, instance, classes = _paint(rng, h, w, kind)
            stem = f"{image_id:012d}"
            png = root / "annotations" / f"panoptic_{split}" / f"{stem}.png"
            write_rgb(png, id2rgb(ids))
            colours = np.array([[128, 128, 128]] * 256, np.uint8)
            for c in _CATEGORIES:
                colours[c["id"]] = c["color"]
            write_rgb(root / split / f"{stem}.jpg", scene_image(rng, semantic, colours))
            images.append(
                {
                    "license": 1,
                    "file_name": f"{stem}.jpg",
                    "coco_url": "",
                    "height": h,
                    "width": w,
                    "date_captured": "2013-11-14 17:02:52",
                    "flickr_url": "",
                    "id": image_id,
                }
            )
            annotations.append(
                {"segments_info": info, "file_name": f"{stem}.png", "image_id": image_id}
            )
            samples[stem] = SynthTruth(
                sample_id=stem,
                split=split,
                semantic=semantic,
                instance=instance,
                instance_classes=classes,
                image_shape=(h, w),
                meta={"image_id": image_id},
            )
            if kind != "plain":
                quirks.setdefault(kind, []).append(str(png))
        doc = {
            "info": {
                "description": "COCO 2017 panoptic (look-alike written by harmonize)",
                "url": "http://cocodataset.org",
                "version": "1.0",
                "year": 2017,
                "contributor": "COCO Consortium",
                "date_created": "2017/09/01",
            },
            "licenses": [{"url": "", "id": 1, "name": "Attribution License"}],
            "images": images,
            "annotations": annotations,
            "categories": _CATEGORIES,
        }
        p = root / "annotations" / f"panoptic_{split}.json"
        p.write_text(json.dumps(doc), encoding="utf-8")
    return SynthResult("coco_panoptic", root, samples, quirks=quirks)
