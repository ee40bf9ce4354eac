"""Developer tooling, not product: the dev Kafka broker and ``rendezvous demo``.

May import anything of the project.
"""
