"""Does the catalogue have what a need asks for, and if not, why not.

The status a need gets when the shopper asks (``bot.store.models.NEED_STATUSES``) is decided here,
by :func:`assess`, a plain function of the need and the catalogue's products of its kind
(:class:`Candidate`), so the chat, the needs follower, ``needs import`` and the back-in-stock
check all decide it the same way. The steps, each narrowing the one before:

1. **kind**: active products of the need's category (when it names one) whose type is the need's
   taxonomy type or contains its head word (or whose name does), and of the brand it names.
   None: ``unmet:not_stocked`` (we do not sell that kind of thing at all);
2. **size and colour**: a product has the colour asked for, and one of the sizes asked for (a
   product sold without sizes passes). None: ``unmet:size_or_colour``;
3. **price**: within ``price_min`` .. ``price_max``. None: ``unmet:over_budget`` (also for a
   floor nothing reaches: the stated price range is what failed);
4. **stock**: in stock. None: ``unmet:out_of_stock`` (we sell what fits, none is in stock);
5. otherwise ``matched``, with the fitting products cheapest first.

So the reason is the first step at which nothing was left: a blue parka that exists only out of
stock is ``out_of_stock`` even when other parkas are in stock, and a red parka we only sell
above the budget is ``over_budget``. The need's other attributes ("waterproof") do not take part
(the catalogue's words for them are not the shoppers'); a need with neither product nor
category is of any kind.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Mapping, Sequence

MATCHED = "matched"
PENDING = "pending"
NOT_STOCKED = "unmet:not_stocked"
OUT_OF_STOCK = "unmet:out_of_stock"
OVER_BUDGET = "unmet:over_budget"
SIZE_OR_COLOUR = "unmet:size_or_colour"
UNMET_PREFIX = "unmet:"


def is_unmet(status: str | None) -> bool:
    return isinstance(status, str) and status.startswith(UNMET_PREFIX)


@dataclass(frozen=True)
class Candidate:
    """One active product as need matching sees it (lower-case words, sets of attributes)."""

    id: int
    category: str  # the category's slug
    product_type: str
    name: str
    brand: str
    price: Decimal
    stock: int
    colours: frozenset[str] = frozenset()
    sizes: frozenset[str] = frozenset()
    card: dict = field(default_factory=dict, compare=False, hash=False)  # the widget's card

    @classmethod
    def of(cls, *, id: int, category: str, product_type: str, name: str, brand: str,
           price, stock: int, colours: Iterable[str] = (), sizes: Iterable[str] = (),
           card: dict | None = None) -> "Candidate":
        return cls(id=id, category=category, product_type=(product_type or "").lower(),
                   name=(name or "").lower(), brand=(brand or "").lower(),
                   price=Decimal(str(price)), stock=int(stock or 0),
                   colours=frozenset(c.lower() for c in colours),
                   sizes=frozenset(s.lower() for s in sizes), card=card or {})


@dataclass(frozen=True)
class Kind:
    """What kind of thing a need asks for."""

    category: str | None  # catalogue category slug
    ptype: str  # the taxonomy type of the product or of its head word ("" when unknown)
    stem: str  # the head word without a plural "s" ("" when the need names no product)
    brand: str  # lower case ("" when none)


@dataclass(frozen=True)
class Assessment:
    status: str  # "matched" or "unmet:<reason>"
    fitting: tuple[Candidate, ...] = ()  # matched: the fitting products, cheapest first
    # size_or_colour: what we do not have, "size", "colour" or "size and colour" (not together)
    missing: str = ""

    @property
    def product_ids(self) -> list[int]:
        return [c.id for c in self.fitting]


def lower_set(value) -> set[str]:
    """A need's colour or size (one string, a list of them, or nothing) as a lower-case set."""
    if value in (None, ""):
        return set()
    values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
    return {str(v).lower() for v in values if v not in (None, "")}


def kind_of(need: Mapping, product_types: Mapping[str, str]) -> Kind:
    """The kind of a need (``product_types``: the need vocabulary's type or synonym -> type)."""
    product = str(need.get("product") or "").lower()
    head = product.split()[-1] if product.split() else ""
    ptype = (product_types.get(product) or product_types.get(head) or "").lower()
    return Kind(category=need.get("category") or None, ptype=ptype, stem=head.rstrip("s"),
                brand=str(need.get("brand") or "").lower())


def is_kind(product: Candidate, kind: Kind) -> bool:
    if kind.category and product.category != kind.category:
        return False
    if kind.stem and not (product.product_type == kind.ptype or kind.stem in product.product_type
                          or kind.stem in product.name):
        return False
    return not kind.brand or kind.brand == product.brand


def _fits_size_and_colour(product: Candidate, colours: set[str], sizes: set[str]) -> bool:
    if colours and not colours & product.colours:
        return False
    return not (sizes and product.sizes and not sizes & product.sizes)


def _in_price_range(product: Candidate, low: Decimal | None, high: Decimal | None) -> bool:
    return (low is None or product.price >= low) and (high is None or product.price <= high)


def _money(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def assess(need: Mapping, candidates: Sequence[Candidate], product_types: Mapping[str, str],
           limit: int | None = None) -> Assessment:
    """The need's status against ``candidates`` (module docstring); any candidate not of the
    need's kind is ignored, so the whole catalogue may be passed. Matched products keep the
    order of ``candidates`` (cheapest first, as the catalogue hands them over), at most
    ``limit``."""
    kind = kind_of(need, product_types)
    step = [p for p in candidates if is_kind(p, kind)]
    if not step:
        return Assessment(NOT_STOCKED)
    colours, sizes = lower_set(need.get("colour")), lower_set(need.get("size"))
    fitting = [p for p in step if _fits_size_and_colour(p, colours, sizes)]
    if not fitting:
        return Assessment(SIZE_OR_COLOUR, missing=_missing(step, colours, sizes))
    step = fitting
    low, high = _money(need.get("price_min")), _money(need.get("price_max"))
    step = [p for p in step if _in_price_range(p, low, high)]
    if not step:
        return Assessment(OVER_BUDGET)
    step = [p for p in step if p.stock > 0]
    if not step:
        return Assessment(OUT_OF_STOCK)
    return Assessment(MATCHED, tuple(step[:limit] if limit is not None else step))


def _missing(kind: Sequence[Candidate], colours: set[str], sizes: set[str]) -> str:
    """Which of the shopper's size and colour no product of the kind has."""
    no_colour = bool(colours) and not any(_fits_size_and_colour(p, colours, set()) for p in kind)
    no_size = bool(sizes) and not any(_fits_size_and_colour(p, set(), sizes) for p in kind)
    if no_colour != no_size:
        return "colour" if no_colour else "size"
    return "size and colour"
