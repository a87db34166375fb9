"""Outgoing mail: queued in the shop database, delivered by the worker over SMTP.

A service that needs to send mail (the newsletter's confirmation link) calls :func:`queue` in
the same transaction as the change that needs it, so a mail is never sent for a change that
rolled back, and the chat never waits for (or reveals anything through) an SMTP round trip. The
worker (``python -m bot worker``) calls :func:`deliver_queued` every few seconds; a delivered
mail's row is deleted, a failed one is retried with growing delays and dropped after the last.

:class:`Mailer` sends through the SMTP server of :class:`~bot.settings.MailSettings`
(``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USER``/``SMTP_PASSWORD``, ``SMTP_FROM``, STARTTLS unless
``SMTP_STARTTLS=0``, or TLS from the start with ``SMTP_SSL=1``). With no ``SMTP_HOST`` (the
``make run`` default) it writes each message as an ``.eml`` file under ``SHOP_MAIL_DIR``
(``var/mail/``) and logs that it did. A mail with ``html`` goes out as multipart/alternative
(the plain text first, the HTML second); the caller escapes what it puts in the HTML.
"""
from __future__ import annotations

import logging
import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.settings import MailSettings
from bot.store.db import session_scope
from bot.store.models import OutgoingMail

log = logging.getLogger(__name__)

# Seconds to wait before each retry; after the last one the mail is dropped.
RETRY_DELAYS = (60, 300, 900, 3600, 6 * 3600)
# A claimed mail is not picked up by another worker for this long (a crash mid-send).
CLAIM_SECONDS = 300


class MailError(Exception):
    """The SMTP server refused or could not be reached."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str  # plain text
    html: str | None = None  # an HTML alternative (multipart/alternative), already escaped


@dataclass
class DeliveryStats:
    sent: int = 0
    failed: int = 0  # will be retried
    dropped: int = 0  # gave up after the last retry


def queue(session: Session, mail: Mail, now: datetime) -> OutgoingMail:
    """Add ``mail`` to the outbox in ``session``'s transaction (sent once it commits)."""
    row = OutgoingMail(to_addr=mail.to, subject=mail.subject[:255], body=mail.body,
                       html=mail.html, created_at=now, attempts=0, next_attempt_at=now)
    session.add(row)
    return row


def build_message(settings: MailSettings, mail: Mail, now: datetime | None = None
                  ) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime((now or datetime.utcnow()).replace(tzinfo=timezone.utc))
    domain = parseaddr(settings.sender)[1].partition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(mail.body)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


class Mailer:
    """Sends one message (SMTP, or an .eml file when no SMTP host is configured)."""

    def __init__(self, settings: MailSettings):
        self.settings = settings

    def send(self, mail: Mail) -> str:
        """Send ``mail``; returns ``"smtp"`` or the .eml file's path. Raises :class:`MailError`."""
        message = build_message(self.settings, mail)
        if not self.settings.host:
            return str(self._write(message))
        try:
            self._smtp(message)
        except (smtplib.SMTPException, OSError) as err:
            raise MailError(f"{type(err).__name__}: {err}"[:250]) from err
        return "smtp"

    def _smtp(self, message: EmailMessage) -> None:
        s = self.settings
        context = ssl.create_default_context()
        if s.ssl:
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        with client:
            client.ehlo()
            if s.starttls and not s.ssl:
                # Raises SMTPNotSupportedError when the server offers no STARTTLS: never fall
                # back to sending credentials and addresses in clear.
                client.starttls(context=context)
                client.ehlo()
            if s.user:
                client.login(s.user, s.password)
            client.send_message(message)

    def _write(self, message: EmailMessage) -> Path:
        folder = Path(self.settings.mail_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{datetime.utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(bytes(message))
        log.warning("SMTP_HOST is not set: mail to %s not sent, written to %s",
                    message["To"], path)
        return path


def deliver_queued(engine: Engine, mailer: Mailer, now: datetime, limit: int = 50
                   ) -> DeliveryStats:
    """Send the mails that are due; each is claimed first, so two workers never send one twice."""
    stats = DeliveryStats()
    with session_scope(engine) as session:
        due = session.execute(
            select(OutgoingMail.id, OutgoingMail.next_attempt_at)
            .where(OutgoingMail.next_attempt_at <= now)
            .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id).limit(limit)).all()
    for mail_id, seen in due:
        with session_scope(engine) as session:
            claimed = session.execute(
                update(OutgoingMail)
                .where(OutgoingMail.id == mail_id, OutgoingMail.next_attempt_at == seen)
                .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
                        attempts=OutgoingMail.attempts + 1)).rowcount
            row = session.get(OutgoingMail, mail_id) if claimed else None
            mail = Mail(row.to_addr, row.subject, row.body, row.html) if row else None
            attempts = row.attempts if row else 0
        if mail is None:
            continue
        try:
            mailer.send(mail)
        except MailError as err:
            with session_scope(engine) as session:
                row = session.get(OutgoingMail, mail_id)
                if row is None:
                    continue
                if attempts > len(RETRY_DELAYS):
                    log.error("mail %s to %s dropped after %s attempts: %s", mail_id, mail.to,
                              attempts, err)
                    session.delete(row)
                    stats.dropped += 1
                else:
                    log.warning("mail %s to %s not sent (%s); retrying", mail_id, mail.to, err)
                    row.last_error = str(err)[:255]
                    row.next_attempt_at = now + timedelta(seconds=RETRY_DELAYS[attempts - 1])
                    stats.failed += 1
            continue
        with session_scope(engine) as session:
            row = session.get(OutgoingMail, mail_id)
            if row is not None:
                session.delete(row)  # sent: the address is not kept
        stats.sent += 1
    return stats
