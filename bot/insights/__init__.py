"""Product insights: what shoppers asked for, computed from the logged needs (issue 13).

Public API (stable; the ``/insights/`` pages and ``python -m bot insights`` use only this).
Every view takes the process's :class:`~bot.services.Services` first and keyword filters:
``since``/``until`` (a date or ``YYYY-MM-DD``; both included; default: the 90 days up to
today), ``category`` (a category slug; default: all). Bad input raises :class:`InsightsError`
(a ``ValueError``) whose message can be shown as is: a day in the future, ``since`` after
``until``, an unknown category, field, status or bucket, a limit out of range.

- ``volume(services, *, since, until, category, bucket="week")`` -> :class:`VolumeReport`:
  needs per day/week/month in total (every bucket) and per category, unmet and pending counts,
  ``share_unmet``.
- ``top(services, field, *, since, until, category, limit=20)`` -> :class:`TopReport`: the
  most requested values of a field in :data:`FIELDS` (product, category, attribute, colour,
  size, brand, price_band, recipient, occasion, theme), with unmet counts.
- ``unmet(services, *, by="product", since, until, category, order="volume"|"value",
  limit=20, examples_per_row=3)`` -> :class:`UnmetReport`: unmet demand per value with its
  reasons (:data:`UNMET_REASONS`), shoppers, expected value (propensity x price; see
  :mod:`bot.insights.service`) and example messages (stored redacted).
- ``themes(services, *, since, until, category, limit=20, with_attributes=False,
  examples_per_row=3)`` -> :class:`ThemeReport`: the most requested themes (a product with the
  attributes asked with it: "lightweight + waterproof + hiking jacket").
- ``emerging(services, *, as_of, weeks=4, ratio=3, category, alpha=0.05, min_recent=5,
  limit=20, examples_per_row=3)`` -> :class:`EmergingReport`: themes that grew in the last
  ``weeks`` weeks against the ``weeks * ratio`` before, with an exact binomial test and
  Benjamini-Hochberg (:mod:`bot.insights.emerging`).
- ``drilldown(services, *, field=None, value=None, category, status=None, since, until,
  page=1, per_page=50)`` -> :class:`NeedPage`: the needs behind any number, newest first;
  ``status`` is matched, pending, unmet or unmet:<reason> (:data:`STATUS_FILTERS`).
- ``examples(services, field, value, *, since, until, category, count=3, unmet_only=False)``,
  ``categories(services)``: example messages of one value; the category slugs for filters.
- ``to_csv(view)`` (formula-safe), ``to_json(view)``: any result above, exported.

Every result is a frozen dataclass with ``as_dict()`` (JSON-ready), ``csv_columns`` and
``csv_rows()``. The views read the facets and the daily rollup that :mod:`bot.insights.facets`
keeps current: every writer of need rows calls ``facets.sync(session, rows_or_ids)`` in its
transaction, erasure calls ``facets.forget`` before deleting needs, and
``python -m bot insights rebuild`` recomputes both from the needs table.
"""
from bot.insights.emerging import EmergingReport, EmergingTheme, emerging
from bot.insights.export import to_csv, to_json
from bot.insights.filters import (BUCKETS, FIELDS, STATUS_FILTERS, UNMET_REASONS, InsightsError,
                                  Period)
from bot.insights.service import (NeedItem, NeedPage, ThemeReport, ThemeRow, TopReport, TopRow,
                                  UnmetReport, UnmetRow, VolumePoint, VolumeReport, categories,
                                  drilldown, examples, themes, top, unmet, volume)

__all__ = [
    "BUCKETS", "FIELDS", "STATUS_FILTERS", "UNMET_REASONS", "EmergingReport", "EmergingTheme",
    "InsightsError", "NeedItem", "NeedPage", "Period", "ThemeReport", "ThemeRow", "TopReport",
    "TopRow", "UnmetReport", "UnmetRow", "VolumePoint", "VolumeReport", "categories",
    "drilldown", "emerging", "examples", "themes", "to_csv", "to_json", "top", "unmet",
    "volume",
]
