"""The product insights pages (bot.web.insights) over aiohttp's test client, on the hand-built
need log of tests/insights/needlog.py (fixture shop, today 2026-06-15)."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
from cryptography.fernet import Fernet
from yarl import URL

from bot.staff import accounts
from bot.web.app import create_app
from bot.web.config import WebConfig, WidgetConfig
from bot.web.staff import StaffWebConfig
from tests.insights.needlog import hand_built, log, need_row

PASSWORD = "insights test password"
JUNE = "since=2026-06-01&until=2026-06-15"
EVIL = '=HYPERLINK("http://evil.example","x") <script>alert(1)</script>'
PATHS = ("/insights/", "/insights/top", "/insights/unmet", "/insights/themes",
         "/insights/emerging", "/insights/needs")
VIEWS = ("overview", "top", "unmet", "themes", "emerging", "needs")


@pytest.fixture
def people(services):
    for role in ("agent", "lead", "analyst"):
        accounts.add(services, email=f"{role}@example-shop.co.uk", name=f"{role.title()} <b>",
                     role=role, password=PASSWORD)


@pytest.fixture
def logged(services):
    rows = hand_built()
    rows.append(need_row("2026-06-08", category="outerwear", product="rain jacket",
                         attributes=["waterproof"], status="unmet:not_stocked", text=EVIL))
    return log(services.engine, rows)


@pytest.fixture
async def client(aiohttp_client, services, people):
    config = WebConfig(settings=services.settings,
                       widget=WidgetConfig(server_url="http://chat.example:5005"))
    app = create_app(config, services, staff=StaffWebConfig(Fernet.generate_key().decode()))
    return await aiohttp_client(app)


async def _login(client, role: str) -> None:
    page = await client.get("/staff/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    response = await client.post("/staff/login", allow_redirects=False, data={
        "csrf_token": token, "email": f"{role}@example-shop.co.uk", "password": PASSWORD})
    assert response.status == 303


async def test_no_session_means_the_sign_in_page(client):
    for path in PATHS + ("/insights/top.csv",):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303, path
        location = URL(response.headers["Location"])
        assert location.path == "/staff/login" and location.query["next"] == path
    response = await client.get("/insights/top.json", allow_redirects=False)
    assert response.status == 401


async def test_an_agent_is_refused(client, logged):
    await _login(client, "agent")
    for view in VIEWS:
        for suffix in ("", ".json", ".csv"):
            path = ("/insights/" if view == "overview" and not suffix
                    else f"/insights/{view}{suffix}")
            response = await client.get(path)
            assert response.status == 403, path
            assert "rain jacket" not in await response.text()
    home = await (await client.get("/staff/")).text()
    assert 'href="/insights/"' not in home


@pytest.mark.parametrize("role", ["analyst", "lead"])
async def test_analysts_and_leads_see_every_view(client, logged, role):
    await _login(client, role)
    home = await (await client.get("/staff/")).text()
    assert 'href="/insights/"' in home and "coming soon" not in home
    for path in PATHS:
        response = await client.get(f"{path}?{JUNE}")
        html = await response.text()
        assert response.status == 200, (path, html[:2000])
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert "<script>alert" not in html
    assert ('href="/console/"' in html) is (role == "lead")



BAD = [
    ("/insights/", "since=last%20tuesday", "since must be a date"),
    ("/insights/", "since=2026-07-01", "in the future"),
    ("/insights/", "until=2027-01-01", "in the future"),
    ("/insights/", "since=2026-06-10&until=2026-06-01", "the period is empty"),
    ("/insights/", "category=moon-boots", "unknown category"),
    ("/insights/", "bucket=year", "unknown bucket"),
    ("/insights/", "since=2026-06-01%00", "filter is not valid"),
    ("/insights/", "category=" + "x" * 300, "filter is not valid"),
    ("/insights/top", "field=password", "unknown field"),
    ("/insights/top", "limit=0", "limit must be a whole number"),
    ("/insights/top", "limit=lots", "limit must be a whole number"),
    ("/insights/unmet", "by=shopper", "unknown field"),
    ("/insights/unmet", "order=random", "unknown order"),
    ("/insights/themes", "with_attributes=yes", "with_attributes is 1"),
    ("/insights/emerging", "as_of=2030-01-01", "in the future"),
    ("/insights/emerging", "weeks=99", "weeks must be a whole number"),
    ("/insights/needs", "status=lost", "unknown status"),
    ("/insights/needs", "value=boots", "a value needs a field"),
    ("/insights/needs", "field=product", "say which product"),
    ("/insights/needs", "page=-1", "page must be a whole number"),
    ("/insights/needs", "field=%3Cscript%3E&value=x", "unknown field"),
]


async def test_bad_filters_get_a_polite_400(client, logged):
    await _login(client, "analyst")
    for path, query, message in BAD:
        await _refused(client, path, query, message)


async def _refused(client, path: str, query: str, message: str) -> None:
    response = await client.get(f"{path}?{query}")
    html = await response.text()
    assert response.status == 400, html[:500]
    assert message in html.replace("&#39;", "'"), html[:3000]
    assert 'class="flash error" role="alert"' in html
    assert "Traceback" not in html and "<script>" not in html.split("<main")[1].split("</main>")[0]
    assert '<form class="range"' in html  # the filters are shown again to fix
    json_path = "/insights/overview" if path == "/insights/" else path
    response = await client.get(f"{json_path}.json?{query}")
    assert response.status == 400
    assert message in (await response.json())["error"]
    response = await client.get(f"{json_path}.csv?{query}")
    assert response.status == 400
    assert message in await response.text()


async def test_a_bad_filter_is_shown_back_escaped(client, logged):
    await _login(client, "analyst")
    response = await client.get('/insights/top?category="><b>x</b>')
    html = await response.text()
    assert response.status == 400
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


async def test_the_overview_table_and_its_links(client, logged):
    await _login(client, "analyst")
    response = await client.get(f"/insights/?{JUNE}&bucket=week")
    html = await response.text()
    assert response.status == 200
    assert 'data-table="table-volume"' in html and 'id="table-volume"' in html
    assert '<script src="/console/static/chart.umd.js?v=' in html
    assert '<script src="/console/static/insights.js?v=' in html
    assert "<script>" not in html  # no inline script under the CSP
    # week of 1 June: 7 needs, 5 unmet, 1 pending (the hand-built log), linked to the needs
    assert ('<a href="/insights/needs?since=2026-06-01&amp;until=2026-06-07&amp;status=unmet">'
            '5</a>') in html
    assert '<td data-value="71.43">71.4%</td>' in html
    assert ('<a href="/insights/needs?since=2026-06-01&amp;until=2026-06-07&amp;'
            'category=outerwear">4</a>') in html
    assert 'href="/insights/overview.csv?since=2026-06-01&amp;until=2026-06-15&amp;bucket=week"' \
        in html
    days = await (await client.get(f"/insights/?{JUNE}&bucket=day")).text()
    assert '<th scope="row">2026-06-03</th>' in days


async def test_top_unmet_themes_and_emerging_link_to_their_needs(client, logged):
    await _login(client, "analyst")
    html = await (await client.get(f"/insights/top?{JUNE}&field=attribute")).text()
    assert ('<a href="/insights/needs?field=attribute&amp;value=waterproof&amp;since=2026-06-01'
            '&amp;until=2026-06-15">5</a>') in html
    html = await (await client.get(f"/insights/unmet?{JUNE}&order=value")).text()
    assert html.index("rain jacket") < html.index("casserole dish")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert ("/insights/needs?status=unmet%3Aover_budget&amp;field=product&amp;value=rain+jacket"
            in html)
    assert "not stocked: 2" in html and "£" in html
    html = await (await client.get(f"/insights/themes?{JUNE}")).text()
    assert "field=theme&amp;value=" in html
    html = await (await client.get("/insights/emerging?as_of=2026-06-15&weeks=4")).text()
    assert "2026-05-19 to 2026-06-15" in html and "p-value" in html


async def test_the_drill_down_lists_the_needs_behind_a_number(client, logged):
    await _login(client, "analyst")
    response = await client.get(f"/insights/needs?{JUNE}&field=product&value=rain+jacket"
                                "&status=unmet:over_budget")
    html = await response.text()
    assert response.status == 200
    assert "lightweight waterproof rain jacket under 120" in html
    assert "rain jacket in XXL" not in html  # another reason
    assert '<strong>1</strong> need with product “rain jacket”' in html
    html = await (await client.get(f"/insights/needs?{JUNE}&per_page=3&page=2")).text()
    assert "Page 2 of 3" in html
    assert 'rel="prev" href="/insights/needs?since=2026-06-01&amp;until=2026-06-15&amp;page=1' \
        in html
    assert 'rel="next"' in html


async def test_csv_exports_are_attachments_and_formula_safe(client, logged):
    await _login(client, "analyst")
    response = await client.get(f"/insights/unmet.csv?{JUNE}&by=product")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="insights-unmet-2026-06-01-2026-06-15.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    jacket = next(r for r in rows if r["value"] == "rain jacket")
    assert jacket["unmet"] == "5" and jacket["reason_not_stocked"] == "2"
    assert jacket["examples"].startswith("'=HYPERLINK(")  # quoted as text, never a formula
    needs = list(csv.DictReader(io.StringIO(await (await client.get(
        f"/insights/needs.csv?{JUNE}&field=product&value=rain+jacket")).text())))
    assert len(needs) == 5
    assert needs[0]["text"] == "'" + EVIL
    assert all(not cell.startswith(("=", "+", "@")) for row in needs for cell in row.values())
    for view in VIEWS:
        response = await client.get(f"/insights/{view}.csv?{'' if view == 'emerging' else JUNE}")
        assert response.status == 200, view
        assert response.headers["Content-Disposition"].startswith(
            f'attachment; filename="insights-{view}-')


async def test_json_exports(client, logged):
    await _login(client, "analyst")
    data = await (await client.get(f"/insights/top.json?{JUNE}&field=product")).json()
    assert data["field"] == "product" and data["since"] == "2026-06-01"
    assert data["rows"][0] == {"value": "rain jacket", "needs": 5, "unmet": 5,
                               "share_unmet": 1.0}
    data = await (await client.get("/insights/emerging.json?as_of=2026-06-15")).json()
    assert data["as_of"] == "2026-06-15" and data["themes"] == []
    response = await client.get(f"/insights/needs.json?{JUNE}&status=pending")
    assert response.headers["Content-Type"].startswith("application/json")
    data = await response.json()
    assert data["total"] == 1 and data["items"][0]["status"] == "pending"
    overview = await (await client.get(f"/insights/overview.json?{JUNE}")).json()
    assert [p["needs"] for p in overview["totals"]] == [7, 1, 0]
