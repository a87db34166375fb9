"""Product search in the chat: one call per turn that decides everything the answer holds.

:func:`search` captures the shopper's need (``bot.needs.service.capture``: extract, merge with the
conversation's open need, ask once for a missing size, match the catalogue, log it), scores a
verified shopper with the propensity model and stores the score with the need, applies the offer
policy (``propensity.policy.offer_for``: what to lead with for each band) and fetches what that
policy shows (alternatives for an unmet need, the fastest delivery date). It returns a
:class:`SearchOutcome`; ``actions/product_search.py`` only turns it into messages and slots.

Nothing here raises into the chat for a down database: capture queues the need in the outbox,
scoring returns no band, alternatives and delivery dates are left out.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from bot.insights import facets as insight_facets
from bot.needs.outbox import DrainResult
from bot.needs.service import capture, drain_outbox, match_products
from bot.services import Services
from bot.store import queries
from bot.store.catalogue import ProductView
from bot.store.errors import StoreUnavailable
from bot.store.models import Need as NeedRow
from bot.support import shop_info
from propensity.policy import BEST_MATCH_FIRST, MATCHED, offer_for

log = logging.getLogger(__name__)

MAX_ALTERNATIVES = 3

# What the turn came to (SearchOutcome.kind).
ASK_PRODUCT = "ask_product"  # no words to search for: ask what they are looking for
NOT_UNDERSTOOD = "not_understood"  # an answer to our question that we could not read
FOUND = "found"  # no need the extractor knows, but a plain catalogue search found products
NOT_FOUND = "not_found"  # ... and found nothing
QUESTION = "question"  # a key detail is missing: ask for it
QUEUED = "queued"  # the database is down: the need waits in the outbox
MATCHED_NEED = "matched"  # catalogue products fit the need
UNMET_NEED = "unmet"  # nothing fits: why, with what the policy offers instead


@dataclass(frozen=True)
class SearchRequest:
    conversation_id: str
    customer_id: int | None  # verified this turn, else None
    turn: int  # this message's number in the conversation (1 for the first)
    text: str
    previous_need: dict | None  # the ``current_need`` slot
    is_answer: bool = False  # an answer to our question, not a new product search
    product_entities: tuple[str, ...] = ()  # NLU ``product`` entities of the message


@dataclass(frozen=True)
class ShopperScore:
    """A verified shopper's score, or why there is none (``band`` None)."""

    band: str | None
    probability: float | None = None
    model_version: str | None = None
    reason: str | None = None  # no-score reason: anonymous, too_little_history, no_model, ...


@dataclass(frozen=True)
class DeliveryEstimate:
    option: str
    by: date


@dataclass(frozen=True)
class SearchOutcome:
    kind: str
    need: dict | None = None  # the accumulated need to keep for next turn (None: unchanged)
    text: str = ""  # the capture's own sentence (a question, "Here's what I found", what we lack)
    buttons: tuple[dict, ...] = ()
    cards: tuple[dict, ...] = ()  # product cards to show, already cut to what the offer allows
    found: tuple[ProductView, ...] = ()  # FOUND: plain catalogue search results
    thing: str = ""  # NOT_UNDERSTOOD: what the open need is about
    best_match_first: bool = False
    delivery: DeliveryEstimate | None = None  # lead with this delivery date
    save_for_later: bool = False
    alternatives: tuple[dict, ...] = ()  # UNMET: closest products we do sell
    back_in_stock: str | None = None  # UNMET: None, "offer" (ask yes/no) or "sign_in"
    status: str | None = None  # the need's status: matched, pending or unmet:<reason>


def search(services: Services, request: SearchRequest) -> SearchOutcome:
    """One product-search turn (module docstring)."""
    text = request.text
    if text.startswith("/"):  # a button such as "Something else": no words to read
        return SearchOutcome(ASK_PRODUCT)
    result = capture(request.conversation_id, request.customer_id, request.turn, text,
                     request.previous_need, engine=services.engine, outbox=services.outbox,
                     extractor=services.extractor, now=services.now(),
                     breaker=services.breaker)
    if result.kind == "none":
        return _without_need(services, request)
    if result.kind == "question":
        return SearchOutcome(QUESTION, need=result.need, text=result.text, status=result.status)
    if result.queued and not result.products:
        # Nothing could be matched, so don't claim we lack it: the outbox keeps the need.
        return SearchOutcome(QUEUED, need=result.need)
    score = score_shopper(services, request.customer_id)
    if score.band is not None and result.need and not result.queued:
        store_score(services, request.conversation_id, result.need.get("_seq"), score)
    offer = offer_for(score.band, result.status)
    if result.status == MATCHED:
        cards = tuple(result.products[:max(offer.max_products, 1)])
        return SearchOutcome(
            MATCHED_NEED, need=result.need, text=result.text, buttons=tuple(result.buttons),
            cards=cards, best_match_first=offer.kind == BEST_MATCH_FIRST,
            delivery=fastest_delivery(services) if offer.lead_with_delivery_date else None,
            save_for_later=offer.offer_save_for_later, status=result.status)
    alternatives = (tuple(alternatives_for(services, result.need or {},
                                           offer.max_products or MAX_ALTERNATIVES))
                    if offer.offer_alternatives else ())
    back_in_stock = None
    if offer.offer_back_in_stock:
        back_in_stock = "offer" if request.customer_id is not None else "sign_in"
    return SearchOutcome(UNMET_NEED, need=result.need, text=result.text,
                         alternatives=alternatives, back_in_stock=back_in_stock,
                         status=result.status)


