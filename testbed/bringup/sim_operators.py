"""Stand-in operators on sim: a second kwok process that runs only the stand-in bundle's Stages.

The sim cluster's own kwok takes its Stages from kwokctl's config at creation, before the
testbed's CRDs exist, and kwok resolves the kinds a Stage watches when it starts. So after
the CRDs are Established, bring-up starts this extra kwok (nodes: none; kinds: the
operator-managed ones) with the bundle's sim/stages.yaml. Its pid file sits with the sim
cluster's component pid files (<cluster>/pids/kwok.pid), so `testbed sim down` stops it too.
That directory is the sim cluster's own, found from the API server the kubeconfig points at,
never from where the kubeconfig happens to be (a `--kubeconfig` copy may live anywhere).
It counts as started once its log says it watches every kind the Stages name.
Status it sets stays in etcd; teardown stops it.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from testbed.errors import ConfigError, ProvisioningFailed, WaitTimeout
from testbed.kube.api import KubeAPI
from testbed.kube.wait import Seen, wait_until
from testbed.sim.binaries import locate
from testbed.sim.status import apiserver_url
from testbed.sim.versions import state_dir

PIDFILE = "pids/kwok.pid"  # comm of the kwok binary is "kwok": testbed.sim.processes recognises it
LOGFILE = "logs/testbed-stand-in-operators.log"
NO_NODES = "testbed.io/stand-in-operators-manage-no-node=none"
OPENAPI_TIMEOUT_S = 60.0
STARTUP_TIMEOUT_S = 30.0
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


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


def _server_port(kubeconfig: Path) -> tuple[str, int] | None:
    """(host, port) of the API server of the kubeconfig's current context."""
    try:
        config = yaml.safe_load(kubeconfig.read_text()) or {}
        context = next(c["context"] for c in config.get("contexts") or [] if c["name"] == config.get("current-context"))
        server = next(c["cluster"]["server"] for c in config.get("clusters") or [] if c["name"] == context["cluster"])
        url = urlsplit(str(server))
        return (url.hostname or "", url.port or 443)
    except (OSError, yaml.YAMLError, StopIteration, KeyError, TypeError, ValueError, AttributeError):
        return None


def cluster_workdir(kubeconfig: Path, *, sim_state: Path | None = None) -> Path | None:
    """The directory of the sim cluster whose API server `kubeconfig` points at, or None if none does."""
    own = kubeconfig.resolve().parent
    if (own / "kwok.yaml").is_file():
        return own
    server = _server_port(kubeconfig)
    if server is None or server[0] not in LOOPBACK:
        return None
    for workdir in sorted(((sim_state or state_dir()) / "kwok" / "clusters").glob("*")):
        url = apiserver_url(workdir)
        if url is not None and urlsplit(url).port == server[1]:
            return workdir
    return None


def _paths(kubeconfig: Path) -> tuple[Path, Path, Path] | None:
    root = cluster_workdir(kubeconfig)
    if root is None:
        return None
    return root / PIDFILE, root / LOGFILE, root / "pids" / "kwok.stages.sha256"


def _require_paths(kubeconfig: Path) -> tuple[Path, Path, Path]:
    paths = _paths(kubeconfig)
    if paths is None:
        raise ConfigError(f"{kubeconfig} does not point at a sim cluster (no sim cluster serves its API server); "
                          "stand-in operators run only on sim", field="kubeconfig")
    return paths


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 1:].split()[0] not in ("Z", "X") and "(kwok)" in stat


def _read_pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def running_pid(kubeconfig: Path) -> int | None:
    paths = _paths(kubeconfig)
    return None if paths is None else _read_pid(paths[0])


def in_sync(kubeconfig: Path, stages: Path) -> bool:
    """Running, with these Stages."""
    paths = _paths(kubeconfig)
    if paths is None:
        return False
    pidfile, _, digest_file = paths
    if _read_pid(pidfile) is None or not stages.is_file() or not digest_file.is_file():
        return False
    return digest_file.read_text() == hashlib.sha256(stages.read_bytes()).hexdigest()


