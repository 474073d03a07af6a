"""Stand-in operators on sim: a second kwok process that runs only the stand-in bundle's Stages.

The sim cluster's own kwok takes its Stages from kwokctl's config at creation, before the
testbed's CRDs exist, and kwok resolves the kinds a Stage watches when it starts. So after
the CRDs are Established, bring-up starts this extra kwok (nodes: none; kinds: the
operator-managed ones) with the bundle's sim/stages.yaml. Its pid file sits with the sim
cluster's component pid files (<cluster>/pids/kwok.pid), so `testbed sim down` stops it too.
Status it sets stays in etcd; teardown stops it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import json

import yaml

from testbed.errors import ProvisioningFailed
from testbed.kube.api import KubeAPI
from testbed.kube.wait import Seen, wait_until
from testbed.sim.binaries import locate

PIDFILE = "pids/kwok.pid"  # comm of the kwok binary is "kwok": testbed.sim.processes recognises it
LOGFILE = "logs/testbed-stand-in-operators.log"
NO_NODES = "testbed.io/stand-in-operators-manage-no-node=none"
OPENAPI_TIMEOUT_S = 60.0


def wait_openapi(kubeconfig: Path, stages: Path, timeout_s: float = OPENAPI_TIMEOUT_S) -> None:
    """Wait until the API server publishes OpenAPI v3 for every group the Stages watch.

    kwok reads a kind's schema when it starts watching it, and a CRD's schema is published a
    little after the CRD is Established; starting earlier makes kwok exit.
    """
    wanted = {f"apis/{d['spec']['resourceRef']['apiGroup']}" for d in yaml.safe_load_all(stages.read_text()) if d}
    with KubeAPI(kubeconfig) as api:
        def published() -> Seen[None]:
            ok, body = api.probe("/openapi/v3", timeout_s=5.0)
            try:
                paths = set(json.loads(body).get("paths", {})) if ok else set()
            except ValueError:
                paths = set()
            missing = sorted(wanted - paths)
            return Seen(not missing, f"not yet published: {', '.join(missing)}" if missing else "all published")

        wait_until("OpenAPI v3 of the stand-in kinds", published, timeout_s=timeout_s, interval_s=0.2)


def _paths(kubeconfig: Path) -> tuple[Path, Path, Path]:
    root = kubeconfig.resolve().parent
    return root / PIDFILE, root / LOGFILE, root / "pids" / "kwok.stages.sha256"


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 1:].split()[0] not in ("Z", "X") and "(kwok)" in stat


def running_pid(kubeconfig: Path) -> int | None:
    pidfile, _, _ = _paths(kubeconfig)
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def in_sync(kubeconfig: Path, stages: Path) -> bool:
    """Running, with these Stages."""
    _, _, digest_file = _paths(kubeconfig)
    if running_pid(kubeconfig) is None or not stages.is_file() or not digest_file.is_file():
        return False
    return digest_file.read_text() == hashlib.sha256(stages.read_bytes()).hexdigest()


def ensure_running(kubeconfig: Path, stages: Path, *, bin_dir: Path | None = None) -> bool:
    """Start the stand-in operators unless already running with these Stages; True if started."""
    pidfile, logfile, digest_file = _paths(kubeconfig)
    digest = hashlib.sha256(stages.read_bytes()).hexdigest()
    pid = running_pid(kubeconfig)
    if pid is not None and digest_file.is_file() and digest_file.read_text() == digest:
        return False
    if pid is not None:
        stop(kubeconfig)
    kwok = locate(bin_dir)["kwok"]
    wait_openapi(kubeconfig, stages)
    logfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    with logfile.open("a") as log:
        proc = subprocess.Popen(
            [str(kwok), "--kubeconfig", str(kubeconfig), "--config", str(stages), "--server-address", "",
             "--manage-nodes-with-label-selector", NO_NODES],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    time.sleep(0.3)
    if proc.poll() is not None:
        tail = "\n".join(logfile.read_text(errors="replace").splitlines()[-5:])
        raise ProvisioningFailed("sim-operators", f"kwok exited at once with status {proc.returncode}", tail)
    pidfile.write_text(str(proc.pid))
    digest_file.write_text(digest)
    return True


def stop(kubeconfig: Path, *, timeout_s: float = 5.0) -> bool:
    """Stop the stand-in operators; True if one was running."""
    pidfile, _, digest_file = _paths(kubeconfig)
    pid = running_pid(kubeconfig)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    digest_file.unlink(missing_ok=True)
    return pid is not None
