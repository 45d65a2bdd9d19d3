"""The `relaydesk` command."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from starlette.types import ASGIApp

from relaydesk.channels.widget.pages import DEMO_WORKSPACE_FILE as DEMO_FILE
from relaydesk.config import Settings
from relaydesk.connectors.cli import integrations_app
from relaydesk.logs import configure_logging
from relaydesk.web.dashboard import cli as dashboard_cli

app = typer.Typer(help="relaydesk: an AI front door for customer support, with handoff to your helpdesk.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (tenants).", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks.", no_args_is_help=True)
kb_app = typer.Typer(help="Knowledge base.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(workspace_app, name="workspace")
app.add_typer(bench_app, name="bench")
app.add_typer(integrations_app, name="integrations")
app.add_typer(dashboard_cli.app, name="user", help="Dashboard users.")
app.add_typer(kb_app, name="kb")

HostOpt = Annotated[str | None, typer.Option(help="address to listen on (default RELAYDESK_HOST)")]
BackendsOpt = Annotated[str, typer.Option(help="comma-separated: sqlite,postgres")]
PostgresOpt = Annotated[str, typer.Option(help="server to create a throwaway database on")]
OutputOpt = Annotated[Path | None, typer.Option(help="also write the figures here as JSON")]
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
PortOpt = Annotated[int | None, typer.Option(help="port to listen on (default RELAYDESK_PORT)")]


def _names(listed: str) -> list[str]:
    """The names in a comma-separated option."""
    return [name.strip() for name in listed.split(",") if name.strip()]


def _counts(listed: str) -> list[int]:
    """Positive whole numbers from a comma-separated option."""
    counts = _names(listed)
    if not counts or not all(name.isdigit() and int(name) > 0 for name in counts):
        raise typer.BadParameter(f"expected positive whole numbers separated by commas, not {listed!r}")
    return [int(name) for name in counts]


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _serve(settings: Settings, application: ASGIApp) -> None:
    configure_logging(settings.log_level, settings.log_json)
    config = uvicorn.Config(application, host=settings.host, port=settings.port, log_config=None,
                            proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips,
                            timeout_graceful_shutdown=5, access_log=False)
    uvicorn.Server(config).run()


@app.command()
def serve(
    host: HostOpt = None,
    port: PortOpt = None,
    workers: Annotated[bool | None, typer.Option(
        "--workers/--no-workers", help="run delivery workers in this process (default RELAYDESK_IN_PROCESS_WORKERS)"
    )] = None,
) -> None:
    """Serve the API, widget and webhooks."""
    from relaydesk.web.app import create_app

    settings = _settings(host=host, port=port, in_process_workers=workers)
    _serve(settings, create_app(settings, run_workers=settings.in_process_workers, configure_logs=False))


@app.command()
def worker() -> None:
    """Run delivery workers only (scale-out: any number of these beside `serve --no-workers`)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)

    async def main() -> None:
        from relaydesk.web.runtime import Runtime

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runtime = await Runtime.start(settings, run_workers=True)
        try:
            await stop.wait()
        finally:
            await runtime.close()

    asyncio.run(main())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest migration."""
    from relaydesk.core.db import upgrade

    settings = Settings()
    asyncio.run(upgrade(settings.resolved_database_url))
    typer.echo("database is at the newest migration")


async def _create_workspace(settings: Settings, name: str) -> dict[str, str]:
    from relaydesk.core.bus import Bus
    from relaydesk.core.conversations import Conversations
    from relaydesk.core.db import Database, upgrade

    await upgrade(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    try:
        workspace, key = await Conversations(db, Bus()).create_workspace(name)
    finally:
        await db.dispose()
    return {"id": workspace.id, "name": workspace.name, "widget_token": workspace.widget_token, "api_key": key}


@workspace_app.command("create")
def workspace_create(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="print {id, widget_token, api_key} as JSON")] = False,
) -> None:
    """Create a workspace; its API key is printed once and stored only hashed."""
    created = asyncio.run(_create_workspace(Settings(), name))
    if as_json:
        typer.echo(json.dumps(created))
        return
    typer.echo(f"workspace {created['name']} ({created['id']})")
    typer.echo(f"  widget token: {created['widget_token']}")
    typer.echo(f"  API key:      {created['api_key']}   (shown once; keep it secret)")


@kb_app.command("ingest")
def kb_ingest(
    source: Annotated[str, typer.Argument(help="a file, a folder, or a website's start URL or sitemap")],
    workspace: Annotated[str | None, typer.Option(help="workspace id (default: the only one, or the demo's)")] = None,
    max_pages: Annotated[int, typer.Option(min=1, help="pages to crawl at most")] = 200,
    max_depth: Annotated[int, typer.Option(min=0, help="links to follow from the start URL")] = 3,
) -> None:
    """Add documents to a workspace's knowledge base; re-ingesting updates changed documents only."""
    from relaydesk.agent.responder import ingest_documents

    settings = Settings()
    workspace_id = workspace or asyncio.run(_only_workspace(settings))
    try:
        added, updated, unchanged = asyncio.run(
            ingest_documents(settings, workspace_id, source, max_pages=max_pages, max_depth=max_depth)
        )
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{added} added, {updated} updated, {unchanged} unchanged")


