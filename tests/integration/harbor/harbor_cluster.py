"""The cluster side of the Harbor bootstrap tests: what the bring-up has created before the bootstrap
runs (the secrets step's Secrets, the harbor step's ConfigMap), in a test's own namespace, and
readers for what the bootstrap wrote.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from testbed.bringup.harbor import bootstrap_refs
from testbed.bringup.secrets import ensure_secrets
from testbed.kube.api import KubeAPI
from testbed.testing.kwok_forward import forward_pod

PAYLOADS = Path(__file__).resolve().parents[3] / "manifests" / "components" / "harbor"


def prepare_refs(namespace: str, env: str = "dev") -> list[dict[str, str]]:
    """The bootstrap's refs for `env`, all in `namespace`."""
    return [{**r, "namespace": namespace} for r in bootstrap_refs(env, namespace)]


def prepare(api: KubeAPI, namespace: str, env: str = "dev") -> list[dict[str, str]]:
    """The cluster as the bring-up leaves it before the bootstrap; the refs, all in `namespace`."""
    refs = prepare_refs(namespace, env)
    ensure_secrets(api, [{"namespace": namespace, "name": n} for n in ("harbor-admin", "harbor-robot-ci", "harbor-pull", "harbor-ca")])
    api.apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "harbor-bootstrap", "namespace": namespace},
                "data": {f.name: f.read_text() for f in sorted(PAYLOADS.glob("*.json"))}}])
    return refs


def secret(api: KubeAPI, namespace: str, name: str) -> dict[str, Any]:
    obj = api.get("v1", "Secret", name, namespace)
    assert obj is not None, f"Secret {namespace}/{name} missing"
    return {"type": obj["type"], "annotations": obj["metadata"].get("annotations") or {},
            **{k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}}


def auths(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(data[".dockerconfigjson"])["auths"]


def robot_secret_of(state: Any, name: str) -> str:
    return next(r["secret"] for r in state.robots.values() if r["name"] == name)


def self_signed_ca_and_server(tmp: Path) -> tuple[str, Path, Path]:
    """(CA PEM, server cert file, key file): a CA as the chart's certSource auto makes, and a cert for 127.0.0.1."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harbor-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_file, key_file = tmp / "server.crt", tmp / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca.public_bytes(serialization.Encoding.PEM).decode(), cert_file, key_file


CORE_POD_PORT = 8080  # harbor-core's container port behind svc/harbor-core:80


def harbor_core_forwarded_to(api: KubeAPI, namespace: str, local_port: int, *, timeout_s: float = 60.0) -> None:
    """svc/harbor-core:80 -> a Running kwok pod's port 8080 -> 127.0.0.1:`local_port` (a kwok PortForward):
    `kubectl port-forward svc/harbor-core :80` then reaches the process there as on a real cluster."""
    labels = {"app": "harbor", "component": "core"}
    api.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "harbor-core", "namespace": namespace},
                "spec": {"selector": labels, "ports": [{"name": "http-web", "port": 80, "targetPort": CORE_POD_PORT}]}})
    api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "harbor-core-0", "namespace": namespace, "labels": labels},
                "spec": {"containers": [{"name": "core", "image": "goharbor/harbor-core:v2.11.0",
                                         "ports": [{"containerPort": CORE_POD_PORT}]}]}})
    forward_pod(api, namespace, "harbor-core-0", CORE_POD_PORT, local_port)
    api.wait_for(f"Pod {namespace}/harbor-core-0 Running (kwok)", "v1", "Pod", "harbor-core-0",
                 lambda pod: (bool(pod) and (pod.get("status") or {}).get("phase") == "Running",
                              str((pod or {}).get("status", {}).get("phase"))),
                 namespace=namespace, timeout_s=timeout_s, interval_s=0.2)
    # kwok serves a PortForward only once its informer has seen it: until then a forwarded connection
    # is closed without an answer. Wait until one reaches the process, as the bootstrap expects Harbor up.
    import time

    import requests

    from testbed.kube.portforward import PortForwards

    deadline, last = time.monotonic() + timeout_s, "no attempt"
    with PortForwards(api.kubeconfig, None, namespace) as forwards:
        address = forwards.open("svc/harbor-core", 80)
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://{address}/api/v2.0/health", timeout=5).status_code == 200:
                    return
                last = "answered, not 200"
            except requests.RequestException as err:
                last = type(err).__name__
            time.sleep(0.3)
    raise AssertionError(f"kwok did not serve PortForward {namespace}/harbor-core-0 within {timeout_s} s (last: {last})")


def recording_kubectl(tmp: Path) -> tuple[Path, Path]:
    """(a kubectl wrapper that logs its arguments, then runs the real one; its log)."""
    import shutil

    from testbed.sim.binaries import search_dirs

    real = shutil.which("kubectl") or next((str(d / "kubectl") for d in search_dirs() if (d / "kubectl").is_file()), None)
    assert real is not None, "no kubectl on PATH or in the sim build cache (`testbed sim build`)"
    log, wrapper = tmp / "kubectl.log", tmp / "bin" / "kubectl-configured"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log
