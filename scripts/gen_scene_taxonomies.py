#!/usr/bin/env python
"""Generate the scene taxonomy YAML files from the reference tables and the scene design below.

Usage (from the repository root)::

    .venv/bin/python scripts/gen_scene_taxonomies.py [--reference PATH] [--out taxonomies] [--check]

What it writes (the YAML files are the source of truth; this script only saves typing the long
tables and keeps them consistent with each other):

* ``datasets/{cityscapes,citypersons,pascal_voc,coco_stuff}.yaml``
* ``ontologies/{cityscapes-19,coco-stuff-171,scene}.yaml``
* ``mappings/{cityscapes__cityscapes-19,cityscapes__scene,pascal_voc__scene,
  coco_stuff__coco-stuff-171,coco_stuff__scene}.yaml``

Inputs: the class tables of ``scene_datasets.md`` (default ``../shared/reference/scene_datasets.md``
next to the repository): Cityscapes §1.2 (labels.py), VOC §2.2, COCO-Stuff §3.3, MSeg §4.2/§4.4
(cross-references only). CityPersons' six labels (§1.8, colours from cityscapesScripts
``helpers/labels_cityPersons.py``) and the scene ontology design are written out in this file.

Re-running is safe: scene node ids are kept for every node name already present in
``ontologies/scene.yaml``; new nodes get fresh ids (never a reused one), so ids stay stable. If you
edit a generated YAML by hand, make the same change here (or stop using the generator for that
file); ``--check`` exits 1 when the files on disk differ from what the script would write.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference" / "scene_datasets.md"
REF = "scene_datasets.md"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same results

# ------------------------------------------------------------------------------------------------
# Reference parsing
# ------------------------------------------------------------------------------------------------


def _section(text: str, heading: str) -> str:
    """Return the body of the markdown section whose heading starts with ``heading``."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(heading))
    level = len(heading.split(" ")[0])
    end = len(lines)
    for j in range(start + 1, len(lines)):
        if lines[j].startswith("#") and len(lines[j].split(" ")[0]) <= level:
            end = j
            break
    return "\n".join(lines[start + 1 : end])


def _table_rows(section: str) -> list[list[str]]:
    """Data rows (cells stripped) of every markdown table in ``section``, header rows excluded."""
    rows: list[list[str]] = []
    header_next = False
    for line in section.splitlines():
        if not line.startswith("|"):
            header_next = False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= set("-: "):
            header_next = True
            continue
        if not header_next:
            continue  # the header row itself (comes before the --- row)
        rows.append(cells)
    return rows


def _rgb(cell: str) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in re.findall(r"-?\d+", cell))
    return (r, g, b)


@dataclass(frozen=True)
class CsLabel:
    name: str
    id: int
    train_id: int
    category: str
    cat_id: int
    has_instances: bool
    ignore_in_eval: bool
    color: tuple[int, int, int]


@dataclass(frozen=True)
class CocoClass:
    id: int
    name: str
    thing: bool | None
    png: int
    train_id: int | None  # None = unused (no mmseg trainId); 255 for unlabeled
    coarse: str | None


def parse_reference(text: str) -> dict[str, Any]:
    """Parse the class tables of ``scene_datasets.md`` into plain records."""
    cs = [
        CsLabel(
            name=r[0],
            id=int(r[1]),
            train_id=int(r[2]),
            category=r[3],
            cat_id=int(r[4]),
            has_instances=r[5] == "True",
            ignore_in_eval=r[6] == "True",
            color=_rgb(r[7]),
        )
        for r in _table_rows(_section(text, "### 1.2"))
    ]
    voc = [
        (int(r[0]), r[1], _rgb(r[2]))
        for r in _table_rows(_section(text, "### 2.2"))
        if r[0].isdigit() and int(r[0]) <= 20
    ]
    coco: list[CocoClass] = []
    for r in _table_rows(_section(text, "### 3.3")):
        if not r[0].isdigit() or len(r) != 7:
            continue
        tid = r[4]
        coco.append(
            CocoClass(
                id=int(r[0]),
                name=r[1],
                thing={"thing": True, "stuff": False}.get(r[2]),
                png=int(r[3]),
                train_id=int(tid) if tid.isdigit() else None,
                coarse=None if r[6] in ("—", "-") else r[6],
            )
        )
    mseg_coco: dict[int, tuple[str, str, int]] = {}
    for r in _table_rows(_section(text, "### 4.4")):
        if r[0].isdigit() and len(r) == 5:
            mseg_coco[int(r[0])] = (r[2], r[3], int(r[4]))
    return {"cityscapes": cs, "voc": voc, "coco": coco, "mseg_coco": mseg_coco}


# ------------------------------------------------------------------------------------------------
# Colours
# ------------------------------------------------------------------------------------------------


def label_colormap(index: int) -> tuple[int, int, int]:
    """PASCAL VOC ``VOClabelcolormap`` colour of ``index`` (bit-interleaving; any index < 2**24)."""
    r = g = b = 0
    c = index
    for j in range(8):
        r |= ((c >> 0) & 1) << (7 - j)
        g |= ((c >> 1) & 1) << (7 - j)
        b |= ((c >> 2) & 1) << (7 - j)
        c >>= 3
    return (r, g, b)


# ------------------------------------------------------------------------------------------------
# YAML output
# ------------------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Safe dumper that indents block sequences under their key (``key:\n  - item``)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _list_repr(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(isinstance(v, (int, float, str)) for v in data) and len(data) <= 4
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _dict_repr(dumper: yaml.SafeDumper, data: dict) -> yaml.Node:
    flow = bool(data) and all(isinstance(v, (int, float, bool)) for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _tuple_repr(dumper: yaml.SafeDumper, data: tuple) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(data), flow_style=True)


def _str_repr(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = ">" if len(data) > 80 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(list, _list_repr)
_Dumper.add_representer(dict, _dict_repr)
_Dumper.add_representer(tuple, _tuple_repr)
_Dumper.add_representer(str, _str_repr)


def _reflow(raw: list[str], width: int) -> list[str]:
    """Re-wrap comment paragraphs and bullets (``- ...`` with indented continuations) to ``width``."""
    blocks: list[tuple[str, str, list[str]]] = []  # (first indent, continuation indent, words)
    for ln in raw:
        text = ln.strip()
        lead = " " * (len(ln) - len(ln.lstrip()))
        cont = blocks[-1][1] if blocks and blocks[-1][2] else None
        if not text:
            blocks.append(("", "", []))
        elif text.startswith("- ") or cont is None or lead != cont:
            blocks.append((lead, lead + ("  " if text.startswith("- ") else ""), text.split()))
        else:
            blocks[-1][2].extend(text.split())
    out: list[str] = []
    for first, cont, words in blocks:
        if not words:
            out.append("")
            continue
        out.extend(
            textwrap.wrap(
                " ".join(words),
                width=width,
                initial_indent=first,
                subsequent_indent=cont,
                break_on_hyphens=False,
                break_long_words=False,
            )
        )
    return out


def dump(header: str, doc: dict[str, Any]) -> str:
    """YAML text: ``header`` as a comment block, then ``doc`` (keys in insertion order)."""
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=86, allow_unicode=True)
    lines = _reflow(header.strip("\n").splitlines(), width=98)
    comment = "\n".join(("# " + ln).rstrip() for ln in lines)
    return comment + "\n" + body


