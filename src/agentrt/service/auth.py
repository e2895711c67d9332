"""API keys (stored hashed, shown once) and the first-start bootstrap."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentrt.skills.builtin import BUILTIN_SKILLS
from agentrt.store.models import Agent, ApiKey, Organization, Skill, Tool, User

KEY_PREFIX = "agrt_"
SANDBOXED_TOOL_ROWS: tuple[tuple[str, str], ...] = (
    ("code_run", "Run Python code in the session's sandboxed workspace"),
    ("shell_exec", "Run a shell command in the session's sandboxed workspace"),
    ("file_write", "Write a text file in the session's workspace"),
    ("file_read", "Read a text file from the session's workspace"),
)
"""Every organisation starts with the sandboxed tools as rows its agents can bind (the
tools' own input schemas apply)."""
DEMO_SCRIPT = [
    {"steps": [{"id": "s1", "capability": "current_time", "args": {}, "depends_on": []}]},
    "Hello from agentrt! I am the demo agent on the scripted provider, so I always give this answer; "
    "the plan above ran the current_time skill. Set AGENTRT_DEFAULT_MODEL (see docs/configuration.md) "
    "to talk to a real model.",
]


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str:
    return key[: len(KEY_PREFIX) + 6]


async def create_api_key(
    db: AsyncSession, user: User, name: str = "default", key: str | None = None
) -> tuple[ApiKey, str]:
    plaintext = key or generate_api_key()
    row = ApiKey(
        org_id=user.org_id, user_id=user.id, name=name, prefix=key_prefix(plaintext), key_hash=hash_api_key(plaintext)
    )
    db.add(row)
    await db.flush()
    return row, plaintext


async def authenticate(db: AsyncSession, key: str) -> tuple[ApiKey, User] | None:
    row = (
        await db.execute(
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.key_hash == hash_api_key(key), ApiKey.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    return row[0], row[1]


@dataclass
class Bootstrap:
    org_id: str
    admin_user_id: str
    api_key: str | None
    """The admin key in clear text, when it was generated now (shown once)."""
    demo_agent_id: str


async def bootstrap(db: AsyncSession, *, admin_api_key: str | None) -> Bootstrap | None:
    """On first start: a default organisation, its admin, an API key and a demo agent."""
    if (await db.scalar(select(func.count()).select_from(Organization))) != 0:
        return None
    first = await create_organization(db, "Default organisation", admin_api_key=admin_api_key)
    return Bootstrap(first.org_id, first.admin_user_id, None if admin_api_key else first.api_key, first.demo_agent_id)


async def create_organization(
    db: AsyncSession, name: str, *, admin_email: str = "admin@localhost", admin_api_key: str | None = None
) -> Bootstrap:
    """An organisation with its admin user, an API key and a demo agent bound to the built-in skills."""
    org = Organization(name=name)
    db.add(org)
    await db.flush()
    admin = User(org_id=org.id, email=admin_email, name="Admin", role="admin")
    db.add(admin)
    await db.flush()
    _, key = await create_api_key(db, admin, "bootstrap", admin_api_key)
    skills = [
        Skill(
            org_id=org.id,
            name=s.name,
            description=s.description,
            version=s.version,
            source="builtin",
            input_schema=s.input_schema,
        )
        for s in BUILTIN_SKILLS
    ]
    db.add_all(skills)
    db.add_all(
        Tool(org_id=org.id, name=name, description=description, metadata_={"builtin": True})
        for name, description in SANDBOXED_TOOL_ROWS
    )
    await db.flush()
    agent = Agent(
        org_id=org.id,
        name="Demo assistant",
        description="Answers with the built-in skills",
        system_prompt="You are a helpful assistant. Use the skills when they help.",
        model=None,
        skills=[s.id for s in skills],
        metadata_={"script": DEMO_SCRIPT},
    )
    db.add(agent)
    await db.commit()
    return Bootstrap(org.id, admin.id, key, agent.id)
