"""Bearer tokens (PyJWT): minted by the broker's own sign-in, verified here.

Issuer, audience and expiry are always checked; the algorithm is fixed by configuration, so a
token cannot choose its own ("alg": "none", or HS256 signed with the RS256 public key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import jwt

from assistant.settings import Settings, local_secret


class TokenError(Exception):
    pass


@dataclass(frozen=True)
class Principal:
    subject: str  # a customer id, or a staff id
    roles: frozenset[str]


def _dev_secret(settings: Settings) -> str:
    return _dev_secret_at(settings.var_dir / "auth" / "jwt-secret")


@lru_cache(maxsize=8)
def _dev_secret_at(path: Path) -> str:
    """The development secret (never used in production), read once per process, not on every request."""
    return local_secret(path)


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
