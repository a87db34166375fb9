"""URL map of the storefront."""
from __future__ import annotations

from aiohttp import web

from bot.web import account, console, console_review, insights, newsletter, staff, views
from bot.web.bundle import STATIC_DIR


def setup_routes(app: web.Application, staff_config: staff.StaffWebConfig) -> None:
    app.router.add_get("/", views.home, name="home")
    app.router.add_get("/c/{slug}", views.category, name="category")
    app.router.add_get("/p/{slug}", views.product, name="product")
    app.router.add_get("/images/products/{name}", views.product_image, name="product_image")
    app.router.add_post("/account/signin", views.signin, name="signin")
    app.router.add_get("/api/identity", views.identity_token, name="identity")
    app.router.add_get("/account/export.json", account.export_json, name="account_export")
    newsletter.setup(app)  # /newsletter/confirm: the double opt-in link
    staff.setup(app, staff_config)  # sessions, CSRF, /staff/login, /staff/logout, /staff/
    console.setup(app)  # /console/: the queue, conversations, takeover, canned replies
    console_review.setup(app)  # /console/review, /console/reports, /console/static/
    insights.setup(app)  # /insights/: the product team's pages and exports
    app.router.add_get("/healthz", views.health, name="health")
    app.router.add_get("/widget/widget.js", views.asset_handler("widget.js"), name="widget_js")
    app.router.add_get("/widget/widget.css", views.asset_handler("widget.css"), name="widget_css")
    app.router.add_static("/static/", STATIC_DIR / "shop", name="static")
