"""One emulated Creatio tenant: its records, its sign-ins, its reps, and the business processes admins configure."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx2

from relaydesk.sandbox.creatio.config import CASE_STATUSES, CreatioConfig, PersonSeed
from relaydesk.sandbox.creatio.odata import ODataError, error_body
from relaydesk.sandbox.deliveries import BackgroundSends
from relaydesk.sandbox.faults import FaultPlan

Json = dict[str, Any]

COMMON = ("Id", "CreatedOn", "ModifiedOn", "CreatedById", "ModifiedById")
COLUMNS: dict[str, tuple[str, ...]] = {
    "Case": ("Number", "Subject", "Symptoms", "Notes", "Solution", "ContactId", "AccountId", "StatusId", "OriginId",
             "PriorityId", "CategoryId", "OwnerId", "GroupId", "RegisteredOn", "ClosureDate"),
    "Contact": ("Name", "Email", "MobilePhone", "AccountId", "JobTitle"),
    "Activity": ("Title", "Notes", "DetailedResult", "TypeId", "ActivityCategoryId", "StatusId", "PriorityId",
                 "StartDate", "DueDate", "CaseId", "ContactId", "OwnerId"),
    "ActivityFile": ("Name", "Notes", "ActivityId", "TypeId", "Url", "Version", "Size", "TotalSize"),
    "CaseFile": ("Name", "Notes", "CaseId", "TypeId", "Version", "Size", "TotalSize"),
    "CaseStatus": ("Name", "IsFinal", "IsResolved"),
    "CaseOrigin": ("Name",),
    "CasePriority": ("Name",),
    "FileType": ("Name",),
    "ActivityType": ("Name",),
    "ActivityCategory": ("Name",),
    "ActivityStatus": ("Name",),
    "SysAdminUnit": ("Name", "ContactId", "SysAdminUnitTypeValue", "Active"),
}
# Lookup columns and the object each points to, as Creatio's configuration declares them (e.g. Case.Group is a
# lookup of SysAdminUnit, the users and roles; CaseFile is the file object of the case-management package).
LOOKUP_COLUMNS: dict[str, dict[str, str]] = {
    "Case": {"ContactId": "Contact", "StatusId": "CaseStatus", "OriginId": "CaseOrigin", "OwnerId": "Contact",
             "GroupId": "SysAdminUnit", "PriorityId": "CasePriority"},
    "Activity": {"CaseId": "Case", "TypeId": "ActivityType", "ActivityCategoryId": "ActivityCategory",
                 "StatusId": "ActivityStatus", "ContactId": "Contact", "OwnerId": "Contact"},
    "ActivityFile": {"ActivityId": "Activity"},
    "CaseFile": {"CaseId": "Case", "TypeId": "FileType"},
}
READ_ONLY = ("CaseStatus", "CaseOrigin", "CasePriority", "FileType", "ActivityType", "ActivityCategory",
             "ActivityStatus", "SysAdminUnit")
FILE_ENTITIES = ("CaseFile", "ActivityFile")  # objects whose records hold a file body (the File API writes them)
USER, ROLE = 4, 1  # SysAdminUnitTypeValue of a user and of an organizational role


def now_iso() -> str:
    """A timestamp as Creatio's OData writes it."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class FileUpload:
    """One UploadFile call: which record and parent the body belongs to, and the byte range this chunk covers."""

    file_id: str
    name: str
    entity: str
    parent_column: str
    parent_id: str
    start: int
    end: int
    total: int


@dataclass
class Delivery:
    """One call a business process made to the configured web service."""

    url: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    error: str | None = None


@dataclass
class BusinessProcesses:
    """The two processes relaydesk's docs ask the admin to build, with the web service URL they call."""

    webhook_url: str | None = None
    on_rep_activity: bool = True
    on_case_resolved: bool = True
    deliveries: list[Delivery] = field(default_factory=list)


