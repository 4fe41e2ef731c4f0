"""Domain errors raised by the service layer; the API turns each into a problem+json.

Messages are pairs (Korean, English). ``Invalid.errors`` maps field names to messages so
that a caller can point at the field.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400

    def __init__(self, ko: str, en: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(en)
        self.ko = ko
        self.en = en
        self.errors = errors


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409


class Invalid(ServiceError):
    status = 422
