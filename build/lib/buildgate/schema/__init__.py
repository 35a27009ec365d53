"""JSON schemas for the target file, one module per section so each layer owns its own keys.

The core (``core.py``) composes them; ``buildgate.target`` validates with ``jsonschema``.
"""
