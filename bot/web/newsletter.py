"""The newsletter's confirmation link (double opt-in, ``bot.support.accounts``).

``GET /newsletter/confirm?t=TOKEN`` only shows what the link does and a button: mail scanners
and link previews open links, and opening one must not subscribe anybody. The button POSTs the
token to ``/newsletter/confirm``, which subscribes the address if the signed token is valid, not
expired and the address is still pending.
"""
from __future__ import annotations

import asyncio
from types import MappingProxyType

from aiohttp import web

from bot.support import accounts
from bot.web.keys import SERVICES
from bot.web.views import render

PATH = accounts.CONFIRM_PATH
# The token must not travel on in a Referer header.
HEADERS = MappingProxyType({"Referrer-Policy": "no-referrer"})
STATUS = MappingProxyType({"confirmed": 200, "already": 200, "expired": 410, "invalid": 400})


async def _check(request: web.Request, token: object, apply: bool) -> accounts.Confirmation:
    services = request.app[SERVICES]
    try:
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: accounts.confirm_newsletter(services, token, apply=apply))
    except accounts.NewsletterNotConfigured:
        raise web.HTTPServiceUnavailable(text="newsletter confirmation is not configured")


def _page(request: web.Request, result: accounts.Confirmation, token: str, done: bool
          ) -> web.Response:
    response = render(request, "newsletter.html",
                      {"result": result, "confirm_token": token, "done": done},
                      status=STATUS.get(result.status, 400))
    response.headers.update(HEADERS)
    return response


async def confirm_page(request: web.Request) -> web.Response:
    token = request.query.get("t", "")
    return _page(request, await _check(request, token, apply=False), token, done=False)


async def confirm(request: web.Request) -> web.Response:
    form = await request.post()
    token = form.get("t", "")
    token = token if isinstance(token, str) else ""
    return _page(request, await _check(request, token, apply=True), token, done=True)


def setup(app: web.Application) -> None:
    app.router.add_get(PATH, confirm_page, name="newsletter_confirm_page")
    app.router.add_post(PATH, confirm, name="newsletter_confirm")
