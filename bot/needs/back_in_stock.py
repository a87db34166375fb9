"""Follow-through: a shopper who asked to be told is told once something that fits is in stock.

A shopper whose need was unmet can ask the bot to tell them when something that fits is in stock
(only when signed in: ``bot.support.product_search.request_back_in_stock`` sets the need's
``back_in_stock_requested_at``). :func:`notify_back_in_stock` (the worker's ``back_in_stock``
job) looks at the open requests: requested within ``settings.needs.back_in_stock_days``, not
notified yet (``back_in_stock_notified_at``), not fulfilled by a later order
(``converted_at``), of a customer not erased who has an e-mail address. For each it assesses
the need against the catalogue now (:func:`bot.store.catalogue.assess_need`, the same rules as
the chat); when products fit and are in stock, in one transaction:

- the request is claimed (a conditional update of ``back_in_stock_notified_at``: two workers
  never tell twice);
- a notice for the shopper's chat widget is stored in ``agent_messages`` (kind ``notice``, no
  agent, no escalation) for the conversation where they asked; the console's delivery
  (``bot.console.delivery``: the worker's ``agent_delivery`` job) appends it to that conversation
  through Rasa, so an open widget shows it at once, and the socket.io channel sends it again to
  the widget when the shopper comes back (``session_request``) until the widget acknowledges it.
  The widget draws it as the assistant's message, not an agent's;
- an e-mail is queued (:mod:`bot.mail`, sent by the worker's ``mail`` job) to the customer's
  address, with the products and links.

The status of the need is not touched: it says what the catalogue had when the shopper asked.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot import mail
from bot.needs.service import need_from_row
from bot.needs.vocab import load_vocab
from bot.settings import Settings
from bot.store import catalogue, fit
from bot.store.db import session_scope
from bot.store.models import NOTICE_KIND, AgentMessage, Customer, Need

log = logging.getLogger(__name__)

MAX_PRODUCTS = 3
_SYMBOLS = MappingProxyType({"GBP": "£", "EUR": "€", "USD": "$"})


def _price(card: dict) -> str:
    symbol = _SYMBOLS.get(card.get("currency") or "")
    amount = f"{float(card.get('price') or 0):.2f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {card.get('currency') or ''}".strip()


def _url(settings: Settings, card: dict) -> str:
    return f"{settings.public_url}{card['url']}"


def _thing(need: Need) -> str:
    """The product as the shopper said it, on one line and without link syntax."""
    words = "".join(" " if ch in "[]()" else ch for ch in (need.product or "")).split()
    return " ".join(words) or "what you were looking for"


def notice_text(settings: Settings, need: Need, cards: list[dict]) -> str:
    """The widget's line (links written ``[name](url)``, which the widget turns into links)."""
    items = ", ".join(f"[{c['name']}]({_url(settings, c)}) ({_price(c)})" for c in cards)
    return (f"Good news: you asked me on {need.back_in_stock_requested_at:%d %b} to tell you "
            f"when we had {_thing(need)} that fits. This is in stock now: {items}.")


def mail_body(settings: Settings, need: Need, first_name: str, cards: list[dict]) -> str:
    lines = [f"Hello {first_name}," if first_name else "Hello,", "",
             f"On {need.back_in_stock_requested_at:%d %B %Y} you asked us in our chat to tell "
             f"you when we had {_thing(need)} that fits what you were looking for. This is in "
             "stock now:", ""]
    lines += [f"- {c['name']}, {_price(c)}: {_url(settings, c)}" for c in cards]
    lines += ["", "Stock and prices can change before you order.", "",
              "You get this e-mail because you asked for it while signed in, and only this once "
              f"for that request. Questions: {settings.shop.contact_email}."]
    return "\n".join(lines)


def notify_back_in_stock(engine: Engine, settings: Settings, now: datetime,
                         limit: int = 200) -> int:
    """Tell the shoppers whose open request now has fitting products in stock (module
    docstring); returns how many were told."""
    since = now - timedelta(days=settings.needs.back_in_stock_days)
    with session_scope(engine) as session:
        ids = session.execute(
            select(Need.id)
            .join(Customer, Customer.id == Need.customer_id)
            .where(Need.back_in_stock_requested_at.isnot(None),
                   Need.back_in_stock_requested_at >= since,
                   Need.back_in_stock_notified_at.is_(None), Need.converted_at.is_(None),
                   Customer.erased_at.is_(None), Customer.email != "")
            .order_by(Need.back_in_stock_requested_at, Need.id).limit(limit)).scalars().all()
    vocab = load_vocab()
    told = 0
    for need_id in ids:
        with session_scope(engine) as session:
            need = session.get(Need, need_id)
            if need is None or need.back_in_stock_notified_at is not None:
                continue
            match = catalogue.assess_need(session, need_from_row(need), vocab, MAX_PRODUCTS)
            if match.status != fit.MATCHED:
                continue
            claimed = session.execute(
                update(Need).where(Need.id == need_id, Need.back_in_stock_notified_at.is_(None))
                .values(back_in_stock_notified_at=now)
                .execution_options(synchronize_session=False)).rowcount
            if not claimed:
                continue
            customer = session.get(Customer, need.customer_id)
            cards = list(match.cards)
            session.add(AgentMessage(conversation_id=need.conversation_id, escalation_id=None,
                                     staff_id=None, kind=NOTICE_KIND,
                                     text=notice_text(settings, need, cards), created_at=now,
                                     attempts=0))
            mail.queue(session, mail.Mail(
                to=customer.email, subject=f"In stock now: {_thing(need)}"[:200],
                body=mail_body(settings, need, customer.first_name or "", cards)), now)
            told += 1
    if told:
        log.info("back in stock: %s shoppers told", told)
    return told
