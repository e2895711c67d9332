"""Named endpoints from the models file, and ``agentrt models``, against real wire servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from typer.testing import CliRunner, Result

from agentrt.context import AgentConfig
from agentrt.errors import ProviderError
from agentrt.llm import ChatMessage, LLMRequest, StreamChunk, parse_model_spec, resolve_provider
from agentrt.llm.anthropic import AnthropicProvider
from agentrt.llm.endpoints import ModelsFileError, load_endpoints, parse_models_file
from agentrt.llm.openai import OpenAICompatibleProvider
from tests.llm.anthropic_wire_server import AnthropicWireServer, text_stream, tool_stream
from tests.llm.openai_wire_server import OpenAIWireServer, completion, stream

OPENAI_KEY = "sk-test-SECRET123"
ANTHROPIC_KEY = "sk-ant-test-SECRET"
ENDPOINT_KEY = "gsk-endpoint-SECRET456"
SCHEMA: dict[str, Any] = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


class OpenAIServerWithModels(OpenAIWireServer):
    """The OpenAI wire server plus ``GET /v1/models``, as a probe reads it."""

    def __init__(self, api_key: str, models: list[str]) -> None:
        super().__init__(api_key)
        self.models = models
        self.model_requests: list[dict[str, str]] = []
        app = self._config.app
        assert isinstance(app, Starlette)
        app.router.routes.append(Route("/v1/models", self._list_models, methods=["GET"]))

    async def _list_models(self, request: Request) -> Response:
        self.model_requests.append(dict(request.headers))
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {self.api_key}":
            return JSONResponse({"error": {"message": f"Incorrect API key provided: {auth}"}}, status_code=401)
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "test"} for name in self.models]
        return JSONResponse({"object": "list", "data": data})


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_CUSTOM_HEADERS",
        "AGENTRT_LLM_TIMEOUT",
        "AGENTRT_OPENAI_JSON_MODE",
        "AGENTRT_MODELS_FILE",
        "GROQ_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTRT_DEFAULT_MODEL", "scripted")  # whether or not the local model is installed
    monkeypatch.chdir(tmp_path)  # no stray ./agentrt-models.toml


@pytest.fixture
async def openai_server() -> AsyncIterator[OpenAIServerWithModels]:
    running = OpenAIServerWithModels(ENDPOINT_KEY, ["llama-3.3-70b", "mixtral"])
    async with running:
        yield running


@pytest.fixture
async def anthropic_server() -> AsyncIterator[AnthropicWireServer]:
    async with AnthropicWireServer(ANTHROPIC_KEY) as running:
        yield running


def write_models_file(path: Path, text: str, monkeypatch: pytest.MonkeyPatch | None = None) -> Path:
    path.write_text(text)
    if monkeypatch is not None:
        monkeypatch.setenv("AGENTRT_MODELS_FILE", str(path))
    return path


def two_endpoints(openai_url: str, anthropic_url: str) -> str:
    return f"""
[endpoints.groq]
type = "openai"
base_url = "{openai_url}"
api_key_env = "GROQ_API_KEY"
json_mode = "json_object_schema"
models = ["llama-3.3-70b", "mixtral"]
timeout = 4.5
max_retries = 1

