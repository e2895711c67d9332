"""Named endpoints: OpenAI-compatible or Anthropic servers declared in a TOML file.

The file is ``$AGENTRT_MODELS_FILE``, else ``./agentrt-models.toml`` when it exists::

    [endpoints.groq]
    type = "openai"                      # or "anthropic"
    base_url = "https://api.groq.com/openai/v1"
    api_key_env = "GROQ_API_KEY"         # the NAME of the variable holding the key
    json_mode = "json_object"            # optional, openai only
    models = ["llama-3.3-70b-versatile"] # optional; the first is the endpoint's default
    timeout = 30                         # optional, seconds per attempt
    max_retries = 3                      # optional

``agent_config.model = "groq:llama-3.3-70b-versatile"`` then uses that endpoint (``groq``
alone means its first listed model). Keys never go in the file, only the names of the
environment variables that hold them; an endpoint without ``api_key_env`` is keyless.

This module also lists every configured provider and endpoint and probes whether each
answers, for ``agentrt models``.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agentrt.errors import ProviderError
from agentrt.llm._base import LLMProvider

MODELS_FILE_ENV = "AGENTRT_MODELS_FILE"
DEFAULT_MODELS_FILE = "agentrt-models.toml"
BUILT_IN_PROVIDERS = ("openai", "anthropic", "local", "scripted")
"""Names no endpoint may take (the same as ``_resolve.KNOWN_PROVIDERS``)."""
DEFAULT_PROBE_SECONDS = 3.0

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SHOWN_MODELS = 5


class ModelsFileError(ProviderError):
    """The models file is missing, unreadable or invalid; names the file and the field."""

    def __init__(self, path: Path | str, field_name: str, problem: str) -> None:
        where = f"{field_name}: " if field_name else ""
        super().__init__("agentrt", f"models file {path}: {where}{problem}")
        self.path = str(path)
        self.field = field_name


class _FieldProblem(Exception):
    """Raised by a validator to name its field exactly (pydantic lets it through)."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field_name
        self.problem = problem


class Endpoint(BaseModel):
    """One ``[endpoints.<name>]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: Literal["openai", "anthropic"]
    base_url: str
    api_key_env: str | None = None
    json_mode: Literal["json_schema", "json_object_schema", "json_object"] | None = None
    models: tuple[str, ...] = ()
    timeout: float | None = Field(default=None, gt=0)
    max_retries: int | None = Field(default=None, ge=0)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("an endpoint name is 1 to 64 letters, digits, '_' or '-', starting with a letter or digit")
        if value in BUILT_IN_PROVIDERS:
            raise ValueError(f"the name {value!r} clashes with the built-in provider {value!r}: choose another")
        return value

    @field_validator("base_url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        if parts.username or parts.password:
            raise ValueError("must not hold credentials: put the key in an environment variable named by api_key_env")
        return value.strip().rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _valid_env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            # The value is not echoed: it may be a key pasted in by mistake.
            raise ValueError(
                "must be the NAME of an environment variable that holds the key (like GROQ_API_KEY), not the key"
            )
        return value

    @field_validator("models")
    @classmethod
    def _valid_models(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not model.strip() for model in value):
            raise ValueError("model names must not be empty")
        return tuple(model.strip() for model in value)

    @model_validator(mode="after")
    def _json_mode_is_openai_only(self) -> Endpoint:
        if self.json_mode is not None and self.type != "openai":
            raise ValueError('json_mode applies to type = "openai" endpoints only')
        return self

    @property
    def default_model(self) -> str | None:
        return self.models[0] if self.models else None


class _ModelsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoints: dict[str, Endpoint] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("endpoints"), dict):
            endpoints: dict[str, Any] = {}
            for key, table in data["endpoints"].items():
                if isinstance(table, dict):
                    if "name" in table and table["name"] != key:
                        raise _FieldProblem(f"endpoints.{key}.name", "the name is the table's key: leave 'name' out")
                    table = {**table, "name": key}
                endpoints[key] = table
            data = {**data, "endpoints": endpoints}
        return data


def _field(loc: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in loc]
    if len(parts) >= 3 and parts[0] == "endpoints" and parts[2] == "name":
        parts = parts[:2]  # the name comes from the table's key
    return ".".join(parts)


def _problem(error: Any) -> str:
    kind = error.get("type", "")
    loc = tuple(error.get("loc", ()))
    if kind == "extra_forbidden":
        if loc and str(loc[-1]).lower() in ("api_key", "key", "token", "secret", "password"):
            return "keys do not go in this file: name the environment variable holding it with api_key_env"
        return "unknown field"
    if kind == "missing":
        return "required field missing"
    if kind in ("dict_type", "model_type"):
        return "must be a table"
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def parse_models_file(text: str, path: Path | str = "<text>") -> dict[str, Endpoint]:
    """The endpoints the TOML ``text`` declares, by name; ``ModelsFileError`` if invalid.

    Error messages name fields, never the values: a value may be a key put in by mistake.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelsFileError(path, "", f"not valid TOML: {exc}") from None
    try:
        parsed = _ModelsFile.model_validate(raw)
    except _FieldProblem as exc:
        raise ModelsFileError(path, exc.field, exc.problem) from None
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise ModelsFileError(path, _field(tuple(first.get("loc", ()))), _problem(first) + more) from None
    return dict(parsed.endpoints)


