"""Storefront handlers: validate input, read the catalogue through a short session in an executor,
render a template. Identity: a demo "signed in as" cookie; the widget asks ``/api/identity`` for a
short-lived token for that customer, bound to its own chat session."""
from __future__ import annotations

import asyncio
import re
import time
from functools import partial
from typing import Any, Callable

from aiohttp import web

from bot import identity
from bot.store import catalogue
from bot.store.db import session_scope
from bot.web import shoppers
from bot.web.guard import strict_int, valid_session_id
from bot.web.keys import ASSETS, CONFIG, SERVICES, TEMPLATES

SESSION_COOKIE = "shop_session"
SESSION_TTL = 7 * 24 * 3600
# The cookie is signed for a different purpose than the bot token, so one never passes as the other.
_COOKIE_PURPOSE = "|storefront-session"


async def db(request: web.Request, fn: Callable, *args: Any) -> Any:
    """Run ``fn(session, *args)`` in one short transaction off the event loop."""

    def work():
        with session_scope(request.app[SERVICES].engine) as session:
            return fn(session, *args)

    return await asyncio.get_running_loop().run_in_executor(None, work)


def _secret(request: web.Request) -> str:
    return request.app[CONFIG].settings.identity_secret


def signed_in_id(request: web.Request) -> int | None:
    """The demo customer id from the session cookie, if its signature verifies."""
    secret = _secret(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not secret or not cookie:
        return None
    try:
        return identity.verify(cookie, secret + _COOKIE_PURPOSE)
    except identity.InvalidToken:
        return None


def customer_token(request: web.Request, customer_id: int | None, session: str) -> str:
    """A chat token for ``customer_id`` valid only in the widget session ``session``."""
    if customer_id is None or not _secret(request):
        return ""
    settings = request.app[CONFIG].settings
    return identity.sign(customer_id, settings.identity_secret, settings.identity_ttl_seconds,
                         session=session)


def render(request: web.Request, template: str, context: dict, status: int = 200) -> web.Response:
    config = request.app[CONFIG]
    assets = request.app.get(ASSETS, {})
    js = assets.get("widget.js")
    base = {
        "shop_name": config.shop_name,
        "widget": config.widget,
        "widget_version": js.etag if js else "",
        "path": request.path_qs,
        "signin_enabled": bool(config.settings.identity_secret),
        "categories": [],
        "customers": [],
        "customer": None,
        # Who is signed in, for the widget to start a new conversation when that changes. Not a
        # credential: the widget fetches a token for its own session from /api/identity.
        "customer_ref": "",
    }
    html = request.app[TEMPLATES].get_template(template).render({**base, **context})
    return web.Response(text=html, content_type="text/html", status=status,
                        headers={"Cache-Control": "no-store"})


def _page_data(session, customer_id: int | None) -> dict:
    """What every page shows: category nav, the sign-in switcher, the current customer."""
    customer = None
    if customer_id is not None:
        try:
            customer = shoppers.get_customer(session, customer_id)
        except shoppers.CustomerNotFound:
            customer = None
    return {
        "categories": catalogue.list_categories(session),
        "customers": shoppers.list_customers(session),
        "customer": customer,
    }


async def _page(request: web.Request, template: str, fn: Callable | None = None,
                *args: Any) -> web.Response:
    customer_id = signed_in_id(request)

    def work(session):
        data = _page_data(session, customer_id)
        if fn is not None:
            data.update(fn(session, *args))
        return data

    try:
        data = await db(request, work)
    except catalogue.CatalogueNotFound:
        raise web.HTTPNotFound()
    if data["customer"] is not None:
        data["customer_ref"] = str(data["customer"].id)
    return render(request, template, data)


async def home(request: web.Request) -> web.Response:
    return await _page(request, "home.html",
                       lambda s: {"products": catalogue.list_products(s, limit=12)})


async def category(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    return await _page(request, "category.html", lambda s: {
        "category_slug": slug,
        "products": catalogue.list_products(s, slug),
    })


async def product(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    return await _page(request, "product.html",
                       lambda s: {"product": catalogue.get_product(s, slug)})


_IMAGE_NAME = re.compile(r"(.+)\.svg")
# An image is a picture and nothing else: opened on its own, it may load nothing and run nothing
# (the generated SVGs use presentation attributes, so they need no style-src either).
IMAGE_CSP = "default-src 'none'; sandbox"
IMAGE_MAX_AGE = 86400


async def product_image(request: web.Request) -> web.StreamResponse:
    """A generated product image (``/images/products/<slug>.svg``) from ``Settings.images_dir``.

    Only a valid slug names a file (so no path can climb out of the folder); anything else, and
    a product without a generated image, is a 404.
    """
    match = _IMAGE_NAME.fullmatch(request.match_info["name"])
    if match is None or not catalogue.is_slug(match.group(1)):
        raise web.HTTPNotFound()
    path = catalogue.product_image_path(request.app[CONFIG].settings.images_dir, match.group(1))
    exists = await asyncio.get_running_loop().run_in_executor(None, path.is_file)
    if not exists:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={
        "Content-Type": "image/svg+xml",
        "Cache-Control": f"public, max-age={IMAGE_MAX_AGE}",
        "Content-Security-Policy": IMAGE_CSP,
        "X-Content-Type-Options": "nosniff",
    })


def _safe_next(value: Any) -> str:
    """Only a local path: never an absolute or scheme-relative URL (open redirect)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") \
            and "\\" not in value and len(value) <= 500:
        return value
    return "/"


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        # Browsers send Origin on cross-site POSTs; absent means same-site navigation or a script.
        return origin is None
    return origin == f"{request.scheme}://{request.host}"


async def signin(request: web.Request) -> web.Response:
    """The demo "signed in as" switcher: any demo customer, or anonymous (empty id)."""
    if not _same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")
    form = await request.post()
    target = _safe_next(form.get("next"))
    raw = form.get("customer_id", "")
    response = web.HTTPSeeOther(target)
    if raw in ("", None):
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response
    customer_id = strict_int(raw)
    if customer_id is None:
        raise web.HTTPBadRequest(text="customer_id must be a number")
    secret = _secret(request)
    if not secret:
        raise web.HTTPServiceUnavailable(
            text="sign-in is disabled: SHOP_IDENTITY_SECRET is not set")
    try:
        await db(request, shoppers.get_customer, customer_id)
    except shoppers.CustomerNotFound:
        raise web.HTTPBadRequest(text="no such customer")
    response.set_cookie(
        SESSION_COOKIE, identity.sign(customer_id, secret + _COOKIE_PURPOSE, SESSION_TTL),
        max_age=SESSION_TTL, path="/", httponly=True, samesite="Lax",
        secure=request.app[CONFIG].cookie_secure,
    )
    raise response


async def identity_token(request: web.Request) -> web.Response:
    """``GET /api/identity?session=<widget session id>``: a fresh chat token for the signed-in
    customer, valid only in that session (the widget asks after its session is confirmed and
    renews before expiry). The cookie is SameSite=Lax and the response has no CORS header, so
    another site can neither get a token for its visitor nor read one."""
    session = request.query.get("session")
    if not valid_session_id(session):
        return web.json_response({"error": "session must be the widget's session id"},
                                 status=400, headers={"Cache-Control": "no-store"})
    token = customer_token(request, signed_in_id(request), session)
    expires = identity.expires_at(token) if token else None
    return web.json_response(
        {"customer_token": token or None, "expires": expires, "now": int(time.time())},
        headers={"Cache-Control": "no-store"},
    )


async def asset(request: web.Request, name: str) -> web.Response:
    a = request.app[ASSETS][name]
    headers = {"ETag": f'"{a.etag}"', "Vary": "Accept-Encoding",
               "Cache-Control": "public, max-age=86400" if request.query.get("v") == a.etag
               else "no-cache",
               "Access-Control-Allow-Origin": "*"}  # embeddable on other sites' pages
    if request.headers.get("If-None-Match") == f'"{a.etag}"':
        return web.Response(status=304, headers=headers)
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = a.gzipped
    else:
        body = a.body
    headers["Content-Type"] = a.content_type
    return web.Response(body=body, headers=headers)


def asset_handler(name: str):
    return partial(asset, name=name)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})
