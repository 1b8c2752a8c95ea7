"""Where a burn-down's time goes: py-spy on a JobProcessor worker, drawn as flame graphs.

``python -m bench.profile [--stores sqlite,postgresql] [--slots 1,4]`` queues no-op
jobs exactly as the burn-down case does, starts ``jobprocessor worker``, lets it warm
up, then samples it and its job processes with py-spy (``--nonblocking``: without it
py-spy pauses the worker at every sample and the figures collapse). For each store
and slot count it writes to ``docs/benchmarks/`` (or ``--out``):

- ``flame-<store>-<K>-supervisor.svg``: the worker process, one tree per thread;
- ``flame-<store>-<K>-job.svg``: every job process together;
and py-spy's collapsed stacks to ``bench/results/flame-<store>-<K>.txt``. On stdout, a
summary: the samples per thread and the functions with the most samples of their own.
py-spy counts a thread waiting in Python code (a ``Condition.wait``, a pipe's read, a
query's answer) as well as one computing: a sample says where a thread is, not that
it uses a core.

Run it through ``scripts/bench`` 's environment, where py-spy is installed:
``bench/.venv-peers/bin/python -m bench.profile``. Only the shares mean something;
py-spy's sampling costs the worker about a tenth of its speed.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import time
from pathlib import Path

from bench import flamegraph
from bench.common import RESULTS, ROOT
from bench.peers.jobprocessor_peer import JobProcessorSystem
from bench.stamps import Stamps

OUT = ROOT / "docs" / "benchmarks"
_PROCESS = re.compile(r"^process (\d+):")
_THREAD = re.compile(r"^thread \(\w+\)")
#: Frames every thread starts with, left out of the graphs to save rows.
_BOOTSTRAP = {
    "Thread._bootstrap (threading.py)",
    "Thread._bootstrap_inner (threading.py)",
    "Thread.run (threading.py)",
}
Stacks = list[tuple[list[str], int]]


def _py_spy() -> Path:
    found = Path(sys.executable).parent / "py-spy"
    if not found.exists():
        raise SystemExit(f"py-spy is not beside {sys.executable}: run bench/.venv-peers/bin/python")
    return found


def record(
    store: str, slots: int, jobs: int, seconds: float, rate: int, raw: Path, prefetch: int = 0
) -> tuple[int, int]:
    """Sample a burn-down's worker: (its pid, the jobs it started while sampled)."""
    system = JobProcessorSystem(store, prefetch=prefetch)
    stamps = Stamps(RESULTS / "profile-stamps")
    system.reset()
    stamps.reset()
    system.submit_many(range(1, jobs + 1))
    system.settle_after_submit()
    worker = system.worker(slots, f"profile-{store}-k{slots}", stamps.directory)
    try:
        deadline = time.monotonic() + 120
        while stamps.count() < min(500, jobs // 10):  # warm: every process started
            if not worker.alive() or time.monotonic() > deadline:
                raise SystemExit(f"the worker did not start jobs: {worker.tail()}")
            time.sleep(0.05)
        before = stamps.count()
        command = [
            str(_py_spy()), "record", "--pid", str(worker.process.pid), "--rate", str(rate),
            "--duration", str(int(seconds)), "--format", "raw", "--output", str(raw),
            "--nonblocking", "--subprocesses", "--threads",
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        started = stamps.count() - before
    finally:
        worker.kill()
        system.close()
    return worker.process.pid, started


def split(raw: Path, supervisor: int) -> tuple[Stacks, Stacks]:
    """The worker's stacks (one tree per thread) and its job processes' (merged).

    py-spy files a job process under the fork server it was forked from, its stack
    starting with the fork server's frames: they stay, the process frames go.
    """
    own: Stacks = []
    jobs: Stacks = []
    for frames, samples in flamegraph.parse(raw.read_text(errors="replace").splitlines()):
        pids = [int(m.group(1)) for frame in frames if (m := _PROCESS.match(frame))]
        rest = [f for f in frames if not _PROCESS.match(f) and f not in _BOOTSTRAP]
        if pids[-1:] == [supervisor]:
            own.append((rest, samples))
        else:
            jobs.append(([frame for frame in rest if not _THREAD.match(frame)], samples))
    return own, jobs


def summary(stacks: Stacks, top: int = 12) -> str:
    total = sum(samples for _, samples in stacks) or 1
    threads: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    for frames, samples in stacks:
        threads[frames[0] if frames and _THREAD.match(frames[0]) else "-"] += samples
        leaves[frames[-1] if frames else "-"] += samples
    lines = [
        f"  {samples:6d} {100 * samples / total:5.1f} %  {name}"
        for name, samples in threads.most_common()
    ]
    lines.append("  own time:")
    lines += [
        f"  {samples:6d} {100 * samples / total:5.1f} %  {name}"
        for name, samples in leaves.most_common(top)
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--slots", default="1,4")
    parser.add_argument(
        "--jobs", type=int, default=30_000, help="jobs queued before the worker starts"
    )
    parser.add_argument("--seconds", type=float, default=8, help="how long to sample")
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--prefetch", type=int, default=0, help="the worker's prefetch setting")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for store in args.stores.split(","):
        for slots in map(int, args.slots.split(",")):
            name = f"flame-{store}-{slots}" + (f"-prefetch{args.prefetch}" if args.prefetch else "")
            raw = RESULTS / f"{name}.txt"
            pid, started = record(
                store, slots, args.jobs, args.seconds, args.rate, raw, args.prefetch
            )
            own, jobs = split(raw, pid)
            title = f"{store}, {slots} slot(s): {started} jobs in {args.seconds:g} s under py-spy"
            for part, stacks in (("supervisor", own), ("job", jobs)):
                root = flamegraph.tree(stacks, root=f"{part} process(es)")
                svg = flamegraph.render(root, f"{title}; {part}")
                (args.out / f"{name}-{part}.svg").write_text(svg)
            print(f"{name}: {started} jobs started in {args.seconds:g} s (sampled)")
            print(" supervisor:\n" + summary(own))
            print(" job processes:\n" + summary(jobs, top=8))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