def drain_needs_outbox(services: Services) -> DrainResult:
    """Import the needs queued while the database was down (the action server's background
    task and ``python -m bot needs outbox drain``; never a chat turn)."""
    return drain_outbox(services.engine, services.outbox, breaker=services.breaker,
                        now=services.now())


def _without_need(services: Services, request: SearchRequest) -> SearchOutcome:
    """No need the extractor knows in the message."""
    if request.is_answer:
        thing = (request.previous_need or {}).get("product") or "it"
        return SearchOutcome(NOT_UNDERSTOOD, thing=thing)
    # A product search without a known product: fall back to a plain catalogue search.
    query = request.product_entities[0] if request.product_entities else request.text
    if not shop_info.search_words(query):
        return SearchOutcome(ASK_PRODUCT)
    found = shop_info.search_products(services, query)
    return SearchOutcome(FOUND, found=tuple(found)) if found else SearchOutcome(NOT_FOUND)


# --- propensity -------------------------------------------------------------------------------

def score_shopper(services: Services, customer_id: int | None) -> ShopperScore:
    """Score a verified shopper with the currently promoted model; anonymous: never scored."""
    if customer_id is None:
        return ShopperScore(None, reason="anonymous")
    try:
        result = services.propensity.score_customer(customer_id, services.now())
    except Exception:  # noqa: BLE001 - no model / broken model: the chat goes on unscored
        log.exception("propensity scoring failed for customer %s", customer_id)
        return ShopperScore(None, reason="unavailable")
    if result.band is None or result.probability is None:
        return ShopperScore(None, model_version=result.model_version, reason=result.reason)
    return ShopperScore(result.band, float(result.probability), result.model_version)


def store_score(services: Services, conversation_id: str, need_seq: int,
                score: ShopperScore) -> bool:
    """Write the score onto the captured need's row; False when it could not be stored."""
    if score.band is None:
        return False
    try:
        with services.unit_of_work() as session:
            done = session.execute(
                update(NeedRow).where(NeedRow.conversation_id == conversation_id,
                                      NeedRow.need_seq == need_seq)
                .values(propensity_probability=score.probability,
                        propensity_band=score.band,
                        propensity_model_version=(score.model_version or "")[:40] or None))
            insight_facets.sync(session, session.execute(select(NeedRow.id).where(
                NeedRow.conversation_id == conversation_id,
                NeedRow.need_seq == need_seq)).scalars().all())  # the insights' weights
            return bool(done.rowcount)
    except StoreUnavailable:  # best effort: the answer does not depend on it
        log.warning("could not store the propensity score of need %s/%s", conversation_id,
                    need_seq)
        return False


# --- what to show -----------------------------------------------------------------------------

def alternatives_for(services: Services, need: dict,
                     limit: int = MAX_ALTERNATIVES) -> list[dict]:
    """The closest products we do sell for an unmet need: same product type without the
    details (price, colour, size, brand), else the same category. Cards; [] on any DB error."""
    tries = []
    if need.get("product"):
        tries.append({"product": need["product"], "category": need.get("category")})
    if need.get("category"):
        tries.append({"category": need["category"]})
    try:
        for relaxed in tries:
            found = match_products(services.engine, relaxed, limit)
            if found:
                return found
    except SQLAlchemyError:
        log.warning("alternatives unavailable")
    return []


def add_working_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def fastest_delivery(services: Services) -> DeliveryEstimate | None:
    """The earliest arrival date over the delivery options (latest day of its range)."""
    try:
        with services.unit_of_work() as session:
            options = [(o.max_days, o.name) for o in queries.delivery_options(session)]
    except Exception:  # noqa: BLE001 - a delivery date is a nice-to-have
        return None
    if not options:
        return None
    max_days, name = min(options)
    return DeliveryEstimate(name, add_working_days(services.now().date(), max_days))


def request_back_in_stock(services: Services, conversation_id: str,
                          need_seq: int | None) -> bool:
    """Mark the need: tell the shopper when a fitting product is in stock. False if not found."""
    with services.unit_of_work() as session:
        query = select(NeedRow).where(NeedRow.conversation_id == conversation_id)
        if need_seq is not None:
            query = query.where(NeedRow.need_seq == need_seq)
        row = session.execute(query.order_by(NeedRow.updated_at.desc()).limit(1)
                              ).scalar_one_or_none()
        if row is None:
            return False
        if row.back_in_stock_requested_at is None:
            row.back_in_stock_requested_at = services.now()
        return True
