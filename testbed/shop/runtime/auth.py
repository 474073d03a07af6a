"""Access tokens: the user service signs them (EdDSA), every other service verifies them.

The signing key is generated at first start into the user service's state directory, or
read from configuration; it is never in the repository. Verifiers take the public key from
configuration or fetch it from the user service's GetJwks and cache it.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from testbed.shop.runtime import context
from testbed.shop.runtime.private_files import create_private_file
from testbed.shop.runtime.status import DependencyError, PermissionDenied, Unauthenticated

ISSUER = "testbed-shop-user"
ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class Principal:
    user_id: str
    roles: tuple[str, ...]

    def is_staff(self) -> bool:
        return "staff" in self.roles


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """Read the PEM key at `path`, creating it (mode 0600) on first start."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    if not create_private_file(path, pem):  # another process created it first: use that one
        return load_or_create_signing_key(path)
    return key


class TokenIssuer:
    def __init__(self, key: Ed25519PrivateKey, ttl_s: int) -> None:
        self._key = key
        self._kid = key_id(key.public_key())
        self._ttl_s = ttl_s

    @property
    def kid(self) -> str:
        return self._kid

    def public_pem(self) -> str:
        return public_pem(self._key.public_key())

    def issue(self, user_id: str, roles: tuple[str, ...]) -> tuple[str, int]:
        now = int(time.time())
        exp = now + self._ttl_s
        claims = {"sub": user_id, "roles": list(roles), "iat": now, "exp": exp, "iss": ISSUER, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self._kid}), exp


class KeySource:
    """Public keys by key id. Fetching is rate limited so a flood of bad tokens cannot hammer the user service."""

    def __init__(self, fetch: "callable[[], dict[str, str]] | None" = None, static: dict[str, str] | None = None) -> None:  # type: ignore[valid-type]
        self._fetch = fetch
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._lock = threading.Lock()
        self._last_fetch = 0.0
        for kid, pem in (static or {}).items():
            self._add(kid, pem)

    def _add(self, kid: str, pem: str) -> None:
        key = serialization.load_pem_public_key(pem.encode())
        if isinstance(key, Ed25519PublicKey):
            self._keys[kid] = key

    def get(self, kid: str) -> Ed25519PublicKey | None:
        key = self._keys.get(kid)
        if key is not None or self._fetch is None:
            return key
        with self._lock:
            if kid not in self._keys and time.monotonic() - self._last_fetch > 2.0:
                self._last_fetch = time.monotonic()
                for fetched_kid, pem in self._fetch().items():
                    self._add(fetched_kid, pem)
        return self._keys.get(kid)


def static_key_source(public_key_file: Path) -> KeySource:
    key = serialization.load_pem_public_key(public_key_file.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{public_key_file}: not an Ed25519 public key")
    return KeySource(static={key_id(key): public_pem(key)})


def jwks_key_source(channel: grpc.Channel) -> KeySource:
    """Keys fetched from the user service's GetJwks."""
    from testbed.shop.v1 import user_pb2, user_pb2_grpc

    stub = user_pb2_grpc.UserServiceStub(channel)

    def fetch() -> dict[str, str]:
        try:
            jwks = stub.GetJwks(user_pb2.GetJwksRequest(), timeout=2.0)
        except grpc.RpcError as err:
            raise DependencyError("user", err) from None
        return {k.kid: k.public_key_pem for k in jwks.keys}

    return KeySource(fetch=fetch)


class Authenticator:
    """Turns the `authorization` metadata of the current RPC into a Principal."""

    def __init__(self, keys: KeySource) -> None:
        self._keys = keys

    def principal(self) -> Principal:
        header = context.authorization.get()
        scheme, _, token = header.partition(" ")
        if not header:
            raise Unauthenticated("missing access token: send 'authorization: Bearer <token>'")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("authorization metadata must be 'Bearer <token>'")
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
            key = self._keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise Unauthenticated("invalid access token: unknown signing key")
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub", "iat"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("access token expired") from None
        except jwt.PyJWTError as err:
            raise Unauthenticated(f"invalid access token: {err}") from None
        roles = claims.get("roles", [])
        sub = claims.get("sub")
        if not isinstance(sub, str) or not isinstance(roles, list):
            raise Unauthenticated("invalid access token: bad claims")
        return Principal(user_id=sub, roles=tuple(str(r) for r in roles))

    def owner(self, user_id: str) -> Principal:
        """The caller, who must be `user_id` (or staff)."""
        who = self.principal()
        if who.user_id != user_id and not who.is_staff():
            raise PermissionDenied("this resource belongs to another user")
        return who
