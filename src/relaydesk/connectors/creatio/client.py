"""A small typed async client for Creatio's OData 4 API and its two sign-ins, over an injected httpx2.AsyncClient.

OData and configuration-service calls send `ForceUseSession: true` and either `Authorization: Bearer` (identity
service, client credentials) or the session cookies with their `BPMCSRF` value as a header (AuthService.svc);
`sign_in` supplies those headers and is asked again once when Creatio answers 401. Errors come back as CreatioError
with Creatio's message
(https://academy.creatio.com/docs/8.x/dev/development-on-creatio-platform/integrations-and-api/data-services/odata/overview).
Files go through the File API's UploadFile endpoint, which creates the file record on the first chunk
(https://academy.creatio.com/docs/8.x/dev/development-on-creatio-platform/back-end-development/api-for-file-management/references/endpoints).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx2

from relaydesk.core.http_delivery import parse_retry_after

Json = dict[str, Any]
SignIn = Callable[[bool], Awaitable[dict[str, str]]]  # (force a new sign-in) -> headers that authenticate


class CreatioError(Exception):
    """A Creatio answer other than 2xx, or no answer at all (`status` 0)."""

    def __init__(self, what: str, status: int, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(f"{what}: Creatio answered {status}: {message}" if status else f"{what}: {message}")
        self.what = what
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        return self.status in (0, 408, 423, 429) or self.status >= 500


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A file to attach to a record: its record id (chosen by the caller), object, name, type and parent."""

    id: str
    entity: str
    name: str
    content_type: str
    parent_column: str
    parent_id: str


@dataclass(frozen=True, slots=True)
class Session:
    """A cookie session from AuthService.svc: the Cookie header to send and its BPMCSRF value."""

    cookie: str
    csrf: str


def literal(value: str) -> str:
    """A string as an OData literal ('' escapes a quote)."""
    return "'" + value.replace("'", "''") + "'"


def _message(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("code") or body)
        if isinstance(error, str):
            return str(body.get("error_description") or error)
        info = body.get("errorInfo")
        if isinstance(info, dict) and info.get("message"):
            return str(info["message"])
    return str(body)[:300]


class CreatioClient:
    """The Creatio API as relaydesk calls it."""

    def __init__(self, http: httpx2.AsyncClient, root: str, odata: str, sign_in: SignIn | None = None) -> None:
        self.http = http
        self.root = root.rstrip("/")
        self.odata = odata.rstrip("/")
        self.services = self.odata.removesuffix("/odata") + "/rest"  # /0/rest beside /0/odata, /rest beside /odata
        self.sign_in = sign_in

    async def _send(self, method: str, url: str, what: str, **options: Any) -> httpx2.Response:
        try:
            response = await self.http.request(method, url, **options)
        except httpx2.HTTPError as exc:
            raise CreatioError(what, 0, f"no answer from Creatio ({type(exc).__name__}: {exc})") from exc
        if response.is_success:
            return response
        raise CreatioError(what, response.status_code, _message(response),
                           retry_after_s=parse_retry_after(response.headers.get("retry-after")))

    async def _signed(self, method: str, url: str, what: str, headers: dict[str, str],
                      **options: Any) -> httpx2.Response:
        """A call with the sign-in's headers, signing in anew once when Creatio answers 401."""
        if self.sign_in is None:
            raise CreatioError(what, 0, "no credentials to sign in with")
        for attempt in (1, 2):
            signed = {"Accept": "application/json", "ForceUseSession": "true", **headers,
                      **await self.sign_in(attempt == 2)}
            try:
                return await self._send(method, url, what, headers=signed, **options)
            except CreatioError as exc:
                if exc.status != 401 or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _odata(self, method: str, path: str, what: str, *, json: Json | None = None,
                     params: dict[str, str] | None = None) -> httpx2.Response:
        headers = {} if json is None else {"Content-Type": "application/json; charset=utf-8; IEEE754Compatible=true"}
        return await self._signed(method, f"{self.odata}/{path}", what, headers, json=json, params=params)

    # sign-in -----------------------------------------------------------------------------------------------------

    async def client_credentials(self, token_url: str, client_id: str, client_secret: str) -> tuple[str, int]:
        """POST {identity service}/connect/token with the client credentials grant: (access token, lifetime s)."""
        response = await self._send("POST", token_url, "get an access token", data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret})
        body: Json = response.json()
        return str(body["access_token"]), int(body.get("expires_in") or 3600)

    async def login(self, username: str, password: str) -> Session:
        """POST /ServiceModel/AuthService.svc/Login; Creatio answers 200 with Code 1 for a wrong password."""
        what = "sign in as the integration user"
        response = await self._send("POST", f"{self.root}/ServiceModel/AuthService.svc/Login", what,
                                    json={"UserName": username, "UserPassword": password},
                                    headers={"ForceUseSession": "true"})
        body: Json = response.json()
        if body.get("Code") != 0:
            raise CreatioError(what, 401, str(body.get("Message") or "the sign-in was refused"))
        cookies = {}
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
        if "BPMCSRF" not in cookies:
            raise CreatioError(what, 200, "the answer set no BPMCSRF cookie")
        return Session("; ".join(f"{k}={v}" for k, v in cookies.items()), cookies["BPMCSRF"])

    # OData -------------------------------------------------------------------------------------------------------

    async def query(self, entity: str, select: str, *, filter: str | None = None, top: int | None = None) -> list[Json]:
        """GET a collection, always with `$select` (some tenants answer 500 without it)."""
        params = {"$select": select}
        if filter:
            params["$filter"] = filter
        if top is not None:
            params["$top"] = str(top)
        body: Json = (await self._odata("GET", entity, f"read {entity}", params=params)).json()
        return list(body.get("value") or [])

    async def read(self, entity: str, row_id: str, select: str) -> Json | None:
        """GET one record, or None when it does not exist."""
        try:
            response = await self._odata("GET", f"{entity}({row_id})", f"read {entity} {row_id}",
                                         params={"$select": select})
        except CreatioError as exc:
            if exc.status == 404:
                return None
            raise
        body: Json = response.json()
        return body

    async def create(self, entity: str, values: Json) -> Json:
        """POST a record; Creatio answers 201 with it."""
        body: Json = (await self._odata("POST", entity, f"create {entity}", json=values)).json()
        return body

    async def update(self, entity: str, row_id: str, values: Json) -> None:
        """PATCH a record."""
        await self._odata("PATCH", f"{entity}({row_id})", f"update {entity} {row_id}", json=values)

    # files -------------------------------------------------------------------------------------------------------

    async def upload_file(self, file: FileRecord, content: bytes) -> None:
        """POST {services}/FileApiService/UploadFile in one request: the file record `file.id` is created with it.
        Creatio answers `success: false` with `errorInfo` for an upload it refuses."""
        what = f"upload {file.name} to {file.entity}"
        params = {"fileId": file.id, "totalFileLength": str(len(content)), "mimeType": file.content_type,
                  "fileName": file.name, "columnName": "Data", "entitySchemaName": file.entity,
                  "parentColumnName": file.parent_column, "parentColumnValue": file.parent_id}
        headers = {"Content-Type": file.content_type,
                   "Content-Disposition": f"attachment; filename*=UTF-8''{quote(file.name)}",
                   "Content-Range": f"bytes 0-{len(content) - 1}/{len(content)}"}
        response = await self._signed("POST", f"{self.services}/FileApiService/UploadFile", what, headers,
                                      params=params, content=content)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("success") is not True:
            raise CreatioError(what, 400, _message(response))
