"""The Curtois & Qu shift scheduling benchmark in wfm: read an instance, solve it, measure.

``instance`` reads the benchmark's text format; ``model`` states its rules and exact
objective for CP-SAT; ``search`` solves (a first roster per employee, CP-SAT, then
large neighbourhood search), with a ``StopFlag`` (``control``) for a job's cancel;
``importing`` writes an instance into the WFM model as a planning unit (day models,
contracts, wishes, weighted requirements), ``period`` reads such a unit back as an
instance and saves a roster to its Schedule level, ``optimize`` is what "Create
optimized schedule" runs for a unit with a planning period, and ``cli`` is
``python -m wfm.benchmark solve``. The point is a number from outside the project
for wfm's optimizer: see docs/nrp-benchmark.md.
"""
