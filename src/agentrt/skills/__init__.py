"""Skills: built-in, loaded from folders, or registered in code."""

from agentrt.skills._base import FunctionSkill, Skill, StepContext, skill
from agentrt.skills.builtin import BUILTIN_SKILLS, evaluate_expression
from agentrt.skills.local import SkillManifest, load_skill_folder, load_skills_dir
from agentrt.skills.registry import SkillRegistry

__all__ = [
    "BUILTIN_SKILLS",
    "FunctionSkill",
    "Skill",
    "SkillManifest",
    "SkillRegistry",
    "StepContext",
    "evaluate_expression",
    "load_skill_folder",
    "load_skills_dir",
    "skill",
]
