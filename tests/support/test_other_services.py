from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.identity import VERIFIED_KEY, customer_from_metadata, sign
from bot.store.db import session_scope
from bot.store.errors import InvalidInput, StoreUnavailable
from bot.store.models import Customer, Escalation, Feedback, NewsletterSubscription, OutgoingMail
from bot.support import accounts, escalations, feedback, orders, payments, shop_info
from bot.support.access import Requester


def test_delivery_options_from_db(services):
    options = {o.code: o for o in shop_info.delivery_options(services)}
    assert set(options) == {"standard", "express", "next_day", "click_collect"}
    assert (options["standard"].price, options["standard"].free_over) == (Decimal("3.95"),
                                                                         Decimal("50.00"))
    assert (options["express"].min_days, options["express"].max_days) == (1, 2)


@pytest.mark.parametrize("query,expected", [
    ("hiking boots", ["Fellrunner Waterproof Hiking Boot"]),
    ("do you have any parkas", ["Northvale Insulated Parka"]),
    ("casserole dish", ["Copperfield Cast Iron Casserole Dish"]),
    ("waterproof boots", ["Fellrunner Waterproof Hiking Boot"]),
    ("a kettle", []),
    ("'; DROP TABLE products; --", []),
    ("%", []),
])
def test_product_search(services, query, expected):
    assert [p.name for p in shop_info.search_products(services, query)] == expected


def test_product_stock_flags(services):
    dish = shop_info.search_products(services, "casserole")[0]
    assert not dish.in_stock and dish.price == Decimal("64.00")
    assert shop_info.search_products(services, "boot")[0].in_stock


def test_escalation_created_once_per_conversation(services):
    first = escalations.escalate(services, "conv-1", None, "fallback", ["hello", "asdf qwer"])
    again = escalations.escalate(services, "conv-1", 1, "human_request", ["a person please"])
    other = escalations.escalate(services, "conv-2", None, "complaint", ["awful"])
    assert not first.reused and again.reused and first.reference == again.reference
    assert other.reference != first.reference and first.response_hours == 4
    with session_scope(services.engine) as s:
        rows = s.execute(select(Escalation).order_by(Escalation.id)).scalars().all()
        assert [(r.conversation_id, r.reason, r.status) for r in rows] == [
            ("conv-1", "fallback", "open"), ("conv-2", "complaint", "open")]
        assert rows[0].customer_id == 1
        assert "- hello\n- asdf qwer" in rows[0].summary and "a person please" in rows[0].summary


def test_escalation_summary_is_short():
    summary = escalations.summarise(["x" * 5000] * 10 + ["", "   "])
    assert summary.count("\n") == 4 and len(summary) < 1100


def test_feedback_stored_with_rating(services):
    receipt = feedback.record(services, "conv-1", None, "review", "Lovely boots, 5 stars <b>!</b>")
    assert receipt.rating == 5
    with pytest.raises(InvalidInput):
        feedback.record(services, "conv-1", None, "feedback", "🙂🙂")
    with session_scope(services.engine) as s:
        row = s.execute(select(Feedback)).scalar_one()
        assert (row.kind, row.text, row.rating) == ("review", "Lovely boots, 5 stars <b>!</b>", 5)


def test_newsletter_request_is_pending_until_confirmed(services):
    accounts.request_newsletter(services, "New@Example.com", None)
    accounts.request_newsletter(services, None, 2)  # Ben, signed in: his account email
    with pytest.raises(InvalidInput):
        accounts.request_newsletter(services, "not an email", None)
    accounts.unsubscribe_newsletter(services, "nobody@example.com", None)
    with session_scope(services.engine) as s:
        subs = {r.email: (r.status, r.customer_id)
                for r in s.execute(select(NewsletterSubscription)).scalars()}
        assert subs == {"new@example.com": ("pending", None), "ben@example.com": ("pending", 2)}
        assert s.get(Customer, 2).marketing_opt_in is False  # not before the link is followed
        assert s.execute(select(func.count()).select_from(OutgoingMail)).scalar() == 2


def test_confirmation_tokens_are_bound_to_the_address_and_expiry():
    token = accounts.confirmation_token("s", 7, "jo@example.com", 2_000_000_000)
    assert token.startswith("7.2000000000.")
    assert token != accounts.confirmation_token("s", 7, "al@example.com", 2_000_000_000)
    assert token != accounts.confirmation_token("other", 7, "jo@example.com", 2_000_000_000)
    assert accounts.email_hint("jo.bloggs@example.com") == "j***@example.com"


def test_feedback_and_escalation_summaries_are_redacted(services):
    said = ("the parcel never came, email me at jo.bloggs@example.com or call 07700 900123, "
            "I paid with 4111 1111 1111 1111 and live at 12 Acacia Avenue, SW1A 1AA")
    feedback.record(services, "conv-9", None, "complaint", said)
    escalations.escalate(services, "conv-9", None, "complaint", [said, "thanks"])
    with session_scope(services.engine) as s:
        stored = [s.execute(select(Feedback.text)).scalar_one(),
                  s.execute(select(Escalation.summary)).scalar_one()]
    for text in stored:
        for secret in ("jo.bloggs@example.com", "07700 900123", "4111 1111 1111 1111",
                       "Acacia", "SW1A"):
            assert secret not in text
        assert "[email]" in text and "[phone]" in text and "[card]" in text
        assert "the parcel never came" in text


def test_payments_check(services):
    assert payments.check_payments(services, 1).problems == []
    assert payments.check_payments(services, 2).problems == []


def test_customer_from_metadata_reads_only_the_channel_verified_id():
    assert customer_from_metadata({VERIFIED_KEY: 7}) == 7
    # the token is the channel's to verify; here even a valid one means nothing
    assert customer_from_metadata({"customer_token": sign(7, "s", session="c")}) is None
    for value in ("7", 7.0, True, 0, -1, None, [7]):
        assert customer_from_metadata({VERIFIED_KEY: value}) is None
    assert customer_from_metadata({"customer_id": 7}) is None
    assert customer_from_metadata(None) is None
    assert customer_from_metadata("junk") is None


def test_database_down_raises_store_unavailable(db_down):
    with pytest.raises(StoreUnavailable):
        orders.order_status(db_down, "SH-100003", Requester(customer_id=1))
    with pytest.raises(StoreUnavailable):
        shop_info.delivery_options(db_down)


def test_payments_check_finds_failed_and_duplicate_payments(services):
    from datetime import datetime

    from bot.store.models import Order, Payment

    with session_scope(services.engine) as s:
        by_number = {o.number: o for o in s.execute(select(Order)).scalars()}
        dup = by_number["SH-100004"]
        s.add(Payment(order_id=dup.id, method="card", amount=dup.total, status="captured",
                      card_last4="4242", created_at=datetime(2026, 6, 3)))
        placed = by_number["SH-100001"]
        s.add(Payment(order_id=placed.id, method="card", amount=placed.total, status="failed",
                      card_last4="4242", created_at=datetime(2026, 6, 15)))
        for p in placed.payments:
            if p.status == "authorised":
                p.status = "failed"
    found = {(p.order_number, p.kind) for p in payments.check_payments(services, 1).problems}
    assert found == {("SH-100004", "charged_twice"), ("SH-100001", "failed")}
