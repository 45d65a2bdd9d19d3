"""The Creatio sandbox as an ASGI app: identity service, AuthService.svc, OData 4, the rep console and admin."""

from __future__ import annotations

import re
from html import escape
from typing import Annotated, Any
from urllib.parse import quote

import httpx2
from fastapi import APIRouter, Body, FastAPI, Form, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from relaydesk.sandbox.apps import closing, serve_faults
from relaydesk.sandbox.creatio.config import CreatioConfig, PersonSeed
from relaydesk.sandbox.creatio.odata import ODataError, on_odata_error, parse_filter, select, selected
from relaydesk.sandbox.creatio.sandbox import CreatioSandbox, FileUpload
from relaydesk.sandbox.faults import ADMIN_PREFIX

Json = dict[str, Any]
CONSOLE = "/console"
CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+)\s*$")
UPLOAD_PARAMS = ("fileId", "totalFileLength", "fileName", "entitySchemaName", "parentColumnName",
                 "parentColumnValue")

auth = APIRouter(tags=["auth"])
odata = APIRouter(tags=["odata"])
services = APIRouter(tags=["configuration services"])
console = APIRouter(prefix=CONSOLE, tags=["console"])
admin = APIRouter(prefix=ADMIN_PREFIX, tags=["sandbox"])


def _sandbox(request: Request) -> CreatioSandbox:
    sandbox: CreatioSandbox = request.app.state.sandbox
    return sandbox


def _caller(request: Request) -> PersonSeed:
    return _sandbox(request).authenticate(request.headers.get("authorization"), request.cookies.get(".ASPXAUTH"),
                                          request.headers.get("bpmcsrf"))


@auth.post("/connect/token")
async def token(request: Request) -> JSONResponse:
    """Identity service client credentials grant (https://academy.creatio.com/docs/8.x/dev/
    development-on-creatio-platform/integrations-and-api/authentication/oauth-2-0-authorization/identity-service-overview)."""
    form = await request.form()
    if form.get("grant_type") != "client_credentials":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    try:
        issued = _sandbox(request).issue_token(str(form.get("client_id") or ""), str(form.get("client_secret") or ""))
    except ValueError:
        return JSONResponse({"error": "invalid_client"}, status_code=400)
    ttl = _sandbox(request).config.access_token_ttl_seconds
    return JSONResponse({"access_token": issued, "expires_in": ttl, "token_type": "Bearer",
                         "scope": "ApplicationAccess"})


@auth.post("/ServiceModel/AuthService.svc/Login")
async def login(request: Request, body: Annotated[Json, Body()]) -> JSONResponse:
    """Forms authentication: answers 200 with Code 0 and the auth cookies, or Code 1 (https://academy.creatio.com/
    docs/8.x/dev/development-on-creatio-platform/integrations-and-api/authentication/authentication-basics/
    references/authservice-svc)."""
    session = _sandbox(request).login(str(body.get("UserName") or ""), str(body.get("UserPassword") or ""))
    if session is None:
        return JSONResponse({"Code": 1, "Message": "Invalid username or password specified.", "Exception": None,
                             "PasswordChangeUrl": None, "RedirectUrl": None})
    answer = JSONResponse({"Code": 0, "Message": "", "Exception": None, "PasswordChangeUrl": None,
                           "RedirectUrl": None})
    answer.set_cookie("BPMLOADER", "sandbox", httponly=True)
    answer.set_cookie(".ASPXAUTH", session[0], httponly=True)
    answer.set_cookie("BPMCSRF", session[1])
    answer.set_cookie("UserName", str(body.get("UserName")), httponly=True)
    return answer


@odata.get("/{entity}({row_id})")
async def read(request: Request, entity: str, row_id: str) -> JSONResponse:
    """GET one record by id, `$select`ed (academy.creatio.com/docs/8.x/dev/…/data-services/odata/overview)."""
    _caller(request)
    sandbox = _sandbox(request)
    row = sandbox.row(entity, row_id)
    names = selected(request.query_params.get("$select"), sandbox.columns(entity))
    return JSONResponse({"@odata.context": f"{request.base_url}$metadata#{entity}/$entity",
                         **select(row, names)})


