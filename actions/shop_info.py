"""Shop facts from the database: delivery options and times."""
from __future__ import annotations

from typing import Text

from actions import names, replies
from actions.base import Events, ShopAction
from bot.support import shop_info


class ActionDeliveryInfo(ShopAction):
    """``delivery_options`` / ``delivery_period``: prices, thresholds and times from the DB.

    The times answer ends with a "Track my order" button: "when will my order arrive?" without
    an order number may mean delivery times in general or one order's whereabouts."""

    def name(self) -> Text:
        return names.ACTION_DELIVERY_INFO

    def act(self, dispatcher, tracker, domain) -> Events:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        options = shop_info.delivery_options(self.services)
        about_time = intent == names.DELIVERY_PERIOD
        buttons = [{"title": "Track my order", "payload": f"/{names.TRACK_ORDER}"}] \
            if about_time and options else None
        dispatcher.utter_message(text=replies.delivery_options(options, about_time=about_time),
                                 buttons=buttons)
        return []
