"""``python -m streamapp`` runs the ``rendezvous`` command."""

from streamapp.cli.main import main

main()
