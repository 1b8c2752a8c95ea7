"""The checks about faults: who was declared lost, how soon, and why.

A ``worker_lost`` event must name a worker that was killed, paused or cut off; a
killed worker's jobs must be rescued within ``RESCUE_LIMIT``; the paused and the
cut-off worker's before they came back; jobs must run again soon after the restart.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.chaos.cluster import Fault
from bench.chaos.evidence import SHOWN, Check, Evidence, spread
from bench.chaos.holds import FINAL, worker_of
from bench.chaos.plan import RECOVERY_LIMIT, RESCUE_LIMIT

#: How long after a pause or a cut ended a rescue may still be its doing: the worker
#: has not yet learnt it was declared lost (its connections come back slowly).
AFTERMATH = 15.0
_DONE = {"kill": "killed", "pause": "paused", "cut": "cut-off"}


def _fault_for(ev: Evidence, worker_id: str, at: float) -> Fault | None:
    """The latest fault of the worker that can explain a rescue at ``at``."""
    for fault in reversed(ev.faults):
        if fault.worker_id != worker_id or at < fault.began:
            continue
        if fault.kind == "kill":
            return fault
        if fault.kind in ("pause", "cut") and (
            fault.ended is None or at <= fault.ended + AFTERMATH
        ):
            return fault
    return None


def lost_were_faulted(ev: Evidence) -> Check:
    bad = []
    by_kind: Counter[str] = Counter()
    after_end = 0
    for job in ev.jobs.values():
        for event in job.events:
            if event.event != "worker_lost":
                continue
            worker = worker_of(event.detail) or "?"
            fault = _fault_for(ev, worker, event.at)
            if fault is None:
                bad.append(f"job {job.id}: {event.detail} at {event.at:.3f}, never faulted")
                continue
            by_kind[fault.kind] += 1
            if fault.kind != "kill" and fault.ended is not None and event.at > fault.ended:
                after_end += 1
    shown = ", ".join(f"{n} of a {_DONE[k]} worker" for k, n in sorted(by_kind.items()))
    figures = f"{sum(by_kind.values()):,} worker_lost events: {shown or 'none'}; {len(bad)} healthy"
    if after_end:
        figures += f" ({after_end} after the pause/cut ended, before the worker rejoined)"
    return Check(
        "every lost worker was killed, paused or cut", not bad, figures, bad[:SHOWN], dict(by_kind)
    )


def _rescues(ev: Evidence, fault: Fault) -> list[tuple[int, float, str]]:
    """(job, seconds after the fault began, how) of the fault's worker's rescued jobs."""
    found = []
    for job in ev.jobs.values():
        for event in job.events:
            if (
                event.event == "worker_lost"
                and worker_of(event.detail) == fault.worker_id
                and event.at >= fault.began
                and _fault_for(ev, fault.worker_id or "", event.at) is fault
            ):
                how = "session ended" if "session ended" in (event.detail or "") else "heartbeats"
                if "is gone" in (event.detail or "") and how == "heartbeats":
                    how = "row gone"
                found.append((job.id, event.at - fault.began, how))
    return found


def _unrescued(ev: Evidence, fault: Fault, rescued: set[int]) -> list[int]:
    """Jobs the worker held as the fault began that neither were rescued nor ended
    (or moved on) before it."""
    missing = []
    for job_id in fault.held:
        if job_id in rescued:
            continue
        before = [e for e in ev.jobs[job_id].events if e.at <= fault.began]
        if not before or before[-1].event not in (*FINAL, "worker_lost", "requeued"):
            missing.append(job_id)
    return missing


def kills_rescued(ev: Evidence) -> Check:
    """Each kill's jobs were all rescued, soon. A kill whose rescue the database's
    restart held up is timed from the database's return (nobody can judge before)."""
    kills = [f for f in ev.faults if f.kind == "kill" and f.worker_id]
    outages = [(f.began, f.ended) for f in ev.faults if f.kind == "restart" and f.ended]
    per_kill: list[float] = []
    held_up: list[float] = []
    how: Counter[str] = Counter()
    bad = []
    for fault in kills:
        rescues = _rescues(ev, fault)
        how.update(h for _, _, h in rescues)
        if rescues:
            done = fault.began + max(s for _, s, _ in rescues)
            back = max((b for a, b in outages if a <= done and b >= fault.began), default=None)
            if back is None:
                per_kill.append(done - fault.began)
            else:
                held_up.append(done - max(back, fault.began))
        missing = _unrescued(ev, fault, {j for j, _, _ in rescues})
        if missing:
            bad.append(f"kill of {fault.worker_id}: jobs {missing} held and never rescued")
    slow = [round(s, 2) for s in per_kill + held_up if s > RESCUE_LIMIT]
    if slow:
        bad.append(f"{len(slow)} kills rescued after more than {RESCUE_LIMIT:g} s: {slow}")
    ways = ", ".join(f"{n} by {k}" for k, n in how.most_common())
    figures = (
        f"{len(kills)} kills, {len(per_kill) + len(held_up)} with jobs: all rescued after "
        f"{spread(per_kill)} (limit {RESCUE_LIMIT:g} s); jobs: {ways or 'none'}"
    )
    if held_up:
        shown = ", ".join(f"{s:.2f}" for s in held_up)
        figures += f"; {len(held_up)} held up by the restart: {shown} s after it was back"
    data = {
        "per_kill_s": [round(s, 3) for s in per_kill],
        "held_up_by_restart_s": [round(s, 3) for s in held_up],
        "how": dict(how),
    }
    return Check("killed workers' jobs rescued", not bad, figures, bad[:SHOWN], data)


