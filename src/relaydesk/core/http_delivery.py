"""How an HTTP answer becomes a delivery outcome: which statuses retry, which are final, how long to wait."""

from __future__ import annotations

import email.utils
import time

import httpx2

from relaydesk.core.delivery import DeliveryError

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header given as seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def raise_for_delivery(response: httpx2.Response, what: str) -> None:
    """Nothing for a 2xx; otherwise a DeliveryError that says what the other side answered."""
    if response.is_success:
        return
    body = response.text[:300].strip()
    message = f"{what}: HTTP {response.status_code}" + (f": {body}" if body else "")
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if response.status_code in RETRYABLE_STATUSES or (retry_after is not None and response.status_code >= 500):
        raise DeliveryError(message, retry_after_s=retry_after)
    raise DeliveryError(message, permanent=True)


def transport_error(exc: httpx2.HTTPError, what: str) -> DeliveryError:
    """A network failure is always worth another try."""
    return DeliveryError(f"{what}: {type(exc).__name__}: {exc or 'no answer'}")
