"""Structured logging: JSON lines off a terminal, readable lines on one, a request id on every line."""

from __future__ import annotations

import logging
import sys

import structlog

SQL_LOGGERS = ("sqlalchemy", "sqlalchemy.engine", "aiosqlite", "asyncpg")


def configure_logging(level: str = "info", json_output: bool | None = None) -> None:
    """Route stdlib and structlog records through one structlog renderer."""
    if json_output is None:
        json_output = not sys.stderr.isatty()
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Warnings and up only, whatever the level: at debug the SQL drivers print statement parameters (values that
    # may be secrets), and the others repeat every request.
    quiet = max(logging.WARNING, root.level)
    for noisy in (*SQL_LOGGERS, "uvicorn.access", "alembic", "httpx2", "httpcore2"):
        logging.getLogger(noisy).setLevel(quiet)
