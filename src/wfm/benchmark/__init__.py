"""The Curtois & Qu shift scheduling benchmark in wfm: read an instance, solve it, measure.

``instance`` reads the benchmark's text format; ``model`` states its rules and exact
objective for CP-SAT; ``search`` solves (a first roster per employee, CP-SAT, then
large neighbourhood search), with a ``StopFlag`` (``control``) for a job's cancel;
``store`` keeps an imported instance with its planning unit, ``optimize`` is what
"Create optimized schedule" runs for such a unit, and ``cli`` is
``python -m wfm.benchmark solve``. The point is a number from outside the project
for wfm's optimizer: see docs/nrp-benchmark.md.
"""
