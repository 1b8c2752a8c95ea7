"""The chaos itself: the plan's faults, each at its time, on the live cluster.

One loop, ticking every 50 ms: it learns which workers registered, replaces workers
that died, and fires what is due. A kill picks among the workers that run jobs (not
paused, not cut off, slots started a second ago), and only while another one does
too: a worker takes seconds to start on a busy machine, and a kill of one that
never ran a job shows nothing. A kill that finds no victim waits for one, and is
dropped when the next kill is due. The pause and the cut wait (20 s at most) for a
worker running a report that has yet to send its files, so that there is a job to
rescue and a lost run whose writes must be refused.
The restart waits while anyone else's pytest runs on the machine, and the plan with it.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.chaos import pg
from bench.chaos.cluster import Cluster, Fault, Member
from bench.chaos.plan import CUT_FOR, OUTAGE, PAUSE_FOR, Plan
from bench.chaos_jobs import DUE, END, FILES
from bench.common import checkpoint, say
from bench.services import ensure_postgres

TICK = 0.05
#: A worker must have run jobs this long to be killed, paused or cut off.
SETTLED = 1.0
#: The pause and the cut wait at most this long for a worker with a report run that
#: has yet to send its files (at least this long before it does), then take one that
#: holds any job.
FIND_TARGET = 20.0
WRITE_MARGIN = 0.3


class StampWatch:
    """The report runs that have not sent their files yet, from the stamps
    (``bench/chaos_jobs.py``), read as they grow."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._read: dict[Path, int] = {}
        #: (job, token) → (worker pid, when its files go).
        self._due: dict[tuple[str, str], tuple[int, float]] = {}

    def _update(self) -> None:
        for path in self.directory.glob("runs-*.txt"):
            with path.open("rb") as stamps:
                stamps.seek(self._read.get(path, 0))
                data = stamps.read()
            complete = data[: data.rfind(b"\n") + 1]
            self._read[path] = self._read.get(path, 0) + len(complete)
            for line in complete.decode().splitlines():
                job_id, token, worker_pid, phase, at = line.split()
                if phase == DUE:
                    self._due[job_id, token] = (int(worker_pid), float(at))
                elif phase in (FILES, END):
                    self._due.pop((job_id, token), None)

    def writers(self, pid: int, margin: float) -> int:
        """Report runs of worker ``pid`` whose files go in ``margin`` seconds or later."""
        self._update()
        soon = time.time() + margin
        return sum(p == pid and at > soon for p, at in self._due.values())


@dataclass
class _Held:
    """A pause or a cut under way, until a time (monotonic)."""

    member: Member
    fault: Fault
    until: float


