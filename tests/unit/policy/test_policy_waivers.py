"""Waivers: annotations and files mark findings waived (never dropped); expired ones fail; no reason, no waiver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from policy_helpers import CORPUS, Check, find

from testbed.errors import ConfigError
from testbed.policy.model import Severity

pytestmark = pytest.mark.unit

Obj = dict[str, Any]
WAIVERS = CORPUS / "waivers"


def rootfs_off(good: list[Obj]) -> Obj:
    dep = find(good, "Deployment", "web")
    dep["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
    return dep


def test_annotation_waiver_marks_finding_waived(good: list[Obj], check: Check) -> None:
    dep = rootfs_off(good)
    dep["metadata"]["annotations"] = {"testbed.io/waive": "TB-SEC-READONLY-ROOTFS: agnhost writes /tmp"}
    report = check(good)
    (finding,) = report.findings
    assert finding.rule_id == "TB-SEC-READONLY-ROOTFS"
    assert finding.waived == "agnhost writes /tmp" and "annotation" in finding.waived_by
    assert report.failing(Severity.ERROR) == []
    assert report.counts()["waived"] == 1


def test_annotation_with_several_entries(good: list[Obj], check: Check) -> None:
    dep = rootfs_off(good)
    dep["spec"]["template"]["spec"]["hostNetwork"] = True
    dep["metadata"]["annotations"] = {"testbed.io/waive": "TB-SEC-READONLY-ROOTFS: tmp writes\nTB-HOST-NETWORK: CNI test"}
    assert all(f.waived for f in check(good).findings)


def test_annotation_without_reason_is_refused(good: list[Obj], check: Check) -> None:
    dep = rootfs_off(good)
    dep["metadata"]["annotations"] = {"testbed.io/waive": "TB-SEC-READONLY-ROOTFS"}
    report = check(good)
    rules = {(f.rule_id, f.waived) for f in report.findings}
    assert ("TB-WAIVER-INVALID", None) in rules
    assert ("TB-SEC-READONLY-ROOTFS", None) in rules


def test_file_waiver_with_match(good: list[Obj], check: Check) -> None:
    rootfs_off(good)
    report = check(good, waiver_files=(WAIVERS / "waivers.yaml",), today="2026-11-22")
    (finding,) = report.findings
    assert finding.waived is not None and "owner team-shop" in finding.waived_by


def test_file_waiver_match_is_narrow(good: list[Obj], check: Check) -> None:
    dep = rootfs_off(good)
    dep["metadata"]["name"] = "other"
    report = check(good, waiver_files=(WAIVERS / "waivers.yaml",), today="2026-11-22")
    rootfs = [f for f in report.findings if f.rule_id == "TB-SEC-READONLY-ROOTFS"]
    assert rootfs and rootfs[0].waived is None


def test_expired_waiver_fails_and_waives_nothing(good: list[Obj], check: Check) -> None:
    rootfs_off(good)
    report = check(good, waiver_files=(WAIVERS / "expired.yaml",), today="2026-11-22")
    rules = {(f.rule_id, f.waived) for f in report.findings}
    assert ("TB-WAIVER-EXPIRED", None) in rules and ("TB-SEC-READONLY-ROOTFS", None) in rules
    expired = next(f for f in report.findings if f.rule_id == "TB-WAIVER-EXPIRED")
    assert expired.source.endswith("expired.yaml") and expired.path == "waivers[0]"


def test_waiver_without_reason_is_a_usage_error(good: list[Obj], check: Check) -> None:
    with pytest.raises(ConfigError, match=r"no-reason.yaml:waivers\[0\].reason"):
        check(good, waiver_files=(WAIVERS / "no-reason.yaml",))


@pytest.mark.parametrize(("text", "field"), [
    ("[]", "waivers"),
    ("waivers: [{rule: X, owner: o, reason: r}]", "waivers[0].expires"),
    ("waivers: [{rule: X, owner: o, reason: r, expires: soon}]", "waivers[0].expires"),
    ("waivers: [{rule: X, owner: '', reason: r, expires: 2030-01-01}]", "waivers[0].owner"),
    ("waivers: [{rule: X, owner: o, reason: r, expires: 2030-01-01, match: {colour: red}}]", "waivers[0].match"),
    ("waivers: [{rule: X, owner: o, reason: r, expires: 2030-01-01, ownr: x}]", "waivers[0]"),
    ("waivers: [unclosed", ""),
])
def test_malformed_waiver_files_name_file_and_field(text: str, field: str, tmp_path: Path, check: Check) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        check([], waiver_files=(path,))
    assert str(path) in err.value.message and field in err.value.message
