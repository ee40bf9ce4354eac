"""Example models for rendezvous; each is a class behind the ``rendezvous.models`` entry point."""
