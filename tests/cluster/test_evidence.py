"""Evidence lines: conditions, pods, events, Application state, all redacted."""
from __future__ import annotations

from buildgate.cluster.evidence import (
    application_evidence,
    conditions,
    event_lines,
    pod_line,
    redact,
)
from pytest_buildgate.fixtures.kubeapi import STANDIN_TOKEN
from pytest_buildgate.fixtures.kubeapi import objects as o
from tests.cluster.helpers import api_workload


def test_redact_masks_credential_shapes():
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlc2lnbmF0dXJl"
    text = (f"Authorization: Bearer abcdefghijklmnop token={STANDIN_TOKEN} password: 'hunter2' {jwt} "
            "https://user:pa55@ghcr.io/x ghp_" + "A" * 36 + " keep sha256:" + "a" * 64)
    out = redact(text)
    for secret in ("abcdefghijklmnop", STANDIN_TOKEN, "hunter2", jwt, "pa55", "A" * 36):
        assert secret not in out
    assert "sha256:" + "a" * 64 in out  # digests are evidence, not secrets
    assert "\n" not in redact("a\nb") and len(redact("x" * 1000)) <= 300
    assert redact("value is s3cr3t-literal", secrets=("s3cr3t-literal",)) == "value is [REDACTED]"


def test_pod_line_never_shows_env_values():
    p = o.pod(api_workload(), 0, ready=False, waiting=("CrashLoopBackOff", "back-off restarting"), restarts=3)
    line = pod_line(p)
    assert "CrashLoopBackOff" in line and "restarts 3" in line and "@sha256:" in line
    assert "literal-secret-value" not in line and "DATABASE_URL" not in line


def test_conditions_events_and_application_lines():
    dep = o.deployment(api_workload(), available=0)
    lines = conditions(dep, "moltbook/Deployment/moltbook-api")
    assert any("Available=False MinimumReplicasUnavailable" in ln for ln in lines)
    ev = o.event(dep, "FailedCreate", "pods forbidden: token=abc123secret", type_="Warning", count=4)
    (line,) = event_lines([ev])
    assert "Warning FailedCreate Deployment/moltbook-api x4" in line and "abc123secret" not in line
    app = o.application(revision="a" * 40, sync="OutOfSync", health="Degraded", health_message="probe failed",
                        conditions=[{"type": "ComparisonError", "message": "rpc error"}])
    text = " | ".join(application_evidence(app))
    assert "sync OutOfSync" in text and "health Degraded: probe failed" in text
    assert "condition ComparisonError: rpc error" in text
