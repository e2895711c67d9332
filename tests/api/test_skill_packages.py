"""Skill packages uploaded with POST /v1/skills (multipart): checked, stored, bound, used."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from tests.api.server import Api

STYLE_GUIDE = """---
name: style_guide
description: House style for answers
version: 1.0.0
---
Answer in British English and cite the skills you used.
"""


def upload(api: Api, filename: str, data: bytes) -> Any:
    return api.post("/v1/skills", files={"package": (filename, data)})


def zipped(files: dict[str, str | bytes], *, links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def manifest(**overrides: Any) -> str:
    return json.dumps(
        {
            "name": "word_count",
            "version": "1.0.0",
            "description": "Counts words",
            "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}},
            "entry_point": "main.py:run",
            **overrides,
        }
    )


def test_instruction_skill_joins_the_planner_prompt_when_bound(api: Api) -> None:
    response = upload(api, "SKILL.md", STYLE_GUIDE.encode())
    assert response.status_code == 201, response.text
    skill = response.json()
    assert (skill["name"], skill["version"], skill["source"]) == ("style_guide", "1.0.0", "package")
    assert skill["config"]["kind"] == "instructions"
    assert "British English" in skill["config"]["instructions"]

    agent = api.agent([{"steps": []}, "Cheerio."], skills=[skill["id"]])
    events = api.chat(api.session(agent["id"])["id"], "hello")
    started = next(e for e in events if e["type"] == "run_started")["data"]
    assert started["instruction_skills"] == ["style_guide"]
    assert "style_guide" not in started["capabilities"] and "style_guide" not in started["unavailable"]

    api.ok("PATCH", f"/v1/skills/{skill['id']}", json={"is_active": False})
    events = api.chat(api.session(agent["id"])["id"], "hello again")
    assert next(e for e in events if e["type"] == "run_started")["data"]["instruction_skills"] == []

    again = upload(api, "SKILL.md", STYLE_GUIDE.encode())
    assert again.status_code == 409 and again.json()["code"] == "SKILL_VERSION_EXISTS"


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("SKILL.md", b"no front matter", "must start with front matter"),
        ("SKILL.md", b"---\nname: 1bad\ndescription: x\n---\nbody", "name: Value error, must start with a letter"),
        ("SKILL.md", b"---\nname: ok\ndescription: x\n---\n", "instructions (after the front matter) are empty"),
        ("skill.zip", b"not a zip", "neither a zip file nor a SKILL.md"),
        ("skill.zip", zipped({"readme.txt": "hi"}), "holds skill.json (code) or SKILL.md"),
        ("skill.zip", zipped({"skill.json": "{nope", "main.py": ""}), "skill.json is not JSON"),
        (
            "skill.zip",
            zipped({"skill.json": manifest(input_schema={"type": "nonsense"}), "main.py": ""}),
            "not a valid JSON Schema",
        ),
        ("skill.zip", zipped({"skill.json": manifest(), "other.py": ""}), "entry point file 'main.py' is not in"),
        ("skill.zip", zipped({"skill.json": manifest(), "main.py": "", "../evil.py": "x"}), "leaves the package"),
        ("skill.zip", zipped({"skill.json": manifest(), "main.py": ""}, links=("link",)), "links are not allowed"),
    ],
)
def test_bad_packages_are_refused_with_the_reason(api: Api, filename: str, data: bytes, reason: str) -> None:
    response = upload(api, filename, data)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "SKILL_PACKAGE_INVALID"
    assert reason in body["message"], body["message"]
    assert body["details"] == {"field": "package"}


def test_upload_without_a_file_and_json_still_work(api: Api) -> None:
    response = api.post("/v1/skills", data={"not_package": "x"}, files={"other": ("a.txt", b"x")})
    assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR"
    created = api.post("/v1/skills", json={"name": "json_skill", "version": "1", "schema": {"type": "object"}})
    assert created.status_code == 201
    bad = api.post("/v1/skills", json={"name": "json_skill"})
    assert bad.status_code == 422 and bad.json()["code"] == "VALIDATION_ERROR"
