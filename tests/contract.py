"""What the reference (docs/reference/) fixes, written once for the tests that check it."""

from __future__ import annotations

import re

#: The keys of a job object, in the order docs/reference/job-json.md writes them.
CONTRACT_JOB_KEYS = [
    "id",
    "type",
    "category",
    "title",
    "status",
    "status_group",
    "params",
    "submitted_by",
    "created_at",
    "started_at",
    "finished_at",
    "progress",
    "restarted_from",
    "cancel_requested_by",
    "cancel_requested_at",
    "error",
    "result",
    "queue",
    "priority",
    "timeout",
    "run_at",
    "waiting_for",
    "schedule",
    "scheduled_for",
]
#: ISO 8601 UTC with milliseconds and a Z, as the engine writes every time.
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
