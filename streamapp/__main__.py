"""``python -m streamapp`` runs the ``rendezvous`` command."""

from streamapp.cli import main

main()