class Conductor:
    """Runs ``plan`` on ``cluster``; ``run()`` returns once every fault is done."""

    def __init__(
        self, plan: Plan, cluster: Cluster, watcher: pg.Watcher, *, outage_of: str | None
    ) -> None:
        self.plan = plan
        #: With a database's name: an outage of that database instead of a restart.
        self.outage_of = outage_of
        self._writers = StampWatch(cluster.stamps)
        self.cluster = cluster
        self.watcher = watcher
        self._kills = list(plan.kills)
        self._pause: _Held | None = None
        self._cut: _Held | None = None
        self.paused = self.cutted = False
        self.restart_done = plan.restart_at is None
        self.restart_skipped: str | None = None
        #: Since when (monotonic) the restart is held back, and for how long it was.
        self._held_since: float | None = None
        self.held_for = 0.0
        self._next_look = 0.0
        self.skipped_kills = 0
        self.exits: list[str] = []

    def run(self) -> None:
        self._began = time.monotonic()
        while True:
            checkpoint()
            now = self._clock()
            self.cluster.refresh(self.watcher)
            self._replace_exited()
            self._kill(now)
            self._pause_step(now)
            self._cut_step(now)
            self._restart_step(now)
            if now >= self.plan.duration and self.done:
                return
            time.sleep(TICK)

    def _clock(self) -> float:
        """Seconds into the plan. The clock stands still while the restart is held
        back: the rest of the plan (its kills above all) comes after the restart, as
        planned, instead of running out while the restart waits."""
        if self._held_since is not None:
            return self.plan.restart_at or 0.0
        return time.monotonic() - self._began - self.held_for

    @property
    def done(self) -> bool:
        return self.paused and self.cutted and self.restart_done

    def finish(self) -> None:
        """Undo a pause or cut still under way (after an interruption)."""
        if self._pause is not None:
            self.cluster.resume(self._pause.member, self._pause.fault)
        if self._cut is not None:
            self.cluster.heal(self._cut.member, self._cut.fault)

    # -- kills ------------------------------------------------------------------

    def _kill(self, now: float) -> None:
        if not self._kills or self._kills[0][0] > now:
            return
        eligible = sorted(
            (
                m
                for m in self.cluster.current()
                if m.state == "up"
                and self.cluster.ready_for(m) >= SETTLED
                and time.time() >= m.spared_until
            ),
            key=lambda m: m.position,
        )
        working = [m for m in self.cluster.current() if self.cluster.ready_for(m) > 0]
        if not eligible or len(working) < 2:
            if len(self._kills) > 1 and self._kills[1][0] <= now:
                self._kills.pop(0)
                self.skipped_kills += 1
            return
        _, pick = self._kills.pop(0)
        victim = eligible[int(pick * len(eligible))]
        fault = self.cluster.kill(victim, self.watcher)
        say(f"killed worker {victim.pid} (position {victim.position}, {len(fault.held)} jobs)")

    def _replace_exited(self) -> None:
        """A worker that ended by itself is an anomaly: noted, and replaced."""
        for member in self.cluster.current():
            if member.state == "up" and member.process.poll() is not None:
                member.state = "killed"
                note = f"worker {member.pid} exited with {member.process.returncode}"
                self.exits.append(note)
                say(f"ANOMALY: {note}; starting another")
                self.cluster.spawn(member.position)

    # -- the pause and the cut ------------------------------------------------------

    def _candidates(self, namespace: bool) -> list[tuple[int, int, Member]]:
        """(report runs yet to send their files, jobs held, member) of the workers of
        one kind that run jobs, the best target first."""
        found = []
        for member in self.cluster.current():
            if (
                member.state != "up"
                or member.in_namespace != namespace
                or member.worker_id is None
                or self.cluster.ready_for(member) < SETTLED
            ):
                continue
            held = self.watcher.held(member.worker_id) or []
            found.append((self._writers.writers(member.pid, WRITE_MARGIN), len(held), member))
        return sorted(found, key=lambda c: (c[0], c[1]), reverse=True)

    def _target(self, at: float, now: float, namespace: bool) -> Member | None:
        """A worker with a report run that has yet to send its files (its writes must
        then be refused), or after FIND_TARGET seconds one that holds any job."""
        candidates = self._candidates(namespace)
        if not candidates:
            return None
        writers, held, member = candidates[0]
        if writers > 0 or (held > 0 and now > at + FIND_TARGET):
            return member
        if now > at + 2 * FIND_TARGET:
            return member
        return None

    def _pause_step(self, now: float) -> None:
        if self._pause is not None and time.monotonic() >= self._pause.until:
            self.cluster.resume(self._pause.member, self._pause.fault)
            say(f"resumed worker {self._pause.member.pid}")
            self._pause, self.paused = None, True
        if self.paused or self._pause is not None or now < self.plan.pause_at:
            return
        member = self._target(self.plan.pause_at, now, namespace=False)
        if member is not None:
            fault = self.cluster.pause(member, self.watcher)
            self._pause = _Held(member, fault, time.monotonic() + PAUSE_FOR)
            say(f"paused worker {member.pid} ({len(fault.held)} jobs) for {PAUSE_FOR:g} s")

    def _cut_step(self, now: float) -> None:
        if self._cut is not None and time.monotonic() >= self._cut.until:
            self.cluster.heal(self._cut.member, self._cut.fault)
            say(f"healed the link of worker {self._cut.member.pid}")
            self._cut, self.cutted = None, True
        if self.cutted or self._cut is not None or now < self.plan.cut_at:
            return
        member = self._target(self.plan.cut_at, now, namespace=True)
        if member is not None:
            fault = self.cluster.cut(member, self.watcher)
            self._cut = _Held(member, fault, time.monotonic() + CUT_FOR)
            say(f"cut worker {member.pid} off ({len(fault.held)} jobs) for {CUT_FOR:g} s")

    # -- the restart -----------------------------------------------------------------

    def _restart_step(self, now: float) -> None:
        at = self.plan.restart_at
        if self.restart_done or at is None or now < at or time.monotonic() < self._next_look:
            return
        if self.outage_of is not None:
            say(f"taking the database away for {OUTAGE:g} s (every session ended)")
            fault = Fault("restart", time.time(), note="database outage")
            self.cluster.journal.append(fault)
            fault.began, fault.ended = pg.outage(self.outage_of, OUTAGE)
            fault.refused = fault.began
            self.restart_done = True
            return
        others = pg.others_testing()
        if others and not self._hold(others):
            return
        self._release()
        if self.restart_done:
            return
        say("restarting PostgreSQL")
        note = "server restart"
        if self.held_for:
            note += f" (held back {self.held_for:.0f} s while others tested)"
        fault = Fault("restart", time.time(), note=note)
        self.cluster.journal.append(fault)
        self.restart_done = True
        try:
            fault.began, fault.refused, fault.ended = pg.restart()
        except (OSError, subprocess.SubprocessError, RuntimeError) as error:
            fault.note = f"the server restart failed: {error}"
            say(fault.note)
            ensure_postgres()
            return
        say(f"PostgreSQL accepts connections again {fault.ended - fault.began:.2f} s after")

    def _hold(self, others: list[str]) -> bool:
        """Hold the restart back while others test; True once it has waited too long
        (the restart is then skipped)."""
        if self._held_since is None:
            self._held_since = time.monotonic()
            say(f"PostgreSQL restart held back (the plan waits): pytest runs ({others[0][:80]} …)")
        self._next_look = time.monotonic() + pg.OTHERS_POLL
        if time.monotonic() - self._held_since <= pg.OTHERS_WAIT:
            return False
        self.restart_skipped = f"skipped: pytest ran for {pg.OTHERS_WAIT / 60:g} min on"
        self.restart_done = True
        return True

    def _release(self) -> None:
        """The plan's clock goes on."""
        if self._held_since is not None:
            self.held_for += time.monotonic() - self._held_since
            self._held_since = None
            say(f"the plan goes on, after waiting {self.held_for:.0f} s for others' tests")