@odata.get("/{entity}")
async def query(request: Request, entity: str) -> JSONResponse:
    """GET a collection with `$filter`, `$select`, `$top` (academy.creatio.com/docs/8.x/dev/…/odata/overview)."""
    _caller(request)
    sandbox, params = _sandbox(request), request.query_params
    columns = sandbox.columns(entity) if entity in sandbox.tables else set()
    rows = list(sandbox.table(entity).values())
    names = selected(params.get("$select"), columns)
    if params.get("$filter"):
        keep = parse_filter(params["$filter"], columns)
        rows = [row for row in rows if keep(row)]
    rows.sort(key=lambda row: str(row.get("CreatedOn")))
    if params.get("$top"):
        rows = rows[: int(params["$top"])]
    return JSONResponse({"@odata.context": f"{request.base_url}$metadata#{entity}",
                         "value": [select(row, names) for row in rows]})


@odata.post("/{entity}")
async def create(request: Request, entity: str, body: Annotated[Json, Body()]) -> JSONResponse:
    """POST a record: 201 with the created record (academy.creatio.com/docs/8.x/dev/…/data-services/odata/overview)."""
    author = _caller(request)
    row = _sandbox(request).create(entity, body, author)
    return JSONResponse({"@odata.context": f"{request.base_url}$metadata#{entity}/$entity", **row}, status_code=201)


@odata.patch("/{entity}({row_id})")
async def update(request: Request, entity: str, row_id: str, body: Annotated[Json, Body()]) -> Response:
    """PATCH a record: 204 without a body; Creatio's OData 4 reference returns a body for GET and POST only
    (https://academy.creatio.com/docs/8.x/dev/development-on-creatio-platform/integrations-and-api/data-services/
    odata/basics/references/odata-odata-4)."""
    _sandbox(request).update(entity, row_id, body, _caller(request))
    return Response(status_code=204)


def _service_answer(status: int = 200, error: str | None = None) -> JSONResponse:
    """A configuration service's answer (ConfigurationServiceResponse): `success`, and `errorInfo` on failure."""
    body: Json = {"responseStatus": None, "rowsAffected": -1, "nextPrcElReady": False, "success": error is None}
    if error is not None:
        body["errorInfo"] = {"errorCode": "ArgumentException", "message": error, "stackTrace": None}
    return JSONResponse(body, status_code=status)


@services.post("/FileApiService/UploadFile")
async def upload_file(request: Request) -> JSONResponse:
    """Upload a file body, whole or in chunks named by Content-Range; the first chunk creates the file record
    `fileId` in `entitySchemaName`, linked to the parent through `parentColumnName`/`parentColumnValue`
    (https://academy.creatio.com/docs/8.x/dev/development-on-creatio-platform/back-end-development/
    api-for-file-management/references/endpoints). Creatio documents the parameters and headers, not its error
    status codes: a refused upload is answered 400 with `success: false` and the reason in `errorInfo`."""
    author = _caller(request)
    params = request.query_params
    missing = [name for name in UPLOAD_PARAMS if not params.get(name)]
    span = CONTENT_RANGE.match(request.headers.get("content-range", ""))
    if missing or span is None:
        what = f"missing parameters: {', '.join(missing)}" if missing else "the Content-Range header is missing"
        return _service_answer(400, what)
    start, end, total = (int(x) for x in span.groups())
    if str(total) != params["totalFileLength"]:
        return _service_answer(400, "totalFileLength differs from the Content-Range header")
    upload = FileUpload(params["fileId"].lower(), params["fileName"], params["entitySchemaName"],
                        params["parentColumnName"], params["parentColumnValue"].lower(), start, end, total)
    try:
        _sandbox(request).upload(upload, await request.body(), author)
    except ODataError as exc:
        return _service_answer(exc.status, exc.message)
    return _service_answer()


@services.get("/FileService/Download/{entity}/{file_id}")
async def download_file(request: Request, entity: str, file_id: str) -> Response:
    """A file record's body as an attachment (the File API's download endpoint, same page as UploadFile)."""
    _caller(request)
    row, body = _sandbox(request).download(entity, file_id)
    disposition = f"attachment; filename*=UTF-8''{quote(str(row['Name']))}"
    return Response(body, media_type="application/octet-stream", headers={"Content-Disposition": disposition})


