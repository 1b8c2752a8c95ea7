"""The figures of a run as tables, and the goals of issue 5 as ratios.

Shared by the printed summary (``text_tables``) and docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bench.common import fmt, table

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


def ratio_of(a: float | None, b: float | None) -> float | None:
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
            ratio = ratio_of(mine, other)
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
                        f"({case['query']}, {case['depth']}, {case.get('client', 'service')})",
                        f"{p95:.1f} ms",
                        "(goal ≤ 50 ms)",
                        "met" if p95 <= 50 else "NOT met",
                    ]
                )
    return rows


def dispatch_goals(doc: Doc, stuck_grace: float) -> list[list[str]]:
    """The goals of issue 14 (dispatch speed): measured, ratio, met."""
    rows: list[list[str]] = []

    def row(label: str, measured: str, goal: str, met: bool | None) -> None:
        rows.append([label, measured, goal, "-" if met is None else ("met" if met else "NOT met")])

    for label, ours, theirs, slots in (
        ("sqlite: burn-down vs raw sqlite", "jobprocessor-sqlite", "raw-sqlite", (4,)),
        ("postgresql: burn-down vs pgqueuer", "jobprocessor-postgresql", "pgqueuer", (4, 8)),
        (
            "postgresql with prefetch: burn-down vs pgqueuer",
            "jobprocessor-postgresql-prefetch",
            "pgqueuer",
            (4, 8),
        ),
    ):
        need = 0.5 if theirs.startswith("raw") else 1.0
        for k in slots:
            mine, other = burn_rate(doc, ours, k), burn_rate(doc, theirs, k)
            ratio = ratio_of(mine, other)
            row(
                f"{label}, {k} slots",
                f"{fmt(mine, 0)} vs {fmt(other, 0)} jobs/s",
                "-" if ratio is None else f"{ratio:.2f} (goal ≥ {need:g})",
                None if ratio is None else ratio >= need,
            )
    for case in doc.get("latency", []):
        if case["system"] in JP and case.get("ms"):
            p50 = case["ms"]["p50"]
            row(
                f"{case['system'].split('-')[1]}: submit→start p50",
                f"{p50:.1f} ms",
                "(goal ≤ 2 ms)",
                p50 <= 2,
            )
    for case in doc.get("cancel", []):
        if case["system"] in JP:
            limit = 0.1 if case["kind"] == "cooperative" else stuck_grace + 0.1
            seconds = case.get("seconds")
            row(
                f"{case['system'].split('-')[1]}: cancel, {case['kind']}",
                "not stopped" if seconds is None else f"{seconds:.3f} s",
                f"(goal ≤ {limit:g} s)",
                seconds is not None and seconds <= limit,
            )
    return rows


# -- tables ---------------------------------------------------------------------------


def burn_table(doc: Doc) -> tuple[list[str], list[list[str]]]:
    slots = slots_in(doc)
    headers = ["system", *(f"{k} slot(s)" for k in slots), "load before", "note"]
    rows = []
    for system in systems_in(doc, "burn_down"):
        notes = set()
        cells = []
        loads = []
        for k in slots:
            case = next(
                (c for c in doc["burn_down"] if c["system"] == system and c["slots"] == k), {}
            )
            cells.append(fmt(case.get("jobs_per_second"), 0))
            loads.append(fmt(case.get("load_before", [None])[0]))
            if case.get("error"):
                notes.add(case["error"][:60])
            if case.get("capped"):
                notes.add(f"cut off after {doc['plan']['cap']:g} s")
            if case.get("duplicates"):
                notes.add(f"{case['duplicates']} job(s) ran twice")
        rows.append([system, *cells, " / ".join(loads), "; ".join(sorted(notes))])
    return headers, rows


def latency_table(doc: Doc) -> tuple[list[str], list[list[str]]]:
    headers = ["system", "jobs", "rate/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "load", "note"]
    rows = [
        [
            c["system"],
            str(c["jobs"]),
            fmt(c.get("achieved_rate")),
            *(fmt(c["ms"].get(k)) for k in ("p50", "p95", "p99", "max")),
            fmt(c["load_before"][0]),
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


def fair_best_seconds(case: Doc) -> float:
    """The shortest possible total of a fair-share case: its jobs back to back on every slot."""
    return float(-(-(case["a_jobs"] + 1) // case["slots"]) * case["job_seconds"])


def fair_share_table(doc: Doc) -> tuple[list[str], list[list[str]]]:
    """B's wait (in seconds and in job durations), A's jobs before it, the total."""
    headers = [
        "system",
        "B's wait s",
        "in job durations",
        "A's jobs started before B's",
        "total s (best)",
        "load",
        "note",
    ]
    rows = []
    for c in doc.get("fair_share", []):
        wait = c.get("b_wait_seconds")
        before = c.get("a_before_b")
        rows.append(
            [
                c["system"],
                fmt(wait, 3),
                "-" if wait is None else f"{wait / c['job_seconds']:.1f}",
                "-" if before is None else f"{before} of {c['a_jobs']}",
                f"{fmt(c.get('total_seconds'))} ({fair_best_seconds(c):.1f})",
                fmt(c["load_before"][0]),
                "; ".join(
                    x
                    for x in (
                        c.get("error") or c.get("note"),
                        f"{c['duplicates']} job(s) ran twice" if c.get("duplicates") else None,
                    )
                    if x
                ),
            ]
        )
    return headers, rows


def list_table(doc: Doc, store: str) -> tuple[list[str], list[list[str]]]:
    """One row per query, page depth and client (in-process service, or the REST API)."""
    cases = [c for c in doc.get("listing", []) if c["store"] == store]
    sizes = sorted({c["jobs"] for c in cases})
    headers = ["query", "page", "via", *(f"{s:,} jobs p50 / p95 ms" for s in sizes)]
    rows = []
    keys: dict[tuple[str, str, str], None] = {}
    for c in cases:
        keys.setdefault((c["query"], c["depth"], c.get("client", "service")), None)
    for query, depth, client in keys:
        cells = []
        for size in sizes:
            found = [
                c
                for c in cases
                if (c["query"], c["depth"], c.get("client", "service")) == (query, depth, client)
                and c["jobs"] == size
            ]
            ms = found[0]["ms"] if found else {}
            cells.append(f"{fmt(ms.get('p50'))} / {fmt(ms.get('p95'))}" if ms else "-")
        rows.append([query, depth, "REST API" if client == "http" else "service", *cells])
    return headers, rows


def text_tables(doc: Doc) -> str:
    parts = []
    for title, (headers, rows) in (
        ("Burn-down (jobs/s)", burn_table(doc)),
        ("Submit→start latency", latency_table(doc)),
        ("Submission (jobs/s)", submission_table(doc)),
        ("Cancel", cancel_table(doc)),
        ("Fair share: B's one job behind A's many", fair_share_table(doc)),
        *(
            (f"List on {store} (JobService.list and GET /api/v1/jobs)", list_table(doc, store))
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