def watched_kinds(stages: Path) -> dict[str, int]:
    """group/version (a Stage's resourceRef.apiGroup) -> how many kinds of it the Stages act on."""
    kinds: dict[str, set[str]] = {}
    for doc in yaml.safe_load_all(stages.read_text()):
        if doc:
            ref = doc["spec"]["resourceRef"]
            kinds.setdefault(str(ref.get("apiGroup") or ""), set()).add(str(ref["kind"]))
    return {group: len(names) for group, names in kinds.items()}


def watching(log_text: str) -> dict[str, set[str]]:
    """group/version -> resources kwok says it watches (its "watching stages" JSON log lines, one per kind)."""
    seen: dict[str, set[str]] = {}
    for line in log_text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("msg") == "watching stages" and isinstance(event.get("gvr"), str):
            group_version, _, resource = event["gvr"].partition(", Resource=")
            seen.setdefault(group_version.lstrip("/"), set()).add(resource)
    return seen


def _wait_started(proc: subprocess.Popen[bytes], logfile: Path, offset: int, wanted: dict[str, int],
                  timeout_s: float) -> None:
    """Until kwok logs a watch for every kind the Stages name; fails at once if it exits."""

    def started() -> Seen[None]:
        if proc.poll() is not None:
            raise ProvisioningFailed("sim-operators", f"kwok exited with status {proc.returncode} while starting",
                                     _log_tail(logfile, offset))
        with logfile.open("rb") as log:
            log.seek(offset)
            seen = watching(log.read().decode(errors="replace"))
        short = sorted(g for g, n in wanted.items() if len(seen.get(g, ())) < n)
        return Seen(not short, f"not yet watching: {', '.join(short)}" if short else "watching every kind")

    try:
        wait_until("kwok (stand-in operators) to watch every Stage kind", started, timeout_s=timeout_s, interval_s=0.1)
    except WaitTimeout as err:
        _terminate(proc.pid)
        proc.wait(timeout=5.0)
        raise ProvisioningFailed("sim-operators", err.message, _log_tail(logfile, offset)) from err


def _log_tail(logfile: Path, offset: int, lines: int = 5) -> str:
    with logfile.open("rb") as log:
        log.seek(offset)
        return "\n".join(log.read().decode(errors="replace").splitlines()[-lines:])


def ensure_running(kubeconfig: Path, stages: Path, *, bin_dir: Path | None = None,
                   startup_timeout_s: float = STARTUP_TIMEOUT_S) -> bool:
    """Start the stand-in operators unless already running with these Stages; True if started."""
    pidfile, logfile, digest_file = _require_paths(kubeconfig)
    digest = hashlib.sha256(stages.read_bytes()).hexdigest()
    pid = _read_pid(pidfile)
    if pid is not None and digest_file.is_file() and digest_file.read_text() == digest:
        return False
    if pid is not None:
        stop(kubeconfig)
    kwok = locate(bin_dir)["kwok"]
    wait_openapi(kubeconfig, stages)
    logfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    with logfile.open("a") as log:
        offset = log.tell()
        proc = subprocess.Popen(
            [str(kwok), "--kubeconfig", str(kubeconfig), "--config", str(stages), "--server-address", "",
             "--manage-nodes-with-label-selector", NO_NODES],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    pidfile.write_text(str(proc.pid))  # before waiting: `sim down` must find it even if we are killed now
    try:
        _wait_started(proc, logfile, offset, watched_kinds(stages), startup_timeout_s)
    except ProvisioningFailed:
        pidfile.unlink(missing_ok=True)
        raise
    digest_file.write_text(digest)
    return True


def _terminate(pid: int, timeout_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `timeout_s`; a process that is already gone is fine."""
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def stop(kubeconfig: Path, *, timeout_s: float = 5.0) -> bool:
    """Stop the stand-in operators; True if one was running. Nothing to do if the sim cluster is gone."""
    paths = _paths(kubeconfig)
    if paths is None:
        return False
    pidfile, _, digest_file = paths
    pid = _read_pid(pidfile)
    if pid is not None:
        _terminate(pid, timeout_s)
    pidfile.unlink(missing_ok=True)
    digest_file.unlink(missing_ok=True)
    return pid is not None
