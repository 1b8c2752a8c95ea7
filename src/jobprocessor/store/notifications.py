"""PostgreSQL notifications: new jobs wake idle workers, cancels reach a worker at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine

from jobprocessor.store._sql import CANCEL_CHANNEL, QUEUED_CHANNEL
from jobprocessor.store.engine import libpq_dsn

logger = logging.getLogger(__name__)

#: The longest pause between attempts to listen again after a lost connection.
RECONNECT_PAUSE_MAX = 5.0


def listen(
    engine: Engine,
    worker_id: str,
    stopped: threading.Event,
    on_queued: Callable[[], None],
    on_cancel: Callable[[], None],
) -> None:
    """Turn notifications into calls until ``stopped``, reconnecting after a lost
    connection (a cancel for another worker calls nothing)."""
    pause = 0.5
    while not stopped.is_set():
        try:
            with psycopg.connect(libpq_dsn(engine), autocommit=True) as connection:
                connection.execute(f"LISTEN {QUEUED_CHANNEL}")
                connection.execute(f"LISTEN {CANCEL_CHANNEL}")
                pause = 0.5
                on_queued()  # jobs may have arrived while we were not listening
                while not stopped.is_set():
                    for note in connection.notifies(timeout=1.0):
                        if note.channel == QUEUED_CHANNEL:
                            on_queued()
                        elif note.payload in ("", worker_id):
                            on_cancel()
        except psycopg.Error as error:
            logger.warning("LISTEN connection lost (%s); reconnecting", error)
            stopped.wait(pause)
            pause = min(pause * 2, RECONNECT_PAUSE_MAX)
