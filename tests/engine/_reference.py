"""Plain-numpy / plain-Python references the engine is checked against (written independently of
the kernels: masking with ``lut[...]``, ``np.unique`` relabelling, a loop-based majority vote)."""

from __future__ import annotations

import numpy as np

from harmonize.types import CompiledMapping


def ref_semantic(sem: np.ndarray, m: CompiledMapping) -> tuple[np.ndarray, int]:
    """``lut[img - offset]`` where declared and inside the table, else ``ignore``; unknown count."""
    v = sem.astype(np.int64)
    if sem.dtype == np.uint64:
        big = sem > np.iinfo(np.int64).max
    else:
        big = np.zeros(sem.shape, bool)
    idx = v - m.offset
    inside = (idx >= 0) & (idx < len(m.lut)) & ~big
    safe = np.where(inside, idx, 0)
    ok = inside.copy()
    if len(m.lut):
        ok &= np.asarray(m.declared)[safe]
        out = np.where(ok, np.asarray(m.lut)[safe], m.ignore)
    else:
        out = np.full(sem.shape, m.ignore)
    return out.astype(m.out_dtype), int((~ok).sum())


def ref_keep_out(m: CompiledMapping, n_out: int) -> np.ndarray:
    keep = np.zeros(n_out, bool)
    for j in range(len(m.lut)):
        if m.declared[j] and m.keep_instances[j]:
            keep[int(m.lut[j])] = True
    keep[m.ignore] = False
    if m.background is not None:
        keep[m.background] = False
    return keep


def ref_native_class(c: int, m: CompiledMapping) -> int | None:
    """Output class of a native per-instance class; None = drop (keep_instances False);
    ``ignore`` for unknown classes."""
    j = int(c) - m.offset
    if not (0 <= j < len(m.lut)) or not m.declared[j]:
        return m.ignore
    if not m.keep_instances[j]:
        return None
    return int(m.lut[j])


def ref_instances(
    inst: np.ndarray,
    sem_out: np.ndarray,
    m: CompiledMapping,
    given: dict[int, int] | None = None,
) -> dict:
    """Loop-based reference of the instance rules (see harmonize.engine.sample)."""
    n_out = m.n_out
    keep_out = ref_keep_out(m, n_out)
    ids = np.unique(inst[inst != 0]).astype(np.int64) if inst.size else np.zeros(0, np.int64)
    if inst.dtype == np.uint64:
        ids = np.unique(inst[inst != 0])  # keep exact uint64 values
    classes, kept, mixed, tied, dropped = [], [], [], [], []
    for old in ids:
        mask = inst == old
        vals, cnts = np.unique(sem_out[mask], return_counts=True)
        top = cnts.max()
        winners = [int(v) for v, n in zip(vals, cnts, strict=True) if n == top]
        majority = min(winners)
        if len(vals) > 1:
            mixed.append(int(old))
        if given is not None and int(old) in given:
            c = ref_native_class(given[int(old)], m)
            keep = c is not None and c != m.ignore and c != m.background
            cls = c
        else:
            if len(winners) > 1:
                tied.append(int(old))
            cls = majority
            keep = cls != m.ignore and cls != m.background and keep_out[cls]
        if keep:
            kept.append(int(old))
            classes.append(cls)
        else:
            dropped.append(int(old))
    new = np.zeros(inst.shape, np.uint32)
    for k, old in enumerate(kept, start=1):
        new[inst == old] = k
    counts = np.zeros(n_out, np.int64)
    for c in classes:
        counts[c] += 1
    ids_t = np.uint64 if inst.dtype == np.uint64 else np.int64
    return {
        "instance": new,
        "classes": np.array(classes, np.int64),
        "old_ids": np.array(kept, ids_t),
        "counts": counts,
        "mixed": np.array(mixed, ids_t),
        "tied": np.array(tied, ids_t),
        "dropped": np.array(dropped, ids_t),
    }


def ref_collapse(stack: np.ndarray, classes, bg_channel, background=0, void=255):
    """PanNuke-metrics / CellViT-style collapse: channel by channel, later channel wins; ids made
    unique with a running offset (sum of the previous channels' max ids)."""
    h, w, _ = stack.shape
    sem = np.full((h, w), void, np.int64)
    if bg_channel is not None:
        sem[stack[..., bg_channel] != 0] = background
    inst = np.zeros((h, w), np.int64)
    offset = 0
    for c, cls in enumerate(classes):
        layer = stack[..., c].astype(np.int64)
        inst = np.where(layer > 0, layer + offset, inst)
        sem = np.where(layer > 0, cls, sem)
        offset += int(max(layer.max(initial=0), 0))
    ids = np.unique(inst[inst > 0])
    # an id's class: the class at any of its pixels (both maps take the later channel)
    id_cls = [int(sem[inst == i][0]) for i in ids]
    return (
        sem.astype(np.uint8),
        inst.astype(np.int32),
        ids.astype(np.int64),
        np.array(id_cls, np.int32),
    )
