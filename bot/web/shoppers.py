"""The demo customers behind the storefront's "signed in as" switcher (not catalogue data: the
catalogue is :mod:`bot.store.catalogue`)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store import queries
from bot.store.errors import ShopError
from bot.store.models import Customer


class CustomerNotFound(ShopError):
    """No customer has this id."""


@dataclass(frozen=True)
class CustomerView:
    id: int
    first_name: str
    last_name: str
    email: str


def _view(c: Customer) -> CustomerView:
    return CustomerView(c.id, c.first_name, c.last_name, c.email)


def list_customers(session: Session, limit: int = 10) -> list[CustomerView]:
    """The first ``limit`` customers by id: the switcher's choices (erased ones are gone)."""
    stmt = select(Customer).where(Customer.erased_at.is_(None)).order_by(Customer.id).limit(limit)
    return [_view(c) for c in session.execute(stmt).scalars()]


def get_customer(session: Session, customer_id: int) -> CustomerView:
    customer = queries.get_customer(session, customer_id)
    if customer is None or customer.erased_at is not None:  # an erased account signs in no more
        raise CustomerNotFound(f"customer {customer_id}")
    return _view(customer)
