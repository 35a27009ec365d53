"""Workflow model, GitHub expressions, docker/metadata-action tags and W-checks."""
