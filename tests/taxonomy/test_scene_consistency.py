"""Consistency rules of the scene taxonomy files, as tests over the YAML (the only source).

The scene files (datasets cityscapes, citypersons, pascal_voc, coco_stuff, ade20k, coco_panoptic,
mapillary_vistas, mapillary_vistas_v2, idd, the driving sets bdd100k, kitti, camvid, camvid_11 and
the indoor set sunrgbd; ontologies scene, cityscapes-19, coco-stuff-171; their mappings) are
edited by hand. The rules that once held
because one script generated them all are checked here instead: table sizes, roles, instance
flags, renames between the datasets and the ontologies, colours, descriptions, special targets,
scene ids, and that no dataset loses a class on ``scene``.

Each rule is a function ``rule(files) -> list[str]`` that lists what is wrong (empty = holds).
The files are read by harmonize's own loader (:func:`harmonize.taxonomy.list_files` and
:func:`harmonize.taxonomy.load_file`), from the shipped folder or -- for the negative tests, which
show that each rule catches a broken file -- from a copy under ``tmp_path`` with one edit.

Independent references embedded here (the source named at each table): COCO-Stuff ``labels.txt``
(nightrome/cocostuff) and the supercategories of the COCO ``instances_*.json`` / ``stuff_*.json``
category lists; the PASCAL VOC class list of ``VOCinit.m`` and ``VOClabelcolormap.m`` (VOC devkit);
ADE20K's ``objectInfo150.csv`` Stuff column (CSAILVision/sceneparsing) and the COCO panoptic merge
list (cocodataset.org/#panoptic-eval, as quoted in scene_datasets.md §4.4).
Cityscapes facts come from the installed cityscapesScripts (``cityscapesscripts.helpers.labels``),
the dataset's own code. The driving sets: BDD100K's label table (bdd100k/bdd100k
``bdd100k/label/label.py``), CamVid's ``label_colors.txt`` and SegNet-Tutorial's class colours
(``Scripts/test_segmentation_camvid.py``); SUN RGB-D's ``seg37list.mat`` names (as
ankurhanda/sunrgbd-meta-data's README lists them) and MSeg's ``sunrgbd-37_names.txt``; KITTI must repeat the Cityscapes files id for id. The scene design (which names are renamed, which classes go to special
values) is written out here as the specification the files must follow.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from harmonize.errors import TaxonomyError
from harmonize.taxonomy import (
    DatasetTaxonomy,
    Mapping,
    Ontology,
    OntologyNode,
    list_files,
    load_file,
)

SHIPPED = Path(__file__).resolve().parents[2] / "taxonomies"

DRIVING_DATASETS = ("bdd100k", "kitti", "camvid", "camvid_11")
INDOOR_DATASETS = ("sunrgbd",)
# Mapillary Vistas v1.2 / v2.0 and IDD: lossless onto scene is checked in
# test_driving_taxonomies.py; here their rules' names and the "From: ..." of the descriptions.
MAPILLARY_IDD_DATASETS = ("mapillary_vistas", "mapillary_vistas_v2", "idd")
DATASETS = (
    "cityscapes",
    "citypersons",
    "pascal_voc",
    "coco_stuff",
    "ade20k",
    "coco_panoptic",
    *MAPILLARY_IDD_DATASETS,
    *DRIVING_DATASETS,
    *INDOOR_DATASETS,
)
ONTOLOGIES = ("cityscapes-19", "coco-stuff-171", "scene")
MAPPINGS = (
    ("cityscapes", "cityscapes-19"),
    ("cityscapes", "scene"),
    ("pascal_voc", "scene"),
    ("coco_stuff", "coco-stuff-171"),
    ("coco_stuff", "scene"),
    ("bdd100k", "cityscapes-19"),
    ("bdd100k", "scene"),
    ("kitti", "cityscapes-19"),
    ("kitti", "scene"),
    ("camvid", "scene"),
    ("camvid_11", "scene"),
    ("ade20k", "scene"),
    ("coco_panoptic", "scene"),
    ("sunrgbd", "scene"),
    ("mapillary_vistas", "scene"),
    ("mapillary_vistas_v2", "scene"),
    ("idd", "scene"),
)
# The datasets the scene ontology was designed from: node names and colours follow them. Every
# dataset of LOSSLESS_DATASETS (these and the driving sets and SUN RGB-D) must keep every class it
# distinguishes on scene. The "From: ..." of each node's description names the classes of every
# dataset of SOURCE_DATASETS (all of them, Mapillary Vistas and IDD too) mapped onto it, in this
# order.
SCENE_DATASETS = ("cityscapes", "pascal_voc", "coco_stuff", "ade20k", "coco_panoptic")
LOSSLESS_DATASETS = (*SCENE_DATASETS, *DRIVING_DATASETS, *INDOOR_DATASETS)
SOURCE_DATASETS = (*SCENE_DATASETS, *MAPILLARY_IDD_DATASETS, *DRIVING_DATASETS, *INDOOR_DATASETS)

# ------------------------------------------------------------------------------------------------
# independent references
# ------------------------------------------------------------------------------------------------

# nightrome/cocostuff labels.txt (commit 876a7db; "<COCO id>: <name>"), verbatim.
COCO_STUFF_LABELS_TXT = """\
0: unlabeled
1: person
2: bicycle
3: car
4: motorcycle
5: airplane
6: bus
7: train
8: truck
9: boat
10: traffic light
11: fire hydrant
12: street sign
13: stop sign
14: parking meter
15: bench
16: bird
17: cat
18: dog
19: horse
20: sheep
21: cow
22: elephant
23: bear
24: zebra
25: giraffe
26: hat
27: backpack
28: umbrella
29: shoe
30: eye glasses
31: handbag
32: tie
33: suitcase
34: frisbee
35: skis
36: snowboard
37: sports ball
38: kite
39: baseball bat
40: baseball glove
41: skateboard
42: surfboard
43: tennis racket
44: bottle
45: plate
46: wine glass
47: cup
48: fork
49: knife
50: spoon
51: bowl
52: banana
53: apple
54: sandwich
55: orange
56: broccoli
57: carrot
58: hot dog
59: pizza
60: donut
61: cake
62: chair
63: couch
64: potted plant
65: bed
66: mirror
67: dining table
68: window
69: desk
70: toilet
71: door
72: tv
73: laptop
74: mouse
75: remote
76: keyboard
77: cell phone
78: microwave
79: oven
80: toaster
81: sink
82: refrigerator
83: blender
84: book
85: clock
86: vase
87: scissors
88: teddy bear
89: hair drier
90: toothbrush
91: hair brush
92: banner
93: blanket
94: branch
95: bridge
96: building-other
97: bush
98: cabinet
99: cage
100: cardboard
101: carpet
102: ceiling-other
103: ceiling-tile
104: cloth
105: clothes
106: clouds
107: counter
108: cupboard
109: curtain
110: desk-stuff
111: dirt
112: door-stuff
113: fence
114: floor-marble
115: floor-other
116: floor-stone
117: floor-tile
118: floor-wood
119: flower
120: fog
121: food-other
122: fruit
123: furniture-other
124: grass
125: gravel
126: ground-other
127: hill
128: house
129: leaves
130: light
131: mat
132: metal
133: mirror-stuff
134: moss
135: mountain
136: mud
137: napkin
138: net
139: paper
140: pavement
141: pillow
142: plant-other
143: plastic
144: platform
145: playingfield
146: railing
147: railroad
148: river
149: road
150: rock
151: roof
152: rug
153: salad
154: sand
155: sea
156: shelf
157: sky-other
158: skyscraper
159: snow
160: solid-other
161: stairs
162: stone
163: straw
164: structural-other
165: table
166: tent
167: textile-other
168: towel
169: tree
170: vegetable
171: wall-brick
172: wall-concrete
173: wall-other
174: wall-panel
175: wall-stone
176: wall-tile
177: wall-wood
178: water-other
179: waterdrops
180: window-blind
181: window-other
182: wood
"""
COCO_NAMES: dict[int, str] = {
    int(i): name for i, name in (ln.split(": ", 1) for ln in COCO_STUFF_LABELS_TXT.splitlines())
}

# COCO thing ids without any segmentation: nightrome/cocostuff README.md and labels.md
# ("Removed from COCO.").
COCO_UNUSED_IDS = frozenset({12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91})

# Thing supercategories: the `categories` of COCO's instances_*.json (consecutive id ranges); the
# 11 unused ids are placed as in COCO-Stuff's CocoStuffClasses.m hierarchy.
COCO_THING_SUPERCATEGORY: dict[str, range] = {
    "person": range(1, 2),
    "vehicle": range(2, 10),
    "outdoor": range(10, 16),
    "animal": range(16, 26),
    "accessory": range(26, 34),
    "sports": range(34, 44),
    "kitchen": range(44, 52),
    "food": range(52, 62),
    "furniture": range(62, 72),
    "electronic": range(72, 78),
    "appliance": range(78, 84),
    "indoor": range(84, 92),
}
# Stuff supercategories: the `categories` of COCO-Stuff's stuff_*.json (nightrome/cocostuffapi),
# spelt as there (raw-material, food-stuff, furniture-stuff).
COCO_STUFF_SUPERCATEGORY: dict[str, tuple[str, ...]] = {
    "textile": (
        "banner", "blanket", "cloth", "clothes", "curtain", "mat", "napkin", "pillow", "rug",
        "textile-other", "towel",
    ),
    "plant": (
        "branch", "bush", "flower", "grass", "leaves", "moss", "plant-other", "straw", "tree",
    ),
    "building": ("bridge", "building-other", "house", "roof", "skyscraper", "tent"),
    "furniture-stuff": (
        "cabinet", "counter", "cupboard", "desk-stuff", "door-stuff", "furniture-other", "light",
        "mirror-stuff", "shelf", "stairs", "table",
    ),
    "structural": ("cage", "fence", "net", "railing", "structural-other"),
    "raw-material": ("cardboard", "metal", "paper", "plastic"),
    "floor": (
        "carpet", "floor-marble", "floor-other", "floor-stone", "floor-tile", "floor-wood",
    ),
    "ceiling": ("ceiling-other", "ceiling-tile"),
    "sky": ("clouds", "sky-other"),
    "ground": (
        "dirt", "gravel", "ground-other", "mud", "pavement", "platform", "playingfield",
        "railroad", "road", "sand", "snow",
    ),
    "water": ("fog", "river", "sea", "water-other", "waterdrops"),
    "food-stuff": ("food-other", "fruit", "salad", "vegetable"),
    "solid": ("hill", "mountain", "rock", "solid-other", "stone", "wood"),
    "wall": (
        "wall-brick", "wall-concrete", "wall-other", "wall-panel", "wall-stone", "wall-tile",
        "wall-wood",
    ),
    "window": ("window-blind", "window-other"),
}  # fmt: skip


def coco_supercategory(cid: int) -> str:
    """COCO supercategory of COCO-Stuff id ``cid`` (1..182), as the COCO JSON files spell it."""
    if cid <= 91:
        return next(s for s, ids in COCO_THING_SUPERCATEGORY.items() if cid in ids)
    return next(s for s, names in COCO_STUFF_SUPERCATEGORY.items() if COCO_NAMES[cid] in names)


# PASCAL VOC devkit VOCcode/VOCinit.m: VOCopts.classes, preceded by background (index 0).
VOC_CLASSES = (
    "background aeroplane bicycle bird boat bottle bus car cat chair cow diningtable dog horse "
    "motorbike person pottedplant sheep sofa train tvmonitor"
).split()


def voc_colormap(index: int) -> tuple[int, int, int]:
    """VOC devkit VOCcode/VOClabelcolormap.m for one index (the bit-interleaving loop)."""
    r = g = b = 0
    cid = index
    for j in range(8):
        r |= ((cid >> 0) & 1) << (7 - j)
        g |= ((cid >> 1) & 1) << (7 - j)
        b |= ((cid >> 2) & 1) << (7 - j)
        cid >>= 3
    return (r, g, b)


# bdd100k/bdd100k bdd100k/label/label.py (commit 9ac17c6): the labels with a trainId, as
# (trainId, name, label id); doc/source/format.rst lists the same 19 names in trainId order.
BDD100K_TRAIN_LABELS = (
    (0, "road", 7), (1, "sidewalk", 8), (2, "building", 10), (3, "wall", 15), (4, "fence", 11),
    (5, "pole", 20), (6, "traffic light", 25), (7, "traffic sign", 26), (8, "vegetation", 29),
    (9, "terrain", 28), (10, "sky", 30), (11, "person", 31), (12, "rider", 32), (13, "car", 35),
    (14, "truck", 40), (15, "bus", 34), (16, "train", 39), (17, "motorcycle", 37),
    (18, "bicycle", 33),
)  # fmt: skip

# CamVid label_colors.txt ("R G B<TAB>name"), in file order (third-party copies, see camvid.yaml).
CAMVID_LABEL_COLORS = """\
64 128 64\tAnimal
192 0 128\tArchway
0 128 192\tBicyclist
0 128 64\tBridge
128 0 0\tBuilding
64 0 128\tCar
64 0 192\tCartLuggagePram
192 128 64\tChild
192 192 128\tColumn_Pole
64 64 128\tFence
128 0 192\tLaneMkgsDriv
192 0 64\tLaneMkgsNonDriv
128 128 64\tMisc_Text
192 0 192\tMotorcycleScooter
128 64 64\tOtherMoving
64 192 128\tParkingBlock
64 64 0\tPedestrian
128 64 128\tRoad
128 128 192\tRoadShoulder
0 0 192\tSidewalk
192 128 128\tSignSymbol
128 128 128\tSky
64 128 192\tSUVPickupTruck
0 0 64\tTrafficCone
0 64 64\tTrafficLight
192 64 128\tTrain
128 128 0\tTree
192 128 192\tTruck_Bus
64 0 64\tTunnel
192 192 0\tVegetationMisc
0 0 0\tVoid
64 192 0\tWall
"""

# alexgkendall/SegNet-Tutorial Scripts/test_segmentation_camvid.py: label_colours in index order.
SEGNET_CAMVID_COLOURS = (
    ("Sky", (128, 128, 128)), ("Building", (128, 0, 0)), ("Pole", (192, 192, 128)),
    ("Road", (128, 64, 128)), ("Pavement", (60, 40, 222)), ("Tree", (128, 128, 0)),
    ("SignSymbol", (192, 128, 128)), ("Fence", (64, 64, 128)), ("Car", (64, 0, 128)),
    ("Pedestrian", (64, 64, 0)), ("Bicyclist", (0, 128, 192)), ("Unlabelled", (0, 0, 0)),
)  # fmt: skip

# ankurhanda/sunrgbd-meta-data README.md: seg37list.mat's seg37list, [1,1] .. [1,37], verbatim.
SEG37LIST = (
    "wall floor cabinet bed chair sofa table door window bookshelf picture counter blinds desk "
    "shelves curtain dresser pillow mirror floor_mat clothes ceiling books fridge tv paper towel "
    "shower_curtain box whiteboard person night_stand toilet sink lamp bathtub bag"
).split()
# mseg-dataset/mseg-api mseg/dataset_lists/sunrgbd-37/sunrgbd-37_names.txt where it spells a
# seg37list name otherwise (MSeg's id = seg37list index - 1).
MSEG_SUNRGBD_SPELLING = {
    "floor_mat": "floor mat",
    "fridge": "refridgerator",
    "tv": "television",
    "shower_curtain": "shower curtain",
    "night_stand": "night stand",
}

# CSAILVision/sceneparsing objectInfo150.csv (e202229), column Stuff: the ADE20K ids marked 1 (stuff);
# every other id 1..150 is an object.
ADE_STUFF_IDS = frozenset(
    {1, 2, 3, 4, 6, 7, 10, 12, 14, 17, 22, 26, 27, 29, 30, 47, 49, 52, 53, 55, 60, 61, 62, 69, 80}
    | {85, 92, 95, 97, 102, 106, 110, 114, 129, 141}
)

# The COCO panoptic "-merged" classes and the COCO-Stuff classes each merges, and the 12 COCO-Stuff
# classes the panoptic set dropped (cocodataset.org/#panoptic-eval, quoted in scene_datasets.md
# §4.4). The other 36 panoptic stuff classes and the 80 things keep their COCO-Stuff name.
COCO_PANOPTIC_MERGED: dict[str, tuple[str, ...]] = {
    "tree-merged": ("branch", "tree", "bush", "leaves"),
    "fence-merged": ("cage", "fence", "railing"),
    "ceiling-merged": ("ceiling-tile", "ceiling-other"),
    "sky-other-merged": ("clouds", "sky-other", "fog"),
    "cabinet-merged": ("cupboard", "cabinet"),
    "table-merged": ("desk-stuff", "table"),
    "floor-other-merged": ("floor-marble", "floor-other", "floor-tile"),
    "pavement-merged": ("floor-stone", "pavement"),
    "mountain-merged": ("hill", "mountain"),
    "grass-merged": ("moss", "grass", "straw"),
    "dirt-merged": ("mud", "dirt"),
    "paper-merged": ("napkin", "paper"),
    "food-other-merged": ("salad", "vegetable", "food-other"),
    "building-other-merged": ("skyscraper", "building-other"),
    "rock-merged": ("stone", "rock"),
    "wall-other-merged": ("wall-other", "wall-concrete", "wall-panel"),
    "rug-merged": ("mat", "rug", "carpet"),
}
COCO_PANOPTIC_REMOVED = frozenset(
    "furniture-other metal plastic solid-other structural-other waterdrops textile-other cloth "
    "clothes plant-other wood ground-other".split()
)

# ------------------------------------------------------------------------------------------------
# the scene design, as specified in the header of ontologies/scene.yaml
# ------------------------------------------------------------------------------------------------


def slug(name: str) -> str:
    """Identifier form of a class name: lowercase, runs of other characters -> one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