def models_file_path() -> Path | None:
    """``$AGENTRT_MODELS_FILE`` (which must exist), else ``./agentrt-models.toml`` if it exists."""
    configured = os.environ.get(MODELS_FILE_ENV, "").strip()
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ModelsFileError(path, "", f"not found (from {MODELS_FILE_ENV})")
        return path
    default = Path.cwd() / DEFAULT_MODELS_FILE
    return default if default.is_file() else None


_cache: dict[Path, tuple[bytes, dict[str, Endpoint]]] = {}


def load_endpoints(path: Path | None = None) -> dict[str, Endpoint]:
    """The endpoints of ``path`` (default: ``models_file_path()``), by name; none without a file.

    The file is read on every call (it is small) and parsed again only when it changed.
    """
    if path is None:
        path = models_file_path()
        if path is None:
            return {}
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelsFileError(path, "", f"cannot be read: {exc.strerror or type(exc).__name__}") from None
    cached = _cache.get(path)
    if cached is not None and cached[0] == data:
        return dict(cached[1])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelsFileError(path, "", "not UTF-8 text") from None
    endpoints = parse_models_file(text, path)
    _cache[path] = (data, endpoints)
    return dict(endpoints)


def find_endpoint(name: str) -> Endpoint | None:
    """The endpoint called ``name`` in the models file, if there is one."""
    if not _NAME.match(name) or name in BUILT_IN_PROVIDERS:
        return None
    return load_endpoints().get(name)


def _endpoint_key(endpoint: Endpoint) -> str:
    """The endpoint's key from its environment variable; ``""`` for a keyless endpoint."""
    if endpoint.api_key_env is None:
        return ""
    key = os.environ.get(endpoint.api_key_env, "")
    if not key:
        raise ProviderError(
            endpoint.name, f"the environment variable {endpoint.api_key_env} (its api_key_env) is not set"
        )
    return key


def endpoint_provider(endpoint: Endpoint, model: str) -> LLMProvider:
    """A provider for ``model`` at ``endpoint``, its key read from the environment now.

    A keyless endpoint gets an empty key, never ``OPENAI_API_KEY``/``ANTHROPIC_API_KEY``:
    those belong to the built-in providers and are not sent to other servers.
    """
    key = _endpoint_key(endpoint)
    retries: dict[str, Any] = {} if endpoint.max_retries is None else {"max_retries": endpoint.max_retries}
    if endpoint.type == "anthropic":
        from agentrt.llm.anthropic import AnthropicProvider

        return AnthropicProvider(model, api_key=key, base_url=endpoint.base_url, timeout=endpoint.timeout, **retries)
    from agentrt.llm.openai import OpenAICompatibleProvider

    return OpenAICompatibleProvider(
        model,
        api_key=key,
        base_url=endpoint.base_url,
        timeout=endpoint.timeout,
        json_mode=endpoint.json_mode,
        **retries,
    )


