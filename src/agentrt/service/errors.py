"""Errors of the service layer: each maps to one HTTP status and one ``code``."""

from __future__ import annotations

from typing import Any

from agentrt.errors import AgentrtError


class ServiceError(AgentrtError):
    status_code: int = 400

    def __init__(
        self, message: str, *, code: str | None = None, details: Any = None, status_code: int | None = None
    ) -> None:
        super().__init__(message, code=code, details=details)
        if status_code is not None:
            self.status_code = status_code


class NotFoundError(ServiceError):
    code = "NOT_FOUND"
    status_code = 404


class ConflictError(ServiceError):
    code = "CONFLICT"
    status_code = 409


class UnprocessableError(ServiceError):
    code = "VALIDATION_ERROR"
    status_code = 422


class PayloadTooLargeError(ServiceError):
    code = "VALIDATION_MESSAGE_TOO_LONG"
    status_code = 413


class UnauthorizedError(ServiceError):
    code = "UNAUTHORIZED"
    status_code = 401


class ForbiddenError(ServiceError):
    code = "FORBIDDEN"
    status_code = 403
