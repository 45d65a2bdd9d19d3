"""Every emulator in one ASGI app, each under its own path prefix: `relaydesk sandbox` serves it, the demo mounts it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx2
from fastapi import FastAPI

from relaydesk.sandbox.creatio import CreatioSandbox
from relaydesk.sandbox.creatio import create_app as create_creatio_app
from relaydesk.sandbox.creatio.app import CONSOLE as CREATIO_CONSOLE_PATH
from relaydesk.sandbox.freshchat import CONSOLE as FRESHCHAT_CONSOLE_PATH
from relaydesk.sandbox.freshchat import FreshchatSandbox
from relaydesk.sandbox.freshchat import create_app as create_freshchat_app
from relaydesk.sandbox.hubspot import HubSpotSandbox, SandboxConfig
from relaydesk.sandbox.hubspot import create_app as create_hubspot_app
from relaydesk.sandbox.hubspot.console import PREFIX as CONSOLE_PATH
from relaydesk.sandbox.intercom import CONSOLE as INTERCOM_CONSOLE_PATH
from relaydesk.sandbox.intercom import IntercomSandbox
from relaydesk.sandbox.intercom import create_app as create_intercom_app
from relaydesk.sandbox.openai_compat import ChatSandbox
from relaydesk.sandbox.openai_compat import create_app as create_chat_app
from relaydesk.sandbox.salesforce import CONSOLE as SALESFORCE_CONSOLE_PATH
from relaydesk.sandbox.salesforce import SalesforceSandbox
from relaydesk.sandbox.salesforce import create_app as create_salesforce_app

HUBSPOT_PATH = "/hubspot"
INTERCOM_PATH = "/intercom"
CREATIO_PATH = "/creatio"
FRESHCHAT_PATH = "/freshchat"
SALESFORCE_PATH = "/salesforce"
OPENAI_PATH = "/openai"
DEFAULT_PORT = 8900
SHUTDOWN_DRAIN_S = 5.0


@dataclass(frozen=True)
class Sandboxes:
    """The emulators mounted on one app, and where each is reached."""

    hubspot: HubSpotSandbox
    chat: ChatSandbox
    hubspot_url: str
    openai_url: str
    intercom: IntercomSandbox
    intercom_url: str
    creatio: CreatioSandbox
    creatio_url: str
    freshchat: FreshchatSandbox
    freshchat_url: str
    salesforce: SalesforceSandbox
    salesforce_url: str

    @property
    def console_url(self) -> str:
        """The HubSpot rep console, where a rep reads handed-off threads and replies."""
        return f"{self.hubspot_url}{CONSOLE_PATH}"

    def urls(self) -> dict[str, str]:
        """Each emulator's base URL and the rep console's URL."""
        return {"hubspot": self.hubspot_url, "hubspot_console": self.console_url, "openai": f"{self.openai_url}/v1",
                "intercom": self.intercom_url, "intercom_console": f"{self.intercom_url}{INTERCOM_CONSOLE_PATH}",
                "creatio": self.creatio_url, "creatio_console": f"{self.creatio_url}{CREATIO_CONSOLE_PATH}",
                "freshchat": self.freshchat_url, "freshchat_console": f"{self.freshchat_url}{FRESHCHAT_CONSOLE_PATH}",
                "salesforce": self.salesforce_url,
                "salesforce_console": f"{self.salesforce_url}{SALESFORCE_CONSOLE_PATH}"}

    def banner(self) -> list[str]:
        """What to paste into relaydesk's settings, line by line."""
        config = self.hubspot.config
        inboxes = ", ".join(f"{i.inbox_id} ({i.name})" for i in config.inboxes)
        reps = ", ".join(f"{r.user_id} ({r.first_name} {r.last_name})" for r in config.reps)
        return [
            "  HubSpot (Settings → Integrations → HubSpot)",
            f"    API base URL and HubSpot app URL   {self.hubspot_url}",
            f"    App ID                             {config.app_id}",
            f"    Client ID                          {config.client_id}",
            f"    Client secret                      {config.client_secret}",
            f"    Developer API key                  {config.developer_api_key}",
            f"    Inboxes                            {inboxes}",
            f"    Default assignee (optional)        {reps}",
            f"    rep console                        {self.console_url}",
            "  OpenAI-compatible chat (RELAYDESK_LLM_BASE_URL, _MODEL, _API_KEY)",
            f"    base URL                           {self.openai_url}/v1",
            f"    model                              {', '.join(self.chat.models)}",
            f"    API key                            {', '.join(sorted(self.chat.api_keys))}",
            "  Intercom (Settings → Integrations → Intercom)",
            f"    API base URL and Intercom app URL  {self.intercom_url}",
            f"    Access token                       {self.intercom.config.access_token}",
            f"    Client secret                      {self.intercom.config.client_secret}",
            f"    AI admin ID                        {self.intercom.config.owner_admin_id}",
            f"    webhook URL (PUT /_sandbox/webhook) {self.intercom_url}/_sandbox/webhook",
            f"    rep console                        {self.intercom_url}{INTERCOM_CONSOLE_PATH}",
            "  Creatio (Settings → Integrations → Creatio)",
            f"    Instance URL                       {self.creatio_url}",
            f"    Identity service token URL         {self.creatio_url}/connect/token",
            f"    Client ID / secret                 {self.creatio.config.client_id} / "
            f"{self.creatio.config.client_secret}",
            f"    Default owner (optional)           {self.creatio.config.reps[0].contact_id}",
            f"    business processes (PUT webhook_url) {self.creatio_url}/_sandbox/business-processes",
            f"    rep console                        {self.creatio_url}{CREATIO_CONSOLE_PATH}",
            "  Freshchat (Settings → Integrations → Freshchat)",
            f"    Domain                             {self.freshchat.config.domain}",
            f"    API base URL                       {self.freshchat_url}/v2",
            f"    Freshchat app URL                  {self.freshchat_url}",
            f"    API token                          {self.freshchat.config.api_token}",
            f"    Default agent email                {self.freshchat.config.agents[0].email}",
            f"    Account number                     {self.freshchat.config.account_number}",
            f"    Webhook public key                 {self.freshchat_url}/_sandbox/public-key",
            f"    webhook URL (PUT /_sandbox/webhook) {self.freshchat_url}/_sandbox/webhook",
            f"    rep console                        {self.freshchat_url}{FRESHCHAT_CONSOLE_PATH}",
            "  Salesforce MIAW (Settings → Integrations → Salesforce)",
            f"    Instance URL and SCRT URL          {self.salesforce_url}",
            f"    Org ID                             {self.salesforce.config.org_id}",
            f"    ES Developer Name                  {self.salesforce.config.es_developer_name}",
            f"    Auth Key ID                        {self.salesforce.config.auth_key_id}",
            f"    RSA private key                    GET {self.salesforce_url}/_sandbox/settings",
            f"    rep console                        {self.salesforce_url}{SALESFORCE_CONSOLE_PATH}",
        ]

    async def aclose(self) -> None:
        """Give pending helpdesk webhooks and process calls a few seconds to finish, then drop the rest."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(self.hubspot.aclose(), self.intercom.aclose(),
                                                  self.creatio.aclose(), self.freshchat.aclose()), SHUTDOWN_DRAIN_S)


def mount_sandboxes(
    app: FastAPI, base_url: str, prefix: str = "", webhook_client: httpx2.AsyncClient | None = None
) -> Sandboxes:
    """Mount every emulator on `app` under `prefix`; `base_url` is where `app` is reached."""
    hubspot_url = f"{base_url.rstrip('/')}{prefix}{HUBSPOT_PATH}"
    hubspot = HubSpotSandbox(SandboxConfig(public_base_url=hubspot_url), webhook_client)
    chat = ChatSandbox()
    app.mount(f"{prefix}{HUBSPOT_PATH}", create_hubspot_app(sandbox=hubspot))
    app.mount(f"{prefix}{OPENAI_PATH}", create_chat_app(chat))
    intercom_url = f"{base_url.rstrip('/')}{prefix}{INTERCOM_PATH}"
    intercom = IntercomSandbox(webhook_client=webhook_client)
    app.mount(f"{prefix}{INTERCOM_PATH}", create_intercom_app(sandbox=intercom))
    creatio_url = f"{base_url.rstrip('/')}{prefix}{CREATIO_PATH}"
    creatio = CreatioSandbox(webhook_client=webhook_client)
    app.mount(f"{prefix}{CREATIO_PATH}", create_creatio_app(sandbox=creatio))
    freshchat_url = f"{base_url.rstrip('/')}{prefix}{FRESHCHAT_PATH}"
    freshchat = FreshchatSandbox(webhook_client=webhook_client)
    app.mount(f"{prefix}{FRESHCHAT_PATH}", create_freshchat_app(sandbox=freshchat))
    salesforce_url = f"{base_url.rstrip('/')}{prefix}{SALESFORCE_PATH}"
    salesforce = SalesforceSandbox()
    app.mount(f"{prefix}{SALESFORCE_PATH}", create_salesforce_app(sandbox=salesforce))
    return Sandboxes(hubspot, chat, hubspot_url, f"{base_url.rstrip('/')}{prefix}{OPENAI_PATH}", intercom, intercom_url,
                     creatio, creatio_url, freshchat, freshchat_url, salesforce, salesforce_url)


def local_url(host: str, port: int) -> str:
    """The URL a server listening on `host`:`port` is reached at from this machine."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def create_app(base_url: str) -> tuple[FastAPI, Sandboxes]:
    """The standalone sandbox server: an index at `/`, each emulator under its own path (/hubspot, /openai, ...)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.sandboxes.aclose()

    app = FastAPI(title="relaydesk sandbox", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    sandboxes = app.state.sandboxes = mount_sandboxes(app, base_url)

    @app.get("/")
    async def index() -> dict[str, str]:
        """Where each emulator is served."""
        return sandboxes.urls()

    return app, sandboxes