# -- the catalog behind ``agentrt models`` -----------------------------------------------


Status = Literal["ok", "error", "not configured"]


@dataclass
class ModelSource:
    """A provider or endpoint ``agentrt models`` lists, and what probing it found."""

    name: str
    type: str
    origin: str
    """``built-in``, ``environment`` or the models file's path."""
    base_url: str | None = None
    key_env: str | None = None
    key_set: bool | None = None
    configured: bool = True
    models: list[str] = field(default_factory=list)
    """Declared in the models file (or the built-in's own)."""
    status: Status = "not configured"
    detail: str = ""
    available: list[str] = field(default_factory=list)
    """What the server itself lists (``GET /models``)."""
    endpoint: Endpoint | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "origin": self.origin,
            "base_url": self.base_url,
            "key_env": self.key_env,
            "key_set": self.key_set,
            "models": list(self.models),
            "available": list(self.available),
            "configured": self.configured,
            "status": self.status,
            "ok": self.status == "ok",
            "detail": self.detail,
        }

    def models_text(self) -> str:
        names = self.models or self.available
        shown = ", ".join(names[:_SHOWN_MODELS])
        if len(names) > _SHOWN_MODELS:
            shown += f" (+{len(names) - _SHOWN_MODELS} more)"
        return shown


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else url


def model_sources() -> tuple[list[ModelSource], str | None]:
    """Every configured provider and endpoint (not probed yet), and the models file's
    problem if it has one (the built-ins are listed all the same)."""
    sources = [ModelSource("scripted", "scripted", "built-in", models=["scripted"])]
    openai_key = bool(os.environ.get("OPENAI_API_KEY"))
    openai_url = os.environ.get("OPENAI_BASE_URL") or None
    sources.append(
        ModelSource(
            "openai",
            "openai",
            "environment",
            base_url=_safe_url(openai_url or "https://api.openai.com/v1"),
            key_env="OPENAI_API_KEY",
            key_set=openai_key,
            configured=openai_key or openai_url is not None,
        )
    )
    anthropic_key = bool(os.environ.get("ANTHROPIC_API_KEY"))
    anthropic_url = os.environ.get("ANTHROPIC_BASE_URL") or None
    sources.append(
        ModelSource(
            "anthropic",
            "anthropic",
            "environment",
            base_url=_safe_url(anthropic_url or "https://api.anthropic.com"),
            key_env="ANTHROPIC_API_KEY",
            key_set=anthropic_key,
            configured=anthropic_key or anthropic_url is not None,
        )
    )
    sources.append(ModelSource("local", "local", "built-in"))
    try:
        path = models_file_path()
        endpoints = load_endpoints(path) if path is not None else {}
    except ModelsFileError as exc:
        return sources, exc.message
    for endpoint in endpoints.values():
        sources.append(
            ModelSource(
                endpoint.name,
                endpoint.type,
                str(path),
                base_url=_safe_url(endpoint.base_url),
                key_env=endpoint.api_key_env,
                key_set=None if endpoint.api_key_env is None else bool(os.environ.get(endpoint.api_key_env)),
                models=list(endpoint.models),
                endpoint=endpoint,
            )
        )
    return sources, None


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _redact(text: str, *keys: str) -> str:
    for key in keys:
        if key:
            text = text.replace(key, "[redacted]")
    return text


