"""Transitional alias of :mod:`harmonize.lookalike._draw` (the generators' drawing helpers).

Only the dataset modules whose generators still live beside their readers import it (cityscapes,
monusac, pascal_voc, coco_stuff). Delete this module, and its entry in ``TRANSITIONAL`` of
``tests/repo/test_layout.py``, once their generators have moved to ``harmonize/lookalike/``.
"""

from __future__ import annotations

from harmonize.lookalike._draw import (
    Ellipse,
    he_image,
    random_ellipses,
    scene_image,
    write_mat,
    write_rgb,
)

__all__ = ["Ellipse", "he_image", "random_ellipses", "scene_image", "write_mat", "write_rgb"]
