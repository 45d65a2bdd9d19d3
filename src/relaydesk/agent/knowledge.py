"""Knowledge base documents: reading Markdown, HTML, text, PDF, Q&A pairs and websites; passages; the store."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx2
import pypdf

DocumentKind = Literal["markdown", "html", "text", "pdf", "qa", "web"]

MIN_PASSAGE_WORDS = 40
MAX_PASSAGE_WORDS = 120
STORE_FILE = "knowledge.json"
STORE_VERSION = 1

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_URL_LINE = re.compile(r"^url:\s*(\S+)\s*$", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^(?:\d+[.)]|[-*•])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'“(\[]?[A-ZÀ-ÖØ-Þ0-9])")


@dataclass(frozen=True, slots=True)
class Document:
    """One article, page, file or Q&A pair; `text` holds paragraphs separated by blank lines and `#` heading lines."""

    doc_id: str
    title: str
    text: str
    url: str | None = None
    kind: DocumentKind = "text"
    source: str = ""
    language: str = "en"

    @property
    def content_hash(self) -> str:
        """Hash of everything that shapes the passages, so an unchanged document is not split again."""
        payload = "\x1f".join((self.title, self.url or "", self.language, self.text))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Passage:
    """A searchable piece of a document: a few paragraphs, with the document's title kept beside it."""

    doc_id: str
    title: str
    url: str | None
    heading: str | None
    text: str
    language: str = "en"

    @property
    def indexed_text(self) -> str:
        """What retrieval sees: title, section heading and body."""
        return "\n".join(part for part in (self.title, self.heading, self.text) if part)


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What an ingest changed, by document id."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SkippedPage:
    """A page the crawler did not index, and why."""

    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class CrawlResult:
    """Documents found by a crawl and the pages it left out."""

    documents: tuple[Document, ...]
    skipped: tuple[SkippedPage, ...] = ()


# --- Markdown -----------------------------------------------------------------------------------------------------

_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_AUTOLINK = re.compile(r"<(https?://[^>]+)>")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)(?=\S)(.+?)(?<=\S)\1")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_TAG = re.compile(r"<[^>]+>")


def _clean_markdown_line(line: str) -> str:
    line = _MD_IMAGE.sub("", line)
    line = _MD_LINK.sub(r"\1", line)
    line = _MD_AUTOLINK.sub(r"\1", line)
    line = _MD_EMPHASIS.sub(r"\2", line)
    line = _TAG.sub("", line)
    line = re.sub(r"^\s*>\s?", "", line)
    if line.strip().startswith("|"):
        line = " — ".join(cell.strip() for cell in line.strip().strip("|").split("|") if cell.strip())
    return line.rstrip()


def parse_markdown(text: str, doc_id: str, *, source: str = "") -> Document:
    """Read a Markdown article; a first `# Title` line and an optional `url: ...` line after it form the header."""
    lines = text.replace("\r\n", "\n").split("\n")
    title: str | None = None
    url: str | None = None
    body_start = 0
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and (heading := _HEADING.match(lines[first].strip())) and len(heading.group(1)) == 1:
        title = _clean_markdown_line(heading.group(2))
        body_start = first + 1
        following = next((i for i in range(body_start, len(lines)) if lines[i].strip()), None)
        if following is not None and (found := _URL_LINE.match(lines[following].strip())):
            url = found.group(1)
            body_start = following + 1
    body: list[str] = []
    in_fence = False
    for raw in lines[body_start:]:
        if raw.strip().startswith(("```", "~~~")):
            in_fence = not in_fence
            body.append("")
            continue
        if in_fence:
            body.append(raw.rstrip())
        elif _MD_TABLE_RULE.match(raw):
            continue
        else:
            body.append(_clean_markdown_line(raw))
    return Document(
        doc_id=doc_id,
        title=title or _title_from_id(doc_id),
        text="\n".join(body).strip(),
        url=url,
        kind="markdown",
        source=source,
    )


def _title_from_id(doc_id: str) -> str:
    stem = doc_id.rsplit("/", 1)[-1]
    return re.sub(r"[-_]+", " ", stem).strip().capitalize() or doc_id


# --- HTML ---------------------------------------------------------------------------------------------------------

_SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "nav", "footer", "aside", "form", "iframe"}
)
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "li",
        "dt",
        "dd",
        "pre",
        "blockquote",
        "table",
        "tr",
        "td",
        "th",
        "ul",
        "ol",
        "header",
        "figcaption",
        "details",
        "summary",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "br",
        "hr",
    }
)
_VOID_TAGS = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "source", "area", "base", "col"})


