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


def _children(parent_pid: int) -> dict[int, tuple[str, bytes]]:
    """The live children of a process: pid → (start time, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        stat = _stat(pid)
        if stat is None or stat[1] != parent_pid or stat[0] == "Z":
            continue
        try:
            found[pid] = stat[2], (entry / "cmdline").read_bytes()
        except OSError:
            continue
    return found


def job_processes(parent_pid: int) -> dict[int, str]:
    """The job processes of a worker, children of its fork server: pid → start time."""
    found = {}
    for server, (_, cmdline) in _children(parent_pid).items():
        if b"forkserver" in cmdline:
            found.update({pid: start for pid, (start, _) in _children(server).items()})
    return found


def process_alive(pid: int, start_time: str) -> bool:
    """True while the very process (not a reused pid) runs; a zombie counts as ended."""
    stat = _stat(pid)
    return stat is not None and stat[2] == start_time and stat[0] != "Z"
