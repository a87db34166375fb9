"""Need extraction: a spaCy pipeline (trained NER + rule components) that turns a shopper's
message into structured NEED records, plus the service that merges, matches and logs them.

Public entry points: :class:`bot.needs.pipeline.NeedExtractor` (text -> needs),
:func:`bot.needs.service.capture` (one conversation turn), ``python -m bot needs ...`` (CLI).
"""
