"""The console's review and report pages (bot.web.console_review) over aiohttp's test client."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from yarl import URL

from bot import audit
from bot.console import review
from bot.store.models import Escalation, ReviewCorrection
from bot.web.app import create_app
from bot.web.config import WebConfig, WidgetConfig
from bot.web.keys import TRACKER
from bot.web.staff import StaffWebConfig
from tests.console.conftest import PASSWORD

C = "conv/1 <x>"


@pytest.fixture
async def app_client(aiohttp_client, console_services, people):
    config = WebConfig(settings=console_services.settings,
                       widget=WidgetConfig(server_url="http://chat.example:5005"))
    app = create_app(config, console_services,
                     staff=StaffWebConfig(Fernet.generate_key().decode()))
    return await aiohttp_client(app)


async def _token(client, path="/staff/login") -> str:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return re.search(r'name="csrf_token" value="([^"]+)"', await response.text()).group(1)


async def _login(client, role: str) -> str:
    token = await _token(client)
    response = await client.post("/staff/login", allow_redirects=False, data={
        "csrf_token": token, "email": f"{role}@example-shop.co.uk", "password": PASSWORD})
    assert response.status == 303
    return await _token(client, "/staff/")  # the new session's token


@pytest.fixture
def messages(tracker_file, clock):
    tracker_file.now = clock.now - timedelta(days=1)
    return {
        "bold": tracker_file.user(C, "<b>boots</b> & <script>x</script>", "greet", 0.2),
        "order": tracker_file.user(C, "where is my stuff", "greet", 0.4),
        "sure": tracker_file.user(C, "hello", "greet", 0.99),
    }


async def test_no_session_means_the_sign_in_page(app_client):
    for path in ("/console/review", "/console/reports", "/console/reports.csv"):
        response = await app_client.get(path, allow_redirects=False)
        assert response.status == 303
        assert URL(response.headers["Location"]).path == "/staff/login"
    response = await app_client.get("/console/reports.json", allow_redirects=False)
    assert response.status == 401


async def test_analysts_may_not_see_any_of_it(app_client, messages):
    token = await _login(app_client, "analyst")
    for path in ("/console/review", "/console/reports", "/console/reports.json",
                 "/console/reports.csv"):
        assert (await app_client.get(path)).status == 403, path
    response = await app_client.post("/console/review/corrections", data={
        "csrf_token": token, "conversation_id": C, "event_id": messages["bold"],
        "kind": "correct"})
    assert response.status == 403
    response = await app_client.post("/console/review/corrections/1/decide",
                                     data={"csrf_token": token, "decision": "approve"})
    assert response.status == 403


async def test_an_agent_reviews_the_inbox(app_client, messages, console_services, people):
    token = await _login(app_client, "agent")
    response = await app_client.get("/console/review")
    html = await response.text()
    assert response.status == 200
    assert "&lt;b&gt;boots&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;" in html
    assert "<script>x" not in html
    assert 'href="/console/c/conv%2F1%20%3Cx%3E"' in html
    assert '<option value="track_order">' in html and 'name="need_price_max"' in html
    assert "Waiting for approval" not in html and "/console/reports" not in html
    assert html.index("where is my stuff") > html.index("boots")  # lowest confidence first
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]

    response = await app_client.post("/console/review/corrections", allow_redirects=False,
                                     data={"csrf_token": token, "conversation_id": C,
                                           "event_id": str(messages["bold"]), "kind": "intent",
                                           "corrected_intent": "product_search", "days": "7"})
    assert response.status == 303
    assert response.headers["Location"] == "/console/review?days=7&saved=1"
    html = await (await app_client.get(response.headers["Location"])).text()
    assert "correction is saved" in html and "&lt;b&gt;boots" not in html  # reviewed

    response = await app_client.post("/console/review/corrections", allow_redirects=False,
                                     data={"csrf_token": token, "conversation_id": C,
                                           "event_id": str(messages["order"]), "kind": "need",
                                           "need_product": "parcel", "need_price_max": "",
                                           "need_colour": "red, blue"})
    assert response.status == 303
    rows = review.list_corrections(console_services)
    assert {(r.kind, r.event_id) for r in rows} == {("intent", messages["bold"]),
                                                    ("need", messages["order"])}
    need = next(r for r in rows if r.kind == "need").need
    assert need == {"product": ["parcel"], "colour": ["red", "blue"]}
    assert {r.created_by for r in rows} == {people["agent"].id}


async def test_a_bad_correction_is_explained(app_client, messages):
    token = await _login(app_client, "agent")
    response = await app_client.post("/console/review/corrections", data={
        "csrf_token": token, "conversation_id": C, "event_id": str(messages["bold"]),
        "kind": "intent", "corrected_intent": "<not an intent>"})
    assert response.status == 400
    assert "must be one of the domain" in await response.text()
    response = await app_client.post(
        "/console/review/corrections", json={"conversation_id": "other",
                                             "event_id": messages["bold"], "kind": "correct"},
        headers={"X-CSRF-Token": token})
    assert response.status == 400
    assert "not a message of conversation" in (await response.json())["error"]
    response = await app_client.post("/console/review/corrections", data="[1, 2",
                                     headers={"X-CSRF-Token": token,
                                              "Content-Type": "application/json"})
    assert response.status == 400 and (await response.json())["error"] == "the body is not JSON"


async def test_json_corrections(app_client, messages, console_services):
    token = await _login(app_client, "agent")
    response = await app_client.post(
        "/console/review/corrections",
        json={"conversation_id": C, "event_id": messages["order"], "kind": "need",
              "need": {"product": "boots", "size": ["9"]}},
        headers={"X-CSRF-Token": token, "Accept": "application/json"})
    assert response.status == 201
    body = await response.json()
    assert body["status"] == "pending"
    assert review.get(console_services, body["id"]).need == {"product": ["boots"],
                                                             "size": ["9"]}


async def test_csrf_is_required(app_client, messages):
    await _login(app_client, "agent")
    response = await app_client.post("/console/review/corrections", data={
        "conversation_id": C, "event_id": str(messages["bold"]), "kind": "correct"})
    assert response.status == 403
    response = await app_client.post("/console/review/corrections", data={
        "csrf_token": "wrong", "conversation_id": C, "event_id": str(messages["bold"]),
        "kind": "correct"})
    assert response.status == 403


def _pending(services, tracker, people, event_id):
    return review.correct(services, staff_id=people["agent"].id, conversation_id=C,
                          event_id=event_id, kind="intent", corrected_intent="track_order",
                          tracker=tracker)


async def test_an_agent_may_not_approve(app_client, messages, console_services, tracker,
                                        people):
    correction = _pending(console_services, tracker, people, messages["order"])
    token = await _login(app_client, "agent")
    response = await app_client.post(f"/console/review/corrections/{correction}/decide",
                                     data={"csrf_token": token, "decision": "approve"})
    assert response.status == 403
    assert review.get(console_services, correction).status == "pending"


async def test_a_lead_approves_and_rejects(app_client, messages, console_services, tracker,
                                           people):
    first = _pending(console_services, tracker, people, messages["order"])
    second = _pending(console_services, tracker, people, messages["bold"])
    token = await _login(app_client, "lead")
    html = await (await app_client.get("/console/review")).text()
    assert "Waiting for approval (2)" in html
    assert f'action="/console/review/corrections/{first}/decide"' in html
    assert "Sam &lt;Agent&gt;" in html and 'href="/console/reports"' in html

    response = await app_client.post(f"/console/review/corrections/{first}/decide",
                                     allow_redirects=False,
                                     data={"csrf_token": token, "decision": "approve"})
    assert response.status == 303
    assert response.headers["Location"] == "/console/review?decided=approved"
    view = review.get(console_services, first)
    assert (view.status, view.decided_by) == ("approved", people["lead"].id)
    with console_services.unit_of_work() as s:
        assert [r.subject for r in audit.recent(s, action="review_decided")] == [
            f"correction:{first}"]

    response = await app_client.post(f"/console/review/corrections/{second}/decide",
                                     json={"decision": "reject"},
                                     headers={"X-CSRF-Token": token})
    assert response.status == 200 and (await response.json())["status"] == "rejected"
    # decided already, unknown, bad decision
    response = await app_client.post(f"/console/review/corrections/{second}/decide",
                                     json={"decision": "approve"},
                                     headers={"X-CSRF-Token": token})
    assert response.status == 409
    response = await app_client.post("/console/review/corrections/999/decide",
                                     json={"decision": "approve"},
                                     headers={"X-CSRF-Token": token})
    assert response.status == 404
    response = await app_client.post(f"/console/review/corrections/{first}/decide",
                                     data={"csrf_token": token, "decision": "maybe"})
    assert response.status == 400
    response = await app_client.post("/console/review/corrections/1x/decide",
                                     data={"csrf_token": token, "decision": "approve"})
    assert response.status == 404
    with console_services.unit_of_work() as s:
        assert s.query(ReviewCorrection).filter_by(status="pending").count() == 0


@pytest.fixture
def report_data(console_services, tracker_file, clock):
    day = clock.now.replace(hour=9, minute=0)
    with console_services.unit_of_work() as s:
        s.add(Escalation(conversation_id="a", reason="human_request", status="resolved",
                         summary="", created_at=day, updated_at=day,
                         first_reply_at=day + timedelta(minutes=2),
                         resolved_at=day + timedelta(minutes=20), outcome="solved", rating=4,
                         paused=False, last_message=""))
    tracker_file.turn("a", "help", at=day - timedelta(minutes=1))
    tracker_file.turn("b", "hello", at=day)
    return day.date()


async def test_the_reports_for_a_lead(app_client, report_data):
    await _login(app_client, "lead")
    today = report_data.isoformat()
    response = await app_client.get("/console/reports")
    html = await response.text()
    assert response.status == 200
    assert '<canvas id="chart-escalations"' in html
    assert re.search(r'<script src="/console/static/chart\.umd\.js\?v=\w+"></script>', html)
    assert "<script>" not in html  # no inline script (CSP)
    assert f'data-source="/console/reports.json?since=' in html and f"until={today}" in html
    assert "50.0% of 2" in html  # containment: b had no escalation

    data = await (await app_client.get(f"/console/reports.json?since={today}&until={today}"))\
        .json()
    assert data["total"]["escalations"] == 1
    assert data["days"][0]["median_first_reply_seconds"] == 120
    assert data["days"][0]["median_resolve_seconds"] == 1200
    assert data["total"]["containment"] == 0.5 and data["outcome_names"][0] == "solved"

    response = await app_client.get(f"/console/reports.csv?since={today}&until={today}")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert f'filename="console-report-{today}-{today}.csv"' in \
        response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [r["day"] for r in rows] == [today, "total"]
    assert rows[0]["outcome_solved"] == "1" and rows[0]["mean_rating"] == "4.0"

    for bad in ("since=2026-13-01", "since=yesterday", "since=2026-06-20&until=2026-06-01",
                "since=2024-01-01"):
        assert (await app_client.get(f"/console/reports.json?{bad}")).status == 400, bad
        assert (await app_client.get(f"/console/reports.csv?{bad}")).status == 400, bad
        response = await app_client.get(f"/console/reports?{bad}")
        assert response.status == 400 and 'class="flash error"' in await response.text()


async def test_agents_get_no_reports(app_client):
    await _login(app_client, "agent")
    for path in ("/console/reports", "/console/reports.json", "/console/reports.csv"):
        assert (await app_client.get(path)).status == 403, path


async def test_chart_js_and_the_page_scripts_are_served(app_client):
    response = await app_client.get("/console/static/chart.umd.js")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    body = await response.read()
    assert b"Chart" in body and len(body) > 100_000
    etag = response.headers["ETag"]
    again = await app_client.get("/console/static/chart.umd.js", headers={"If-None-Match": etag})
    assert again.status == 304
    assert (await app_client.get("/console/static/reports.js")).status == 200
    assert (await app_client.get("/console/static/console.css")).headers[
        "Content-Type"].startswith("text/css")
    assert (await app_client.get("/console/static/../app.py")).status == 404
    assert (await app_client.get("/console/static/nothing.js")).status == 404


async def test_a_tracker_store_that_cannot_be_read(aiohttp_client, console_services, people,
                                                   tmp_path):
    from bot.settings import PrivacySettings

    settings = replace(console_services.settings,
                       privacy=PrivacySettings(tracker_url=f"sqlite:///{tmp_path / 'no.db'}"))
    console_services.settings = settings
    config = WebConfig(settings=settings, widget=WidgetConfig(server_url="http://chat:5005"))
    client = await aiohttp_client(create_app(config, console_services,
                                             staff=StaffWebConfig(Fernet.generate_key().decode())))
    assert client.server.app[TRACKER] is not None
    await _login(client, "lead")
    response = await client.get("/console/review")
    assert response.status == 200
    assert "cannot be read right now" in await response.text()
    assert (await client.get("/console/reports.json")).status == 503
    assert (await client.get("/console/reports")).status == 503
