"""Privacy by default: conversation retention, a customer's data export and erasure.

- :mod:`bot.privacy.trackerstore` reads and deletes conversations in Rasa's SQL tracker store
  (SQLite by default, PostgreSQL in the cluster shape);
- :mod:`bot.privacy.retention` deletes conversation events older than the retention period;
- :mod:`bot.privacy.erasure` erases a customer's data (shop database at once, the tracker store
  once the conversations are quiet) and :mod:`bot.privacy.export` gathers it as JSON;
- :mod:`bot.privacy.cli` is ``python -m bot privacy ...``; the worker (:mod:`bot.worker`) runs
  retention daily and finishes pending erasures.

See docs/privacy.md.
"""
