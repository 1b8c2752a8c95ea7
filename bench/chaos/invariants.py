"""The invariants a chaos run must hold, checked from the database and the stamps.

Each check gives one line: PASS or FAIL, its figures, and (in the JSON) the first
offenders. What they mean is written in docs/reliability.md, "The chaos run".
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.chaos.cluster import Fault
from bench.chaos.collect import JobRecord, Run
from bench.chaos.holds import FINAL, Attempt, attempts, match_runs, worker_of, writer
from bench.chaos.plan import RECOVERY_LIMIT, RESCUE_LIMIT

#: How long after a pause or a cut ended a rescue may still be its doing: the worker
#: has not yet learnt it was declared lost (its connections come back slowly).
AFTERMATH = 15.0
SHOWN = 10
_DONE = {"kill": "killed", "pause": "paused", "cut": "cut-off"}


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not run (e.g. no restart)
    figures: str
    offenders: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "SKIP" if self.ok is None else ("PASS" if self.ok else "FAIL")


@dataclass
class Evidence:
    """Everything the checks read."""

    jobs: dict[int, JobRecord]
    strays: list[Run]
    faults: list[Fault]
    submitted: int
    #: Why the planned restart did not happen (None if it did, or was not planned).
    restart_skipped: str | None
    #: Worker id → its log, for what the worker said.
    logs: dict[str, str]
    #: Workers that ended by themselves (none should), and how many were started.
    exits: list[str]
    workers_started: int
    held: dict[int, list[Attempt]] = field(default_factory=dict)
    unmatched: dict[int, list[Run]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for job in self.jobs.values():
            self.held[job.id] = attempts(job)
            self.unmatched[job.id] = match_runs(job, self.held[job.id])


def _seconds(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"min {min(values):.2f} / median {statistics.median(values):.2f} / max {max(values):.2f} s"
    )


def nothing_left_active(ev: Evidence) -> Check:
    active = Counter(j.status for j in ev.jobs.values() if j.status not in FINAL)
    ids = [f"job {j.id} {j.status}" for j in ev.jobs.values() if j.status not in FINAL]
    figures = ", ".join(f"{n} {s}" for s, n in active.items()) or "0 queued, running, canceling"
    return Check("nothing left active", not active, figures, ids[:SHOWN])


def every_job_finished(ev: Evidence) -> Check:
    statuses = Counter(j.status for j in ev.jobs.values())
    errors = Counter(j.error_type for j in ev.jobs.values() if j.status == "failed")
    odd = [
        f"job {j.id}: {j.status} {j.error_type or ''}".strip()
        for j in ev.jobs.values()
        if j.status == "canceled" or (j.status == "failed" and j.error_type != "WorkerLost")
    ]
    odd += [f"a run of unknown job {r.job_id} ({r.token})" for r in ev.strays]
    ok = not odd and all(j.status in FINAL for j in ev.jobs.values())
    ok = ok and len(ev.jobs) >= ev.submitted
    failed = ", ".join(f"{n} {t}" for t, n in errors.items()) or "none"
    figures = (
        f"{len(ev.jobs):,} jobs ({ev.submitted:,} submitted): {statuses['succeeded']:,} succeeded,"
        f" {statuses['failed']:,} failed ({failed}), {statuses['canceled']} canceled"
    )
    return Check("every job finished", ok, figures, odd[:SHOWN], {"statuses": dict(statuses)})


def _starts(ev: Evidence, job: JobRecord) -> tuple[int, int]:
    """(runs by the stamps, started events) of a job."""
    return len(job.runs), sum(e.event == "started" for e in job.events)


def at_most_once(ev: Evidence) -> Check:
    once = [j for j in ev.jobs.values() if j.max_retries == 0]
    bad = []
    for job in once:
        runs, started = _starts(ev, job)
        if runs > 1 or started > 1:
            bad.append(f"job {job.id} ({job.type}): {runs} runs, {started} started events")
    lost = sum(j.error_type == "WorkerLost" for j in once)
    figures = (
        f"{len(once):,} retries=0 jobs, none started twice (stamps and started events); "
        f"{lost} of them ended WorkerLost"
        if not bad
        else f"{len(bad)} of {len(once):,} retries=0 jobs started twice"
    )
    return Check("no retries=0 job started twice", not bad, figures, bad[:SHOWN])


def attempts_bounded(ev: Evidence) -> Check:
    bad = []
    spread: Counter[int] = Counter()
    for job in ev.jobs.values():
        runs, started = _starts(ev, job)
        spread[started] += job.max_retries > 0
        if max(runs, started, job.attempts) > job.max_retries + 1:
            bad.append(
                f"job {job.id}: {runs} runs, {started} started, {job.attempts} attempts, "
                f"retries={job.max_retries}"
            )
        for run in ev.unmatched[job.id]:
            bad.append(f"job {job.id}: run {run.token} of worker pid {run.worker_pid} had no claim")
    shown = ", ".join(f"{n:,} x {k}" for k, n in sorted(spread.items()) if n)
    figures = f"retries=2 jobs started: {shown}" if not bad else f"{len(bad)} jobs over the bound"
    return Check("no job ran more than retries+1 times", not bad, figures, bad[:SHOWN])


def winner_fenced(ev: Evidence) -> Check:
    """A succeeded job's result, result.txt, its own extra file and finished line are
    the run of the attempt that succeeded."""
    bad = []
    checked = reports = earlier = 0
    for job in ev.jobs.values():
        if job.status != "succeeded":
            continue
        checked += 1
        token = job.result.get("token") if isinstance(job.result, dict) else None
        last = ev.held[job.id][-1] if ev.held[job.id] else None
        if last is None or last.ended_by != "succeeded" or last.run is None:
            bad.append(f"job {job.id}: its succeeding attempt has no run")
            continue
        if token != last.run.token:
            bad.append(f"job {job.id}: result names {token}, the last run is {last.run.token}")
        if not job.type.startswith("chaos.report"):
            continue
        reports += 1
        files = {f.what: f.text for f in job.files}
        finished = [w.text for w in job.lines if w.text == f"run {token} finished"]
        if files.get("result.txt") != token:
            bad.append(f"job {job.id}: result.txt is {files.get('result.txt')!r}, not {token}")
        if files.get(f"extra-{token}.txt") != token:
            bad.append(f"job {job.id}: no extra-{token}.txt of its own")
        if len(finished) != 1:
            bad.append(f"job {job.id}: {len(finished)} 'finished' lines of run {token}")
        # An earlier run that wrote while it held the job, then was lost, leaves that.
        earlier += any(writer(w.text, w.what) != token for w in [*job.files, *job.lines])
    figures = (
        f"{checked:,} succeeded jobs: the result names the succeeding run; of {reports:,} "
        f"with reports, result.txt, the run's file and its 'finished' line are its own "
        f"({earlier} also keep what an earlier run wrote before it was lost)"
        if not bad
        else f"{len(bad)} faults in {checked:,} succeeded jobs"
    )
    data = {"with_earlier_runs_writes": earlier}
    return Check("succeeded jobs are one run's (fencing)", not bad, figures, bad[:SHOWN], data)


def writes_fenced(ev: Evidence) -> Check:
    """Every file and log line was written by a run while its attempt held the job, and
    nothing after the job's final event."""
    bad = []
    files = lines = late = 0
    went_on = sent_late = 0
    for job in ev.jobs.values():
        by_token = {a.run.token: a for a in ev.held[job.id] if a.run is not None}
        final = next((e.at for e in job.events if e.event in FINAL), None)
        for written in [*job.files, *job.lines]:
            if written.what == "log":
                lines += 1
            else:
                files += 1
            token = writer(written.text, written.what)
            attempt = by_token.get(token or "")
            if attempt is None:
                bad.append(f"job {job.id}: {written.what} {written.text!r} by no run of it")
            elif attempt.ended is not None and written.at > attempt.ended:
                bad.append(
                    f"job {job.id}: {written.what} of run {token} written "
                    f"{written.at - attempt.ended:.3f} s after its attempt ended"
                )
            if final is not None and written.at > final:
                late += 1
        for attempt in ev.held[job.id]:
            run = attempt.run
            if run is None or attempt.ended is None or attempt.ended_by in FINAL:
                continue
            # A run that went on after its attempt ended: what it sent then must be gone.
            if run.last_sign > attempt.ended:
                went_on += 1
                sent_late += any(
                    t is not None and t > attempt.ended for t in (run.files, run.end)
                ) and job.type.startswith("chaos.report")
    ok = not bad and late == 0
    held = "each within its run's hold" if not bad else f"{len(bad)} outside their run's hold"
    stayed = "none of it stayed" if ok else "some of it stayed"
    said = "".join(ev.logs.values())
    dropped = said.count("its outcome (")
    refused = said.count("no longer holds the job")
    figures = (
        f"{files:,} files, {lines:,} log lines, {held}; {late} after a final event; "
        f"{went_on} runs went on after losing their job ({sent_late} sent files or log "
        f"lines then), workers refused {refused} writes and dropped {dropped} outcomes "
        f"of lost runs, and {stayed}"
    )
    return Check(
        "files and log lines are their holder's (fencing)",
        ok,
        figures,
        bad[:SHOWN],
        {
            "runs_after_losing": went_on,
            "of_them_sent_writes": sent_late,
            "writes_refused": refused,
            "outcomes_dropped": dropped,
        },
    )


