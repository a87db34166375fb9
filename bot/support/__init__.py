"""Support services the conversation actions call.

Each service opens one short session (:func:`bot.support.runtime.unit_of_work`), applies the
shop's policy and returns plain dataclasses; no ORM object leaves a service. Database failures
surface as :class:`bot.store.errors.StoreUnavailable`, policy refusals as other domain errors.
"""