class _HtmlReader(HTMLParser):
    """Turns a page into heading lines and paragraphs, marking `<main>`/`<article>` content, and collects links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.links: list[str] = []
        self.blocks: list[tuple[str, bool]] = []
        self._skip_depth = 0
        self._main_depth = 0
        self._in_title = False
        self._current: list[str] = []
        self._heading_level = 0
        self._list_item = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_TAGS:
            if tag == "br":
                self._current.append("\n")
            return
        if tag in _SKIPPED_TAGS:
            self._skip_depth += 1
            return
        if tag == "title":
            self._in_title = True
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)
        if tag in ("main", "article"):
            self._main_depth += 1
        if tag in _BLOCK_TAGS:
            self._flush()
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self._heading_level = int(tag[1])
            self._list_item = tag == "li"

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID_TAGS:
            return
        if tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if tag == "title":
            self._in_title = False
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag in ("main", "article"):
            self._main_depth = max(0, self._main_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip_depth:
            self._current.append(data)

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        text = "\n".join(" ".join(part.split()) for part in "".join(self._current).split("\n")).strip()
        self._current = []
        if text:
            if self._heading_level:
                text = "#" * self._heading_level + " " + " ".join(text.split())
            elif self._list_item:
                text = "- " + text
            self.blocks.append((text, self._main_depth > 0))
        self._heading_level = 0
        self._list_item = False


def _read_html(html: str) -> _HtmlReader:
    reader = _HtmlReader()
    reader.feed(html)
    reader.close()
    return reader


def parse_html(html: str, doc_id: str, *, url: str | None = None, source: str = "") -> Document:
    """Read an HTML page: `<main>`/`<article>` text when present, else the body, without scripts, menus or footers."""
    return _html_document(_read_html(html), doc_id, url=url, source=source, kind="html")


def _html_document(reader: _HtmlReader, doc_id: str, *, url: str | None, source: str, kind: DocumentKind) -> Document:
    main_blocks = [text for text, in_main in reader.blocks if in_main]
    blocks = main_blocks or [text for text, _ in reader.blocks]
    title = " ".join(reader.title.split())
    if not title:
        title = next((b.lstrip("#").strip() for b in blocks if b.startswith("# ")), "") or _title_from_id(doc_id)
    if blocks and blocks[0].startswith("# ") and blocks[0][2:].strip() == title:
        blocks = blocks[1:]
    return Document(doc_id=doc_id, title=title, text=_join_blocks(blocks), url=url, kind=kind, source=source)


def _join_blocks(blocks: Sequence[str]) -> str:
    """Consecutive list items stay together as one paragraph; everything else is its own paragraph."""
    out: list[str] = []
    for block in blocks:
        if out and block.startswith("- ") and out[-1].split("\n")[-1].startswith("- "):
            out[-1] += "\n" + block
        else:
            out.append(block)
    return "\n\n".join(out)


# --- Plain text, PDF, Q&A -----------------------------------------------------------------------------------------


def parse_text(
    text: str, doc_id: str, *, title: str | None = None, url: str | None = None, source: str = ""
) -> Document:
    """Read plain text: blank lines separate paragraphs; a short first line is the title when none is given."""
    text = text.replace("\r\n", "\n").strip()
    if title is None:
        first, _, rest = text.partition("\n")
        if first.strip() and len(first.split()) <= 12 and rest.strip():
            title, text = first.strip(), rest.strip()
        else:
            title = _title_from_id(doc_id)
    return Document(doc_id=doc_id, title=title, text=text, url=url, kind="text", source=source)


def parse_pdf(data: bytes, doc_id: str, *, url: str | None = None, source: str = "") -> Document:
    """Read the text layer of a PDF with pypdf; scanned pages without text yield nothing."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    pages = [page.extract_text() or "" for page in reader.pages]
    paragraphs: list[str] = []
    for page in pages:
        paragraphs.extend(_pdf_paragraphs(page))
    metadata_title = reader.metadata.title if reader.metadata else None
    title = (metadata_title or "").strip()
    if not title and paragraphs and len(paragraphs[0].split()) <= 12:
        title = paragraphs.pop(0)
    return Document(
        doc_id=doc_id,
        title=title or _title_from_id(doc_id),
        text="\n\n".join(paragraphs),
        url=url,
        kind="pdf",
        source=source,
    )


