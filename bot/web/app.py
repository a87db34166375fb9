"""The storefront application factory."""
from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from bot.services import Services
from bot.web.bundle import build_widget_css, build_widget_js
from bot.web.config import WebConfig
from bot.web.keys import ASSETS, CONFIG, SERVICES, TEMPLATES
from bot.web.routes import setup_routes
from bot.web.security import content_security_policy, error_pages, security_headers
from bot.web.staff import StaffWebConfig
from bot.web.views import render

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
# Form posts are the sign-in switcher only; nothing bigger is legitimate.
MAX_REQUEST_BYTES = 16 * 1024


@web.middleware
async def declared_size_limit(request: web.Request, handler):
    """Refuse a body declared bigger than the limit before reading any of it (aiohttp's
    ``client_max_size`` stops reading there too, but only once that much has arrived)."""
    if request.content_length is not None and request.content_length > MAX_REQUEST_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_REQUEST_BYTES,
                                            actual_size=request.content_length)
    return await handler(request)


def create_app(config: WebConfig, services: Services | None = None,
               staff: StaffWebConfig | None = None) -> web.Application:
    """Build the storefront on the process's ``services``; without them, the app builds its
    own from ``config.settings`` when it starts and closes them when it stops. ``staff``: the
    staff sign-in's session key (default: from ``SHOP_SESSION_SECRET``)."""
    app = web.Application(
        middlewares=[
            security_headers(content_security_policy(config.widget.server_url,
                                                     config.widget.image_origins)),
            error_pages(render),
            declared_size_limit,
        ],
        client_max_size=MAX_REQUEST_BYTES,
    )
    app[CONFIG] = config
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app[ASSETS] = {"widget.js": build_widget_js(), "widget.css": build_widget_css()}

    async def shop_services(app: web.Application):
        owned = services is None
        app[SERVICES] = Services(config.settings) if owned else services
        yield
        if owned:
            app[SERVICES].close()

    app.cleanup_ctx.append(shop_services)
    setup_routes(app, staff or StaffWebConfig.from_env(public_url=config.settings.public_url))
    return app
