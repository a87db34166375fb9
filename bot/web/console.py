"""The staff console: the live queue, a conversation with the bot's understanding, takeover.

Pages: ``/console/`` (queue) and ``/console/c/<conversation id>`` (conversation). Their scripts
(``/console/static/console.js``) call the JSON API under ``/console/api/`` and follow two
server-sent event streams:

- ``/console/api/queue/stream``: the queue page again whenever it changes (escalations opened,
  claimed, resolved, a shopper writing); it also keeps the agent's presence fresh;
- ``/console/api/c/<id>/stream?after=<event id>``: new events of that conversation from Rasa's
  tracker store (the shopper's messages as they arrive, the bot's and agents' replies) and the
  escalation's state.

Both poll the databases every process shares (the shop database and the tracker store), so any
number of storefront processes serve the console and see the same thing; nothing is kept in
memory between requests. Every state change is a POST guarded by the session's CSRF token
(``bot.web.staff.csrf_middleware``). Agent messages go through ``bot.console.delivery``: stored
first, then appended to the conversation in Rasa; with Rasa down they wait and are retried.
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
from dataclasses import asdict
from datetime import datetime
from types import MappingProxyType
from typing import Any, Callable

from aiohttp import web

from bot.console import delivery, queue, review, transcript
from bot.services import Services
from bot.web.keys import RASA_API, SERVICES, TEMPLATES, TRACKER
from bot.web.staff import STAFF, csrf_token, require_staff

log = logging.getLogger(__name__)

QUEUE_POLL_SECONDS = 1.0
CONVERSATION_POLL_SECONDS = 0.05
PRESENCE_EVERY_SECONDS = 15.0
KEEPALIVE_SECONDS = 15.0
MAX_STREAM_SECONDS = 3600.0  # a stream ends after an hour; EventSource reconnects by itself
CHAT_ROLES = ("agent", "lead")
CHANNEL_LABELS = MappingProxyType({"socketio": "website chat", "rest": "REST API"})
ESCALATION_ACTIONS = ("claim", "takeover", "message", "handback", "resolve", "release", "reopen")


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_console_resources)
    r = app.router
    r.add_get("/console/", queue_page, name="console_queue")
    r.add_get("/console", lambda request: _redirect("/console/"))
    r.add_get("/console/c/{conversation_id}", conversation_page, name="console_conversation")
    r.add_get("/console/canned", canned_page, name="console_canned")
    r.add_post("/console/canned", canned_save, name="console_canned_save")
    r.add_post("/console/canned/{canned_id:\\d+}/delete", canned_delete)
    r.add_get("/console/api/queue", api_queue)
    r.add_get("/console/api/queue/stream", api_queue_stream)
    r.add_post("/console/api/presence", api_presence)
    r.add_get("/console/api/c/{conversation_id}", api_conversation)
    r.add_get("/console/api/c/{conversation_id}/stream", api_conversation_stream)
    r.add_post("/console/api/c/{conversation_id}/notes", api_add_note)
    r.add_post("/console/api/c/{conversation_id}/tags", api_add_tag)
    r.add_post("/console/api/c/{conversation_id}/tags/delete", api_remove_tag)
    for action in ESCALATION_ACTIONS:
        r.add_post(f"/console/api/escalations/{{escalation_id:\\d+}}/{action}",
                   escalation_action(action))


def _redirect(path: str):
    raise web.HTTPMovedPermanently(path)


async def _console_resources(app: web.Application):
    """The Rasa API client, one per app (the tracker store's engine: bot.web.console_review)."""
    app[RASA_API] = delivery.RasaApi.from_settings(app[SERVICES].settings)
    yield


async def _run(fn: Callable, *args, **kwargs):
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs))


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


def _actor(staff) -> str:
    return f"staff:{staff.email}"


def _render(request: web.Request, template: str, context: dict) -> web.Response:
    html = request.app[TEMPLATES].get_template(template).render(context)
    return web.Response(text=html, content_type="text/html",
                        headers={"Cache-Control": "no-store"})


