"""``harmonize view``: open a store's images and label maps in napari (the ``view`` extra)."""

from __future__ import annotations

from pathlib import Path

import typer

from harmonize.cli._store import config_option, open_cli_store, storage_options_option, store_access

#: What to do without napari: install the extra, or open the OME-Zarr label images in plain napari.
NO_NAPARI = (
    "napari is not installed: pip install 'harmonize[view]' (napari and napari-ome-zarr), "
    "or open a source's label map in plain napari: napari --plugin napari-ome-zarr "
    "STORE/sources/SOURCE"
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI app ``app``."""
    app.command("view")(view_cmd)


def view_cmd(
    store: str = typer.Argument(..., help="Store path or URL."),
    sample: int | None = typer.Option(
        None,
        "--sample",
        help="One sample, cropped to its size: the store-wide index, or the index within --source.",
    ),
    source: str | None = typer.Option(None, "--source", help="Only this source."),
    storage_options: str | None = storage_options_option(),
    config: Path | None = config_option(),
) -> None:
    """Show images, class maps (ontology colours) and instance maps in napari.

    Without --sample every source is one stack with a 'sample' slider (read lazily).
    """
    from harmonize.store.view import add_layers, view_layers

    opened = open_cli_store(store, storage_options, config)
    with store_access(store):
        layers = view_layers(opened, source=source, sample=sample)
    try:
        import napari
    except ImportError:
        typer.echo(NO_NAPARI, err=True)
        raise typer.Exit(2) from None

    viewer = napari.Viewer(title=f"harmonize view {store}")
    add_layers(viewer, layers)
    napari.run()
