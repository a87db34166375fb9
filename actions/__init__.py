"""rasa-sdk actions: thin adapters from the tracker to a support service to messages and events.

`python -m rasa_sdk --actions actions` imports this package; every module below registers its
actions by subclassing rasa_sdk.Action.
"""
from actions import (  # noqa: F401  (import registers the actions)
    accounts,
    confirmation,
    escalation,
    feedback,
    forms_common,
    order_form,
    orders,
    shop_info,
)
