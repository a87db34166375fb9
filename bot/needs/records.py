"""The needs log after the turn: pending needs settled once their conversation goes quiet.

A need is ``pending`` while the bot waits for the shopper's answer (it asked for the size) or
when the turn could not read the catalogue (the database was down and the need waited in the
outbox). A pending need is never counted as unmet. When its conversation has been quiet for
``settings.needs.pending_idle_minutes`` (30 by default), :func:`settle_pending` (the worker's
``needs_settle`` job) gives it the status its known details give against the catalogue
(:func:`bot.store.catalogue.assess_need`): a shopper asked for hiking boots, was asked the size
and left, so the need is judged without a size. ``matched_product_ids`` then holds what fits
(nothing was shown). ``updated_at`` is left alone: it is when the shopper last spoke of the need.

Quiet means no row of the conversation's needs changed since the cut-off and, when the caller can
tell (``last_activity``: the worker reads Rasa's tracker store), no event in the conversation
either. Each need is settled with a conditional update, so a shopper who answers at that moment
wins.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from bot.insights import facets as insight_facets
from bot.needs.service import need_from_row
from bot.needs.vocab import load_vocab
from bot.store import catalogue, fit
from bot.store.db import session_scope
from bot.store.models import Need

log = logging.getLogger(__name__)

# conversation id -> the time (epoch seconds) of its newest event, None when unknown
LastActivity = Callable[[str], "float | None"]


def _epoch(when: datetime) -> float:
    return when.replace(tzinfo=timezone.utc).timestamp()


def settle_pending(engine: Engine, now: datetime, idle: timedelta, *,
                   last_activity: LastActivity | None = None, limit: int = 500) -> int:
    """Settle the pending needs of conversations quiet for ``idle`` (module docstring); returns
    how many were settled."""
    cutoff = now - idle
    with session_scope(engine) as session:
        rows = session.execute(
            select(Need.conversation_id, func.max(Need.updated_at))
            .where(Need.conversation_id.in_(
                select(Need.conversation_id).where(Need.status == fit.PENDING)))
            .group_by(Need.conversation_id)
            .order_by(func.max(Need.updated_at))).all()
    quiet = [cid for cid, latest in rows if latest <= cutoff]
    settled = 0
    vocab = load_vocab()
    for conversation_id in quiet:
        if settled >= limit:
            break
        if last_activity is not None:
            latest = last_activity(conversation_id)
            if latest is not None and latest > _epoch(cutoff):
                continue
        with session_scope(engine) as session:
            pending = session.execute(select(Need).where(
                Need.conversation_id == conversation_id, Need.status == fit.PENDING)
            ).scalars().all()
            changed = []
            for row in pending:
                match = catalogue.assess_need(session, need_from_row(row), vocab)
                if session.execute(
                        update(Need)
                        .where(Need.id == row.id, Need.status == fit.PENDING,
                               Need.updated_at == row.updated_at)
                        .values(status=match.status,
                                matched_product_ids=json.dumps(match.product_ids))
                        .execution_options(synchronize_session=False)).rowcount:
                    changed.append(row.id)
            insight_facets.sync(session, changed)  # the status counts in the insights' rollup
            settled += len(changed)
    if settled:
        log.info("needs: %s pending needs settled", settled)
    return settled
