"""Wording of the dynamic replies (built from service results, never from raw user text)."""
from __future__ import annotations

from types import MappingProxyType

from datetime import date, datetime
from decimal import Decimal

from bot.support.orders import OrderView
from bot.store.catalogue import ProductView
from bot.support.shop_info import DeliveryOptionView

_SYMBOLS = MappingProxyType({"GBP": "£", "EUR": "€", "USD": "$"})
STATUS_WORDS = MappingProxyType({
    "placed": "has been placed and is waiting for payment to clear",
    "paid": "is paid and being packed in our warehouse",
    "shipped": "is on its way",
    "delivered": "was delivered",
    "cancelled": "was cancelled",
    "returned": "was returned to us",
})
SHIPMENT_WORDS = MappingProxyType({
    "label_created": "the carrier has the label but hasn't collected it yet",
    "in_transit": "in transit",
    "out_for_delivery": "out for delivery today",
    "delivered": "delivered",
    "exception": "held up by the carrier",
})
REFUND_WORDS = MappingProxyType({
    "pending": "has been requested and is waiting to be processed",
    "processing": "is being processed",
    "completed": "has been paid back",
    "rejected": "was declined",
})


def money(amount: Decimal, currency: str = "GBP") -> str:
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency}"


def day(value: date | datetime) -> str:
    return f"{value:%A} {value.day} {value:%B}"


def days(min_days: int, max_days: int) -> str:
    if min_days == max_days:
        return f"{min_days} working day" + ("s" if min_days != 1 else "")
    return f"{min_days}-{max_days} working days"


def order_status(view: OrderView) -> str:
    text = f"Order {view.number} {STATUS_WORDS.get(view.status, 'is ' + view.status)}"
    if view.status == "delivered" and view.delivered_at:
        text += f" on {day(view.delivered_at)}"
    text += "."
    if view.status == "shipped" and view.shipment:
        s = view.shipment
        text += (f" It's with {s.carrier} ({SHIPMENT_WORDS.get(s.status, s.status)}), "
                 f"tracking number {s.tracking_number}")
        text += f", expected {day(s.eta)}." if s.eta else "."
    elif view.status in ("placed", "paid"):
        text += f" It'll go out by {view.delivery_option or 'your chosen delivery option'}."
    if view.items:
        text += " Items: " + ", ".join(view.items) + "."
    return text


def delivery_options(options: list[DeliveryOptionView], about_time: bool) -> str:
    if not options:
        return "I can't see any delivery options right now - please check the delivery page."
    lines = []
    for o in options:
        price = "free" if o.price == 0 else money(o.price)
        if o.free_over is not None and o.price > 0:
            price += f" (free on orders over {money(o.free_over)})"
        if about_time:
            lines.append(f"- {o.name}: {days(o.min_days, o.max_days)}, {price}")
        else:
            lines.append(f"- {o.name}: {price}, {days(o.min_days, o.max_days)}")
    head = ("Here's how long delivery takes:" if about_time
            else "These are our delivery options and costs:")
    text = head + "\n" + "\n".join(lines)
    if about_time:
        text += "\n" + ALREADY_ORDERED
    return text


# "When will my order arrive?" reads as delivery times in general or as one order's status; the
# delivery-times answer also offers the order's (with TRACK_ORDER_BUTTON).
ALREADY_ORDERED = "Already ordered? I can check where your order is."


def products(found: list[ProductView]) -> str:
    lines = []
    for p in found:
        stock = "in stock" if p.in_stock else "out of stock at the moment"
        lines.append(f"- {p.name}: {money(p.price, p.currency)}, {stock}")
    return "Here's what I found:\n" + "\n".join(lines)


