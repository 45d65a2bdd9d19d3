"""Reading documents, splitting passages, the knowledge store and the website crawler."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from relaydesk.agent.knowledge import (
    MAX_PASSAGE_WORDS,
    Document,
    KnowledgeBase,
    crawl_site,
    parse_html,
    parse_markdown,
    parse_pdf,
    parse_qa_jsonl,
    read_directory,
    split_passages,
)


def test_markdown_header_gives_title_and_url(articles: dict[str, str]) -> None:
    document = parse_markdown(articles["reset-password"], "reset-password")
    assert document.title == "Reset your password"
    assert document.url == "https://help.example.test/reset-password"
    assert not document.text.startswith("url:")
    assert "## If you forgot your password" in document.text


def test_markdown_formatting_is_reduced_to_text() -> None:
    document = parse_markdown("# T\n\nSelect **Settings → Security** and [read more](https://x.test).\n", "t")
    assert document.text == "Select Settings → Security and read more."


def test_passages_keep_title_and_heading_and_stay_short() -> None:
    long_body = "\n\n".join(f"Paragraph {i} " + "word " * 50 for i in range(6))
    document = Document("long", "A long guide", "## Part one\n\n" + long_body)
    passages = split_passages(document)
    assert len(passages) >= 3
    assert all(p.title == "A long guide" and p.heading == "Part one" for p in passages)
    assert all(len(p.text.split()) <= MAX_PASSAGE_WORDS + 60 for p in passages)
    assert "A long guide" in passages[-1].indexed_text


def test_short_sections_become_their_own_passages_at_headings(articles: dict[str, str]) -> None:
    passages = split_passages(parse_markdown(articles["reset-password"], "reset-password"))
    assert [p.heading for p in passages] == ["If you forgot your password", "Password rules"]


def test_html_keeps_main_content_without_scripts_or_menus() -> None:
    html = """<html><head><title>Billing help</title><script>var x = 1;</script></head><body>
    <nav><a href="/">Home</a> Pricing Blog</nav>
    <main><h1>Billing help</h1><h2>Invoices</h2><p>Download invoices from <b>Settings</b>.</p>
    <ul><li>PDF format</li><li>Monthly</li></ul></main>
    <footer>© Example</footer></body></html>"""
    document = parse_html(html, "billing")
    assert document.title == "Billing help"
    assert "Download invoices from Settings." in document.text
    assert "## Invoices" in document.text and "- PDF format\n- Monthly" in document.text
    assert "var x" not in document.text and "Pricing Blog" not in document.text and "©" not in document.text


def test_pdf_text_layer_is_read(pdf: Callable[[list[str], str | None], bytes]) -> None:
    data = pdf(["Hub quick start", "Plug the Hub into power.", "Hold the button ten seconds to reset it."], "Hub")
    document = parse_pdf(data, "hub-manual")
    assert document.title == "Hub"
    assert "Hold the button ten seconds to reset it." in document.text


def test_qa_pairs_become_documents_with_their_urls() -> None:
    lines = [
        json.dumps(
            {"question": "Do you ship to Norway?", "answer": "Yes, customs may apply.", "url": "https://x.test/s"}
        ),
        "",
        json.dumps({"question": "Is there a free plan?", "answer": "Yes, with 5 GB."}),
    ]
    documents = parse_qa_jsonl("\n".join(lines))
    assert [d.title for d in documents] == ["Do you ship to Norway?", "Is there a free plan?"]
    assert documents[0].url == "https://x.test/s" and documents[1].url is None
    assert split_passages(documents[0])[0].indexed_text.startswith("Do you ship to Norway?")


def test_qa_line_without_an_answer_is_rejected_with_its_line_number() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_qa_jsonl('{"question": "a", "answer": "b"}\n{"question": "c"}\n')


def test_directory_reading_picks_every_supported_file(
    tmp_path: Path, articles: dict[str, str], pdf: Callable[[list[str], str | None], bytes]
) -> None:
    (tmp_path / "a.md").write_text(articles["refund-policy"], encoding="utf-8")
    (tmp_path / "b.txt").write_text("Opening hours\n\nWe answer on weekdays.", encoding="utf-8")
    (tmp_path / "c.pdf").write_bytes(pdf(["Manual", "Charge the Hub overnight."], None))
    (tmp_path / "ignored.png").write_bytes(b"\x89PNG")
    assert sorted(d.doc_id for d in read_directory(tmp_path)) == ["a", "b", "c"]


def test_reingest_splits_only_changed_documents_and_prunes_removed_ones(
    kb_dir: Path, documents: list[Document]
) -> None:
    knowledge = KnowledgeBase(kb_dir)
    first = knowledge.ingest(documents, prune_source="")
    assert len(first.added) == len(documents)
    documents = list(documents)
    documents[0] = Document(
        documents[0].doc_id,
        documents[0].title,
        documents[0].text + "\n\nNew paragraph.",
        documents[0].url,
        documents[0].kind,
    )
    second = knowledge.ingest(documents[:-1], prune_source="")
    assert second.updated == (documents[0].doc_id,)
    assert len(second.unchanged) == len(documents) - 2
    assert second.removed == (documents[-1].doc_id,)


def test_store_reloads_from_its_directory_with_the_same_fingerprint(kb_dir: Path, documents: list[Document]) -> None:
    knowledge = KnowledgeBase(kb_dir)
    knowledge.ingest(documents)
    reloaded = KnowledgeBase(kb_dir)
    assert reloaded.fingerprint == knowledge.fingerprint
    assert reloaded.passages == knowledge.passages
    assert reloaded.remove("refund-policy") and reloaded.fingerprint != knowledge.fingerprint


def _site(pages: dict[str, tuple[int, str, str]], seen: list[str]) -> httpx2.MockTransport:
    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.path)
        status, content_type, body = pages.get(request.url.path, (404, "text/plain", "missing"))
        return httpx2.Response(status, headers={"content-type": content_type}, text=body)

    return httpx2.MockTransport(handler)


def _page(title: str, body: str, links: str = "") -> tuple[int, str, str]:
    return 200, "text/html; charset=utf-8", f"<html><title>{title}</title><body><p>{body}</p>{links}</body></html>"


async def test_crawl_follows_same_site_links_and_obeys_robots() -> None:
    seen: list[str] = []
    pages = {
        "/robots.txt": (200, "text/plain", "User-agent: *\nDisallow: /private\n"),
        "/help": _page(
            "Help",
            "Start here.",
            '<a href="/help/a">A</a><a href="/private/x">P</a>'
            '<a href="https://elsewhere.test/">E</a><a href="/logo.png">L</a>',
        ),
        "/help/a": _page("Article A", "Answer A.", '<a href="/help#top">Back</a>'),
        "/private/x": _page("Secret", "Hidden."),
    }
    async with httpx2.AsyncClient(transport=_site(pages, seen), base_url="https://docs.example.test") as client:
        result = await crawl_site("https://docs.example.test/help", client)
    assert [d.title for d in result.documents] == ["Help", "Article A"]
    assert result.documents[1].url == "https://docs.example.test/help/a"
    assert "/private/x" not in seen and "/logo.png" not in seen
    assert any(s.reason == "disallowed by robots.txt" for s in result.skipped)


async def test_crawl_from_a_sitemap_reads_listed_pages_only() -> None:
    sitemap = """<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc>https://docs.example.test/one</loc></url><url><loc>https://other.test/two</loc></url></urlset>"""
    pages = {"/sitemap.xml": (200, "application/xml", sitemap), "/one": _page("One", "First.", '<a href="/x">X</a>')}
    seen: list[str] = []
    async with httpx2.AsyncClient(transport=_site(pages, seen)) as client:
        result = await crawl_site("https://docs.example.test/sitemap.xml", client)
    assert [d.title for d in result.documents] == ["One"]
    assert "/x" not in seen


async def test_crawl_stops_at_the_page_limit() -> None:
    pages = {f"/p{i}": _page(f"Page {i}", "Text.", f'<a href="/p{i + 1}">next</a>') for i in range(10)}
    async with httpx2.AsyncClient(transport=_site(pages, [])) as client:
        result = await crawl_site("https://docs.example.test/p0", client, max_pages=3, max_depth=20)
    assert len(result.documents) == 3
