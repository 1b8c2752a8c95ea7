"""Turn a run's JSON into the printed tables and docs/benchmarks.md with its plots.

The document is written whole by every full run, so its figures always come
from one run on one machine. The hand-written parts (what changed in the engine
and why) live in bench/engine_changes.md and are copied in; the figures of the
engine before those changes come from docs/benchmarks/before.json, a run of the
same benchmark against the engine as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import ROOT, fmt, table

DOC = ROOT / "docs" / "benchmarks.md"
ASSETS = ROOT / "docs" / "benchmarks"
BEFORE = ASSETS / "before.json"
CHANGES = ROOT / "bench" / "engine_changes.md"
JP = ("jobprocessor-sqlite", "jobprocessor-postgresql")

Doc = dict[str, Any]


# -- lookups --------------------------------------------------------------------------


def burn_rate(doc: Doc, system: str, slots: int) -> float | None:
    for case in doc.get("burn_down", []):
        if case["system"] == system and case["slots"] == slots:
            return case.get("jobs_per_second")  # type: ignore[no-any-return]
    return None


def systems_in(doc: Doc, key: str) -> list[str]:
    seen: dict[str, None] = {}
    for case in doc.get(key, []):
        seen.setdefault(case["system"], None)
    return list(seen)


def slots_in(doc: Doc) -> list[int]:
    return sorted({case["slots"] for case in doc.get("burn_down", [])})


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


# -- goals ----------------------------------------------------------------------------


def goals(doc: Doc) -> list[list[str]]:
    """Each goal of issue 5, per slot count where it applies: measured, ratio, met."""
    rows: list[list[str]] = []
    slots = slots_in(doc)

    def burn_goal(
        label: str, ours: str, theirs: Callable[[int], float | None], need: float
    ) -> None:
        for k in slots:
            mine, other = burn_rate(doc, ours, k), theirs(k)
            ratio = _ratio(mine, other)
            rows.append(
                [
                    f"{label}, {k} slot(s)",
                    f"{fmt(mine, 0)} vs {fmt(other, 0)} jobs/s",
                    "-" if ratio is None else f"{ratio:.2f} (goal ≥ {need:g})",
                    "-" if ratio is None else ("met" if ratio >= need else "NOT met"),
                ]
            )

    for store in ("sqlite", "postgresql"):
        burn_goal(
            f"{store}: burn-down vs raw {store}",
            f"jobprocessor-{store}",
            lambda k, s=store: burn_rate(doc, f"raw-{s}", k),
            0.5,
        )
    pg = "jobprocessor-postgresql"
    burn_goal("postgresql: vs procrastinate", pg, lambda k: burn_rate(doc, "procrastinate", k), 2)
    burn_goal("postgresql: vs pgqueuer", pg, lambda k: burn_rate(doc, "pgqueuer", k), 1)

    def best_rq(k: int) -> float | None:
        found = [r for r in (burn_rate(doc, "rq", k), burn_rate(doc, "rq-simple", k)) if r]
        return max(found, default=None)

    for store in ("sqlite", "postgresql"):
        burn_goal(f"{store}: vs RQ (faster variant)", f"jobprocessor-{store}", best_rq, 1)
        burn_goal(
            f"{store}: vs Celery", f"jobprocessor-{store}", lambda k: burn_rate(doc, "celery", k), 1
        )
    for case in doc.get("latency", []):
        if case["system"] == pg and case.get("ms"):
            p50 = case["ms"]["p50"]
            rows.append(
                [
                    "postgresql: submit→start p50",
                    f"{p50:.1f} ms",
                    "(goal ≤ 5 ms)",
                    "met" if p50 <= 5 else "NOT met",
                ]
            )
    for case in doc.get("cancel", []):
        if case["system"] in JP:
            limit = 1.0 if case["kind"] == "cooperative" else 1.0 + 1.0  # cancel_grace + 1 s
            seconds = case.get("seconds")
            rows.append(
                [
                    f"{case['system'].split('-')[1]}: cancel, {case['kind']}",
                    "not stopped" if seconds is None else f"{seconds:.2f} s",
                    f"(goal ≤ {limit:g} s)",
                    "met" if seconds is not None and seconds <= limit else "NOT met",
                ]
            )
    for store in ("sqlite", "postgresql"):
        top = max((c["jobs"] for c in doc.get("listing", []) if c["store"] == store), default=0)
        worst = [
            c
            for c in doc.get("listing", [])
            if c["store"] == store and c["jobs"] == top and c.get("ms")
        ]
        if worst:
            groups = (
                ("filters", [c for c in worst if not c["query"].startswith("title search")]),
                ("title search", [c for c in worst if c["query"].startswith("title search")]),
            )
            for label, group in groups:
                if not group:
                    continue
                case = max(group, key=lambda c: c["ms"]["p95"])
                p95 = case["ms"]["p95"]
                rows.append(
                    [
                        f"{store}: list p95 at {top:,} jobs, slowest {label} "
                        f"({case['query']}, {case['depth']})",
                        f"{p95:.1f} ms",
                        "(goal ≤ 50 ms)",
                        "met" if p95 <= 50 else "NOT met",
                    ]
                )
    return rows


# -- tables ---------------------------------------------------------------------------


def burn_table(doc: Doc) -> tuple[list[str], list[list[str]]]:
    slots = slots_in(doc)
    headers = ["system", *(f"{k} slot(s)" for k in slots), "note"]
    rows = []
    for system in systems_in(doc, "burn_down"):
        notes = set()
        cells = []
        for k in slots:
            case = next(c for c in doc["burn_down"] if c["system"] == system and c["slots"] == k)
            cells.append(fmt(case.get("jobs_per_second"), 0))
            if case.get("error"):
                notes.add(case["error"][:60])
            if case.get("capped"):
                notes.add(f"cut off after {doc['plan']['cap']:g} s")
            if case.get("duplicates"):
                notes.add(f"{case['duplicates']} job(s) ran twice")
        rows.append([system, *cells, "; ".join(sorted(notes))])
    return headers, rows


def latency_table(doc: Doc) -> tuple[list[str], list[list[str]]]:
    headers = ["system", "jobs", "rate/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "note"]
    rows = [
        [
            c["system"],
            str(c["jobs"]),
            fmt(c.get("achieved_rate")),
            *(fmt(c["ms"].get(k)) for k in ("p50", "p95", "p99", "max")),
            c.get("error") or c.get("note") or "",
        ]
        for c in doc.get("latency", [])
    ]
    return headers, rows


def submission_table(doc: Doc) -> tuple[list[str], list[list[str]]]:
    bulk: dict[str, list[float]] = {}
    for case in doc.get("burn_down", []):
        if case.get("submit_seconds") and not case["system"].startswith("raw-"):
            bulk.setdefault(case["system"], []).append(case["jobs"] / case["submit_seconds"])
    headers = ["system", "single/s", "bulk/s", "batch API"]
    rows = []
    for c in doc.get("submission", []):
        rates = bulk.get(c["system"], [])
        mean = sum(rates) / len(rates) if rates and c.get("bulk_api") else None
        rows.append(
            [
                c["system"],
                fmt(c.get("single_per_second"), 0),
                fmt(mean, 0),
                c.get("bulk_api") or "none (one call per job)",
            ]
        )
    return headers, rows


def cancel_table(doc: Doc) -> tuple[list[str], list[list[str]]]:
    headers = ["system", "job", "stopped after", "recorded as", "mechanism / note"]
    rows = [
        [
            c["system"],
            c["kind"],
            "not stopped" if c.get("seconds") is None else f"{c['seconds']:.3f} s",
            c.get("final_state") or "-",
            "; ".join(x for x in (c.get("mechanism"), c.get("error") or c.get("note")) if x),
        ]
        for c in doc.get("cancel", [])
    ]
    return headers, rows


def list_table(doc: Doc, store: str) -> tuple[list[str], list[list[str]]]:
    cases = [c for c in doc.get("listing", []) if c["store"] == store]
    sizes = sorted({c["jobs"] for c in cases})
    headers = ["query", "page", *(f"{s:,} jobs p50 / p95 ms" for s in sizes)]
    rows = []
    keys: dict[tuple[str, str], None] = {}
    for c in cases:
        keys.setdefault((c["query"], c["depth"]), None)
    for query, depth in keys:
        cells = []
        for size in sizes:
            found = [
                c
                for c in cases
                if c["query"] == query and c["depth"] == depth and c["jobs"] == size
            ]
            ms = found[0]["ms"] if found else {}
            cells.append(f"{fmt(ms.get('p50'))} / {fmt(ms.get('p95'))}" if ms else "-")
        rows.append([query, depth, *cells])
    return headers, rows


def text_tables(doc: Doc) -> str:
    parts = []
    for title, (headers, rows) in (
        ("Burn-down (jobs/s)", burn_table(doc)),
        ("Submit→start latency", latency_table(doc)),
        ("Submission (jobs/s)", submission_table(doc)),
        ("Cancel", cancel_table(doc)),
        *(
            (f"List on {store} (JobService.list)", list_table(doc, store))
            for store in ("sqlite", "postgresql")
        ),
        ("Goals", (["goal", "measured", "ratio", ""], goals(doc))),
    ):
        if rows:
            parts += [title, table(headers, rows), ""]
    return "\n".join(parts)


def markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    align = ["---", *("---:" for _ in headers[1:])]
    return "\n".join([line(headers), "|" + "|".join(align) + "|", *(line(r) for r in rows)])


# -- plots ----------------------------------------------------------------------------


def plots(doc: Doc) -> list[str]:
    """PNG files beside the document; returns their names (none if matplotlib is missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    ASSETS.mkdir(parents=True, exist_ok=True)
    written = []
    slots = slots_in(doc)
    if slots:
        figure, axes = plt.subplots(figsize=(8, 5))
        for system in systems_in(doc, "burn_down"):
            values = [burn_rate(doc, system, k) for k in slots]
            style = "-" if system in JP else ("--" if system.startswith("raw-") else ":")
            axes.plot(slots, [v or float("nan") for v in values], style, marker="o", label=system)
        axes.set_xscale("log", base=2)
        axes.set_yscale("log")
        axes.set_xticks(slots, [str(k) for k in slots])
        axes.set_xlabel("worker slots")
        axes.set_ylabel("jobs per second (log)")
        axes.set_title(f"Burn-down of {doc['plan']['jobs']:,} no-op jobs")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
        figure.tight_layout()
        figure.savefig(ASSETS / "throughput.png", dpi=110)
        plt.close(figure)
        written.append("throughput.png")
    cases = [c for c in doc.get("latency", []) if c.get("samples_ms")]
    if cases:
        figure, axes = plt.subplots(figsize=(8, 5))
        for case in cases:
            samples = sorted(case["samples_ms"])
            fractions = [(i + 1) / len(samples) for i in range(len(samples))]
            axes.plot(samples, fractions, label=case["system"])
        axes.set_xscale("log")
        axes.set_xlabel("submit → start, ms (log)")
        axes.set_ylabel("fraction of jobs started")
        axes.set_title(
            f"Latency at {doc['plan']['latency_rate']:g} submits/s, "
            f"{doc['plan']['latency_slots']} slots"
        )
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
        figure.tight_layout()
        figure.savefig(ASSETS / "latency.png", dpi=110)
        plt.close(figure)
        written.append("latency.png")
    return written


# -- the document ---------------------------------------------------------------------


def _before_after(doc: Doc, before: Doc) -> str:
    rows = []
    for system in JP:
        for k in slots_in(doc):
            old, new = burn_rate(before, system, k), burn_rate(doc, system, k)
            ratio = _ratio(new, old)
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
        f"{doc['machine']['load_average']})."
    )
    return head + "\n\n" + markdown(["figure", "before", "after", "change"], rows)


def write_doc(doc: Doc) -> Path:
    images = plots(doc)
    plan, mach, versions = doc["plan"], doc["machine"], doc["versions"]
    systems = doc.get("systems", {})
    version_rows = [[k, str(v)] for k, v in versions.items() if k != "jobprocessor source"]
    for info in systems.values():
        for package, value in info.get("versions", {}).items():
            version_rows.append([package, value])
    loads = [
        (c["system"], c.get("slots", c.get("kind", "")), c["load_before"][0])
        for key in ("submission", "burn_down", "latency", "cancel")
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
        "explains every figure and how it is measured.",
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
        f"## Burn-down: {plan['jobs']:,} no-op jobs queued first, then worked off",
        "",
        "Jobs per second while the worker runs: (started - 1) / (last start - first start),",
        f"from the jobs' own stamps. A case is cut off after {plan['cap']:g} s of work (the",
        "rate is then measured over the jobs started so far). `raw-*` rows are the",
        "databases' limits for a job of two transactions (bench/raw.py).",
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
        "## Console list speed (`JobService.list`, what the REST API and console call)",
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
    DOC.write_text("\n".join(lines))
    return DOC
