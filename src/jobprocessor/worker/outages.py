"""How the worker lives through database outages (a restart, a lost connection).

What a job reported must not be lost: outcomes, progress and log entries are
written with ``retry`` until the database answers. Periodic work (heartbeats,
cancel polls, rescue, retention) runs under ``guard``: an outage is logged and the
work is simply done again next time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: The longest pause between two attempts of ``retry``.
RETRY_PAUSE_MAX = 5.0
#: How long ``guard`` waits after a failed attempt before its caller goes on.
GUARD_PAUSE = 0.5


def is_transient(error: DBAPIError) -> bool:
    """Whether the database may answer if asked again (a lost connection, an outage)."""
    return bool(error.connection_invalidated) or isinstance(error, OperationalError)


def retry(action: Callable[[], T]) -> T:
    """Run ``action`` until the database answers; other errors are raised."""
    pause = 0.2
    while True:
        try:
            return action()
        except DBAPIError as error:
            if not is_transient(error):
                raise
            logger.warning("database unavailable (%s); retrying in %.1f s", error.orig, pause)
            time.sleep(pause)
            pause = min(pause * 2, RETRY_PAUSE_MAX)


def guard(action: Callable[[], T], stopped: threading.Event) -> T | None:
    """Run a periodic action; a database error is logged and None returned, after a
    pause (cut short by ``stopped``) so that an outage is not hammered."""
    try:
        return action()
    except DBAPIError as error:
        logger.warning("database error (%s); will try again", error.orig)
        stopped.wait(GUARD_PAUSE)
        return None


def try_once(action: Callable[[], object], what: str) -> None:
    """At shutdown: one attempt; a database error is logged, not raised."""
    try:
        action()
    except DBAPIError as error:
        logger.warning("could not %s: %s", what, error.orig)
