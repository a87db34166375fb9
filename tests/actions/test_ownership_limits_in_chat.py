"""The attack in the chat: one order number probed from many conversations with rotating
emails. After the limit every answer is the unknown order's, also for the owner's right email;
signed in, the owner is not affected."""
from rasa_sdk.events import SlotSet

from actions import replies
from actions.order_form import ValidateOrderForm
from bot import audit
from action_helpers import make_tracker, run, token

ALICE_EMAIL = "alice@example.com"
DOMAIN = {"forms": {"order_form": {"required_slots": ["order_number", "order_email"]}},
          "slots": {}}


def locks(services):
    with services.unit_of_work() as session:
        return audit.recent(session, action="ownership_locked")


async def _form_answer(services, sender, number, email, metadata=None):
    """The order form validating an email for ``number`` in conversation ``sender``."""
    events = [{"event": "action", "name": "action_listen"}, {"event": "user", "text": email},
              {"event": "slot", "name": "order_email", "value": email}]
    tracker = make_tracker(text=email, slots={"order_number": number, "order_email": email},
                           events=events, active_loop="order_form", sender=sender,
                           metadata=metadata)
    events, messages = await run(ValidateOrderForm(services), tracker, DOMAIN)
    return events, messages


async def test_rotating_conversations_are_stopped_with_the_unknown_order_reply(services):
    unknown = await _form_answer(services, "probe", "SH-999999", "someone@example.com")
    assert [m["text"] for m in unknown[1]] == [replies.ORDER_NOT_FOUND]
    answers = []
    for n in range(12):  # a new conversation and a new email for every guess
        answers.append(await _form_answer(services, f"attacker-{n}", "SH-100004",
                                          f"guess{n}@example.com"))
    assert all(a == unknown for a in answers)
    # During the lock the owner's right email gets exactly the unknown order's reply.
    assert await _form_answer(services, "owner", "SH-100004", ALICE_EMAIL) == unknown
    # Signed in, the owner gets her order.
    tracker = make_tracker(text="SH-100004", slots={"order_number": "SH-100004"},
                           events=[{"event": "action", "name": "action_listen"},
                                   {"event": "user", "text": "SH-100004"},
                                   {"event": "slot", "name": "order_number",
                                    "value": "SH-100004"}],
                           active_loop="order_form", sender="owner", metadata=token(1))
    events, messages = await run(ValidateOrderForm(services), tracker, DOMAIN)
    assert SlotSet("order_can_change", False) in events and messages == []
    assert len(locks(services)) == 1
