"""Memory: the conversation so far (along the message branch) and long-term recall."""

from agentrt.memory._base import InMemoryMemory, MemorySystem

__all__ = ["InMemoryMemory", "MemorySystem"]
