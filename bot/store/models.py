"""Shop database models (SQLAlchemy 1.4 declarative).

Timestamps are naive UTC. Money is ``Numeric(10, 2)`` in the order's/product's currency.
Status columns are short strings; the allowed values are the tuples below.
"""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()

ORDER_STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled", "returned")
SHIPMENT_STATUSES = ("label_created", "in_transit", "out_for_delivery", "delivered", "exception")
PAYMENT_STATUSES = ("authorised", "captured", "failed", "refunded")
RETURN_STATUSES = ("requested", "received", "refunded", "rejected")
REFUND_STATUSES = ("pending", "processing", "completed", "rejected")
EVENT_TYPES = ("view", "cart", "purchase")
ESCALATION_REASONS = ("fallback", "human_request", "complaint")
# open -> claimed (by one agent) -> resolved; a resolved one can be reopened (-> open).
ESCALATION_STATUSES = ("open", "claimed", "resolved")
ESCALATION_OUTCOMES = ("solved", "refunded", "replaced", "not_solvable", "spam")
# What an agent message is: typed text, or a line the console writes for the agent.
AGENT_MESSAGE_KINDS = ("text", "joined", "handed_back", "resolved")
# A message from the shop itself in the same table (no agent, no escalation), delivered the same
# way: e.g. "something that fits what you asked for is in stock now" (bot.needs.back_in_stock).
NOTICE_KIND = "notice"
# intent: "this message's intent is X"; need: "this is a product need" (fields as JSON);
# correct: the bot understood it (the message leaves the review inbox).
CORRECTION_KINDS = ("intent", "need", "correct")
CORRECTION_STATUSES = ("pending", "approved", "rejected")
FEEDBACK_KINDS = ("review", "feedback", "complaint")
# pending: asked, confirmation link sent, not yet clicked (never mailed to before that).
NEWSLETTER_STATUSES = ("pending", "subscribed", "unsubscribed")
ERASURE_STATUSES = ("pending", "done")


class Customer(Base):
    __tablename__ = "customers"
    id = Column(Integer, primary_key=True)
    email = Column(String(254), nullable=False, unique=True, index=True)
    first_name = Column(String(80), nullable=False)
    last_name = Column(String(80), nullable=False)
    phone = Column(String(40))
    created_at = Column(DateTime, nullable=False)
    marketing_opt_in = Column(Boolean, nullable=False, default=False)
    # Set when the customer's data was erased (the row stays, anonymised, for the kept orders).
    erased_at = Column(DateTime)

    addresses = relationship("Address", back_populates="customer")
    orders = relationship("Order", back_populates="customer")


class Address(Base):
    __tablename__ = "addresses"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    line1 = Column(String(200), nullable=False)
    line2 = Column(String(200))
    city = Column(String(100), nullable=False)
    postcode = Column(String(20), nullable=False)
    country = Column(String(2), nullable=False, default="GB")
    is_default = Column(Boolean, nullable=False, default=False)

    customer = relationship("Customer", back_populates="addresses")


class Category(Base):
    __tablename__ = "categories"
    id = Column(Integer, primary_key=True)
    slug = Column(String(80), nullable=False, unique=True)
    name = Column(String(120), nullable=False)
    parent_id = Column(Integer, ForeignKey("categories.id"))

    products = relationship("Product", back_populates="category")


class Product(Base):
    __tablename__ = "products"
    id = Column(Integer, primary_key=True)
    sku = Column(String(40), nullable=False, unique=True)
    name = Column(String(200), nullable=False)
    slug = Column(String(220), nullable=False, unique=True)
    category_id = Column(Integer, ForeignKey("categories.id"), nullable=False, index=True)
    product_type = Column(String(80), nullable=False)  # "hiking boot", "scarf": singular lemma
    brand = Column(String(80), nullable=False, index=True)
    price = Column(Numeric(10, 2), nullable=False)
    currency = Column(String(3), nullable=False, default="GBP")
    stock = Column(Integer, nullable=False, default=0)
    description = Column(Text, nullable=False, default="")
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False)
    # http(s) URL or a path on the storefront (demo data: /images/products/<slug>.svg); null: none
    image_url = Column(String(500))

    category = relationship("Category", back_populates="products")
    attributes = relationship("ProductAttribute", back_populates="product")


