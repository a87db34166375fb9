"""The storefront application factory."""
from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.store.db import make_engine
from bot.web.bundle import build_widget_css, build_widget_js
from bot.web.config import WebConfig
from bot.web.keys import ASSETS, CONFIG, ENGINE, TEMPLATES
from bot.web.routes import setup_routes
from bot.web.security import content_security_policy, error_pages, security_headers
from bot.web.views import render

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
# Form posts are the sign-in switcher only; nothing bigger is legitimate.
MAX_REQUEST_BYTES = 16 * 1024


def create_app(config: WebConfig, engine: Engine | None = None) -> web.Application:
    """Build the storefront. Without ``engine`` one is made from the settings' database URL
    when the app starts and disposed when it stops."""
    app = web.Application(
        middlewares=[
            security_headers(content_security_policy(config.widget.server_url)),
            error_pages(render),
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

    async def database(app: web.Application):
        owned = engine is None
        app[ENGINE] = make_engine(config.settings.database_url) if owned else engine
        yield
        if owned:
            app[ENGINE].dispose()

    app.cleanup_ctx.append(database)
    setup_routes(app)
    return app