# Fixed messages sent by actions (not domain responses: the validator wants every response
# used in a story or rule, and these are only ever sent from code).
ASK_ORDER_NUMBER = (
    "What's the order number? It's in your confirmation email and looks like SH-123456."
)
ASK_ORDER_EMAIL = (
    "Thanks. To keep your order private, what's the email address the order was placed "
    'with?'
)
ASK_NEW_ADDRESS = (
    "What's the new delivery address? Please type it on one line, with house number, "
    'street, town and postcode.'
)
ASK_FEEDBACK_TEXT = (
    "We'd love to hear it - what would you like to tell us? You can add a rating like 4/5."
)
ASK_NEWSLETTER_EMAIL = (
    'Which email address should I use for the newsletter?'
)
INVALID_ORDER_NUMBER = (
    "Hmm, that doesn't look like one of our order numbers. They start with SH- followed by "
    "six digits, like SH-123456 - you'll find it in your confirmation email."
)
INVALID_EMAIL = (
    "That doesn't look like an email address - could you check it? It should look like "
    'name@example.com.'
)
ORDER_NOT_FOUND = (
    "Sorry, I couldn't find an order with that number and email address. Please check both "
    "against your confirmation email and try again, or say 'stop' to do something else."
)
ORDER_NOT_FOUND_ON_ACCOUNT = (
    "Sorry, I can't find an order with that number on your account. Please check the "
    "number in your confirmation email, or say 'stop' to do something else."
)
INVALID_ADDRESS = (
    'Sorry, I need a full address on one line, with the house number and postcode (for '
    'example: 12 High Street, Leeds, LS1 4AB).'
)
INVALID_FEEDBACK = (
    "Sorry, I didn't catch any words there - what would you like to tell us?"
)
FORM_STOPPED = (
    "No problem, I've stopped there. Is there anything else I can help with?"
)
NOTHING_PENDING_AFFIRM = (
    'Great! What can I help you with?'
)
NOTHING_PENDING_DENY = (
    'OK. Is there anything else I can help with?'
)
STORE_UNAVAILABLE = (
    "Sorry, I can't reach our order system right now. Please try again in a few minutes - "
    'or ask for a person and our team will get back to you.'
)
SOMETHING_WENT_WRONG = (
    'Sorry, something went wrong on my side. Please try again, or ask for a person.'
)
# The chat's open escalation belongs to a customer this turn is not signed in as (never says
# whose, nor its reference).
ESCALATION_NOT_ADDED = (
    "Sorry, I couldn't pass this on to our support team from this chat. If you're signed in, "
    'please reload the page and ask again.'
)
ASK_PRODUCT = (
    'Happy to check - which product are you looking for?'
)
PRODUCT_NOT_FOUND = (
    "I couldn't find that in our catalogue, sorry. Try another name for it, or browse the "
    "categories on our website."
)
CLOSEST_ALTERNATIVES = "These are the closest we have:"
BACK_IN_STOCK_OFFER = (
    "Would you like me to let you know when something that fits is in stock?"
)
BACK_IN_STOCK_SIGN_IN = (
    "If you sign in and ask again, I can let you know when something that fits is in stock."
)
BACK_IN_STOCK_RECORDED = (
    "Done - once something that fits is in stock, I'll tell you here in the chat and by email."
)
BACK_IN_STOCK_NOT_RECORDED = (
    "Sorry, I couldn't save that request just now - please ask me again in a few minutes."
)


def need_queued(need: dict) -> str:
    thing = need.get("product") or "what you're looking for"
    return (f"Sorry, I can't check our catalogue right now. I've noted that you're looking for "
            f"{thing} - please ask me again in a few minutes.")


def need_not_understood(thing: str) -> str:
    return (f"Sorry, I didn't catch that. Tell me more about the {thing} you're looking for "
            "(size, colour, budget), or what else I can help with.")
DELETE_ACCOUNT_SIGN_IN = (
    "To close your account and erase your data, please sign in first and ask me again here, "
    "so I know it's really you. Or email help@example-shop.co.uk from the address on the "
    'account.'
)
EXPORT_DATA_SIGN_IN = (
    "To get a copy of your data, please sign in first and ask me again here, so I know it's "
    'really you.'
)
ERASE_QUESTION = (
    'I can close your account and erase your data: our conversations, your saved addresses, '
    'reviews, complaints, product requests and newsletter subscription. Your orders are kept '
    "only as long as the law requires, without your name, email or address. This can't be "
    'undone. Shall I go ahead?'
)
EXPORT_QUESTION = (
    'I can give you a copy of everything we hold about you - your account, orders, our '
    'conversations, product requests, reviews and subscriptions - as a JSON file. Shall I '
    'prepare it?'
)
ERASE_KEPT = "OK, I haven't erased anything. Is there anything else I can help with?"
EXPORT_KEPT = "OK, no copy. Is there anything else I can help with?"
NEWSLETTER_CHECK_INBOX = (
    "If that address isn't on our list yet, we've sent it a link to confirm - the "
    'subscription starts once you click it. Nothing arrived? Check your spam folder.'
)
NEWSLETTER_UNSUBSCRIBED = "Done - that address won't get our newsletter any more."


def erased(reference: str) -> str:
    return (f"Done - your account is closed and your data erased (reference {reference}). "
            'This conversation is removed from our chat records a few minutes after it ends. '
            'Your orders are kept only as the law requires, anonymised.')


def export_ready(url: str) -> str:
    return (f"Here's your copy: [download your data]({url}). The link works in this browser "
            'while you are signed in to the shop.')
PAYMENT_ISSUE_GENERAL = (
    'If a card payment is declined, check the card details and billing address match your '
    "bank's records, or try PayPal or another card. Pending charges from failed attempts "
    'drop off your statement within a few days. If you were charged twice, ask for a '
    "person and we'll refund the extra payment."
)
ASK_REPHRASE = (
    "Sorry, I didn't quite understand. Could you say it another way?"
)