# COCO-Stuff class -> scene node where the node is not slug(name): the thing ids of desk, door
# and mirror are unused, so the stuff classes take the plain names.
COCO_SCENE_RENAME = {"desk-stuff": "desk", "door-stuff": "door", "mirror-stuff": "mirror"}
# Cityscapes class -> scene node where it is not slug(name): Cityscapes person excludes riders;
# sidewalk and rail track share COCO-Stuff's pavement and railroad; void `ground` is other ground.
CITYSCAPES_SCENE_RENAME = {
    "person": "pedestrian",
    "sidewalk": "pavement",
    "rail track": "railroad",
    "ground": "ground_other",
}
# VOC class -> the COCO-Stuff class of the same meaning (VOC name when not listed); VOC then maps
# to that class's scene node (MSeg's universal taxonomy pairs them the same way).
VOC_TO_COCO = {
    "aeroplane": "airplane",
    "diningtable": "dining table",
    "motorbike": "motorcycle",
    "pottedplant": "potted plant",
    "sofa": "couch",
    "tvmonitor": "tv",
}
# Native classes that go to a special value of `scene` (all others reach a node).
SCENE_SPECIAL_TARGETS: dict[str, dict[int, str]] = {
    "cityscapes": {
        0: "unlabeled",  # unlabeled
        1: "ignore",  # ego vehicle: the recording car
        2: "ignore",  # rectification border
        3: "ignore",  # out of roi
        4: "background",  # static: catch-all for objects outside Cityscapes' classes
        5: "background",  # dynamic: likewise for movable objects
        -1: "ignore",  # license plate: never drawn into any PNG
    },
    "pascal_voc": {0: "background", 255: "ignore"},
    "coco_stuff": {0: "unlabeled"} | dict.fromkeys(COCO_UNUSED_IDS, "ignore"),
    "ade20k": {0: "background"},  # "other objects": none of the 150 classes
    "coco_panoptic": {0: "unlabeled"},  # VOID: no segment
    "bdd100k": {255: "ignore"},  # unknown: not evaluated
    "camvid": {30: "ignore"},  # Void
    "camvid_11": {11: "ignore"},  # Unlabelled (SegNet ignore_label)
    "sunrgbd": {0: "unlabeled"},  # no seg37list class
}
# KITTI's ids are Cityscapes': the same special targets (license plate is no KITTI value).
SCENE_SPECIAL_TARGETS["kitti"] = {
    k: v for k, v in SCENE_SPECIAL_TARGETS["cityscapes"].items() if k >= 0
}
# Rules of the driving sets and SUN RGB-D that are `approx` (the dataset cuts the class differently from the
# node; the YAML note says how); the others are coarse exactly onto nodes with children.
DRIVING_APPROX = {
    "kitti": {4, 5, 6},  # as Cityscapes: static, dynamic, ground
    "camvid": {2, 5, 8, 13, 16, 17, 29},  # Bicyclist, Car, Column_Pole, MotorcycleScooter,
    # Pedestrian, Road, VegetationMisc
    "camvid_11": {1, 2, 4, 6, 9},  # Building, Pole, Pavement, SignSymbol, Pedestrian
    # SUN RGB-D chair, table, counter, floor_mat, lamp: also armchairs/stools/..., dining tables,
    # kitchen islands, rugs, sconces/chandeliers (MSeg's relabeling of its chair, counter, lamp)
    "sunrgbd": {5, 7, 12, 20, 35},
}
# ADE20K class -> scene node where the node is none of the class's names in identifier form (the
# synonyms of objectInfo150.txt, or mmsegmentation's short name): groups where ADE20K's class
# covers several nodes, and COCO-Stuff's spelling where it names the same concept.
ADE_SCENE_RENAME = {
    1: "wall",
    2: "building",
    9: "window_other",
    12: "pavement",
    18: "vegetation",
    35: "rock_merged",
    41: "pedestal",
    56: "display_case",
    64: "window_blind",
    90: "tv",
    93: "clothes",
    100: "buffet",
    108: "washing_machine",
    109: "toy",
    117: "motorcycle",
    120: "sports_ball",
    123: "storage_tank",
    126: "flowerpot",
    131: "projection_screen",
    134: "hood",
    139: "trash_can",
    148: "drinking_glass",
}
# Rules of kind approx outside Cityscapes' catch-alls: the native class overlaps a node beside its
# target (named in each rule's note).
SCENE_APPROX = {
    ("cityscapes", 4),  # static
    ("cityscapes", 5),  # dynamic
    ("cityscapes", 6),  # ground
    ("ade20k", 16),  # table: also dining tables
    ("ade20k", 29),  # rug, carpet: also fitted carpet
    ("coco_panoptic", 195),  # paper-merged: paper + napkin
    ("coco_panoptic", 200),  # rug-merged: rug + mat + carpet
}
# scene's special values: id -> (name, role).
SCENE_SPECIALS = {
    0: ("unlabeled", "unlabeled"),
    254: ("background", "background"),
    255: ("ignore", "ignore"),
}
SCENE_SPECIAL_COLOURS = ((0, 0, 0), (128, 128, 128), (255, 255, 255))
SOURCE_TITLE = {
    "cityscapes": "Cityscapes",
    "pascal_voc": "VOC",
    "coco_stuff": "COCO-Stuff",
    "ade20k": "ADE20K",
    "coco_panoptic": "COCO panoptic",
    "mapillary_vistas": "Mapillary Vistas v1.2",
    "mapillary_vistas_v2": "Mapillary Vistas v2.0",
    "idd": "IDD",
    "bdd100k": "BDD100K",
    "kitti": "KITTI",
    "camvid": "CamVid",
    "camvid_11": "CamVid-11",
    "sunrgbd": "SUN RGB-D",
}

# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SceneFiles:
    """The scene taxonomy files under one taxonomies folder, loaded by harmonize's loader."""

    datasets: dict[str, DatasetTaxonomy]
    ontologies: dict[str, Ontology]
    mappings: dict[tuple[str, str], Mapping]

    def classes(self, dataset: str) -> dict[int, Any]:
        """Native class id -> class of ``dataset``."""
        return {c.id: c for c in self.datasets[dataset].classes}

    def nodes(self, ontology: str) -> dict[str, OntologyNode]:
        """Node name -> node of ``ontology``."""
        return {n.name: n for n in self.ontologies[ontology].nodes}


def load_scene_files(root: Path, edited: Path | None = None) -> SceneFiles:
    """Load every scene file under ``root`` through the catalogue and the loader.

    With ``edited``, a file that also exists under that folder (same relative path) is loaded
    from there instead: a broken copy of a few files over the shipped rest.
    """
    cat = list_files(root)

    def load(path: Path, kind: str) -> Any:
        if edited is not None and (edited / path.relative_to(root)).is_file():
            path = edited / path.relative_to(root)
        return load_file(path, kind=kind)

    return SceneFiles(
        datasets={d: load(cat.datasets[d], "dataset") for d in DATASETS},
        ontologies={o: load(cat.ontologies[o], "ontology") for o in ONTOLOGIES},
        mappings={p: load(cat.mappings[p], "mapping") for p in MAPPINGS},
    )


@pytest.fixture(scope="module")
def shipped() -> SceneFiles:
    return load_scene_files(SHIPPED)


# ------------------------------------------------------------------------------------------------
# the rules
# ------------------------------------------------------------------------------------------------


