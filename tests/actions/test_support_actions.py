"""Escalation, fallback, shop information, accounts, feedback and bad input."""
import pytest
import yaml
from rasa_sdk.events import SlotSet, UserUtteranceReverted
from sqlalchemy import select

from actions import names, replies
from actions.accounts import ValidateNewsletterForm
from actions.escalation import (
    ActionDefaultAskAffirmation,
    ActionDefaultAskRephrase,
    ActionDefaultFallback,
    ActionEscalate,
)
from actions.feedback import ActionRecordComplaint, ActionRecordFeedback, ValidateFeedbackForm
from actions.forms_common import ActionAskOrderEmail, ActionFormStopped
from actions.payments import ActionPaymentIssue
from actions.product_search import ActionProductSearch
from actions.shop_info import ActionDeliveryInfo
from bot.settings import REPO_ROOT
from bot.store.db import session_scope
from bot.store.models import Escalation, Feedback
from action_helpers import make_tracker, run, texts, token

USER_EVENTS = [{"event": "user", "text": "asdf ghjk"}, {"event": "bot", "text": "?"},
               {"event": "user", "text": "/track_order"}, {"event": "user", "text": "zxcv"}]


def escalations(engine):
    with session_scope(engine) as s:
        return [(e.conversation_id, e.customer_id, e.reason, e.status, e.summary)
                for e in s.execute(select(Escalation)).scalars()]


async def test_human_handoff_creates_one_escalation_and_reuses_it(services):
    tracker = make_tracker(intent="human_handoff", metadata=token(1), events=USER_EVENTS)
    events, messages = await run(ActionEscalate(services), tracker)
    assert events == []
    assert texts(messages) == [
        "I've passed this conversation to our support team (reference ESC-000001). Nobody from "
        "the team is available right now; we're here Monday to Friday 9am-6pm and Saturday "
        "10am-4pm. Someone will reply within 4 working hours, here in this chat and by email, so "
        "you can close this window."]
    events, messages = await run(ActionEscalate(services), tracker)
    assert texts(messages)[0].startswith("You're already in the queue for our support team "
                                         "(reference ESC-000001)")
    assert escalations(services.engine) == [("conv-1", 1, "human_request", "open",
                                      "- asdf ghjk\n- zxcv")]


async def test_a_person_is_promised_only_when_an_agent_is_accepting_chats(services):
    """An agent signed in to the console and accepting, seen within the presence window: the
    bot says someone will join; seen too long ago (or not accepting): it says when we're back."""
    from datetime import timedelta

    from bot.store.models import Staff

    now = services.now()
    with session_scope(services.engine) as s:
        s.add(Staff(email="sam@example.test", name="Sam", password_hash="x", role="agent",
                    active=True, created_at=now, accepting=True,
                    last_seen_at=now - timedelta(seconds=10)))
    guest = make_tracker(intent="human_handoff", events=USER_EVENTS)
    _, messages = await run(ActionEscalate(services), guest)
    assert texts(messages) == [
        "I've passed this conversation to our support team (reference ESC-000001). Someone from "
        "the team will join you here shortly - please keep this window open."]
    with session_scope(services.engine) as s:
        s.query(Staff).update({"last_seen_at": now - timedelta(minutes=5)})
    _, messages = await run(ActionEscalate(services), guest)
    assert texts(messages) == [
        "You're already in the queue for our support team (reference ESC-000001); I've added "
        "this to it. Nobody from the team is available right now; we're here Monday to Friday "
        "9am-6pm and Saturday 10am-4pm. Someone will reply within 4 working hours, here in this "
        "chat - come back to this chat on this device to read it."]


async def test_default_fallback_escalates_and_reverts(services):
    from dataclasses import replace

    from bot.services import Services

    two_hours = Services(replace(services.settings, escalation_response_hours=2),
                         engine=services.engine, clock=services.clock)
    events, messages = await run(ActionDefaultFallback(two_hours),
                                 make_tracker(events=USER_EVENTS))
    assert events == [UserUtteranceReverted()]
    assert "reference ESC-000001" in messages[0]["text"] and "within 2 working hours" in \
        messages[0]["text"]
    assert escalations(services.engine)[0][:4] == ("conv-1", None, "fallback", "open")