def _pdf_paragraphs(page_text: str) -> list[str]:
    """Join the lines of a page into paragraphs: a blank line, or a short line ending a sentence, closes one."""
    paragraphs: list[str] = []
    current: list[str] = []
    for raw in page_text.splitlines():
        line = raw.strip()
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if current and current[-1].endswith("-") and not current[-1].endswith(" -"):
            current[-1] = current[-1][:-1] + line
        else:
            current.append(line)
        if line.endswith((".", "!", "?", ":")) and len(line) < 60:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def parse_qa_jsonl(text: str, *, source: str = "") -> list[Document]:
    """Read Q&A pairs, one JSON object a line with `question`, `answer` and an optional `url`."""
    documents: list[Document] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{source or 'Q&A file'} line {number}: not valid JSON ({error.msg})") from error
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("question"), str)
            or not isinstance(item.get("answer"), str)
        ):
            raise ValueError(f"{source or 'Q&A file'} line {number}: needs string fields 'question' and 'answer'")
        question = item["question"].strip()
        url = item.get("url") if isinstance(item.get("url"), str) else None
        digest = hashlib.sha256(question.encode("utf-8")).hexdigest()[:12]
        documents.append(
            Document(
                doc_id=f"qa:{digest}", title=question, text=item["answer"].strip(), url=url, kind="qa", source=source
            )
        )
    return documents


def read_file(path: Path) -> list[Document]:
    """Read one file by its extension: .md, .html/.htm, .txt, .pdf or .jsonl (Q&A pairs)."""
    suffix = path.suffix.lower()
    source = str(path)
    if suffix in (".md", ".markdown"):
        return [parse_markdown(path.read_text(encoding="utf-8"), path.stem, source=source)]
    if suffix in (".html", ".htm"):
        return [parse_html(path.read_text(encoding="utf-8"), path.stem, source=source)]
    if suffix == ".txt":
        return [parse_text(path.read_text(encoding="utf-8"), path.stem, source=source)]
    if suffix == ".pdf":
        return [parse_pdf(path.read_bytes(), path.stem, source=source)]
    if suffix == ".jsonl":
        return parse_qa_jsonl(path.read_text(encoding="utf-8"), source=source)
    raise ValueError(f"{path.name}: unsupported file type {suffix or '(none)'}; use .md, .html, .txt, .pdf or .jsonl")


SUPPORTED_SUFFIXES = frozenset({".md", ".markdown", ".html", ".htm", ".txt", ".pdf", ".jsonl"})


def read_directory(directory: Path) -> list[Document]:
    """Read every supported file below a directory, in path order."""
    documents: list[Document] = []
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            documents.extend(read_file(path))
    return documents