def _json(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=lambda v: json.dumps(v, default=_plain),
                             headers={"Cache-Control": "no-store"})


def _plain(value: Any):
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") + "Z"
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return str(value)


def _error(message: str, status: int = 400) -> web.Response:
    return _json({"error": message}, status=status)


async def _body(request: web.Request) -> dict:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text='{"error": "expected JSON"}',
                                     content_type="application/json")
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text='{"error": "expected a JSON object"}',
                                     content_type="application/json")
        return body
    return dict(await request.post())


# --- pages -----------------------------------------------------------------------------------

@require_staff(*CHAT_ROLES)
async def queue_page(request: web.Request) -> web.Response:
    staff = request[STAFF]
    flt = queue.QueueFilter.from_query(request.query)
    services = _services(request)
    page = await _run(queue.queue, services, staff.id, flt)
    accepting = await _run(queue.heartbeat, services, staff.id)
    return _render(request, "console_queue.html", {
        "staff": staff, "csrf_token": await csrf_token(request), "page": page, "filter": flt,
        "now": services.now(), "accepting": accepting, "lead": staff.role == "lead",
        "reasons": queue.REASON_LABELS, "channels": CHANNEL_LABELS,
    })


async def _viewable(request: web.Request, conversation_id: str) -> None:
    staff = request[STAFF]
    if len(conversation_id) > 255 or not await _run(
            queue.may_view, _services(request), staff.id, staff.role, conversation_id):
        # The same answer for "no such conversation" and "not yours": ids cannot be probed.
        raise web.HTTPNotFound()


@require_staff(*CHAT_ROLES)
async def conversation_page(request: web.Request) -> web.Response:
    staff = request[STAFF]
    conversation_id = request.match_info["conversation_id"]
    await _viewable(request, conversation_id)
    services = _services(request)
    return _render(request, "console_conversation.html", {
        "staff": staff, "csrf_token": await csrf_token(request),
        "conversation_id": conversation_id,
        "outcomes": queue.ESCALATION_OUTCOMES, "lead": staff.role == "lead",
        "max_chars": services.settings.console.max_message_chars,
        "intents": review.domain_intents(),
    })


@require_staff(*CHAT_ROLES)
async def canned_page(request: web.Request) -> web.Response:
    staff = request[STAFF]
    canned = await _run(queue.canned_replies, _services(request))
    return _render(request, "console_canned.html", {
        "staff": staff, "csrf_token": await csrf_token(request), "canned": canned,
        "lead": staff.role == "lead", "error": request.query.get("error", "")[:200],
    })


@require_staff("lead")
async def canned_save(request: web.Request) -> web.Response:
    staff = request[STAFF]
    form = await request.post()
    raw_id = str(form.get("id") or "")
    try:
        await _run(queue.save_canned, _services(request), staff.id, str(form.get("title", "")),
                   str(form.get("body", "")), actor=_actor(staff),
                   canned_id=int(raw_id) if raw_id.isdigit() else None)
    except queue.ConsoleError as err:
        raise web.HTTPSeeOther("/console/canned?" + _query({"error": str(err)}))
    raise web.HTTPSeeOther("/console/canned")


@require_staff("lead")
async def canned_delete(request: web.Request) -> web.Response:
    staff = request[STAFF]
    try:
        await _run(queue.delete_canned, _services(request),
                   int(request.match_info["canned_id"]), actor=_actor(staff))
    except queue.NotFound:
        raise web.HTTPNotFound()
    raise web.HTTPSeeOther("/console/canned")


