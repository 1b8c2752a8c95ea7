"""The invariants a chaos run must hold, checked from the database and the stamps.

Each check gives one line: PASS or FAIL, its figures, and (in the JSON) the first
offenders. What they mean is written in docs/reliability.md, "The chaos run". The
checks about jobs are here, those about faults and rescues in ``rescues``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from bench.chaos import rescues
from bench.chaos.collect import JobRecord
from bench.chaos.evidence import SHOWN, Check, Evidence
from bench.chaos.holds import FINAL, writer


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


CHECKS: list[Callable[[Evidence], Check]] = [
    nothing_left_active,
    every_job_finished,
    at_most_once,
    attempts_bounded,
    winner_fenced,
    writes_fenced,
    one_final_event,
    rescues.lost_were_faulted,
    rescues.kills_rescued,
    lambda ev: rescues.held_fault_rescued(ev, "pause"),
    lambda ev: rescues.held_fault_rescued(ev, "cut"),
    rescues.restart_recovered,
    rescues.no_worker_exited,
]


def check_all(ev: Evidence) -> list[Check]:
    return [check(ev) for check in CHECKS]