async def _probe_openai(source: ModelSource, base_url: str, key: str, seconds: float) -> None:
    """``GET {base_url}/models``, as an OpenAI-compatible server lists its models."""
    import httpx

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        async with httpx.AsyncClient(timeout=seconds, follow_redirects=True) as client:
            response = await client.get(base_url.rstrip("/") + "/models", headers=headers)
    except httpx.TimeoutException:
        source.status, source.detail = "error", f"timed out after {seconds:g}s"
        return
    except httpx.HTTPError as exc:
        source.status, source.detail = "error", _redact(f"unreachable: {type(exc).__name__}", key)
        return
    if response.status_code != 200:
        message = ""
        try:
            body = response.json()
            error = body.get("error", body) if isinstance(body, dict) else body
            message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
        except ValueError:
            message = response.text
        detail = f"HTTP {response.status_code}" + (f": {_shorten(message)}" if message else "")
        source.status, source.detail = "error", _redact(detail, key)
        return
    try:
        data = response.json().get("data", [])
        source.available = [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]
    except (ValueError, AttributeError, TypeError):
        source.status, source.detail = "error", "answered, but not with a model list"
        return
    source.status, source.detail = "ok", f"{len(source.available)} models listed"


async def _probe_anthropic(source: ModelSource, provider: LLMProvider, seconds: float) -> None:
    """``GET /v1/models`` through the provider's own client, so with its own headers."""
    from agentrt.llm.anthropic import AnthropicProvider

    assert isinstance(provider, AnthropicProvider)
    try:
        source.available = await provider.list_models(attempt_seconds=seconds)
    except ProviderError as exc:
        source.status, source.detail = "error", exc.reason
        return
    source.status, source.detail = "ok", f"{len(source.available)} models listed"


def _probe_local(source: ModelSource) -> None:
    """Whether the built-in local model's file is found (no model is loaded)."""
    try:
        # Looked up by name: the module is optional (the ``agentrt[local]`` extra).
        local = importlib.import_module("agentrt.llm.local")
        found = local.find_default_model()
    except (ImportError, AttributeError):
        source.configured, source.status = False, "not configured"
        source.detail = "not installed (the agentrt[local] extra)"
        return
    except ProviderError as exc:  # no model file: its reason says what to install
        source.configured, source.status, source.detail = False, "not configured", exc.reason
        return
    except Exception as exc:
        source.status, source.detail = "error", f"cannot look for the model file: {type(exc).__name__}: {exc}"
        return
    if found:
        source.status, source.detail = "ok", f"model file {found}"
        source.models = [str(found)]
    else:
        source.configured, source.status, source.detail = False, "not configured", "no model file found"


async def _probe(source: ModelSource, seconds: float) -> None:
    if source.type == "scripted":
        source.status, source.detail = "ok", "built in"
        return
    if source.type == "local":
        _probe_local(source)
        return
    if not source.configured:
        source.status = "not configured"
        source.detail = f"set {source.name.upper()}_API_KEY or {source.name.upper()}_BASE_URL"
        return
    if source.key_set is False and source.endpoint is not None:
        source.status, source.detail = "error", f"{source.key_env} is not set"
        return
    try:
        if source.endpoint is not None:
            key = _endpoint_key(source.endpoint)
            url = source.endpoint.base_url
            if source.endpoint.type == "anthropic":
                await _probe_anthropic(source, endpoint_provider(source.endpoint, "probe"), seconds)
            else:
                await _probe_openai(source, url, key, seconds)
        elif source.type == "anthropic":
            from agentrt.llm.anthropic import AnthropicProvider

            await _probe_anthropic(source, AnthropicProvider("probe", timeout=seconds, max_retries=0), seconds)
        else:
            url = os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
            await _probe_openai(source, url, os.environ.get("OPENAI_API_KEY", ""), seconds)
    except ProviderError as exc:
        source.status, source.detail = "error", exc.reason


async def probe_sources(sources: list[ModelSource], *, seconds: float = DEFAULT_PROBE_SECONDS) -> list[ModelSource]:
    """Probe every source at once (each within about ``seconds``); the same list, filled in."""
    await asyncio.gather(*(_probe(source, seconds) for source in sources))
    return sources