# --- Passages -----------------------------------------------------------------------------------------------------


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences; a list item stays whole, as one step."""
    sentences: list[str] = []
    for line in paragraph.split("\n"):
        line = line.strip()
        if _LIST_MARKER.match(line):
            sentences.append(line)
        elif line:
            sentences.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
    return sentences


def _word_count(text: str) -> int:
    return len(text.split())


def _units(text: str) -> Iterator[tuple[str, bool]]:
    """Yield (text, is_heading) units no longer than MAX_PASSAGE_WORDS."""
    for block in re.split(r"\n\s*\n", text):
        block = block.strip()
        if not block:
            continue
        lines = block.split("\n")
        while lines and (heading := _HEADING.match(lines[0].strip())):
            yield heading.group(2).strip(), True
            lines = lines[1:]
        rest = "\n".join(lines).strip()
        if not rest:
            continue
        if _word_count(rest) <= MAX_PASSAGE_WORDS:
            yield rest, False
            continue
        chunk: list[str] = []
        for sentence in split_sentences(rest):
            if chunk and _word_count(" ".join([*chunk, sentence])) > MAX_PASSAGE_WORDS:
                yield " ".join(chunk), False
                chunk = []
            chunk.append(sentence)
        if chunk:
            yield " ".join(chunk), False


def split_passages(document: Document) -> list[Passage]:
    """Split a document at headings and paragraphs into passages of about 40 to 120 words."""
    passages: list[Passage] = []
    parts: list[str] = []
    heading: str | None = None
    words = 0

    def emit() -> None:
        nonlocal parts, words
        if parts:
            passages.append(
                Passage(document.doc_id, document.title, document.url, heading, "\n".join(parts), document.language)
            )
        parts, words = [], 0

    for text, is_heading in _units(document.text):
        count = _word_count(text)
        if is_heading:
            if words >= MIN_PASSAGE_WORDS:
                emit()
            if not parts:
                heading = text
                continue
        elif words and words + count > MAX_PASSAGE_WORDS and words >= MIN_PASSAGE_WORDS:
            emit()
        parts.append(text)
        words += count
    if parts and words < MIN_PASSAGE_WORDS and passages and passages[-1].heading == heading:
        last = passages.pop()
        parts = [last.text, *parts]
    emit()
    if not passages and document.title:
        passages.append(Passage(document.doc_id, document.title, document.url, None, document.title, document.language))
    return passages


# --- The stored knowledge base ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    document: Document
    digest: str
    passages: list[Passage] = field(default_factory=list)


class KnowledgeBase:
    """A workspace's documents and their passages, kept in a directory (or only in memory when none is given)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._entries: dict[str, _Entry] = {}
        if directory is not None and (directory / STORE_FILE).exists():
            self._load(directory / STORE_FILE)

    @property
    def documents(self) -> list[Document]:
        """All documents, by id."""
        return [self._entries[key].document for key in sorted(self._entries)]

    @property
    def passages(self) -> list[Passage]:
        """All passages, documents in id order."""
        return [passage for key in sorted(self._entries) for passage in self._entries[key].passages]

    @property
    def fingerprint(self) -> str:
        """Changes whenever any document does; names the search index built from these passages."""
        digest = hashlib.sha256()
        for key in sorted(self._entries):
            digest.update(f"{key}\x1f{self._entries[key].digest}\n".encode())
        return digest.hexdigest()

    def ingest(self, documents: Iterable[Document], *, prune_source: str | None = None) -> IngestReport:
        """Add or update documents, splitting only changed ones; `prune_source` drops that source's missing ones."""
        added: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        seen: set[str] = set()
        for document in documents:
            seen.add(document.doc_id)
            digest = document.content_hash
            existing = self._entries.get(document.doc_id)
            if existing is not None and existing.digest == digest:
                unchanged.append(document.doc_id)
                continue
            (updated if existing is not None else added).append(document.doc_id)
            self._entries[document.doc_id] = _Entry(document, digest, split_passages(document))
        removed: list[str] = []
        if prune_source is not None:
            removed = [
                key for key, entry in self._entries.items() if entry.document.source == prune_source and key not in seen
            ]
            for key in removed:
                del self._entries[key]
        if self.directory is not None and (added or updated or removed):
            self.save()
        return IngestReport(tuple(added), tuple(updated), tuple(unchanged), tuple(sorted(removed)))

    def remove(self, doc_id: str) -> bool:
        """Remove one document; says whether it was there."""
        if self._entries.pop(doc_id, None) is None:
            return False
        if self.directory is not None:
            self.save()
        return True

    def save(self) -> None:
        """Write the documents and passages to the directory."""
        if self.directory is None:
            raise ValueError("this knowledge base has no directory to save to")
        self.directory.mkdir(parents=True, exist_ok=True)
        payload = {
            "version": STORE_VERSION,
            "documents": [
                {
                    "document": asdict(entry.document),
                    "digest": entry.digest,
                    "passages": [[p.heading, p.text] for p in entry.passages],
                }
                for _, entry in sorted(self._entries.items())
            ],
        }
        target = self.directory / STORE_FILE
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        temporary.replace(target)

    def _load(self, path: Path) -> None:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("version") != STORE_VERSION:
            raise ValueError(f"{path}: knowledge store version {payload.get('version')} is not supported")
        for item in payload["documents"]:
            document = Document(**item["document"])
            passages = [
                Passage(document.doc_id, document.title, document.url, heading, text, document.language)
                for heading, text in item["passages"]
            ]
            self._entries[document.doc_id] = _Entry(document, item["digest"], passages)


# --- Website crawl ------------------------------------------------------------------------------------------------

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_SITEMAP_NS = re.compile(r"^\{[^}]*\}")
_SKIPPED_EXTENSIONS = (
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".svg",
    ".webp",
    ".ico",
    ".css",
    ".js",
    ".zip",
    ".gz",
    ".mp4",
    ".mp3",
    ".woff",
    ".woff2",
    ".ttf",
    ".json",
    ".xml",
)


def _canonical(url: str) -> str:
    url, _ = urldefrag(url)
    parts = urlsplit(url)
    path = parts.path or "/"
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower(), path=path).geturl()


