"""Knowledge: the documents the AI answers from, their sources, ingest and re-sync, and a "try a question" box."""

from __future__ import annotations

from fastapi import APIRouter, UploadFile
from starlette.responses import HTMLResponse, Response

from relaydesk.core.errors import DomainError
from relaydesk.core.users import SignedIn
from relaydesk.web.dashboard.auth import FormDep, SignedInDep, require_manager
from relaydesk.web.dashboard.i18n import t
from relaydesk.web.dashboard.pages import actor, done, page
from relaydesk.web.dashboard.workspace_admin import (
    Trial,
    ingest_source,
    ingest_upload,
    knowledge_documents,
    knowledge_sources,
    load_workspace,
    remove_document,
    try_question,
)
from relaydesk.web.deps import RuntimeDep
from relaydesk.web.runtime import Runtime

router = APIRouter()
MAX_UPLOAD_FILES = 20


async def _page(runtime: Runtime, signed: SignedIn, *, question: str = "", trial: Trial | None = None) -> Response:
    workspace = await load_workspace(runtime, signed.session.workspace_id)
    documents = knowledge_documents(runtime, workspace.id)
    return await page(
        runtime, signed, "knowledge.html", "knowledge", documents=documents, sources=knowledge_sources(workspace),
        passages=sum(d.passages for d in documents), question=question, trial=trial,
    )


@router.get("/knowledge", response_class=HTMLResponse)
async def knowledge(runtime: RuntimeDep, signed: SignedInDep) -> Response:
    return await _page(runtime, signed)


@router.post("/knowledge/try", response_class=HTMLResponse)
async def try_it(runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    """What the AI would answer, which passages it found and how sure it is; nothing is saved."""
    question = str(form.get("question") or "").strip()[:2000]
    if not question:
        return await _page(runtime, signed)
    workspace = await load_workspace(runtime, signed.session.workspace_id)
    return await _page(runtime, signed, question=question, trial=await try_question(runtime, workspace, question))


@router.post("/knowledge/sources")
async def add_website(runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    """Crawl a website (or a sitemap) into the knowledge base."""
    require_manager(signed)
    url = str(form.get("url") or "").strip()
    if not url.startswith(("http://", "https://")):
        raise DomainError(t("knowledge.bad_url"))
    outcome = await ingest_source(runtime, signed.session.workspace_id, url, url, actor=actor(signed))
    return await done(runtime, signed, "/knowledge", t("knowledge.synced", source=url, outcome=outcome))


@router.post("/knowledge/uploads")
async def upload(runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    """Add Markdown, text, HTML, PDF or Q&A files."""
    require_manager(signed)
    files = [item for item in form.getlist("files") if isinstance(item, UploadFile) and item.filename]
    if not files:
        raise DomainError(t("knowledge.no_files"))
    outcomes = []
    for item in files[:MAX_UPLOAD_FILES]:
        data = await item.read()
        outcome = await ingest_upload(runtime, signed.session.workspace_id, item.filename or "", data,
                                      actor=actor(signed))
        outcomes.append(f"{item.filename}: {outcome}")
    return await done(runtime, signed, "/knowledge", "; ".join(outcomes))


@router.post("/knowledge/resync")
async def resync(runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    """Read a source again: changed pages are re-indexed, pages gone from a website are removed."""
    require_manager(signed)
    workspace = await load_workspace(runtime, signed.session.workspace_id)
    wanted = str(form.get("source") or "")
    source = next((s for s in knowledge_sources(workspace) if s["source"] == wanted), None)
    if source is None:
        raise DomainError(t("knowledge.unknown_source"))
    label = str(source.get("label") or wanted)
    outcome = await ingest_source(runtime, workspace.id, wanted, label, actor=actor(signed))
    return await done(runtime, signed, "/knowledge", t("knowledge.synced", source=label, outcome=outcome))


@router.post("/knowledge/documents/delete")
async def delete_document(runtime: RuntimeDep, signed: SignedInDep, form: FormDep) -> Response:
    require_manager(signed)
    doc_id = str(form.get("doc_id") or "")
    await remove_document(runtime, signed.session.workspace_id, doc_id, actor=actor(signed))
    return await done(runtime, signed, "/knowledge", t("knowledge.removed", doc=doc_id))
