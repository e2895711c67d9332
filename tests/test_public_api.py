import agentrt


def test_public_names_are_pinned() -> None:
    assert sorted(agentrt.__all__) == sorted(
        [
            "AgentConfig",
            "AgentRuntime",
            "AgentState",
            "AgentrtError",
            "ApprovalError",
            "BudgetExceededError",
            "Capability",
            "CapabilityGraph",
            "CapabilitySource",
            "ExternalCapabilities",
            "Decision",
            "DelegationTarget",
            "EventEmitter",
            "EventSink",
            "InvalidInputError",
            "ListSink",
            "McpServerDefinition",
            "Plan",
            "PlanStep",
            "PlannerAgent",
            "ProviderError",
            "RunEvent",
            "RunNotFoundError",
            "RunResult",
            "RuntimePolicy",
            "RuntimeSessionContext",
            "ScriptExhaustedError",
            "SkillDefinition",
            "SkillError",
            "ToolDefinition",
            "__version__",
            "create_agent_graph",
            "create_initial_state",
            "validate_plan",
        ]
    )
    for name in agentrt.__all__:
        assert getattr(agentrt, name) is not None
