"""Secrets generated at bring-up and never committed: JWT signing key, DB and Redis passwords,
Harbor robot tokens, the Git webhook secret, the ingress TLS certificate.

Each Secret is created only when absent (a re-run changes nothing and never rotates a key a
running service holds). Values come from `secrets` (CSPRNG); nothing is written to disk,
except the testbed CA that signs the ingress certificate (testbed.bringup.ingress_tls), kept
in the state dir so clients trust it once.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from testbed.kube.api import KubeAPI

SECRET_LABELS = {"app.kubernetes.io/part-of": "testbed", "testbed.io/generated": "bring-up"}


def _token(n: int = 32) -> str:
    return secrets.token_urlsafe(n)


def _jwt_keys() -> dict[str, str]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"private.pem": private.decode(), "public.pem": public.decode()}


def _docker_config(registry: str, user: str, token: str | None = None) -> dict[str, str]:
    token = token or _token()
    auth = base64.b64encode(f"{user}:{token}".encode()).decode()
    return {".dockerconfigjson": json.dumps({"auths": {registry: {"username": user, "password": token, "auth": auth}}})}


def secret_content(name: str) -> tuple[str, dict[str, str]]:
    """(type, stringData) of a generated Secret, by its name."""
    if name == "shop-jwt":
        return "Opaque", _jwt_keys()
    if name == "harbor-pull":  # a placeholder until the Harbor bootstrap writes robot$testbed+pull's credential
        return "kubernetes.io/dockerconfigjson", _docker_config("harbor.testbed.internal", "robot$testbed+pull")
    if name.endswith("-app"):  # CloudNativePG owner credentials: the DB password
        return "kubernetes.io/basic-auth", {"username": "app", "password": _token()}
    if name == "shop-redis":
        return "Opaque", {"password": _token()}
    if name == "harbor-admin":  # the chart reads existingSecretAdminPasswordKey (values.yaml)
        return "Opaque", {"HARBOR_ADMIN_PASSWORD": _token()}
    if name == "harbor-secret-key":
        return "Opaque", {"secretKey": secrets.token_hex(8)}  # Harbor wants exactly 16 characters
    if name == "harbor-robot-ci":  # a placeholder until the Harbor bootstrap writes the robot's credential
        user, token = "robot$testbed+ci", _token()
        return "kubernetes.io/dockerconfigjson", {**_docker_config("harbor.testbed.internal", user, token),
                                                  "username": user, "password": token}
    if name == "gitops-bot":
        return "Opaque", {"token": _token()}
    if name == "harbor-ca":
        return "Opaque", {"ca.crt": ""}  # filled by the Harbor bootstrap (GET /systeminfo/getcert); empty on HTTP
    return "Opaque", {"secret": _token()}  # shop-web-session, gitops-webhook, ...


def tls_content(hosts: list[str], ca_dir: Path | None) -> tuple[str, dict[str, str]]:
    """A `kubernetes.io/tls` Secret for `hosts`, signed by the testbed CA kept in `ca_dir`."""
    from testbed.bringup.ingress_tls import load_or_create_ca, server_certificate
    from testbed.errors import TestbedError

    if ca_dir is None:
        raise TestbedError(f"a TLS Secret for {', '.join(hosts)} needs the CA dir (ca_dir) of the bring-up")
    return "kubernetes.io/tls", server_certificate(load_or_create_ca(ca_dir), hosts)


def ensure_secrets(api: KubeAPI, wanted: list[dict[str, Any]], ca_dir: Path | None = None) -> list[str]:
    """Create each wanted Secret ({name, namespace[, hosts]}) that does not exist; returns those created.

    An item with `hosts` is a TLS Secret for those names, signed by the CA in `ca_dir`.
    """
    created = []
    for item in wanted:
        name, namespace = item["name"], item["namespace"]
        existing = api.get("v1", "Secret", name, namespace)
        if existing is not None:
            if _migrate(api, existing):
                created.append(f"{namespace}/{name} (key added)")
            continue
        kind, data = tls_content(list(item["hosts"]), ca_dir) if item.get("hosts") else secret_content(name)
        api.create({"apiVersion": "v1", "kind": "Secret", "type": kind, "stringData": data,
                    "metadata": {"name": name, "namespace": namespace, "labels": SECRET_LABELS}})
        created.append(f"{namespace}/{name}")
    return created


def _migrate(api: KubeAPI, secret: dict[str, Any]) -> bool:
    """Bring a Secret written by an older testbed up to today's keys, keeping its value; True if patched.

    harbor-admin used to hold the password under `password`, but the chart reads
    HARBOR_ADMIN_PASSWORD: without the key Harbor core never starts (CreateContainerConfigError).
    """
    meta, data = secret["metadata"], secret.get("data") or {}
    if meta["name"] == "harbor-admin" and "HARBOR_ADMIN_PASSWORD" not in data and "password" in data:
        api.patch("v1", "Secret", meta["name"], {"data": {"HARBOR_ADMIN_PASSWORD": data["password"]}},
                  namespace=meta["namespace"])
        return True
    return False