async def _only_workspace(settings: Settings) -> str:
    from sqlalchemy import select

    from relaydesk.core.db import Database, upgrade
    from relaydesk.core.models import Workspace

    demo = Path(settings.data_dir) / DEMO_FILE
    if demo.exists():
        return str(json.loads(demo.read_text())["id"])
    await upgrade(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    try:
        async with db.read() as session:
            ids = list((await session.scalars(select(Workspace.id).limit(2))).all())
    finally:
        await db.dispose()
    if len(ids) != 1:
        raise typer.BadParameter("name the workspace with --workspace", param_hint="--workspace")
    return ids[0]




@app.command()
def demo(host: HostOpt = None, port: PortOpt = None) -> None:
    """Run everything in one process on SQLite under ./relaydesk-data, with a demo workspace and sandbox helpdesks."""
    from relaydesk import demo as demo_module

    settings = demo_module.demo_settings(_settings(host=host, port=port))
    if settings.database_url and not settings.is_sqlite:
        typer.echo("note: the demo runs on the configured database, not the embedded default")
    created = asyncio.run(demo_module.prepare(settings))
    running = demo_module.create_demo_app(settings, created.id)
    base = settings.public_url.rstrip("/")
    typer.echo(
        f"\nrelaydesk demo: everything in one process, data in {settings.data_dir}/\n"
        f"  widget demo     {base}/demo   (ask for a person to see a handoff)\n"
        f"  dashboard       {base}/app   (sign in: {created.owner_email} / {created.owner_password})\n"
        f"  HubSpot inbox   {running.sandboxes.console_url}   (sandbox rep console: reply here)\n"
        f"  LLM sandbox     {running.sandboxes.openai_url}/v1   (OpenAI-compatible, model "
        f"{running.sandboxes.chat.models[0]})\n"
        f"  API reference   {base}/docs\n"
        f"  health          {base}/healthz   {base}/readyz   {base}/metrics\n"
        f"  widget token    {created.widget_token}\n"
        f"  API key         {created.api_key}\n"
        f"Try it:\n"
        f"  curl -s -XPOST {base}/api/widget/v1/contacts -H 'X-Widget-Token: {created.widget_token}'"
        f" -H 'content-type: application/json' -d '{{}}'\n"
        f"(credentials are kept in {created.credentials_path})\n"
    )
    _serve(settings, running.app)


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8900,
) -> None:
    """Run the sandbox helpdesks (HubSpot) and an OpenAI-compatible chat server, for a dry run with no account."""
    from relaydesk.sandbox.server import create_app as create_sandbox_app
    from relaydesk.sandbox.server import local_url

    application, sandboxes = create_sandbox_app(local_url(host, port))
    typer.echo("\nrelaydesk sandbox: emulators of the APIs relaydesk calls; their state lives in memory\n")
    typer.echo("\n".join(sandboxes.banner()) + "\n")
    uvicorn.run(application, host=host, port=port, log_config=None, access_log=False, timeout_graceful_shutdown=5)


