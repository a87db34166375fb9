"""Settings read once from the environment into one typed object and passed down."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = REPO_ROOT / "var"


DEFAULT_NEEDS_OUTBOX = VAR_DIR / "needs_outbox.jsonl"
DEFAULT_IMAGES_DIR = VAR_DIR / "images"
DEFAULT_MAIL_DIR = VAR_DIR / "mail"


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


@dataclass(frozen=True)
class MailSettings:
    """Outgoing mail (bot.mail). No ``host``: messages are written as .eml files under
    ``mail_dir`` instead of being sent (the ``make run`` default)."""

    host: str = ""  # SMTP_HOST
    port: int = 587  # SMTP_PORT
    user: str = ""  # SMTP_USER (no login when empty)
    password: str = field(default="", repr=False)  # SMTP_PASSWORD
    sender: str = "Shop <no-reply@localhost>"  # SMTP_FROM
    starttls: bool = True  # SMTP_STARTTLS=0 turns it off (a local test server only)
    ssl: bool = False  # SMTP_SSL=1: TLS from the first byte (port 465) instead of STARTTLS
    timeout: float = 10.0  # SMTP_TIMEOUT, seconds
    mail_dir: Path = DEFAULT_MAIL_DIR  # SHOP_MAIL_DIR

    @classmethod
    def from_env(cls, env) -> "MailSettings":
        demo = cls()
        return cls(
            host=env.get("SMTP_HOST", ""),
            port=int(env.get("SMTP_PORT") or demo.port),
            user=env.get("SMTP_USER", ""),
            password=env.get("SMTP_PASSWORD", ""),
            sender=env.get("SMTP_FROM") or demo.sender,
            starttls=env.get("SMTP_STARTTLS", "1") != "0",
            ssl=env.get("SMTP_SSL", "") == "1",
            timeout=float(env.get("SMTP_TIMEOUT") or demo.timeout),
            mail_dir=Path(env.get("SHOP_MAIL_DIR") or DEFAULT_MAIL_DIR),
        )


@dataclass(frozen=True)
class PrivacySettings:
    """Retention, erasure and the newsletter's double opt-in (docs/privacy.md)."""

    # Conversation events (Rasa's tracker store) older than this are deleted.
    retention_days: int = 90
    # A conversation is erased from the tracker store only once it has been quiet this long
    # (Rasa re-inserts the events of a tracker it is still working on, see bot.privacy.erasure).
    erasure_quiet_seconds: int = 120
    # SQLAlchemy URL of Rasa's SQL tracker store; empty: read from endpoints.yml.
    tracker_url: str = ""
    # HMAC secret of newsletter confirmation links; empty: derived from the identity secret.
    newsletter_secret: str = ""
    # Hours a confirmation link stays valid; unconfirmed addresses are deleted after that.
    newsletter_link_hours: int = 48

    @classmethod
    def from_env(cls, env) -> "PrivacySettings":
        demo = cls()
        return cls(
            retention_days=int(env.get("SHOP_RETENTION_DAYS") or demo.retention_days),
            erasure_quiet_seconds=int(env.get("SHOP_ERASURE_QUIET_SECONDS")
                                      or demo.erasure_quiet_seconds),
            tracker_url=env.get("SHOP_TRACKER_URL", ""),
            newsletter_secret=env.get("SHOP_NEWSLETTER_SECRET", ""),
            newsletter_link_hours=int(env.get("SHOP_NEWSLETTER_LINK_HOURS")
                                      or demo.newsletter_link_hours),
        )


@dataclass(frozen=True)
class ConsoleSettings:
    """The staff console (bot.console): how it reaches the Rasa server, and when a promise of a
    person is honest."""

    # The Rasa server's HTTP API (pause, resume, agent messages) and its JWT secret.
    rasa_url: str = "http://localhost:5005"  # SHOP_RASA_URL
    rasa_jwt_secret: str = field(default="", repr=False)  # RASA_JWT_SECRET
    # An agent counts as available when "accepting" and seen by the console this recently.
    presence_seconds: int = 60  # SHOP_AGENT_PRESENCE_SECONDS
    # An agent message the shopper's widget has not acknowledged after this long is emailed
    # (signed-in shoppers only).
    email_unseen_seconds: int = 120  # SHOP_AGENT_EMAIL_AFTER
    # Longest agent message.
    max_message_chars: int = 2000

    @classmethod
    def from_env(cls, env) -> "ConsoleSettings":
        demo = cls()
        return cls(
            rasa_url=(env.get("SHOP_RASA_URL") or demo.rasa_url).rstrip("/"),
            rasa_jwt_secret=env.get("RASA_JWT_SECRET", ""),
            presence_seconds=int(env.get("SHOP_AGENT_PRESENCE_SECONDS")
                                 or demo.presence_seconds),
            email_unseen_seconds=int(env.get("SHOP_AGENT_EMAIL_AFTER")
                                     or demo.email_unseen_seconds),
        )


