"""A real SMTP server for tests (aiosmtpd) that keeps what it receives."""
from __future__ import annotations

from contextlib import contextmanager
from email import message_from_bytes, policy
from typing import Iterator

from bot import servers


class Inbox:
    def __init__(self):
        self.envelopes = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self):
        return [message_from_bytes(e.original_content, policy=policy.default)
                for e in self.envelopes]

    def recipients(self) -> list[str]:
        return [r for e in self.envelopes for r in e.rcpt_tos]


@contextmanager
def smtp_server(**kwargs) -> Iterator[tuple[Inbox, int]]:
    """(inbox, port) of an aiosmtpd server on 127.0.0.1; ``login=(user, password)`` requires
    that login (over plain text: a test server only)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    inbox = Inbox()
    login = kwargs.pop("login", None)
    if login is not None:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (auth_data.login.decode(), auth_data.password.decode()) == login
            if ok:
                inbox.logins.append(auth_data.login.decode())
            return AuthResult(success=ok)

        kwargs.update(authenticator=authenticator, auth_require_tls=False,
                      auth_required=True)
    port = servers.free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
