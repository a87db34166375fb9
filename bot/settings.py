"""Settings read once from the environment into one typed object and passed down."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = REPO_ROOT / "var"


DEFAULT_NEEDS_OUTBOX = VAR_DIR / "needs_outbox.jsonl"
DEFAULT_IMAGES_DIR = VAR_DIR / "images"


def default_database_url() -> str:
    return f"sqlite:///{VAR_DIR / 'shop.db'}"


@dataclass(frozen=True)
class Settings:
    database_url: str
    # HMAC secret that signs shopper identity tokens (storefront -> widget -> actions).
    identity_secret: str
    # Seconds a signed identity token stays valid.
    identity_ttl_seconds: int = 3600
    # Returns are accepted this many days after delivery.
    return_window_days: int = 30
    # Escalations are answered within this many working hours (told to the shopper).
    escalation_response_hours: int = 4
    # Where captured needs wait (one JSON line each) while the shop database is down.
    needs_outbox: Path = DEFAULT_NEEDS_OUTBOX
    # Generated product images (``products/<slug>.svg``), written by the demo data builder and
    # served by the storefront at /images/products/<slug>.svg.
    images_dir: Path = DEFAULT_IMAGES_DIR

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL") or default_database_url(),
            identity_secret=env.get("SHOP_IDENTITY_SECRET", ""),
            identity_ttl_seconds=int(env.get("SHOP_IDENTITY_TTL", "3600")),
            return_window_days=int(env.get("SHOP_RETURN_WINDOW_DAYS", "30")),
            escalation_response_hours=int(env.get("SHOP_ESCALATION_HOURS", "4")),
            needs_outbox=Path(env.get("SHOP_NEEDS_OUTBOX") or DEFAULT_NEEDS_OUTBOX),
            images_dir=Path(env.get("SHOP_IMAGES_DIR") or DEFAULT_IMAGES_DIR),
        )
