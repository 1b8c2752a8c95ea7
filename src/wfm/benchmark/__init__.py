"""The Curtois & Qu shift scheduling benchmark in wfm: read an instance, solve it, measure.

``instance`` reads the benchmark's text format; ``model`` states its rules and exact
objective for CP-SAT; ``search`` solves (CP-SAT, then large neighbourhood search),
with a ``StopFlag`` (``control``) for a job's cancel. The point is a number from
outside the project for wfm's optimizer: see docs/benchmarks.md.
"""
