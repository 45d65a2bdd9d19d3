"""HubSpot's API rate limits, their X-HubSpot-RateLimit-* headers and the 429 body.

Limits follow https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines:
per installed account, OAuth apps get a rolling ten-second burst limit; private apps a burst
limit by tier plus a daily limit; CRM search endpoints have their own per-second limit and no
rate-limit headers. OAuth calls carry no daily headers
(https://developers.hubspot.com/changelog/rate-limit-headers-will-now-appear-for-oauth-authenticated-calls).
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relaydesk.sandbox.faults import ADMIN_PREFIX, RateLimitDecision, RateLimitRule, WindowKind, route_path
from relaydesk.sandbox.hubspot.errors import correlation_id
from relaydesk.sandbox.hubspot.sandbox import HubSpotSandbox
from relaydesk.sandbox.hubspot.state import AccessToken, TokenKind

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
DAILY = "DAILY"
SECONDLY = "SECONDLY"


def rules_for(sandbox: HubSpotSandbox, token: AccessToken, search: bool) -> tuple[str, list[RateLimitRule]]:
    """The counting key and the limits that apply to one call."""
    config = sandbox.config
    if search:
        return f"search:{token.token}", [RateLimitRule(SECONDLY, config.search_limit_per_second, 1.0)]
    if token.kind is TokenKind.OAUTH:
        return f"oauth:{token.app_id}:{config.portal_id}", [RateLimitRule(TEN_SECONDLY, config.oauth_burst_limit, 10.0)]
    return f"private:{token.token}", [
        RateLimitRule(TEN_SECONDLY, config.private_app_burst_limit, 10.0),
        RateLimitRule(DAILY, config.private_app_daily_limit, 86_400.0, WindowKind.FIXED),
    ]


def limit_headers(decisions: list[RateLimitDecision]) -> dict[str, str]:
    """The X-HubSpot-RateLimit-* headers describing where a caller stands."""
    headers: dict[str, str] = {}
    for decision in decisions:
        if decision.rule.name == TEN_SECONDLY:
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(int(decision.rule.window_seconds * 1000))
            headers["X-HubSpot-RateLimit-Max"] = str(decision.rule.limit)
            headers["X-HubSpot-RateLimit-Remaining"] = str(decision.remaining)
        elif decision.rule.name == DAILY:
            headers["X-HubSpot-RateLimit-Daily"] = str(decision.rule.limit)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(decision.remaining)
    return headers


class HubSpotRateLimitMiddleware:
    """Counts authenticated API calls and answers 429 once a limit is reached."""

    def __init__(self, app: ASGIApp, sandbox: HubSpotSandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI call under the rate limits."""
        path = route_path(scope)
        if scope["type"] != "http" or path.startswith((ADMIN_PREFIX, "/oauth")):
            await self.app(scope, receive, send)
            return
        authorization = Headers(scope=scope).get("authorization", "")
        token = self.sandbox.state.access_tokens.get(authorization[7:].strip()) if authorization else None
        if token is None:
            await self.app(scope, receive, send)
            return
        search = path.endswith("/search")
        key, rules = rules_for(self.sandbox, token, search)
        decisions = self.sandbox.limiter.hit(key, rules)
        headers = {} if search else limit_headers(decisions)
        blocked = next((d for d in decisions if not d.allowed), None)
        if blocked is not None:
            body = {
                "status": "error",
                "message": f"You have reached your {blocked.rule.name.lower()} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": correlation_id(),
                "policyName": blocked.rule.name,
                "requestId": correlation_id(),
            }
            await JSONResponse(body, status_code=429, headers=headers)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                mutable = MutableHeaders(scope=message)
                for name, value in headers.items():
                    mutable[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
