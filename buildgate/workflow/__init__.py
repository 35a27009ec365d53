"""The GitHub Actions workflow layer.

- :mod:`.model`: a workflow parsed with line numbers, and what it does for an event (triggers,
  jobs, steps, builds and pushes); :mod:`.events`: events and ``on:`` filters;
  :mod:`.expressions`: ``${{ }}``; :mod:`.buildargs`: docker command lines and action inputs;
  :mod:`.metadata`: docker/metadata-action's tags; :mod:`.tagwrites`: the tag an update job
  writes into the kustomization. ``run:`` scripts are read with :mod:`buildgate.shell`.
- :mod:`.builds`: what the build workflow builds, for other layers (the subject workflow, the
  workflows that build the images, the commit built, the tags pushed).
- :mod:`.checks`: W1–W11, one module per section.
"""
from __future__ import annotations
