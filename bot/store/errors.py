"""Domain errors raised by the store and the support services.

Callers catch these instead of checking for ``None``. None of them carries text meant for a
shopper: actions turn the error type (and ``NotAllowed.reason``) into a response.
"""
from __future__ import annotations


class ShopError(Exception):
    """Base class of every domain error."""


class StoreUnavailable(ShopError):
    """The shop database could not be reached or failed (connection, lock, driver error)."""


class OrderNotFound(ShopError):
    """No order the requester may see has this number.

    Raised alike for an unknown number, someone else's order and a wrong email, so a wrong guess
    never tells whether an order exists.
    """


class NotAllowed(ShopError):
    """The request is understood and the requester may see the order, but policy says no.

    ``reason`` is a short code (``already_shipped``, ``return_window_expired``...) and
    ``details`` carries facts the reply may mention (status, dates, amounts).
    """

    def __init__(self, reason: str, **details: object):
        super().__init__(reason)
        self.reason = reason
        self.details = details


class NotSignedIn(ShopError):
    """The request needs a verified shopper (a valid customer token)."""


class InvalidInput(ShopError):
    """A value given by the shopper failed validation (``field`` names which one)."""

    def __init__(self, field: str, message: str = ""):
        super().__init__(message or field)
        self.field = field
