"""Which queued job the claim takes (docs/reference/scheduling.md), store-level, on
both databases: priority, fair share between submitters, limits, queues, run_at."""

from __future__ import annotations

import re
from datetime import timedelta

import psycopg
import pytest

from jobprocessor.errors import InvalidInput
from jobprocessor.model import Actor, Role, Status, utcnow
from jobprocessor.service import JobService, ListFilter
from jobprocessor.store import pg_round, sqlite_round
from jobprocessor.store.jobs import ClaimRequest, JobStore, Outcome, RunLease
from jobprocessor.store.records import Round
from jobprocessor.store.round_sql import claim_parameters
from jobprocessor.store.tables import QUEUED_INDEX, jobs
from jobprocessor.store.waiting import held_per_worker_and_queue
from jobprocessor.submission import SubmitOptions
from support import ADMIN, TESTS, register_worker

ALICE = Actor("alice", Role.USER)
BOB = Actor("bob", Role.USER)
CAROL = Actor("carol", Role.USER)
NOOP = "diag.noop"


@pytest.fixture(autouse=True)
def scheduling_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TESTS / "apps"))
    import scheduling_jobs  # noqa: F401


@pytest.fixture
def store(service: JobService) -> JobStore:
    register_worker(service.store, "w1")
    return service.store


def _claim(store: JobStore, limit: int = 1, types: tuple[str, ...] = (NOOP,)) -> list[int]:
    return [job.id for job in store.claim("w1", list(types), limit)]


def _finish(store: JobStore, job_id: int) -> None:
    job = store.get(job_id)
    assert job is not None
    assert store.finish(RunLease.of(job), Outcome(Status.SUCCEEDED))


# -- priority --------------------------------------------------------------------


def test_higher_priority_runs_first_then_the_oldest(service: JobService, store: JobStore) -> None:
    low = service.submit(ALICE, NOOP, options=SubmitOptions(priority=-5))
    first = service.submit(ALICE, NOOP)
    high = service.submit(ALICE, NOOP, options=SubmitOptions(priority=10))
    second = service.submit(ALICE, NOOP)

    assert [_claim(store) for _ in range(5)] == [[high.id], [first.id], [second.id], [low.id], []]


def test_a_types_priority_is_its_jobs_unless_the_submission_says(
    service: JobService, store: JobStore
) -> None:
    plain = service.submit(ALICE, NOOP)
    urgent = service.submit(ALICE, "sched.urgent")
    calmed = service.submit(ALICE, "sched.urgent", options=SubmitOptions(priority=-1))
    assert (urgent.priority, calmed.priority, plain.priority) == (50, -1, 0)

    order = [_claim(store, types=(NOOP, "sched.urgent")) for _ in range(3)]
    assert order == [[urgent.id], [plain.id], [calmed.id]]


