"""The one custom action of the latency benchmark's floor assistant (benchmarks/bot_latency.py
--floor): it sends the bare baseline's reply and returns no events, so a turn that runs it costs
exactly one action-server round trip more than the baseline's turn, and nothing else."""
from rasa_sdk import Action


class ActionNoopReply(Action):
    def name(self) -> str:
        return "action_noop_reply"

    async def run(self, dispatcher, tracker, domain):
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        dispatcher.utter_message(text=f"Baseline reply to {intent}.")
        return []
