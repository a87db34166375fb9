"""bot.mail: the outbox is delivered to a real SMTP server (aiosmtpd), retried when the server
is down or refuses, never sent in clear when STARTTLS is on, and written to .eml files when no
SMTP host is configured."""
from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

from sqlalchemy import select

from bot import mail
from bot.demo.fixtures import FIXTURE_NOW
from bot.settings import MailSettings
from bot.store.db import session_scope
from bot.store.models import OutgoingMail
from smtp_helpers import smtp_server


def _queue(engine, *mails):
    with session_scope(engine) as session:
        for m in mails:
            mail.queue(session, m, FIXTURE_NOW)


def _rows(engine):
    with session_scope(engine) as session:
        return [(r.to_addr, r.attempts, r.next_attempt_at, r.last_error)
                for r in session.execute(select(OutgoingMail)).scalars()]


HELLO = mail.Mail("jo@example.com", "Hello", "Line one\nhttp://shop.test/x?t=1.2.abc\n")


def test_queued_mail_is_delivered_over_smtp_and_forgotten(engine):
    _queue(engine, HELLO, mail.Mail("sam@example.org", "Hi", "body"))
    with smtp_server(login=("shop", "s3cret")) as (inbox, port):
        mailer = mail.Mailer(MailSettings(host="127.0.0.1", port=port, starttls=False,
                                          user="shop", password="s3cret",
                                          sender="Shop <shop@example.com>"))
        stats = mail.deliver_queued(engine, mailer, FIXTURE_NOW)
    assert (stats.sent, stats.failed, stats.dropped) == (2, 0, 0)
    assert inbox.logins == ["shop", "shop"]
    assert sorted(inbox.recipients()) == ["jo@example.com", "sam@example.org"]
    first = [m for m in inbox.messages() if m["To"] == "jo@example.com"][0]
    assert first["Subject"] == "Hello" and first["From"] == "Shop <shop@example.com>"
    assert "http://shop.test/x?t=1.2.abc" in first.get_content()
    assert _rows(engine) == []  # sent: the address is not kept


def test_a_down_server_is_retried_later_and_dropped_in_the_end(engine):
    _queue(engine, HELLO)
    from bot import servers

    mailer = mail.Mailer(MailSettings(host="127.0.0.1", port=servers.free_port(),
                                      starttls=False, timeout=2))
    stats = mail.deliver_queued(engine, mailer, FIXTURE_NOW)
    assert stats.failed == 1
    [(to, attempts, next_at, error)] = _rows(engine)
    assert attempts == 1 and next_at == FIXTURE_NOW + timedelta(seconds=mail.RETRY_DELAYS[0])
    assert "ConnectionRefused" in error
    assert mail.deliver_queued(engine, mailer, FIXTURE_NOW).failed == 0  # not due yet
    when = FIXTURE_NOW
    for _ in mail.RETRY_DELAYS:
        when += timedelta(days=1)
        mail.deliver_queued(engine, mailer, when)
    assert _rows(engine) == []  # gave up after the last retry


def test_starttls_is_required_unless_turned_off(engine):
    _queue(engine, HELLO)
    with smtp_server() as (inbox, port):  # this test server offers no STARTTLS
        strict = mail.Mailer(MailSettings(host="127.0.0.1", port=port))  # STARTTLS on
        assert mail.deliver_queued(engine, strict, FIXTURE_NOW).failed == 1
        assert inbox.envelopes == []  # never sent in clear
        assert "SMTPNotSupportedError" in _rows(engine)[0][3]


def test_two_workers_never_send_one_mail_twice(engine):
    _queue(engine, HELLO)
    with smtp_server() as (inbox, port):
        mailer = mail.Mailer(MailSettings(host="127.0.0.1", port=port, starttls=False))
        with session_scope(engine) as session:  # another worker claimed it a moment ago
            row = session.execute(select(OutgoingMail)).scalar_one()
            row.next_attempt_at = FIXTURE_NOW + timedelta(seconds=mail.CLAIM_SECONDS)
            row.attempts = 1
        assert mail.deliver_queued(engine, mailer, FIXTURE_NOW).sent == 0
    assert inbox.envelopes == []


def test_without_an_smtp_host_mail_is_written_to_files(engine, tmp_path, caplog):
    _queue(engine, HELLO)
    folder = tmp_path / "mail"
    mailer = mail.Mailer(MailSettings(host="", mail_dir=folder))
    with caplog.at_level("WARNING"):
        assert mail.deliver_queued(engine, mailer, FIXTURE_NOW).sent == 1
    [eml] = list(folder.glob("*.eml"))
    assert oct(eml.stat().st_mode & 0o777) == "0o600"
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "jo@example.com" and "Line one" in message.get_content()
    assert "SMTP_HOST is not set" in caplog.text and str(eml) in caplog.text


def test_mail_settings_from_the_environment():
    s = MailSettings.from_env({"SMTP_HOST": "smtp.example.com", "SMTP_PORT": "2525",
                               "SMTP_USER": "u", "SMTP_PASSWORD": "p", "SMTP_FROM": "a@b.c",
                               "SMTP_STARTTLS": "0"})
    assert (s.host, s.port, s.user, s.password, s.sender, s.starttls, s.ssl) == (
        "smtp.example.com", 2525, "u", "p", "a@b.c", False, False)
    assert "p'" not in repr(s) and "password" not in repr(s)  # never logged by accident
    assert MailSettings.from_env({}).starttls is True


def test_an_html_alternative_goes_out_with_the_text(engine):
    _queue(engine, mail.Mail("ana@example.com", "Digest", "Plain words\n",
                             "<p>Plain <b>words</b></p>"))
    with smtp_server() as (inbox, port):
        mailer = mail.Mailer(MailSettings(host="127.0.0.1", port=port, starttls=False))
        assert mail.deliver_queued(engine, mailer, FIXTURE_NOW).sent == 1
    [message] = inbox.messages()
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "Plain words"
    assert message.get_body(("html",)).get_content().strip() == "<p>Plain <b>words</b></p>"
