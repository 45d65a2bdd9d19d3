"""Files visitors attach: checked by their bytes, stored once by content hash, reachable only through a random ref.

Layout under the data dir:

    uploads/blobs/ab/abcdef…   the bytes, named by their SHA-256 (the same file uploaded twice is stored once)
    uploads/refs/<ref>.json    one per upload: workspace, hash, type, name, size; <ref> is 128 random bits

The URL carries the ref, never the hash: knowing a file's content must not let anyone fetch someone else's upload.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from relaydesk.channels.widget.settings import UPLOAD_TYPES

CHUNK = 64 * 1024
REF_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")


class UploadRefused(Exception):
    """A file the workspace does not accept; `status` is 413 (too large) or 415 (type)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class StoredUpload:
    ref: str
    workspace_id: str
    sha256: str
    content_type: str
    name: str
    size: int

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


def sniff(head: bytes) -> str | None:
    """The type the first bytes of a file show, for the types the widget accepts; None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if b"\x00" not in head and _is_text(head):
        return "text/plain"
    return None


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sniffed window is still text.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def clean_name(name: str | None) -> str:
    """A file name safe to show and to put in a URL path: no directories, no control characters, bounded."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip(" .")
    return base[:120] or "file"


def declared_type(name: str, sniffed: str) -> str | None:
    """The type to store: what the bytes show, except that text counts only under a text file name (CSV keeps its
    finer type), so markup such as SVG or HTML is never taken in as "text"."""
    if not sniffed.startswith("text/"):
        return sniffed
    lowered = name.lower()
    for text_type in ("text/csv", "text/plain"):
        if lowered.endswith(UPLOAD_TYPES[text_type]):
            return text_type
    return None


class UploadStore:
    """Content-addressed storage of uploads under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _blob(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def _ref(self, ref: str) -> Path:
        return self.root / "refs" / f"{ref}.json"

    def store(
        self, source: BinaryIO, *, workspace_id: str, name: str | None, max_bytes: int, types: list[str]
    ) -> StoredUpload:
        """Copy `source` in, refusing it as soon as it passes `max_bytes` or its bytes are not an allowed type."""
        filename = clean_name(name)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        content_type: str | None = None
        with tempfile.NamedTemporaryFile(dir=self.root / "tmp", delete=False) as partial:
            try:
                while chunk := source.read(CHUNK):
                    if content_type is None:
                        content_type = self._check_type(chunk, filename, types)
                    size += len(chunk)
                    if size > max_bytes:
                        raise UploadRefused(413, f"the file is larger than {max_bytes} bytes")
                    digest.update(chunk)
                    partial.write(chunk)
                if size == 0 or content_type is None:
                    raise UploadRefused(415, "the file is empty")
            except BaseException:
                partial.close()
                os.unlink(partial.name)
                raise
        sha256 = digest.hexdigest()
        blob = self._blob(sha256)
        blob.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial.name, blob)
        upload = StoredUpload(secrets.token_urlsafe(16), workspace_id, sha256, content_type, filename, size)
        ref = self._ref(upload.ref)
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(json.dumps(asdict(upload)))
        return upload

    @staticmethod
    def _check_type(head: bytes, filename: str, types: list[str]) -> str:
        sniffed = sniff(head)
        content_type = declared_type(filename, sniffed) if sniffed else None
        if content_type is None or content_type not in types:
            shown = content_type or "this kind of file"
            raise UploadRefused(415, f"{shown} is not accepted; allowed: {', '.join(types)}")
        return content_type

    def find(self, ref: str) -> tuple[StoredUpload, Path] | None:
        """The upload a ref names and the path of its bytes, or None."""
        if not REF_RE.match(ref):
            return None
        try:
            upload = StoredUpload(**json.loads(self._ref(ref).read_text()))
        except (OSError, ValueError, TypeError):
            return None
        blob = self._blob(upload.sha256)
        return (upload, blob) if blob.is_file() else None
