"""Staff sign-in for the storefront app: sessions, CSRF, ``require_staff``, /staff pages.

- Sessions are aiohttp-session's :class:`EncryptedCookieStorage` (Fernet, key from
  ``SHOP_SESSION_SECRET``): cookie ``shop_staff``, HttpOnly, SameSite=Lax, Secure when the shop's
  public URL is https, expiring after :data:`SESSION_HOURS`. The session holds the staff id and
  a CSRF token, nothing else; the account is read again on every request, so disabling it or
  changing its role takes effect at once.
- CSRF: every POST/PUT/PATCH/DELETE under :data:`PROTECTED_PREFIXES` must carry the session's
  token (form field ``csrf_token`` or header ``X-CSRF-Token``), else 403 (:func:`csrf_middleware`).
- :func:`require_staff` guards a handler: no session -> redirect to the sign-in page (401 JSON for
  API calls), a role not allowed -> 403. The account is ``request[STAFF]``.
- Signing in starts a new session (no fixation); signing out ends it.
"""
from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp_session import get_session, new_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from bot.console import queue
from bot.services import Services
from bot.staff import accounts
from bot.web.keys import SERVICES, TEMPLATES

log = logging.getLogger(__name__)

# App and request keys (aiohttp 3.9 has no web.AppKey).
STAFF = "shop_staff_account"  # request key: the signed-in StaffView
COOKIE_NAME = "shop_staff"
SESSION_HOURS = 8
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
PROTECTED_PREFIXES = ("/staff", "/console", "/insights")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_PATH = "/staff/login"
HOME_PATH = "/staff/"


class BadSessionSecret(ValueError):
    """``SHOP_SESSION_SECRET`` is not a Fernet key (32 bytes, urlsafe base64)."""


@dataclass(frozen=True)
class StaffWebConfig:
    # A Fernet key (``Fernet.generate_key()``): encrypts and signs the session cookie.
    session_secret: str
    # Send the cookie over https only (the shop's public URL is https).
    secure_cookie: bool = False

    @classmethod
    def from_env(cls, environ=None, public_url: str = "") -> "StaffWebConfig":
        env = os.environ if environ is None else environ
        secret = env.get("SHOP_SESSION_SECRET", "")
        if not secret:
            # Sessions then last only as long as this process (and are not shared with others).
            log.warning("SHOP_SESSION_SECRET is not set: staff sessions use a key for this "
                        "process only")
            secret = Fernet.generate_key().decode()
        return cls(session_secret=secret,
                   secure_cookie=urlsplit(public_url).scheme == "https")

    def fernet(self) -> Fernet:
        try:
            return Fernet(self.session_secret.encode())
        except (ValueError, TypeError) as err:
            raise BadSessionSecret("SHOP_SESSION_SECRET must be a Fernet key: 32 bytes in "
                                   "urlsafe base64 (python -c 'from cryptography.fernet import "
                                   "Fernet; print(Fernet.generate_key().decode())')") from err


def setup(app: web.Application, config: StaffWebConfig) -> None:
    """Install the session and CSRF middlewares (after the app's own) and the /staff routes."""
    storage = EncryptedCookieStorage(config.fernet(), cookie_name=COOKIE_NAME,
                                     max_age=SESSION_HOURS * 3600, path="/", httponly=True,
                                     samesite="Lax", secure=config.secure_cookie)
    app.middlewares.append(session_middleware(storage))
    app.middlewares.append(csrf_middleware)
    app.router.add_get(LOGIN_PATH, login_form, name="staff_login")
    app.router.add_post(LOGIN_PATH, login, name="staff_login_post")
    app.router.add_post("/staff/logout", logout, name="staff_logout")
    app.router.add_get(HOME_PATH, home, name="staff_home")
    app.router.add_get("/staff/me.json", me, name="staff_me")


async def csrf_token(request: web.Request) -> str:
    """This session's CSRF token (made on first use)."""
    session = await get_session(request)
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _protected(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PROTECTED_PREFIXES)