class ProductAttribute(Base):
    """One attribute value of a product: name in colour/size/material/feature/style..."""

    __tablename__ = "product_attributes"
    __table_args__ = (Index("ix_product_attributes_name_value", "name", "value"),)
    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False, index=True)
    name = Column(String(40), nullable=False)
    value = Column(String(80), nullable=False)

    product = relationship("Product", back_populates="attributes")


class DeliveryOption(Base):
    __tablename__ = "delivery_options"
    id = Column(Integer, primary_key=True)
    code = Column(String(30), nullable=False, unique=True)
    name = Column(String(80), nullable=False)
    price = Column(Numeric(10, 2), nullable=False)
    free_over = Column(Numeric(10, 2))  # orders at or above this subtotal ship free
    min_days = Column(Integer, nullable=False)
    max_days = Column(Integer, nullable=False)
    description = Column(Text, nullable=False, default="")


class Order(Base):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)
    number = Column(String(20), nullable=False, unique=True)  # "SH-100001"
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    email = Column(String(254), nullable=False)  # the order's contact email, used to verify
    status = Column(String(20), nullable=False, index=True)
    placed_at = Column(DateTime, nullable=False, index=True)
    updated_at = Column(DateTime, nullable=False)
    currency = Column(String(3), nullable=False, default="GBP")
    subtotal = Column(Numeric(10, 2), nullable=False)
    shipping_cost = Column(Numeric(10, 2), nullable=False)
    total = Column(Numeric(10, 2), nullable=False)
    delivery_option_id = Column(Integer, ForeignKey("delivery_options.id"), nullable=False)
    shipping_address = Column(Text, nullable=False)  # snapshot at order time, one line
    cancelled_at = Column(DateTime)
    cancellation_fee = Column(Numeric(10, 2), nullable=False, default=0)

    customer = relationship("Customer", back_populates="orders")
    lines = relationship("OrderLine", back_populates="order", order_by="OrderLine.id")
    delivery_option = relationship("DeliveryOption")
    shipments = relationship("Shipment", back_populates="order", order_by="Shipment.id")
    payments = relationship("Payment", back_populates="order", order_by="Payment.id")
    invoice = relationship("Invoice", back_populates="order", uselist=False)
    returns = relationship("Return", back_populates="order", order_by="Return.id")
    refunds = relationship("Refund", back_populates="order", order_by="Refund.id")


class OrderLine(Base):
    __tablename__ = "order_lines"
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False, index=True)
    quantity = Column(Integer, nullable=False)
    unit_price = Column(Numeric(10, 2), nullable=False)

    order = relationship("Order", back_populates="lines")
    product = relationship("Product")


class Shipment(Base):
    __tablename__ = "shipments"
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    carrier = Column(String(60), nullable=False)
    tracking_number = Column(String(60), nullable=False)
    status = Column(String(20), nullable=False)
    shipped_at = Column(DateTime, nullable=False)
    eta = Column(Date)
    delivered_at = Column(DateTime)

    order = relationship("Order", back_populates="shipments")


class Payment(Base):
    __tablename__ = "payments"
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    method = Column(String(20), nullable=False)  # card, paypal, apple_pay, klarna, gift_card
    amount = Column(Numeric(10, 2), nullable=False)
    status = Column(String(20), nullable=False)
    card_last4 = Column(String(4))
    created_at = Column(DateTime, nullable=False)

    order = relationship("Order", back_populates="payments")


class Invoice(Base):
    __tablename__ = "invoices"
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, unique=True)
    number = Column(String(30), nullable=False, unique=True)
    issued_at = Column(DateTime, nullable=False)
    amount = Column(Numeric(10, 2), nullable=False)
    currency = Column(String(3), nullable=False)

    order = relationship("Order", back_populates="invoice")


