"""Secrets at rest: MCP servers' environment and header values are stored encrypted.

The key comes from ``AGENTRT_SECRET_KEY`` (any string; it is stretched to a Fernet key).
Without it, a random key is created once in ``<data_dir>/secret.key`` (mode 0600) so the
embedded defaults work; set the variable in production and keep it safe — without the
same key, stored secrets cannot be read back.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from agentrt.errors import AgentrtError

log = logging.getLogger(__name__)

PREFIX = "enc:v1:"
REDACTED = "<redacted>"


class SecretError(AgentrtError):
    code = "SECRET_UNREADABLE"


class SecretBox:
    def __init__(self, key_material: str) -> None:
        digest = hashlib.sha256(key_material.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    @classmethod
    def from_settings(cls, secret_key: str | None, data_dir: Path) -> SecretBox:
        if secret_key:
            return cls(secret_key)
        path = data_dir / "secret.key"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            log.warning("AGENTRT_SECRET_KEY is not set: created %s to encrypt secrets at rest", path)
        return cls(path.read_text().strip())

    def seal(self, value: str) -> str:
        if value.startswith(PREFIX):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def open(self, value: str) -> str:
        if not value.startswith(PREFIX):
            return value
        try:
            return self._fernet.decrypt(value[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretError(
                "a stored secret cannot be decrypted: AGENTRT_SECRET_KEY is not the key it was stored with"
            ) from None

    def seal_all(self, values: Mapping[str, str]) -> dict[str, str]:
        return {key: self.seal(str(value)) for key, value in values.items()}

    def open_all(self, values: Mapping[str, str]) -> dict[str, str]:
        return {key: self.open(str(value)) for key, value in values.items()}


def redact_all(values: Mapping[str, str]) -> dict[str, str]:
    return dict.fromkeys(values, REDACTED)
