"""Response headers and error handling for every storefront response."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiohttp import web

logger = logging.getLogger(__name__)


def content_security_policy(rasa_url: str) -> str:
    """CSP for storefront pages: scripts and styles only from files on this origin (the widget is
    a script file), and network connections only to ourselves and the configured Rasa server."""
    connect = ["'self'"]
    parts = urlsplit(rasa_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        ws = "wss" if parts.scheme == "https" else "ws"
        connect += [f"{parts.scheme}://{parts.netloc}", f"{ws}://{parts.netloc}"]
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
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
