"""Turn a run's JSON into the printed tables and docs/benchmarks.md with its plots.

The document is written whole by every full run, so its figures always come
from one run on one machine. The hand-written parts (what changed in the engine
and why) live in bench/engine_changes.md and are copied in; the figures of the
engine before those changes come from docs/benchmarks/before.json, a run of the
same benchmark against the engine as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import ROOT, fmt
from bench.peers.jobprocessor_peer import STUCK_GRACE
from bench.plots import plots
from bench.tables import (
    JP,
    Doc,
    burn_rate,
    burn_table,
    cancel_table,
    dispatch_goals,
    fair_best_seconds,
    fair_share_table,
    goals,
    latency_table,
    list_table,
    markdown,
    ratio_of,
    slots_in,
    submission_table,
    text_tables,
)

DOC = ROOT / "docs" / "benchmarks.md"
ASSETS = ROOT / "docs" / "benchmarks"
BEFORE = ASSETS / "before.json"
CHANGES = ROOT / "bench" / "engine_changes.md"
#: The WFM optimizer on the Curtois & Qu benchmark, written by bench/nrp.py --doc.
NRP = ROOT / "docs" / "benchmarks" / "nrp.md"
__all__ = ["text_tables", "write_doc"]


# -- the document ---------------------------------------------------------------------


def _fair_share(doc: Doc) -> list[str]:
    """The fair-share section: the case, how each system tells A from B, the table."""
    cases = doc.get("fair_share", [])
    if not cases:
        return []
    plan = doc["plan"]
    n, seconds, slots = plan["fair_jobs"], plan["fair_seconds"], plan["fair_slots"]
    best = fair_best_seconds(cases[0])
    return [
        f"## Fair share: user A queues {n} jobs of {seconds:g} s, then user B queues one",
        "",
        f"A worker with {slots} slots runs, warmed up by one job. User A queues {n} jobs that",
        f"each sleep {seconds:g} s, with the batch API where the system has one; as soon as",
        "that call returns, user B queues one such job with a single submit. `B's wait`: from",
        "just before B's submitting call to the first line of its job's body (as in the latency",
        "case), also in job durations. `A's jobs started before B's`: by the jobs' own start",
        "stamps, counting those already running when B's job came. `total`: from just before",
        f"A's submission to the end of the last of the {n + 1} jobs (at best ceil({n + 1} / "
        f"{slots}) x {seconds:g} s = {best:.1f} s).",
        "",
        "JobProcessor gives a free slot, among equal priorities, to the submitter with the",
        "fewest running jobs ([scheduling](reference/scheduling.md)): B's job should start",
        "within about one job's duration. The peers have no fair share: for them A and B",
        "are only a job argument, and B's job waits its turn behind A's.",
        "",
        "How each system tells A from B:",
        "",
        *(f"- **{c['system']}**: {c['submitters']}" for c in cases if c.get("submitters")),
        "",
        markdown(*fair_share_table(doc)),
        "",
    ]


def _before_after(doc: Doc, before: Doc) -> str:
    rows = []
    for system in JP:
        for k in slots_in(doc):
            old, new = burn_rate(before, system, k), burn_rate(doc, system, k)
            ratio = ratio_of(new, old)
            rows.append(
                [
                    f"{system}, burn-down, {k} slot(s)",
                    f"{fmt(old, 0)} jobs/s",
                    f"{fmt(new, 0)} jobs/s",
                    "-" if ratio is None else f"x {ratio:.2f}",
                ]
            )
        for key, label in (("p50", "p50"), ("p95", "p95")):
            old_l = next((c for c in before.get("latency", []) if c["system"] == system), None)
            new_l = next((c for c in doc.get("latency", []) if c["system"] == system), None)
            if old_l and new_l and old_l.get("ms") and new_l.get("ms"):
                rows.append(
                    [
                        f"{system}, submit→start {label}",
                        f"{old_l['ms'][key]:.1f} ms",
                        f"{new_l['ms'][key]:.1f} ms",
                        "",
                    ]
                )
    head = (
        f"Before: commit {before.get('commit')}, {before.get('started_at')}; "
        f"after: this run (commit {doc.get('commit')}). Same benchmark, same machine "
        f"(load averages before: {before['machine']['load_average']} and "
        f"{doc['machine']['load_average']}). The two runs may be hours apart, and this "
        "machine's speed moves by up to three times between hours (raw SQLite did 14,000 "
        "to 43,000 jobs/s in runs of one day): these rows say where the figures are, not "
        "what the code changed. Alternating runs of both commits in one hour do that: "
        "bench/engine_changes.md, change 40."
    )
    return head + "\n\n" + markdown(["figure", "before", "after", "change"], rows)


def write_doc(doc: Doc, target: Path = DOC) -> Path:
    """Write the document at ``target``, its plots and figures in ``benchmarks/`` beside it.

    The default is docs/benchmarks.md; another ``target`` (``--out``) previews the
    document without touching docs/.
    """
    assets = target.parent / "benchmarks"
    images = plots(doc, assets)
    if not doc["plan"]["quick"]:
        # The figures behind the document, beside it: `python -m bench.report` on this
        # file writes the document again.
        (assets / "run.json").write_text(json.dumps(doc, indent=1) + "\n")
    plan, mach, versions = doc["plan"], doc["machine"], doc["versions"]
    systems = doc.get("systems", {})
    found = {k: str(v) for k, v in versions.items() if k != "jobprocessor source"}
    for info in systems.values():
        found.update(info.get("versions", {}))
    version_rows = [[k, v] for k, v in found.items()]
    loads = [
        (c["system"], c.get("slots", c.get("kind", "")), c["load_before"][0])
        for key in ("submission", "burn_down", "latency", "cancel", "fair_share")
        for c in doc.get(key, [])
    ]
    high = [load for _, _, load in loads if load > 1.5]
    spread = f"{min(x[2] for x in loads):.2f} to {max(x[2] for x in loads):.2f}" if loads else "-"
    lines = [
        "# Benchmarks",
        "",
        "JobProcessor beside procrastinate, pgqueuer, RQ and Celery, and beside what each",
        "database allows at all, measured in one run on one machine. Generated by",
        "`scripts/bench` (`python -m bench.run`): do not edit by hand; bench/README.md",
        "explains every figure and how it is measured. Every figure of this run, with",
        "the latency samples and the load before each case, is in",
        "[benchmarks/run.json](benchmarks/run.json).",
        "",
        f"Run {doc['started_at']} (commit {doc['commit']}), {doc['duration_seconds']:.0f} s"
        + (" — a `--quick` run: small sizes, rough figures." if plan["quick"] else "."),
        "",
        "## Machine and versions",
        "",
        f"{mach.get('cores')} cores ({mach.get('cpu', 'unknown CPU')}), "
        f"{mach.get('ram_gib', '?')} GiB RAM, {mach.get('platform')}, Python {mach.get('python')}."
        f" Load average at the end: {mach['load_average']}. The machine is shared with",
        "other work (test suites of other developers), so figures move by 20 to 50 % between",
        "runs; the load average before every case is in the run's JSON.",
        f"1-minute load average before the cases: {spread}; {len(high)} of {len(loads)} "
        "cases began above 1.5 (a busy machine: those figures are lower than a quiet "
        "machine would give, the peers' as much as ours).",
        "",
        markdown(["component", "version"], version_rows),
        "",
        "How each system provides K worker slots:",
        "",
        *(f"- **{name}**: {info['slots_are']}" for name, info in systems.items()),
        "",
        "## Goals (issue 5), as ratios in this run",
        "",
        markdown(["goal", "measured", "ratio", ""], goals(doc)),
        "",
        "## Goals of dispatch speed (issue 14), in this run",
        "",
        f"The stuck job's `cancel_grace` is {STUCK_GRACE:g} s.",
        "",
        markdown(["goal", "measured", "ratio", ""], dispatch_goals(doc, STUCK_GRACE)),
        "",
        f"## Burn-down: {plan['jobs']:,} no-op jobs queued first, then worked off",
        "",
        "Jobs per second while the worker runs: (started - 1) / (last start - first start),",
        f"from the jobs' own stamps. A case is cut off after {plan['cap']:g} s of work (the",
        "rate is then measured over the jobs started so far). `raw-*` rows are the",
        "databases' limits for a job of two transactions (bench/raw.py). `load before`:",
        "the 1-minute load average before each case, in the order of the columns.",
        "",
        markdown(*burn_table(doc)),
        "",
        *([f"![Throughput against worker slots](benchmarks/{images[0]})", ""] if images else []),
        f"## Submit → start latency: {plan['latency_rate']:g} single submits/s for "
        f"{plan['latency_seconds']:g} s, {plan['latency_slots']} slots",
        "",
        "From just before the submitting call to the first line of the job's body.",
        "",
        markdown(*latency_table(doc)),
        "",
        *(
            ["![Latency distributions](benchmarks/latency.png)", ""]
            if "latency.png" in images
            else []
        ),
        "## Submission speed (no worker running)",
        "",
        f"`single/s`: {plan['single_submits']:,} calls of the public submit API, one job each.",
        "`bulk/s`: the batch API while queueing the burn-downs' jobs (mean of the runs).",
        "",
        markdown(*submission_table(doc)),
        "",
        "## Cancel: from the request to the job really stopped",
        "",
        "A long job runs alone; 0.5 s after it started, the system's best mechanism",
        "asks it to stop. It counts as stopped once its system records a final state and",
        "its own 50 ms heartbeats have ceased; `not stopped` means it was still running",
        f"{plan['cancel_limit']:g} s after the request. `cooperative` jobs check for a",
        "cancel every 50 ms in the way their system offers; `stuck` jobs never check.",
        "",
        markdown(*cancel_table(doc)),
        "",
        *_fair_share(doc),
        "## Console list speed (`JobService.list_jobs`, and `GET /api/v1/jobs` from a server)",
        "",
        f"Pages of 50, newest first, each query repeated {plan['list_repeats']} times;",
        "`deep page` continues from a cursor nine tenths of the way back. Rows generated",
        "in SQL: 50 users, five types, 90 % succeeded, 5 % failed.",
        "",
        *(
            part
            for store in ("sqlite", "postgresql")
            if any(c["store"] == store for c in doc.get("listing", []))
            for part in (f"### {store}", "", markdown(*list_table(doc, store)), "")
        ),
    ]
    if BEFORE.exists() and not plan["quick"]:
        before = json.loads(BEFORE.read_text())
        lines += ["## The engine before and after this work", "", _before_after(doc, before), ""]
    if CHANGES.exists():
        lines += [CHANGES.read_text().strip(), ""]
    if NRP.exists():
        lines += [NRP.read_text().strip(), ""]
    target.write_text("\n".join(lines))
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.report RUN.json [--out PATH]``: write the document from a run's file."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("run", type=Path, help="bench/results/run-<time>.json")
    parser.add_argument(
        "--out",
        type=Path,
        default=DOC,
        help="where to write the document (default docs/benchmarks.md); "
        "its plots go to benchmarks/ beside it",
    )
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(write_doc(json.loads(args.run.read_text()), args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
