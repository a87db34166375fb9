"""Erase / export my data from the chat: asked only of a signed-in shopper, carried out only on
a yes to that very question, for the shopper signed in at that turn."""
from __future__ import annotations

from rasa_sdk.events import SlotSet
from sqlalchemy import func, select

from actions import names, replies
from actions.accounts import ActionDeleteAccount, ActionExportData, ActionPrivacyAnswer
from bot import audit
from bot.store.db import session_scope
from bot.store.models import Customer, ErasureRequest
from action_helpers import make_tracker, run, texts, token

ASKED_ERASE = [{"event": "user", "text": "delete my data"},
               {"event": "action", "name": names.ACTION_DELETE_ACCOUNT},
               {"event": "action", "name": "action_listen"},
               {"event": "user", "text": "yes"}]


def answer(intent, question, events, metadata=None):
    return make_tracker(intent=intent, slots={names.SLOT_PRIVACY_QUESTION: question},
                        events=events, metadata=metadata, sender="conv-ben")


async def test_the_questions_are_asked_only_of_a_signed_in_shopper(services):
    events, messages = await run(ActionDeleteAccount(services),
                                 make_tracker(intent="delete_account"))
    assert texts(messages) == [replies.DELETE_ACCOUNT_SIGN_IN] and events == []
    events, messages = await run(ActionDeleteAccount(services),
                                 make_tracker(intent="delete_account", metadata=token(2)))
    assert texts(messages) == [replies.ERASE_QUESTION]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    assert events == [SlotSet(names.SLOT_PRIVACY_QUESTION, names.PRIVACY_ERASE)]
    events, messages = await run(ActionExportData(services), make_tracker(intent="export_data"))
    assert texts(messages) == [replies.EXPORT_DATA_SIGN_IN]
    events, messages = await run(ActionExportData(services),
                                 make_tracker(intent="export_data", metadata=token(2)))
    assert texts(messages) == [replies.EXPORT_QUESTION]
    assert events == [SlotSet(names.SLOT_PRIVACY_QUESTION, names.PRIVACY_EXPORT)]


async def test_yes_erases_the_signed_in_shoppers_data(services):
    events, messages = await run(ActionPrivacyAnswer(services),
                                 answer("affirm", "erase", ASKED_ERASE, token(2)))
    assert events == [SlotSet(names.SLOT_PRIVACY_QUESTION, None)]
    assert texts(messages) == [replies.erased("ER-000001")]
    with session_scope(services.engine) as s:
        assert s.get(Customer, 2).erased_at is not None
        request = s.execute(select(ErasureRequest)).scalar_one()
        assert (request.customer_id, request.status, request.requested_by) == (
            2, "pending", "customer:2")
        assert "conv-ben" in request.conversation_ids  # erased by the worker once quiet
        [record] = audit.recent(s, action="data_erased")
        assert record.actor == "customer:2"


async def test_no_or_no_longer_signed_in_erases_nothing(services):
    _, messages = await run(ActionPrivacyAnswer(services),
                            answer("deny", "erase", ASKED_ERASE, token(2)))
    assert texts(messages) == [replies.ERASE_KEPT]
    _, messages = await run(ActionPrivacyAnswer(services),
                            answer("affirm", "erase", ASKED_ERASE))  # the token is gone
    assert texts(messages) == [replies.DELETE_ACCOUNT_SIGN_IN]
    with session_scope(services.engine) as s:
        assert s.execute(select(func.count()).select_from(ErasureRequest)).scalar() == 0
        assert s.get(Customer, 2).erased_at is None


async def test_a_yes_to_another_question_goes_to_the_confirmation_handler(services):
    # Asked to erase, the shopper complained instead; "yes" answers the complaint's question.
    events = ASKED_ERASE[:3] + [{"event": "user", "text": "the courier was rude"},
                                {"event": "action", "name": names.ACTION_RECORD_COMPLAINT},
                                {"event": "action", "name": "action_listen"},
                                {"event": "user", "text": "yes"}]
    tracker = make_tracker(intent="affirm", events=events, metadata=token(2),
                           slots={names.SLOT_PRIVACY_QUESTION: "erase",
                                  names.SLOT_PENDING_ACTION: names.PENDING_ESCALATE_COMPLAINT})
    result, messages = await run(ActionPrivacyAnswer(services), tracker)
    assert "ESC-000001" in texts(messages)[0]  # the complaint went to a person
    assert SlotSet(names.SLOT_PRIVACY_QUESTION, None) in result
    with session_scope(services.engine) as s:
        assert s.get(Customer, 2).erased_at is None


async def test_yes_to_export_gives_the_storefront_link(services):
    asked = [{"event": "user", "text": "a copy of my data"},
             {"event": "action", "name": names.ACTION_EXPORT_DATA},
             {"event": "action", "name": "action_listen"}, {"event": "user", "text": "yes"}]
    _, messages = await run(ActionPrivacyAnswer(services),
                            answer("affirm", "export", asked, token(2)))
    assert texts(messages) == [replies.export_ready(
        f"{services.settings.public_url}/account/export.json")]
    _, messages = await run(ActionPrivacyAnswer(services), answer("deny", "export", asked,
                                                                  token(2)))
    assert texts(messages) == [replies.EXPORT_KEPT]