def rule_table_sizes(f: SceneFiles) -> list[str]:
    """Id sets: Cityscapes 0..33 + -1, CityPersons 0..5, VOC 0..20 + 255 (VOCinit.m's names in
    order), COCO-Stuff 0..182 (171 used: 80 things + 91 stuff); cityscapes-19 0..18 and
    coco-stuff-171 0..170, both flat with only 255 ignore; one rule per native class."""
    want = {
        "cityscapes": [*range(34), -1],
        "citypersons": list(range(6)),
        "pascal_voc": [*range(21), 255],
        "coco_stuff": list(range(183)),
        "bdd100k": [*range(19), 255],
        "kitti": list(range(34)),
        "camvid": list(range(32)),
        "camvid_11": list(range(12)),
        "ade20k": list(range(151)),
        "sunrgbd": list(range(38)),
    }
    out = []
    for d, ids in want.items():
        got = [c.id for c in f.datasets[d].classes]
        if sorted(got) != sorted(ids):
            out.append(f"{d}: class ids {sorted(set(got) ^ set(ids))} differ from the release")
    voc = [c.name for c in f.datasets["pascal_voc"].classes]
    if voc != [*VOC_CLASSES, "void"]:
        out.append(f"pascal_voc: class names {voc} are not VOCinit.m's order, then void")
    coco = f.datasets["coco_stuff"].classes
    used = [c for c in coco if c.id and not c.attributes.get("unused")]
    things = [c for c in used if c.attributes.get("thing")]
    if (len(used), len(things)) != (171, 80):
        out.append(f"coco_stuff: {len(used)} used classes, {len(things)} things (want 171, 80)")
    out += _coco_panoptic_classes(f)
    for o, n in (("cityscapes-19", 19), ("coco-stuff-171", 171)):
        ids = [x.id for x in f.ontologies[o].nodes]
        if ids != list(range(n)):
            out.append(f"{o}: node ids are not 0..{n - 1} in order")
        specials = [(s.id, s.role) for s in f.ontologies[o].special]
        if specials != [(255, "ignore")]:
            out.append(f"{o}: special values {specials} (want only 255 ignore)")
        if any(x.parent is not None for x in f.ontologies[o].nodes):
            out.append(f"{o}: not flat (a node has a parent)")
    for d, o in MAPPINGS:
        rule_ids = [r.id for r in f.mappings[(d, o)].rules]
        if sorted(rule_ids) != sorted(f.classes(d)):
            out.append(f"{d}__{o}: rules cover ids {sorted(rule_ids)}, not the class ids")
    return out


def _coco_panoptic_classes(f: SceneFiles) -> list[str]:
    """COCO panoptic: 0 + 133 categories; the 80 things are COCO-Stuff's used things (same ids and
    names), the 53 stuff classes are COCO-Stuff's 91 less the removed and merged ones, plus the 17
    merged classes; isthing = instances."""
    out = []
    pan = f.datasets["coco_panoptic"].classes
    got = {c.id: c.name for c in pan if c.id}
    things = {c.id: c.name for c in pan if c.attributes.get("isthing")}
    coco_things = {i: n for i, n in COCO_NAMES.items() if 1 <= i <= 91 and i not in COCO_UNUSED_IDS}
    if things != coco_things:
        out.append(
            f"coco_panoptic: things {sorted(set(things.items()) ^ set(coco_things.items()))}"
        )
    merged_parts = {p for parts in COCO_PANOPTIC_MERGED.values() for p in parts}
    kept = {COCO_NAMES[i] for i in range(92, 183)} - COCO_PANOPTIC_REMOVED - merged_parts
    stuff = {n for i, n in got.items() if i not in things}
    want = kept | set(COCO_PANOPTIC_MERGED)
    if stuff != want or len(got) != 133:
        out.append(f"coco_panoptic: {len(got)} classes; stuff differs in {sorted(stuff ^ want)}")
    for c in pan:
        if c.id and c.name in kept and COCO_NAMES.get(c.id) != c.name:
            out.append(f"coco_panoptic {c.id} {c.name!r}: not COCO-Stuff's id of that class")
        if c.instances != bool(c.attributes.get("isthing")):
            out.append(f"coco_panoptic {c.id} {c.name!r}: instances {c.instances} != isthing")
    return out


def rule_roles(f: SceneFiles) -> list[str]:
    """Roles of the native classes: Cityscapes/COCO-Stuff 0 unlabeled, VOC 0 background and 255
    void, CityPersons 0 (ignore regions) void; every other class role `class`."""
    want = {
        "cityscapes": {0: "unlabeled"},
        "citypersons": {0: "void"},
        "pascal_voc": {0: "background", 255: "void"},
        "coco_stuff": {0: "unlabeled"},
        "bdd100k": {255: "void"},
        "kitti": {0: "unlabeled"},
        "camvid": {30: "void"},
        "camvid_11": {11: "void"},
        "ade20k": {0: "background"},
        "coco_panoptic": {0: "unlabeled"},
        "sunrgbd": {0: "unlabeled"},
    }
    out = []
    for d, roles in want.items():
        for c in f.datasets[d].classes:
            if c.role != roles.get(c.id, "class"):
                out.append(f"{d} {c.id} {c.name!r}: role {c.role!r}")
    return out


def rule_coco_stuff_matches_labels_txt(f: SceneFiles) -> list[str]:
    """COCO-Stuff names = labels.txt; attributes png = id - 1 (255 for unlabeled), thing = id <=
    91, unused = the 11 removed ids; category = the COCO supercategory; default encoding = the
    stuffthingmaps convention (value = id - 1, 255 -> unlabeled)."""
    out = []
    for c in f.datasets["coco_stuff"].classes:
        where = f"coco_stuff {c.id} {c.name!r}"
        if c.name != COCO_NAMES.get(c.id):
            out.append(f"{where}: labels.txt names it {COCO_NAMES.get(c.id)!r}")
        png = 255 if c.id == 0 else c.id - 1
        if c.attributes.get("png") != png:
            out.append(f"{where}: attribute png {c.attributes.get('png')} != {png}")
        if c.id == 0:
            continue
        if c.attributes.get("thing") is not (c.id <= 91):
            out.append(f"{where}: attribute thing {c.attributes.get('thing')}")
        if bool(c.attributes.get("unused")) != (c.id in COCO_UNUSED_IDS):
            out.append(f"{where}: attribute unused {c.attributes.get('unused')}")
        if c.category != coco_supercategory(c.id):
            out.append(f"{where}: category {c.category!r} != {coco_supercategory(c.id)!r}")
    enc = f.datasets["coco_stuff"].encodings[0]
    if (enc.name, enc.offset, enc.special) != ("stuffthingmaps_png", -1, {255: 0}):
        out.append(f"coco_stuff: default encoding {enc.name} offset {enc.offset} {enc.special}")
    return out


def _scene_leaf_instances(f: SceneFiles) -> dict[str, bool]:
    """Thing flag each scene leaf must have: of the COCO-Stuff class mapped to it (the thing/stuff
    authority), else of the Cityscapes class, else of the VOC class, else ADE20K's stuff / object
    (ADEChallengeData2016 has no instance maps; objectInfo150.csv says which classes are objects)."""
    nodes = f.nodes("scene")
    want: dict[str, bool] = {}
    for r in f.mappings[("ade20k", "scene")].rules:  # objectInfo150's Stuff column, lowest rank
        if r.to in nodes and r.kind == "exact":
            want[r.to] = r.id not in ADE_STUFF_IDS
    for d in ("pascal_voc", "cityscapes", "coco_stuff"):  # later datasets take precedence
        classes = f.classes(d)
        for r in f.mappings[(d, "scene")].rules:
            if r.to in nodes and r.kind == "exact":
                want[r.to] = classes[r.id].instances
    return want


def rule_instance_flags(f: SceneFiles) -> list[str]:
    """`instances`: VOC's 20 object classes have instances (SegmentationObject); COCO-Stuff's 80
    used things do; cityscapes-19 and coco-stuff-171 nodes copy the flag of their native class;
    every scene node sets it, leaves as :func:`_scene_leaf_instances`, groups = all(children),
    and no native thing class lands on a scene stuff node."""
    out = []
    for c in f.datasets["pascal_voc"].classes:
        if c.instances != (1 <= c.id <= 20):
            out.append(f"pascal_voc {c.id} {c.name!r}: instances {c.instances}")
    for c in f.datasets["coco_stuff"].classes:
        thing = bool(c.attributes.get("thing")) and not c.attributes.get("unused")
        if c.instances != thing:
            out.append(f"coco_stuff {c.id} {c.name!r}: instances {c.instances}")
    for c in f.datasets["ade20k"].classes:
        if c.instances or c.attributes.get("stuff", False) != (c.id in ADE_STUFF_IDS):
            out.append(f"ade20k {c.id} {c.name!r}: instances {c.instances}, {c.attributes}")
    for d, o in (("cityscapes", "cityscapes-19"), ("coco_stuff", "coco-stuff-171")):
        nodes, classes = f.nodes(o), f.classes(d)
        for r in f.mappings[(d, o)].rules:
            if r.to in nodes and nodes[r.to].instances != classes[r.id].instances:
                out.append(f"{o} {r.to!r}: instances {nodes[r.to].instances} != {d} {r.name!r}")
    nodes = f.nodes("scene")
    children: dict[str, list[str]] = defaultdict(list)
    for n in nodes.values():
        if n.parent is not None:
            children[n.parent].append(n.name)
    leaf_want = _scene_leaf_instances(f)
    for n in nodes.values():
        if n.instances is None:
            out.append(f"scene {n.name!r}: instances not set")
        elif n.name in children:
            want = all(nodes[k].instances for k in children[n.name])
            if n.instances != want:
                out.append(f"scene group {n.name!r}: instances {n.instances} != all(children)")
        elif n.name in leaf_want and n.instances != leaf_want[n.name]:
            out.append(f"scene leaf {n.name!r}: instances {n.instances} != its source class")
    for d in LOSSLESS_DATASETS:
        classes = f.classes(d)
        for r in f.mappings[(d, "scene")].rules:
            if r.to in nodes and classes[r.id].instances and not nodes[r.to].instances:
                out.append(f"{d} thing {r.name!r} -> scene stuff node {r.to!r}")
    return out


