"""The ``harmonize`` command line: thin typer commands over the library.

Heavy modules (numpy, numba, zarr, dask) are imported inside commands so ``harmonize --help`` starts
fast. Each command group lives in its own module and is added here.
"""

from __future__ import annotations

import typer

from harmonize.cli import config as _config
from harmonize.cli import datasets as _datasets
from harmonize.cli import diff as _diff
from harmonize.cli import export as _export
from harmonize.cli import leakage as _leakage
from harmonize.cli import report as _report
from harmonize.cli import run as _run
from harmonize.cli import taxonomy as _taxonomy
from harmonize.cli import view as _view

app = typer.Typer(
    rich_markup_mode=None,
    name="harmonize",
    help="Harmonize the label maps of public segmentation datasets into one training-ready store.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion
    pretty_exceptions_enable=False,
)
app.add_typer(_taxonomy.app, name="taxonomy")
_datasets.register(app)
_run.register(app)
_export.register(app)
_config.register(app)
_report.register(app)
_diff.register(app)
_leakage.register(app)
_view.register(app)


def _version(value: bool) -> None:
    if value:
        from harmonize._version import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Harmonize the label maps of public segmentation datasets into one training-ready store."""


def main() -> None:
    """Entry point of the ``harmonize`` console script."""
    from harmonize.cli._errors import run_app

    run_app(app)
