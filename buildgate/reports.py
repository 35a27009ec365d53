"""Renderings of the verdict report: Markdown, JUnit XML and cucumber JSON.

All three are built from the JSON report (``buildgate.report``), never from pytest internals,
so they come out the same with and without pytest-xdist. (pytest-bdd's own ``--cucumberjson``
writes ``[]`` under xdist, and pytest's JUnit names test functions, not scenarios: FACTS.md.)
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import OrderedDict
from typing import Any

from buildgate.report import NOT_CHECKED

_ICON = {"pass": "✅", "fail": "❌", "error": "⚠️", "skipped": "⏭️", "waived": "🟡"}


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: dict[str, Any], title: str = "buildgate audit") -> str:
    """A Markdown audit report: a summary table, then per criterion its evidence and claims."""
    target = report.get("target", {})
    s = report["summary"]
    out = [f"# {title}: {target.get('name', '?')}", ""]
    gate = report.get("gate")
    if gate is not None:
        state = "open" if gate["open"] else "closed by " + ", ".join(f"{k} ({v})" for k, v in gate["blocking"].items())
        out += [f"**Gate:** {state}", ""]
    out += [
        f"{s.get('pass', 0)} pass, {s.get('fail', 0)} fail, {s.get('error', 0)} error, "
        f"{s.get('skipped', 0)} skipped, {s.get('waived', 0)} waived, {s.get('not_checked', 0)} not checked",
        "",
        "| criterion | verdict | what | message |",
        "|---|---|---|---|",
    ]
    claims_by_criterion: dict[str, list[str]] = {}
    for claim in report.get("claims", {}).get("claims", []):
        for cid in claim.get("criteria", []):
            claims_by_criterion.setdefault(cid, []).append(claim["text"])
    for cid, c in report["criteria"].items():
        verdict = "not checked" if c["message"] == NOT_CHECKED else c["verdict"]
        msg = "" if c["verdict"] == "pass" or c["message"] == NOT_CHECKED else c["message"]
        out.append(f"| {cid} | {_ICON.get(verdict, '·')} {verdict} | {_md_escape(c['title'])} | {_md_escape(msg)[:300]} |")
    out.append("")
    for cid, c in report["criteria"].items():
        if c["message"] == NOT_CHECKED:
            continue
        out += [f"## {cid}: {c['title']}", "", f"**{c['verdict']}**" + ("" if c["verdict"] == "pass" else f": {c['message']}"), ""]
        if c["scenarios"]:
            out.append("Scenarios:")
            for sc in c["scenarios"]:
                line = f"- {_ICON.get(sc['verdict'], '·')} {sc['name']} (`{sc['nodeid']}`)"
                if sc.get("step") and sc["verdict"] in ("fail", "error"):
                    line += f" at step `{sc['step']}`"
                out.append(line)
            out.append("")
        if c["evidence"]:
            out.append("Evidence:")
            out += [f"- {e}" for e in c["evidence"][:50]]
            if len(c["evidence"]) > 50:
                out.append(f"- … and {len(c['evidence']) - 50} more")
            out.append("")
        if claims_by_criterion.get(cid):
            out.append("Claims it backs:")
            out += [f"- {t}" for t in claims_by_criterion[cid]]
            out.append("")
    claims = report.get("claims")
    if claims:
        out += ["## Claims", "", claims.get("summary", ""), "", "| claim | status | criteria |", "|---|---|---|"]
        for cl in claims["claims"]:
            out.append(f"| {_md_escape(cl['text'])} | {cl['status']} | {', '.join(cl['criteria']) or '—'} |")
        out.append("")
    return "\n".join(out)


def junit_xml(report: dict[str, Any]) -> str:
    """JUnit XML: one testsuite per feature, one testcase per scenario, named as in Gherkin."""
    suites: "OrderedDict[str, list[dict[str, Any]]]" = OrderedDict()
    for sc in report.get("scenarios", []):
        suites.setdefault(sc.get("feature", {}).get("uri", "features"), []).append(sc)
    root = ET.Element("testsuites", name="buildgate")
    for uri, scenarios in suites.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=uri,
            tests=str(len(scenarios)),
            failures=str(sum(1 for s in scenarios if s["verdict"] == "fail")),
            errors=str(sum(1 for s in scenarios if s["verdict"] == "error")),
            skipped=str(sum(1 for s in scenarios if s["verdict"] == "skipped")),
            time=f"{sum(s.get('duration', 0.0) for s in scenarios):.3f}",
        )
        for sc in scenarios:
            case = ET.SubElement(
                suite, "testcase", classname=uri, name=f"{sc['name']} [{' '.join(sc['criteria'])}]",
                time=f"{sc.get('duration', 0.0):.3f}",
            )
            props = ET.SubElement(case, "properties")
            for cid in sc["criteria"]:
                ET.SubElement(props, "property", name="criterion", value=cid)
            ET.SubElement(props, "property", name="nodeid", value=sc["nodeid"])
            detail = "\n".join([sc["message"], *(["at step: " + sc["step"]] if sc.get("step") else []), *sc["evidence"]])
            if sc["verdict"] == "fail":
                ET.SubElement(case, "failure", message=sc["message"][:1000]).text = detail
            elif sc["verdict"] == "error":
                ET.SubElement(case, "error", message=sc["message"][:1000]).text = detail
            elif sc["verdict"] == "skipped":
                ET.SubElement(case, "skipped", message=sc["message"][:1000])
            elif sc["evidence"]:
                ET.SubElement(case, "system-out").text = "\n".join(sc["evidence"])
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


_CUCUMBER_STATUS = {"passed": "passed", "failed": "failed", "skipped": "skipped", "undefined": "undefined"}


def cucumber_json(report: dict[str, Any]) -> str:
    """Cucumber JSON (the format cucumber-reporting tools read), complete under xdist."""
    features: "OrderedDict[str, dict[str, Any]]" = OrderedDict()
    for sc in report.get("scenarios", []):
        f = sc.get("feature", {})
        uri = f.get("uri", "features")
        feat = features.setdefault(uri, {
            "uri": uri,
            "id": _slug(f.get("name", uri)),
            "keyword": "Feature",
            "name": f.get("name", uri),
            "line": f.get("line", 1),
            "description": f.get("description", ""),
            "tags": [{"name": "@" + t, "line": max(1, f.get("line", 1) - 1)} for t in f.get("tags", [])],
            "elements": [],
        })
        sline = sc.get("scenario", {}).get("line", 0)
        steps = []
        for st in sc.get("steps", []):
            status = _CUCUMBER_STATUS.get(st.get("status", "skipped"), "skipped")
            if sc["verdict"] == "skipped" and status != "passed":
                status = "skipped"
            result: dict[str, Any] = {"status": status}
            if st.get("error"):
                result["error_message"] = st["error"]
            steps.append({"keyword": st["keyword"].strip() + " ", "name": st["name"], "line": st["line"], "match": {"location": ""}, "result": result})
        feat["elements"].append({
            "id": f"{feat['id']};{_slug(sc['name'])}",
            "keyword": "Scenario",
            "type": "scenario",
            "name": sc["name"],
            "line": sline,
            "description": sc.get("scenario", {}).get("description", ""),
            "tags": [{"name": "@" + t, "line": max(1, sline - 1)} for t in sc.get("scenario", {}).get("tags", [])],
            "steps": steps,
        })
    return json.dumps(list(features.values()), indent=2) + "\n"
