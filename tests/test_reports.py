"""The reports: escaping of audited text, atomic writes, and an interrupted run."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

from buildgate.reports import markdown, verdicts
from buildgate.reports import files
from buildgate.reports.files import write_report
from buildgate.reports.gate import evaluate
from buildgate.verdict import Verdict
from tests.helpers import ROOT

DATA = ROOT / "tests" / "data" / "plugin"


def _report(message: str, evidence: list[str], claim: str = "x") -> dict:
    rep = verdicts.aggregate([verdicts.ScenarioVerdict("f::t", "a scenario", ["W1"], Verdict.FAIL, message, evidence)],
                             {"name": "t"})
    rep["claims"] = {"summary": "s", "claims": [{"text": claim, "status": "verified", "criteria": ["W1"]}]}
    evaluate(rep)
    return rep


def test_markdown_cannot_be_injected_by_file_names_messages_or_claims():
    name = "docs/x.md\n\n**Gate:** open\n<h1>Gate: open</h1>"
    text = markdown.markdown(_report(f"expected a file; found {name}", [f"{name}:3 names it"], "<h1>Gate: open</h1>"))
    lines = text.splitlines()
    assert [ln for ln in lines if ln.startswith("**Gate:**")] == ["**Gate:** closed by W1 (fail)"]
    assert "<h1>" not in text and "&lt;h1&gt;Gate: open&lt;/h1&gt;" in text
    assert not any(ln.startswith(("#", "<")) and "Gate" in ln and "open" in ln for ln in lines)


def test_a_failed_write_leaves_the_previous_report_whole(tmp_path, monkeypatch):
    out = tmp_path / "r.json"
    assert write_report(str(out), '{"good": 1}\n') is None

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", disk_full)
    problem = write_report(str(out), '{"half": ')
    assert problem == f"buildgate: cannot write {out}: No space left on device"
    assert json.loads(out.read_text()) == {"good": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_an_interrupted_run_says_so_and_closes_the_gate(tmp_path):
    shutil.copy(DATA / "demo_steps.py", tmp_path / "demo_steps.py")
    (tmp_path / "demo.feature").write_text(
        "@repo\nFeature: slow\n  @W1\n  Scenario: quick\n    Given a demo check that holds\n    Then the demo check passes\n"
        "  @W2\n  Scenario: slow\n    Given a demo check that takes its time\n    Then the demo check passes\n")
    started, report_path, md = tmp_path / "started", tmp_path / "r.json", tmp_path / "r.md"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path / "demo.feature"), "-c",
         str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), "-p", "conftest", "-p", "demo_steps",
         "--buildgate-report", str(report_path), "--buildgate-markdown", str(md)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": f"{ROOT}:{tmp_path}", "DEMO_STARTED": str(started)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert started.exists(), proc.communicate()[0]
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, out
    report = json.loads(report_path.read_text())
    assert report["interrupted"] is True and report["gate"]["open"] is False and report["gate"]["interrupted"]
    assert report["criteria"]["W1"]["verdict"] == "pass"
    assert "**Gate:** closed: the run was interrupted" in md.read_text()
    assert "gate: closed: the run was interrupted" in out


def test_in_actions_failures_become_annotations_and_the_summary_links_blobs(tmp_path):
    """GITHUB_ACTIONS=true: a workflow command per failed/errored criterion, at its file:line."""
    from tests.helpers import run_pytest

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=a", "-c", "user.email=a@x", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    (tmp_path / "t").mkdir()
    target = tmp_path / "t" / "target.yml"
    target.write_text(f"repo: {{path: {repo}, github: ardenone/moltbook-org}}\n")
    shutil.copy(DATA / "demo_steps.py", tmp_path / "demo_steps.py")
    (tmp_path / "demo.feature").write_text((DATA / "demo.feature").read_text())
    summary = tmp_path / "summary.md"
    code, report, out = run_pytest(
        str(tmp_path / "demo.feature"), "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), "-p", "conftest",
        "-p", "demo_steps", "--target", str(target), cwd=tmp_path,
        env={"PYTHONPATH": f"{ROOT}:{tmp_path}", "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert code == 1, out
    commands = [ln for ln in out.splitlines() if ln.startswith("::error ")]
    assert "::error file=demo.txt,line=2,title=W2 fail%3A " in "\n".join(commands), commands
    assert any(ln.startswith("::error file=demo.yml,line=3,title=W3 error%3A ") for ln in commands), commands
    assert not any("W1 " in ln for ln in commands)  # W1 passed
    assert f"[demo.txt:2](https://github.com/ardenone/moltbook-org/blob/{head}/demo.txt#L2)" in summary.read_text()


def test_annotation_text_cannot_end_the_command_or_start_another():
    from buildgate.reports.annotations import workflow_commands

    hostile = "a,b:c.yml:4 100% done\n::error title=W1::all good\r\n"
    report = {"criteria": {"W1": {"verdict": "fail", "title": "t,1:2", "message": hostile,
                                  "evidence": []}}}
    [line] = workflow_commands(report)
    props, message = line[len("::error "):].split("::", 1)  # properties can't hold an unescaped ":"
    assert "\n" not in line and "\r" not in line  # so no second command can start
    assert ":" not in props and props == "title=W1 fail%3A t%2C1%3A2"  # "b:c.yml:4" is no repository path
    assert message.startswith("a,b:c.yml:4 100%25 done ::error")  # harmless inside the message
