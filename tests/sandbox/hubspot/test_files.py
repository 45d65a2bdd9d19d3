"""Files API: multipart upload, validation, size limit, signed download, attachments on messages."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

import httpx2
import pytest

from relaydesk.sandbox.hubspot import HubSpotSandbox, SandboxConfig

if TYPE_CHECKING:
    from conftest import Conversation, Installed, Portal

OPTIONS = json.dumps({"access": "PRIVATE"})


async def upload(client: httpx2.AsyncClient, content: bytes, **fields: str) -> httpx2.Response:
    data = {"options": OPTIONS, "folderPath": "/relaydesk", **fields}
    return await client.post("/files/v3/files", files={"file": ("receipt.png", content, "image/png")}, data=data)


async def test_upload_then_fetch_with_signed_url(installed: Installed) -> None:
    uploaded = await upload(installed.client, b"\x89PNG fake")
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert (body["name"], body["extension"], body["type"], body["size"]) == ("receipt", "png", "IMG", 9)
    assert body["path"] == "/relaydesk/receipt.png"
    signed = (await installed.client.get(f"/files/v3/files/{body['id']}/signed-url")).json()
    anonymous = httpx2.URL(signed["url"])
    download = await installed.client.get(anonymous.path, params=dict(anonymous.params),
                                          headers={"Authorization": ""})
    assert download.content == b"\x89PNG fake"
    unsigned = await installed.client.get(anonymous.path, headers={"Authorization": ""})
    assert unsigned.status_code == 401


async def test_upload_validation(installed: Installed) -> None:
    no_folder = await installed.client.post(
        "/files/v3/files", files={"file": ("a.txt", b"x", "text/plain")}, data={"options": OPTIONS}
    )
    assert no_folder.status_code == 400
    bad_access = await upload(installed.client, b"x", options=json.dumps({"access": "EVERYONE"}))
    assert bad_access.status_code == 400
    assert bad_access.json()["category"] == "VALIDATION_ERROR"


@pytest.fixture
def config(config: SandboxConfig) -> SandboxConfig:
    return replace(config, max_file_size_bytes=16)


async def test_file_over_the_size_limit_is_refused(installed: Installed) -> None:
    response = await upload(installed.client, b"x" * 17)
    assert response.status_code == 413
    assert response.json()["status"] == "error"


async def test_attachment_limits_of_the_channel_apply(
    conversation: Conversation, portal: Portal, sandbox: HubSpotSandbox
) -> None:
    file_id = (await upload(portal.client, b"tiny")).json()["id"]
    url = f"/conversations/v3/custom-channels/{conversation.channel_id}/messages"
    attachment = {"type": "FILE", "fileId": file_id, "fileUsageType": "IMAGE"}
    ok = await portal.client.post(url, json=portal.visitor_message(conversation.account_id, "pic",
                                                                   attachments=[attachment]))
    assert ok.status_code == 201, ok.text
    assert ok.json()["attachments"][0]["url"].endswith(f"/_sandbox/files/{file_id}")
    too_many = await portal.client.post(url, json=portal.visitor_message(conversation.account_id, "pics",
                                                                         attachments=[attachment] * 3))
    assert too_many.status_code == 400
    unknown = await portal.client.post(url, json=portal.visitor_message(
        conversation.account_id, "?", attachments=[{"type": "FILE", "fileId": "404"}]))
    assert unknown.status_code == 400
