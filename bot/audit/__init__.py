"""The staff-visible audit log: what happened to whom, written in the same transaction as the
change it records (or on its own when there is no change, e.g. a locked order).

``detail`` is redacted before it is stored: an audit record must not become a new place where
personal data lives.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.redact import redact
from bot.store.models import AUDIT_ACTIONS, AuditRecord


@dataclass(frozen=True)
class AuditView:
    id: int
    created_at: datetime
    actor: str
    action: str
    subject: str
    detail: dict


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def record(session: Session, *, now: datetime, actor: str, action: str, subject: str = "",
           detail: dict | None = None) -> AuditRecord:
    """Add an audit record to ``session`` (committed with it)."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    row = AuditRecord(created_at=now, actor=actor[:120], action=action,
                      subject=redact(subject)[:255],
                      detail=json.dumps(_clean(detail or {}), sort_keys=True, default=str))
    session.add(row)
    return row


def recent(session: Session, *, limit: int = 50, action: str | None = None,
           since: datetime | None = None) -> list[AuditView]:
    """The newest records first, optionally of one action and after ``since``."""
    stmt = select(AuditRecord).order_by(AuditRecord.created_at.desc(), AuditRecord.id.desc())
    if action:
        stmt = stmt.where(AuditRecord.action == action)
    if since is not None:
        stmt = stmt.where(AuditRecord.created_at >= since)
    return [
        AuditView(r.id, r.created_at, r.actor, r.action, r.subject, json.loads(r.detail or "{}"))
        for r in session.execute(stmt.limit(limit)).scalars()
    ]