class Return(Base):
    __tablename__ = "returns"
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    status = Column(String(20), nullable=False)
    reason = Column(Text, nullable=False, default="")
    created_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)

    order = relationship("Order", back_populates="returns")


class Refund(Base):
    __tablename__ = "refunds"
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    return_id = Column(Integer, ForeignKey("returns.id"))
    amount = Column(Numeric(10, 2), nullable=False)
    status = Column(String(20), nullable=False)
    created_at = Column(DateTime, nullable=False)
    completed_at = Column(DateTime)

    order = relationship("Order", back_populates="refunds")


class Event(Base):
    """Behaviour events: product views, cart adds, purchases (one per order line)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_customer_time", "customer_id", "occurred_at"),)
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False)
    product_id = Column(Integer, ForeignKey("products.id"))
    event_type = Column(String(20), nullable=False)
    occurred_at = Column(DateTime, nullable=False, index=True)
    session_id = Column(String(40))
    quantity = Column(Integer)
    amount = Column(Numeric(10, 2))  # purchase value for purchase events


class Escalation(Base):
    """A conversation handed to the support team (``bot.support.escalations`` opens it, the staff
    console works it: ``bot.console``)."""

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_status_created", "status", "created_at"),)
    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("customers.id"))
    reason = Column(String(20), nullable=False)
    status = Column(String(20), nullable=False, default="open")  # ESCALATION_STATUSES
    summary = Column(Text, nullable=False, default="")
    channel = Column(String(20))  # the input channel the shopper wrote in (socketio, rest)
    claimed_by = Column(Integer, ForeignKey("staff.id", name="fk_escalations_claimed_by"))
    claimed_at = Column(DateTime)
    first_reply_at = Column(DateTime)  # the first agent message the shopper got
    resolved_at = Column(DateTime)
    resolved_by = Column(Integer, ForeignKey("staff.id", name="fk_escalations_resolved_by"))
    outcome = Column(String(20))  # ESCALATION_OUTCOMES
    rating = Column(Integer)  # the shopper's 1-5 satisfaction after it was resolved
    rated_at = Column(DateTime)
    paused = Column(Boolean, nullable=False, default=False)  # an agent took the chat over
    last_message = Column(Text, nullable=False, default="")  # redacted, for the queue
    # The signed-in shopper's purchase propensity when the escalation opened (the action server
    # has the model loaded; the console does not load TensorFlow): band, score, top reasons.
    propensity_band = Column(String(10))
    propensity_score = Column(Float)
    propensity_reasons = Column(Text)  # JSON list of plain-words reasons
    created_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False, index=True)


class Feedback(Base):
    __tablename__ = "feedback"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("customers.id"))
    kind = Column(String(20), nullable=False)
    text = Column(Text, nullable=False)
    rating = Column(Integer)
    created_at = Column(DateTime, nullable=False)


class NewsletterSubscription(Base):
    __tablename__ = "newsletter_subscriptions"
    __table_args__ = (UniqueConstraint("email", name="uq_newsletter_email"),)
    id = Column(Integer, primary_key=True)
    email = Column(String(254), nullable=False)
    customer_id = Column(Integer, ForeignKey("customers.id"))
    status = Column(String(20), nullable=False, default="subscribed")
    created_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)
    confirmation_sent_at = Column(DateTime)  # the latest confirmation link's time
    confirmed_at = Column(DateTime)  # the link was followed: the address is really subscribed


class ErasureRequest(Base):
    """A customer's data erasure: the shop data is erased when it is made; the conversations in
    Rasa's tracker store once they have been quiet a while (``bot.privacy.erasure``). Holds no
    personal data: the (anonymised) customer's id and the ids of the conversations to erase,
    cleared when done."""

    __tablename__ = "erasure_requests"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    status = Column(String(20), nullable=False, default="pending", index=True)
    conversation_ids = Column(Text, nullable=False, default="[]")  # JSON list of sender ids
    requested_by = Column(String(120), nullable=False)  # "customer:<id>", "staff:<name>"
    requested_at = Column(DateTime, nullable=False)
    completed_at = Column(DateTime)
    detail = Column(Text, nullable=False, default="{}")  # JSON counts of what was erased


class OutgoingMail(Base):
    """Mail waiting to be sent by the worker (``bot.mail``); deleted once sent, so the table
    never keeps an address longer than it takes to deliver."""

    __tablename__ = "mail_outbox"
    id = Column(Integer, primary_key=True)
    to_addr = Column(String(254), nullable=False, index=True)
    subject = Column(String(255), nullable=False)
    body = Column(Text, nullable=False)
    html = Column(Text)  # an HTML alternative to ``body`` (null: plain text only)
    created_at = Column(DateTime, nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, index=True)
    last_error = Column(String(255))


class InsightsDigest(Base):
    """One weekly insights digest queued for one staff member (:mod:`bot.insights.digest`).
    ``week`` is the ISO week of the digest's ``as_of`` date (``2026-W05``); the unique pair makes
    a second attempt for the same week and person (a restart, a second worker) a no-op."""

    __tablename__ = "insights_digests"
    __table_args__ = (UniqueConstraint("week", "staff_id", name="uq_insights_digests_week_staff"),)
    id = Column(Integer, primary_key=True)
    week = Column(String(8), nullable=False)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False)
    as_of = Column(Date, nullable=False)
    queued_at = Column(DateTime, nullable=False)


class AccountRequest(Base):
    """Requests the bot records for staff to complete, e.g. deleting an account."""

    __tablename__ = "account_requests"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    kind = Column(String(20), nullable=False)  # "delete"
    status = Column(String(20), nullable=False, default="open")
    conversation_id = Column(String(255))
    created_at = Column(DateTime, nullable=False)


# The status of a need as it stood when the shopper asked (never rewritten by what happened later;
# a later purchase sets ``converted_*`` instead). ``pending`` waits for the shopper's answer and is
# never counted as unmet until the conversation ends without one.
NEED_UNMET_REASONS = ("not_stocked", "out_of_stock", "over_budget", "size_or_colour")
NEED_STATUSES = ("matched", "pending") + tuple(f"unmet:{reason}" for reason in NEED_UNMET_REASONS)


class Need(Base):
    """One product need a shopper stated in a conversation (accumulated across turns).

    ``need_seq`` numbers the needs of a conversation; a later turn that refines the same need
    updates its row. ``last_message_key`` (hash of conversation + turn + text) makes a retried
    action a no-op. JSON columns are text holding JSON lists.
    """

    __tablename__ = "needs"
    __table_args__ = (
        UniqueConstraint("conversation_id", "need_seq", name="uq_needs_conversation_seq"),
        UniqueConstraint("source_id", name="uq_needs_source_id"),
        Index("ix_needs_status_created", "status", "created_at"),
        Index("ix_needs_created", "created_at"),
        Index("ix_needs_category_created", "category", "created_at"),
    )
    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    need_seq = Column(Integer, nullable=False)
    customer_id = Column(Integer, ForeignKey("customers.id"), index=True)  # null: anonymous
    turn = Column(Integer, nullable=False)
    text = Column(Text, nullable=False, default="")  # personal data redacted
    last_message_key = Column(String(64), nullable=False)
    product = Column(String(200))
    category = Column(String(80), index=True)
    attributes = Column(Text, nullable=False, default="[]")
    colour = Column(Text, nullable=False, default="[]")
    size = Column(Text, nullable=False, default="[]")
    brand = Column(String(80))
    price_min = Column(Numeric(10, 2))
    price_max = Column(Numeric(10, 2))
    currency = Column(String(3))
    quantity = Column(Integer)
    recipient = Column(String(80))
    occasion = Column(String(80))
    needed_by = Column(Date)
    confidence = Column(Numeric(4, 2), nullable=False, default=0)
    matched_product_ids = Column(Text, nullable=False, default="[]")
    status = Column(String(32), nullable=False)  # one of NEED_STATUSES
    extractor_version = Column(String(40), nullable=False)
    created_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)
    # Purchase propensity of a verified shopper when the need was captured (null: not scored).
    propensity_probability = Column(Float)
    propensity_band = Column(String(10))
    propensity_model_version = Column(String(40))
    # When the shopper asked to be told once a fitting product is in stock (null: not asked).
    back_in_stock_requested_at = Column(DateTime)
    back_in_stock_notified_at = Column(DateTime)  # when the shopper was told it arrived
    # A later purchase that fulfilled the need (kept apart from ``status``: models must not read it).
    converted_order_id = Column(Integer, ForeignKey("orders.id", name="fk_needs_converted_order"))
    converted_at = Column(DateTime)
    is_demo = Column(Boolean, nullable=False, default=False, server_default=false())
    source_id = Column(String(120))  # the line id of ``needs import`` (idempotent)


class NeedFollowCheckpoint(Base):
    """How far ``python -m bot needs follow`` read a Rasa tracker store's ``events`` table.

    ``source`` names the followed store (its URL without credentials); ``last_event_id`` is the
    id of the last event processed, so a restart neither skips nor re-logs a message.
    """

    __tablename__ = "need_follow_checkpoints"
    source = Column(String(255), primary_key=True)
    last_event_id = Column(Integer, nullable=False)
    updated_at = Column(DateTime, nullable=False)


class RateLimitHit(Base):
    """Hits per limit key in one fixed time window (:mod:`bot.limits`). Keys are hashed: the
    table never holds an email, an address or an order number in clear."""

    __tablename__ = "rate_limits"
    key = Column(String(64), primary_key=True)
    window_start = Column(Integer, primary_key=True)  # unix seconds, a multiple of the window
    hits = Column(Integer, nullable=False, default=0)
    expires_at = Column(Integer, nullable=False, index=True)  # unix seconds; rows past it are junk


AUDIT_ACTIONS = (
    "ownership_locked",  # too many failed order-ownership proofs: the order is locked a while
    "data_exported",  # a customer's data was exported (widget or staff command)
    "data_erased",  # a customer's data was erased / anonymised
    "retention_purge",  # the retention job removed old conversation events
    "erasure_completed",  # an erasure's conversations were removed from the tracker store
    "outbox_quarantine",  # corrupt needs-outbox lines were set aside
    "escalation_denied",  # a conversation tried to change another conversation's escalation
    "staff_login_locked",  # too many failed staff sign-ins: the account is locked a while
    "escalation_claimed",  # an agent claimed an escalation from the queue
    "escalation_released",  # an agent put a claimed escalation back in the queue
    "escalation_resolved",  # an agent resolved it, with an outcome
    "escalation_reopened",  # a resolved escalation was reopened
    "canned_reply_saved",  # a lead created or changed a canned reply
    "canned_reply_deleted",
    "review_decided",  # a lead approved or rejected a review correction (training data)
)


class AuditRecord(Base):
    """Something staff must be able to see happened: who (``actor``), what (``action``, one of
    :data:`AUDIT_ACTIONS`), to what (``subject``), and redacted details (JSON text)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_action_time", "action", "created_at"),)
    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, nullable=False, index=True)
    actor = Column(String(120), nullable=False)  # "bot", "staff:<email>", "customer:<id>", "job"
    action = Column(String(40), nullable=False)
    subject = Column(String(255), nullable=False, default="")
    detail = Column(Text, nullable=False, default="{}")


