"""The skill registry: implementations by name, that capabilities resolve to."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from agentrt.skills._base import Skill
from agentrt.skills.builtin import BUILTIN_SKILLS
from agentrt.skills.local import load_skills_dir


class SkillRegistry:
    def __init__(self, skills: Iterable[Skill] = (), *, builtin_names: Iterable[str] = ()) -> None:
        self._skills: dict[str, Skill] = {}
        self._builtin: set[str] = set(builtin_names)
        for item in skills:
            self.register(item)

    @classmethod
    def with_builtins(cls, extra: Iterable[Skill] = ()) -> SkillRegistry:
        registry = cls(BUILTIN_SKILLS, builtin_names=(s.name for s in BUILTIN_SKILLS))
        for item in extra:
            registry.register(item)
        return registry

    def register(self, skill: Skill, *, builtin: bool = False) -> None:
        self._skills[skill.name] = skill
        if builtin:
            self._builtin.add(skill.name)

    def load_dir(self, root: Path) -> None:
        for item in load_skills_dir(root):
            self.register(item)

    def extended(self, skills: Iterable[Skill]) -> SkillRegistry:
        """A copy with ``skills`` added (replacing same-named ones), e.g. a run's bound versions."""
        copy = SkillRegistry(self._skills.values(), builtin_names=self._builtin)
        for item in skills:
            copy.register(item)
        return copy

    def get(self, name: str) -> Skill | None:
        return self._skills.get(name)

    def builtin(self) -> list[Skill]:
        """Skills every agent has, whatever it binds."""
        return [self._skills[name] for name in sorted(self._builtin) if name in self._skills]

    def __contains__(self, name: object) -> bool:
        return name in self._skills

    def __iter__(self) -> Iterator[Skill]:
        return iter(self._skills.values())