def _query(values: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(values)


# --- queue API -------------------------------------------------------------------------------

def _queue_payload(services: Services, tracker, staff_id: int, flt: queue.QueueFilter) -> dict:
    page = queue.queue(services, staff_id, flt)
    latest = {}
    try:
        if tracker is not None:
            latest = transcript.latest_shopper_texts(tracker,
                                                     [i.conversation_id for i in page.items])
    except Exception:  # noqa: BLE001 - the queue shows the stored last message instead
        log.warning("could not read the latest messages from the tracker store", exc_info=True)
    items = []
    for item in page.items:
        row = asdict(item)
        text, at = latest.get(item.conversation_id, (item.last_message, None))
        row["last_message"] = text
        row["last_message_at"] = at
        items.append(row)
    return {"items": items, "total": page.total, "counts": page.counts,
            "available": list(queue.available_agents(services))}


@require_staff(*CHAT_ROLES)
async def api_queue(request: web.Request) -> web.Response:
    staff = request[STAFF]
    flt = queue.QueueFilter.from_query(request.query)
    payload = await _run(_queue_payload, _services(request), request.app.get(TRACKER), staff.id,
                         flt)
    return _json(payload)


async def _event_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-store",
        "X-Accel-Buffering": "no"})
    await response.prepare(request)
    return response


async def _send(response: web.StreamResponse, event: str, data: Any) -> None:
    payload = json.dumps(data, default=_plain)
    await response.write(f"event: {event}\ndata: {payload}\n\n".encode())


@require_staff(*CHAT_ROLES)
async def api_queue_stream(request: web.Request) -> web.StreamResponse:
    """The queue page (JSON) now and whenever it changes; presence kept fresh meanwhile."""
    staff = request[STAFF]
    services = _services(request)
    flt = queue.QueueFilter.from_query(request.query)
    response = await _event_stream(request)
    loop = asyncio.get_running_loop()
    started = last_beat = last_sent = loop.time()
    last_digest = ""
    try:
        while loop.time() - started < MAX_STREAM_SECONDS:
            now = loop.time()
            if now - last_beat >= PRESENCE_EVERY_SECONDS or last_beat == started:
                await _run(queue.heartbeat, services, staff.id)
                last_beat = now
            try:
                payload = await _run(_queue_payload, services, request.app.get(TRACKER),
                                     staff.id, flt)
            except Exception:  # noqa: BLE001 - shown as a banner, the stream goes on
                log.warning("queue refresh failed", exc_info=True)
                await _send(response, "trouble", {"error": "The shop database is not "
                                                           "answering; retrying."})
                await asyncio.sleep(5)
                continue
            digest = hashlib.sha256(json.dumps(payload, default=_plain, sort_keys=True)
                                    .encode()).hexdigest()
            if digest != last_digest:
                await _send(response, "queue", payload)
                last_digest, last_sent = digest, now
            elif now - last_sent >= KEEPALIVE_SECONDS:
                await response.write(b": keep-alive\n\n")
                last_sent = now
            await asyncio.sleep(QUEUE_POLL_SECONDS)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


@require_staff(*CHAT_ROLES)
async def api_presence(request: web.Request) -> web.Response:
    staff = request[STAFF]
    body = await _body(request)
    accepting = str(body.get("accepting", "")).lower() in ("1", "true", "on", "yes")
    state = await _run(queue.heartbeat, _services(request), staff.id, accepting)
    return _json({"accepting": state})


# --- conversation API ------------------------------------------------------------------------

def _message_dict(message) -> dict:
    out = message.as_dict()
    out["at"] += "Z"  # naive UTC in the store; the browser shows local time
    return out


def _tracker(request: web.Request):
    """The tracker store's engine; 503 when the conversations cannot be read."""
    engine = request.app.get(TRACKER)
    if engine is None:
        raise web.HTTPServiceUnavailable(
            text='{"error": "The conversation store cannot be read right now."}',
            content_type="application/json")
    return engine


def _conversation_payload(services: Services, tracker, conversation_id: str,
                          after: int) -> dict:
    escalation = queue.latest_for_conversation(services, conversation_id)
    messages = transcript.load(tracker, conversation_id, after_event_id=after, services=services)
    payload = {
        "escalation": escalation,
        "messages": [_message_dict(m) for m in messages],
        "pending": delivery.undelivered_summary(services, conversation_id),
    }
    if after == 0:
        panel = queue.side_panel(services, conversation_id)
        order = queue.order_number_in([m.text for m in messages if m.sender == "shopper"]) or \
            (panel.orders[0].number if panel.orders else None)
        payload.update(panel=panel, notes=queue.notes(services, conversation_id),
                       tags=queue.tags(services, conversation_id),
                       canned=[{"id": c.id, "title": c.title,
                                "text": queue.fill_placeholders(c.body, name=panel.shopper,
                                                                order=order)}
                               for c in queue.canned_replies(services)])
    return payload