@bench_app.command("core")
def bench_core(
    backends: BackendsOpt = "sqlite,postgres",
    postgres_url: PostgresOpt = PG_DEFAULT,
    runs: Annotated[int, typer.Option(min=1, help="repetitions; medians are reported")] = 3,
    messages: Annotated[int, typer.Option(min=10, help="messages per run")] = 2000,
    jobs: Annotated[int, typer.Option(min=10, help="outbox jobs per drain run")] = 1000,
    processes: Annotated[str, typer.Option(help="server process counts to compare, e.g. 1,2,4")] = "1",
    output: OutputOpt = None,
) -> None:
    """Messages accepted per second end to end (by server processes), and outbox drain rate against a 20 ms target."""
    configure_logging("warning")
    from relaydesk.bench.core import run_core_bench

    results = asyncio.run(run_core_bench(
        backends=_names(backends), postgres_url=postgres_url, runs=runs,
        messages=messages, jobs=jobs, processes=_counts(processes),
    ))
    for line in results["table"]:
        typer.echo(line)
    if output:
        output.write_text(json.dumps(results, indent=2))


@bench_app.command("stream")
def bench_stream(
    backends: BackendsOpt = "sqlite,postgres",
    postgres_url: PostgresOpt = PG_DEFAULT,
    streams: Annotated[int, typer.Option(min=1, help="widget streams held open")] = 1000,
    replies: Annotated[int, typer.Option(min=10, help="rep replies posted")] = 300,
    rate: Annotated[float, typer.Option(min=1, help="replies per second")] = 50.0,
    output: OutputOpt = None,
) -> None:
    """Rep reply committed → on the visitor's open stream (median, p99), with many streams open; memory per stream."""
    configure_logging("warning")
    from relaydesk.bench.stream import run_stream_bench

    results = asyncio.run(run_stream_bench(
        backends=_names(backends), postgres_url=postgres_url, streams=streams,
        replies=replies, rate=rate,
    ))
    for line in results["table"]:
        typer.echo(line)
    if output:
        output.write_text(json.dumps(results, indent=2))


@bench_app.command("webhook")
def bench_webhook(
    backends: BackendsOpt = "sqlite,postgres",
    postgres_url: PostgresOpt = PG_DEFAULT,
    streams: Annotated[int, typer.Option(min=1, help="widget streams held open")] = 2000,
    threads: Annotated[int, typer.Option(min=1, help="conversations handed off to the sandbox HubSpot")] = 200,
    replies: Annotated[int, typer.Option(min=10, help="rep replies typed in the sandbox console")] = 1000,
    rate: Annotated[float, typer.Option(min=1, help="rep replies per second")] = 200.0,
    output: OutputOpt = None,
) -> None:
    """A rep reply in the helpdesk → on the visitor's open stream (median, p99), against a no-storage floor."""
    configure_logging("warning")
    from relaydesk.bench.webhook import run_webhook_bench

    results = asyncio.run(run_webhook_bench(
        backends=_names(backends), postgres_url=postgres_url, streams=streams,
        threads=threads, replies=replies, rate=rate,
    ))
    for line in results["table"]:
        typer.echo(line)
    if output:
        output.write_text(json.dumps(results, indent=2))