@dataclass(frozen=True)
class NeedsSettings:
    """The needs log's scheduled work (``bot.needs.records``, ``bot.needs.back_in_stock``)."""

    # A need waiting for the shopper's answer is settled to the status its known details give
    # once its conversation has been quiet this long.
    pending_idle_minutes: int = 30  # SHOP_NEEDS_PENDING_MINUTES
    # A back-in-stock request is followed for this many days after the shopper asked.
    back_in_stock_days: int = 90  # SHOP_BACK_IN_STOCK_DAYS

    @classmethod
    def from_env(cls, env) -> "NeedsSettings":
        demo = cls()
        return cls(
            pending_idle_minutes=int(env.get("SHOP_NEEDS_PENDING_MINUTES")
                                     or demo.pending_idle_minutes),
            back_in_stock_days=int(env.get("SHOP_BACK_IN_STOCK_DAYS")
                                   or demo.back_in_stock_days),
        )


def default_database_url() -> str:
    return f"sqlite:///{VAR_DIR / 'shop.db'}"


@dataclass(frozen=True)
class Settings:
    database_url: str
    # HMAC secret that signs shopper identity tokens (storefront -> widget -> actions).
    identity_secret: str
    # Seconds a signed identity token stays valid (the widget renews it before it expires).
    identity_ttl_seconds: int = 300
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
    # Shared secret Rasa sends to the action server (header, see endpoints.yml); the action
    # server refuses every call without it, and refuses to start when it is empty.
    action_secret: str = ""
    # Proxies whose X-Forwarded-For the chat channels believe (IPs or CIDRs): the client
    # address that message-rate limits count is the peer's own address otherwise.
    trusted_proxies: tuple[str, ...] = ()
    # Failed order-ownership proofs (order number + email) allowed per order number and per
    # email in a window; past it the order answers as an unknown one would.
    ownership_attempts: int = 5
    ownership_window_seconds: int = 900
    # Seconds the shop database is not tried again after a connection failure (circuit breaker).
    db_breaker_seconds: float = 5.0
    # Seconds between two drains of the needs outbox by the action server's background task.
    outbox_drain_seconds: float = 5.0
    # The storefront as shoppers reach it: links in mail and chat (confirmation, data export).
    public_url: str = "http://localhost:8080"
    privacy: PrivacySettings = PrivacySettings()
    mail: MailSettings = MailSettings()
    console: ConsoleSettings = ConsoleSettings()
    needs: NeedsSettings = NeedsSettings()

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL") or default_database_url(),
            identity_secret=env.get("SHOP_IDENTITY_SECRET", ""),
            identity_ttl_seconds=int(env.get("SHOP_IDENTITY_TTL", "300")),
            shop=ShopFacts.from_env(env),
            escalation_response_hours=int(env.get("SHOP_ESCALATION_HOURS", "4")),
            needs_outbox=Path(env.get("SHOP_NEEDS_OUTBOX") or DEFAULT_NEEDS_OUTBOX),
            images_dir=Path(env.get("SHOP_IMAGES_DIR") or DEFAULT_IMAGES_DIR),
            redis_url=env.get("REDIS_URL", ""),
            action_secret=env.get("SHOP_ACTION_SECRET", ""),
            trusted_proxies=tuple(p.strip() for p in env.get("SHOP_TRUSTED_PROXIES", "").split(",")
                                  if p.strip()),
            ownership_attempts=int(env.get("SHOP_OWNERSHIP_ATTEMPTS", "5")),
            ownership_window_seconds=int(env.get("SHOP_OWNERSHIP_WINDOW", "900")),
            db_breaker_seconds=float(env.get("SHOP_DB_BREAKER_SECONDS", "5")),
            outbox_drain_seconds=float(env.get("SHOP_OUTBOX_DRAIN_SECONDS", "5")),
            public_url=(env.get("SHOP_PUBLIC_URL") or cls.public_url).rstrip("/"),
            privacy=PrivacySettings.from_env(env),
            mail=MailSettings.from_env(env),
            console=ConsoleSettings.from_env(env),
            needs=NeedsSettings.from_env(env),
        )
