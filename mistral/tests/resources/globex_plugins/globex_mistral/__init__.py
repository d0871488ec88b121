"""Upstream-style Mistral plugins (a test resource, see pyproject.toml)."""
