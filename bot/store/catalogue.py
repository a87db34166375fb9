"""The one read model over the catalogue: categories, products and their attributes.

Every reader of the catalogue goes through here: the storefront's pages, the chat's word search,
need matching, and the product cards the widget shows (docs/widget.md, "Product cards"). Each
function takes the session first and returns frozen dataclasses (or card dicts), so nothing
outside holds an ORM object after its session closes.

Product images are URLs on the product row (``products.image_url``): the demo data points them
at the storefront's ``/images/products/<slug>.svg`` (see :func:`product_image_url`), a real shop
could point them at its own image server. A product without one gets ``image: null`` on its card
and the widget draws the name's first letter instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Mapping, Protocol, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from bot.store import fit
from bot.store.errors import ShopError
from bot.store.models import Category, Product, ProductAttribute

# Slugs the storefront's URLs (and image file names) accept: lower-case words joined by hyphens.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_SLUG_CHARS = 220  # products.slug is String(220)
IMAGE_PATH = "/images/products/"


class CatalogueNotFound(ShopError):
    """No such category or (active) product."""


@dataclass(frozen=True)
class CategoryView:
    slug: str
    name: str
    product_count: int  # active products


@dataclass(frozen=True)
class ProductView:
    id: int
    slug: str
    name: str
    brand: str
    product_type: str
    price: Decimal
    currency: str
    stock: int
    category_slug: str
    category_name: str
    description: str
    image_url: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()  # (name, value), sorted; only from get_product

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def url(self) -> str:
        return product_url(self.slug)


class ProductTypes(Protocol):
    """What need matching reads from the need vocabulary (``bot.needs.vocab.NeedVocab``)."""

    product_types: Mapping[str, str]  # type or synonym (lower) -> taxonomy type


def is_slug(text: object) -> bool:
    return (isinstance(text, str) and len(text) <= MAX_SLUG_CHARS
            and SLUG.fullmatch(text) is not None)


def product_url(slug: str) -> str:
    """The storefront's page of a product."""
    return f"/p/{slug}"


def product_image_url(slug: str) -> str:
    """Where the storefront serves a product's generated image (see :func:`product_image_path`)."""
    if not is_slug(slug):
        raise ValueError(f"not a product slug: {slug!r}")
    return f"{IMAGE_PATH}{slug}.svg"


def product_image_path(images_dir: Path, slug: str) -> Path:
    """The file behind :func:`product_image_url` under ``images_dir`` (``Settings.images_dir``).

    Only a valid slug gives a path, so a request can never name a file outside the folder.
    """
    if not is_slug(slug):
        raise ValueError(f"not a product slug: {slug!r}")
    return Path(images_dir) / "products" / f"{slug}.svg"


def _image(url: str | None) -> str | None:
    """An image URL the widget and the storefront's CSP can use: http(s), or a local path."""
    if not isinstance(url, str):
        return None
    if url.startswith(("https://", "http://")):
        return url
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return None


def card(product: ProductView) -> dict:
    """A product card exactly as the widget expects it (docs/widget.md, "Product cards")."""
    return {"id": product.id, "name": product.name, "price": float(product.price),
            "currency": product.currency, "url": product_url(product.slug),
            "image": _image(product.image_url)}


def _view(p: Product, attributes: Iterable[ProductAttribute] = ()) -> ProductView:
    return ProductView(
        id=p.id, slug=p.slug, name=p.name, brand=p.brand, product_type=p.product_type,
        price=p.price, currency=p.currency, stock=p.stock, category_slug=p.category.slug,
        category_name=p.category.name, description=p.description or "",
        image_url=_image(p.image_url),
        attributes=tuple(sorted((a.name, a.value) for a in attributes)),
    )


def _active_products():
    """Active products with their category loaded from the same join."""
    return (select(Product).join(Product.category).options(contains_eager(Product.category))
            .where(Product.active.is_(True)))


# --- the storefront --------------------------------------------------------------------------

def list_categories(session: Session) -> list[CategoryView]:
    """Every category by name, with its number of active products."""
    counts = (
        select(Category.slug, Category.name, func.count(Product.id))
        .join(Product, (Product.category_id == Category.id) & Product.active, isouter=True)
        .group_by(Category.id)
        .order_by(Category.name)
    )
    return [CategoryView(slug, name, n) for slug, name, n in session.execute(counts)]


def list_products(
    session: Session, category_slug: str | None = None, limit: int = 48
) -> list[ProductView]:
    """Active products by name, in one category (:class:`CatalogueNotFound` if unknown) or all."""
    stmt = _active_products().order_by(Product.name, Product.id).limit(limit)
    if category_slug is not None:
        exists = select(Category.id).where(Category.slug == category_slug)
        if session.execute(exists).first() is None:
            raise CatalogueNotFound(f"category {category_slug!r}")
        stmt = stmt.where(Category.slug == category_slug)
    return [_view(p) for p in session.execute(stmt).scalars()]


def get_product(session: Session, slug: str) -> ProductView:
    """The active product with this slug, with its attributes, or :class:`CatalogueNotFound`."""
    stmt = (_active_products().where(Product.slug == slug)
            .options(selectinload(Product.attributes)))
    product = session.execute(stmt).scalars().first()
    if product is None:
        raise CatalogueNotFound(f"product {slug!r}")
    return _view(product, product.attributes)


