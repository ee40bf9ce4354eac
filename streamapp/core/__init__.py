"""The pure core: records, codec, policy, mailbox, control, admission, registry.

Plain functions over plain values. Imports nothing from the app, settings, clocks or I/O
(tests/unit/test_core_purity.py checks it).
"""
