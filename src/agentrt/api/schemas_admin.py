"""Request and response bodies of the administration resources: users, API keys, skills, tools and
MCP servers (``XCreate`` / ``XUpdate`` / ``XPublic``, as in :mod:`agentrt.api.schemas`).

Every request body refuses what a database would refuse later (and turn into a 500): NUL characters
(PostgreSQL text and JSONB cannot hold them), non-finite numbers (not JSON) and absurdly deep
nesting. Fields of an ``XUpdate`` that are ``NOT NULL`` in the store refuse an explicit ``null``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, Field, StringConstraints

from agentrt.api._bodies import _In, _Out
from agentrt.service.errors import UnprocessableError

NAME_PATTERN = r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$"
"""Skill and tool names (the pattern local skills use)."""

MCP_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"

PathId = Annotated[str, Path(pattern=r"^[^\x00]+$", description="The resource's id")]
"""A resource id in a path (no NUL: PostgreSQL could not even compare it)."""

Email = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
]
Role = Literal["admin", "member"]
JsonObject = dict[str, Any]


def check_json_schema(schema: JsonObject, field: str = "schema") -> None:
    """A 422 naming the reason unless ``schema`` is a valid JSON Schema (draft 2020-12)."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        where = "/".join(str(p) for p in error.path)
        raise UnprocessableError(
            f"{field}: not a valid JSON Schema{f' at /{where}' if where else ''}: {error.message}",
            details={"field": field, "reason": error.message, "path": list(error.path)},
        ) from None


def _json_schema_field(description: str) -> Any:
    return Field(alias="schema", description=description)


# --- users ----------------------------------------------------------------------------
class UserCreate(_In):
    email: Email = Field(description="Unique in the organisation (compared lower-cased)")
    name: str | None = Field(default=None, max_length=200)
    role: Role = "member"


class UserUpdate(_In):
    not_null = ("role",)

    name: str | None = Field(default=None, max_length=200)
    role: Role | None = None


class UserPublic(_Out):
    id: str
    email: str
    name: str | None
    role: Role
    created_at: datetime


# --- API keys ---------------------------------------------------------------------------
class ApiKeyCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    user_id: str | None = Field(
        default=None, max_length=64, description="The key's user; absent: the caller (only admins name another user)"
    )


class ApiKeyPublic(_Out):
    id: str
    user_id: str
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key in clear text: returned this once, only its hash is stored")


# --- skills -----------------------------------------------------------------------------
class SkillCreate(_In):
    name: str = Field(pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=4000)
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
    source: str = Field(default="local", min_length=1, max_length=32)
    input_schema: JsonObject = _json_schema_field("JSON Schema (draft 2020-12) of the skill's input")
    config: JsonObject = Field(default_factory=dict)


class SkillUpdate(_In):
    not_null = ("is_active", "config")

    description: str | None = Field(default=None, max_length=4000)
    is_active: bool | None = None
    config: JsonObject | None = None


class SkillPublic(_Out):
    id: str
    name: str
    description: str | None
    version: str
    source: str
    input_schema: JsonObject = Field(alias="schema")
    config: JsonObject
    is_active: bool
    created_at: datetime


# --- tools ------------------------------------------------------------------------------
class ToolCreate(_In):
    name: str = Field(pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=4000)
    input_schema: JsonObject = _json_schema_field("JSON Schema (draft 2020-12) of the tool's input")
    destructive: bool = Field(default=False, description="High-risk regardless of the runtime policy")
    metadata: JsonObject = Field(default_factory=dict)


class ToolUpdate(_In):
    not_null = ("name", "input_schema", "destructive", "metadata")

    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=4000)
    input_schema: JsonObject | None = Field(default=None, alias="schema")
    destructive: bool | None = None
    metadata: JsonObject | None = None


class ToolPublic(_Out):
    id: str
    name: str
    description: str | None
    input_schema: JsonObject = Field(alias="schema")
    destructive: bool
    metadata: JsonObject = Field(validation_alias="metadata_")
    created_at: datetime


# --- MCP servers ----------------------------------------------------------------------------
Transport = Literal["stdio", "http"]
HttpUrl = Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://\S+$")]


class McpServerCreate(_In):
    name: str = Field(pattern=MCP_NAME_PATTERN)
    transport: Transport = "stdio"
    command: str | None = Field(default=None, min_length=1, max_length=4000, description="Required for stdio")
    args: list[str] = Field(default_factory=list, max_length=256)
    env: dict[str, str] = Field(default_factory=dict, description="Write-only: responses give its keys")
    url: HttpUrl | None = Field(default=None, description="Required for http")
    headers: dict[str, str] = Field(default_factory=dict, description="Write-only: responses give its keys")
    metadata: JsonObject = Field(default_factory=dict)


class McpServerUpdate(_In):
    not_null = ("name", "transport", "args", "env", "headers", "metadata")

    name: str | None = Field(default=None, pattern=MCP_NAME_PATTERN)
    transport: Transport | None = None
    command: str | None = Field(default=None, min_length=1, max_length=4000)
    args: list[str] | None = Field(default=None, max_length=256)
    env: dict[str, str] | None = Field(default=None, description="Replaces the whole environment")
    url: HttpUrl | None = None
    headers: dict[str, str] | None = Field(default=None, description="Replaces all the headers")
    metadata: JsonObject | None = None


class McpServerPublic(BaseModel):
    id: str
    name: str
    transport: Transport
    command: str | None
    args: list[str]
    url: str | None
    env_keys: list[str] = Field(description="The names of the environment variables (their values are never shown)")
    header_keys: list[str] = Field(description="The names of the headers (their values are never shown)")
    metadata: JsonObject
    created_at: datetime