@require_staff(*CHAT_ROLES)
async def api_conversation(request: web.Request) -> web.Response:
    conversation_id = request.match_info["conversation_id"]
    await _viewable(request, conversation_id)
    payload = await _run(_conversation_payload, _services(request), _tracker(request),
                         conversation_id, 0)
    return _json(payload)


def _after(request: web.Request) -> int:
    raw = request.query.get("after", "0")
    return int(raw) if raw.isdigit() and len(raw) < 16 else 0


@require_staff(*CHAT_ROLES)
async def api_conversation_stream(request: web.Request) -> web.StreamResponse:
    """New events of the conversation as they reach the tracker store, and the escalation's
    state and undelivered agent messages whenever they change."""
    conversation_id = request.match_info["conversation_id"]
    await _viewable(request, conversation_id)
    services = _services(request)
    tracker = _tracker(request)
    after = _after(request)
    response = await _event_stream(request)
    loop = asyncio.get_running_loop()
    started = last_sent = last_state_check = loop.time()
    last_state = ""
    try:
        while loop.time() - started < MAX_STREAM_SECONDS:
            now = loop.time()
            try:
                messages = await _run(transcript.load, tracker, conversation_id,
                                      after_event_id=after, services=services)
                if messages:
                    after = max(m.event_id for m in messages)
                    await _send(response, "messages",
                                {"messages": [_message_dict(m) for m in messages]})
                    last_sent = now
                if messages or now - last_state_check >= 0.5:
                    last_state_check = now
                    state = await _run(_state, services, conversation_id)
                    encoded = json.dumps(state, default=_plain, sort_keys=True)
                    if encoded != last_state:
                        await _send(response, "state", state)
                        last_state, last_sent = encoded, now
            except (ConnectionResetError, asyncio.CancelledError):
                raise
            except Exception:  # noqa: BLE001 - a banner, and the stream goes on
                log.warning("conversation refresh failed", exc_info=True)
                await _send(response, "trouble", {"error": "Could not read the conversation; "
                                                           "retrying."})
                await asyncio.sleep(2)
                continue
            if now - last_sent >= KEEPALIVE_SECONDS:
                await response.write(b": keep-alive\n\n")
                last_sent = now
            await asyncio.sleep(CONVERSATION_POLL_SECONDS)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


def _state(services: Services, conversation_id: str) -> dict:
    return {"escalation": queue.latest_for_conversation(services, conversation_id),
            "pending": delivery.undelivered_summary(services, conversation_id)}


@require_staff(*CHAT_ROLES)
async def api_add_note(request: web.Request) -> web.Response:
    staff = request[STAFF]
    conversation_id = request.match_info["conversation_id"]
    await _viewable(request, conversation_id)
    body = await _body(request)
    try:
        note = await _run(queue.add_note, _services(request), staff.id, conversation_id,
                          str(body.get("text", "")))
    except queue.ConsoleError as err:
        return _error(str(err))
    return _json({"note": note})


@require_staff(*CHAT_ROLES)
async def api_add_tag(request: web.Request) -> web.Response:
    return await _tag(request, add=True)


@require_staff(*CHAT_ROLES)
async def api_remove_tag(request: web.Request) -> web.Response:
    return await _tag(request, add=False)


async def _tag(request: web.Request, *, add: bool) -> web.Response:
    staff = request[STAFF]
    conversation_id = request.match_info["conversation_id"]
    await _viewable(request, conversation_id)
    body = await _body(request)
    try:
        if add:
            tags = await _run(queue.add_tag, _services(request), staff.id, conversation_id,
                              str(body.get("tag", "")))
        else:
            tags = await _run(queue.remove_tag, _services(request), conversation_id,
                              str(body.get("tag", "")))
    except queue.ConsoleError as err:
        return _error(str(err))
    return _json({"tags": tags})


