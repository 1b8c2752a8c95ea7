"""One sentence that says what an action did to each selected job.

"2 restarted (as #31 and #32). Not restarted: job 17 is still running; only
finished jobs restart." The console shows it after every action, whichever way
the action was sent (script or plain form).
"""

from __future__ import annotations

from collections.abc import Sequence

from jobprocessor.model import Status
from jobprocessor.service import BulkResult

VERBS = {"cancel": "canceled", "restart": "restarted", "delete": "deleted"}


def ids_text(ids: Sequence[int]) -> str:
    """'#3', '#3 and #4', '#3, #4 and #5'."""
    tags = [f"#{i}" for i in ids]
    return tags[0] if len(tags) == 1 else ", ".join(tags[:-1]) + " and " + tags[-1]


def summarize(action: str, results: Sequence[BulkResult]) -> str:
    """What happened, job by job, in a sentence or three."""
    if not results:
        return "Select one or more jobs first."
    done = [r for r in results if r.ok]
    sentences = []
    if action == "cancel":
        stopped = [r.id for r in done if r.job is not None and r.job.status is Status.CANCELED]
        asked = [r.id for r in done if r.id not in stopped]
        if stopped:
            sentences.append(f"{len(stopped)} canceled ({ids_text(stopped)}).")
        if asked:
            sentences.append(
                f"{len(asked)} asked to stop ({ids_text(asked)}); "
                "stopped by force if they do not end within their grace time."
            )
    elif action == "restart" and done:
        new_ids = [r.job.id for r in done if r.job is not None]
        sentences.append(f"{len(done)} restarted (as {ids_text(new_ids)}).")
    elif done:
        sentences.append(
            f"{len(done)} {VERBS.get(action, action)} ({ids_text([r.id for r in done])})."
        )
    refused = [r.error or f"job {r.id}: refused" for r in results if not r.ok]
    if refused:
        sentences.append(f"Not {VERBS.get(action, action)}: " + "; ".join(refused) + ".")
    return " ".join(sentences)
