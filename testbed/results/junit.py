"""Read pytest's JUnit XML into the result model, and write the model as one merged junit.xml.

The merged file is written from the model (not by splicing XML), so its counts always
agree with summary.json and report.html. Parsing is strict about structure but never
raises on a bad file: a file that cannot be read becomes one ERROR case saying why.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from testbed.results.model import Outcome, RunSummary, SuiteResult, TestCase, iso_utc

_XFAIL_TYPE = "pytest.xfail"


def _float(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def _case_from_element(element: ET.Element) -> TestCase:
    """Outcome priority when pytest puts several children on one case: failure > error > skipped."""
    failure, error, skipped = element.find("failure"), element.find("error"), element.find("skipped")
    properties = tuple(
        (prop.get("name", ""), prop.get("value", "")) for prop in element.iterfind("properties/property")
    )
    common = {
        "name": element.get("name", ""),
        "classname": element.get("classname", ""),
        "duration_s": _float(element.get("time")),
        "properties": properties,
    }
    for child, outcome in ((failure, Outcome.FAILED), (error, Outcome.ERROR)):
        if child is not None:
            details = "\n\n".join(
                (c.text or "").strip() for c in (failure, error) if c is not None and (c.text or "").strip()
            )
            message = child.get("message") or _one_line(child.text or "") or outcome.value
            if failure is not None and error is not None:
                message += f" (and error: {error.get('message') or _one_line(error.text or '')})"
            return TestCase(outcome=outcome, message=message, details=details, **common)  # type: ignore[arg-type]
    if skipped is not None:
        reason = skipped.get("message") or _one_line(skipped.text or "") or "skipped"
        if skipped.get("type") == _XFAIL_TYPE and not reason.startswith("xfail"):
            reason = f"xfail: {reason}"
        return TestCase(outcome=Outcome.SKIPPED, message=reason, details=(skipped.text or "").strip(), **common)  # type: ignore[arg-type]
    return TestCase(outcome=Outcome.PASSED, **common)  # type: ignore[arg-type]


def parse_junit(path: Path) -> tuple[tuple[TestCase, ...], float]:
    """All test cases in a pytest JUnit file (any number of <testsuite>s) and the summed suite time.

    A missing or malformed file yields one ERROR case naming the problem, never an exception.
    """
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        return (TestCase(name="junit", outcome=Outcome.ERROR, message=f"no JUnit XML was written ({path.name})"),), 0.0
    except (ET.ParseError, OSError) as err:
        return (TestCase(name="junit", outcome=Outcome.ERROR, message=f"unreadable JUnit XML {path.name}: {err}"),), 0.0
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    cases = tuple(_case_from_element(el) for suite in suites for el in suite.iterfind("testcase"))
    return cases, sum(_float(suite.get("time")) for suite in suites)


def _suite_element(suite: SuiteResult) -> ET.Element:
    counts = suite.counts
    element = ET.Element("testsuite", {
        "name": suite.name, "tests": str(counts.total), "failures": str(counts.failed),
        "errors": str(counts.errors), "skipped": str(counts.skipped), "time": f"{suite.duration_s:.3f}",
    })
    for case in suite.cases:
        case_el = ET.SubElement(element, "testcase", {
            "classname": case.classname, "name": case.name, "time": f"{case.duration_s:.3f}",
        })
        if case.properties:
            props = ET.SubElement(case_el, "properties")
            for name, value in case.properties:
                ET.SubElement(props, "property", {"name": name, "value": value})
        tag = {Outcome.FAILED: "failure", Outcome.ERROR: "error", Outcome.SKIPPED: "skipped"}.get(case.outcome)
        if tag is not None:
            child = ET.SubElement(case_el, tag, {"message": case.message})
            if case.details:
                child.text = case.details
    return element


def junit_document(summary: RunSummary) -> ET.ElementTree:
    totals = summary.totals
    root = ET.Element("testsuites", {
        "name": f"testbed conform {summary.run_id}", "tests": str(totals.total), "failures": str(totals.failed),
        "errors": str(totals.errors), "skipped": str(totals.skipped), "time": f"{totals.duration_s:.3f}",
        "timestamp": iso_utc(summary.started),
    })
    root.extend(_suite_element(suite) for suite in summary.suites)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def write_junit(summary: RunSummary, path: Path) -> None:
    """Write every suite of the run into one junit.xml (temp file + rename: readers never see half)."""
    tmp = path.with_name(f".{path.name}.tmp")
    junit_document(summary).write(tmp, encoding="utf-8", xml_declaration=True)
    tmp.replace(path)
