"""Knowledge sync from Intercom: help-center articles and closed conversations become knowledge-base documents.

Only what changed since the last sync is read, by `updated_at` cursors the integration keeps in its settings:
- articles: `GET /articles` pages, which Intercom returns most recently updated first
  (https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/articles/listarticles), read until
  the first article older than the cursor; a published article becomes a document, an unpublished one is removed;
- conversations: `POST /conversations/search` for `state = closed` and `updated_at` since the cursor, page by page
  with `starting_after` (https://developers.intercom.com/docs/build-an-integration/learn-more/rest-apis/pagination),
  each read whole with `GET /conversations/{id}` (search results carry no parts): the customer's question and the
  last answer a teammate gave become a Q&A document. Conversations only the AI or a bot answered teach nothing.
The cursor's own second is read again (`updated_at` is in whole seconds), so nothing updated in it is missed;
unchanged documents are recognised by their content and not split again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from relaydesk.agent.knowledge import Document, parse_html
from relaydesk.connectors.intercom.client import IntercomClient, Json
from relaydesk.connectors.intercom.webhooks import CUSTOMER_INITIATED, plain_text

ARTICLES = "intercom:articles"
CONVERSATIONS = "intercom:conversations"
PER_PAGE = 50
MAX_TITLE = 200


@dataclass
class Found:
    """Documents read from one kind of content, the ids to remove, and the newest `updated_at` seen."""

    documents: list[Document] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    newest: int | None = None
    read: int = 0

    def saw(self, updated_at: int) -> None:
        self.read += 1
        self.newest = max(self.newest or 0, updated_at)


def article_id(article: Json) -> str:
    return f"intercom:article:{article.get('id')}"


def article_document(article: Json) -> Document:
    """A help-center article (HTML body) as a document under its title and public URL."""
    doc_id = article_id(article)
    text = parse_html(str(article.get("body") or ""), doc_id).text
    description = str(article.get("description") or "").strip()
    return Document(doc_id=doc_id, title=str(article.get("title") or doc_id)[:MAX_TITLE],
                    text=f"{description}\n\n{text}".strip() if description else text,
                    url=article.get("url") or None, kind="html", source=ARTICLES)


async def articles_since(client: IntercomClient, since: int | None) -> Found:
    """Articles updated at or after `since` (all of them without it)."""
    found, page = Found(), 1
    while True:
        body = await client.articles(page, PER_PAGE)
        items: list[Json] = list(body.get("data") or [])
        for article in items:
            updated = int(article.get("updated_at") or 0)
            if since is not None and updated < since:
                return found
            found.saw(updated)
            if article.get("state") == "published":
                found.documents.append(article_document(article))
            else:
                found.removed.append(article_id(article))
        if not items or page >= int((body.get("pages") or {}).get("total_pages") or 1):
            return found
        page += 1


def _is_teammate(part: Json, ai_admin_id: str) -> bool:
    author = part.get("author") or {}
    return (part.get("part_type") == "comment" and author.get("type") == "admin"
            and str(author.get("id")) != ai_admin_id
            and not (author.get("from_ai_agent") or author.get("is_ai_answer")))


def conversation_document(conversation: Json, ai_admin_id: str) -> Document | None:
    """A closed conversation as a Q&A pair: the customer's first message, and the last answer of a teammate."""
    source = conversation.get("source") or {}
    if source.get("delivered_as", CUSTOMER_INITIATED) != CUSTOMER_INITIATED:
        return None
    parts = (conversation.get("conversation_parts") or {}).get("conversation_parts") or []
    answers = [p for p in parts if _is_teammate(p, ai_admin_id)]
    question = plain_text(source.get("body"))
    answer = plain_text(answers[-1].get("body")) if answers else ""
    if not question or not answer:
        return None
    title = question.splitlines()[0][:MAX_TITLE]
    text = answer if title == question else f"{question}\n\n{answer}"
    return Document(doc_id=f"intercom:conversation:{conversation.get('id')}", title=title, text=text, kind="qa",
                    source=CONVERSATIONS)


def _closed_since(since: int | None) -> Json:
    closed: Json = {"field": "state", "operator": "=", "value": "closed"}
    if since is None:
        return closed
    return {"operator": "AND", "value": [closed, {"field": "updated_at", "operator": ">", "value": since - 1}]}


async def conversations_since(client: IntercomClient, since: int | None, ai_admin_id: str) -> Found:
    """Closed conversations updated at or after `since` that a teammate answered."""
    found, cursor = Found(), None
    while True:
        body = await client.search_conversations(_closed_since(since), PER_PAGE, cursor)
        for listed in body.get("conversations") or []:
            found.saw(int(listed.get("updated_at") or 0))
            document = conversation_document(await client.conversation(str(listed.get("id"))), ai_admin_id)
            if document is not None:
                found.documents.append(document)
        following: Any = ((body.get("pages") or {}).get("next") or {})
        cursor = following.get("starting_after") if isinstance(following, dict) else None
        if not cursor:
            return found