class CreatioSandbox:
    """A tenant's state and behaviour, shared by the OData routes, the sign-in routes and the rep console."""

    def __init__(self, config: CreatioConfig | None = None, webhook_client: httpx2.AsyncClient | None = None) -> None:
        self.config = config or CreatioConfig()
        self.webhook_client = webhook_client
        self.faults = FaultPlan(error_body=lambda status: error_body(status, "Injected fault"))
        self.processes = BusinessProcesses()
        self.tables: dict[str, dict[str, Json]] = {name: {} for name in COLUMNS}
        self.tokens: dict[str, float] = {}
        self.sessions: dict[str, str] = {}  # .ASPXAUTH value -> BPMCSRF value
        self.file_data: dict[str, bytearray] = {}  # file record id -> its body, as uploaded so far
        self._calls = BackgroundSends(return_exceptions=True)
        self._numbers = 0
        self._seed()

    # records -----------------------------------------------------------------------------------------------------

    def _seed(self) -> None:
        c = self.config
        for status_id, name, final, resolved in CASE_STATUSES:
            self._put("CaseStatus", {"Id": status_id, "Name": name, "IsFinal": final, "IsResolved": resolved})
        for entity, rows in c.lookups.items():
            for row_id, name in rows:
                self._put(entity, {"Id": row_id, "Name": name})
        for person in (c.integration_user, *c.reps):
            email = f"{person.login}@sandbox.test"
            self._put("Contact", {"Id": person.contact_id, "Name": person.name, "Email": email})
            self._put("SysAdminUnit", {"Id": person.user_id, "Name": person.login, "ContactId": person.contact_id,
                                       "SysAdminUnitTypeValue": USER, "Active": True})
        for group in c.groups:
            self._put("SysAdminUnit", {"Id": group.group_id, "Name": group.name, "ContactId": None,
                                       "SysAdminUnitTypeValue": ROLE, "Active": True})

    def columns(self, entity: str) -> set[str]:
        """The columns of an entity, custom ones included."""
        extra = self.config.custom_case_columns if entity == "Case" else ()
        return {*COMMON, *COLUMNS[entity], *extra}

    def _put(self, entity: str, values: Json) -> Json:
        stamp = now_iso()
        row: Json = {name: None for name in self.columns(entity)}
        row.update({"CreatedOn": stamp, "ModifiedOn": stamp, **values})
        self.tables[entity][str(row["Id"]).lower()] = row
        return row

    def table(self, entity: str) -> dict[str, Json]:
        """The rows of a collection, or 404 as Creatio answers for an unknown one."""
        if entity not in self.tables:
            raise ODataError(404, f"No HTTP resource was found that matches the request URI for '{entity}'.")
        return self.tables[entity]

    def row(self, entity: str, row_id: str) -> Json:
        """One record by id, or 404."""
        found = self.table(entity).get(row_id.lower())
        if found is None:
            raise ODataError(404, f"Item with id '{row_id}' of entity '{entity}' not found.")
        return found

    def _check(self, entity: str, values: Json, *, creating: bool) -> None:
        columns = self.columns(entity)
        for name, value in values.items():
            if name not in columns or (name in COMMON and not (creating and name == "Id")):
                raise ODataError(400, f"The property '{name}' does not exist on type "
                                      f"'Terrasoft.Configuration.{entity}' or cannot be written.")
            target = LOOKUP_COLUMNS.get(entity, {}).get(name)
            if target and value is not None and str(value).lower() not in self.tables[target]:
                raise ODataError(400, f"Value '{value}' of column '{name}' does not reference an existing "
                                      f"'{target}' record.")

    def create(self, entity: str, values: Json, author: PersonSeed) -> Json:
        """Insert a record as `author`; cases get a number; processes react after the insert."""
        if entity in READ_ONLY:
            raise ODataError(403, f"Insufficient permissions to add records to '{entity}'.")
        self._check(entity, values, creating=True)
        row_id = str(values.get("Id") or uuid.uuid4()).lower()
        if row_id in self.table(entity):
            raise ODataError(400, f"A record with id '{row_id}' already exists in '{entity}'.")
        extra: Json = {}
        if entity == "Case":
            self._numbers += 1
            extra = {"Number": f"SR{self._numbers:08d}", "RegisteredOn": now_iso()}
        row = self._put(entity, {**values, **extra, "Id": row_id, "CreatedById": author.contact_id,
                                 "ModifiedById": author.contact_id})
        if entity == "Activity":
            self._activity_added(row, author)
        return row

    def update(self, entity: str, row_id: str, values: Json, author: PersonSeed) -> Json:
        """Change a record as `author`; a case reaching a resolved status starts the closure process."""
        if entity in READ_ONLY:
            raise ODataError(403, f"Insufficient permissions to change records of '{entity}'.")
        row = self.row(entity, row_id)
        self._check(entity, values, creating=False)
        before = row.get("StatusId")
        row.update({**values, "ModifiedOn": now_iso(), "ModifiedById": author.contact_id})
        if entity == "Case" and row.get("StatusId") != before and self.is_resolved(row.get("StatusId")):
            row["ClosureDate"] = row["ModifiedOn"]
            self._case_resolved(row)
        return row

    def is_resolved(self, status_id: Any) -> bool:
        """Whether a case status counts as resolved."""
        status = self.tables["CaseStatus"].get(str(status_id or "").lower())
        return bool(status and status["IsResolved"])

    # files -------------------------------------------------------------------------------------------------------

    def upload(self, upload: FileUpload, chunk: bytes, author: PersonSeed) -> Json:
        """Write one chunk of a file body, creating the file record on the first one; ODataError when refused."""
        entity, parent_column = upload.entity, f"{upload.parent_column}Id"
        if entity not in FILE_ENTITIES or parent_column not in self.columns(entity):
            raise ODataError(400, f"Object '{entity}' has no file column '{upload.parent_column}'.")
        if upload.total > self.config.max_file_bytes:
            raise ODataError(400, f"The file size exceeds the maximum of {self.config.max_file_bytes} bytes.")
        if upload.start != len(self.file_data.get(upload.file_id, b"")) or upload.end - upload.start + 1 != len(chunk):
            raise ODataError(400, "The Content-Range header does not match the uploaded chunk.")
        row = self.tables[entity].get(upload.file_id)
        if row is None:
            file_type = next(r["Id"] for r in self.tables["FileType"].values() if r["Name"] == "File")
            row = self.create(entity, {"Id": upload.file_id, "Name": upload.name, parent_column: upload.parent_id,
                                       "TypeId": file_type, "Version": 1, "Size": upload.total,
                                       "TotalSize": upload.total}, author)
        self.file_data.setdefault(upload.file_id, bytearray()).extend(chunk)
        return row

    def download(self, entity: str, file_id: str) -> tuple[Json, bytes]:
        """A file record and its body; 404 when there is no such file."""
        if entity not in FILE_ENTITIES:
            raise ODataError(404, f"Object '{entity}' holds no files.")
        row = self.row(entity, file_id)
        return row, bytes(self.file_data.get(row["Id"], b""))

    # sign-in -----------------------------------------------------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str) -> str:
        """An access token for the OAuth client credentials grant; ValueError for a wrong client."""
        if not secrets.compare_digest(client_id, self.config.client_id) or not secrets.compare_digest(
            client_secret, self.config.client_secret
        ):
            raise ValueError("invalid_client")
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.time() + self.config.access_token_ttl_seconds
        return token

    def login(self, user_name: str, password: str) -> tuple[str, str] | None:
        """The .ASPXAUTH and BPMCSRF values of a new session, or None for a wrong user name or password."""
        c = self.config
        if user_name != c.integration_user.login or not secrets.compare_digest(password, c.integration_password):
            return None
        auth, csrf = secrets.token_urlsafe(24), secrets.token_urlsafe(16)
        self.sessions[auth] = csrf
        return auth, csrf

    def authenticate(self, authorization: str | None, cookie_auth: str | None, csrf: str | None) -> PersonSeed:
        """The integration user behind a bearer token or a session cookie with its BPMCSRF header; else 401."""
        if authorization and authorization.startswith("Bearer "):
            expires = self.tokens.get(authorization.removeprefix("Bearer ").strip())
            if expires is None or expires < time.time():
                raise ODataError(401, "The access token is invalid or has expired.")
            return self.config.integration_user
        if cookie_auth and cookie_auth in self.sessions:
            if not csrf or not secrets.compare_digest(csrf, self.sessions[cookie_auth]):
                raise ODataError(401, "The BPMCSRF header is missing or does not match the session.")
            return self.config.integration_user
        raise ODataError(401, "Authentication required: sign in through the identity service or AuthService.svc.")

    # reps --------------------------------------------------------------------------------------------------------

    def rep(self, login: str | None = None) -> PersonSeed:
        """A rep by login, or the first one."""
        return next((r for r in self.config.reps if r.login == login), self.config.reps[0])

    def add_rep_activity(self, case_id: str, text: str, *, rep: PersonSeed | None = None,
                         title: str | None = None) -> Json:
        """A rep logs an activity on a case, as in the case page's timeline."""
        author = rep or self.rep()
        lookups = {r["Name"]: r["Id"] for r in self.tables["ActivityType"].values()}
        statuses = {r["Name"]: r["Id"] for r in self.tables["ActivityStatus"].values()}
        case = self.row("Case", case_id)
        return self.create("Activity", {
            "Title": title or text[:80], "Notes": text, "TypeId": lookups["Email"], "StatusId": statuses["Completed"],
            "CaseId": case["Id"], "ContactId": case["ContactId"], "OwnerId": author.contact_id,
            "StartDate": now_iso(), "DueDate": now_iso(),
        }, author)

    def set_status(self, case_id: str, status_name: str, *, rep: PersonSeed | None = None) -> Json:
        """A rep moves a case to the status called `status_name`."""
        status = next(r for r in self.tables["CaseStatus"].values() if r["Name"] == status_name)
        return self.update("Case", case_id, {"StatusId": status["Id"]}, rep or self.rep())

    # business processes ------------------------------------------------------------------------------------------

    def _activity_added(self, activity: Json, author: PersonSeed) -> None:
        """Process 1: an activity on a case, added by anyone but the integration user, calls the web service."""
        types = {r["Id"] for r in self.tables["ActivityType"].values() if r["Name"] in ("Task", "Email")}
        if not self.processes.on_rep_activity or not activity.get("CaseId") or activity.get("TypeId") not in types:
            return
        if author.contact_id == self.config.integration_user.contact_id:
            return
        self._call({"event_type": "new_activity", "caseId": activity["CaseId"], "activityId": activity["Id"],
                    "text": activity.get("Notes") or activity.get("Title") or "", "authorName": author.name})

    def _case_resolved(self, case: Json) -> None:
        """Process 2: a case reaching a resolved status calls the web service."""
        if self.processes.on_case_resolved:
            self._call({"event_type": "case_resolved", "caseId": case["Id"], "statusId": case["StatusId"]})

    def _call(self, payload: Json) -> None:
        url = self.processes.webhook_url
        if not url:
            return
        body = json.dumps(payload).encode()
        delivery = Delivery(url, {"Content-Type": "application/json"}, body)
        self.processes.deliveries.append(delivery)
        self._calls.start(self._deliver(delivery))

    async def _deliver(self, delivery: Delivery) -> None:
        """The "Call web service" element: one POST, its outcome written to the process log."""
        client = self.webhook_client or httpx2.AsyncClient()
        try:
            response = await client.post(delivery.url, content=delivery.body, headers=delivery.headers,
                                         timeout=self.config.webhook_timeout_seconds)
            delivery.status = response.status_code
        except httpx2.HTTPError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        finally:
            if self.webhook_client is None:
                await client.aclose()

    async def drain(self) -> None:
        """Wait for every web service call in flight."""
        await self._calls.drain()

    async def aclose(self) -> None:
        """Finish the calls in flight."""
        await self.drain()