@pytest.mark.parametrize("priority", [101, -101, True, 1.5])
def test_a_priority_out_of_range_is_refused(service: JobService, priority: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        service.submit(ALICE, NOOP, options=SubmitOptions(priority=priority))  # type: ignore[arg-type]
    assert "priority" in refused.value.fields


# -- fair share ------------------------------------------------------------------


def test_one_persons_many_jobs_do_not_hold_back_anothers_one(
    service: JobService, store: JobStore
) -> None:
    many = service.submit_many(ALICE, NOOP, [{} for _ in range(50)])
    one = service.submit(BOB, NOOP)

    # Two slots, nobody running: the oldest job first, then bob's (alice already
    # has one running by then).
    assert sorted(_claim(store, limit=2)) == sorted([many[0].id, one.id])


def test_the_submitter_with_fewer_running_jobs_goes_first(
    service: JobService, store: JobStore
) -> None:
    mine = service.submit_many(ALICE, NOOP, [{}, {}])
    assert _claim(store) == [mine[0].id]  # alice runs one
    bobs = service.submit(BOB, NOOP)
    assert _claim(store) == [bobs.id], "bob runs nothing: his job goes before alice's older one"
    assert _claim(store) == [mine[1].id]


def test_among_equals_the_one_whose_latest_job_started_longest_ago(
    service: JobService, store: JobStore
) -> None:
    (alices_earlier,) = service.submit_many(ALICE, NOOP, [{}])
    assert _claim(store) == [alices_earlier.id]
    _finish(store, alices_earlier.id)
    (bobs_earlier,) = service.submit_many(BOB, NOOP, [{}])
    assert _claim(store) == [bobs_earlier.id]
    _finish(store, bobs_earlier.id)
    alices, bobs = service.submit(ALICE, NOOP), service.submit(BOB, NOOP)
    carols = service.submit(CAROL, NOOP)

    # Nobody runs anything: carol never started a job, alice started hers longest ago.
    assert [_claim(store) for _ in range(3)] == [[carols.id], [alices.id], [bobs.id]]


def test_the_walk_over_submitters_reads_only_queued_jobs(
    service: JobService, store: JobStore
) -> None:
    # Statistics taken while every job was queued once had PostgreSQL walk the
    # submitters through `(submitted_by, id)`, stepping over each finished job of the
    # first submitter in every round: a round's cost grew with the finished jobs.
    service.submit_many(ALICE, NOOP, [{} for _ in range(3000)])
    service.submit(BOB, NOOP)
    with store.engine.begin() as connection:
        connection.exec_driver_sql(f"ANALYZE {jobs.name}")

    plan = _claim_plan(store)
    for alias in ("f", "n"):  # the walk's first step and each next one
        reads = [
            line
            for line in plan
            if re.search(rf"\bjobprocessor_jobs {alias}\b|\b{alias} USING", line)
        ]
        assert reads, "\n".join(plan)
        assert all(QUEUED_INDEX in line for line in reads), reads


def _claim_plan(store: JobStore) -> list[str]:
    """The lines of the database's plan for the claim's choice of jobs; on
    PostgreSQL, of the round's generic plan, which a worker's kept connection uses
    (the plan of a round run here and rolled back: a subquery of the walk shows only
    once it has run)."""
    claim = ClaimRequest.anything([NOOP], 4)
    with store.engine.connect() as connection:
        if store.backend.name == "sqlite":
            parameters = {"worker": "w1", "now": utcnow()}
            parameters.update(claim_parameters(claim, sqlite_round.FLAVOUR))
            plan = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + sqlite_round.CLAIM_SQL[False, False], parameters
            )
            return [row.detail for row in plan]
        pg_round.prepare(connection)
        connection.exec_driver_sql("PREPARE round AS " + pg_round.ROUND_SQL[False, False])
        values = pg_round.round_values(Round("w1", utcnow(), claim=claim))
        driver = psycopg.ClientCursor(connection.connection.dbapi_connection)
        execute = driver.mogrify(f"EXECUTE round({', '.join(['%s'] * len(values))})", values)
        plan = connection.exec_driver_sql("EXPLAIN (ANALYZE) " + execute.replace("%", "%%"))
        return [row[0] for row in plan]


def test_priority_goes_before_fair_share(service: JobService, store: JobStore) -> None:
    mine = service.submit_many(ALICE, NOOP, [{}, {}], SubmitOptions(priority=5))
    bobs = service.submit(BOB, NOOP)
    assert [_claim(store) for _ in range(3)] == [[mine[0].id], [mine[1].id], [bobs.id]]


# -- limits ------------------------------------------------------------------------


def test_a_limit_lets_no_more_than_n_run(service: JobService, store: JobStore) -> None:
    limited = service.submit_many(ALICE, "sched.limited", [{"n": n} for n in range(5)])
    types = ("sched.limited",)

    taken = [job for _ in range(5) for job in _claim(store, limit=5, types=types)]

    assert taken == [limited[0].id, limited[1].id]
    _finish(store, limited[0].id)
    assert _claim(store, limit=5, types=types) == [limited[2].id]
    held = [j for j in (store.get(i) for i in [*taken[1:], limited[2].id]) if j is not None]
    assert {j.status for j in held} == {Status.RUNNING}


def test_a_limit_key_holds_per_value(service: JobService, store: JobStore) -> None:
    types = ("sched.per_unit",)
    one_a, one_b = service.submit_many(ALICE, "sched.per_unit", [{"unit": 1}, {"unit": 1}])
    two = service.submit(ALICE, "sched.per_unit", {"unit": 2})

    assert sorted(_claim(store, limit=3, types=types)) == [one_a.id, two.id]
    assert _claim(store, limit=3, types=types) == []
    _finish(store, one_a.id)
    assert _claim(store, limit=3, types=types) == [one_b.id]