def _drop_none(d: dict[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """``d`` without None / empty values, except for the keys in ``keep``."""
    return {k: v for k, v in d.items() if k in keep or (v is not None and v != {} and v != [])}


# ------------------------------------------------------------------------------------------------
# Dataset taxonomies
# ------------------------------------------------------------------------------------------------

CS_HEADER = f"""
Cityscapes (fine and coarse annotations): all 34 label ids of labels.py plus license plate (-1).

Sources:
  - /work/shared/reference/{REF} §1.2 (labels.py table, verbatim), §1.3 (PNG encodings and
    instanceIds id*1000+k), §1.4 (polygon JSON), §1.5 (rasterisation).
  - mcordts/cityscapesScripts cityscapesscripts/helpers/labels.py (commit 0bcc4a7, version 2.2.4),
    preparation/json2labelImg.py, preparation/json2instanceImg.py, helpers/annotation.py.
  - tests/taxonomy/test_scene_taxonomies.py compares this file field by field with the installed
    cityscapesscripts.helpers.labels.

Roles: id 0 `unlabeled` is role unlabeled (the background value of every labelIds PNG). The other
void-category labels (ego vehicle, rectification border, out of roi, static, dynamic, ground) stay
role `class` with category `void`: labels.py defines them as ordinary labels that annotators draw
as polygons (ground, static and dynamic are real, if catch-all, scene content), and the mapping
files decide per ontology whether they become ignore, background or a node. license plate (-1) is
never drawn into any PNG (labels with id < 0 are skipped); its pixels stay those of the vehicle.

attributes: catId (labels.py categoryId), trainId (labels.py; 255 = not trained, -1 for license
plate), ignoreInEval. `instances` = labels.py hasInstances.
Generated by scripts/gen_scene_taxonomies.py from the reference tables.
"""


def cityscapes_taxonomy(cs: list[CsLabel]) -> dict[str, Any]:
    classes = []
    for lab in sorted(cs, key=lambda x: (x.id < 0, x.id)):
        classes.append(
            _drop_none(
                {
                    "id": lab.id,
                    "name": lab.name,
                    "color": lab.color,
                    "role": "unlabeled" if lab.id == 0 else None,
                    "instances": True if lab.has_instances else None,
                    "category": lab.category,
                    "attributes": {
                        "catId": lab.cat_id,
                        "trainId": lab.train_id,
                        "ignoreInEval": lab.ignore_in_eval,
                    },
                    "description": (
                        "Never drawn into any PNG (labels with id < 0 are skipped); annotated "
                        "only in the polygon JSON, inside the vehicle it belongs to."
                        if lab.id < 0
                        else None
                    ),
                }
            )
        )
    return {
        "kind": "dataset",
        "name": "cityscapes",
        "title": "Cityscapes",
        "version": 1,
        "description": (
            "Urban street scenes from 50 cities, 2048x1024 px. gtFine: 2975 train / 500 val / "
            "1525 test (test ships only ego vehicle and rectification border); gtCoarse adds "
            "19998 train_extra. 30 classes in 8 categories; 19 are evaluated (trainIds)."
        ),
        "url": "https://www.cityscapes-dataset.com",
        "license": "Cityscapes terms of use (non-commercial research) [U: not in the reference]",
        "reference": f"{REF} §1.2-§1.5; cityscapesScripts helpers/labels.py",
        "task": "panoptic",
        "encodings": [
            {
                "name": "labelids_png",
                "description": (
                    "gtFine/{split}/{city}/{stem}_gtFine_labelIds.png (and gtCoarse): 8-bit "
                    "grayscale (mode L), pixel = label id 0..33; background 0 (unlabeled). "
                    "license plate (-1) never occurs."
                ),
                "dtype": "uint8",
                "offset": 0,
                "instance": (
                    "Companion *_instanceIds.png, 16-bit grayscale (uint16): id*1000+k for pixels "
                    "of a hasInstances class drawn from an individual polygon (k = per-class "
                    "counter from 0 in JSON object order, so the first car is 26000; overdrawn "
                    "instances leave gaps); the plain class id (< 1000) for group polygons "
                    "(cargroup -> 26) and for classes without instances. Decode: label = v if "
                    "v < 1000 else v // 1000. Readers return values >= 1000 as instance ids "
                    "(native, e.g. 26001) and 0 elsewhere; groups (< 1000) are crowd regions."
                ),
            },
            {
                "name": "polygons_json",
                "description": (
                    "gtFine/{split}/{city}/{stem}_gtFine_polygons.json: {imgHeight, imgWidth, "
                    "objects: [{label, polygon: [[x, y], ...]}]}; `label` is the class name of "
                    "labels.py (file value = name, class id = name2label[name].id). A name "
                    "ending in 'group' that is not a label itself (cargroup, persongroup) is a "
                    "group of that class (suffix stripped); polegroup (18) is a real label. "
                    "Objects are painted in file order (last on top); deleted objects and "
                    "labels with id < 0 are skipped."
                ),
                "dtype": "str",
                "offset": 0,
                "instance": (
                    "Each non-group object of a hasInstances class is one instance; its index k "
                    "among the same class's objects gives instanceIds value id*1000+k."
                ),
            },
        ],
        "classes": classes,
    }


# CityPersons labels: helpers/labels_cityPersons.py (name, id, hasInstances, ignoreInEval, colour).
CITYPERSONS = [
    ("ignore", 0, False, True, (250, 170, 30)),
    ("pedestrian", 1, True, False, (220, 20, 60)),
    ("rider", 2, True, False, (0, 0, 142)),
    ("sitting person", 3, True, False, (107, 142, 35)),
    ("person (other)", 4, True, False, (190, 153, 153)),
    ("person group", 5, False, True, (255, 0, 0)),
]
CITYPERSONS_DESC = {
    0: "Ignore region: representations of humans (people on posters, reflections, ...).",
    1: "Pedestrian (walking or standing); `bbox` is an aligned full-body box.",
    2: "Rider (of a bicycle, motorbike, ...); `bbox` is an aligned full-body box.",
    3: "Sitting person; full box equals the visible box in the .mat release.",
    4: "Person in another or unusual posture; full box equals the visible box.",
    5: "Group of people not separable into individuals (crowd box); not evaluated.",
}

CP_HEADER = f"""
CityPersons: pedestrian bounding boxes on Cityscapes images (task: boxes; no pixel labels).

Sources:
  - /work/shared/reference/{REF} §1.8 (JSON inside Cityscapes, original .mat release, labels).
  - mcordts/cityscapesScripts cityscapesscripts/helpers/labels_cityPersons.py (names, ids,
    hasInstances, ignoreInEval and colours are copied from that file), helpers/annotation.py
    (CsBbox2d); cvgroup-njust/CityPersons annotations/README.txt (.mat `bbs` rows).

Label 0 (`ignore`) marks ignore regions, not people: role void. `person group` (5) is a crowd box:
a real class without instances that is not evaluated (ignoreInEval).
Boxes are (x, y, w, h) with (x, y) the top-left corner; `bbox` full body, `bboxVis` visible part.
`instanceId` in the JSON appears to be the matching Cityscapes instanceIds value (e.g. 24000)
[U] -- inferred from values, not documented (reference §1.8).
Generated by scripts/gen_scene_taxonomies.py.
"""


def citypersons_taxonomy() -> dict[str, Any]:
    classes = [
        _drop_none(
            {
                "id": i,
                "name": name,
                "color": color,
                "role": "void" if i == 0 else None,
                "instances": True if inst else None,
                "description": CITYPERSONS_DESC[i],
                "attributes": {"ignoreInEval": ign},
            }
        )
        for name, i, inst, ign, color in CITYPERSONS
    ]
    return {
        "kind": "dataset",
        "name": "citypersons",
        "title": "CityPersons",
        "version": 1,
        "description": (
            "Person boxes (full-body and visible) for the Cityscapes train/val images, one JSON "
            "per image in gtBboxCityPersons/{split}/{city}/ (or the original anno_*.mat)."
        ),
        "url": "https://github.com/cvgroup-njust/CityPersons",
        "license": "Cityscapes terms of use (non-commercial research) [U: not in the reference]",
        "reference": f"{REF} §1.8; cityscapesScripts helpers/labels_cityPersons.py",
        "task": "boxes",
        "encodings": [
            {
                "name": "gtbboxcitypersons_json",
                "description": (
                    "{stem}_gtBboxCityPersons.json: {imgHeight, imgWidth, objects: [{label, bbox: "
                    "[x, y, w, h], bboxVis: [x, y, w, h], instanceId}]}; `label` is the class "
                    "name (pedestrian, rider, sitting person, person (other), person group, "
                    "ignore)."
                ),
                "dtype": "str",
                "offset": 0,
                "instance": "One object = one box; instanceId links to Cityscapes instanceIds [U].",
            },
            {
                "name": "citypersons_mat",
                "description": (
                    "anno_{train,val}.mat (anno_train_aligned / anno_val_aligned): one cell per "
                    "image with cityname, im_name, bbs; bbs rows [class_label, x1, y1, w, h, "
                    "instance_id, x1_vis, y1_vis, w_vis, h_vis], class_label = class id 0..5."
                ),
                "dtype": "float64",
                "offset": 0,
                "instance": "One bbs row = one box; column 6 is the instance id.",
            },
        ],
        "classes": classes,
    }


VOC_HEADER = f"""
PASCAL VOC 2012 segmentation (+ SBD / "aug").

Sources:
  - /work/shared/reference/{REF} §2.2 (class order of VOCinit.m, palette colours), §2.3 (palette
    PNG, VOClabelcolormap), §2.4 (255 void band), §2.5 (SegmentationObject), §2.6 (SBD .mat).
  - VOC devkit VOCcode/VOCinit.m, VOCcode/VOClabelcolormap.m, VOCcode/VOCevalseg.m (as vendored in
    quantombone/exemplarsvm); torchvision datasets/sbd.py; mmsegmentation
    tools/dataset_converters/voc_aug.py; chainercv voc_utils.py.

Colours: VOClabelcolormap(256) of the class index (bit-interleaving, reference §2.3); the tests
recompute it. 255 is void (role void): a ~5 px band around objects [U: width not in the code] and
difficult regions; VOCevalseg.m ignores gt >= 255. 0 background is a real class in VOC (all 21
are scored) meaning "none of the 20 object classes" -- role background here.
Generated by scripts/gen_scene_taxonomies.py.
"""


def voc_taxonomy(voc: list[tuple[int, str, tuple[int, int, int]]]) -> dict[str, Any]:
    classes = []
    for i, name, _ in voc:
        classes.append(
            _drop_none(
                {
                    "id": i,
                    "name": name,
                    "color": label_colormap(i),
                    "role": "background" if i == 0 else None,
                    "instances": True if i > 0 else None,
                    "description": (
                        "Everything that is not one of the 20 object classes (roads, buildings, "
                        "sky, but also trucks, elephants, ...); scored like a class in VOC."
                        if i == 0
                        else None
                    ),
                }
            )
        )
    classes.append(
        {
            "id": 255,
            "name": "void",
            "color": label_colormap(255),
            "role": "void",
            "description": (
                "Object boundaries (a band of a few px) and difficult/ambiguous regions; "
                "excluded from evaluation (VOCevalseg.m counts gt < 255 only)."
            ),
        }
    )
    return {
        "kind": "dataset",
        "name": "pascal_voc",
        "title": "PASCAL VOC 2012 segmentation",
        "version": 1,
        "description": (
            "VOC2012 SegmentationClass / SegmentationObject (train 1464, val 1449) and the SBD "
            "augmented set (11355 images; trainaug = 10582). 20 object classes plus background."
        ),
        "url": "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/",
        "license": "Flickr terms of use for the images; annotations free for research [U: not in the reference]",
        "reference": f"{REF} §2.2-§2.6",
        "task": "panoptic",
        "encodings": [
            {
                "name": "segmentationclass_png",
                "description": (
                    "VOC2012/SegmentationClass/{id}.png: 8-bit palette PNG (mode P), pixel index "
                    "= class id (0 background, 1..20, 255 void); read indices with "
                    "np.asarray(Image.open(p)), never via RGB. SegmentationClassAug/{id}.png "
                    "(mmseg voc_aug.py) holds the same values in mode L."
                ),
                "dtype": "uint8",
                "offset": 0,
                "instance": (
                    "VOC2012/SegmentationObject/{id}.png (palette PNG): 0 background, 1..N object "
                    "index, 255 void; the class of an instance is SegmentationClass at its "
                    "pixels (chainercv). Numbering follows the XML object order [U]."
                ),
            },
            {
                "name": "sbd_mat",
                "description": (
                    "benchmark_RELEASE/dataset/cls/{id}.mat: GTcls.Segmentation, H x W uint8 class "
                    "map (0 background, 1..20; no 255 band [U])."
                ),
                "dtype": "uint8",
                "offset": 0,
                "instance": (
                    "benchmark_RELEASE/dataset/inst/{id}.mat: GTinst.Segmentation (0 background, "
                    "1..N instances) and GTinst.Categories (N x 1 class id per instance)."
                ),
            },
        ],
        "classes": classes,
    }


# COCO-Stuff supercategory names as the COCO JSON files spell them (things: instances_*.json;
# stuff: stuff_*.json). The reference's coarse column writes "rawmaterial" and "food"/"furniture"
# for both things and stuff; the stuff JSON names are "raw-material", "food-stuff",
# "furniture-stuff".
def coco_category(c: CocoClass) -> str | None:
    if c.coarse is None:
        return None
    if c.thing is False and c.coarse in ("food", "furniture"):
        return c.coarse + "-stuff"
    return {"rawmaterial": "raw-material"}.get(c.coarse, c.coarse)


COCO_HEADER = f"""
COCO-Stuff (164k stuffthingmaps and cocostuff-10k v1.1 .mat): 182 COCO category ids + unlabeled.

Sources:
  - /work/shared/reference/{REF} §3.2 (PNG values = id - 1, 255 unlabeled), §3.3 (labels.txt
    names and ids, the 11 unused thing ids, thing/stuff, supercategories), §3.4 (.mat `S`), §3.5.
  - nightrome/cocostuff labels.txt and labels.md (commit 876a7db), README.md; maintainer in
    nightrome/cocostuff issues #7, #17, #23 ("Caffe: 0-181 are valid classes");
    nightrome/cocostuff10k README.md, dataset/code/conversion/convertAnnotationsDeeplab.m.

Ids are the COCO category ids of labels.txt at 876a7db (1..182; 0 unlabeled) -- NOT PNG values:
stuffthingmaps PNG value = id - 1 and 255 = unlabeled (encoding `stuffthingmaps_png`, the default);
the 10k .mat `S` holds the ids themselves (encoding `cocostuff10k_mat`), and so does the stuff-only
JSON rasterized (encoding `stuff_json`, whose 183 'other' reads as unlabeled). labels.txt is not parsed
at run time (PR nightrome/cocostuff#31 changed its index space; final content unverified [U]).

Unused ids: 12 street sign, 26 hat, 29 shoe, 30 eye glasses, 45 plate, 66 mirror, 68 window,
69 desk, 71 door, 83 blender, 91 hair brush are COCO thing ids without any segmentation ("Removed
from COCO." in labels.md). They are declared (so a stray value is recognised, and the id space stays
that of labels.txt) with attributes {{unused: true}}; they never occur in the data (PNG values 11,
25, 28, 29, 44, 65, 67, 68, 70, 82, 90) and every mapping sends them to ignore.

`instances: true` for the 80 used things: COCO gives their instances (instances_*.json); the
stuffthingmaps PNGs themselves are semantic only. `category` is the COCO supercategory as the
JSON files spell it (things: person ... indoor; stuff: textile, plant, building, furniture-stuff,
structural, raw-material, floor, ceiling, sky, ground, food-stuff, solid, wall, water, window).
attributes: png = stuffthingmaps value (id - 1), thing (bool).

Colours: COCO-Stuff defines no official palette for stuffthingmaps. Scheme used here (deterministic,
documented): colour(id) = VOClabelcolormap(id), the PASCAL bit-interleaving of §2.3 applied to the
COCO category id, so 0 unlabeled is black and all 183 colours are distinct.
Generated by scripts/gen_scene_taxonomies.py from the §3.3 table.
"""


def coco_taxonomy(coco: list[CocoClass]) -> dict[str, Any]:
    classes = []
    for c in coco:
        unused = c.train_id is None
        attrs: dict[str, Any] = {"png": c.png if c.id else 255}
        if c.thing is not None:
            attrs["thing"] = c.thing
        if unused:
            attrs["unused"] = True
        classes.append(
            _drop_none(
                {
                    "id": c.id,
                    "name": c.name,
                    "color": label_colormap(c.id),
                    "role": "unlabeled" if c.id == 0 else None,
                    "instances": True if (c.thing and not unused) else None,
                    "category": coco_category(c),
                    "description": (
                        "COCO thing id without segmentations (removed from COCO); never occurs."
                        if unused
                        else (
                            "Pixels nobody labelled (PNG value 255, .mat value 0)."
                            if c.id == 0
                            else None
                        )
                    ),
                    "attributes": attrs,
                }
            )
        )
    return {
        "kind": "dataset",
        "name": "coco_stuff",
        "title": "COCO-Stuff",
        "version": 1,
        "description": (
            "COCO images with dense thing+stuff labels: 164k release (train2017 118287, val2017 "
            "5000; stuffthingmaps PNGs) and the 10k v1.1 release (9000 train / 1000 test; .mat). "
            "91 stuff + 80 used thing classes (171); 11 thing ids unused."
        ),
        "url": "https://github.com/nightrome/cocostuff",
        "license": "COCO annotations CC BY 4.0; images: Flickr terms of use [U: not in the reference]",
        "reference": f"{REF} §3.2-§3.5; nightrome/cocostuff labels.txt (876a7db)",
        "task": "semantic",
        "encodings": [
            {
                "name": "stuffthingmaps_png",
                "description": (
                    "annotations/{train2017,val2017}/{012d}.png (stuffthingmaps_trainval2017.zip): "
                    "single-channel uint8 (mode L, or P [U]); value = id - 1 (0..181), 255 = "
                    "unlabeled. Values 11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90 never occur."
                ),
                "dtype": "uint8",
                "offset": -1,
                "special": {255: 0},
            },
            {
                "name": "cocostuff10k_mat",
                "description": (
                    "cocostuff-10k v1.1 annotations/{stem}.mat, variable `S` (H x W): 0 = "
                    "unlabeled, 1..91 things, 92..182 stuff (= id). Element type undocumented "
                    "[U]: readers cast (mmseg uses astype(np.uint8))."
                ),
                "dtype": "uint8",
                "offset": 0,
            },
            {
                "name": "stuff_json",
                "description": (
                    "stuff_{train,val}2017.json (stuff_trainval2017.zip, COCO format, RLE) "
                    "rasterized: category_id per pixel (92..182 stuff = id), 0 where no annotation "
                    "covers the pixel (unlabeled). 183 'other' (every pixel of a COCO thing, "
                    "merged) names no class of this taxonomy: the thing's class is not given, so "
                    "it is read as unlabeled too."
                ),
                "dtype": "uint8",
                "offset": 0,
                "special": {0: 0, 183: 0},
            },
        ],
        "classes": classes,
    }


# ------------------------------------------------------------------------------------------------
# Flat ontologies
# ------------------------------------------------------------------------------------------------


def slug(name: str) -> str:
    """Identifier form of a dataset class name: lowercase, spaces and hyphens -> underscores."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


CS19_HEADER = f"""
cityscapes-19: the 19 Cityscapes training classes (trainIds 0..18), ignore 255.

Sources:
  - /work/shared/reference/{REF} §1.2 (trainId column and "the 19 trainIds, in order"), §5.1
    (mmsegmentation CityscapesDataset: same 19 classes and palette).
  - mcordts/cityscapesScripts helpers/labels.py (trainId, names, colours), createTrainIdLabelImgs.py.

Flat (no parents), no background: every Cityscapes pixel is either one of the 19 classes or
ignored (trainId 255 = the ignoreInEval labels). Names are labels.py names in identifier form
(spaces -> underscores); `title` is the labels.py name. `instances` = hasInstances.
Generated by scripts/gen_scene_taxonomies.py.
"""


def cityscapes19_ontology(cs: list[CsLabel]) -> dict[str, Any]:
    nodes = []
    for lab in sorted((x for x in cs if 0 <= x.train_id < 255), key=lambda x: x.train_id):
        nodes.append(
            _drop_none(
                {
                    "id": lab.train_id,
                    "name": slug(lab.name),
                    "title": lab.name if slug(lab.name) != lab.name else None,
                    "parent": None,
                    "color": lab.color,
                    "instances": lab.has_instances,
                    "description": f"Cityscapes {lab.name} (label id {lab.id}, {lab.category}).",
                },
                keep=("parent",),
            )
        )
    return {
        "kind": "ontology",
        "name": "cityscapes-19",
        "title": "Cityscapes 19 training classes",
        "version": 1,
        "description": "The Cityscapes benchmark classes in trainId order; 255 ignore.",
        "reference": f"{REF} §1.2; cityscapesScripts helpers/labels.py",
        "dtype": "uint8",
        "special": [
            {
                "id": 255,
                "name": "ignore",
                "role": "ignore",
                "color": (0, 0, 0),
                "description": (
                    "trainId 255: the 15 labels with ignoreInEval (unlabeled, ego vehicle, "
                    "rectification border, out of roi, static, dynamic, ground, parking, rail "
                    "track, guard rail, bridge, tunnel, polegroup, caravan, trailer) and license "
                    "plate."
                ),
            }
        ],
        "nodes": nodes,
    }


COCO171_HEADER = f"""
coco-stuff-171: the 171 used COCO-Stuff classes, compacted to ids 0..170 in ascending COCO id
order; ignore 255 (mmsegmentation's COCO-Stuff 164k train ids).

Sources:
  - /work/shared/reference/{REF} §3.3 ("mmseg 164k trainId" column), §5.2 (clsID_to_trID of
    open-mmlab/mmsegmentation tools/dataset_converters/coco_stuff164k.py: used PNG values ->
    0..170 in ascending order, 255 -> 255), §5.3 (10k converter + reduce_zero_label gives the
    same ids).
  - mmsegmentation mmseg/datasets/coco_stuff.py (171 class names in this order, person ... wood).

Names: COCO-Stuff names in identifier form (spaces -> underscores; hyphens kept, e.g.
building-other); `title` is the COCO-Stuff name. Colours as in coco_stuff.yaml
(VOClabelcolormap of the COCO id). No background; unlabeled and the 11 unused ids -> ignore.
Generated by scripts/gen_scene_taxonomies.py.
"""


def coco171_name(c: CocoClass) -> str:
    return re.sub(r"[^a-z0-9\-]+", "_", c.name.lower())


def coco171_ontology(coco: list[CocoClass]) -> dict[str, Any]:
    nodes = []
    for c in coco:
        if c.train_id is None or c.id == 0:
            continue
        nodes.append(
            _drop_none(
                {
                    "id": c.train_id,
                    "name": coco171_name(c),
                    "title": c.name if coco171_name(c) != c.name else None,
                    "parent": None,
                    "color": label_colormap(c.id),
                    "instances": bool(c.thing),
                    "description": (
                        f"COCO-Stuff {c.id} ({'thing' if c.thing else 'stuff'}; PNG value {c.png})."
                    ),
                },
                keep=("parent",),
            )
        )
    return {
        "kind": "ontology",
        "name": "coco-stuff-171",
        "title": "COCO-Stuff 171 (mmsegmentation train ids)",
        "version": 1,
        "description": "80 things + 91 stuff classes, ids 0..170; 255 ignore.",
        "reference": f"{REF} §3.3, §5.2, §5.3",
        "dtype": "uint8",
        "special": [
            {
                "id": 255,
                "name": "ignore",
                "role": "ignore",
                "color": (0, 0, 0),
                "description": "COCO-Stuff unlabeled (PNG 255) and the 11 unused thing ids.",
            }
        ],
        "nodes": nodes,
    }


# ------------------------------------------------------------------------------------------------
# The scene ontology design
# ------------------------------------------------------------------------------------------------


@dataclass
class SNode:
    name: str
    title: str | None = None
    desc: str | None = None
    instances: bool | None = None
    children: list[SNode] = field(default_factory=list)


def N(name: str, *children: SNode, title: str | None = None, desc: str | None = None,
      inst: bool | None = None) -> SNode:  # fmt: skip
    return SNode(name, title, desc, inst, list(children))


def leaves(*names: str, inst: bool | None = None) -> list[SNode]:
    return [SNode(n, instances=inst) for n in names]


# Leaves without `inst` take it from the COCO-Stuff class mapped to them (thing/stuff) or from the
# Cityscapes hasInstances of the class mapped to them; groups get all(children).
SCENE_TREE: list[SNode] = [
    N(
        "flat",
        N("road"),
        N(
            "pavement",
            title="sidewalk / pavement",
            desc="Pedestrian pavement beside or away from roads (Cityscapes sidewalk, COCO pavement).",
        ),
        N(
            "parking",
            desc="Parking areas and lay-bys (Cityscapes parking; ignored by its benchmark).",
        ),
        N("railroad", title="rail track / railroad"),
        *leaves("platform", "playingfield"),
        N(
            "ground_other",
            title="ground (other)",
            desc="Horizontal ground not covered by a more specific flat or terrain class.",
        ),
        N(
            "floor",
            *leaves(
                "carpet", "floor_marble", "floor_other", "floor_stone", "floor_tile", "floor_wood"
            ),
            desc="Indoor floors (COCO-Stuff floor supercategory).",
        ),
        desc="Horizontal man-made ground (Cityscapes category flat; COCO-Stuff ground, floor).",
    ),
    N(
        "construction",
        N(
            "building",
            *leaves("building_other", "house", "roof", "skyscraper"),
            N(
                "window",
                *leaves("window_blind", "window_other"),
                desc="Windows and blinds (Cityscapes labels glazed windows as building).",
            ),
            desc=(
                "Buildings (Cityscapes building: houses, skyscrapers, garages, bus-stop "
                "buildings, windows, attached scaffolding)."
            ),
            inst=False,
        ),
        N("tent"),
        N(
            "wall",
            *leaves(
                "wall_brick",
                "wall_concrete",
                "wall_other",
                "wall_panel",
                "wall_stone",
                "wall_tile",
                "wall_wood",
            ),
            desc=(
                "Walls of any material (COCO-Stuff wall-*; Cityscapes wall = a standing wall "
                "that is not part of a building)."
            ),
        ),
        N(
            "structural",
            N("fence"),
            N(
                "guard_rail",
                title="guard rail",
                desc="Road-side guard rails / crash barriers (Cityscapes guard rail).",
            ),
            *leaves("railing", "cage", "net", "structural_other"),
            desc="Fences, rails and other barriers (COCO-Stuff structural supercategory).",
        ),
        N("bridge"),
        N("tunnel", desc="Tunnels (Cityscapes tunnel; ignored by its benchmark)."),
        N("ceiling", *leaves("ceiling_other", "ceiling_tile"), desc="Ceilings."),
        desc="Built structures (Cityscapes category construction; COCO-Stuff building, "
        "structural, wall, ceiling, window).",
    ),
    N(
        "object",
        N(
            "pole",
            desc="A single pole (sign, lamp or traffic-light pole); Cityscapes pole.",
            inst=False,
        ),
        N(
            "polegroup",
            title="pole group",
            desc="Several poles that cannot be told apart (Cityscapes polegroup).",
            inst=False,
        ),
        N("traffic_light", title="traffic light"),
        N(
            "traffic_sign",
            N("stop_sign", title="stop sign"),
            title="traffic sign",
            desc="Traffic and street signs without their poles (Cityscapes traffic sign).",
        ),
        N("fire_hydrant", title="fire hydrant"),
        N("parking_meter", title="parking meter"),
        N("bench"),
        title="street object",
        desc="Street furniture and traffic objects (Cityscapes category object; COCO outdoor).",
    ),
    N(
        "nature",
        N(
            "vegetation",
            *leaves("tree", "bush", "branch", "leaves", "flower", "plant_other"),
            desc="Vertical vegetation: trees, hedges, bushes (Cityscapes vegetation).",
        ),
        N(
            "terrain",
            *leaves("grass", "moss", "straw", "dirt", "mud", "sand", "gravel", "snow"),
            desc="Horizontal natural ground: grass, soil, sand (Cityscapes terrain).",
        ),
        N("water", *leaves("river", "sea", "water_other", "waterdrops"), desc="Water."),
        N(
            "solid",
            *leaves("hill", "mountain", "rock", "stone", "wood", "solid_other"),
            desc="Rock, mountains and other solid natural matter (COCO-Stuff solid).",
        ),
        desc="Natural stuff (Cityscapes category nature; COCO-Stuff plant, ground materials, "
        "water, solid).",
    ),
    N(
        "sky",
        *leaves("clouds", "sky_other", "fog"),
        desc="Sky (Cityscapes sky; COCO-Stuff clouds, sky-other, and fog -- grouped with sky as "
        "in COCO panoptic's sky-other-merged and MSeg, not with water as in COCO-Stuff).",
        inst=False,
    ),
    N(
        "person",
        N(
            "pedestrian",
            title="person (not riding)",
            desc="A person walking, standing or sitting (Cityscapes person).",
        ),
        N(
            "rider",
            desc="A person riding a bicycle, motorbike, scooter, horse, ... (Cityscapes rider).",
        ),
        title="person (any)",
        desc="Any person. VOC and COCO-Stuff person (riders included) map here (coarse).",
        inst=True,
    ),
    N(
        "vehicle",
        N("car"),
        N("truck"),
        N("bus"),
        N("caravan", desc="Caravans and camper vans (Cityscapes caravan).", inst=True),
        N("trailer", desc="Trailers pulled by vehicles (Cityscapes trailer).", inst=True),
        N("train"),
        N("motorcycle"),
        N("bicycle"),
        N("airplane"),
        N("boat"),
        desc="Vehicles (Cityscapes category vehicle; COCO vehicle).",
    ),
    N(
        "animal",
        *leaves(
            "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"
        ),
        desc="Animals (COCO animal).",
    ),
    N(
        "accessory",
        *leaves("backpack", "umbrella", "handbag", "tie", "suitcase"),
        desc="Personal accessories (COCO accessory).",
    ),
    N(
        "sports",
        *leaves(
            "frisbee",
            "skis",
            "snowboard",
            "sports_ball",
            "kite",
            "baseball_bat",
            "baseball_glove",
            "skateboard",
            "surfboard",
            "tennis_racket",
        ),
        desc="Sports equipment (COCO sports).",
    ),
    N(
        "kitchenware",
        *leaves("bottle", "wine_glass", "cup", "fork", "knife", "spoon", "bowl"),
        desc="Kitchenware (COCO kitchen).",
    ),
    N(
        "food",
        *leaves(
            "banana",
            "apple",
            "sandwich",
            "orange",
            "broccoli",
            "carrot",
            "hot_dog",
            "pizza",
            "donut",
            "cake",
        ),
        N("food_other", title="food (other)"),
        N("fruit", title="fruit (other)"),
        *leaves("salad", "vegetable"),
        desc="Food: COCO food things and COCO-Stuff food-stuff.",
    ),
    N(
        "furniture",
        *leaves("chair", "couch", "potted_plant", "bed", "dining_table", "toilet"),
        *leaves("cabinet", "counter", "cupboard"),
        N("desk", desc="COCO-Stuff desk-stuff (the desk thing id 69 is unused)."),
        N("door", desc="COCO-Stuff door-stuff (the door thing id 71 is unused)."),
        N("furniture_other", title="furniture (other)"),
        N("light"),
        N("mirror", desc="COCO-Stuff mirror-stuff (the mirror thing id 66 is unused)."),
        *leaves("shelf", "stairs"),
        N(
            "table",
            title="table (other)",
            desc="Tables other than dining tables (COCO-Stuff table stuff).",
        ),
        desc="Furniture: COCO furniture things and COCO-Stuff furniture-stuff.",
    ),
    N(
        "electronic",
        *leaves("tv", "laptop", "mouse", "remote", "keyboard", "cell_phone"),
        desc="Electronics (COCO electronic).",
    ),
    N(
        "appliance",
        *leaves("microwave", "oven", "toaster", "sink", "refrigerator"),
        desc="Appliances (COCO appliance).",
    ),
    N(
        "indoor_object",
        *leaves("book", "clock", "vase", "scissors", "teddy_bear", "hair_drier", "toothbrush"),
        title="indoor object",
        desc="Small indoor objects (COCO indoor).",
    ),
    N(
        "textile",
        *leaves(
            "banner",
            "blanket",
            "cloth",
            "clothes",
            "curtain",
            "mat",
            "napkin",
            "pillow",
            "rug",
            "towel",
            "textile_other",
        ),
        desc="Textiles (COCO-Stuff textile).",
    ),
    N(
        "raw_material",
        *leaves("cardboard", "metal", "paper", "plastic"),
        title="raw material",
        desc="Raw materials (COCO-Stuff raw-material).",
    ),
]

# COCO-Stuff class name -> scene node, where it is not slug(name).
COCO_SCENE_RENAME = {
    "desk-stuff": "desk",
    "door-stuff": "door",
    "mirror-stuff": "mirror",
}
# COCO-Stuff classes whose scene node has children (kind coarse) or that deserve a note.
COCO_SCENE_KIND = {
    "person": ("coarse", "COCO person includes riders; Cityscapes splits pedestrian / rider."),
    "stop sign": ("exact", "Cityscapes traffic sign (the parent node) includes stop signs."),
    "fog": ("exact", "Grouped under sky (COCO-Stuff files fog under water)."),
    "pavement": ("exact", "Same node as Cityscapes sidewalk (MSeg sidewalk_pavement)."),
    "railroad": ("exact", "Same node as Cityscapes rail track (MSeg railroad)."),
    "ground-other": ("exact", "Cityscapes ground (void) also maps here, approx."),
    "tv": ("exact", "Same node as VOC tvmonitor (MSeg television -> tvmonitor)."),
    "couch": ("exact", "Same node as VOC sofa."),
    "dining table": ("exact", "Same node as VOC diningtable; COCO-Stuff `table` stays separate."),
    "table": (
        "exact",
        "Tables that are not COCO dining tables (thing pixels were labelled first).",
    ),
    "car": ("exact", "Cityscapes separates caravan and trailer; COCO has no such classes."),
    "truck": ("exact", "VOC has no truck class: VOC trucks are background."),
}

CS_SCENE: dict[int, tuple[str, str, str | None]] = {
    0: ("unlabeled", "exact", "Not annotated."),
    1: ("ignore", "exact", "The recording car's own hood; not scene content (MSeg: unlabeled)."),
    2: ("ignore", "exact", "Image border from rectification; not scene content."),
    3: ("ignore", "exact", "Outside the annotated region of interest."),
    4: (
        "background",
        "approx",
        "Catch-all for static objects not in Cityscapes' classes (mailboxes, ...), which other "
        "datasets may label (e.g. COCO bench): none of this dataset's classes -> background.",
    ),
    5: (
        "background",
        "approx",
        "Catch-all for movable objects not in Cityscapes' classes (strollers, animals, ...): "
        "none of this dataset's classes -> background.",
    ),
    6: (
        "ground_other",
        "approx",
        "Other horizontal ground (e.g. traffic islands); its complement differs from COCO "
        "ground-other's (Cityscapes has no gravel/sand/snow classes).",
    ),
    7: ("road", "exact", None),
    8: ("pavement", "exact", "MSeg sidewalk_pavement; COCO pavement shares the node."),
    9: ("parking", "exact", None),
    10: ("railroad", "exact", "MSeg railroad; COCO railroad shares the node."),
    11: (
        "building",
        "coarse",
        "Cityscapes building covers house, skyscraper, roof, windows (children of building).",
    ),
    12: (
        "wall",
        "coarse",
        "Any material. Cityscapes wall is a free-standing wall, COCO wall-* mostly building "
        "walls (indoor).",
    ),
    13: ("fence", "exact", None),
    14: ("guard_rail", "exact", None),
    15: ("bridge", "exact", None),
    16: ("tunnel", "exact", None),
    17: ("pole", "exact", None),
    18: ("polegroup", "exact", "Kept apart from pole (MSeg merges them into pole)."),
    19: ("traffic_light", "exact", None),
    20: ("traffic_sign", "coarse", "Includes stop signs (child stop_sign, from COCO)."),
    21: ("vegetation", "coarse", "Trees, hedges, bushes: children tree, bush, leaves, ..."),
    22: ("terrain", "coarse", "Grass, soil, sand: children grass, dirt, sand, ..."),
    23: ("sky", "coarse", "Children clouds, sky_other, fog."),
    24: (
        "pedestrian",
        "exact",
        "Cityscapes person excludes riders; VOC/COCO person map to the parent `person`.",
    ),
    25: ("rider", "exact", "The person only; the bicycle/motorcycle is labelled separately."),
    26: ("car", "exact", None),
    27: ("truck", "exact", None),
    28: ("bus", "exact", None),
    29: ("caravan", "exact", "Kept apart from car (MSeg merges caravan into car)."),
    30: ("trailer", "exact", None),
    31: ("train", "exact", None),
    32: ("motorcycle", "exact", None),
    33: ("bicycle", "exact", None),
    -1: (
        "ignore",
        "exact",
        "Never drawn in PNGs (id < 0); its pixels carry the vehicle's id. Polygons rasterised "
        "from JSON by other tools should be treated as part of the vehicle.",
    ),
}

VOC_SCENE: dict[int, tuple[str, str, str | None]] = {
    0: (
        "background",
        "exact",
        "VOC background = none of VOC's 20 classes: road, building, sky, but also trucks, "
        "elephants, ... It is not one scene node, so it maps to the `background` special "
        "(meaning 'none of the source dataset's classes'), not to ignore: it still tells a "
        "trainer that the pixel is none of VOC's 20 classes.",
    ),
    1: ("airplane", "exact", None),
    2: ("bicycle", "exact", None),
    3: ("bird", "exact", None),
    4: ("boat", "exact", None),
    5: ("bottle", "exact", None),
    6: ("bus", "exact", None),
    7: ("car", "exact", "VOC has no truck class (trucks are background)."),
    8: ("cat", "exact", None),
    9: (
        "chair",
        "exact",
        "All chairs (MSeg splits chair_other, armchair, swivel_chair, stool, seat).",
    ),
    10: ("cow", "exact", None),
    11: ("dining_table", "exact", "MSeg maps its universal table (dining and other) here."),
    12: ("dog", "exact", None),
    13: ("horse", "exact", None),
    14: ("motorcycle", "exact", None),
    15: (
        "person",
        "coarse",
        "VOC person includes riders: the parent of Cityscapes' pedestrian and rider.",
    ),
    16: ("potted_plant", "exact", None),
    17: ("sheep", "exact", None),
    18: ("couch", "exact", "VOC sofa = COCO couch."),
    19: ("train", "exact", None),
    20: ("tv", "exact", "VOC tvmonitor (TVs and computer monitors) = COCO tv (MSeg television)."),
    255: ("ignore", "exact", "Void boundary band and difficult regions."),
}

# MSeg universal names (xref `mseg:<name>`) for Cityscapes-only or hand-checked nodes; COCO leaves
# get theirs from the §4.4 table when the MSeg class is hit by exactly that one COCO class and has
# the node's name.
SCENE_XREF_MANUAL = {
    "pedestrian": "person",
    "guard_rail": "guard_rail",
    "tunnel": "tunnel",
    "pole": "pole",
    "trailer": "trailer",
    "pavement": "sidewalk_pavement",
    "railroad": "railroad",
    "building": "building",
    "wall": "wall",
    "terrain": "terrain",
    "vegetation": "vegetation",
    "sky": "sky",
}
SCENE_XREF_SKIP = {"person", "chair"}  # MSeg person excludes riders; MSeg chair_other is a split.

SCENE_HEADER = f"""
scene: one hierarchical ontology for street and everyday scenes that Cityscapes, PASCAL VOC and
COCO-Stuff all map onto without losing a class any of them distinguishes.

Sources:
  - /work/shared/reference/{REF} §1.2 (Cityscapes classes and categories),
    §2.2 (VOC classes), §3.3/§3.6 (COCO-Stuff classes and supercategories), §4 (MSeg universal taxonomy,
    mseg-dataset/mseg-api mseg/class_remapping_files/MSeg_master.tsv, as precedent and xrefs).

Design:
  - Every native class that a dataset distinguishes keeps its own node: all 171 used COCO-Stuff
    classes, VOC's 20, and Cityscapes' 27 non-void classes (ids 7..33) including those its benchmark ignores and
    MSeg merges or drops (rider vs pedestrian, pole vs polegroup, caravan, trailer, guard rail,
    tunnel, parking, terrain). Classes that mean the same thing share a node (VOC sofa = COCO
    couch, Cityscapes sidewalk = COCO pavement, ...).
  - Parents group families so coarse-but-correct mappings exist: a source class that covers
    several nodes maps to their parent with kind `coarse` (VOC/COCO person -> person, whose
    children are Cityscapes' pedestrian and rider; Cityscapes building/vegetation/terrain/sky/
    wall/traffic sign -> the group over COCO-Stuff's finer classes).
  - The roots include Cityscapes' categories (flat, construction, object, nature, sky, vehicle;
    human -> `person`): cutting at the roots turns every Cityscapes class into its own category.
    The other roots follow COCO's supercategories (animal, accessory, sports, kitchenware, food,
    furniture, electronic, appliance, indoor_object, textile, raw_material).
  - Deviations from COCO-Stuff's hierarchy: fog under sky (as COCO panoptic/MSeg); floor-stone
    under floor; tent directly under construction (Cityscapes building would not cover tents).
  - Names: identifier form of the usual English name (COCO "desk-stuff" -> desk, as the desk
    thing id is unused); `title` for display when it differs. `xref: mseg:<name>` names the MSeg
    universal class with the same meaning (only where it is 1:1).
  - Colours: the Cityscapes colour for nodes a Cityscapes class maps to, else the colour of the
    COCO-Stuff class (VOClabelcolormap of its COCO id), else VOClabelcolormap(256 + k) for the
    first free k; all node colours are distinct.
  - instances: set on every node; leaves take it from COCO-Stuff thing/stuff or Cityscapes
    hasInstances (pole, polegroup, building: stuff); groups are `true` only if all children are.

Ids and specials: ids are stable -- never renumbered or reused; new nodes get new ids
(scripts/gen_scene_taxonomies.py keeps existing ids). dtype uint8: {{n_nodes}} nodes (ids 1..{{max_id}})
plus 3 specials. Should the ontology outgrow uint8, it moves to uint16 with new nodes from 256 up;
every id below, including the specials 0, 254 and 255, keeps its meaning.
  - 0 unlabeled: nobody labelled the pixel (Cityscapes unlabeled, COCO-Stuff unlabeled); also the
    value of unwritten (padding) chunks in a store.
  - 254 background: "none of the source dataset's classes" (VOC background, Cityscapes static /
    dynamic). Scenes have no universal background; what it excludes depends on the sample's
    dataset, so a trainer treats it as ignore for a per-pixel loss over all nodes, or as a
    negative for the source dataset's own classes in a partial-label loss.
  - 255 ignore: do-not-care (VOC void band, Cityscapes ego vehicle / rectification border / out of
    roi, COCO-Stuff's unused ids).
Generated by scripts/gen_scene_taxonomies.py.
"""


def _walk(nodes: list[SNode], parent: str | None = None):
    for n in nodes:
        yield n, parent
        yield from _walk(n.children, n.name)


def build_scene(
    ref: dict[str, Any], old_ids: dict[str, int]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any], str]:
    """Build the scene ontology and the three scene mappings."""
    cs: list[CsLabel] = ref["cityscapes"]
    coco: list[CocoClass] = ref["coco"]
    voc = ref["voc"]
    flat = list(_walk(SCENE_TREE))
    names = [n.name for n, _ in flat]
    if len(set(names)) != len(names):
        dup = sorted({x for x in names if names.count(x) > 1})
        raise SystemExit(f"scene tree: duplicate node names {dup}")
    by_name = {n.name: n for n, _ in flat}

    # --- COCO rules --------------------------------------------------------------------------
    coco_rules = []
    coco_target: dict[str, CocoClass] = {}
    for c in coco:
        if c.id == 0:
            coco_rules.append({"id": 0, "name": c.name, "to": "unlabeled", "kind": "exact"})
            continue
        if c.train_id is None:
            coco_rules.append(
                {
                    "id": c.id,
                    "name": c.name,
                    "to": "ignore",
                    "kind": "exact",
                    "note": "Unused COCO thing id: never occurs in the data.",
                }
            )
            continue
        node = COCO_SCENE_RENAME.get(c.name, slug(c.name))
        if node not in by_name:
            raise SystemExit(f"scene tree has no node {node!r} for COCO-Stuff {c.name!r}")
        kind, note = COCO_SCENE_KIND.get(c.name, ("exact", None))
        coco_rules.append(_drop_none({"id": c.id, "name": c.name, "to": node, "kind": kind,
                                      "note": note}))  # fmt: skip
        coco_target[node] = c

    cs_by_id = {x.id: x for x in cs}
    cs_target = {to: cs_by_id[i] for i, (to, _, _) in CS_SCENE.items() if to in by_name}

    # --- instances ---------------------------------------------------------------------------
    inst: dict[str, bool] = {}

    def resolve(n: SNode) -> bool:
        kids = [resolve(k) for k in n.children]
        if n.instances is not None:
            v = n.instances
        elif kids:
            v = all(kids)
        elif n.name in coco_target:
            v = bool(coco_target[n.name].thing)
        elif n.name in cs_target:
            v = cs_target[n.name].has_instances
        else:
            raise SystemExit(f"scene node {n.name!r}: cannot infer instances")
        inst[n.name] = v
        return v

    for root in SCENE_TREE:
        resolve(root)

    # --- ids ---------------------------------------------------------------------------------
    reserved = {0, 254, 255}
    ids: dict[str, int] = {n: i for n, i in old_ids.items() if n in by_name}
    next_id = max([0, *old_ids.values()]) + 1
    for name in names:
        if name not in ids:
            while next_id in reserved:
                next_id += 1
            ids[name] = next_id
            next_id += 1
    if max(ids.values()) > 253:
        raise SystemExit("scene: more than 253 nodes; switch to uint16 (see header)")

    # --- colours -----------------------------------------------------------------------------
    used: set[tuple[int, int, int]] = {(0, 0, 0), (255, 255, 255), (128, 128, 128)}
    colors: dict[str, tuple[int, int, int]] = {}
    fallback = 256
    for name in names:
        cands = []
        if name in cs_target:
            cands.append(cs_target[name].color)
        if name in coco_target:
            cands.append(label_colormap(coco_target[name].id))
        col = next((c for c in cands if c not in used), None)
        while col is None:
            col = label_colormap(fallback) if label_colormap(fallback) not in used else None
            fallback += 1
        used.add(col)
        colors[name] = col

    # --- xrefs -------------------------------------------------------------------------------
    mseg = ref["mseg_coco"]
    uni_count: dict[str, int] = {}
    for _, uname, uidx in mseg.values():
        if uidx != 255:
            uni_count[uname] = uni_count.get(uname, 0) + 1
    xref: dict[str, str] = dict(SCENE_XREF_MANUAL)
    for node, c in coco_target.items():
        if c.id in mseg and node not in SCENE_XREF_SKIP and node not in xref:
            _, uname, uidx = mseg[c.id]
            if uidx != 255 and uni_count[uname] == 1 and uname == node:
                xref[node] = uname

    # --- descriptions --------------------------------------------------------------------------
    sources: dict[str, list[str]] = {n: [] for n in names}
    for i, (to, _, _) in sorted(CS_SCENE.items()):
        if to in sources:
            sources[to].append(f"Cityscapes {cs_by_id[i].name} ({i})")
    for i, name, _ in voc:
        to = VOC_SCENE[i][0]
        if to in sources:
            sources[to].append(f"VOC {name} ({i})")
    for node, c in coco_target.items():
        sources[node].append(f"COCO-Stuff {c.name} ({c.id})")

    nodes = []
    for n, parent in flat:
        desc = n.desc
        if sources[n.name]:
            src = "From: " + ", ".join(sources[n.name]) + "."
            desc = f"{desc} {src}" if desc else src
        title = n.title
        if title is None and n.name in coco_target and slug(coco_target[n.name].name) == n.name:
            cname = coco_target[n.name].name
            title = cname if cname != n.name else None
        nodes.append(
            _drop_none(
                {
                    "id": ids[n.name],
                    "name": n.name,
                    "title": title,
                    "parent": parent,
                    "color": colors[n.name],
                    "instances": inst[n.name],
                    "description": desc,
                    "xref": [f"mseg:{xref[n.name]}"] if n.name in xref else None,
                },
                keep=("parent",),
            )
        )
    nodes.sort(key=lambda d: d["id"])
    header = SCENE_HEADER.replace("{n_nodes}", str(len(nodes))).replace(
        "{max_id}", str(max(ids.values()))
    )
    ontology = {
        "kind": "ontology",
        "name": "scene",
        "title": "Scene (Cityscapes + PASCAL VOC + COCO-Stuff)",
        "version": 1,
        "description": (
            "Hierarchical street and everyday-scene ontology; lossless for Cityscapes (34 ids), "
            "PASCAL VOC (21) and COCO-Stuff (171 used classes). Parents allow coarse mappings "
            "and level cuts; MSeg's universal taxonomy is the precedent."
        ),
        "reference": f"{REF} §1.2, §2.2, §3.3, §3.6, §4",
        "dtype": "uint8",
        "special": [
            {
                "id": 0,
                "name": "unlabeled",
                "role": "unlabeled",
                "color": (0, 0, 0),
                "description": "Not annotated (Cityscapes/COCO-Stuff unlabeled); store padding.",
            },
            {
                "id": 254,
                "name": "background",
                "role": "background",
                "color": (128, 128, 128),
                "description": (
                    "None of the source dataset's classes (VOC background, Cityscapes "
                    "static/dynamic); meaning depends on the sample's dataset."
                ),
            },
            {
                "id": 255,
                "name": "ignore",
                "role": "ignore",
                "color": (255, 255, 255),
                "description": "Do not care: excluded from losses and metrics.",
            },
        ],
        "nodes": nodes,
    }

    def rules(table: dict[int, tuple[str, str, str | None]], names_by_id: dict[int, str]):
        out = []
        for i in sorted(table, key=lambda v: (v < 0, v)):
            to, kind, note = table[i]
            out.append(_drop_none({"id": i, "name": names_by_id[i], "to": to, "kind": kind,
                                   "note": note}))  # fmt: skip
        return out

    cs_map = {
        "kind": "mapping",
        "dataset": "cityscapes",
        "ontology": "scene",
        "version": 1,
        "description": "Every Cityscapes label id (0..33, -1) onto the scene ontology.",
        "reference": f"{REF} §1.2, §4.2",
        "rules": rules(CS_SCENE, {x.id: x.name for x in cs}),
    }
    voc_names = {i: n for i, n, _ in voc} | {255: "void"}
    voc_map = {
        "kind": "mapping",
        "dataset": "pascal_voc",
        "ontology": "scene",
        "version": 1,
        "description": "PASCAL VOC 0..20 and 255 onto the scene ontology.",
        "reference": f"{REF} §2.2, §4.3",
        "rules": rules(VOC_SCENE, voc_names),
    }
    coco_map = {
        "kind": "mapping",
        "dataset": "coco_stuff",
        "ontology": "scene",
        "version": 1,
        "description": (
            "COCO-Stuff ids 0..182 onto the scene ontology: each of the 171 used classes to its "
            "own node; unlabeled -> unlabeled; the 11 unused ids -> ignore."
        ),
        "reference": f"{REF} §3.3, §4.4",
        "rules": coco_rules,
    }
    return ontology, cs_map, voc_map, coco_map, header


def cityscapes19_mapping(cs: list[CsLabel]) -> dict[str, Any]:
    rules = []
    for lab in sorted(cs, key=lambda x: (x.id < 0, x.id)):
        if 0 <= lab.train_id < 255:
            rules.append({"id": lab.id, "name": lab.name, "to": slug(lab.name), "kind": "exact"})
        else:
            note = (
                "trainId -1 in labels.py (never drawn)"
                if lab.train_id < 0
                else "ignoreInEval: trainId 255"
            )
            rules.append(
                {"id": lab.id, "name": lab.name, "to": "ignore", "kind": "exact", "note": note}
            )
    return {
        "kind": "mapping",
        "dataset": "cityscapes",
        "ontology": "cityscapes-19",
        "version": 1,
        "description": "labels.py id -> trainId (createTrainIdLabelImgs.py), as a mapping.",
        "reference": f"{REF} §1.2 (id -> trainId LUT), §1.6",
        "rules": rules,
    }


def coco171_mapping(coco: list[CocoClass]) -> dict[str, Any]:
    rules = []
    for c in coco:
        if c.id == 0:
            rules.append({"id": 0, "name": c.name, "to": "ignore", "kind": "exact",
                          "note": "PNG 255 -> 255 (clsID_to_trID[255] = 255)."})  # fmt: skip
        elif c.train_id is None:
            rules.append({"id": c.id, "name": c.name, "to": "ignore", "kind": "exact",
                          "note": "Unused thing id; not a key of clsID_to_trID."})  # fmt: skip
        else:
            rules.append({"id": c.id, "name": c.name, "to": coco171_name(c), "kind": "exact"})
    return {
        "kind": "mapping",
        "dataset": "coco_stuff",
        "ontology": "coco-stuff-171",
        "version": 1,
        "description": (
            "COCO-Stuff id -> mmsegmentation 164k train id (clsID_to_trID applied to PNG value "
            "id - 1); unlabeled and unused ids -> ignore (255)."
        ),
        "reference": f"{REF} §3.3, §5.2, §5.3",
        "rules": rules,
    }


MAP_HEADERS = {
    "cityscapes__cityscapes-19": f"""
Cityscapes label ids -> cityscapes-19 trainIds, exactly labels.py's trainId column.

Sources: /work/shared/reference/{REF} §1.2 (id -> trainId LUT), §1.6; mcordts/cityscapesScripts
helpers/labels.py and preparation/createTrainIdLabelImgs.py. Every ignoreInEval label -> ignore
(255); license plate (trainId -1, never drawn) -> ignore. Checked against the installed
cityscapesscripts by tests/taxonomy/test_scene_taxonomies.py.
Generated by scripts/gen_scene_taxonomies.py.
""",
    "cityscapes__scene": f"""
Cityscapes -> scene. Every real class keeps its own node (no merges): pole/polegroup,
pedestrian/rider, car/caravan/trailer, and the benchmark-ignored parking, rail track, guard rail,
bridge, tunnel stay distinct. Classes that cover several scene leaves map to their parent (coarse).

Sources: /work/shared/reference/{REF} §1.2, §4.2 (MSeg cityscapes-34 column: precedent; MSeg
merges pole+polegroup and car+caravan and drops parking, which this mapping does not).
Void labels: unlabeled -> unlabeled; ego vehicle, rectification border, out of roi, license plate
-> ignore; static, dynamic (catch-alls for objects outside Cityscapes' classes) -> background;
ground -> ground_other (approx).
Generated by scripts/gen_scene_taxonomies.py.
""",
    "pascal_voc__scene": f"""
PASCAL VOC -> scene.

Sources: /work/shared/reference/{REF} §2.2 (classes; MSeg universal -> VOC column), §4.3.
VOC person includes riders, so it maps to the parent `person` (coarse); Cityscapes splits it into
pedestrian and rider. VOC background is 'none of the 20 classes' and maps to the `background`
special (see scene.yaml), 255 void -> ignore.
Generated by scripts/gen_scene_taxonomies.py.
""",
    "coco_stuff__coco-stuff-171": f"""
COCO-Stuff -> coco-stuff-171: reproduces mmsegmentation's clsID_to_trID compaction exactly.

Sources: /work/shared/reference/{REF} §3.3 (mmseg 164k trainId column), §5.2
(open-mmlab/mmsegmentation tools/dataset_converters/coco_stuff164k.py: used PNG values -> 0..170
ascending, 255 -> 255), §5.3 (coco_stuff10k.py + reduce_zero_label: same ids).
Rules are by COCO id (PNG value + 1); the 11 unused ids -> ignore. (mmseg passes unused PNG
values through unchanged, colliding with real train ids; they never occur, and here they are
ignore instead.) Checked by tests/taxonomy/test_scene_taxonomies.py against an independent build
of clsID_to_trID.
Generated by scripts/gen_scene_taxonomies.py.
""",
    "coco_stuff__scene": f"""
COCO-Stuff -> scene: each of the 171 used classes to its own scene node (no merges, unlike COCO
panoptic / MSeg, see reference §4.4); unlabeled -> unlabeled; the 11 unused ids -> ignore.

Sources: /work/shared/reference/{REF} §3.3, §3.6, §4.4.
COCO person includes riders -> parent `person` (coarse).
Generated by scripts/gen_scene_taxonomies.py.
""",
}


def _old_scene_ids(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    return {n["name"]: int(n["id"]) for n in doc.get("nodes", [])}


def generate(reference: Path, out: Path) -> dict[Path, str]:
    """Return {path: YAML text} for every file this script owns."""
    ref = parse_reference(reference.read_text(encoding="utf-8"))
    if len(ref["cityscapes"]) != 35 or len(ref["voc"]) != 21 or len(ref["coco"]) != 183:
        raise SystemExit(
            f"{reference}: unexpected table sizes "
            f"({len(ref['cityscapes'])}, {len(ref['voc'])}, {len(ref['coco'])})"
        )
    for i, _, rgb in ref["voc"]:
        if label_colormap(i) != rgb:
            raise SystemExit(f"{reference}: VOC colour of {i} differs from VOClabelcolormap")
    cs, coco = ref["cityscapes"], ref["coco"]
    scene, cs_scene, voc_scene, coco_scene, scene_header = build_scene(
        ref, _old_scene_ids(out / "ontologies" / "scene.yaml")
    )
    files = {
        "datasets/cityscapes.yaml": (CS_HEADER, cityscapes_taxonomy(cs)),
        "datasets/citypersons.yaml": (CP_HEADER, citypersons_taxonomy()),
        "datasets/pascal_voc.yaml": (VOC_HEADER, voc_taxonomy(ref["voc"])),
        "datasets/coco_stuff.yaml": (COCO_HEADER, coco_taxonomy(coco)),
        "ontologies/cityscapes-19.yaml": (CS19_HEADER, cityscapes19_ontology(cs)),
        "ontologies/coco-stuff-171.yaml": (COCO171_HEADER, coco171_ontology(coco)),
        "ontologies/scene.yaml": (scene_header, scene),
        "mappings/cityscapes__cityscapes-19.yaml": (
            MAP_HEADERS["cityscapes__cityscapes-19"],
            cityscapes19_mapping(cs),
        ),
        "mappings/cityscapes__scene.yaml": (MAP_HEADERS["cityscapes__scene"], cs_scene),
        "mappings/pascal_voc__scene.yaml": (MAP_HEADERS["pascal_voc__scene"], voc_scene),
        "mappings/coco_stuff__coco-stuff-171.yaml": (
            MAP_HEADERS["coco_stuff__coco-stuff-171"],
            coco171_mapping(coco),
        ),
        "mappings/coco_stuff__scene.yaml": (MAP_HEADERS["coco_stuff__scene"], coco_scene),
    }
    return {out / rel: dump(h, d) for rel, (h, d) in files.items()}


def _validate(texts: dict[Path, str]) -> None:
    sys.path.insert(0, str(REPO))
    from pydantic import TypeAdapter

    from harmonize.taxonomy.models import TaxonomyFile

    adapter = TypeAdapter(TaxonomyFile)
    for path, text in texts.items():
        adapter.validate_python(yaml.load(text, Loader=_LOADER))
        del path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    p.add_argument("--out", type=Path, default=REPO / "taxonomies")
    p.add_argument("--check", action="store_true", help="exit 1 if files on disk differ")
    args = p.parse_args(argv)
    texts = generate(args.reference, args.out)
    _validate(texts)
    stale = [p for p, t in texts.items() if not p.exists() or p.read_text() != t]
    if args.check:
        for path in stale:
            print(f"out of date: {path}")
        return 1 if stale else 0
    for path, text in texts.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    print(f"wrote {len(texts)} files ({len(stale)} changed) under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