def _same_site(url: str, origin: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and f"{parts.scheme}://{parts.netloc}".lower() == origin


def _sitemap_locations(xml_text: str) -> tuple[list[str], list[str]]:
    """Return (page URLs, nested sitemap URLs) listed in a sitemap or sitemap index."""
    root = ElementTree.fromstring(xml_text)
    pages: list[str] = []
    nested: list[str] = []
    kind = _SITEMAP_NS.sub("", root.tag)
    for element in root.iter():
        if _SITEMAP_NS.sub("", element.tag) == "loc" and element.text:
            (nested if kind == "sitemapindex" else pages).append(element.text.strip())
    return pages, nested


async def _robots(client: httpx2.AsyncClient, origin: str, user_agent: str) -> RobotFileParser:
    """Fetch robots.txt: missing means everything is allowed, forbidden means nothing is, as urllib.robotparser does."""
    robots = RobotFileParser(origin + "/robots.txt")
    try:
        response = await client.get(origin + "/robots.txt", headers={"User-Agent": user_agent}, follow_redirects=True)
    except httpx2.HTTPError:
        robots.parse([])
        return robots
    if response.status_code in (401, 403):
        robots.parse(["User-agent: *", "Disallow: /"])
    elif response.status_code == 200:
        robots.parse(response.text.splitlines())
    else:
        robots.parse([])
    return robots


async def crawl_site(
    start_url: str,
    client: httpx2.AsyncClient,
    *,
    max_pages: int = 100,
    max_depth: int = 3,
    user_agent: str = "relaydesk-crawler",
) -> CrawlResult:
    """Crawl one site from a start page (following same-site links) or from a sitemap (.xml), obeying robots.txt."""
    start = _canonical(start_url)
    parts = urlsplit(start)
    origin = f"{parts.scheme}://{parts.netloc}"
    robots = await _robots(client, origin, user_agent)
    headers = {"User-Agent": user_agent}
    documents: list[Document] = []
    skipped: list[SkippedPage] = []
    queue: list[tuple[str, int]] = []
    seen: set[str] = set()

    if parts.path.lower().endswith(".xml"):
        sitemaps, visited_maps = [start], 0
        while sitemaps and visited_maps < 20:
            sitemap = sitemaps.pop(0)
            visited_maps += 1
            try:
                response = await client.get(sitemap, headers=headers, follow_redirects=True)
                response.raise_for_status()
                pages, nested = _sitemap_locations(response.text)
            except (httpx2.HTTPError, ElementTree.ParseError) as error:
                skipped.append(SkippedPage(sitemap, f"sitemap could not be read: {error}"))
                continue
            sitemaps.extend(_canonical(url) for url in nested if _same_site(url, origin))
            queue.extend((_canonical(url), max_depth) for url in pages if _same_site(url, origin))
    else:
        queue.append((start, 0))

    while queue and len(documents) < max_pages:
        url, depth = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        if not robots.can_fetch(user_agent, url):
            skipped.append(SkippedPage(url, "disallowed by robots.txt"))
            continue
        try:
            response = await client.get(url, headers=headers, follow_redirects=True)
        except httpx2.HTTPError as error:
            skipped.append(SkippedPage(url, f"request failed: {error}"))
            continue
        final = _canonical(str(response.url))
        if not _same_site(final, origin):
            skipped.append(SkippedPage(url, f"redirected off the site to {final}"))
            continue
        if response.status_code != 200:
            skipped.append(SkippedPage(url, f"HTTP {response.status_code}"))
            continue
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/pdf":
            documents.append(parse_pdf(response.content, final, url=final, source=start))
            continue
        if content_type not in _HTML_TYPES:
            skipped.append(SkippedPage(url, f"not a page ({content_type or 'no content type'})"))
            continue
        reader = _read_html(response.text)
        document = _html_document(reader, final, url=final, source=start, kind="web")
        if document.text.strip():
            documents.append(document)
        else:
            skipped.append(SkippedPage(url, "no text"))
        if depth < max_depth:
            for href in reader.links:
                link = _canonical(urljoin(final, href))
                if (
                    _same_site(link, origin)
                    and link not in seen
                    and not urlsplit(link).path.lower().endswith(_SKIPPED_EXTENSIONS)
                ):
                    queue.append((link, depth + 1))
    return CrawlResult(tuple(documents), tuple(skipped))


async def collect_documents(
    source: str, *, client: httpx2.AsyncClient | None = None, max_pages: int = 100, max_depth: int = 3
) -> CrawlResult:
    """Read a file, a directory, or (http/https) crawl a website or sitemap, as `kb ingest` does."""
    if source.startswith(("http://", "https://")):
        if client is not None:
            return await crawl_site(source, client, max_pages=max_pages, max_depth=max_depth)
        async with httpx2.AsyncClient(timeout=20.0) as own_client:
            return await crawl_site(source, own_client, max_pages=max_pages, max_depth=max_depth)
    return CrawlResult(tuple(await asyncio.to_thread(read_path, Path(source))))


def read_path(path: Path) -> list[Document]:
    """Read a file or every supported file below a directory."""
    if path.is_dir():
        return read_directory(path)
    if path.is_file():
        return read_file(path)
    raise FileNotFoundError(f"{path}: no such file or directory")
