"""Each action's name is pinned, and names.py agrees with domain.yml."""
import inspect

import yaml

from actions import ACTIONS, names
from actions.server import build_executor
from bot.services import Services
from bot.settings import REPO_ROOT, Settings

DOMAIN = yaml.safe_load((REPO_ROOT / "domain.yml").read_text())

PINNED = {
    "ActionShopFacts": "action_shop_facts",
    "ActionHandleOrderRequest": "action_handle_order_request",
    "ActionHandleConfirmation": "action_handle_confirmation",
    "ActionAskOrderNumber": "action_ask_order_number",
    "ActionAskOrderEmail": "action_ask_order_email",
    "ActionAskNewAddress": "action_ask_new_address",
    "ActionAskFeedbackText": "action_ask_feedback_text",
    "ActionAskNewsletterEmail": "action_ask_newsletter_email",
    "ActionFormStopped": "action_form_stopped",
    "ValidateOrderForm": "validate_order_form",
    "ValidateFeedbackForm": "validate_feedback_form",
    "ValidateNewsletterForm": "validate_newsletter_form",
    "ActionDeliveryInfo": "action_delivery_info",
    "ActionProductSearch": "action_product_search",
    "ActionPaymentIssue": "action_payment_issue",
    "ActionDeleteAccount": "action_delete_account",
    "ActionExportData": "action_export_data",
    "ActionPrivacyAnswer": "action_privacy_answer",
    "ActionSubscribeNewsletter": "action_subscribe_newsletter",
    "ActionRecordFeedback": "action_record_feedback",
    "ActionRecordComplaint": "action_record_complaint",
    "ActionEscalate": "action_escalate",
    "ActionDefaultFallback": "action_default_fallback",
    "ActionDefaultAskAffirmation": "action_default_ask_affirmation",
    "ActionDefaultAskRephrase": "action_default_ask_rephrase",
}


def registered():
    """The actions the action server registers (actions/server.py)."""
    return build_executor(Services(Settings.from_env({}))).actions


def test_action_names_are_pinned():
    from rasa_sdk import Action
    from rasa_sdk.utils import all_subclasses

    services = Services(Settings.from_env({}))
    by_class = {cls.__name__: cls(services).name() for cls in ACTIONS}
    assert by_class == PINNED
    # Every concrete action class of the package is served.
    concrete = {cls for cls in all_subclasses(Action)
                if cls.__module__.startswith("actions.") and not inspect.isabstract(cls)}
    assert concrete == set(ACTIONS)


def domain_action_names() -> set[str]:
    """Action names in domain.yml (an entry is a name, or {name: {send_domain: ...}})."""
    return {next(iter(a)) if isinstance(a, dict) else a for a in DOMAIN["actions"]}


def test_domain_lists_exactly_the_registered_actions():
    assert domain_action_names() == set(registered()) == set(PINNED.values())


def test_only_the_form_validators_get_the_domain():
    # endpoints.yml enables the selective domain; FormValidationAction reads the domain.
    assert yaml.safe_load((REPO_ROOT / "endpoints.yml").read_text())["action_endpoint"][
        "enable_selective_domain"] is True
    sent = {next(iter(a)) for a in DOMAIN["actions"]
            if isinstance(a, dict) and next(iter(a.values())).get("send_domain")}
    assert sent == {names.VALIDATE_ORDER_FORM, names.VALIDATE_FEEDBACK_FORM,
                    names.VALIDATE_NEWSLETTER_FORM}


def test_slots_forms_and_intents_match_the_domain():
    slot_names = {v for k, v in vars(names).items() if k.startswith("SLOT_")}
    assert slot_names - {"requested_slot"} <= set(DOMAIN["slots"])
    assert {names.ORDER_FORM, names.FEEDBACK_FORM, names.NEWSLETTER_FORM} == set(DOMAIN["forms"])
    topic_mappings = {m["intent"]: m["value"] for m in DOMAIN["slots"]["order_topic"]["mappings"]}
    assert topic_mappings == names.ORDER_TOPIC_BY_INTENT
    intent_names = {v for k, v in vars(names).items()
                    if k.isupper() and isinstance(v, str) and v in DOMAIN["intents"]}
    assert names.ORDER_TOPIC_BY_INTENT.keys() <= set(DOMAIN["intents"])
    assert {names.AFFIRM, names.DENY, names.COMPLAINT, names.HUMAN_HANDOFF} <= intent_names
