"""``jobprocessor serve``: the console and the REST API, with an embedded worker."""

from __future__ import annotations

from typing import Annotated

import typer

from jobprocessor.cli.common import AppOption, QueuesOption, State, load_cli_apps, reports_errors
from jobprocessor.cli.running import configure_logging, run_worker
from jobprocessor.queues import QueueSpec


@reports_errors
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0 for every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    apps: AppOption = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Job slots of the worker run with the server.")
    ] = 2,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Serve only; workers run elsewhere.")
    ] = False,
    queues: QueuesOption = None,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Create demo users and jobs (and the apps' demo content)."),
    ] = False,
) -> None:
    """Serve the JobProcessor console and API until SIGTERM/SIGINT.

    With a worker (the default) running jobs is drained on stop, as `worker` does.
    """
    import uvicorn

    from jobprocessor import demo as demo_content
    from jobprocessor.service import open_service
    from jobprocessor.web import create_app
    from jobprocessor.worker import Worker

    spec = QueueSpec.parse(queues)
    configure_logging()
    settings = State.settings()
    modules = load_cli_apps(([demo_content.DIAGNOSTICS] if demo else []) + list(apps or []))
    service = open_service(settings)
    if demo:
        lines = demo_content.install(service, settings, modules)
        typer.echo("Demo users (user / password):\n" + "\n".join(lines))
    service.close()
    shown_host = f"[{host}]" if ":" in host else host
    typer.echo(f"JobProcessor console: http://{shown_host}:{port}/")
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, apps=modules),
            host=host,
            port=port,
            log_level="info",
            server_header=False,
            timeout_graceful_shutdown=5,
        )
    )
    if no_worker:
        server.run()
        return
    worker = Worker(settings, concurrency=workers, apps=modules, queues=spec)
    run_worker(worker, foreground=server.run)
