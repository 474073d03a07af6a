"""The run bundle: the durable record of one run under reports/<run-id>/.

Layout (see RunBundle): junit.xml, summary.json, report.html, logs/<service>.log,
pytest/<suite>.log and .junit.xml, artifacts/<suite>/. `reports/latest` points at the
newest run. Written from the result model, so any command that produces a RunSummary
(conform now; load and chaos later) can reuse `write_bundle`.
"""

from testbed.bundle.layout import RunBundle, new_run_id
from testbed.bundle.writer import write_bundle

__all__ = ["RunBundle", "new_run_id", "write_bundle"]
