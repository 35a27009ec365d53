"""Schema of the target file as a whole."""
from __future__ import annotations

from buildgate.schema import cluster, devpod, registry

# The shape of an id; target.py checks that the registry knows it (a waiver's) or does not (a
# declared one's).
CRITERION_ID = "^[A-Z][A-Z]?[0-9]+[a-z]?\\Z"
_REL_PATH = {"type": "string", "minLength": 1}
# buildgate.criteria.LAYERS (not imported: the registry imports the target, which imports this)
LAYERS = ("repo", "registry", "cluster", "devpod")
# A title is one line of text: it becomes a pytest marker's description and a report's heading.
_TITLE = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^\\x00-\\x1f\\x7f]*\\S[^\\x00-\\x1f\\x7f]*\\Z"}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "repo": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "path": {"type": "string", "minLength": 1},
                "github": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\\Z"},
                "default_branch": {"type": "string", "minLength": 1},
                "workflow": _REL_PATH,
                "workflows_dir": _REL_PATH,
                "kustomization": _REL_PATH,
                "docs": _REL_PATH,
                "readme": _REL_PATH,
                "scripts": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "local_build": _REL_PATH,
                        "devpod_trigger": _REL_PATH,
                        "build_status": _REL_PATH,
                    },
                },
                "bot_authors": {"type": "array", "items": {"type": "string"}},
                # more files for D3 to read, as path globs (``docs/**/*.md``); status notes are
                # out of D3's scope unless listed here
                "docs_scope": {"type": "array", "items": {"type": "string", "minLength": 1}},
            },
        },
        "images": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "context"],
                "properties": {
                    "name": {"type": "string", "pattern": "^[a-z0-9.:-]+(/[a-z0-9._-]+)+\\Z"},
                    "context": _REL_PATH,
                },
            },
        },
        "registry": registry.SCHEMA,
        "cluster": cluster.SCHEMA,
        "devpod": devpod.SCHEMA,
        # criteria of the team's own, decided by its own scenarios: {X1: {title, layer}}
        "criteria": {
            "type": "object",
            "propertyNames": {"pattern": CRITERION_ID},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["title", "layer"],
                "properties": {"title": _TITLE, "layer": {"enum": list(LAYERS)}},
            },
        },
        "waivers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["criterion", "reason", "expires"],
                "properties": {
                    "criterion": {"type": "string", "pattern": CRITERION_ID},
                    "reason": {"type": "string", "minLength": 1, "pattern": "\\S"},
                    "expires": {"type": "string", "format": "date"},
                },
            },
        },
    },
}