async def test_another_language_gets_the_english_only_answer_never_a_guess_or_a_ticket(services):
    """A message the classifier thinks is another language (but not surely enough to answer
    it straight) is told which language we speak, in the fallback's first stage and when it
    gives up: no topic buttons, and no escalation opened."""
    ranking = [{"name": "nlu_fallback", "confidence": 0.6},
               {"name": "other_language", "confidence": 0.41},
               {"name": "cancel_order", "confidence": 0.2}]
    tracker = make_tracker(intent="nlu_fallback", text="quiero anular la compra",
                           ranking=ranking, events=USER_EVENTS)
    events, messages = await run(ActionDefaultAskAffirmation(services), tracker)
    assert (events, messages) == ([], [{**messages[0], "response": "utter_english_only"}])
    assert not messages[0].get("buttons")
    events, messages = await run(ActionDefaultFallback(services), tracker)
    assert events == [UserUtteranceReverted()]
    assert [m["response"] for m in messages] == ["utter_english_only"]
    assert escalations(services.engine) == []


def test_the_english_only_answer_names_english_and_offers_a_person():
    response = yaml.safe_load((REPO_ROOT / "domain.yml").read_text())["responses"][
        "utter_english_only"][0]
    assert "English" in response["text"]
    assert response["buttons"] == [{"title": "Talk to a person", "payload": "/human_handoff"}]


def test_every_suggestible_intent_has_a_title_and_is_in_the_domain():
    from actions.escalation import INTENT_TITLES, NOT_SUGGESTED

    intents = set(yaml.safe_load((REPO_ROOT / "domain.yml").read_text())["intents"])
    assert set(INTENT_TITLES) == intents - NOT_SUGGESTED - {names.AFFIRM, names.DENY}


async def test_default_fallback_with_database_down_still_reverts(db_down):
    events, messages = await run(ActionDefaultFallback(db_down), make_tracker(events=USER_EVENTS))
    assert (events, texts(messages)) == ([UserUtteranceReverted()], [replies.STORE_UNAVAILABLE])


async def test_ask_affirmation_offers_the_two_likeliest_topics_as_buttons(services):
    ranking = [{"name": "nlu_fallback", "confidence": 0.6},
               {"name": "out_of_scope", "confidence": 0.3},
               {"name": "inform", "confidence": 0.28},
               {"name": "track_refund", "confidence": 0.25},
               {"name": "track_order", "confidence": 0.1},
               {"name": "refund_policy", "confidence": 0.05}]
    events, messages = await run(ActionDefaultAskAffirmation(services),
                                 make_tracker(intent="nlu_fallback", ranking=ranking,
                                              text="refnd whre"))
    assert events == []
    assert messages[0]["text"] == (
        "Sorry, I'm not sure I follow. Did you mean: track a refund / track an order?")
    assert messages[0]["buttons"] == [{"title": "Track a refund", "payload": "/track_refund"},
                                      {"title": "Track an order", "payload": "/track_order"},
                                      {"title": "Something else", "payload": "/out_of_scope"}]
    # One topic worth offering: one topic button.
    _, messages = await run(ActionDefaultAskAffirmation(services), make_tracker(
        intent="nlu_fallback", text="refnd whre", ranking=ranking[:4]))
    assert messages[0]["text"] == "Sorry, I'm not sure I follow. Did you mean: track a refund?"
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/track_refund", "/out_of_scope"]
    events, messages = await run(ActionDefaultAskAffirmation(services),
                                 make_tracker(intent="nlu_fallback", ranking=ranking[:2]))
    assert texts(messages) == [replies.ASK_REPHRASE]
    yes_no_ranking = [{"name": "nlu_fallback"}, {"name": "deny"}, {"name": "thank"}]
    _, messages = await run(ActionDefaultAskAffirmation(services), make_tracker(
        intent="nlu_fallback", text="nah", ranking=yes_no_ranking,
        slots={"pending_action": "cancel"}))
    assert messages[0]["text"] == "Sorry, just to check - is that a no?"
    assert messages[0]["buttons"] == [{"title": "Yes", "payload": "/deny"},
                                      {"title": "No, something else", "payload": "/out_of_scope"}]
    # No question waiting: a yes/no guess is skipped.
    _, messages = await run(ActionDefaultAskAffirmation(services), make_tracker(
        intent="nlu_fallback", text="nah", ranking=yes_no_ranking))
    assert messages[0]["buttons"][0] == {"title": "Saying thanks", "payload": "/thank"}
    # An order number in the unclear message survives the choice (normalised only), on both.
    _, messages = await run(ActionDefaultAskAffirmation(services), make_tracker(
        intent="nlu_fallback", text="cancl sh 100001 pls", ranking=ranking,
        entities=[{"entity": "order_number", "value": "sh 100001"}]))
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/track_refund{"order_number":"SH-100001"}', '/track_order{"order_number":"SH-100001"}',
        "/out_of_scope"]
    _, messages = await run(ActionDefaultAskAffirmation(services), make_tracker(
        intent="nlu_fallback", text="x", ranking=ranking,
        entities=[{"entity": "order_number", "value": '"}{"x'}]))
    assert messages[0]["buttons"][0]["payload"] == "/track_refund"
    # Empty or emoji-only: nothing to guess from.
    for text in ("", "😀🎉"):
        _, messages = await run(ActionDefaultAskAffirmation(services), make_tracker(
            intent="nlu_fallback", text=text, ranking=ranking))
        assert texts(messages) == [replies.ASK_REPHRASE]
    _, messages = await run(ActionDefaultAskRephrase(services), make_tracker())
    assert texts(messages) == [replies.ASK_REPHRASE]