def _ade_candidates(cid: int, name: str, short: str) -> set[str]:
    """Scene nodes an ADE20K class may map to: one of its names in identifier form, or the rename."""
    if cid in ADE_SCENE_RENAME:
        return {ADE_SCENE_RENAME[cid]}
    return {slug(x) for x in name.split(", ")} | {slug(short)}


def _panoptic_merged_node(f: SceneFiles, name: str) -> str | None:
    """The scene node whose COCO-Stuff classes (at or below it) are exactly the merged parts."""
    nodes = f.nodes("scene")
    coco_node = {r.name: r.to for r in f.mappings[("coco_stuff", "scene")].rules if r.to in nodes}
    parts = set(COCO_PANOPTIC_MERGED[name])
    below: dict[str, set[str]] = defaultdict(set)
    for cname, node in coco_node.items():
        cur: str | None = node
        while cur is not None:
            below[cur].add(cname)
            cur = nodes[cur].parent
    hits = [n for n, names in below.items() if names == parts]
    return hits[0] if len(hits) == 1 else None


def _expected_scene_node(dataset: str, name: str) -> str:
    """The scene node a native class (not one of SCENE_SPECIAL_TARGETS) must map to."""
    if dataset == "coco_panoptic":
        return _expected_scene_node("coco_stuff", name)
    if dataset == "pascal_voc":
        return _expected_scene_node("coco_stuff", VOC_TO_COCO.get(name, name))
    if dataset == "cityscapes":
        return CITYSCAPES_SCENE_RENAME.get(name, slug(name))
    return COCO_SCENE_RENAME.get(name, slug(name))


def rule_renames(f: SceneFiles) -> list[str]:
    """Names across files: every rule's `name` is its class's name; scene targets follow the
    rename tables above, with a `title` where the COCO-Stuff spelling differs; cityscapes-19 / coco-stuff-171 node names are the native names in
    identifier form (COCO keeps hyphens) with `title` = the native name when it differs."""
    out = []
    for d, o in MAPPINGS:
        classes = f.classes(d)
        for r in f.mappings[(d, o)].rules:
            if r.id in classes and r.name != classes[r.id].name:
                out.append(f"{d}__{o} rule {r.id}: name {r.name!r} != {classes[r.id].name!r}")
    for d in SCENE_DATASETS:
        specials, classes = SCENE_SPECIAL_TARGETS[d], f.classes(d)
        for r in f.mappings[(d, "scene")].rules:
            c = classes[r.id]
            if r.id in specials:
                wants = {specials[r.id]}
            elif d == "ade20k":
                wants = _ade_candidates(r.id, c.name, str(c.attributes.get("short", "")))
            elif d == "coco_panoptic" and c.name in COCO_PANOPTIC_MERGED:
                exact = _panoptic_merged_node(f, c.name)
                # a merge across scene roots has no such node: approx onto one of its parts
                parts = {
                    _expected_scene_node("coco_stuff", p) for p in COCO_PANOPTIC_MERGED[c.name]
                }
                wants = {exact} if exact is not None else parts
            else:
                wants = {_expected_scene_node(d, c.name)}
            if r.to not in wants:
                want = next(iter(wants)) if len(wants) == 1 else sorted(wants)
                out.append(f"{d}__scene {r.id} {c.name!r}: to {r.to!r}, want {want!r}")
    scene = f.nodes("scene")
    coco = f.classes("coco_stuff")
    for r in f.mappings[("coco_stuff", "scene")].rules:
        name = coco[r.id].name
        if r.to in scene and name != r.to and slug(name) == r.to and scene[r.to].title is None:
            out.append(f"scene {r.to!r}: no title (COCO-Stuff spells it {name!r})")
    forms = {
        ("cityscapes", "cityscapes-19"): lambda s: s.replace(" ", "_"),
        ("coco_stuff", "coco-stuff-171"): lambda s: re.sub(r"[^a-z0-9\-]+", "_", s.lower()),
    }
    for (d, o), form in forms.items():
        nodes, classes = f.nodes(o), f.classes(d)
        for r in f.mappings[(d, o)].rules:
            if r.to not in nodes:
                continue
            name = classes[r.id].name
            node = nodes[r.to]
            if node.name != form(name):
                out.append(f"{d}__{o} {name!r} -> node {node.name!r}, want {form(name)!r}")
            if (node.title or node.name) != name:
                out.append(f"{o} {node.name!r}: title {node.title!r}, want {name!r}")
    return out


def rule_special_targets(f: SceneFiles) -> list[str]:
    """Native classes without a node: cityscapes-19 and coco-stuff-171 send exactly the classes
    without a train id to ignore; scene sends exactly SCENE_SPECIAL_TARGETS to special values."""
    out = []
    cs = f.classes("cityscapes")
    no_train = {i for i, c in cs.items() if not 0 <= int(c.attributes["trainId"]) < 255}
    coco_ignored = {0} | set(COCO_UNUSED_IDS)
    for (d, o), want in (
        (("cityscapes", "cityscapes-19"), no_train),
        (("coco_stuff", "coco-stuff-171"), coco_ignored),
        (("kitti", "cityscapes-19"), no_train - {-1}),
        (("bdd100k", "cityscapes-19"), {255}),
    ):
        got = {r.id for r in f.mappings[(d, o)].rules if r.to == "ignore"}
        if got != want:
            out.append(f"{d}__{o}: ignored ids {sorted(got ^ want)} differ")
    for d in LOSSLESS_DATASETS:
        specials = {s.name for s in f.ontologies["scene"].special}
        got = {r.id: r.to for r in f.mappings[(d, "scene")].rules if r.to in specials}
        if got != SCENE_SPECIAL_TARGETS[d]:
            out.append(f"{d}__scene: special targets {got} != {SCENE_SPECIAL_TARGETS[d]}")
    return out


def rule_scene_loses_no_class(f: SceneFiles) -> list[str]:
    """Lossless: no two classes of one dataset share a scene node, so every class a dataset
    distinguishes stays distinguishable (VOC's 20 and COCO-Stuff's 171 used classes each reach
    their own node); only SCENE_SPECIAL_TARGETS go to special values."""
    out = []
    nodes = f.nodes("scene")
    for d in LOSSLESS_DATASETS:
        by_node: dict[str, list[str]] = defaultdict(list)
        for r in f.mappings[(d, "scene")].rules:
            if r.to in nodes:
                by_node[r.to].append(f"{r.id} {r.name}")
        for node, names in by_node.items():
            if len(names) > 1:
                out.append(f"{d}: {names} all map to scene node {node!r}")
        n_real = len(f.classes(d)) - len(SCENE_SPECIAL_TARGETS[d])
        if len(by_node) != n_real:
            out.append(f"{d}: {len(by_node)} scene nodes reached, want {n_real}")
    return out


def rule_scene_kinds(f: SceneFiles) -> list[str]:
    """A rule onto a scene node is `coarse` exactly when the node has children; `approx` is kept
    for SCENE_APPROX (Cityscapes' catch-alls static, dynamic, ground, and the overlaps listed
    there); every other rule is `exact`."""
    out = []
    nodes = f.nodes("scene")
    parents = {n.parent for n in nodes.values() if n.parent}
    approx = SCENE_APPROX | {(d, i) for d, ids in DRIVING_APPROX.items() for i in ids}
    for d in LOSSLESS_DATASETS:
        for r in f.mappings[(d, "scene")].rules:
            if (d, r.id) in approx:
                want = "approx"
            elif r.to in parents:
                want = "coarse"
            else:
                want = "exact"
            if r.kind != want:
                out.append(f"{d}__scene {r.id} {r.name!r} -> {r.to!r}: kind {r.kind}, want {want}")
    return out