def one_final_event(ev: Evidence) -> Check:
    bad = []
    for job in ev.jobs.values():
        names = [e.event for e in job.events]
        finals = [i for i, n in enumerate(names) if n in FINAL]
        if len(finals) != 1:
            bad.append(f"job {job.id}: {len(finals)} final events {names}")
        elif finals[0] != len(names) - 1:
            bad.append(f"job {job.id}: events after its final one: {names[finals[0] :]}")
    figures = f"{len(ev.jobs):,} jobs, each with one final event, and nothing after it"
    if bad:
        figures = f"{len(bad)} of {len(ev.jobs):,} jobs with more or less than one final event"
    return Check("no job has a second final event", not bad, figures, bad[:SHOWN])


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
        f"{_seconds(per_kill)} (limit {RESCUE_LIMIT:g} s); jobs: {ways or 'none'}"
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
    starts = sorted(r.start for j in ev.jobs.values() for r in j.runs if r.start > back)
    ends = sorted(e.at for j in ev.jobs.values() for e in j.events if e.event in FINAL)
    ended_after = [t for t in ends if t > back]
    first = starts[0] - back if starts else None
    outcome = ended_after[0] - back if ended_after else None
    ok = first is not None and first <= RECOVERY_LIMIT
    figures = (
        f"{restart.note}: down {back - restart.began:.2f} s; a job started {first:.2f} s and "
        f"an outcome was recorded {outcome or 0:.2f} s after it was back "
        f"(limit {RECOVERY_LIMIT:g} s)"
        if first is not None
        else f"{restart.note}: no job started after it"
    )
    data = {"outage_s": back - restart.began, "first_start_s": first, "first_outcome_s": outcome}
    return Check("jobs ran again after the PostgreSQL restart", ok, figures, [], data)


def no_worker_exited(ev: Evidence) -> Check:
    kills = sum(f.kind == "kill" for f in ev.faults)
    figures = (
        f"{ev.workers_started} workers started, {kills} killed, "
        f"{len(ev.exits)} exited by themselves"
    )
    return Check("no worker exited by itself", not ev.exits, figures, ev.exits[:SHOWN])


CHECKS: list[Callable[[Evidence], Check]] = [
    nothing_left_active,
    every_job_finished,
    at_most_once,
    attempts_bounded,
    winner_fenced,
    writes_fenced,
    one_final_event,
    lost_were_faulted,
    kills_rescued,
    lambda ev: held_fault_rescued(ev, "pause"),
    lambda ev: held_fault_rescued(ev, "cut"),
    restart_recovered,
    no_worker_exited,
]


def check_all(ev: Evidence) -> list[Check]:
    return [check(ev) for check in CHECKS]