async def test_delivery_info_from_the_database(services):
    _, messages = await run(ActionDeliveryInfo(services), make_tracker(intent="delivery_options"))
    text = messages[0]["text"]
    assert text.startswith("These are our delivery options and costs:")
    assert "£3.95 (free on orders over £50.00), 3-5 working days" in text
    assert "- Click & Collect: free" in text or ": free, 2-4 working days" in text
    _, messages = await run(ActionDeliveryInfo(services), make_tracker(intent="delivery_period"))
    assert messages[0]["text"].startswith("Here's how long delivery takes:")
    # "when will my order arrive?" may mean one order: the times answer offers to track it.
    assert messages[0]["text"].endswith("Already ordered? I can check where your order is.")
    assert messages[0]["buttons"] == [{"title": "Track my order", "payload": "/track_order"}]


# Product search (need capture) is tested in test_need_actions.py.


async def test_payment_issue_general_and_signed_in(services):
    _, messages = await run(ActionPaymentIssue(services), make_tracker(intent="payment_issue"))
    assert texts(messages) == [replies.PAYMENT_ISSUE_GENERAL]
    _, messages = await run(ActionPaymentIssue(services),
                            make_tracker(intent="payment_issue", metadata=token(1)))
    assert texts(messages) == [
        "I can't see any failed or duplicate payments on your recent orders.",
        replies.PAYMENT_ISSUE_GENERAL]


async def test_newsletter_form_asks_only_anonymous_shoppers(services):
    # The double opt-in itself: tests/web/test_newsletter.py; erase/export: test_privacy_actions.
    form_domain = {"forms": {"newsletter_form": {"required_slots": ["newsletter_email"]}}}
    signed_in = make_tracker(metadata=token(2), events=[{"event": "user", "text": "sign me up"}])
    events, _ = await run(ValidateNewsletterForm(services), signed_in, form_domain)
    assert events == [SlotSet("requested_slot", None)]  # no email asked of a signed-in shopper


async def test_feedback_and_complaint_are_stored(services):
    form_domain = {"forms": {"feedback_form": {"required_slots": ["feedback_text"]}}}
    tracker = make_tracker(slots={"feedback_text": "😡😡"}, active_loop="feedback_form",
                           events=[{"event": "user", "text": "😡😡"},
                                   {"event": "slot", "name": "feedback_text", "value": "😡😡"}])
    events, messages = await run(ValidateFeedbackForm(services), tracker, form_domain)
    assert events == [SlotSet("feedback_text", None)]  # Rasa re-asks (static required slots)
    assert texts(messages) == [replies.INVALID_FEEDBACK]

    events, messages = await run(ActionRecordFeedback(services), make_tracker(
        slots={"feedback_text": "Lovely parka, <b>4/5</b>"}, metadata=token(1)))
    assert events == [SlotSet("feedback_text", None)]
    assert texts(messages) == ["Thank you for your review (4/5) - it's saved with our customer "
                               "feedback (reference FB-000001)."]
    events, messages = await run(ActionRecordComplaint(services), make_tracker(
        intent="complaint", text="'; DROP TABLE feedback; -- your courier was rude"))
    assert events == [SlotSet("pending_action", "escalate_complaint")]
    assert messages[0]["text"].startswith("I'm really sorry about that. I've recorded your "
                                          "complaint (reference FB-000002).")
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    with session_scope(services.engine) as s:
        rows = s.execute(select(Feedback).order_by(Feedback.id)).scalars().all()
        assert [(r.kind, r.customer_id, r.rating) for r in rows] == [
            ("review", 1, 4), ("complaint", None, None)]
        assert rows[1].text == "'; DROP TABLE feedback; -- your courier was rude"


async def test_form_stopped_clears_every_form_slot(services):
    every = ("order_number", "order_email", "new_address", "order_can_change", "feedback_text",
             "newsletter_email", "pending_action", "order_details_missing")
    tracker = make_tracker(intent="deny", slots={slot: "x" for slot in every})
    events, messages = await run(ActionFormStopped(services), tracker)
    assert texts(messages) == [replies.FORM_STOPPED]
    assert events == [SlotSet(slot, None) for slot in every]
    # Only what was set is cleared: an unset slot gets no (no-op) SlotSet.
    events, _ = await run(ActionFormStopped(services), make_tracker(intent="deny",
                                                            slots={"order_email": "a@b.co"}))
    assert events == [SlotSet("order_email", None)]
    _, messages = await run(ActionAskOrderEmail(services), make_tracker())
    assert texts(messages) == [replies.ASK_ORDER_EMAIL]