@console.get("")
async def cases(request: Request) -> HTMLResponse:
    """The rep console: every case with its activities, a reply form and a status picker."""
    sandbox = _sandbox(request)
    statuses = sandbox.tables["CaseStatus"]
    options = "".join(f"<option>{escape(s['Name'])}</option>" for s in statuses.values())
    parts = ["<h1>Creatio sandbox: cases</h1>"]
    for case in sorted(sandbox.tables["Case"].values(), key=lambda c: str(c["Number"]), reverse=True):
        status = statuses.get(str(case["StatusId"]).lower(), {}).get("Name", "?")
        activities = sorted((a for a in sandbox.tables["Activity"].values() if a["CaseId"] == case["Id"]),
                            key=lambda a: str(a["CreatedOn"]))
        items = "".join(f"<li><b>{escape(str(a['Title']))}</b><pre>{escape(str(a['Notes'] or ''))}</pre></li>"
                        for a in activities)
        files = "".join(f"<li>{escape(str(f['Name']))} ({f['Size']} bytes)</li>"
                        for f in sandbox.tables["CaseFile"].values() if f["CaseId"] == case["Id"])
        base = f"{request.url.path}/cases/{case['Id']}"
        parts.append(
            f"<section><h2>{escape(case['Number'])}: {escape(str(case['Subject']))} ({escape(status)})</h2>"
            f"<p>{escape(str(case['Symptoms'] or ''))}</p><ol>{items}</ol>"
            + (f"<p>Attachments</p><ul>{files}</ul>" if files else "") +
            f"<form method='post' action='{base}/activities'><textarea name='text'></textarea>"
            f"<button>Add activity as {escape(sandbox.rep().name)}</button></form>"
            f"<form method='post' action='{base}/status'><select name='status'>{options}</select>"
            f"<button>Set status</button></form></section>"
        )
    return HTMLResponse("".join(parts))


@console.post("/cases/{case_id}/activities")
async def add_activity(request: Request, case_id: str, text: Annotated[str, Form()]) -> RedirectResponse:
    """A rep adds an activity on the case."""
    _sandbox(request).add_rep_activity(case_id, text)
    return RedirectResponse(str(request.url_for("cases")), status_code=303)


@console.post("/cases/{case_id}/status")
async def set_status(request: Request, case_id: str, status: Annotated[str, Form()]) -> RedirectResponse:
    """A rep sets the case's status."""
    _sandbox(request).set_status(case_id, status)
    return RedirectResponse(str(request.url_for("cases")), status_code=303)


@admin.get("/business-processes")
async def processes(request: Request) -> Json:
    """The web service URL the processes call, and every call they made."""
    found = _sandbox(request).processes
    return {"webhook_url": found.webhook_url, "calls": [
        {"url": d.url, "body": d.body.decode(), "status": d.status, "error": d.error} for d in found.deliveries]}


@admin.put("/business-processes")
async def configure_processes(request: Request, webhook_url: Annotated[str, Body(embed=True)]) -> Json:
    """Point both processes' "Call web service" element at relaydesk's webhook URL."""
    _sandbox(request).processes.webhook_url = webhook_url
    return {"webhook_url": webhook_url}


def create_app(
    config: CreatioConfig | None = None,
    *,
    sandbox: CreatioSandbox | None = None,
    webhook_client: httpx2.AsyncClient | None = None,
) -> FastAPI:
    """Build the sandbox app around a new (or the given) CreatioSandbox, reachable as `app.state.sandbox`."""
    tenant = sandbox or CreatioSandbox(config, webhook_client)
    app = FastAPI(title="Creatio sandbox", summary="An emulator of Creatio's OData 4 and sign-in APIs",
                  lifespan=closing(tenant))
    app.state.sandbox = tenant
    app.include_router(auth)
    app.include_router(odata, prefix="/0/odata")
    app.include_router(odata, prefix="/odata")
    app.include_router(services, prefix="/0/rest")
    app.include_router(services, prefix="/rest")
    app.include_router(console)
    app.include_router(admin)
    app.add_exception_handler(ODataError, on_odata_error)
    serve_faults(app)
    return app
