"""Read-only shop information: delivery options, and catalogue search by words."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from bot.services import Services
from bot.store import catalogue, queries
from bot.store.catalogue import ProductView
from bot.support.text import clean_text

_STOP_WORDS = frozenset(
    "a an the any some for me my of in on with and or to you your do have has got is are "
    "stock sell please pair pairs".split()
)
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)?")
MAX_SEARCH_WORDS = 6


@dataclass(frozen=True)
class DeliveryOptionView:
    code: str
    name: str
    price: Decimal
    free_over: Decimal | None
    min_days: int
    max_days: int
    description: str


def delivery_options(services: Services) -> list[DeliveryOptionView]:
    with services.unit_of_work() as session:
        return [
            DeliveryOptionView(o.code, o.name, o.price, o.free_over, o.min_days, o.max_days,
                               o.description or "")
            for o in queries.delivery_options(session)
        ]


def search_words(text: object) -> list[str]:
    """Lower-cased content words, crudely singular ("boots" -> "boot"), for catalogue search."""
    words = []
    for word in _WORD.findall(clean_text(text, 200).lower()):
        if word in _STOP_WORDS or len(word) < 2:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(word)
    return words[:MAX_SEARCH_WORDS]


def search_products(services: Services, text: object, limit: int = 3) -> list[ProductView]:
    """Products matching every content word; failing that, the last word (the head noun)."""
    words = search_words(text)
    if not words:
        return []
    with services.unit_of_work() as session:
        found = catalogue.search_products(session, words, limit)
        if not found and len(words) > 1:
            found = catalogue.search_products(session, words[-1:], limit)
        return found
