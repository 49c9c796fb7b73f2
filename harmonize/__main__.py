"""``python -m harmonize``: the command line."""

from harmonize.cli import main

main()
