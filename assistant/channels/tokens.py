"""Bearer tokens (PyJWT): minted by the broker's own sign-in, verified here.

Issuer, audience and expiry are always checked; the algorithm is fixed by configuration, so a
token cannot choose its own ("alg": "none", or HS256 signed with the RS256 public key).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt

from assistant.settings import Settings


class TokenError(Exception):
    pass


@dataclass(frozen=True)
class Principal:
    subject: str  # a customer id, or a staff id
    roles: frozenset[str]


def _dev_secret(settings: Settings) -> str:
    """A development secret made once under var/ (never used in production)."""
    path = settings.var_dir / "auth" / "jwt-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text(encoding="utf-8").strip()


def verification_key(settings: Settings) -> str | None:
    if settings.auth_jwt_algorithm == "RS256":
        return settings.auth_jwt_public_key
    if settings.auth_jwt_secret is not None:
        return settings.auth_jwt_secret.get_secret_value()
    return None if settings.environment == "production" else _dev_secret(settings)


def mint(settings: Settings, subject: str, *, roles: list[str] | None = None, ttl: timedelta = timedelta(hours=8),
         private_key: str | None = None) -> str:
    """A token as the app's sign-in would issue it (development and tests; RS256 needs the private key)."""
    key = private_key if settings.auth_jwt_algorithm == "RS256" else verification_key(settings)
    if not key:
        raise TokenError("no signing key configured")
    now = datetime.now(timezone.utc)
    claims = {"sub": subject, "iss": settings.auth_jwt_issuer, "aud": settings.auth_jwt_audience,
              "iat": now, "exp": now + ttl, "roles": sorted(roles or [])}
    return jwt.encode(claims, key, algorithm=settings.auth_jwt_algorithm)


def verify(settings: Settings, token: str) -> Principal:
    key = verification_key(settings)
    if not key:
        raise TokenError("no verification key configured")
    try:
        claims = jwt.decode(token, key, algorithms=[settings.auth_jwt_algorithm], audience=settings.auth_jwt_audience,
                            issuer=settings.auth_jwt_issuer, options={"require": ["exp", "iss", "aud", "sub"]})
    except jwt.PyJWTError as exc:
        raise TokenError(str(exc)) from None
    roles = claims.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise TokenError("bad roles claim")
    return Principal(subject=str(claims["sub"]), roles=frozenset(roles))