BAD_TEXTS = ["", "   ", "x" * 10_000, "😀🎉🥾", "¿Dónde está mi pedido?",
             "SELECT * FROM orders; DROP TABLE customers;--", "<script>alert('x')</script>",
             "\x00\x1b[31m"]


@pytest.mark.parametrize("text", BAD_TEXTS)
async def test_bad_input_never_raises(services, text):
    from actions.confirmation import ActionHandleConfirmation
    from actions.order_form import ValidateOrderForm
    from actions.orders import ActionHandleOrderRequest

    slot_events = [{"event": "user", "text": text},
                   {"event": "slot", "name": "order_number", "value": text}]
    for action, tracker in [
        (ActionProductSearch(services), make_tracker(intent="product_search", text=text,
                                             entities=[{"entity": "product", "value": text}])),
        (ActionRecordComplaint(services), make_tracker(intent="complaint", text=text)),
        (ActionEscalate(services), make_tracker(events=[{"event": "user", "text": text}])),
        (ActionDefaultAskAffirmation(services), make_tracker(text=text, ranking=[{"name": text}])),
        (ValidateOrderForm(services), make_tracker(text=text, slots={"order_number": text},
                                           events=slot_events, active_loop="order_form")),
        (ActionHandleOrderRequest(services), make_tracker(slots={"order_topic": text,
                                                         "order_number": text,
                                                         "order_email": text})),
        (ActionHandleConfirmation(services), make_tracker(intent="affirm", text=text,
                                                  slots={"pending_action": text})),
        (ActionRecordFeedback(services), make_tracker(slots={"feedback_text": text})),
    ]:
        events, messages = await run(action, tracker,
                                     {"forms": {"order_form": {"required_slots": []}}})
        assert isinstance(events, list)
        assert all("Traceback" not in (m.get("text") or "") for m in messages)


async def test_shop_facts_come_from_settings_and_are_sent_once(services):
    from dataclasses import replace

    from actions.shop_facts import ActionShopFacts
    from bot.services import Services

    shop = replace(services.settings.shop, contact_email="care@shop.test", contact_phone="",
                   opening_hours="every day 8am-8pm", return_window_days=14, bank_days="1-2")
    configured = Services(replace(services.settings, shop=shop), engine=services.engine)
    events, messages = await run(ActionShopFacts(configured), make_tracker())
    facts = [SlotSet("shop_contact", "care@shop.test"), SlotSet("shop_hours", "every day 8am-8pm"),
             SlotSet("return_window_days", "14"), SlotSet("refund_days", "2"),
             SlotSet("bank_days", "1-2")]
    assert (events, messages) == (facts, [])
    # Already set this session: nothing to send again.
    slots = {e["name"]: e["value"] for e in facts}
    events, _ = await run(ActionShopFacts(configured), make_tracker(slots=slots))
    assert events == []


def test_every_response_that_says_a_shop_fact_follows_the_facts_action():
    """Rules and stories run action_shop_facts right before a response that uses its slots."""
    domain = yaml.safe_load((REPO_ROOT / "domain.yml").read_text())
    with_facts = {name for name, variants in domain["responses"].items()
                  if any(f"{{{slot}}}" in v.get("text", "") for v in variants
                         for slot in names.SHOP_FACT_SLOTS)}
    assert with_facts == {"utter_contact_info", "utter_refund_policy", "utter_cancellation_fee"}
    files = [*(REPO_ROOT / "nlu_data").rglob("*.yml"), REPO_ROOT / "tests" / "test_stories.yml"]
    for path in files:
        lines = [line.strip() for line in path.read_text().splitlines()]
        for i, line in enumerate(lines):
            if line.removeprefix("- action: ") in with_facts:
                assert lines[i - 1] == "- action: action_shop_facts", (path.name, i)


def test_responses_take_shop_facts_from_slots_not_text():
    domain = yaml.safe_load((REPO_ROOT / "domain.yml").read_text())
    texts_ = " ".join(v["text"] for variants in domain["responses"].values() for v in variants
                      if "text" in v)
    for hard_coded in ("0800", "@example", "9am", "3-5 working", "2 working days", "30 days"):
        assert hard_coded not in texts_
    assert "{shop_contact}" in domain["responses"]["utter_contact_info"][0]["text"]
