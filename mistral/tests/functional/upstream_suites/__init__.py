"""Upstream Mistral's gate suites, run against our server."""