def test_a_lost_workers_job_stops_counting_against_its_limit(
    service: JobService, store: JobStore
) -> None:
    first, second, third = service.submit_many(
        ALICE, "sched.limited", [{"n": 1}, {"n": 2}, {"n": 3}]
    )
    types = ("sched.limited",)
    assert _claim(store, limit=2, types=types) + _claim(store, limit=2, types=types) == [
        first.id,
        second.id,
    ]
    assert _claim(store, types=types) == []

    store.workers.rescue_lost(heartbeat_timeout=0.0)  # any heartbeat is too old: w1 is lost
    register_worker(store, "w1")  # and rejoins

    assert service.get(ADMIN, first.id).status is Status.FAILED
    assert sorted(_claim(store, limit=2, types=types) + _claim(store, limit=2, types=types)) == [
        third.id
    ]


def test_a_worker_declared_lost_claims_nothing_until_it_rejoins(
    service: JobService, store: JobStore
) -> None:
    """Its row is gone (a rescue took it for lost): a job it claimed now would only be
    failed as WorkerLost by the next rescue, before the worker's heartbeat told it."""
    job = service.submit(ALICE, NOOP)
    store.workers.unregister("w1")
    assert _claim(store) == []
    register_worker(store, "w1")
    assert _claim(store) == [job.id]


# -- queues ----------------------------------------------------------------------


def test_jobs_wait_in_their_types_queue_or_the_submissions(service: JobService) -> None:
    assert service.submit(ALICE, NOOP).queue == "diagnostics"  # its category
    assert service.submit(ALICE, "sched.report").queue == "reports"
    moved = service.submit(ALICE, NOOP, options=SubmitOptions(queue="night-2.batch"))
    assert moved.queue == "night-2.batch"
    with pytest.raises(InvalidInput) as refused:
        service.submit(ALICE, NOOP, options=SubmitOptions(queue="no spaces"))
    assert "queue" in refused.value.fields


def test_a_claim_takes_only_queues_with_room(service: JobService, store: JobStore) -> None:
    types = [NOOP, "sched.report"]
    report = service.submit(ALICE, "sched.report")
    noop = service.submit(ALICE, NOOP)
    full = ClaimRequest(tuple(types), 2, {"reports": 0}, 2)

    assert [j.id for j in store.claim("w1", types, 2, full)] == [noop.id]
    only_reports = ClaimRequest(tuple(types), 2, {"reports": 1}, None)
    assert [j.id for j in store.claim("w1", types, 2, only_reports)] == [report.id]


def test_a_queues_room_bounds_a_single_round(service: JobService, store: JobStore) -> None:
    service.submit_many(ALICE, "sched.report", [{"n": n} for n in range(4)])
    claim = ClaimRequest(("sched.report",), 4, {"reports": 2}, None)
    assert len(store.claim("w1", ["sched.report"], 4, claim)) == 2


# -- delayed jobs ----------------------------------------------------------------


def test_a_delayed_job_waits_until_it_is_due(service: JobService, store: JobStore) -> None:
    later = service.submit(ALICE, NOOP, options=SubmitOptions(delay=3600))
    due = service.submit(ALICE, NOOP, options=SubmitOptions(run_at=utcnow() - timedelta(1)))

    assert later.run_at is not None
    assert _claim(store, limit=2) == [due.id]
    assert store.next_due([NOOP]) == later.run_at
    store.keep_round_connection()  # as a worker's claim lane asks, between its rounds
    assert store.next_due([NOOP]) == later.run_at
    assert store.next_due(["sched.report"]) is None
    shown = service.get(ADMIN, later.id)
    assert shown.waiting_for is not None
    assert shown.waiting_for.startswith("scheduled for")


