"""Salesforce MIAW settings: the six fields of the custom-client deployment, and the routing attribute names.

Every field is checked where it is typed: URLs are normalised (scheme added, trailing slash and path dropped), the
org id is a Salesforce org id, the private key is parsed as a PEM RSA key of at least 2048 bits, so a setting that
cannot work is refused with its name before anything is sent to Salesforce.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

ORG_ID = re.compile(r"^00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")
API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$|^$")


def normalise_url(value: str, label: str) -> str:
    """`https://host[:port]` from what an admin pasted; plain http only for a server on this machine."""
    text = value.strip()
    if not text:
        raise ValueError(f"the {label} is required")
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"the {label} must look like https://yourcompany.my.salesforce.com")
    if parts.scheme == "http" and not _loopback(host):
        raise ValueError(f"the {label} must start with https://")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """The RSA private key in a PEM text (pasted with real or escaped line breaks), or ValueError saying why not."""
    text = pem.strip().replace("\\n", "\n")
    if "-----BEGIN" not in text or "PRIVATE KEY-----" not in text:
        raise ValueError("paste the whole PEM private key, from -----BEGIN PRIVATE KEY----- to -----END PRIVATE "
                         "KEY-----")
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"the private key is not a readable, unencrypted PEM key ({exc})") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the private key must be an RSA key (User Verification signs with RS256)")
    if key.key_size < 2048:
        raise ValueError(f"the RSA key has {key.key_size} bits; Salesforce needs 2048 bits or more")
    return key


def scrt_from_instance(instance_url: str) -> str | None:
    """The Messaging (SCRT) host of a My Domain: `salesforce.com` becomes `salesforce-scrt.com`."""
    parts = urlsplit(instance_url)
    host = parts.hostname or ""
    if not host.endswith(".my.salesforce.com"):
        return None
    return f"{parts.scheme}://{host.removesuffix('salesforce.com')}salesforce-scrt.com"


class SalesforceSettings(BaseModel):
    """Connect relaydesk to an Embedded Service Deployment (custom client) of Messaging for In-App and Web."""

    model_config = ConfigDict(extra="ignore", title="Salesforce Messaging for In-App and Web")

    instance_url: str = Field(title="Instance URL", description="Your My Domain URL, e.g. "
                              "https://yourcompany.my.salesforce.com (reps open sessions here).")
    scrt_url: str = Field(default="", title="SCRT URL", description="The Messaging API host from the "
                          "deployment's Code Snippet, e.g. https://yourcompany.my.salesforce-scrt.com; empty "
                          "derives it from the instance URL.")
    org_id: str = Field(title="Salesforce Org ID", description="Setup, Company Information, Organization ID.")
    es_developer_name: str = Field(min_length=1, max_length=80, title="ES Developer Name",
                                   description="The API name of the Embedded Service Deployment (custom client).")
    auth_key_id: str = Field(min_length=1, max_length=255, title="Auth Key ID",
                             description="The key id (kid) of your public key in the User Verification keyset.")
    private_key: SecretStr = Field(title="RSA private key", description="PEM private key of the key pair whose "
                                   "public key is registered under the Auth Key ID.")
    issuer: str = Field(default="relaydesk", min_length=1, max_length=255, title="JWT issuer",
                        description="The issuer configured on the keyset; identity tokens carry it as iss.")
    session_id_attribute: str = Field(default="RelaydeskSessionId", max_length=80, title="Session ID attribute",
                                      description="Channel variable name of the trace key (the relaydesk session).")
    consumer_type_attribute: str = Field(default="Chat_Consumer_Type", max_length=80,
                                         title="Consumer type attribute",
                                         description="Channel variable name for Authenticated or Anonymous.")
    language_attribute: str = Field(default="Language", max_length=80, title="Language attribute")
    priority_attribute: str = Field(default="Priority", max_length=80, title="Priority attribute")
    reason_attribute: str = Field(default="Handoff_Reason", max_length=80, title="Handoff reason attribute")
    transcript_file_chars: int = Field(default=6000, ge=500, le=100_000, title="Attach the transcript as a file "
                                       "above this many characters")
    max_file_mb: float = Field(default=5.0, gt=0, le=100, title="File size limit (MB)",
                               description="The largest file your deployment accepts; larger ones are sent as a "
                               "link.")

    @field_validator("instance_url")
    @classmethod
    def _instance(cls, value: str) -> str:
        return normalise_url(value, "instance URL")

    @field_validator("org_id")
    @classmethod
    def _org(cls, value: str) -> str:
        text = value.strip()
        if not ORG_ID.match(text):
            raise ValueError("the org ID has 15 or 18 letters and digits and starts with 00D")
        return text

    @field_validator("es_developer_name")
    @classmethod
    def _es_name(cls, value: str) -> str:
        text = value.strip()
        if not API_NAME.match(text):
            raise ValueError("the ES developer name is the deployment's API name: letters, digits and underscores")
        return text

    @field_validator("auth_key_id", "issuer")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()

    @field_validator("private_key")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        load_private_key(value.get_secret_value())
        return SecretStr(value.get_secret_value().strip().replace("\\n", "\n") + "\n")

    @field_validator("session_id_attribute", "consumer_type_attribute", "language_attribute", "priority_attribute",
                     "reason_attribute")
    @classmethod
    def _attribute(cls, value: str) -> str:
        text = value.strip()
        if not ATTRIBUTE.match(text):
            raise ValueError("a routing attribute is a channel variable name: letters, digits and underscores")
        return text

    @model_validator(mode="after")
    def _scrt(self) -> SalesforceSettings:
        if self.scrt_url.strip():
            self.scrt_url = normalise_url(self.scrt_url, "SCRT URL")
            return self
        derived = scrt_from_instance(self.instance_url)
        if derived is None:
            raise ValueError("scrt_url: copy the SCRT URL from the deployment's Code Snippet")
        self.scrt_url = derived
        return self

    @property
    def org_id_15(self) -> str:
        """The 15-character org id the event stream's X-Org-Id header takes."""
        return self.org_id[:15]

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)
