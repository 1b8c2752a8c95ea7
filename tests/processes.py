"""Looking at real worker and job processes from a test (Linux ``/proc``)."""

from __future__ import annotations

from pathlib import Path

from jobprocessor.service import JobService


def worker_id_of(service: JobService, pid: int) -> str:
    rows = [w for w in service.store.workers.live() if w["pid"] == pid]
    assert len(rows) == 1, f"expected one workers row for pid {pid}, found {rows}"
    return str(rows[0]["id"])


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state, parent pid, start time) of a process from /proc, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), fields[19]


def job_processes(parent_pid: int) -> dict[int, str]:
    """The job processes (multiprocessing spawn children) of a worker: pid → start time."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        stat = _stat(pid)
        if stat is None or stat[1] != parent_pid or stat[0] == "Z":
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            found[pid] = stat[2]
    return found


def process_alive(pid: int, start_time: str) -> bool:
    """True while the very process (not a reused pid) runs; a zombie counts as ended."""
    stat = _stat(pid)
    return stat is not None and stat[2] == start_time and stat[0] != "Z"
