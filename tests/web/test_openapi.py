"""The OpenAPI schema tells the truth about the public contract."""

from __future__ import annotations

from relaydesk.config import Settings
from tests.conftest import app_client

CONTRACT = [
    ("post", "/api/widget/v1/contacts"),
    ("post", "/api/widget/v1/sessions"),
    ("get", "/api/widget/v1/sessions"),
    ("get", "/api/widget/v1/sessions/{session_id}/messages"),
    ("post", "/api/widget/v1/sessions/{session_id}/messages"),
    ("get", "/api/widget/v1/sessions/{session_id}/events"),
    ("post", "/api/v1/contacts/authenticate"),
    ("get", "/api/v1/sessions"),
    ("get", "/api/v1/deliveries"),
    ("post", "/api/v1/deliveries/{job_id}/retry"),
    ("get", "/healthz"),
    ("get", "/readyz"),
]


async def test_schema_lists_the_contract_paths_with_json_errors(settings: Settings) -> None:
    async with app_client(settings, run_workers=False) as (client, _app):
        schema = (await client.get("/openapi.json")).json()
    for method, path in CONTRACT:
        assert method in schema["paths"][path], f"{method.upper()} {path} missing"
    post = schema["paths"]["/api/widget/v1/sessions/{session_id}/messages"]["post"]
    assert post["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert set(post["responses"]) >= {"200", "201", "401", "404", "409", "422"}
