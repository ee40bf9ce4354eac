"""The decoy's archive: its format, its writer, and replay of an archive.

May import core, settings and kafka_admin; never the Faust app.
"""
