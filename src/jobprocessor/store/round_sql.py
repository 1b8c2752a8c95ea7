"""A worker's round, written once for both databases.

A round records how the worker's finished jobs ended, claims queued jobs for its
free slots, and writes the timeline events of both. The statements below are the
same on PostgreSQL and SQLite; a ``Flavour`` fills in the few places where the two
speak differently: how a parameter is written, how a table of rows is read from one
JSON parameter, how a column is tested against a list, and whether the claim may
skip rows that other workers have locked. ``pg_round`` runs them as one statement
of data-modifying CTEs (one round trip), ``sqlite_round`` as statements in one
``BEGIN IMMEDIATE`` transaction (SQLite has no data-modifying CTEs, and no round
trips to save).

The outcomes come in as one JSON document, so that a statement's text (and so its
prepared plan) is the same whatever their number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobprocessor.model import Event, Status
from jobprocessor.store._sql import HELD_SQL
from jobprocessor.store.tables import jobs

if TYPE_CHECKING:
    from jobprocessor.store.records import Outcome, RunLease

#: The columns of an outcome in the ``outcomes`` parameter, with their SQL types.
#: (``job_id``, not ``id``: SQLite's RETURNING names the updated table's columns
#: unqualified, and PostgreSQL's would then find two ``id``.)
OUTCOME_COLUMNS = {
    "job_id": "bigint",
    "attempt": "integer",
    "status": "text",
    "result": "jsonb",
    "error_type": "text",
    "error_message": "text",
    "error_traceback": "text",
}

_SUCCEEDED = f"d.status = '{Status.SUCCEEDED.value}'"


@dataclass(frozen=True, slots=True)
class Flavour:
    """How one database writes the round's few dialect-specific parts."""

    #: A named parameter as the driver expects it.
    param: Callable[[str], str]
    #: ``records(parameter, columns, alias)``: the rows of a JSON array parameter as
    #: a table with the given columns (SQL types as PostgreSQL names them).
    records: Callable[[str, dict[str, str], str], str]
    #: ``member(column, parameter)``: the column's value is one of a list parameter.
    member: Callable[[str, str], str]
    #: The list parameter's value as the driver takes it.
    list_value: Callable[[Sequence[str]], Any]
    #: Appended to the claim's choice of rows: skip rows other workers have locked.
    skip_locked: str


def finish_sql(flavour: Flavour) -> str:
    """End the jobs of ``outcomes`` whose runs still hold them (this worker, the
    outcome's attempt); their ids."""
    p = flavour.param
    return f"""
UPDATE {jobs.name} AS j
SET status = d.status,
    finished_at = {p("now")},
    result = CASE WHEN {_SUCCEEDED} THEN d.result ELSE j.result END,
    error_type = CASE WHEN {_SUCCEEDED} THEN j.error_type ELSE d.error_type END,
    error_message = CASE WHEN {_SUCCEEDED} THEN j.error_message ELSE d.error_message END,
    error_traceback = CASE WHEN {_SUCCEEDED} THEN j.error_traceback ELSE d.error_traceback END
FROM {flavour.records("outcomes", OUTCOME_COLUMNS, "d")}
WHERE j.id = d.job_id AND j.attempts = d.attempt AND j.worker_id = {p("worker")}
  AND j.status IN {HELD_SQL}
RETURNING id"""


def claim_sql(flavour: Flavour) -> str:
    """Take queued jobs of the given types whose lock value no running job holds,
    most urgent first (priority, then age); of several queued jobs with one lock
    value only the first. The claimed rows, whole."""
    p = flavour.param
    return f"""
UPDATE {jobs.name}
SET status = '{Status.RUNNING.value}', worker_id = {p("worker")}, started_at = {p("now")},
    attempts = attempts + 1
WHERE status = '{Status.QUEUED.value}' AND id IN (
    SELECT id FROM (
        SELECT id, lock_key,
               row_number() OVER (PARTITION BY lock_key ORDER BY id) AS rank
        FROM (
            SELECT q.id, q.lock_key FROM {jobs.name} AS q
            WHERE q.status = '{Status.QUEUED.value}'
              AND {flavour.member("q.type", "types")}
              AND (q.lock_key IS NULL OR NOT EXISTS (
                  SELECT 1 FROM {jobs.name} AS h
                  WHERE h.lock_key = q.lock_key AND h.status IN {HELD_SQL}))
            ORDER BY q.priority, q.id
            LIMIT {p("claim_limit")}
            {flavour.skip_locked}
        ) AS candidates
    ) AS ranked
    WHERE lock_key IS NULL OR rank = 1
)
RETURNING *"""


def outcomes_value(outcomes: Sequence[tuple[RunLease, Outcome]]) -> str:
    """The ``outcomes`` parameter: one JSON document."""
    return json.dumps(
        [
            {
                "job_id": lease.job_id,
                "attempt": lease.attempt,
                "status": o.status.value,
                "result": o.result if o.status is Status.SUCCEEDED else None,
                "error_type": o.error.type if o.error else None,
                "error_message": o.error.message if o.error else None,
                "error_traceback": o.error.traceback if o.error else None,
            }
            for lease, o in outcomes
        ]
    )


def end_events(outcomes: Sequence[tuple[RunLease, Outcome]]) -> list[tuple[int, str, str | None]]:
    """The timeline events that close the jobs, as (job id, event, detail), in order:
    a forced stop says so first, with the reason; then the final status."""
    events: list[tuple[int, str, str | None]] = []
    for lease, outcome in outcomes:
        job_id = lease.job_id
        if outcome.forced:
            events.append((job_id, Event.STOPPED_BY_FORCE.value, outcome.detail))
            events.append((job_id, outcome.status.value, None))
        else:
            events.append((job_id, outcome.status.value, outcome.detail))
    return events


def started_detail(worker_id: str) -> str:
    """The detail of a claimed job's ``started`` event."""
    return f"worker {worker_id}"
