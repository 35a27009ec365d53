"""W1–W12: the build workflow's claims, checked against a :class:`~buildgate.workflow.model.Workflow`.

Each check is ``(repo, target, workflow=None) -> CheckResult`` (W1, W1b and W12 take no workflow:
they read every workflow file). ``workflow`` is the parsed subject workflow
(:func:`buildgate.workflow.builds.subject_workflow`); passing it avoids nothing but a cache
lookup. Failure messages read ``expected X; found Y (at file:line)``. A verdict that depends on
an unknown value raises :class:`CannotDecide` naming it (:class:`.common.Judge` applies that
rule); an unusable file raises :class:`InputError`.

One module per section: :mod:`.files` (W1, W1b, W2), :mod:`.triggers` (W3), :mod:`.images`
(W4, W5, W7, W8), :mod:`.tags` (W6, W11, W12), :mod:`.update` (W9 and its parts ``after builds``,
``push only``, ``permissions``, ``commits``, ``retry``; W10); :mod:`.common` holds what they
share. What other layers need from the workflow (which workflow builds the images, the commit it
built, the tags it pushed) is :mod:`buildgate.workflow.builds`.
"""
from __future__ import annotations

from buildgate.workflow.checks.files import w1_workflow_exists, w1b_some_workflow_builds, w2_valid_workflow
from buildgate.workflow.checks.images import w4_buildx, w5_push_ghcr, w7_gha_cache, w8_attestations
from buildgate.workflow.checks.tags import w6_tags, w11_valid_tags, w12_one_owner_per_tag
from buildgate.workflow.checks.triggers import w3_triggers
from buildgate.workflow.checks.update import (
    W9_PARTS, w9_after_builds, w9_commits, w9_permissions, w9_push_only, w9_retry, w9_update_job,
    w10_written_tag_is_pushed,
)

__all__ = [
    "w1_workflow_exists", "w1b_some_workflow_builds", "w2_valid_workflow", "w3_triggers", "w4_buildx",
    "w5_push_ghcr", "w6_tags", "w7_gha_cache", "w8_attestations", "w9_update_job", "w9_after_builds",
    "w9_push_only", "w9_permissions", "w9_commits", "w9_retry", "W9_PARTS", "w10_written_tag_is_pushed",
    "w11_valid_tags", "w12_one_owner_per_tag",
]
