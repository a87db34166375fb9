"""Plain words for feature values: the sentences a shopper-facing reason is made of.

Each feature's template lives with its definition (``features.FEATURES[i].reason``); this module
fills it in and rewords the cases a template reads badly for (zero counts, "1 times", trends,
sentinels such as "never bought"). ``reason_text(i, value)`` is what ``Scorer`` puts in a
``Reason``.
"""
from __future__ import annotations

import re
from types import MappingProxyType

import numpy as np

from propensity.features import FEATURE_INDEX, FEATURES, NEVER_DAYS

# "bought 0 times in the last 30 days" -> "has not bought in the last 30 days", by first word.
_ZERO_PHRASES = MappingProxyType({
    "bought": "has not bought",
    "viewed": "has not viewed products",
    "added": "has not added items to the basket",
    "asked": "has not asked us for products",
    "left": "has not left basket adds",
})
_SINGULAR = MappingProxyType(
    {"products": "product", "items": "item", "categories": "category", "lines": "line"})


def _plural(n: float, one: str, many: str) -> str:
    return f"{n:.0f} {one if round(n) == 1 else many}"


def _special_reason(name: str, v: float) -> str | None:
    if name == "order_trend_90d":
        if v > 0:
            return f"bought {_plural(v, 'time', 'times')} more in the last 90 days than in the 90 before"
        if v < 0:
            return f"bought {_plural(-v, 'time', 'times')} fewer in the last 90 days than in the 90 before"
        return "bought as often in the last 90 days as in the 90 before"
    if name == "spend_trend_90d":
        if v > 0.05:
            return "spent more in the last 90 days than in the 90 before"
        if v < -0.05:
            return "spent less in the last 90 days than in the 90 before"
        return "spent about the same in the last 90 days as in the 90 before"
    if name == "gap_cv":
        return "buys at regular intervals" if v < 0.5 else "buys at irregular intervals"
    if name in ("days_since_last_purchase", "mean_gap_days") and v >= NEVER_DAYS:
        return "has never bought"
    if name == "days_since_last_view" and v >= NEVER_DAYS:
        return "has not browsed the shop recently"
    if name == "last_vs_avg_order_value":
        if v > 0.1:
            return "last order was bigger than usual"
        if v < -0.1:
            return "last order was smaller than usual"
        return "last order was about the usual size"
    if name == "product_buyers_30d":
        buyers = float(np.expm1(min(v, 20.0)))
        if buyers < 0.5:
            return "buys products few other shoppers bought in the last 30 days"
        who = "shopper" if round(buyers) == 1 else "shoppers"
        return f"buys products that about {buyers:.0f} other {who} each bought in the last 30 days"
    if name == "product_buyer_trend":
        if v > 0.1:
            return "buys products that sell to more shoppers now than in the 3 months before"
        if v < -0.1:
            return "buys products that sell to fewer shoppers now than in the 3 months before"
        return "buys products that sell as well now as in the 3 months before"
    if name in ("min_product_due_days", "mean_product_due_days"):
        if v <= -NEVER_DAYS:
            return "has no product it buys regularly"
        if v < 0:
            what = ("a regular product is" if name == "min_product_due_days"
                    else "regular products are")
            return f"{what} {_plural(-v, 'day', 'days')} overdue" + (
                " on average" if name == "mean_product_due_days" else "")
    if name == "share_products_bought_by_others_30d":
        return (f"buys products that other shoppers bought in the last 30 days, "
                f"{v:.0%} of them")
    if name == "regular_products" and v == 0:
        return "has no product it buys regularly"
    if name.startswith("spend") and v == 0:
        return "has not spent anything " + FEATURES[FEATURE_INDEX[name]].reason.split(" ", 2)[2]
    return None


def reason_text(feature_index: int, value: float) -> str:
    """The plain-words sentence for one feature value ("bought 3 times in the last 60 days")."""
    feat = FEATURES[feature_index]
    v = float(value)
    special = _special_reason(feat.name, v)
    if special is not None:
        return special
    text = feat.reason.format(v=v)
    if v == 0 and "{v:.0f}" in feat.reason:
        verb = feat.reason.split(" ", 1)[0]
        if verb in _ZERO_PHRASES and " in " in feat.reason:
            return _ZERO_PHRASES[verb] + " in " + feat.reason.split(" in ", 1)[1].replace("{v:.0f} ", "")
    text = re.sub(r"\b1 times\b", "once", text)
    text = re.sub(r"\b1 days\b", "1 day", text)
    return re.sub(r"\b1 (different |regular )?(products|items|categories|lines)\b",
                  lambda m: "1 " + (m.group(1) or "") + _SINGULAR[m.group(2)], text)
