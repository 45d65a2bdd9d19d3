"""Files API v3: multipart upload, metadata, signed URLs, and the sandbox's own download link."""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, UploadFile
from starlette.responses import Response

from relaydesk.sandbox.hubspot import errors
from relaydesk.sandbox.hubspot.auth import SandboxDep, require_scopes
from relaydesk.sandbox.hubspot.state import AccessToken

FileUser = Annotated[AccessToken, Depends(require_scopes("files"))]

ACCESS_LEVELS = frozenset(
    {
        "PUBLIC_INDEXABLE",
        "PUBLIC_NOT_INDEXABLE",
        "HIDDEN_INDEXABLE",
        "HIDDEN_NOT_INDEXABLE",
        "HIDDEN_PRIVATE",
        "PRIVATE",
        "HIDDEN_SENSITIVE",
        "SENSITIVE",
    }
)

router = APIRouter(tags=["files"])


@router.post("/files/v3/files", status_code=201)
async def upload_file(
    sandbox: SandboxDep,
    _: FileUser,
    file: UploadFile | None = None,
    options: Annotated[str | None, Form()] = None,
    folderId: Annotated[str | None, Form()] = None,
    folderPath: Annotated[str | None, Form()] = None,
    fileName: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    """Upload a file (multipart: file, options with access, folderId or folderPath, fileName).

    Follows https://developers.hubspot.com/docs/api-reference/files-files-v3/guide (Upload a file).
    """
    if file is None:
        raise errors.validation("file is required")
    if (folderId is None) == (folderPath is None):
        raise errors.validation("Provide exactly one of folderId or folderPath")
    try:
        parsed = json.loads(options or "")
    except json.JSONDecodeError as exc:
        raise errors.validation("options must be a JSON object with an access field") from exc
    access = parsed.get("access") if isinstance(parsed, dict) else None
    if access not in ACCESS_LEVELS:
        raise errors.validation(f"options.access must be one of {', '.join(sorted(ACCESS_LEVELS))}")
    content = await file.read(sandbox.config.max_file_size_bytes + 1)
    if len(content) > sandbox.config.max_file_size_bytes:
        raise errors.HubSpotError(
            413,
            errors.error_body(f"File exceeds the maximum size of {sandbox.config.max_file_size_bytes} bytes",
                              "VALIDATION_ERROR"),
        )
    stored = sandbox.store_file(
        name=fileName or file.filename or "upload",
        content_type=file.content_type or "application/octet-stream",
        content=content,
        access=access,
        folder_path=folderPath,
        folder_id=folderId,
    )
    return sandbox.file_json(stored)


@router.get("/files/v3/files/{fileId}")
async def get_file(fileId: str, sandbox: SandboxDep, _: FileUser) -> dict[str, Any]:
    """Read a file's metadata.

    Follows https://developers.hubspot.com/docs/api-reference/files-files-v3/guide.
    """
    return sandbox.file_json(sandbox.stored_file(fileId))


@router.get("/files/v3/files/{fileId}/signed-url")
async def signed_url(fileId: str, sandbox: SandboxDep, _: FileUser, expirationSeconds: int = 3600) -> dict[str, Any]:
    """A time-limited download URL for a (private) file.

    Follows https://developers.hubspot.com/docs/api-reference/files-files-v3/guide.
    """
    return sandbox.signed_file_url(fileId, expirationSeconds)


@router.get("/_sandbox/files/{fileId}")
async def download_file(
    fileId: str,
    sandbox: SandboxDep,
    expiresAt: int | None = None,
    signature: str | None = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Serve a file's bytes: public files to anyone, others with a signed link or a token holding `files`."""
    stored = sandbox.stored_file(fileId)
    if not stored.access.startswith("PUBLIC"):
        signed = (
            expiresAt is not None
            and signature is not None
            and expiresAt > sandbox.now_ms()
            and hmac.compare_digest(signature, sandbox.file_signature(fileId, expiresAt))
        )
        if not signed:
            token = sandbox.authenticate(authorization)
            if "files" not in token.scopes:
                raise errors.missing_scopes(("files",), all_required=False)
    return Response(stored.content, media_type=stored.content_type)
