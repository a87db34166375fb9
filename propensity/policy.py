"""How the assistant uses a propensity band (documented in docs/propensity.md).

The band never changes *what is true* (prices, stock, delivery dates); it changes what the bot
leads with and how much it offers:

| band \\ need   | matched (we sell it)                         | unmet (nothing fits)                      | no need stated |
|---------------|----------------------------------------------|-------------------------------------------|----------------|
| high          | best match first, with its delivery date     | closest alternatives + back-in-stock note | nothing extra  |
| medium        | top 3 matches, delivery date on the first     | back-in-stock notice + alternatives       | nothing extra  |
| low           | top 3 matches, no pressure, save-for-later    | back-in-stock notice only                 | nothing extra  |
| none (no score / anonymous) | top 3 matches                  | back-in-stock notice + alternatives       | nothing extra  |
"""
from __future__ import annotations

from dataclasses import dataclass

BANDS = ("low", "medium", "high")
MATCHED = "matched"
UNMET = "unmet"

BEST_MATCH_FIRST = "best_match_first"
SHOW_MATCHES = "show_matches"
GENTLE_MATCHES = "gentle_matches"
ALTERNATIVES_AND_NOTICE = "alternatives_and_notice"
BACK_IN_STOCK_NOTICE = "back_in_stock_notice"
NO_OFFER = "no_offer"


@dataclass(frozen=True)
class Offer:
    kind: str
    max_products: int  # how many catalogue matches to show (0: none)
    lead_with_delivery_date: bool  # give the first product's delivery date up front
    offer_back_in_stock: bool  # offer to tell the shopper when a fitting product arrives
    offer_alternatives: bool  # show the closest products we do sell
    offer_save_for_later: bool  # offer to keep the matches for later instead of pushing a sale


def offer_for(band: str | None, need_status: str | None) -> Offer:
    """The policy table above. ``band`` None means unscored (anonymous or too little history);
    ``need_status`` is ``matched``, ``unmet`` or ``unmet:<reason>`` (the needs log's statuses:
    every reason is unmet here), or None (no product need in this conversation). Unknown values
    fall back to the unscored / no-need rows rather than raising."""
    band = band if band in BANDS else None
    if isinstance(need_status, str) and need_status.startswith(UNMET + ":"):
        need_status = UNMET
    status = need_status if need_status in (MATCHED, UNMET) else None
    if status is None:
        return Offer(NO_OFFER, 0, False, False, False, False)
    if status == MATCHED:
        if band == "high":
            return Offer(BEST_MATCH_FIRST, 1, True, False, False, False)
        if band == "low":
            return Offer(GENTLE_MATCHES, 3, False, False, False, True)
        return Offer(SHOW_MATCHES, 3, band == "medium", False, False, False)
    # unmet need
    if band == "low":
        return Offer(BACK_IN_STOCK_NOTICE, 0, False, True, False, False)
    return Offer(ALTERNATIVES_AND_NOTICE, 3, False, True, True, False)
