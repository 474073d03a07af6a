"""Running the bring-up playbooks through ansible-runner: the only module that imports it.

Artifacts (every event, stdout, the command line) go to <workdir>/artifacts/<ident>/, the
durable record of the run. Events are turned into live per-step progress and into the
structured bring-up record (testbed.bringup.record). The playbooks call back into testbed
through their modules, so the interpreter is this Python, found on PATH first.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ansible_runner

from testbed.bringup.record import Recorder
from testbed.errors import TestbedError

Progress = Callable[[str, str], None]


def playbooks_dir() -> Path:
    """playbooks/ of this checkout (next to the package, as with manifests/)."""
    here = Path(__file__).resolve().parents[2] / "playbooks"
    if (here / "site.yml").is_file():
        return here
    cwd = Path.cwd() / "playbooks"
    if (cwd / "site.yml").is_file():
        return cwd
    raise TestbedError(f"the bring-up playbooks are not in this installation (looked in {here} and {cwd})")


def run_playbook(playbook: str, *, plan_file: Path, workdir: Path, ident: str, progress: Progress | None = None,
                 extravars: dict[str, Any] | None = None, timeout_s: float = 3600.0) -> Recorder:
    """Run one playbook (site.yml or teardown.yml) against the plan; returns the recorder with the outcome."""
    project = playbooks_dir()
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    recorder = Recorder(progress)
    bindir = str(Path(sys.executable).parent)
    envvars = {
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(project / "ansible.cfg"),
        "ANSIBLE_LIBRARY": str(project / "library"),
        "ANSIBLE_ROLES_PATH": str(project / "roles"),
        "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
        "ANSIBLE_REMOTE_TEMP": str(workdir / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "LC_ALL": "C.UTF-8",  # ansible-core refuses to start under a non-UTF-8 locale (bare CI containers)
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    }
    result = ansible_runner.run(
        private_data_dir=str(workdir),
        project_dir=str(project),
        playbook=str(project / playbook),
        inventory="localhost ansible_connection=local",
        extravars={"testbed_plan_file": str(plan_file), "ansible_python_interpreter": sys.executable, **(extravars or {})},
        envvars=envvars,
        ident=ident,
        quiet=True,
        event_handler=recorder.on_event,
        timeout=int(timeout_s),
        settings={"suppress_ansible_output": True},
    )
    recorder.finish(result.status, result.rc, Path(result.config.artifact_dir))
    return recorder
