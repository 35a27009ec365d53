"""W1–W11: the build workflow's claims, checked against a :class:`~buildgate.workflow.model.Workflow`.

Each check is ``(repo, target, workflow=None) -> CheckResult`` (W1 and W1b take no workflow).
``workflow`` is the parsed subject workflow (:func:`buildgate.workflow.builds.subject_workflow`);
passing it avoids nothing but a cache lookup. Failure messages read ``expected X; found Y (at
file:line)``. Anything undecidable raises :class:`CannotDecide`; an unusable file raises
:class:`InputError`.

One module per section: :mod:`.files` (W1, W1b, W2), :mod:`.triggers` (W3), :mod:`.images`
(W4, W5, W7, W8), :mod:`.tags` (W6, W11), :mod:`.update` (W9, W10); :mod:`.common` holds what
they share. What other layers need from the workflow (which workflow builds the images, the
commit it built, the tags it pushed) is :mod:`buildgate.workflow.builds`.
"""
from __future__ import annotations

from buildgate.workflow.checks.files import w1_workflow_exists, w1b_some_workflow_builds, w2_valid_workflow
from buildgate.workflow.checks.images import w4_buildx, w5_push_ghcr, w7_gha_cache, w8_attestations
from buildgate.workflow.checks.tags import w6_tags, w11_valid_tags
from buildgate.workflow.checks.triggers import w3_triggers
from buildgate.workflow.checks.update import w9_update_job, w10_written_tag_is_pushed

__all__ = [
    "w1_workflow_exists", "w1b_some_workflow_builds", "w2_valid_workflow", "w3_triggers", "w4_buildx",
    "w5_push_ghcr", "w6_tags", "w7_gha_cache", "w8_attestations", "w9_update_job", "w10_written_tag_is_pushed",
    "w11_valid_tags",
]
