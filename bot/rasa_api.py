"""Calling the Rasa server's HTTP API: a bearer JWT in the ``Authorization`` header.

The server runs with ``rasa run --enable-api --jwt-secret "$RASA_JWT_SECRET" --jwt-method HS256``
and no ``--auth-token``, so the old ``?token=`` query parameter opens nothing. Rasa 3.6 lets an
admin JWT (``{"user": {"role": "admin"}}``) call every endpoint (``rasa/server.py``,
``requires_auth``); a token carries an expiry.

    .venv/bin/python -m bot.rasa_api [--ttl 3600]   # prints an admin token (env RASA_JWT_SECRET)
    curl -H "Authorization: Bearer $TOKEN" http://localhost:5005/status
"""
from __future__ import annotations

import argparse
import os
import sys
import time

JWT_METHOD = "HS256"
DEFAULT_TTL_SECONDS = 3600


def admin_token(secret: str, ttl_seconds: int = DEFAULT_TTL_SECONDS,
                now: float | None = None) -> str:
    """A JWT with the admin role, valid ``ttl_seconds``."""
    import jwt

    if not secret:
        raise ValueError("a JWT secret is required")
    issued = int(time.time() if now is None else now)
    payload = {"user": {"username": "shop-admin", "role": "admin"}, "iat": issued,
               "exp": issued + int(ttl_seconds)}
    return jwt.encode(payload, secret, algorithm=JWT_METHOD)


def auth_headers(secret: str, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> dict[str, str]:
    """``{"Authorization": "Bearer <admin JWT>"}``."""
    return {"Authorization": f"Bearer {admin_token(secret, ttl_seconds)}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.rasa_api",
                                     description="Print an admin JWT for the Rasa HTTP API.")
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS,
                        help="seconds the token stays valid (default 3600)")
    args = parser.parse_args(argv)
    secret = os.environ.get("RASA_JWT_SECRET", "")
    if not secret:
        print("RASA_JWT_SECRET is not set", file=sys.stderr)
        return 2
    print(admin_token(secret, args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
