"""The real input channels served by a real Sanic server inside the test's event loop, with a
scripted ``on_new_message`` in place of Rasa and their limits counted in the test database."""
from __future__ import annotations

import asyncio
import socket
import uuid
from contextlib import asynccontextmanager
from types import SimpleNamespace

from sanic import Sanic

from bot.demo.fixtures import FIXTURE_NOW
from bot.services import Services
from bot.settings import Settings
from bot.web.guard import ChannelGuard, Limits

SECRET = "channel-test-secret"


def make_guard(db_url, engine, limits: Limits | None = None, **settings) -> ChannelGuard:
    """A guard counting in the test database on a fixed clock (so a test's messages never
    straddle two one-minute windows)."""
    services = Services(Settings(database_url=db_url, identity_secret=SECRET, **settings),
                        engine=engine, clock=lambda: FIXTURE_NOW)
    return ChannelGuard(limits or Limits(), services)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PausedAgent:
    """Stands in for ``app.ctx.agent``: its tracker store says whether staff paused a chat."""

    def __init__(self, paused: set[str]):
        async def retrieve(sender_id):
            return SimpleNamespace(is_paused=lambda: sender_id in paused)

        self.tracker_store = SimpleNamespace(retrieve=retrieve)


def test_mode() -> None:
    """Sanic's test mode (as sanic-testing sets it): several apps in one process, each startup
    rewriting Sanic's request reader from the original rather than from the last app's rewrite.
    Call before building an app."""
    Sanic.test_mode = True


@asynccontextmanager
async def serve(blueprint, prefix: str, agent=None):
    """Serve ``blueprint`` at ``prefix`` on a free port; yields the base URL."""
    test_mode()
    app = Sanic(f"channel_test_{uuid.uuid4().hex[:10]}", configure_logging=False)
    app.ctx.agent = agent
    app.blueprint(blueprint, url_prefix=prefix)
    async with serve_app(app) as url:
        yield url


@asynccontextmanager
async def serve_app(app: Sanic):
    """Serve a built Sanic app on a free port; yields the base URL."""
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    await server.startup()  # finalises the routes; the socket already listens
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()  # stops the app's background tasks (the outbox drainer)
        server.close()
        await server.wait_closed()
        await server.after_stop()


async def raw_request(port: int, head: bytes, body: bytes = b"", wait: float = 5.0) -> bytes:
    """Send ``head`` and ``body`` as they are and return what the server answered (until it
    closes the connection or ``wait`` seconds pass)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + body)
    await writer.drain()
    data = b""
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), wait)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and b'}' in data.split(b"\r\n\r\n", 1)[1]:
                break
    except asyncio.TimeoutError:
        pass
    writer.close()
    return data
