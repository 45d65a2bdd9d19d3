"""A small help center of our own, and a brain over it, shared by the agent tests."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from relaydesk.agent.knowledge import Document, KnowledgeBase, parse_markdown
from relaydesk.agent.offline import OfflineBrain
from relaydesk.agent.policy import HandoffSettings
from relaydesk.agent.retrieval import PassageIndex

ARTICLES: dict[str, str] = {
    "reset-password": """# Reset your password
url: https://help.example.test/reset-password

## If you forgot your password

1. On the sign-in page, select Forgot password.
2. Enter the email address of your account.
3. Open the reset email and follow the link. The link expires after 60 minutes.
4. Choose a new password and confirm it.

If the reset email does not arrive within ten minutes, check your spam folder. We only send it to addresses that
belong to an account.

## Password rules

Passwords need at least ten characters and cannot contain your email address. We recommend a password manager.
""",
    "invite-team-members": """# Add people to your team
url: https://help.example.test/invite-team-members

Admins can invite new members to a team workspace from the admin console.

## Invite someone

1. Open Settings and select Members.
2. Select Invite and enter the email address of your colleague.
3. Choose a role: member or admin.

Each invited person receives an email and joins the team when they accept. Invitations expire after seven days, so
resend the invitation if your colleague missed it.
""",
    "refund-policy": """# Refund policy
url: https://help.example.test/refund-policy

We refund annual plans within 30 days of purchase. Monthly plans are not refunded, but you can cancel at any time and
keep access until the end of the billing period. Refunds go back to the original card within ten business days.
Contact billing if your bank shows a charge you do not recognise.
""",
    "device-shipping": """# Shipping and delivery of the Hub
url: https://help.example.test/device-shipping

The Hub ships from our warehouse within two business days. Delivery inside the European Union takes three to five
business days. Orders to the United Kingdom and Norway may need customs fees, which the carrier collects on delivery.
You receive a tracking link by email as soon as the parcel leaves the warehouse.
""",
    "two-step-verification": """# Turn on two-step verification
url: https://help.example.test/two-step-verification

Two-step verification protects your account with a code from your phone in addition to your password.

## Turn it on

1. Open Settings and select Security.
2. Select Turn on two-step verification.
3. Scan the QR code with an authenticator app and enter the six-digit code.

Keep your recovery codes somewhere safe: they let you sign in if you lose your phone.
""",
    "storage-full": """# Your storage is full
url: https://help.example.test/storage-full

When your storage is full, new files stop syncing and uploads fail. Delete large files you no longer need, empty the
trash, or upgrade to a plan with more storage. Files shared with you by others do not count against your quota.
""",
}


def article_documents() -> list[Document]:
    """The test articles as documents."""
    return [parse_markdown(text, slug) for slug, text in ARTICLES.items()]


@pytest.fixture
def articles() -> dict[str, str]:
    """The test articles' Markdown, by slug."""
    return dict(ARTICLES)


@pytest.fixture
def documents() -> list[Document]:
    """The test articles as documents."""
    return article_documents()


@pytest.fixture
def pdf() -> Callable[[list[str], str | None], bytes]:
    """Builds a one-page PDF from lines of text."""
    return make_pdf


@pytest.fixture(scope="session")
def test_index() -> PassageIndex:
    """A search index over the test articles."""
    knowledge = KnowledgeBase()
    knowledge.ingest(article_documents())
    return PassageIndex.build(knowledge.passages)


@pytest.fixture(scope="session")
def quick_brain(test_index: PassageIndex) -> OfflineBrain:
    """A brain on the default level with two configured topics."""
    return OfflineBrain(test_index, HandoffSettings(topics=["refund requests", "legal threats or lawyers"]))


def make_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A minimal one-page PDF whose text layer holds the given lines."""
    content = (
        "BT /F1 12 Tf 72 720 Td 16 TL "
        + " ".join(
            "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj T*" for line in lines
        )
        + " ET"
    )
    stream = zlib.compress(content.encode("latin-1"))
    info = f"<< /Title ({title}) >>" if title else "<< >>"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        info,
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        if body is None:
            out += f"{number} 0 obj\n<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode()
            out += stream + b"\nendstream\nendobj\n"
        else:
            out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A directory for a knowledge store."""
    return tmp_path / "kb"