# --- the chat --------------------------------------------------------------------------------

def search_products(session: Session, words: Sequence[str], limit: int = 3) -> list[ProductView]:
    """Active products whose name, type or brand contains every word (case-insensitive), those
    in stock first, then by name."""
    stmt = _active_products()
    for word in words:
        pattern = f"%{word.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Product.name).like(pattern),
                func.lower(Product.product_type).like(pattern),
                func.lower(Product.brand).like(pattern),
            )
        )
    stmt = stmt.order_by((Product.stock > 0).desc(), Product.name).limit(limit)
    return [_view(p) for p in session.execute(stmt).scalars()]


def _attributes(session: Session, ids: Sequence[int]) -> dict[int, dict[str, set[str]]]:
    """Product id -> attribute name -> values (lower case)."""
    attrs: dict[int, dict[str, set[str]]] = {}
    for start in range(0, len(ids), 500):
        for attr in session.execute(select(ProductAttribute).where(
                ProductAttribute.product_id.in_(ids[start:start + 500]))).scalars():
            attrs.setdefault(attr.product_id, {}).setdefault(attr.name, set()).add(
                attr.value.lower())
    return attrs


def _candidates(session: Session, products: Sequence[Product]) -> list[fit.Candidate]:
    attrs = _attributes(session, [p.id for p in products])
    return [fit.Candidate.of(
        id=p.id, category=p.category.slug, product_type=p.product_type, name=p.name,
        brand=p.brand, price=p.price, stock=p.stock,
        colours=attrs.get(p.id, {}).get("colour", ()), sizes=attrs.get(p.id, {}).get("size", ()),
        card=card(_view(p))) for p in products]


def need_candidates(session: Session, need: dict, vocab: ProductTypes) -> list[fit.Candidate]:
    """The active products of the need's kind (:func:`bot.store.fit.is_kind`; any stock, price,
    size or colour), cheapest first. The query narrows by category, type or name and brand; the
    kind test itself is :mod:`bot.store.fit`'s."""
    kind = fit.kind_of(need, vocab.product_types)
    query = _active_products()
    if kind.category:
        query = query.where(Category.slug == kind.category)
    if kind.stem and kind.stem.isascii():  # SQL's lower() only folds ASCII
        ptype, name = func.lower(Product.product_type), func.lower(Product.name)
        query = query.where(or_(ptype == kind.ptype, ptype.contains(kind.stem, autoescape=True),
                                name.contains(kind.stem, autoescape=True)))
    if kind.brand and kind.brand.isascii():
        query = query.where(func.lower(Product.brand) == kind.brand)
    products = session.execute(query.order_by(Product.price, Product.id)).scalars().all()
    return [c for c in _candidates(session, products) if fit.is_kind(c, kind)]


@dataclass(frozen=True)
class NeedMatch:
    """A need's status against the catalogue now, with the cards of what fits."""

    status: str  # "matched" or "unmet:<reason>" (bot.store.fit)
    cards: tuple[dict, ...] = ()
    missing: str = ""  # size_or_colour: "size", "colour" or "size and colour"

    @property
    def product_ids(self) -> list[int]:
        return [c["id"] for c in self.cards]


def _need_match(assessment: fit.Assessment) -> NeedMatch:
    return NeedMatch(assessment.status, tuple(c.card for c in assessment.fitting),
                     assessment.missing)


def assess_need(session: Session, need: dict, vocab: ProductTypes,
                limit: int = 3) -> NeedMatch:
    """The need's status (:func:`bot.store.fit.assess`) and up to ``limit`` cards of the
    active, in-stock products that fit it, cheapest first."""
    return _need_match(fit.assess(need, need_candidates(session, need, vocab),
                                  vocab.product_types, limit))


def match_products(session: Session, need: dict, vocab: ProductTypes,
                   limit: int = 3) -> list[dict]:
    """Cards of the active, in-stock products meeting a need (``bot.needs`` NEED keys), cheapest
    first: its kind (category, product type or head word, brand), colour, size (products
    without sizes pass) and price range (:mod:`bot.store.fit`)."""
    return list(assess_need(session, need, vocab, limit).cards)


class CatalogueSnapshot:
    """Every active product read once, for assessing many needs without a query each
    (``needs import``, the demo history). Same answers as :func:`assess_need` while the
    catalogue does not change."""

    def __init__(self, candidates: Sequence[fit.Candidate]):
        self.candidates = tuple(candidates)
        by_category: dict[str, list[fit.Candidate]] = {}
        for candidate in self.candidates:
            by_category.setdefault(candidate.category, []).append(candidate)
        self._by_category = {k: tuple(v) for k, v in by_category.items()}

    @classmethod
    def load(cls, session: Session) -> "CatalogueSnapshot":
        products = session.execute(_active_products().order_by(Product.price, Product.id)
                                   ).scalars().all()
        return cls(_candidates(session, products))

    def assess(self, need: dict, vocab: ProductTypes, limit: int = 3) -> NeedMatch:
        category = need.get("category")
        pool = self._by_category.get(category, ()) if category else self.candidates
        return _need_match(fit.assess(need, pool, vocab.product_types, limit))
