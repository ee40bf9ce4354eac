"""The decoy's archive: its format and its writer (replay is a process: processes/replay).

May import core, settings and kafka_admin; never the Faust app.
"""
