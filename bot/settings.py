"""Settings read once from the environment into one typed object and passed down."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = REPO_ROOT / "var"


DEFAULT_NEEDS_OUTBOX = VAR_DIR / "needs_outbox.jsonl"
DEFAULT_IMAGES_DIR = VAR_DIR / "images"


@dataclass(frozen=True)
class ShopFacts:
    """What the assistant tells shoppers about the shop: contact details, opening hours and
    policy windows. The defaults are the demo shop's (placeholders: a real shop sets the
    ``SHOP_CONTACT_*``, ``SHOP_OPENING_HOURS`` and policy variables)."""

    contact_email: str = "help@example-shop.co.uk"
    contact_phone: str = "0800 000 0000"
    opening_hours: str = "Monday to Friday 9am-6pm and Saturday 10am-4pm"
    # Returns are accepted this many days after delivery.
    return_window_days: int = 30
    # Working days we take to process a refund, and the days a bank then takes to show it.
    refund_processing_days: int = 2
    bank_days: str = "3-5"
    # Working days the team takes to confirm an account deletion.
    account_request_days: int = 2

    @property
    def contact(self) -> str:
        """The configured ways to reach the team: 'email or on phone', or just the one set."""
        ways = [w for w in (self.contact_email, self.contact_phone and f"on {self.contact_phone}")
                if w]
        return " or ".join(ways) or "the contact page"

    @classmethod
    def from_env(cls, env) -> "ShopFacts":
        demo = cls()
        return cls(
            contact_email=env.get("SHOP_CONTACT_EMAIL", demo.contact_email),
            contact_phone=env.get("SHOP_CONTACT_PHONE", demo.contact_phone),
            opening_hours=env.get("SHOP_OPENING_HOURS", demo.opening_hours),
            return_window_days=int(env.get("SHOP_RETURN_WINDOW_DAYS", demo.return_window_days)),
            refund_processing_days=int(env.get("SHOP_REFUND_DAYS", demo.refund_processing_days)),
            bank_days=env.get("SHOP_BANK_DAYS", demo.bank_days),
            account_request_days=int(env.get("SHOP_ACCOUNT_REQUEST_DAYS",
                                             demo.account_request_days)),
        )


def default_database_url() -> str:
    return f"sqlite:///{VAR_DIR / 'shop.db'}"


@dataclass(frozen=True)
class Settings:
    database_url: str
    # HMAC secret that signs shopper identity tokens (storefront -> widget -> actions).
    identity_secret: str
    # Seconds a signed identity token stays valid.
    identity_ttl_seconds: int = 3600
    # Contact details, opening hours and policy windows told to shoppers.
    shop: ShopFacts = ShopFacts()
    # Escalations are answered within this many working hours (told to the shopper).
    escalation_response_hours: int = 4
    # Where captured needs wait (one JSON line each) while the shop database is down.
    needs_outbox: Path = DEFAULT_NEEDS_OUTBOX
    # Generated product images (``products/<slug>.svg``), written by the demo data builder and
    # served by the storefront at /images/products/<slug>.svg.
    images_dir: Path = DEFAULT_IMAGES_DIR
    # Redis for limits shared by several processes (``redis://host:6379/0``); empty: the shop
    # database holds them.
    redis_url: str = ""
    # Failed order-ownership proofs (order number + email) allowed per order number and per
    # email in a window; past it the order answers as an unknown one would.
    ownership_attempts: int = 5
    ownership_window_seconds: int = 900
    # Seconds the shop database is not tried again after a connection failure (circuit breaker).
    db_breaker_seconds: float = 5.0
    # Seconds between two drains of the needs outbox by the action server's background task.
    outbox_drain_seconds: float = 5.0

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL") or default_database_url(),
            identity_secret=env.get("SHOP_IDENTITY_SECRET", ""),
            identity_ttl_seconds=int(env.get("SHOP_IDENTITY_TTL", "3600")),
            shop=ShopFacts.from_env(env),
            escalation_response_hours=int(env.get("SHOP_ESCALATION_HOURS", "4")),
            needs_outbox=Path(env.get("SHOP_NEEDS_OUTBOX") or DEFAULT_NEEDS_OUTBOX),
            images_dir=Path(env.get("SHOP_IMAGES_DIR") or DEFAULT_IMAGES_DIR),
            redis_url=env.get("REDIS_URL", ""),
            ownership_attempts=int(env.get("SHOP_OWNERSHIP_ATTEMPTS", "5")),
            ownership_window_seconds=int(env.get("SHOP_OWNERSHIP_WINDOW", "900")),
            db_breaker_seconds=float(env.get("SHOP_DB_BREAKER_SECONDS", "5")),
            outbox_drain_seconds=float(env.get("SHOP_OUTBOX_DRAIN_SECONDS", "5")),
        )
