"""Output formats: every finding names file, document, object, path, rule, message and fix."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from policy_helpers import Check, find

from testbed.policy.formats import render
from testbed.policy.model import Report, Severity

pytestmark = pytest.mark.unit

Obj = dict[str, Any]


@pytest.fixture
def report(good: list[Obj], check: Check) -> Report:
    dep = find(good, "Deployment", "web")
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.k8s.io/pause:latest"
    dep["spec"]["template"]["spec"]["hostPID"] = True
    dep["metadata"]["annotations"] = {"testbed.io/waive": "TB-HOST-PID: debugging sidecar"}
    find(good, "StatefulSet", "db")["spec"]["template"]["spec"]["containers"][0].pop("livenessProbe")
    return check(good)


def test_json_has_every_field(report: Report) -> None:
    data = json.loads(render("json", report, Severity.ERROR))
    assert data["summary"] == {"error": 1, "warning": 1, "info": 0, "waived": 1, "failing": 1}
    image = next(f for f in data["findings"] if f["rule"] == "TB-IMAGE-TAG")
    assert image["file"] == "mem.yaml" and image["document"] == 0
    assert (image["kind"], image["namespace"], image["name"]) == ("Deployment", "shop", "web")
    assert image["path"] == "spec.template.spec.containers[0].image"
    assert image["message"] and image["fix"] and image["severity"] == "error"
    waived = next(f for f in data["findings"] if f["rule"] == "TB-HOST-PID")
    assert waived["waived"] is True and waived["waiver"]["reason"] == "debugging sidecar"


def test_junit_is_one_testcase_per_document_and_rule(report: Report) -> None:
    root = ET.fromstring(render("junit", report, Severity.ERROR))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == report.documents * len(report.rules_run)
    failed = [c for c in cases if c.find("failure") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert [c.get("name") for c in failed] == ["TB-IMAGE-TAG"]
    assert [c.get("name") for c in skipped] == ["TB-HOST-PID"]
    assert suite.get("failures") == "1" and suite.get("skipped") == "1"
    # a warning below --fail-on is reported but does not fail the case
    liveness = [c for c in cases if c.get("name") == "TB-PROBE-LIVENESS" and c.find("system-out") is not None]
    assert len(liveness) == 1 and "StatefulSet" in (liveness[0].get("classname") or "")


def test_sarif_2_1_0_structure(report: Report) -> None:
    sarif = json.loads(render("sarif", report, Severity.ERROR))
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert set(rules) == {"TB-IMAGE-TAG", "TB-HOST-PID", "TB-PROBE-LIVENESS"}
    assert rules["TB-IMAGE-TAG"]["defaultConfiguration"]["level"] == "error"
    results = {r["ruleId"]: r for r in run["results"]}
    image = results["TB-IMAGE-TAG"]
    assert image["level"] == "error" and image["ruleIndex"] == list(rules).index("TB-IMAGE-TAG")
    assert image["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "mem.yaml"
    assert image["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == \
        "Deployment/shop/web:spec.template.spec.containers[0].image"
    assert results["TB-HOST-PID"]["suppressions"] == [{"kind": "inSource", "justification": "debugging sidecar"}]
    assert results["TB-PROBE-LIVENESS"]["level"] == "warning"


def test_text_groups_by_file_and_document(report: Report) -> None:
    text = render("text", report, Severity.ERROR)
    lines = text.splitlines()
    assert lines[0] == "mem.yaml"
    assert any(line.startswith("  document 0") and "Deployment/shop/web" in line for line in lines)
    assert any("WAIVED ERROR [TB-HOST-PID]" in line for line in lines)
    assert "FAIL (1 findings at or above --fail-on error)" in text
    assert "\x1b[" not in text
    assert "\x1b[" in render("text", report, Severity.ERROR, color=True)


def test_fail_on_threshold(report: Report) -> None:
    assert len(report.failing(Severity.WARNING)) == 2
    assert report.failing(None) == []