STAFF_ROLES = ("agent", "lead", "analyst")


class Staff(Base):
    """A support agent, team lead or analyst who signs in to the staff pages (:mod:`bot.staff`).
    ``email`` is stored lower-cased; ``password_hash`` is an argon2id hash, never the password."""

    __tablename__ = "staff"
    id = Column(Integer, primary_key=True)
    email = Column(String(254), nullable=False, unique=True)
    name = Column(String(120), nullable=False)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(20), nullable=False)  # one of STAFF_ROLES
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False)
    last_login_at = Column(DateTime, nullable=True)
    failed_logins = Column(Integer, nullable=False, default=0)  # since the last success or lock
    locked_until = Column(DateTime, nullable=True)
    # Presence: an agent taking chats (console open, "accepting" on) was seen this recently.
    accepting = Column(Boolean, nullable=False, default=False)
    last_seen_at = Column(DateTime, nullable=True)


class AgentMessage(Base):
    """What an agent says in a conversation, kept until the shopper's widget has it.

    ``delivered_at``: appended to the conversation in Rasa (and sent to the widget if it is
    connected); ``seen_at``: the widget acknowledged it; ``emailed_at``: sent by email because the
    shopper left before seeing it. Rasa down: it stays undelivered and is retried."""

    __tablename__ = "agent_messages"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id"))
    staff_id = Column(Integer, ForeignKey("staff.id"))
    kind = Column(String(20), nullable=False)  # AGENT_MESSAGE_KINDS or NOTICE_KIND
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False)
    delivered_at = Column(DateTime, index=True)
    seen_at = Column(DateTime)
    emailed_at = Column(DateTime)
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(String(255))


