"""A job type for the console's browser tests: it writes what it is given.

Its setting goes into its title, its progress message and a log line, so a test
can put markup in all of them and check that the console shows it as text; it can
also write a report page of HTML, which the console shows framed and sandboxed.
"""

from __future__ import annotations

from jobprocessor import JobContext, job


@job("console.echo", category="diagnostics", title="Echo {message}")
def echo(ctx: JobContext, message: str = "hello", html: str = "") -> dict[str, str]:
    """Writes ``message`` everywhere, and ``html`` (if any) as the report's HTML page."""
    ctx.progress(1, 1, message)
    ctx.log.warning("%s", message)
    if html:
        ctx.add_artifact("report.html", html, "text/html")
    return {"echoed": message}