@bench_app.command("drain")
def bench_drain(
    backends: BackendsOpt = "sqlite,postgres",
    postgres_url: PostgresOpt = PG_DEFAULT,
    sessions: Annotated[int, typer.Option(min=1, help="conversations handed off to the sandbox HubSpot")] = 50,
    steady: Annotated[int, typer.Option(min=10, help="messages delivered while HubSpot is up")] = 1000,
    backlog: Annotated[int, typer.Option(min=10, help="messages sent while HubSpot is down")] = 10_000,
    outage: Annotated[float, typer.Option(min=1, help="seconds HubSpot is down")] = 300.0,
    output: OutputOpt = None,
) -> None:
    """Deliveries per second to a helpdesk answering in 50 ms under its rate limits; time to drain after an outage."""
    configure_logging("warning")
    from relaydesk.bench.drain import run_drain_bench

    results = asyncio.run(run_drain_bench(backends=_names(backends), postgres_url=postgres_url, sessions=sessions,
                                          steady=steady, backlog=backlog, outage_s=outage))
    for line in results["table"]:
        typer.echo(line)
    if output:
        output.write_text(json.dumps(results, indent=2))


@bench_app.command("soak")
def bench_soak(
    minutes: Annotated[float, typer.Option(min=0.1, help="minutes of traffic under faults, per backend")] = 10.0,
    seed: Annotated[int | None, typer.Option(help="replay a run: the same plan of faults, restarts, traffic")] = None,
    backends: BackendsOpt = "postgres,sqlite",
    postgres_url: PostgresOpt = PG_DEFAULT,
    redis_url: Annotated[str, typer.Option(help="Redis for the scale-out run")] = "redis://127.0.0.1:6379/0",
    visitors: Annotated[int, typer.Option(min=1, help="visitors chatting at once per helpdesk")] = 3,
    output: OutputOpt = None,
) -> None:
    """relaydesk under injected faults and SIGKILLed processes, then an audit: nothing lost, nothing doubled."""
    configure_logging("warning")
    from relaydesk.bench.soak import run_soak_bench

    results = asyncio.run(run_soak_bench(
        minutes=minutes, seed=seed, backends=_names(backends), postgres_url=postgres_url, redis_url=redis_url,
        visitors=visitors,
    ))
    for line in results["table"]:
        typer.echo(line)
    if output:
        output.write_text(json.dumps(results, indent=2))
    if not results["passed"]:
        raise typer.Exit(1)


@bench_app.command("widget")
def bench_widget() -> None:
    """The widget's size, raw and gzipped, against its 15 KB budget."""
    from relaydesk.bench.widget import widget_size

    size = widget_size()
    verdict = "within" if size["within_budget"] else "OVER"
    typer.echo(f"widget.js: {size['raw_bytes']} bytes raw, {size['gzip_bytes']} bytes gzipped "
               f"({verdict} the {size['budget_gzip_bytes']}-byte budget)")


@bench_app.command("agent")
def bench_agent(
    passages: Annotated[int, typer.Option(min=100, help="knowledge base size for the latency figures")] = 10_000,
    output: Annotated[Path | None, typer.Option(help="also write every figure and error here as JSON")] = None,
) -> None:
    """The offline brain on the labelled evaluation set: accuracy, handoff precision/recall, language, latency."""
    from relaydesk.agent.evaluation import run_evaluation

    figures = run_evaluation(latency_passages=passages)
    handoff = figures["handoff"]
    latency = figures["latency_ms"]
    rows = [
        ("messages", f"{figures['messages']}"),
        ("answer top-1 accuracy", f"{figures['answer_accuracy']:.3f}"),
        ("false handoff rate", f"{figures['false_handoff_rate']:.3f}"),
        ("language accuracy (20+ chars)", f"{figures['language_accuracy']:.3f}"),
        (f"decision latency median / p99 ({passages} passages)",
         f"{latency['median']:.2f} / {latency['p99']:.2f} ms"),
    ]
    rows += [(f"handoff {reason}: precision / recall", f"{v['precision']:.3f} / {v['recall']:.3f}")
             for reason, v in handoff.items()]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        typer.echo(f"{name:<{width}}  {value}")
    for target, met in figures["targets"].items():
        typer.echo(f"target {target}: {'met' if met else 'MISSED'}")
    if output:
        output.write_text(json.dumps(figures, indent=2, ensure_ascii=False))


def main() -> None:
    app()
