from types import MappingProxyType
"""Every intent, entity, slot, form and action name the actions use, in one place.

They must match domain.yml; tests/actions/test_action_names.py checks both directions.
"""

# --- intents ------------------------------------------------------------------------------
AFFIRM = "affirm"
DENY = "deny"
INFORM = "inform"
OUT_OF_SCOPE = "out_of_scope"
OTHER_LANGUAGE = "other_language"
NLU_FALLBACK = "nlu_fallback"
TRACK_ORDER = "track_order"
CANCEL_ORDER = "cancel_order"
CHANGE_ORDER = "change_order"
CHANGE_SHIPPING_ADDRESS = "change_shipping_address"
RETURN_ITEM = "return_item"
REQUEST_REFUND = "request_refund"
TRACK_REFUND = "track_refund"
GET_INVOICE = "get_invoice"
DELIVERY_OPTIONS = "delivery_options"
DELIVERY_PERIOD = "delivery_period"
NEWSLETTER_SUBSCRIPTION = "newsletter_subscription"
DELETE_ACCOUNT = "delete_account"
EXPORT_DATA = "export_data"
LEAVE_REVIEW = "leave_review"
COMPLAINT = "complaint"
HUMAN_HANDOFF = "human_handoff"
PRODUCT_SEARCH = "product_search"
THANK = "thank"

# order_topic values, filled from the order intents
TOPIC_TRACK = "track"
TOPIC_CANCEL = "cancel"
TOPIC_CHANGE = "change"
TOPIC_CHANGE_ADDRESS = "change_address"
TOPIC_RETURN = "return"
TOPIC_REFUND = "refund"
TOPIC_TRACK_REFUND = "track_refund"
TOPIC_INVOICE = "invoice"
ORDER_TOPIC_BY_INTENT = MappingProxyType({
    TRACK_ORDER: TOPIC_TRACK,
    CANCEL_ORDER: TOPIC_CANCEL,
    CHANGE_ORDER: TOPIC_CHANGE,
    CHANGE_SHIPPING_ADDRESS: TOPIC_CHANGE_ADDRESS,
    RETURN_ITEM: TOPIC_RETURN,
    REQUEST_REFUND: TOPIC_REFUND,
    TRACK_REFUND: TOPIC_TRACK_REFUND,
    GET_INVOICE: TOPIC_INVOICE,
})

# --- entities -----------------------------------------------------------------------------
ENTITY_ORDER_NUMBER = "order_number"
ENTITY_EMAIL = "email"
ENTITY_PRODUCT = "product"

# --- slots --------------------------------------------------------------------------------
SLOT_ORDER_TOPIC = "order_topic"
SLOT_ORDER_NUMBER = "order_number"
SLOT_ORDER_EMAIL = "order_email"
SLOT_NEW_ADDRESS = "new_address"
SLOT_ORDER_CAN_CHANGE = "order_can_change"
SLOT_PENDING_ACTION = "pending_action"
SLOT_PENDING_ORDER = "pending_order"  # the order number the pending yes/no question quoted
SLOT_FEEDBACK_TEXT = "feedback_text"
SLOT_NEWSLETTER_EMAIL = "newsletter_email"
# What the privacy question (erase / export my data) waits a yes or no for; null: none asked.
SLOT_PRIVACY_QUESTION = "privacy_question"
PRIVACY_ERASE = "erase"
PRIVACY_EXPORT = "export"
SLOT_CURRENT_NEED = "current_need"  # the accumulated product need (bot.needs.service)
SLOT_NEED_QUESTION = "need_question"  # True while the product search waits for an answer
# True when action_handle_order_request needs order_form to collect the rest (a rule follows it)
SLOT_ORDER_DETAILS_MISSING = "order_details_missing"
REQUESTED_SLOT = "requested_slot"

# The shop's facts (bot.settings.ShopFacts), set by action_shop_facts for the domain's responses.
SLOT_SHOP_CONTACT = "shop_contact"
SLOT_SHOP_HOURS = "shop_hours"
SLOT_RETURN_WINDOW_DAYS = "return_window_days"
SLOT_REFUND_DAYS = "refund_days"
SLOT_BANK_DAYS = "bank_days"
SHOP_FACT_SLOTS = (SLOT_SHOP_CONTACT, SLOT_SHOP_HOURS, SLOT_RETURN_WINDOW_DAYS, SLOT_REFUND_DAYS,
                   SLOT_BANK_DAYS)
ORDER_FORM_SLOTS = (SLOT_ORDER_NUMBER, SLOT_ORDER_EMAIL, SLOT_NEW_ADDRESS, SLOT_ORDER_CAN_CHANGE)

# pending_action values: what an affirm confirms
PENDING_CANCEL = "cancel"
PENDING_CHANGE_ADDRESS = "change_address"
PENDING_RETURN = "return"
PENDING_REFUND = "refund"
PENDING_ESCALATE_COMPLAINT = "escalate_complaint"
PENDING_BACK_IN_STOCK = "back_in_stock"
# The pending actions that act on an order (pending_order names which one).
ORDER_PENDING_ACTIONS = (PENDING_CANCEL, PENDING_CHANGE_ADDRESS, PENDING_RETURN, PENDING_REFUND)

# --- forms --------------------------------------------------------------------------------
ORDER_FORM = "order_form"
FEEDBACK_FORM = "feedback_form"
NEWSLETTER_FORM = "newsletter_form"


# --- actions ------------------------------------------------------------------------------
ACTION_SHOP_FACTS = "action_shop_facts"
ACTION_HANDLE_ORDER_REQUEST = "action_handle_order_request"
ACTION_HANDLE_CONFIRMATION = "action_handle_confirmation"
ACTION_ASK_ORDER_NUMBER = "action_ask_order_number"
ACTION_ASK_ORDER_EMAIL = "action_ask_order_email"
ACTION_ASK_NEW_ADDRESS = "action_ask_new_address"
ACTION_ASK_FEEDBACK_TEXT = "action_ask_feedback_text"
ACTION_ASK_NEWSLETTER_EMAIL = "action_ask_newsletter_email"
ACTION_DEFAULT_ASK_REPHRASE = "action_default_ask_rephrase"
ACTION_FORM_STOPPED = "action_form_stopped"
VALIDATE_ORDER_FORM = "validate_order_form"
VALIDATE_FEEDBACK_FORM = "validate_feedback_form"
VALIDATE_NEWSLETTER_FORM = "validate_newsletter_form"
ACTION_DELIVERY_INFO = "action_delivery_info"
ACTION_PRODUCT_SEARCH = "action_product_search"
ACTION_PAYMENT_ISSUE = "action_payment_issue"
ACTION_DELETE_ACCOUNT = "action_delete_account"
ACTION_EXPORT_DATA = "action_export_data"
ACTION_PRIVACY_ANSWER = "action_privacy_answer"
ACTION_SUBSCRIBE_NEWSLETTER = "action_subscribe_newsletter"
ACTION_RECORD_FEEDBACK = "action_record_feedback"
ACTION_RECORD_COMPLAINT = "action_record_complaint"
ACTION_ESCALATE = "action_escalate"
ACTION_DEFAULT_FALLBACK = "action_default_fallback"
ACTION_DEFAULT_ASK_AFFIRMATION = "action_default_ask_affirmation"

# --- responses (domain.yml) ---------------------------------------------------------------
UTTER_ENGLISH_ONLY = "utter_english_only"
