"""Domain errors: each one says what went wrong in words a caller can act on, and maps to a 4xx."""

from __future__ import annotations


class DomainError(Exception):
    """An error the caller caused; `status` is the HTTP status it maps to."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class UnprocessableMessage(DomainError):
    status = 422
    code = "invalid_request"