[endpoints.claude-gw]
type = "anthropic"
base_url = "{anthropic_url}/"
api_key_env = "GW_ANTHROPIC_KEY"
models = ["claude-test"]
"""


def config(model: str) -> AgentConfig:
    return AgentConfig.model_validate({"id": "a1", "name": "agent", "model": model})


def request(*, schema: bool = False) -> LLMRequest:
    return LLMRequest(
        messages=(ChatMessage("system", "Be brief."), ChatMessage("user", "Hi.")),
        temperature=0.1,
        max_tokens=64,
        response_schema=SCHEMA if schema else None,
        schema_name="reply",
    )


async def collect(chunks: AsyncIterator[StreamChunk]) -> list[StreamChunk]:
    return [item async for item in chunks]


# -- resolving endpoint models -------------------------------------------------------


async def test_openai_endpoint_end_to_end(
    openai_server: OpenAIServerWithModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_models_file(tmp_path / "models.toml", two_endpoints(openai_server.base_url, "http://x"), monkeypatch)
    monkeypatch.setenv("GROQ_API_KEY", ENDPOINT_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)  # must not be used for the endpoint

    assert str(parse_model_spec("groq:mixtral")) == "groq:mixtral"
    llm = resolve_provider(config("groq:mixtral"))
    assert isinstance(llm, OpenAICompatibleProvider)
    assert (llm.model, llm.json_mode, llm.timeout, llm.max_retries) == ("mixtral", "json_object_schema", 4.5, 1)

    openai_server.queue(completion('{"answer": "from groq"}'), stream("streamed"))
    result = await llm.generate_structured(request(schema=True))
    assert result.data == {"answer": "from groq"}
    assert [c.text for c in await collect(llm.stream_text(request()))] == ["streamed", ""]
    sent = openai_server.requests[0]
    assert sent.headers["authorization"] == f"Bearer {ENDPOINT_KEY}"
    assert sent.body["model"] == "mixtral"
    assert sent.body["response_format"] == {"type": "json_object", "schema": SCHEMA}


async def test_anthropic_endpoint_end_to_end(
    anthropic_server: AnthropicWireServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_models_file(tmp_path / "models.toml", two_endpoints("http://x", anthropic_server.base_url), monkeypatch)
    monkeypatch.setenv("GW_ANTHROPIC_KEY", ANTHROPIC_KEY)

    llm = resolve_provider(config("claude-gw"))  # the endpoint alone: its first model
    assert isinstance(llm, AnthropicProvider)
    assert (llm.model, llm.base_url) == ("claude-test", anthropic_server.base_url)

    anthropic_server.queue(tool_stream("reply", '{"ans', 'wer": "via gw"}'), text_stream("hi"))
    assert (await llm.generate_structured(request(schema=True))).data == {"answer": "via gw"}
    assert [c.text for c in await collect(llm.stream_text(request()))] == ["hi", ""]
    assert anthropic_server.requests[0].headers["x-api-key"] == ANTHROPIC_KEY
    assert anthropic_server.requests[0].body["model"] == "claude-test"


async def test_keyless_endpoint_never_gets_the_builtin_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with OpenAIWireServer("sk-no-key-required") as local:
        write_models_file(
            tmp_path / "m.toml",
            f'[endpoints.ollama]\ntype = "openai"\nbase_url = "{local.base_url}"\nmodels = ["llama3.2"]\n',
            monkeypatch,
        )
        monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
        local.queue(stream("keyless"))
        llm = resolve_provider(config("ollama:llama3.2"))
        chunks = await collect(llm.stream_text(request()))
    assert [c.text for c in chunks] == ["keyless", ""]
    assert local.requests[0].headers["authorization"] == "Bearer sk-no-key-required"


def test_default_file_in_the_working_directory(tmp_path: Path) -> None:
    write_models_file(
        tmp_path / "agentrt-models.toml", '[endpoints.vllm]\ntype = "openai"\nbase_url = "http://127.0.0.1:8001/v1"\n'
    )
    assert list(load_endpoints()) == ["vllm"]
    assert str(parse_model_spec("vllm:qwen2.5")) == "vllm:qwen2.5"
    with pytest.raises(ProviderError, match=r"endpoint 'vllm' \(in .*agentrt-models.toml\) lists no models"):
        parse_model_spec("vllm")


def test_names_that_are_no_endpoint_keep_their_meaning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_models_file(tmp_path / "m.toml", two_endpoints("http://a", "http://b"), monkeypatch)
    cases = {
        "openai:gpt-4o-mini": "openai:gpt-4o-mini",
        "gpt-4o": "openai:gpt-4o",
        "claude-sonnet-4-5": "anthropic:claude-sonnet-4-5",
        "llama3.2:8b": "scripted:llama3.2:8b",  # an Ollama tag, not an endpoint prefix
        "mistral-7b": "scripted:mistral-7b",
        "scripted": "scripted:scripted",
    }
    for spec, expected in cases.items():
        assert str(parse_model_spec(spec)) == expected


def test_no_models_file_changes_nothing() -> None:
    assert load_endpoints() == {}
    assert str(parse_model_spec("groq:llama")) == "scripted:groq:llama"


def test_missing_env_var_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_models_file(tmp_path / "m.toml", two_endpoints("http://a", "http://b"), monkeypatch)
    with pytest.raises(ProviderError, match=r"groq: the environment variable GROQ_API_KEY .* is not set"):
        resolve_provider(config("groq:mixtral"))


def test_the_file_is_reread_when_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_models_file(
        tmp_path / "m.toml", '[endpoints.one]\ntype = "openai"\nbase_url = "http://a"\n', monkeypatch
    )
    assert list(load_endpoints()) == ["one"]
    path.write_text('[endpoints.two]\ntype = "anthropic"\nbase_url = "http://b"\n')
    assert list(load_endpoints()) == ["two"]


# -- bad files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ('[endpoints.openai]\ntype = "openai"\nbase_url = "http://a"\n', "endpoints.openai", "clashes with the"),
        ('[endpoints.local]\ntype = "openai"\nbase_url = "http://a"\n', "endpoints.local", "clashes with the"),
        ('[endpoints.x]\ntype = "gemini"\nbase_url = "http://a"\n', "endpoints.x.type", "'openai' or 'anthropic'"),
        ('[endpoints.x]\ntype = "openai"\n', "endpoints.x.base_url", "required field missing"),
        ('[endpoints.x]\ntype = "openai"\nbase_url = "ftp://a"\n', "endpoints.x.base_url", "http:// or https://"),
        (
            '[endpoints.x]\ntype = "openai"\nbase_url = "https://u:sk-SECRET@a"\n',
            "endpoints.x.base_url",
            "must not hold credentials",
        ),
        (
            '[endpoints.x]\ntype = "openai"\nbase_url = "http://a"\napi_key_env = "sk-live-SECRET"\n',
            "endpoints.x.api_key_env",
            "NAME of an environment variable",
        ),
        (
            '[endpoints.x]\ntype = "openai"\nbase_url = "http://a"\napi_key = "sk-live-SECRET"\n',
            "endpoints.x.api_key",
            "keys do not go in this file",
        ),
        ('[endpoints.x]\ntype = "openai"\nbase_url = "http://a"\nmodel = "m"\n', "endpoints.x.model", "unknown field"),
        (
            '[endpoints.x]\ntype = "anthropic"\nbase_url = "http://a"\njson_mode = "json_object"\n',
            "endpoints.x",
            "json_mode applies to",
        ),
        ('[endpoints.x]\ntype = "openai"\nbase_url = "http://a"\njson_mode = "yaml"\n', "endpoints.x.json_mode", ""),
        ('[endpoints.x]\ntype = "openai"\nbase_url = "http://a"\ntimeout = 0\n', "endpoints.x.timeout", "greater"),
        ('[endpoints.x]\ntype = "openai"\nbase_url = "http://a"\nmodels = [""]\n', "endpoints.x.models", "empty"),
        ('[endpoints."a b"]\ntype = "openai"\nbase_url = "http://a"\n', "endpoints.a b", "letters, digits"),
        ('[endpoint.x]\ntype = "openai"\n', "endpoint", "unknown field"),
        ('[endpoints.x]\nname = "y"\ntype = "openai"\nbase_url = "http://a"\n', "endpoints.x.name", "leave 'name' out"),
        ("endpoints = 5\n", "endpoints", "must be a table"),
        ("[endpoints]\nx = 3\n", "endpoints.x", "must be a table"),
        ("[endpoints.x\n", "", "not valid TOML"),
    ],
)
def test_bad_files_name_the_file_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, field: str, problem: str
) -> None:
    path = write_models_file(tmp_path / "bad.toml", text, monkeypatch)
    with pytest.raises(ModelsFileError) as caught:
        parse_model_spec("x:model")
    error = caught.value
    assert error.code == "PROVIDER_ERROR"
    assert error.path == str(path)
    assert str(path) in str(error)
    assert error.field == field
    assert problem in error.reason
    assert "SECRET" not in str(error)


def test_missing_configured_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTRT_MODELS_FILE", str(tmp_path / "nowhere.toml"))
    with pytest.raises(ModelsFileError, match=r"nowhere.toml: not found \(from AGENTRT_MODELS_FILE\)"):
        parse_model_spec("groq:llama")
    # A built-in provider:model never reads the file.
    assert str(parse_model_spec("openai:gpt-4o")) == "openai:gpt-4o"


def test_several_problems_are_counted() -> None:
    with pytest.raises(ModelsFileError, match=r"endpoints.x.type: required field missing \(and 1 more problem\)"):
        parse_models_file("[endpoints.x]\n", "inline.toml")


# -- agentrt models ------------------------------------------------------------------


def _invoke(*args: str) -> Result:
    from agentrt.cli import app

    return CliRunner().invoke(app, ["models", *args])


async def run_cli(*args: str) -> Result:
    # The wire servers run on this test's loop; the command runs its own in a thread.
    return await asyncio.to_thread(_invoke, *args)


@pytest.fixture
def everything(
    openai_server: OpenAIServerWithModels,
    anthropic_server: AnthropicWireServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    write_models_file(
        tmp_path / "models.toml",
        two_endpoints(openai_server.base_url, anthropic_server.base_url)
        + '\n[endpoints.down]\ntype = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n',
        monkeypatch,
    )
    monkeypatch.setenv("GROQ_API_KEY", ENDPOINT_KEY)
    monkeypatch.setenv("GW_ANTHROPIC_KEY", "sk-ant-test-SECRET-wrong")  # the gateway rejects it
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", ENDPOINT_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic_server.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("AGENTRT_DEFAULT_MODEL", "groq:mixtral")
    yield


def assert_no_keys(text: str) -> None:
    for key in (OPENAI_KEY, ANTHROPIC_KEY, ENDPOINT_KEY, "SECRET"):
        assert key not in text


async def test_models_json_lists_and_probes_everything(
    everything: None, openai_server: OpenAIServerWithModels, anthropic_server: AnthropicWireServer
) -> None:
    result = await run_cli("--json", "--timeout", "2")
    assert result.exit_code == 0, result.output
    assert_no_keys(result.output)
    body = json.loads(result.output)
    assert body["default_model"] == "groq:mixtral"
    assert body["models_file_error"] is None
    rows = {row["name"]: row for row in body["providers"]}
    assert list(rows) == ["scripted", "openai", "anthropic", "local", "groq", "claude-gw", "down"]

    assert rows["scripted"]["status"] == "ok"
    assert rows["openai"]["status"] == "ok"
    assert rows["openai"]["available"] == ["llama-3.3-70b", "mixtral"]
    assert rows["openai"]["key_env"] == "OPENAI_API_KEY" and rows["openai"]["key_set"] is True
    assert rows["anthropic"]["status"] == "ok"
    assert rows["anthropic"]["available"] == ["claude-test", "claude-test-mini"]
    assert rows["local"]["status"] in ("ok", "error", "not configured")
    assert rows["groq"] == {
        "name": "groq",
        "type": "openai",
        "origin": rows["groq"]["origin"],
        "base_url": openai_server.base_url,
        "key_env": "GROQ_API_KEY",
        "key_set": True,
        "configured": True,
        "models": ["llama-3.3-70b", "mixtral"],
        "available": ["llama-3.3-70b", "mixtral"],
        "status": "ok",
        "ok": True,
        "detail": "2 models listed",
    }
    assert rows["groq"]["origin"].endswith("models.toml")
    assert rows["claude-gw"]["status"] == "error"
    assert "HTTP 401" in rows["claude-gw"]["detail"]
    assert "[redacted]" in rows["claude-gw"]["detail"]  # the server echoed the key
    assert rows["down"]["status"] == "error"
    assert rows["down"]["detail"].startswith("unreachable")

    model_probes = [r for r in anthropic_server.requests if r.path == "/v1/models"]
    assert model_probes[0].headers["x-api-key"] == ANTHROPIC_KEY
    assert model_probes[0].headers["anthropic-version"]
    assert all(h["authorization"] == f"Bearer {ENDPOINT_KEY}" for h in openai_server.model_requests)


async def test_models_table(everything: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    result = await run_cli()
    assert result.exit_code == 0, result.output
    assert_no_keys(result.output)
    for text in ("scripted", "anthropic", "local", "claude-gw", "GROQ_API_KEY (set)", "2 models listed"):
        assert text in result.output
    assert "default model: groq:mixtral" in result.output
    assert "endpoints from " in result.output


async def test_models_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    result = await run_cli("--json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)["providers"]}
    assert list(rows) == ["scripted", "openai", "anthropic", "local"]
    assert rows["openai"]["status"] == "not configured"
    assert rows["openai"]["key_set"] is False
    assert rows["anthropic"]["status"] == "not configured"


async def test_models_with_a_bad_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_models_file(tmp_path / "bad.toml", '[endpoints.x]\ntype = "openai"\napi_key = "sk-SECRET"\n', monkeypatch)
    result = await run_cli("--json")
    assert result.exit_code == 1
    assert_no_keys(result.output)
    body = json.loads(result.stdout)
    assert "bad.toml" in body["models_file_error"]
    assert [row["name"] for row in body["providers"]] == ["scripted", "openai", "anthropic", "local"]
    table = await run_cli()
    assert table.exit_code == 1
    assert "bad.toml" in table.stderr
    assert_no_keys(table.output)


def test_the_documented_example_is_valid() -> None:
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    example = re.search(r"```toml\n(.*?)```", doc, re.DOTALL)
    assert example is not None
    endpoints = parse_models_file(example.group(1), "docs/configuration.md")
    assert {"groq", "ollama", "claude-gateway"} <= set(endpoints)
    assert endpoints["claude-gateway"].type == "anthropic"


@pytest.mark.parametrize(
    ("behaviour", "status", "detail"),
    [
        ("found", "ok", "model file /models/smol.gguf"),
        ("missing", "not configured", "the built-in model is not installed"),
        ("no-function", "not configured", "not installed"),
        ("broken", "error", "cannot look for the model file: OSError: disk on fire"),
    ],
)
async def test_models_probes_the_local_model_file(
    monkeypatch: pytest.MonkeyPatch, behaviour: str, status: str, detail: str
) -> None:
    import sys
    import types

    fake = types.ModuleType("agentrt.llm.local")

    def find_default_model() -> Path:
        if behaviour == "missing":
            raise ProviderError("local", "the built-in model is not installed")
        if behaviour == "broken":
            raise OSError("disk on fire")
        return Path("/models/smol.gguf")

    if behaviour != "no-function":
        fake.find_default_model = find_default_model  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agentrt.llm.local", fake)
    result = await run_cli("--json")
    assert result.exit_code == 0, result.output
    local = next(row for row in json.loads(result.output)["providers"] if row["name"] == "local")
    assert local["status"] == status
    assert detail in local["detail"]
    assert local["configured"] is (status != "not configured")
