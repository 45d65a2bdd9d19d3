"""Settings, read from `RELAYDESK_*` environment variables and a `.env` file."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob relaydesk reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="RELAYDESK_", env_file=".env", extra="ignore")

    data_dir: Path = Path("relaydesk-data")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite under data_dir when unset")
    redis_url: str | None = Field(default=None, description="enables cross-process fan-out of realtime events")
    secret_key: SecretStr | None = Field(default=None, description="keys encryption at rest and contact tokens")
    public_url: str = "http://127.0.0.1:8000"

    host: str = "127.0.0.1"
    port: int = 8000
    forwarded_allow_ips: str = Field(default="127.0.0.1", description="proxies whose X-Forwarded-* headers to trust")
    log_level: str = "info"
    log_json: bool | None = Field(default=None, description="JSON logs; default: JSON unless stderr is a terminal")
    auto_migrate: bool = True
    in_process_workers: bool = True

    widget_ip_burst: int = Field(default=240, description="widget requests one IP may make at once")
    widget_ip_per_second: float = 4.0
    widget_contact_burst: int = Field(default=60, description="widget requests one visitor may make at once")
    widget_contact_per_second: float = 1.0

    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = Field(default=10 * 1_048_576, description="the largest upload any workspace may allow")
    max_message_chars: int = 10_000

    delivery_concurrency: int = 16
    delivery_lease_s: float = 60.0
    delivery_timeout_s: float = 20.0
    delivery_poll_s: float = 0.5
    delivery_backoff_base_s: float = 1.0
    delivery_backoff_cap_s: float = 300.0
    delivery_max_age_s: float = 6 * 3600.0
    delivery_max_attempts: int = 25

    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL in use, with the async driver the URL's dialect needs."""
        if not self.database_url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'relaydesk.db').resolve()}"
        url = self.database_url
        for plain, asynchronous in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(plain):
                return asynchronous + url[len(plain) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
