"""``harmonize export``: write a store in the layouts training frameworks read."""

from __future__ import annotations

from pathlib import Path

import typer

from harmonize.cli._store import (
    config_option,
    open_cli_store,
    storage_options_option,
    store_access,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI app ``app``."""
    export = typer.Typer(
        rich_markup_mode=None,
        help="Export a store to other tools' folder layouts.",
        no_args_is_help=True,
    )
    export.command("png")(export_png_cmd)
    export.command("coco")(export_coco_cmd)
    export.command("pannuke")(export_pannuke_cmd)
    export.command("hovernet")(export_hovernet_cmd)
    export.command("ome-zarr")(export_ome_zarr_cmd)
    app.add_typer(export, name="export")


def export_png_cmd(
    store: str = typer.Argument(..., help="Store path or URL."),
    out: Path = typer.Argument(..., help="Output folder."),
    instances: bool = typer.Option(False, "--instances", help="Also write 16-bit instance PNGs."),
    ids: str = typer.Option(
        "train",
        "--ids",
        help="Label values: 'train' (contiguous 0..C-1, default), 'raw' (ontology ids) or "
        "'present' (contiguous over the classes this store holds: ontologies of over 255 classes).",
    ),
    storage_options: str | None = storage_options_option(),
    config: Path | None = config_option(),
) -> None:
    """Write images/ and annotations/ PNGs per split, classes.json and mmseg_dataset.py."""
    from harmonize.export.png import export_png

    if ids not in ("train", "raw", "present"):  # harmonize.export.png.IDS (not imported here)
        raise typer.BadParameter("must be 'train', 'raw' or 'present'", param_hint="--ids")
    opened = open_cli_store(store, storage_options, config)
    with store_access(store):
        n = export_png(opened, out, instances=instances, ids=ids)
    typer.echo(f"wrote {n} samples under {out}")


def export_coco_cmd(
    store: str = typer.Argument(..., help="Store path or URL."),
    out: Path = typer.Argument(..., help="Output folder."),
    images: str = typer.Option(
        "png", "--images", help="'png' (write images), 'link' (symlink source files) or 'none'."
    ),
    storage_options: str | None = storage_options_option(),
    config: Path | None = config_option(),
) -> None:
    """Write COCO instance-segmentation JSON (RLE) per source and split, plus images."""
    from harmonize.export.coco import export_coco

    if images not in ("png", "link", "none"):
        raise typer.BadParameter("must be 'png', 'link' or 'none'", param_hint="--images")
    opened = open_cli_store(store, storage_options, config)
    with store_access(store):
        r = export_coco(opened, out, images=images)
    typer.echo(
        f"wrote {r['images']} images, {r['annotations']} annotations in {len(r['files'])} files "
        f"under {out} ({r['skipped_instances']} instances of special classes skipped)"
    )


def export_pannuke_cmd(
    store: str = typer.Argument(..., help="Store path or URL."),
    out: Path = typer.Argument(..., help="Output folder."),
    patch: int = typer.Option(256, "--patch", help="Tile size (grid from the top-left)."),
    pad: bool = typer.Option(
        True, "--pad/--drop-partial", help="Pad border tiles (default) or drop them."
    ),
    storage_options: str | None = storage_options_option(),
    config: Path | None = config_option(),
) -> None:
    """Write PanNuke folds (images.npy, masks.npy, types.npy) for CellViT / PanNuke-metrics."""
    from harmonize.export.pannuke import export_pannuke

    opened = open_cli_store(store, storage_options, config)
    with store_access(store):
        r = export_pannuke(opened, out, patch=patch, pad=pad)
    typer.echo(
        f"wrote {r['tiles']} tiles in {len(r['folds'])} folds under {out} "
        f"({r['dropped_instances']} instances with no PanNuke class dropped)"
    )


def export_hovernet_cmd(
    store: str = typer.Argument(..., help="Store path or URL."),
    out: Path = typer.Argument(..., help="Output folder."),
    patch_size: int = typer.Option(540, "--patch-size", help="Patch (window) size."),
    step: int = typer.Option(164, "--step", help="Step between patches."),
    mode: str = typer.Option(
        "mirror", "--mode", help="'mirror' (reflect-pad, default) or 'valid'."
    ),
    storage_options: str | None = storage_options_option(),
    config: Path | None = config_option(),
) -> None:
    """Write HoVer-Net training patches (.npy RGB + instance + type) and type_info.json."""
    from harmonize.export.hovernet import export_hovernet

    if mode not in ("mirror", "valid"):
        raise typer.BadParameter("must be 'mirror' or 'valid'", param_hint="--mode")
    opened = open_cli_store(store, storage_options, config)
    with store_access(store):
        r = export_hovernet(opened, out, patch_size=patch_size, step=step, mode=mode)
    typer.echo(
        f"wrote {r['patches']} patches under {out} "
        f"({r['skipped_samples']} samples smaller than the patch skipped)"
    )


def export_ome_zarr_cmd(
    store: str = typer.Argument(..., help="Store path or URL."),
    out: Path = typer.Argument(..., help="New output folder (OME-Zarr 0.5, Zarr v3)."),
    storage_options: str | None = storage_options_option(),
    config: Path | None = config_option(),
) -> None:
    """Copy images (channel-first) and label maps into OME-Zarr 0.5 images with labels (napari,
    ome_zarr). The store's class maps are already OME label images without this copy."""
    from harmonize.export.ome_zarr import export_ome_zarr

    opened = open_cli_store(store, storage_options, config)
    with store_access(store):
        r = export_ome_zarr(opened, out)
    typer.echo(f"wrote {r['samples']} samples of {len(r['sources'])} sources under {out}")
