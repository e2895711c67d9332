"""One error shape for every response: ``{"code", "message", "details"?}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentrt.errors import AgentrtError, ApprovalError, InvalidInputError, RunNotFoundError
from agentrt.mcp.errors import McpError
from agentrt.service.errors import ServiceError
from agentrt.tools.workspace import WorkspaceFileNotFoundError, WorkspacePathError

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Bad request"),
        (401, "Missing or invalid API key"),
        (403, "Not allowed for this role"),
        (404, "Not found in this organisation"),
        (409, "Conflict with the current state"),
        (422, "Invalid input"),
    )
}

_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "TOO_MANY_REQUESTS",
}


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def _status_for(exc: AgentrtError) -> int:
    if isinstance(exc, ServiceError):
        return exc.status_code
    if isinstance(exc, RunNotFoundError):
        return 404
    if isinstance(exc, ApprovalError):
        return 409
    if isinstance(exc, McpError):
        return 502
    if isinstance(exc, WorkspaceFileNotFoundError):
        return 404
    if isinstance(exc, (InvalidInputError, WorkspacePathError)):
        return 422
    return 500


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AgentrtError)
    async def agentrt_error(request: Request, exc: AgentrtError) -> JSONResponse:
        status = _status_for(exc)
        if status >= 500:
            log.error("unhandled agentrt error on %s: %s", request.url.path, exc.message)
        return error_response(status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": [str(p) for p in error.get("loc", ())], "msg": error.get("msg"), "type": error.get("type")}
            for error in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(p for p in first["loc"] if p not in ("body", "query", "path", "header"))
        return error_response(
            422, "VALIDATION_ERROR", f"{where}: {first['msg']}" if where else str(first["msg"]), details
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "HTTP_ERROR")
        return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "INTERNAL_ERROR", "internal error; see the server log")
