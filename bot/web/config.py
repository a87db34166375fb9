"""Storefront settings, read once from the environment by the entry point and passed down."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from bot.settings import Settings
from bot.web.security import parse_origins


@dataclass(frozen=True)
class WidgetConfig:
    """What the page tells the widget (rendered as data- attributes on its script tag)."""

    # URL the *browser* uses to reach the Rasa server (socket.io lives at <url>/socket.io).
    server_url: str = "http://localhost:5005"
    title: str = "Shop assistant"
    colour: str = "#1f6feb"
    greeting: str = "Hi! Ask me about an order, a return, or tell me what you're looking for."
    # Origins product images may come from besides the storefront itself (SHOP_IMAGE_ORIGINS):
    # listed in the pages' CSP img-src and handed to the widget, which shows no other image.
    image_origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebConfig:
    settings: Settings
    widget: WidgetConfig = field(default_factory=WidgetConfig)
    shop_name: str = "Trailhead & Co."
    # Cookie marking the demo "signed in as" customer; its own HMAC purpose, see views.
    cookie_secure: bool = False

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "WebConfig":
        env = os.environ if environ is None else environ
        defaults = WidgetConfig()
        return cls(
            settings=Settings.from_env(env),
            widget=WidgetConfig(
                server_url=(env.get("SHOP_RASA_PUBLIC_URL") or defaults.server_url).rstrip("/"),
                title=env.get("SHOP_WIDGET_TITLE") or defaults.title,
                colour=env.get("SHOP_WIDGET_COLOUR") or defaults.colour,
                greeting=env.get("SHOP_WIDGET_GREETING") or defaults.greeting,
                image_origins=parse_origins(env.get("SHOP_IMAGE_ORIGINS")),
            ),
            shop_name=env.get("SHOP_NAME") or cls.shop_name,
            cookie_secure=env.get("SHOP_COOKIE_SECURE", "") == "1",
        )
