"""Need capture in the conversation: the needs service, the shopper's propensity band, and what
the assistant leads with (docs/needs.md, docs/propensity.md).

Everything here is called from ``actions/needs.py`` in a worker thread. Nothing raises into the
chat: the needs service queues a need when the database is down, scoring returns ``NoScore``,
and storing the score is best effort (logged when it fails).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.store.db import get_engine, session_scope
from bot.store.models import Need as NeedRow
from bot.support.runtime import get_settings, unit_of_work, utcnow

log = logging.getLogger(__name__)

MAX_ALTERNATIVES = 3


def engine() -> Engine:
    return get_engine(get_settings().database_url)


def card(product: dict) -> dict:
    """A product card exactly as the widget expects it (docs/widget.md): the storefront's
    ``/p/<slug>`` page and an http(s) image or null."""
    url = str(product.get("url") or "")
    slug = url.rstrip("/").rsplit("/", 1)[-1] if url else ""
    image = product.get("image")
    return {"id": product["id"], "name": product["name"], "price": product["price"],
            "currency": product["currency"], "url": f"/p/{slug}",
            "image": image if isinstance(image, str) and image.startswith(("http://", "https://"))
            else None}


def outbox():
    """Where needs wait while the database is down (``Settings.needs_outbox``)."""
    from bot.needs.service import Outbox

    return Outbox(get_settings().needs_outbox)


def capture_need(conversation_id: str, customer_id: int | None, turn: int, text: str,
                 previous_need: dict | None):
    """One turn of :func:`bot.needs.service.capture` against the shop database."""
    from bot.needs.service import capture

    return capture(conversation_id, customer_id, turn, text, previous_need=previous_need,
                   engine=engine(), outbox=outbox(), now=utcnow())


# --- propensity -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShopperScore:
    """A verified shopper's score, or why there is none (``band`` None)."""

    band: str | None
    probability: float | None = None
    model_version: str | None = None
    reason: str | None = None  # no-score reason: anonymous, too_little_history, no_model, ...


def score_shopper(customer_id: int | None) -> ShopperScore:
    """Score a verified shopper with the currently promoted model; anonymous: never scored."""
    if customer_id is None:
        return ShopperScore(None, reason="anonymous")
    try:
        from propensity import serve

        result = serve.score_customer(customer_id, engine_or_url=engine(), now=utcnow(),
                                      scorer=serve.current_scorer())
    except Exception:  # noqa: BLE001 - no model / broken model: the chat goes on unscored
        log.exception("propensity scoring failed for customer %s", customer_id)
        return ShopperScore(None, reason="unavailable")
    if getattr(result, "band", None) is None or getattr(result, "probability", None) is None:
        return ShopperScore(None, model_version=getattr(result, "model_version", None),
                            reason=getattr(result, "reason", "no_score"))
    return ShopperScore(result.band, float(result.probability), result.model_version)


def store_score(conversation_id: str, need_seq: int, score: ShopperScore) -> bool:
    """Write the score onto the captured need's row; False when it could not be stored."""
    if score.band is None:
        return False
    try:
        with session_scope(engine()) as session:
            done = session.execute(
                update(NeedRow).where(NeedRow.conversation_id == conversation_id,
                                      NeedRow.need_seq == need_seq)
                .values(propensity_probability=score.probability,
                        propensity_band=score.band,
                        propensity_model_version=(score.model_version or "")[:40] or None))
            return bool(done.rowcount)
    except SQLAlchemyError:
        log.warning("could not store the propensity score of need %s/%s", conversation_id,
                    need_seq)
        return False


# --- what to show -----------------------------------------------------------------------------

def alternatives(need: dict, limit: int = MAX_ALTERNATIVES) -> list[dict]:
    """The closest products we do sell for an unmet need: same product type without the
    details (price, colour, size, brand), else the same category. Cards; [] on any DB error."""
    from bot.needs.service import match_products

    tries = []
    if need.get("product"):
        tries.append({"product": need["product"], "category": need.get("category")})
    if need.get("category"):
        tries.append({"category": need["category"]})
    try:
        for relaxed in tries:
            found = match_products(engine(), relaxed, limit)
            if found:
                return [card(p) for p in found]
    except SQLAlchemyError:
        log.warning("alternatives unavailable")
    return []


@dataclass(frozen=True)
class DeliveryEstimate:
    option: str
    by: date


def add_working_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def fastest_delivery(now: datetime | None = None) -> DeliveryEstimate | None:
    """The earliest arrival date over the delivery options (latest day of its range)."""
    from bot.store import queries

    now = now or utcnow()
    try:
        with unit_of_work() as session:
            options = [(o.max_days, o.name) for o in queries.delivery_options(session)]
    except Exception:  # noqa: BLE001 - a delivery date is a nice-to-have
        return None
    if not options:
        return None
    max_days, name = min(options)
    return DeliveryEstimate(name, add_working_days(now.date(), max_days))


def request_back_in_stock(conversation_id: str, need_seq: int | None) -> bool:
    """Mark the need: tell the shopper when a fitting product is in stock. False if not found."""
    with unit_of_work() as session:
        query = select(NeedRow).where(NeedRow.conversation_id == conversation_id)
        if need_seq is not None:
            query = query.where(NeedRow.need_seq == need_seq)
        row = session.execute(query.order_by(NeedRow.updated_at.desc()).limit(1)
                              ).scalar_one_or_none()
        if row is None:
            return False
        if row.back_in_stock_requested_at is None:
            row.back_in_stock_requested_at = utcnow()
        return True
