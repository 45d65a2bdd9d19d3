"""Fixtures shared by the whole suite: both database backends, Redis, and live servers on loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn

from relaydesk.config import Settings

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("RELAYDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("RELAYDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def service_missing(what: str, error: BaseException) -> None:
    """Under CI a missing service is a failure; on a developer's machine the test is skipped with the reason."""
    message = f"{what} is not reachable: {type(error).__name__}: {error}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def run_in_thread(coroutine_function: Any, *args: Any) -> Any:
    """Run a coroutine to completion on a loop of its own, even when called from inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine_function(*args)).result()


def _pg_url(database: str) -> str:
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{database}"


async def _pg_admin(*statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A database migrated once per run, cloned for each test that needs PostgreSQL."""
    from relaydesk.core.db import upgrade

    name = f"relaydesk_tpl_{uuid.uuid4().hex[:10]}"
    try:
        run_in_thread(_pg_admin, f'CREATE DATABASE "{name}"')
    except Exception as exc:
        service_missing("PostgreSQL", exc)
    run_in_thread(upgrade, _pg_url(name).replace("postgresql://", "postgresql+asyncpg://"))
    os.environ["RELAYDESK_TEST_PG_TEMPLATE"] = name
    yield name
    with contextlib.suppress(Exception):
        run_in_thread(_pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def postgres_url(postgres_template: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, at the newest migration."""
    name = f"relaydesk_t_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    yield _pg_url(name)
    with contextlib.suppress(Exception):
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test that takes this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/relaydesk.db"
        return
    request.getfixturevalue("postgres_template")
    name = f"relaydesk_t_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{os.environ["RELAYDESK_TEST_PG_TEMPLATE"]}"')
    yield _pg_url(name)
    with contextlib.suppress(Exception):
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The Redis server, with keys and channels prefixed per test."""
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        service_missing("Redis", exc)
    await client.aclose()
    yield REDIS_URL


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings tuned for tests: fast polling and backoff, short timeouts."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "secret_key": "test-secret-key",
        "log_json": True,
        "log_level": "warning",
        "delivery_poll_s": 0.05,
        "delivery_backoff_base_s": 0.05,
        "delivery_backoff_cap_s": 0.3,
        "delivery_timeout_s": 2.0,
        "delivery_lease_s": 5.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """An ASGI app served by uvicorn on a loopback port inside the test's event loop."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None,
                                                    lifespan="on", timeout_graceful_shutdown=1))
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveServer:
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(200):
            if self.server.started:
                return self
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.02)
        raise RuntimeError("server did not start")

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.task:
            await asyncio.wait_for(self.task, 10)


@contextlib.asynccontextmanager
async def app_client(settings: Settings, **app_options: Any) -> AsyncIterator[tuple[httpx2.AsyncClient, Any]]:
    """The relaydesk app with its lifespan run, and a client that calls it in-process."""
    from relaydesk.web.app import create_app

    app = create_app(settings, configure_logs=False, **app_options)
    transport = httpx2.ASGITransport(app)
    async with app.router.lifespan_context(app), httpx2.AsyncClient(transport=transport,
                                                                    base_url="http://relaydesk.test") as client:
        yield client, app
