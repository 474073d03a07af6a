"""The exceptions testbed raises, shaped by what the caller does next.

Every error that reaches the CLI edge maps to one documented exit code in
`EXIT_CODES`; nothing else in the package decides exit codes.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README and in `testbed --help`."""

    OK = 0
    FAILED = 1  # tests failed, findings at or above --fail-on, components unhealthy
    USAGE = 2  # bad flags, bad config, bad input files
    UNREACHABLE = 3  # nothing is up, or the target/cluster cannot be reached
    PROVISIONING = 4  # bring-up failed: a component did not become ready
    INTERRUPTED = 130


class TestbedError(Exception):
    """Base class. `exit_code` says how the CLI ends when this escapes."""

    exit_code: ExitCode = ExitCode.FAILED
    __test__ = False  # a name starting with "Test": pytest must not try to collect it where tests import it

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(TestbedError):
    """Bad configuration or usage: fix the input and run again."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None) -> None:
        where = ":".join(p for p in (source, field) if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.field = field


class MissingTool(ConfigError):
    """A binary the command needs is not installed; the message says how to get it."""


class TargetUnreachable(TestbedError):
    """The testbed or cluster is not up or cannot be reached: bring it up or fix the address."""

    exit_code = ExitCode.UNREACHABLE


class ProvisioningFailed(TestbedError):
    """A component did not become ready; `diagnosis` holds conditions, events and logs."""

    exit_code = ExitCode.PROVISIONING

    def __init__(self, component: str, message: str, diagnosis: str = "") -> None:
        super().__init__(f"{component}: {message}")
        self.component = component
        self.diagnosis = diagnosis


class WaitTimeout(TestbedError):
    """A bounded wait ran out; the message names what was awaited and the last state seen."""

    def __init__(self, what: str, timeout_s: float, last_state: str) -> None:
        super().__init__(f"timed out after {timeout_s:.0f}s waiting for {what}; last state: {last_state}")
        self.what = what
        self.timeout_s = timeout_s
        self.last_state = last_state


class PolicyViolation(TestbedError):
    """Manifests have findings at or above the failing severity."""


class GateFailed(TestbedError):
    """The promotion gate's verdict is fail."""


class ProxyError(TestbedError):
    """The Go module proxy did not give us a module zip; one line naming the URL (no credentials) and why.

    `host_down`: the proxy could not be reached at all (no answer, timeout), so asking it again in the
    same run would only cost another timeout.
    """

    def __init__(self, message: str, *, host_down: bool = False) -> None:
        super().__init__(message)
        self.host_down = host_down


class FetchFailed(TestbedError):
    """No source gave us an upstream file; one line naming the file and why each source failed."""


class ChecksumMismatch(ProvisioningFailed):
    """No source gave the pinned bytes (sha256 or Go module hash): never bundled, never installed (exit 4)."""