# --- escalation actions ----------------------------------------------------------------------

TAKEOVER_TEXT = "{name} from support has joined the chat."
HANDBACK_TEXT = "{name} has handed you back to the assistant - ask me anything."
RESOLVED_TEXT = "{name} has marked this conversation as resolved. How did we do?"


def _first_name(staff) -> str:
    return (staff.name or "Support").split()[0]


def _do(services: Services, api, staff, action: str, escalation_id: int, body: dict) -> dict:
    actor = _actor(staff)
    role = staff.role
    name = _first_name(staff)

    def say(item, kind: str, text: str):
        return delivery.post(services, api, conversation_id=item.conversation_id,
                             escalation_id=item.id, staff_id=staff.id, staff_name=name,
                             kind=kind, text=text)

    posted = None
    if action == "claim":
        item = queue.claim(services, staff.id, escalation_id, actor=actor)
    elif action == "takeover":
        item = queue.claim(services, staff.id, escalation_id, actor=actor)
        if not item.paused:
            posted = say(item, "joined", TAKEOVER_TEXT.format(name=name))
    elif action == "message":
        item = queue.check_held(services, escalation_id, staff.id, role)
        text = str(body.get("text", ""))
        posted = say(item, "text", text)
    elif action == "handback":
        item = queue.check_held(services, escalation_id, staff.id, role)
        posted = say(item, "handed_back", HANDBACK_TEXT.format(name=name))
    elif action == "resolve":
        outcome = str(body.get("outcome", ""))
        if outcome not in queue.ESCALATION_OUTCOMES:
            raise queue.ConsoleError("choose an outcome: " + ", ".join(queue.ESCALATION_OUTCOMES))
        # Resolved first: the shopper's rating may arrive as soon as they are asked.
        item = queue.resolve(services, staff.id, role, escalation_id, outcome, actor=actor)
        if outcome != "spam":
            posted = say(item, "resolved", RESOLVED_TEXT.format(name=name))
        elif item.paused:
            posted = say(item, "handed_back", HANDBACK_TEXT.format(name=name))
    elif action == "release":
        item = queue.check_held(services, escalation_id, staff.id, role)
        if item.paused:
            posted = say(item, "handed_back", HANDBACK_TEXT.format(name=name))
        item = queue.release(services, staff.id, role, escalation_id, actor=actor)
    elif action == "reopen":
        item = queue.reopen(services, staff.id, role, escalation_id, actor=actor)
    else:  # pragma: no cover - the routes name every action
        raise queue.ConsoleError("unknown action")
    result = {"escalation": queue.get(services, escalation_id)}
    if posted is not None:
        result["message"] = posted
        if not posted.delivered:
            result["warning"] = ("The chat server is not answering: the message is saved and "
                                 "will be delivered as soon as it is back.")
    return result


def escalation_action(action: str):
    """The handler of ``POST /console/api/escalations/<id>/<action>``."""

    @require_staff(*CHAT_ROLES)
    async def handler(request: web.Request) -> web.Response:
        return await _escalation_action(request, action)

    handler.__name__ = f"api_{action}"
    return handler


async def _escalation_action(request: web.Request, action: str) -> web.Response:
    staff = request[STAFF]
    escalation_id = int(request.match_info["escalation_id"])
    services = _services(request)
    item = await _run(_get_or_none, services, escalation_id)
    if item is None or not await _run(queue.may_view, services, staff.id, staff.role,
                                      item.conversation_id):
        return _error("no such conversation", 404)
    body = await _body(request)
    try:
        result = await _run(_do, services, request.app[RASA_API], staff, action, escalation_id,
                            body)
    except queue.AlreadyClaimed as err:
        return _error(str(err), 409)
    except queue.NotAllowed as err:
        return _error(str(err), 403)
    except (queue.ConsoleError, delivery.InvalidMessage) as err:
        return _error(str(err), 400)
    return _json(result)


def _get_or_none(services: Services, escalation_id: int):
    try:
        return queue.get(services, escalation_id)
    except queue.NotFound:
        return None