class ConversationNote(Base):
    """A private note staff keep on a conversation (never shown to the shopper)."""

    __tablename__ = "conversation_notes"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False)


class ConversationTag(Base):
    __tablename__ = "conversation_tags"
    __table_args__ = (UniqueConstraint("conversation_id", "tag", name="uq_conversation_tag"),)
    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False)
    tag = Column(String(40), nullable=False)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False)
    created_at = Column(DateTime, nullable=False)


class CannedReply(Base):
    """A reply agents insert with one click; leads edit them. ``{name}`` and ``{order}`` are
    filled in from the conversation."""

    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("title", name="uq_canned_reply_title"),)
    id = Column(Integer, primary_key=True)
    title = Column(String(80), nullable=False)
    body = Column(Text, nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    updated_by = Column(Integer, ForeignKey("staff.id"))
    updated_at = Column(DateTime, nullable=False)


class ReviewCorrection(Base):
    """Staff's verdict on one shopper message (a ``user`` event of the tracker store, by its
    ``event_id``): the right intent, the need it states, or "understood correctly". Leads approve
    or reject; approved ones are exported as training data (``python -m bot review export``)."""

    __tablename__ = "review_corrections"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False)
    event_id = Column(Integer, nullable=False, index=True)
    text = Column(Text, nullable=False)
    kind = Column(String(20), nullable=False)  # CORRECTION_KINDS
    predicted_intent = Column(String(100))
    confidence = Column(Float)
    corrected_intent = Column(String(100))
    need = Column(Text)  # JSON object in the gold need format, for kind "need"
    status = Column(String(20), nullable=False, default="pending", index=True)
    created_by = Column(Integer, ForeignKey("staff.id"), nullable=False)
    created_at = Column(DateTime, nullable=False)
    decided_by = Column(Integer, ForeignKey("staff.id"))
    decided_at = Column(DateTime)


