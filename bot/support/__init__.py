"""Support services the conversation actions call.

Each service takes the process's :class:`bot.services.Services` first, opens one short session
(``services.unit_of_work()``), applies the shop's policy and returns plain dataclasses; no ORM
object leaves a service. Database failures surface as :class:`bot.store.errors.StoreUnavailable`,
policy refusals as other domain errors.
"""