@web.middleware
async def csrf_middleware(request: web.Request, handler):
    """403 for a state-changing request under the staff prefixes without the session's token."""
    if request.method in UNSAFE_METHODS and _protected(request.path):
        session = await get_session(request)
        expected = session.get("csrf") or ""
        supplied = request.headers.get(CSRF_HEADER, "")
        if not supplied and request.content_type in ("application/x-www-form-urlencoded",
                                                      "multipart/form-data"):
            supplied = str((await request.post()).get(CSRF_FIELD, ""))
        if not expected or not hmac.compare_digest(expected.encode(), supplied.encode()):
            raise web.HTTPForbidden(text="missing or wrong CSRF token")
    return await handler(request)


async def _in_executor(fn: Callable, *args):
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


async def current_staff(request: web.Request) -> accounts.StaffView | None:
    """The signed-in, still active account, or ``None``."""
    session = await get_session(request)
    staff_id = session.get("staff_id")
    if not isinstance(staff_id, int):
        return None
    try:
        view = await _in_executor(accounts.get, _services(request), staff_id)
    except accounts.StaffNotFound:
        view = None
    if view is None or not view.active:
        session.invalidate()
        return None
    return view


def _wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return (request.path.endswith(".json") or "/api/" in request.path
            or ("application/json" in accept and "text/html" not in accept))


def require_staff(*roles: str):
    """Guard a handler: signed-in staff of one of ``roles`` (any role when none are given)."""
    unknown = set(roles) - set(accounts.ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(handler):
        @functools.wraps(handler)
        async def guarded(request: web.Request):
            staff = await current_staff(request)
            if staff is None:
                if _wants_json(request):
                    raise web.HTTPUnauthorized(text='{"error": "sign in first"}',
                                               content_type="application/json")
                raise web.HTTPSeeOther(f"{LOGIN_PATH}?next={quote(request.path_qs, safe='')}")
            if roles and staff.role not in roles:
                raise web.HTTPForbidden(text="your role may not see this")
            request[STAFF] = staff
            return await handler(request)

        return guarded

    return decorate


def _safe_next(raw) -> str:
    """Only a path of the staff pages: never another site (``//host``) or a shopper page."""
    value = str(raw or "")
    if value.startswith("/") and not value.startswith("//") and "\\" not in value \
            and _protected(urlsplit(value).path):
        return value
    return HOME_PATH


def _render(request: web.Request, template: str, context: dict, status: int = 200):
    html = request.app[TEMPLATES].get_template(template).render(context)
    return web.Response(text=html, content_type="text/html", status=status,
                        headers={"Cache-Control": "no-store"})


async def login_form(request: web.Request) -> web.Response:
    if await current_staff(request) is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")))
    return await _login_page(request, error="", email="", status=200)


async def _login_page(request: web.Request, *, error: str, email: str, status: int):
    token = await csrf_token(request)
    next_path = _safe_next(request.query.get("next") or (await request.post()).get("next"))
    return _render(request, "staff_login.html",
                   {"csrf_token": token, "error": error, "email": email, "next": next_path},
                   status=status)


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    email = str(form.get("email", ""))[:254]
    password = str(form.get("password", ""))
    try:
        staff = await _in_executor(accounts.authenticate, _services(request), email, password,
                                   request.remote or "")
    except accounts.LoginFailed as failed:
        log.info("staff sign-in refused (%s)", failed.reason)
        return await _login_page(request, error="That email and password did not work, or the "
                                 "account is locked for a while.", email=email, status=401)
    session = await new_session(request)  # a fresh session: no fixation
    session["staff_id"] = staff.id
    session["csrf"] = secrets.token_urlsafe(32)
    raise web.HTTPSeeOther(_safe_next(form.get("next")))


async def logout(request: web.Request) -> web.Response:
    session = await get_session(request)
    staff_id = session.get("staff_id")
    if isinstance(staff_id, int):
        # Signed out: no longer taking chats, so the bot stops promising this agent.
        await _in_executor(queue.signed_off, _services(request), staff_id)
    session.invalidate()
    raise web.HTTPSeeOther(LOGIN_PATH)


@require_staff()
async def home(request: web.Request) -> web.Response:
    staff = request[STAFF]
    return _render(request, "staff_home.html", {
        "staff": staff, "csrf_token": await csrf_token(request),
        "console": accounts.can(staff.role, "queue"),
        "insights": accounts.can(staff.role, "insights"),
    })


@require_staff()
async def me(request: web.Request) -> web.Response:
    staff = request[STAFF]
    return web.json_response({"email": staff.email, "name": staff.name, "role": staff.role,
                              "csrf_token": await csrf_token(request)})
