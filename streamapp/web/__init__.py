"""REST views of the worker (Faust web views); they read tables but never write them.

May import the app, settings, core, worker state and stats.
"""
