"""Catalogue reads for the storefront pages. Each function takes the session first and returns
plain dataclasses, so templates never touch a closed session."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.store.models import Category, Customer, Product


class NotFound(Exception):
    """No such category, product or customer."""


@dataclass(frozen=True)
class CategoryView:
    slug: str
    name: str
    product_count: int


@dataclass(frozen=True)
class ProductView:
    id: int
    slug: str
    name: str
    brand: str
    price: Decimal
    currency: str
    stock: int
    category_slug: str
    category_name: str
    description: str
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CustomerView:
    id: int
    first_name: str
    last_name: str
    email: str


def _product_view(p: Product, with_attributes: bool = False) -> ProductView:
    attrs = tuple(sorted((a.name, a.value) for a in p.attributes)) if with_attributes else ()
    return ProductView(
        id=p.id, slug=p.slug, name=p.name, brand=p.brand, price=p.price, currency=p.currency,
        stock=p.stock, category_slug=p.category.slug, category_name=p.category.name,
        description=p.description or "", attributes=attrs,
    )


def list_categories(session: Session) -> list[CategoryView]:
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
    stmt = (
        select(Product)
        .join(Category)
        .where(Product.active.is_(True))
        .options(selectinload(Product.category))
        .order_by(Product.name, Product.id)
        .limit(limit)
    )
    if category_slug is not None:
        exists = select(Category.id).where(Category.slug == category_slug)
        if session.execute(exists).first() is None:
            raise NotFound(f"category {category_slug!r}")
        stmt = stmt.where(Category.slug == category_slug)
    return [_product_view(p) for p in session.execute(stmt).scalars()]


def get_product(session: Session, slug: str) -> ProductView:
    stmt = (
        select(Product)
        .where(Product.slug == slug, Product.active.is_(True))
        .options(selectinload(Product.category), selectinload(Product.attributes))
    )
    product = session.execute(stmt).scalars().first()
    if product is None:
        raise NotFound(f"product {slug!r}")
    return _product_view(product, with_attributes=True)


def list_customers(session: Session, limit: int = 10) -> list[CustomerView]:
    stmt = select(Customer).order_by(Customer.id).limit(limit)
    return [CustomerView(c.id, c.first_name, c.last_name, c.email)
            for c in session.execute(stmt).scalars()]


def get_customer(session: Session, customer_id: int) -> CustomerView:
    c = session.get(Customer, customer_id)
    if c is None:
        raise NotFound(f"customer {customer_id}")
    return CustomerView(c.id, c.first_name, c.last_name, c.email)

