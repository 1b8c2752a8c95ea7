"""The chaos run (``scripts/chaos``): kills, a PostgreSQL restart, a paused worker and a
network partition under a running cluster, then a check of every invariant that
docs/reliability.md promises.

- ``plan``: the options and the seeded schedule of faults;
- ``cluster``: the worker processes, the network namespace, the journal of faults;
- ``conductor``: the loop that does the faults on time;
- ``submitter``: keeps jobs flowing (``bench/chaos_jobs.py``);
- ``pg``: the run's database, a watcher on it, the restart;
- ``collect``, ``holds``, ``invariants``: what happened, and whether it was allowed;
- ``run``: from start to end, the table and the JSON.
"""
