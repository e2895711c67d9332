"""Clients of the agentrt HTTP API."""
