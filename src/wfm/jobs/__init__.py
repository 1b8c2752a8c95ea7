"""wfm's job types: load them with ``--app wfm.jobs``.

Importing this package registers every type (one module per concept):
scheduling (insert shift sequences, create optimized schedule, job optimization,
replace activities, empty levels, copy level content, import of a benchmark
instance), reports (weekly schedule,
coverage, absence statistics) and the mass update of employees.
"""

from wfm.jobs import (
    copy_level,
    empty_levels,
    import_benchmark,
    insert_sequences,
    job_optimization,
    mass_update,
    optimize,
    replace_activities,
    reports,
)

__all__ = [
    "copy_level",
    "empty_levels",
    "import_benchmark",
    "insert_sequences",
    "job_optimization",
    "mass_update",
    "optimize",
    "replace_activities",
    "reports",
]