@pytest.mark.parametrize("kept", [False, True], ids=["pooled", "round-connection"])
def test_has_queued_sees_only_due_jobs_of_the_types_asked(
    service: JobService, store: JobStore, kept: bool
) -> None:
    """The look a SQLite worker takes before a claim (on its lane's round connection,
    or a pooled read for other callers)."""
    if kept:
        store.keep_round_connection()
    assert not store.has_queued([NOOP])
    service.submit(ALICE, NOOP, options=SubmitOptions(delay=3600))
    assert not store.has_queued([NOOP])
    service.submit(ALICE, "sched.report", {"n": 1})
    assert not store.has_queued([NOOP])
    assert store.has_queued([NOOP, "sched.report"])
    service.submit(ALICE, NOOP, options=SubmitOptions(run_at=utcnow() - timedelta(1)))
    assert store.has_queued([NOOP])


def test_next_due_after_a_claims_time_finds_a_job_due_since(
    service: JobService, store: JobStore
) -> None:
    """A worker asks what falls due after the time of its claim: a job that fell due
    between the claim and the question must still be found, or the worker would
    sleep through its whole poll interval (seen under load: a claim a hair early,
    then "nothing after now")."""
    claimed_at = utcnow() - timedelta(seconds=2)
    since = service.submit(
        ALICE, NOOP, options=SubmitOptions(run_at=utcnow() - timedelta(1 / 86400))
    )

    assert store.next_due([NOOP]) is None
    assert store.next_due([NOOP], after=claimed_at) == since.run_at
    store.keep_round_connection()
    assert store.next_due([NOOP], after=claimed_at) == since.run_at


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (SubmitOptions(delay=-1), "delay"),
        (SubmitOptions(delay=float("inf")), "delay"),
        (SubmitOptions(run_at=utcnow().replace(tzinfo=None)), "run_at"),
        (SubmitOptions(run_at=utcnow(), delay=5), "run_at"),
        (SubmitOptions(timeout=0), "timeout"),
    ],
)
def test_bad_choices_are_refused_naming_the_field(
    service: JobService, options: SubmitOptions, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        service.submit(ALICE, NOOP, options=options)
    assert field in refused.value.fields
    assert service.list_jobs(ADMIN, _all()).items == []


def _all() -> ListFilter:
    return ListFilter(limit=500)


# -- why a job waits ---------------------------------------------------------------


def test_waiting_for_says_why_a_job_has_not_started(service: JobService, store: JobStore) -> None:
    first, second, third = service.submit_many(ALICE, "sched.limited", [{}, {}, {}])
    store.workers.unregister("w1")
    assert service.get(ADMIN, first.id).waiting_for == "no worker is running"
    register_worker(store, "w1")
    types = ("sched.limited",)
    _claim(store, limit=2, types=types)
    _claim(store, limit=2, types=types)

    assert service.get(ADMIN, third.id).waiting_for == "limit 2 of sched.limited reached"
    assert service.get(ADMIN, first.id).waiting_for is None  # running
    listed = {j.id: j.waiting_for for j in service.list_jobs(ADMIN, _all()).items}
    assert listed[third.id] == "limit 2 of sched.limited reached"
    assert service.get(ADMIN, third.id).to_dict()["waiting_for"] == listed[third.id]
    assert listed[second.id] is None


def test_held_jobs_are_counted_per_serving_worker_through_the_worker_index(
    service: JobService, store: JobStore
) -> None:
    register_worker(store, "w2")
    service.submit_many(ALICE, NOOP, [{} for _ in range(5)])
    _claim(store, limit=2)  # w1 holds two
    assert len(store.claim("w2", [NOOP], 1)) == 1
    statement = held_per_worker_and_queue(["w1", "w2", "gone"])

    with store.engine.connect() as connection:
        counts = {(w, q): n for w, q, n in connection.execute(statement)}
        assert counts == {("w1", "diagnostics"): 2, ("w2", "diagnostics"): 1}
        if store.backend.name == "sqlite":
            # Bound statuses kept SQLite from the partial worker index: it read every
            # held job through `(status, id)`, on every list page with a queued job.
            compiled = statement.compile(connection, compile_kwargs={"render_postcompile": True})
            values = tuple(compiled.params[name] for name in compiled.positiontup or ())
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values).all()
            assert any("ix_jobprocessor_jobs_worker_id" in row.detail for row in plan), plan
