"""Persistence: every SQL statement of the engine lives in this package.

Its modules are imported by name (``store.jobs``, ``store.engine``...), none here:
``store.records`` is shared with job processes, which need no database code.
"""
