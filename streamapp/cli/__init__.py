"""The ``rendezvous`` command and its subcommands (click).

Imports what it runs lazily, inside each command, so ``--help`` stays fast.
"""
