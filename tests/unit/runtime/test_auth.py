from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from testbed.shop.runtime import context
from testbed.shop.runtime.auth import ALGORITHM, ISSUER, Authenticator, KeySource, TokenIssuer, load_or_create_signing_key, static_key_source
from testbed.shop.runtime.status import PermissionDenied, Unauthenticated

pytestmark = pytest.mark.unit


def _authenticator(issuer: TokenIssuer) -> Authenticator:
    return Authenticator(KeySource(static={issuer.kid: issuer.public_pem()}))


def _with_header(value: str):
    return context.authorization.set(value)


def test_signing_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "k" / "jwt.pem"
    first = load_or_create_signing_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    second = load_or_create_signing_key(path)
    assert TokenIssuer(first, 60).kid == TokenIssuer(second, 60).kid


def test_issued_token_verifies_to_its_principal(tmp_path: Path) -> None:
    issuer = TokenIssuer(Ed25519PrivateKey.generate(), 60)
    token, exp = issuer.issue("a" * 32, ("customer",))
    assert exp > time.time()
    reset = _with_header(f"Bearer {token}")
    try:
        who = _authenticator(issuer).principal()
        assert who.user_id == "a" * 32 and who.roles == ("customer",)
        assert _authenticator(issuer).owner("a" * 32) == who
        with pytest.raises(PermissionDenied):
            _authenticator(issuer).owner("b" * 32)
    finally:
        context.authorization.reset(reset)


@pytest.mark.parametrize("header,message", [
    ("", "missing access token"),
    ("Token abc", "must be 'Bearer <token>'"),
    ("Bearer ", "must be 'Bearer <token>'"),
    ("Bearer a.b.c", "invalid access token"),
])
def test_malformed_headers_are_unauthenticated(header: str, message: str) -> None:
    issuer = TokenIssuer(Ed25519PrivateKey.generate(), 60)
    reset = _with_header(header)
    try:
        with pytest.raises(Unauthenticated, match=message):
            _authenticator(issuer).principal()
    finally:
        context.authorization.reset(reset)


def test_expired_foreign_and_unsigned_tokens_are_refused(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    issuer = TokenIssuer(key, 60)
    now = int(time.time())
    expired = jwt.encode({"sub": "a" * 32, "iat": now - 100, "exp": now - 10, "iss": ISSUER}, key, algorithm=ALGORITHM, headers={"kid": issuer.kid})
    foreign = TokenIssuer(Ed25519PrivateKey.generate(), 60).issue("a" * 32, ())[0]
    unsigned = jwt.encode({"sub": "a" * 32, "iat": now, "exp": now + 60, "iss": ISSUER}, None, algorithm="none", headers={"kid": issuer.kid})
    for token, message in ((expired, "expired"), (foreign, "unknown signing key"), (unsigned, "invalid access token")):
        reset = _with_header(f"Bearer {token}")
        try:
            with pytest.raises(Unauthenticated, match=message):
                _authenticator(issuer).principal()
        finally:
            context.authorization.reset(reset)


def test_static_key_source_reads_a_public_pem(tmp_path: Path) -> None:
    issuer = TokenIssuer(Ed25519PrivateKey.generate(), 60)
    pem = tmp_path / "pub.pem"
    pem.write_text(issuer.public_pem())
    assert static_key_source(pem).get(issuer.kid) is not None
