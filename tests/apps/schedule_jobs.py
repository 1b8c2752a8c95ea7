"""An app module that declares a schedule, as an application would."""

from __future__ import annotations

from jobprocessor import recurring

recurring(
    "declared-hourly",
    cron="0 * * * *",
    type="diag.noop",
    timezone="Europe/Berlin",
    user="alice",
    missed="skip",
)