# --- product insights (bot/insights) ----------------------------------------------------------

# What a need is broken down by for insights (``need_facets.field``); ``all`` is one row per need
# (its volume), ``theme`` the need's product with its attribute set (bot.insights.facets).
FACET_FIELDS = ("all", "product", "category", "attribute", "colour", "size", "brand",
                "price_band", "recipient", "occasion", "theme")


class NeedFacet(Base):
    """One value a need states for one field, normalised (lower case), with what the insights
    queries filter and weigh by copied from the need (bot.insights.facets keeps it in step).

    The JSON-list columns of ``needs`` (attributes, colour, size) become one row per value, so
    "top attributes" is a GROUP BY. ``category`` is ``""`` for a need without one; ``unmet`` is
    true for every ``unmet*`` status (never for ``pending``); ``price_cents`` is the stated price
    (``price_max``, else ``price_min``); ``propensity_micros`` the shopper's purchase propensity
    x 1e6 (integers, so sums kept by delta never drift). Clustered on the key on SQLite.
    """

    __tablename__ = "need_facets"
    __table_args__ = (
        Index("ix_need_facets_need", "need_id"),
        # Expected value of signed-in shoppers' unmet needs: one row per shopper and value.
        Index("ix_need_facets_signed", "field", "value", "unmet", "day", "customer_id",
              "category", "price_cents", "propensity_micros",
              sqlite_where=sql_text("customer_id IS NOT NULL"),
              postgresql_where=sql_text("customer_id IS NOT NULL")),
        {"sqlite_with_rowid": False},
    )
    field = Column(String(16), primary_key=True)  # one of FACET_FIELDS
    value = Column(String(255), primary_key=True)
    day = Column(Date, primary_key=True)  # the need's created_at (UTC day)
    need_id = Column(Integer, ForeignKey("needs.id", name="fk_need_facets_need",
                                         ondelete="CASCADE"), primary_key=True)
    category = Column(String(80), nullable=False, default="")
    status = Column(String(32), nullable=False)
    unmet = Column(Boolean, nullable=False)
    customer_id = Column(Integer)  # null: anonymous (the row goes with its need on erasure)
    price_cents = Column(BigInteger)
    propensity_micros = Column(Integer)