def rule_colours(f: SceneFiles) -> list[str]:
    """Colours: VOC and COCO-Stuff classes = VOClabelcolormap(id); cityscapes-19 and
    coco-stuff-171 nodes = their native class's colour; scene nodes are distinct, differ from the
    special colours, and follow the documented order: the Cityscapes colour of the class mapped
    to the node, else the COCO-Stuff colour, else (only when those are another node's colour)
    VOClabelcolormap(k) with k >= 256 (Cityscapes polegroup has pole's colour in labels.py), or
    VOClabelcolormap(1024 + id) for the nodes added with the issue-14 datasets."""
    out = []
    for d in ("pascal_voc", "coco_stuff"):
        for c in f.datasets[d].classes:
            if c.color != voc_colormap(c.id):
                out.append(f"{d} {c.id} {c.name!r}: colour {c.color} != VOClabelcolormap")
    for d, o in (("cityscapes", "cityscapes-19"), ("coco_stuff", "coco-stuff-171")):
        nodes, classes = f.nodes(o), f.classes(d)
        for r in f.mappings[(d, o)].rules:
            if r.to in nodes and nodes[r.to].color != classes[r.id].color:
                out.append(f"{o} {r.to!r}: colour {nodes[r.to].color} != {d} {r.name!r}")
    nodes = f.nodes("scene")
    colours = [n.color for n in nodes.values()]
    if len(set(colours)) != len(colours):
        out.append("scene: node colours are not distinct")
    clash = set(colours) & set(SCENE_SPECIAL_COLOURS)
    if clash:
        out.append(f"scene: node colours {sorted(clash)} equal a special value's colour")
    specials = [s.color for s in f.ontologies["scene"].special]
    if sorted(specials) != sorted(SCENE_SPECIAL_COLOURS):
        out.append(f"scene: special colours {specials}")
    source: dict[str, dict[str, tuple[int, int, int] | None]] = defaultdict(dict)
    for d in ("cityscapes", "coco_stuff"):
        classes = f.classes(d)
        for r in f.mappings[(d, "scene")].rules:
            if r.to in nodes:
                source[r.to][d] = classes[r.id].color
    fallback = {voc_colormap(k) for k in range(256, 256 + 2 * len(nodes))}
    fallback |= {voc_colormap(1024 + n.id) for n in nodes.values() if n.id >= 256}
    owner = {n.color: n.name for n in nodes.values()}
    for n in nodes.values():
        cands = [source[n.name].get(d) for d in ("cityscapes", "coco_stuff")]
        free = [c for c in cands if c is not None and owner.get(c, n.name) == n.name]
        allowed = fallback | ({voc_colormap(1024 + n.id)} if n.id >= 256 else set())
        if n.color != (free[0] if free else n.color) or (not free and n.color not in allowed):
            out.append(f"scene {n.name!r}: colour {n.color} not from its sources {cands}")
    return out


def rule_descriptions(f: SceneFiles) -> list[str]:
    """Descriptions: every scene node has one, ending in "From: ..." naming exactly the native
    classes of every SOURCE_DATASETS dataset mapped to it ("<Dataset> <name> (<id>)": datasets in
    SOURCE_DATASETS order, ids ascending, negative ids last); cityscapes-19 / coco-stuff-171 nodes
    name their native class; CityPersons' classes, VOC 0 and 255, COCO-Stuff 0 and its unused ids, and
    Cityscapes license plate are described."""
    out = []
    nodes = f.nodes("scene")
    sources: dict[str, list[str]] = defaultdict(list)
    for d in SOURCE_DATASETS:
        for r in sorted(f.mappings[(d, "scene")].rules, key=lambda r: (r.id < 0, r.id)):
            if r.to in nodes:
                sources[r.to].append(f"{SOURCE_TITLE[d]} {r.name} ({r.id})")
    for n in nodes.values():
        text = n.description or ""
        if not text:
            out.append(f"scene {n.name!r}: no description")
        want = "From: " + ", ".join(sources[n.name]) + "." if sources[n.name] else None
        got = text[text.index("From: ") :] if "From: " in text else None
        if got != want:
            out.append(f"scene {n.name!r}: description sources {got!r}, want {want!r}")
    cs_nodes, cs = f.nodes("cityscapes-19"), f.classes("cityscapes")
    for r in f.mappings[("cityscapes", "cityscapes-19")].rules:
        c = cs[r.id]
        if r.to in cs_nodes:
            want = f"Cityscapes {c.name} (label id {c.id}, {c.category})."
            if cs_nodes[r.to].description != want:
                out.append(f"cityscapes-19 {r.to!r}: description != {want!r}")
    coco_nodes, coco = f.nodes("coco-stuff-171"), f.classes("coco_stuff")
    for r in f.mappings[("coco_stuff", "coco-stuff-171")].rules:
        c = coco[r.id]
        if r.to in coco_nodes:
            kind = "thing" if c.attributes.get("thing") else "stuff"
            want = f"COCO-Stuff {c.id} ({kind}; PNG value {c.attributes.get('png')})."
            if coco_nodes[r.to].description != want:
                out.append(f"coco-stuff-171 {r.to!r}: description != {want!r}")
    described = {
        "citypersons": set(range(6)),
        "pascal_voc": {0, 255},
        "coco_stuff": {0} | set(COCO_UNUSED_IDS),
        "cityscapes": {-1},
    }
    for d, ids in described.items():
        for i in sorted(ids):
            if not f.classes(d)[i].description:
                out.append(f"{d} {i}: no description")
    return out


def rule_scene_ids(f: SceneFiles) -> list[str]:
    """Scene ids: uint16; specials 0 unlabeled, 254 background, 255 ignore; nodes 1..253 (the
    uint8 era) or from 256 up, so no id below 256 changes meaning."""
    out = []
    onto = f.ontologies["scene"]
    if onto.dtype != "uint16":
        out.append(f"scene: dtype {onto.dtype}")
    specials = {s.id: (s.name, s.role) for s in onto.special}
    if specials != SCENE_SPECIALS:
        out.append(f"scene: specials {specials}")
    bad = sorted(n.id for n in onto.nodes if not (1 <= n.id <= 253 or 256 <= n.id <= 65535))
    if bad:
        out.append(f"scene: node ids {bad} outside 1..253 and 256..65535")
    return out


def rule_scene_xrefs(f: SceneFiles) -> list[str]:
    """MSeg cross-references only where they are 1:1: `mseg:<name>`, each MSeg class on one node."""
    out = []
    seen: dict[str, str] = {}
    for n in f.ontologies["scene"].nodes:
        for x in n.xref:
            if not re.fullmatch(r"mseg:[a-z0-9_]+", x):
                out.append(f"scene {n.name!r}: xref {x!r} is not mseg:<name>")
            if x in seen:
                out.append(f"scene: {x} on both {seen[x]!r} and {n.name!r}")
            seen[x] = n.name
    return out


def rule_driving_sets(f: SceneFiles) -> list[str]:
    """The driving sets repeat their sources: KITTI's classes and both its mappings are
    Cityscapes' for ids 0..33, field by field; BDD100K class t is label.py's label with trainId t
    (name, Cityscapes colour), onto cityscapes-19 node t and onto the scene node of the Cityscapes
    class of that name (same kind); CamVid = label_colors.txt (id = line), CamVid 11 = SegNet's
    colours in index order; no driving-set class claims instances (none of the files read
    carries any, except KITTI's instance PNGs, which follow Cityscapes' hasInstances)."""
    out = []
    cs, kitti = f.classes("cityscapes"), f.classes("kitti")
    for i, c in kitti.items():
        ref = cs.get(i)
        fields = ("name", "color", "role", "instances", "category", "attributes")
        if ref is None or any(getattr(c, k) != getattr(ref, k) for k in fields):
            out.append(f"kitti {i} {c.name!r}: differs from cityscapes {i}")
    for o in ("scene", "cityscapes-19"):
        ref_rules = {r.id: r for r in f.mappings[("cityscapes", o)].rules}
        for r in f.mappings[("kitti", o)].rules:
            ref = ref_rules.get(r.id)
            if ref is None or (r.name, r.to, r.kind) != (ref.name, ref.to, ref.kind):
                out.append(f"kitti__{o} {r.id} {r.name!r}: differs from cityscapes__{o}")
    cs_by_name = {c.name: c for c in cs.values()}
    cs_scene = {r.id: r for r in f.mappings[("cityscapes", "scene")].rules}
    cs19 = [n.name for n in f.ontologies["cityscapes-19"].nodes]
    bdd = f.classes("bdd100k")
    bdd19 = {r.id: r.to for r in f.mappings[("bdd100k", "cityscapes-19")].rules}
    bdd_scene = {r.id: r for r in f.mappings[("bdd100k", "scene")].rules}
    for t, name, label_id in BDD100K_TRAIN_LABELS:
        c = bdd.get(t)
        if c is None or c.name != name or c.attributes.get("labelId") != label_id:
            out.append(f"bdd100k {t}: not label.py's {name!r} (id {label_id})")
            continue
        ref = cs_by_name[name]
        if c.color != ref.color or c.instances:
            out.append(f"bdd100k {t} {name!r}: colour / instances differ from Cityscapes")
        if bdd19.get(t) != cs19[t]:
            out.append(f"bdd100k__cityscapes-19 {t}: to {bdd19.get(t)!r}, want {cs19[t]!r}")
        want = cs_scene[ref.id]
        got = bdd_scene[t]
        if (got.to, got.kind) != (want.to, want.kind):
            out.append(
                f"bdd100k__scene {t} {name!r}: {got.to}/{got.kind}, want {want.to}/{want.kind}"
            )
    camvid = [c for _, c in sorted(f.classes("camvid").items())]
    want_cv = []
    for line in CAMVID_LABEL_COLORS.splitlines():
        rgb, name = line.split("\t")
        want_cv.append((name, tuple(int(x) for x in rgb.split())))
    if [(c.name, c.color) for c in camvid] != want_cv:
        out.append("camvid: classes are not label_colors.txt, line for line")
    cv11 = [c for _, c in sorted(f.classes("camvid_11").items())]
    if [(c.name, c.color) for c in cv11] != list(SEGNET_CAMVID_COLOURS):
        out.append("camvid_11: classes are not SegNet's label_colours in index order")
    for d in ("bdd100k", "camvid", "camvid_11"):
        out += [f"{d} {c.name!r}: instances" for c in f.classes(d).values() if c.instances]
    return out


