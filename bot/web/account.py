"""``GET /account/export.json``: the signed-in customer's data as a JSON download.

The chat's "export my data" answer links here (``bot.support.accounts.export_link``). The link
carries no secret: the storefront's session cookie decides whose data it is, so it works only in
a browser signed in as that customer, and for nobody else. Each download leaves a
``data_exported`` audit record.
"""
from __future__ import annotations

import asyncio
from datetime import date
from types import MappingProxyType

from aiohttp import web

from bot.privacy.export import to_json
from bot.store.errors import NotSignedIn, ShopError
from bot.support import accounts
from bot.web.keys import SERVICES
from bot.web.views import signed_in_id

HEADERS = MappingProxyType({"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                            "Referrer-Policy": "no-referrer"})


async def export_json(request: web.Request) -> web.Response:
    customer_id = signed_in_id(request)
    if customer_id is None:
        raise web.HTTPForbidden(text="Sign in to the shop to download your data.",
                                headers=dict(HEADERS))
    services = request.app[SERVICES]
    try:
        data = await asyncio.get_running_loop().run_in_executor(
            None, accounts.export_my_data, services, customer_id)
    except NotSignedIn:
        raise web.HTTPForbidden(text="Sign in to the shop to download your data.",
                                headers=dict(HEADERS))
    except ShopError:  # the customer no longer exists
        raise web.HTTPNotFound(headers=dict(HEADERS))
    filename = f"my-data-{date.today().isoformat()}.json"
    return web.Response(text=to_json(data), content_type="application/json", headers={
        **HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})
