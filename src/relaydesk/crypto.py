"""Secrets at rest (Fernet), hashed API keys and signed contact tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path

import jwt
import structlog
from cryptography.fernet import Fernet, InvalidToken

log = structlog.get_logger(__name__)

API_KEY_PREFIX = "rdk_"
WIDGET_TOKEN_PREFIX = "rdw_"


class SecretBox:
    """Encrypts secrets before they are stored; the key is derived from RELAYDESK_SECRET_KEY."""

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(b"relaydesk/fernet/" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))
        self._signing_key = hashlib.sha256(b"relaydesk/tokens/" + secret_key.encode()).digest()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted: RELAYDESK_SECRET_KEY changed since it was stored") from exc

    def sign_token(self, claims: dict[str, object]) -> str:
        return jwt.encode(claims, self._signing_key, algorithm="HS256")

    def verify_token(self, token: str) -> dict[str, object]:
        """The claims of a token this server signed; raises jwt.InvalidTokenError otherwise."""
        claims: dict[str, object] = jwt.decode(token, self._signing_key, algorithms=["HS256"])
        return claims


def load_or_create_secret_key(configured: str | None, data_dir: Path) -> str:
    """The configured key, or one kept in the data dir (generated with a warning on first use)."""
    if configured:
        return configured
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n")
    path.chmod(0o600)
    log.warning("secret_key.generated", path=str(path), hint="set RELAYDESK_SECRET_KEY to keep secrets portable")
    return key


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def new_widget_token() -> str:
    return WIDGET_TOKEN_PREFIX + secrets.token_urlsafe(18)


def hash_api_key(key: str) -> str:
    """API keys are long random strings, so a plain SHA-256 is enough to store them unrecoverably."""
    return hashlib.sha256(key.encode()).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
