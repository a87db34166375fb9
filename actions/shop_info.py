"""Shop facts from the database: delivery options and times."""
from __future__ import annotations

from typing import Text

from actions import names, replies
from actions.base import Events, ShopAction
from bot.support import shop_info


class ActionDeliveryInfo(ShopAction):
    """``delivery_options`` / ``delivery_period``: prices, thresholds and times from the DB."""

    def name(self) -> Text:
        return names.ACTION_DELIVERY_INFO

    def act(self, dispatcher, tracker, domain) -> Events:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        options = shop_info.delivery_options(self.services)
        dispatcher.utter_message(
            text=replies.delivery_options(options, about_time=intent == names.DELIVERY_PERIOD))
        return []
