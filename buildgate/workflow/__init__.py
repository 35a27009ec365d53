"""The GitHub Actions workflow layer: model, expressions, docker/metadata-action tags, W-checks."""
from __future__ import annotations