def rule_sunrgbd(f: SceneFiles) -> list[str]:
    """SUN RGB-D: class k (1..37) is seg37list's k-th name, its attribute `mseg` MSeg's spelling of
    it; 0 unlabeled; no class claims instances (the label PNGs carry none)."""
    out = []
    classes = f.classes("sunrgbd")
    for k, name in enumerate(SEG37LIST, start=1):
        c = classes.get(k)
        if c is None or c.name != name:
            out.append(f"sunrgbd {k}: not seg37list's {name!r}")
        elif c.attributes.get("mseg") != MSEG_SUNRGBD_SPELLING.get(name, name):
            out.append(f"sunrgbd {k} {name!r}: attribute mseg {c.attributes.get('mseg')!r}")
    if 0 not in classes or classes[0].name != "unlabeled":
        out.append("sunrgbd 0: not unlabeled")
    out += [f"sunrgbd {c.name!r}: instances" for c in classes.values() if c.instances]
    return out


RULES: list[Callable[[SceneFiles], list[str]]] = [
    rule_table_sizes,
    rule_roles,
    rule_coco_stuff_matches_labels_txt,
    rule_instance_flags,
    rule_renames,
    rule_special_targets,
    rule_scene_loses_no_class,
    rule_scene_kinds,
    rule_colours,
    rule_descriptions,
    rule_scene_ids,
    rule_scene_xrefs,
    rule_driving_sets,
    rule_sunrgbd,
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_shipped_files_follow_rule(shipped: SceneFiles, rule) -> None:
    problems = rule(shipped)
    assert not problems, "\n".join(problems)


def test_scene_header_counts_match_the_nodes(shipped: SceneFiles) -> None:
    # The comment block of scene.yaml states the node count and largest id; keep it true.
    onto = shipped.ontologies["scene"]
    lines = (SHIPPED / "ontologies" / "scene.yaml").read_text(encoding="utf-8").splitlines()
    header = " ".join(ln.lstrip("#").strip() for ln in lines if ln.startswith("#"))
    m = re.search(r"(\d+) nodes, largest id (\d+)", header)
    assert m is not None, "scene.yaml header: no 'N nodes, largest id M'"
    assert (int(m[1]), int(m[2])) == (len(onto.nodes), max(n.id for n in onto.nodes))


def test_coco_supercategory_tables_are_complete() -> None:
    # Guards the embedded reference itself: every stuff name once, every thing id in one range.
    stuff = [n for names in COCO_STUFF_SUPERCATEGORY.values() for n in names]
    assert sorted(stuff) == sorted(COCO_NAMES[i] for i in range(92, 183))
    assert sorted(i for r in COCO_THING_SUPERCATEGORY.values() for i in r) == list(range(1, 92))
    assert voc_colormap(255) == (224, 224, 192)  # VOC's cream void colour


# ------------------------------------------------------------------------------------------------
# negative tests: each rule catches a broken copy of the files
# ------------------------------------------------------------------------------------------------


def _broken(tmp_path: Path, edits: dict[str, Callable[[dict[str, Any]], None]]) -> SceneFiles:
    """The shipped files, with a copy of each file in ``edits`` (parsed, edited, re-dumped)."""
    root = tmp_path / "taxonomies"
    for rel, edit in edits.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = yaml.safe_load((SHIPPED / rel).read_text(encoding="utf-8"))
        edit(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    return load_scene_files(SHIPPED, edited=root)


def _item(items: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    """The first entry of ``items`` whose keys have the given values."""
    return next(x for x in items if all(x.get(k) == v for k, v in match.items()))


def _set(key: str, field: str, value: Any, **match: Any) -> Callable[[dict[str, Any]], None]:
    """An edit: set ``field`` of the entry of list ``key`` that matches ``match``."""

    def edit(data: dict[str, Any]) -> None:
        _item(data[key], **match)[field] = value

    return edit


def _problems(rule: Callable[[SceneFiles], list[str]], files: SceneFiles, *needles: str) -> None:
    """Assert that ``rule`` reports the broken files, with each needle in its messages."""
    problems = rule(files)
    assert problems, f"{rule.__name__} missed the broken file"
    text = "\n".join(problems)
    for needle in needles:
        assert needle in text, f"{needle!r} not in:\n{text}"


def test_negative_unedited_copy_is_clean(tmp_path: Path) -> None:
    # The copy-edit-load path itself changes nothing: every rule holds on a re-dumped copy.
    files = _broken(tmp_path, {"datasets/pascal_voc.yaml": lambda d: None})
    assert [r.__name__ for r in RULES if r(files)] == []


def test_negative_instance_flag_flipped_on_a_scene_leaf(tmp_path: Path) -> None:
    files = _broken(
        tmp_path, {"ontologies/scene.yaml": _set("nodes", "instances", False, name="cat")}
    )
    _problems(rule_instance_flags, files, "scene leaf 'cat'", "scene group 'animal'")


def test_negative_voc_class_without_instances(tmp_path: Path) -> None:
    edit = _set("classes", "instances", False, id=9)  # chair
    files = _broken(tmp_path, {"datasets/pascal_voc.yaml": edit})
    _problems(rule_instance_flags, files, "pascal_voc 9 'chair': instances False")


def test_negative_two_classes_on_one_scene_node(tmp_path: Path) -> None:
    # Caravan onto car: Cityscapes' caravan / car distinction would be lost.
    files = _broken(
        tmp_path, {"mappings/cityscapes__scene.yaml": _set("rules", "to", "car", id=29)}
    )
    _problems(rule_scene_loses_no_class, files, "all map to scene node 'car'")
    _problems(rule_renames, files, "'caravan': to 'car', want 'caravan'")
    _problems(rule_descriptions, files, "scene 'car': description sources")


def test_negative_class_sent_to_ignore(tmp_path: Path) -> None:
    edit = _set("rules", "to", "ignore", name="giraffe")
    files = _broken(tmp_path, {"mappings/coco_stuff__scene.yaml": edit})
    _problems(rule_scene_loses_no_class, files, "coco_stuff: 170 scene nodes reached, want 171")
    _problems(rule_special_targets, files, "coco_stuff__scene: special targets")


def test_negative_stuff_rename_undone(tmp_path: Path) -> None:
    # desk-stuff must take the plain name `desk` (the desk thing id 69 is unused).
    files = _broken(
        tmp_path,
        {
            "ontologies/scene.yaml": _set("nodes", "name", "desk_stuff", name="desk"),
            "mappings/coco_stuff__scene.yaml": _set("rules", "to", "desk_stuff", to="desk"),
        },
    )
    _problems(rule_renames, files, "'desk-stuff': to 'desk_stuff', want 'desk'")


def test_negative_coco_category_misspelt(tmp_path: Path) -> None:
    edit = _set("classes", "category", "rawmaterial", name="metal")
    files = _broken(tmp_path, {"datasets/coco_stuff.yaml": edit})
    _problems(rule_coco_stuff_matches_labels_txt, files, "'metal': category 'rawmaterial'")


def test_negative_coco_png_attribute_off_by_one(tmp_path: Path) -> None:
    edit = _set("classes", "attributes", {"png": 100, "thing": False}, id=100)
    files = _broken(tmp_path, {"datasets/coco_stuff.yaml": edit})
    _problems(rule_coco_stuff_matches_labels_txt, files, "attribute png 100 != 99")


def test_negative_missing_class(tmp_path: Path) -> None:
    # VOC without its last object class (and its rule): no longer the 21 + 255 ids.
    def drop(key: str) -> Callable[[dict[str, Any]], None]:
        def edit(data: dict[str, Any]) -> None:
            data[key] = [x for x in data[key] if x["id"] != 20]

        return edit

    files = _broken(
        tmp_path,
        {
            "datasets/pascal_voc.yaml": drop("classes"),
            "mappings/pascal_voc__scene.yaml": drop("rules"),
        },
    )
    _problems(rule_table_sizes, files, "pascal_voc: class ids [20]", "not VOCinit.m's order")


def test_negative_scene_colour_not_from_cityscapes(tmp_path: Path) -> None:
    edit = _set("nodes", "color", [1, 2, 3], name="road")
    files = _broken(tmp_path, {"ontologies/scene.yaml": edit})
    _problems(rule_colours, files, "scene 'road': colour (1, 2, 3)")


def test_negative_kind_exact_onto_a_group(tmp_path: Path) -> None:
    edit = _set("rules", "kind", "exact", name="person")
    files = _broken(tmp_path, {"mappings/pascal_voc__scene.yaml": edit})
    _problems(rule_scene_kinds, files, "'person' -> 'person': kind exact, want coarse")


def test_negative_scene_back_to_uint8(tmp_path: Path) -> None:
    # The scene has node ids above 255, so a uint8 copy is refused by the loader, naming the id;
    # (a node on 0, 254 or 255 is refused too: those are the specials). The rule itself catches
    # the dtype on a copy whose nodes would fit.
    def edit(data: dict[str, Any]) -> None:
        data["dtype"] = "uint8"

    with pytest.raises(TaxonomyError, match="does not fit dtype uint8"):
        _broken(tmp_path, {"ontologies/scene.yaml": edit})
    files = load_scene_files(SHIPPED)
    onto = files.ontologies["scene"]
    files.ontologies["scene"] = onto.model_copy(update={"dtype": "uint8"})
    _problems(rule_scene_ids, files, "scene: dtype uint8")


def test_negative_role_lost(tmp_path: Path) -> None:
    # CityPersons 0 marks ignore regions (representations of people), not a person class.
    edit = _set("classes", "role", "class", id=0)
    files = _broken(tmp_path, {"datasets/citypersons.yaml": edit})
    _problems(rule_roles, files, "citypersons 0 'ignore': role 'class'")


def test_negative_title_dropped_and_xref_repeated(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        _item(data["nodes"], name="building_other").pop("title")
        _item(data["nodes"], name="pole")["xref"] = ["mseg:sky"]

    files = _broken(tmp_path, {"ontologies/scene.yaml": edit})
    _problems(rule_renames, files, "scene 'building_other': no title")
    _problems(rule_scene_xrefs, files, "mseg:sky on both")


def test_negative_cityscapes_19_gets_a_parent(tmp_path: Path) -> None:
    edit = _set("nodes", "parent", "road", name="sidewalk")
    files = _broken(tmp_path, {"ontologies/cityscapes-19.yaml": edit})
    _problems(rule_table_sizes, files, "cityscapes-19: not flat")


def test_negative_kitti_rule_differs_from_cityscapes(tmp_path: Path) -> None:
    edit = _set("rules", "to", "ignore", name="parking")
    files = _broken(tmp_path, {"mappings/kitti__cityscapes-19.yaml": edit})
    assert not rule_driving_sets(files)  # parking is ignored by Cityscapes too: still equal
    files = _broken(
        tmp_path / "b", {"mappings/kitti__scene.yaml": _set("rules", "to", "road", name="parking")}
    )
    _problems(rule_driving_sets, files, "kitti__scene 9 'parking': differs")
    _problems(rule_scene_loses_no_class, files, "kitti:", "all map to scene node 'road'")


def test_negative_bdd100k_class_shifted(tmp_path: Path) -> None:
    # Two trainIds swapped (truck 14 / bus 15): the masks would be read as the wrong class.
    def edit(data: dict[str, Any]) -> None:
        a, b = _item(data["classes"], id=14), _item(data["classes"], id=15)
        a["name"], b["name"] = b["name"], a["name"]

    files = _broken(tmp_path, {"datasets/bdd100k.yaml": edit})
    _problems(rule_driving_sets, files, "bdd100k 14: not label.py's 'truck'")


def test_negative_camvid_colour_and_merge(tmp_path: Path) -> None:
    files = _broken(
        tmp_path,
        {
            "datasets/camvid.yaml": _set("classes", "color", [64, 64, 1], name="Pedestrian"),
            "mappings/camvid__scene.yaml": _set("rules", "to", "pedestrian", name="Child"),
        },
    )
    _problems(rule_driving_sets, files, "camvid: classes are not label_colors.txt")
    _problems(rule_scene_loses_no_class, files, "camvid:", "all map to scene node 'pedestrian'")


def test_negative_driving_kind_exact_onto_a_group(tmp_path: Path) -> None:
    edit = _set("rules", "kind", "exact", name="Tree")
    files = _broken(tmp_path, {"mappings/camvid_11__scene.yaml": edit})
    _problems(rule_scene_kinds, files, "camvid_11__scene 5 'Tree' -> 'vegetation': kind exact")


def test_negative_panoptic_merged_class_on_a_wider_group(tmp_path: Path) -> None:
    # tree-merged is branch + tree + bush + leaves: vegetation also holds flower and plant-other.
    edit = _set("rules", "to", "vegetation", name="tree-merged")
    files = _broken(tmp_path, {"mappings/coco_panoptic__scene.yaml": edit})
    _problems(rule_renames, files, "'tree-merged': to 'vegetation', want 'tree_merged'")


def test_negative_panoptic_category_dropped(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["classes"] = [c for c in data["classes"] if c["name"] != "gravel"]

    files = _broken(tmp_path, {"datasets/coco_panoptic.yaml": edit})
    _problems(rule_table_sizes, files, "coco_panoptic: 132 classes", "'gravel'")


def test_negative_ade_stuff_flag_flipped(tmp_path: Path) -> None:
    edit = _set("classes", "attributes", {"short": "lamp", "stuff": True}, id=37)
    files = _broken(tmp_path, {"datasets/ade20k.yaml": edit})
    _problems(rule_instance_flags, files, "ade20k 37 'lamp'")


def test_negative_ade_class_on_an_unrelated_node(tmp_path: Path) -> None:
    # ADE20K 94 pole onto polegroup: none of its names, and polegroup is Cityscapes' own node.
    edit = _set("rules", "to", "polegroup", id=94)
    files = _broken(tmp_path, {"mappings/ade20k__scene.yaml": edit})
    _problems(rule_renames, files, "ade20k__scene 94 'pole': to 'polegroup', want 'pole'")


def test_negative_sunrgbd_classes_swapped_and_merged(tmp_path: Path) -> None:
    # desk and shelves swapped (the PNG values would be read as the wrong class); sofa sent to
    # chair's node.
    def edit(data: dict[str, Any]) -> None:
        a, b = _item(data["classes"], id=14), _item(data["classes"], id=15)
        a["name"], b["name"] = b["name"], a["name"]

    files = _broken(
        tmp_path,
        {
            "datasets/sunrgbd.yaml": edit,
            "mappings/sunrgbd__scene.yaml": _set("rules", "to", "chair", name="sofa"),
        },
    )
    _problems(rule_sunrgbd, files, "sunrgbd 14: not seg37list's 'desk'")
    _problems(rule_scene_loses_no_class, files, "sunrgbd:", "all map to scene node 'chair'")


def test_negative_sunrgbd_approx_made_exact(tmp_path: Path) -> None:
    edit = _set("rules", "kind", "exact", name="lamp")
    files = _broken(tmp_path, {"mappings/sunrgbd__scene.yaml": edit})
    _problems(rule_scene_kinds, files, "sunrgbd__scene 35 'lamp' -> 'lamp': kind exact")


def test_negative_description_sources_of_the_later_datasets(tmp_path: Path) -> None:
    # road's "From:" back to the five design datasets; dashed_line (Mapillary v2.0 only) without
    # its "From:"; floor's two sources in the wrong order; an IDD rule moved to another node.
    road = (
        "From: Cityscapes road (7), COCO-Stuff road (149), ADE20K road, route (7), COCO panoptic "
        "road (149)."
    )

    def edit(data: dict[str, Any]) -> None:
        _item(data["nodes"], name="road")["description"] = road
        _item(data["nodes"], name="dashed_line")["description"] = "Dashed lane line."
        _item(data["nodes"], name="floor")["description"] = (
            "Indoor floors. From: SUN RGB-D floor (2), ADE20K floor, flooring (4)."
        )

    files = _broken(
        tmp_path,
        {
            "ontologies/scene.yaml": edit,
            "mappings/idd__scene.yaml": _set("rules", "to", "road", name="parking"),
        },
    )
    _problems(
        rule_descriptions,
        files,
        "Mapillary Vistas v1.2 construction--flat--road (13), Mapillary Vistas v2.0 "
        "construction--flat--road (21), IDD road (0), IDD parking (1), BDD100K road (0), KITTI "
        "road (7), CamVid Road (17), CamVid-11 Road (3).'",
        "scene 'dashed_line': description sources None, want 'From: Mapillary Vistas v2.0 "
        "marking--continuous--dashed (35).'",
        "scene 'floor': description sources 'From: SUN RGB-D floor (2), ADE20K",
        "scene 'parking': description sources",
    )
