"""Response headers and error handling for every storefront response."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiohttp import web

logger = logging.getLogger(__name__)


class BadOrigin(ValueError):
    """A configured image origin is not ``http(s)://host[:port]``."""


def parse_origins(text: str | None) -> tuple[str, ...]:
    """``SHOP_IMAGE_ORIGINS`` (comma- or space-separated ``https://host[:port]``) as normalised
    origins (lower case, no trailing slash, default port dropped). Anything else - a path, a
    wildcard, a keyword, another scheme - raises :class:`BadOrigin`: the CSP and the widget must
    agree on exactly these origins."""
    origins: list[str] = []
    for raw in (text or "").replace(",", " ").split():
        parts = urlsplit(raw)
        try:
            port = parts.port
        except ValueError as err:
            raise BadOrigin(f"image origin {raw!r}: bad port") from err
        if parts.scheme not in ("http", "https") or not parts.hostname or "*" in raw \
                or parts.username or parts.password or parts.path not in ("", "/") \
                or parts.query or parts.fragment:
            raise BadOrigin(f"image origin {raw!r} is not http(s)://host[:port]")
        default = {"http": 80, "https": 443}[parts.scheme]
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        origin = f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def content_security_policy(rasa_url: str, image_origins: tuple[str, ...] = ()) -> str:
    """CSP for storefront pages: scripts and styles only from files on this origin (the widget is
    a script file), network connections only to ourselves and the configured Rasa server, and
    images only from ourselves (``/images/products/...``) and the configured image origins: the
    same set the widget accepts for product cards (``data-image-origins``)."""
    connect = ["'self'"]
    parts = urlsplit(rasa_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        ws = "wss" if parts.scheme == "https" else "ws"
        connect += [f"{parts.scheme}://{parts.netloc}", f"{ws}://{parts.netloc}"]
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src " + " ".join(["'self'", *image_origins]),
        "connect-src " + " ".join(connect),
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def security_headers(csp: str):
    @web.middleware
    async def middleware(request: web.Request, handler):
        response = await handler(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.content_type == "text/html":
            response.headers["Content-Security-Policy"] = csp
            response.headers["X-Frame-Options"] = "DENY"
        return response

    return middleware


def error_pages(render):
    """Turn 404/405 and unexpected errors into plain pages; never show a traceback."""

    @web.middleware
    async def middleware(request: web.Request, handler):
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status in (404, 405) and not request.path.startswith("/api/"):
                return render(request, "error.html",
                              {"status": exc.status, "message": "We couldn't find that page."},
                              status=exc.status)
            raise
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, request.path)
            if request.path.startswith("/api/"):
                return web.json_response({"error": "internal error"}, status=500)
            return render(request, "error.html",
                          {"status": 500, "message": "Something went wrong on our side."},
                          status=500)

    return middleware
