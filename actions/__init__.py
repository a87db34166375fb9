"""rasa-sdk actions: thin adapters from the tracker to a support service to messages and events.

``python -m actions`` (``actions/server.py``) builds one instance of each action in
:data:`ACTIONS` with the process's :class:`~bot.services.Services`; ``actions/names.py`` holds
the names they answer to (a test pins each).
"""
from actions.accounts import (
    ActionDeleteAccount,
    ActionExportData,
    ActionPrivacyAnswer,
    ActionSubscribeNewsletter,
    ValidateNewsletterForm,
)
from actions.confirmation import ActionHandleConfirmation
from actions.escalation import (
    ActionDefaultAskAffirmation,
    ActionDefaultAskRephrase,
    ActionDefaultFallback,
    ActionEscalate,
)
from actions.feedback import ActionRecordComplaint, ActionRecordFeedback, ValidateFeedbackForm
from actions.forms_common import (
    ActionAskFeedbackText,
    ActionAskNewAddress,
    ActionAskNewsletterEmail,
    ActionAskOrderEmail,
    ActionFormStopped,
)
from actions.order_form import ActionAskOrderNumber, ValidateOrderForm
from actions.orders import ActionHandleOrderRequest
from actions.payments import ActionPaymentIssue
from actions.product_search import ActionProductSearch
from actions.shop_facts import ActionShopFacts
from actions.shop_info import ActionDeliveryInfo

ACTIONS = (
    ActionAskFeedbackText, ActionAskNewAddress, ActionAskNewsletterEmail, ActionAskOrderEmail,
    ActionAskOrderNumber, ActionDefaultAskAffirmation, ActionDefaultAskRephrase,
    ActionDefaultFallback, ActionDeleteAccount, ActionDeliveryInfo, ActionEscalate,
    ActionExportData, ActionPrivacyAnswer,
    ActionFormStopped, ActionHandleConfirmation, ActionHandleOrderRequest, ActionPaymentIssue,
    ActionProductSearch, ActionRecordComplaint, ActionRecordFeedback, ActionShopFacts,
    ActionSubscribeNewsletter,
    ValidateFeedbackForm, ValidateNewsletterForm, ValidateOrderForm,
)
