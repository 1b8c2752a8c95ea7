"""Side-by-side benchmarks of JobProcessor, its peers and the databases' raw limits.

``scripts/bench`` runs them all (``python -m bench.run``); bench/README.md says
what each figure means. Nothing here is imported by the package.
"""
