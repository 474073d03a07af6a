"""Test results as data: the typed model every report, bundle and gate reads.

Suites produce JUnit XML; `testbed.results.junit` turns it into this model, and
everything downstream (summary.json, report.html, the promotion gate) works from the
model, never from a tool's human-readable output.
"""

from testbed.results.model import Outcome, RunSummary, SuiteCounts, SuiteResult, TestCase, Verdict

__all__ = ["Outcome", "RunSummary", "SuiteCounts", "SuiteResult", "TestCase", "Verdict"]