class _NeedRollup:
    """The counts a rollup row keeps (:class:`NeedDaily`, :class:`NeedMonthly`)."""

    needs = Column(Integer, nullable=False, default=0)
    matched = Column(Integer, nullable=False, default=0)
    pending = Column(Integer, nullable=False, default=0)
    unmet = Column(Integer, nullable=False, default=0)
    unmet_not_stocked = Column(Integer, nullable=False, default=0)
    unmet_out_of_stock = Column(Integer, nullable=False, default=0)
    unmet_over_budget = Column(Integer, nullable=False, default=0)
    unmet_size_or_colour = Column(Integer, nullable=False, default=0)
    unmet_other = Column(Integer, nullable=False, default=0)  # "unmet" without a reason (old rows)
    anon_unmet_priced = Column(Integer, nullable=False, default=0)  # anonymous, stated a price
    anon_unmet_cents = Column(BigInteger, nullable=False, default=0)  # sum of those prices
    anon_unmet_unpriced = Column(Integer, nullable=False, default=0)  # anonymous, no price
    scored = Column(Integer, nullable=False, default=0)  # needs with a propensity
    scored_micros = Column(BigInteger, nullable=False, default=0)  # sum of those propensities
    # Signed-in shoppers' unmet needs summed without counting each shopper once: an upper bound
    # of their part of the expected value, so only the rows that can rank are computed exactly.
    signed_unmet = Column(Integer, nullable=False, default=0)
    signed_scored_cents = Column(BigInteger, nullable=False, default=0)  # sum of p x price
    signed_scored_unpriced_micros = Column(BigInteger, nullable=False, default=0)  # sum of p
    signed_unscored_cents = Column(BigInteger, nullable=False, default=0)  # sum of price
    signed_unscored_unpriced = Column(Integer, nullable=False, default=0)


class NeedDaily(_NeedRollup, Base):
    """The daily rollup of :class:`NeedFacet`: per field, day, category and value, how many needs
    and how many unmet (by reason), and the parts of the expected value that can be summed
    (anonymous shoppers' unmet needs exactly; signed-in shoppers, who count once per value, as
    an upper bound: the exact figure is computed from the facets for the rows shown). Kept
    current by delta with every facet change."""

    __tablename__ = "need_daily"
    __table_args__ = (
        Index("ix_need_daily_value", "field", "value", "day"),
        {"sqlite_with_rowid": False},
    )
    field = Column(String(16), primary_key=True)
    day = Column(Date, primary_key=True)
    category = Column(String(80), primary_key=True)
    value = Column(String(255), primary_key=True)


class NeedMonthly(_NeedRollup, Base):
    """:class:`NeedDaily` summed per calendar month (``month``: its first day): a period's whole
    months are read here, only its first and last partial months from the daily rows."""

    __tablename__ = "need_monthly"
    __table_args__ = ({"sqlite_with_rowid": False},)
    field = Column(String(16), primary_key=True)
    month = Column(Date, primary_key=True)
    category = Column(String(80), primary_key=True)
    value = Column(String(255), primary_key=True)
