"""One module per system under test: the submitting side, the worker side and its jobs.

Each module is imported both by the benchmark (to submit, watch and cancel) and
by the worker processes it starts (which find the job functions in it), so the
job bodies of every system are the same few lines of ``bench.stamps``.
"""
