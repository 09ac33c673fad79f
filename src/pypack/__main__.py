"""``python -m pypack`` runs the pypack CLI."""

from pypack.pack.cli import main

main()