def _said_lost(ev: Evidence, fault: Fault) -> bool:
    log = ev.logs.get(fault.worker_id or "", "")
    return "declared lost" in log


def held_fault_rescued(ev: Evidence, kind: str) -> Check:
    """The paused (or cut-off) worker's jobs were rescued before it came back, and it
    learnt that it was declared lost."""
    name = {"pause": "paused worker", "cut": "cut-off worker"}[kind]
    faults = [f for f in ev.faults if f.kind == kind]
    if not faults:
        return Check(f"{name} rescued and fenced", False, f"no {kind} happened")
    bad = []
    parts = []
    data: dict[str, Any] = {}
    for fault in faults:
        rescues = [r for r in _rescues(ev, fault) if r[0] in fault.held]
        missing = _unrescued(ev, fault, {j for j, _, _ in rescues})
        if not fault.held:
            bad.append(f"{kind} of {fault.worker_id}: it held no job")
        if missing:
            bad.append(f"{kind} of {fault.worker_id}: jobs {missing} never rescued")
        after = max((s for _, s, _ in rescues), default=None)
        length = (fault.ended or fault.began) - fault.began
        if after is not None and after > length:
            bad.append(f"{kind} of {fault.worker_id}: rescued only after it came back")
        said = _said_lost(ev, fault)
        if not said:
            bad.append(f"{kind} of {fault.worker_id}: it never said it was declared lost")
        ways = sorted({h for _, _, h in rescues})
        shown = "-" if after is None else f"{after:.2f} s"
        parts.append(
            f"{len(fault.held)} jobs held, rescued after {shown} ({', '.join(ways) or '-'}) "
            f"of {length:.1f} s; it {'noticed and rejoined' if said else 'never noticed'}"
        )
        data = {"rescued_after_s": after, "how": ways, "held": fault.held, "lasted_s": length}
    return Check(f"{name} rescued and fenced", not bad, "; ".join(parts), bad[:SHOWN], data)


def restart_recovered(ev: Evidence) -> Check:
    failed = [f for f in ev.faults if f.kind == "restart" and f.ended is None]
    if failed:
        return Check("jobs ran again after the PostgreSQL restart", False, failed[0].note)
    restarts = [f for f in ev.faults if f.kind == "restart"]
    if not restarts:
        return Check(
            "jobs ran again after the PostgreSQL restart",
            None,
            ev.restart_skipped or "no restart in this run (--no-db-restart)",
        )
    restart = restarts[0]
    back = restart.ended or restart.began
    refused = restart.refused or restart.began
    starts = sorted(r.start for j in ev.jobs.values() for r in j.runs if r.start > back)
    ends = sorted(e.at for j in ev.jobs.values() for e in j.events if e.event in FINAL)
    ended_after = [t for t in ends if t > back]
    first = starts[0] - back if starts else None
    outcome = ended_after[0] - back if ended_after else None
    ok = first is not None and first <= RECOVERY_LIMIT
    figures = (
        f"{restart.note}: connections refused for {back - refused:.2f} s; a job started "
        f"{first:.2f} s and an outcome was recorded {outcome or 0:.2f} s after they were "
        f"accepted again (limit {RECOVERY_LIMIT:g} s)"
        if first is not None
        else f"{restart.note}: no job started after it"
    )
    data = {
        "refused_s": back - refused,
        "command_to_back_s": back - restart.began,
        "first_start_s": first,
        "first_outcome_s": outcome,
    }
    return Check("jobs ran again after the PostgreSQL restart", ok, figures, [], data)


def no_worker_exited(ev: Evidence) -> Check:
    kills = sum(f.kind == "kill" for f in ev.faults)
    figures = (
        f"{ev.workers_started} workers started, {kills} killed, "
        f"{len(ev.exits)} exited by themselves"
    )
    return Check("no worker exited by itself", not ev.exits, figures, ev.exits[:SHOWN])
