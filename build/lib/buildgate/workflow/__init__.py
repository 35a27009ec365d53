"""The GitHub Actions workflow layer.

- :mod:`.model`: a workflow parsed with line numbers, and what it does for an event (triggers,
  jobs, steps, matrices, pushes); :mod:`.events`: events and ``on:`` filters;
  :mod:`.expressions`: ``${{ }}``, with unknown values as symbols that carry their origin;
  :mod:`.discover`: the builds in a workflow (build-push-action v1 and later, bake, ``run:``
  commands, ``imagetools create``, called workflows) and whether each pushes; :mod:`.bake`: bake
  files; :mod:`.refs`: image references known in part; :mod:`.buildargs`: docker command lines;
  :mod:`.metadata`: docker/metadata-action's tags; :mod:`.tagwrites`: the tag an update job
  writes into the kustomization. ``run:`` scripts are read with :mod:`buildgate.shell`; image
  names compare with :mod:`buildgate.reference`.
- :mod:`.builds`: what the build workflow builds, for other layers (the subject workflow, the
  workflows that build the images, the commit built, the tags pushed).
- :mod:`.checks`: W1–W12, one module per section.

Evaluation is lazy, per event and per build: a criterion evaluates only the values it reads, and
an unknown value (a secret, a step output, a matrix computed at run time) decides nothing it is
not part of. A verdict that depends on one is an error naming it and its ``file:line``.
"""
from __future__ import annotations
