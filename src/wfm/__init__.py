"""The reference workforce-management (WFM) application of JobProcessor.

A small but real WFM data model (planning units, employees, contracts, skills,
activities, day models, shift sequences, staff requirements and schedule levels)
in the engine's database, with its own tables and migrations, and the job types
that work on it: scheduling, reports and mass updates (``--app wfm.jobs``).

It is an application like any other: it registers job types with ``@job`` and
submits through ``jobprocessor``'s public API; the engine never imports it.
"""
