"""The user service: accounts, argon2 password hashes, and EdDSA access tokens."""

from __future__ import annotations

import time
import uuid

import grpc
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from google.protobuf import empty_pb2
from sqlalchemy import Column, Float, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from testbed.shop.runtime import validate
from testbed.shop.runtime.auth import Authenticator, KeySource, TokenIssuer, load_or_create_signing_key
from testbed.shop.runtime.server import ServiceDefinition, serve
from testbed.shop.runtime.settings import ServiceSettings
from testbed.shop.runtime.status import AlreadyExists, InvalidArgument, NotFound, Unauthenticated
from testbed.shop.runtime.storage import Database
from testbed.shop.v1 import user_pb2, user_pb2_grpc

metadata = MetaData()
users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("roles", String(200), nullable=False, server_default="customer"),
    Column("created_at", Float, nullable=False),
)

MIN_PASSWORD = 8
MAX_PASSWORD = 128


def _password(field: str, value: str) -> str:
    if len(value) < MIN_PASSWORD or len(value) > MAX_PASSWORD:
        raise InvalidArgument(field, f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if "\x00" in value:
        raise InvalidArgument(field, "contains forbidden control characters")
    return value


def _to_proto(row: object) -> user_pb2.User:
    msg = user_pb2.User(id=row.id, email=row.email, display_name=row.display_name, roles=row.roles.split(","))  # type: ignore[attr-defined]
    msg.created_at.FromNanoseconds(int(row.created_at * 1e9))  # type: ignore[attr-defined]
    return msg


class UserServicer(user_pb2_grpc.UserServiceServicer):
    def __init__(self, db: Database, issuer: TokenIssuer, auth: Authenticator) -> None:
        self._db = db
        self._issuer = issuer
        self._auth = auth
        self._hasher = PasswordHasher()
        self._dummy_hash = self._hasher.hash(uuid.uuid4().hex)

    def SignUp(self, request: user_pb2.SignUpRequest, context: grpc.ServicerContext) -> user_pb2.User:
        email = validate.email("email", request.email)
        password = _password("password", request.password)
        name = validate.text("display_name", request.display_name, max_len=100)
        row = {"id": uuid.uuid4().hex, "email": email, "display_name": name, "password_hash": self._hasher.hash(password), "roles": "customer", "created_at": time.time()}
        try:
            with self._db.write() as conn:
                conn.execute(insert(users).values(**row))
        except IntegrityError:
            raise AlreadyExists("email: an account with this email already exists") from None
        return self._get(row["id"])

    def Authenticate(self, request: user_pb2.AuthenticateRequest, context: grpc.ServicerContext) -> user_pb2.AuthenticateResponse:
        email = validate.email("email", request.email)
        if not request.password or len(request.password) > MAX_PASSWORD:
            raise InvalidArgument("password", f"must be 1 to {MAX_PASSWORD} characters")
        with self._db.read() as conn:
            row = conn.execute(select(users).where(users.c.email == email)).first()
        try:
            # Verify against a dummy hash for unknown emails so timing does not reveal accounts.
            self._hasher.verify(row.password_hash if row else self._dummy_hash, request.password)
        except (VerificationError, InvalidHashError):
            raise Unauthenticated("wrong email or password") from None
        if row is None:
            raise Unauthenticated("wrong email or password")
        token, exp = self._issuer.issue(row.id, tuple(row.roles.split(",")))
        resp = user_pb2.AuthenticateResponse(access_token=token, user_id=row.id)
        resp.expires_at.FromSeconds(exp)
        return resp

    def _get(self, user_id: str) -> user_pb2.User:
        with self._db.read() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise NotFound(f"user {user_id} not found")
        return _to_proto(row)

    def GetUser(self, request: user_pb2.GetUserRequest, context: grpc.ServicerContext) -> user_pb2.User:
        user_id = validate.ident("id", request.id)
        self._auth.owner(user_id)
        return self._get(user_id)

    def UpdateUser(self, request: user_pb2.UpdateUserRequest, context: grpc.ServicerContext) -> user_pb2.User:
        user_id = validate.ident("id", request.id)
        changes: dict[str, object] = {}
        if request.HasField("display_name"):
            changes["display_name"] = validate.text("display_name", request.display_name, max_len=100)
        if request.HasField("password"):
            changes["password_hash"] = self._hasher.hash(_password("password", request.password))
        self._auth.owner(user_id)
        if changes:
            with self._db.write() as conn:
                if conn.execute(update(users).where(users.c.id == user_id).values(**changes)).rowcount == 0:
                    raise NotFound(f"user {user_id} not found")
        return self._get(user_id)

    def DeleteUser(self, request: user_pb2.DeleteUserRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        user_id = validate.ident("id", request.id)
        self._auth.owner(user_id)
        with self._db.write() as conn:
            if conn.execute(delete(users).where(users.c.id == user_id)).rowcount == 0:
                raise NotFound(f"user {user_id} not found")
        return empty_pb2.Empty()

    def GetJwks(self, request: user_pb2.GetJwksRequest, context: grpc.ServicerContext) -> user_pb2.Jwks:
        return user_pb2.Jwks(keys=[user_pb2.Jwk(kid=self._issuer.kid, alg="EdDSA", public_key_pem=self._issuer.public_pem())])


def grant_role(settings: ServiceSettings, email: str, role: str) -> bool:
    """Operator action (no RPC on purpose): add `role` to the account with `email`."""
    db = Database(settings.sql_url(), metadata)
    try:
        with db.write() as conn:
            row = conn.execute(select(users.c.roles).where(users.c.email == email.lower())).first()
            if row is None:
                return False
            roles = set(row.roles.split(",")) | {role}
            conn.execute(update(users).where(users.c.email == email.lower()).values(roles=",".join(sorted(roles))))
        return True
    finally:
        db.close()


def build(settings: ServiceSettings) -> ServiceDefinition:
    db = Database(settings.sql_url(), metadata)
    key_file = settings.jwt_private_key_file or settings.private_dir() / "jwt-ed25519.pem"
    issuer = TokenIssuer(load_or_create_signing_key(key_file), settings.token_ttl_s)
    auth = Authenticator(KeySource(static={issuer.kid: issuer.public_pem()}))
    servicer = UserServicer(db, issuer, auth)
    return ServiceDefinition(
        register=lambda server: user_pb2_grpc.add_UserServiceServicer_to_server(servicer, server),
        service_names=[user_pb2.DESCRIPTOR.services_by_name["UserService"].full_name],
        on_stop=db.close,
    )


def run(settings: ServiceSettings) -> int:
    return serve(settings, build)
