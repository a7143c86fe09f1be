"""Secrets: camera passwords encrypted at rest (Fernet), user passwords hashed (argon2), login
tokens (JWT). No function here ever logs or returns a plaintext secret except ``decrypt_secret``,
whose only callers are the camera clients."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from camera_ops.errors import ConfigurationError, NotAuthenticated
from camera_ops.settings import Settings

JWT_ALGORITHM = "HS256"
_hasher = PasswordHasher()


def _fernet(settings: Settings) -> MultiFernet:
    """Every configured credentials key: the first encrypts, all decrypt (key rotation)."""
    try:
        return MultiFernet([Fernet(key) for key in settings.fernet_keys])
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            "CAMERA_OPS_CREDENTIALS_KEY is not a valid Fernet key (32 url-safe base64 bytes; several separated "
            "by commas while rotating); make one with: "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from exc


def reencrypt_secret(token: bytes, settings: Settings) -> bytes:
    """The same secret encrypted with the first (newest) credentials key; never decrypted to the caller."""
    try:
        return _fernet(settings).rotate(token)
    except InvalidToken as exc:
        raise ConfigurationError(
            "a stored camera password cannot be decrypted with any CAMERA_OPS_CREDENTIALS_KEY"
        ) from exc


def encrypted_with_newest(token: bytes, settings: Settings) -> bool:
    try:
        Fernet(settings.fernet_keys[0]).decrypt(token)
    except InvalidToken:
        return False
    return True


def encrypt_secret(plaintext: str, settings: Settings) -> bytes:
    return _fernet(settings).encrypt(plaintext.encode("utf-8"))


def decrypt_secret(token: bytes, settings: Settings) -> str:
    try:
        return _fernet(settings).decrypt(token).decode("utf-8")
    except InvalidToken as exc:
        raise ConfigurationError(
            "a stored camera password cannot be decrypted: CAMERA_OPS_CREDENTIALS_KEY changed?"
        ) from exc


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy_hashes: dict[int, str] = {}


def verify_against_dummy(password: str) -> None:
    """Spend the time of one real verification for a username that does not exist (or is
    disabled), so the login's timing does not tell which usernames exist."""
    key = id(_hasher)  # the hasher's parameters decide the cost; tests swap it for a cheap one
    if key not in _dummy_hashes:
        _dummy_hashes.clear()
        _dummy_hashes[key] = _hasher.hash(secrets.token_urlsafe(16))
    verify_password(password, _dummy_hashes[key])


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    session_id: str
    expires_at: float = float("inf")  # epoch seconds


def issue_token(user_id: int, settings: Settings, *, session_id: str, now: datetime | None = None) -> str:
    """A login token: signed, bounded in time, and naming the server-side session it belongs to
    (ending that session ends the token, whatever its expiry says)."""
    now = now or datetime.now(timezone.utc)
    claims = {"sub": str(user_id), "sid": session_id, "iat": now,
              "exp": now + timedelta(minutes=settings.access_token_minutes)}
    return jwt.encode(claims, settings.jwt_key, algorithm=JWT_ALGORITHM)


def read_token(token: str, settings: Settings, *, now: datetime | None = None) -> TokenClaims:
    """The claims of a valid token; NotAuthenticated otherwise (bad signature, expired at ``now``,
    or an old token without a session id)."""
    now = now or datetime.now(timezone.utc)
    try:
        claims = jwt.decode(token, settings.jwt_key, algorithms=[JWT_ALGORITHM],
                            options={"require": ["sub", "sid", "exp"], "verify_exp": False, "verify_iat": False})
        if float(claims["exp"]) <= now.timestamp():
            raise jwt.ExpiredSignatureError("expired")
        return TokenClaims(int(claims["sub"]), str(claims["sid"]), float(claims["exp"]))
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise NotAuthenticated("login expired or invalid; please log in again", key="err.login.expired") from exc
