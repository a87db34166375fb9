"""Staff sign-in on the storefront app: sessions, CSRF, require_staff, cookie flags."""
from __future__ import annotations

import re

import pytest
from aiohttp import web
from cryptography.fernet import Fernet
from yarl import URL

from bot.services import Services
from bot.staff import accounts
from bot.web.app import create_app
from bot.web.staff import COOKIE_NAME, STAFF, StaffWebConfig, require_staff
from tests.staff.conftest import PASSWORD
from tests.web.conftest import make_config

EMAIL = "sam@example-shop.co.uk"


async def agents_only(request: web.Request) -> web.Response:
    return web.json_response({"hello": request[STAFF].email})


def _app(db_url, engine, clock, secure=False):
    config = make_config(db_url)
    services = Services(config.settings, engine=engine, clock=clock)
    app = create_app(config, services,
                     staff=StaffWebConfig(Fernet.generate_key().decode(), secure_cookie=secure))
    app.router.add_get("/staff/agents-only", require_staff("agent", "lead")(agents_only))
    app.router.add_post("/staff/agents-only", require_staff("agent", "lead")(agents_only))
    return app, services


@pytest.fixture
async def client(aiohttp_client, db_url, shop, clock):
    app, services = _app(db_url, shop, clock)
    accounts.add(services, email=EMAIL, name="Sam <Agent>", role="agent", password=PASSWORD)
    accounts.add(services, email="ana@example-shop.co.uk", name="Ana Analyst", role="analyst",
                 password=PASSWORD)
    return await aiohttp_client(app)


async def _token(client, path="/staff/login") -> str:
    response = await client.get(path)
    assert response.status == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', await response.text()).group(1)


async def _login(client, email=EMAIL, password=PASSWORD, **extra):
    token = await _token(client)
    return await client.post("/staff/login", allow_redirects=False,
                             data={"csrf_token": token, "email": email, "password": password,
                                   **extra})


async def test_staff_home_without_a_session_redirects_to_login(client):
    response = await client.get("/staff/", allow_redirects=False)
    assert response.status == 303
    location = URL(response.headers["Location"])
    assert location.path == "/staff/login" and location.query["next"] == "/staff/"
    response = await client.get("/staff/me.json", allow_redirects=False)
    assert response.status == 401


async def test_login_page_has_the_security_headers(client):
    response = await client.get("/staff/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


async def test_login_sets_a_session_and_logout_clears_it(client):
    response = await _login(client)
    assert response.status == 303 and response.headers["Location"] == "/staff/"
    page = await client.get("/staff/")
    html = await page.text()
    assert page.status == 200
    assert "Sam &lt;Agent&gt;" in html and "role: <strong>agent</strong>" in html
    assert 'href="/console/"' in html and 'href="/insights/"' not in html
    me = await (await client.get("/staff/me.json")).json()
    assert me["email"] == EMAIL and me["role"] == "agent"
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = await client.post("/staff/logout", data={"csrf_token": token},
                                 allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/staff/login"
    assert (await client.get("/staff/", allow_redirects=False)).status == 303


async def test_login_starts_a_new_session(client):
    before = await _token(client)
    await _login(client)
    after = (await (await client.get("/staff/me.json")).json())["csrf_token"]
    assert after != before


async def test_wrong_password_and_unknown_email_get_the_same_page(client):
    wrong = await _login(client, password="not the password")
    unknown = await _login(client, email="nobody@example-shop.co.uk")
    assert wrong.status == unknown.status == 401
    text = await wrong.text()
    assert "did not work" in text and "did not work" in await unknown.text()
    assert (await client.get("/staff/", allow_redirects=False)).status == 303


async def test_next_only_goes_to_staff_pages(client):
    response = await _login(client, next="//evil.example/staff/")
    assert response.headers["Location"] == "/staff/"
    await client.post("/staff/logout", data={"csrf_token": (await (await client.get(
        "/staff/me.json")).json())["csrf_token"]})
    response = await _login(client, next="/staff/agents-only")
    assert response.headers["Location"] == "/staff/agents-only"


async def test_post_without_or_with_a_wrong_csrf_token_is_403(client):
    await _token(client)  # a session with a token exists
    response = await client.post("/staff/login", data={"email": EMAIL, "password": PASSWORD},
                                 allow_redirects=False)
    assert response.status == 403
    response = await client.post("/staff/login", allow_redirects=False,
                                 data={"csrf_token": "forged", "email": EMAIL,
                                       "password": PASSWORD})
    assert response.status == 403
    await _login(client)
    assert (await client.post("/staff/logout", allow_redirects=False)).status == 403
    assert (await client.post("/staff/agents-only", headers={"X-CSRF-Token": "nope"})).status \
        == 403
    token = (await (await client.get("/staff/me.json")).json())["csrf_token"]
    response = await client.post("/staff/agents-only", headers={"X-CSRF-Token": token})
    assert response.status == 200
    assert (await client.get("/staff/", allow_redirects=False)).status == 200  # still signed in


async def test_an_analyst_gets_403_on_an_agent_route(client):
    await _login(client, email="ana@example-shop.co.uk")
    assert (await client.get("/staff/agents-only")).status == 403
    html = await (await client.get("/staff/")).text()
    assert 'href="/insights/"' in html and 'href="/console/"' not in html


async def test_agent_route_for_an_agent(client):
    await _login(client)
    response = await client.get("/staff/agents-only")
    assert response.status == 200 and (await response.json()) == {"hello": EMAIL}


async def test_a_disabled_account_loses_its_session(client):
    await _login(client)
    accounts.disable(client.app["shop_web_services"], EMAIL)
    assert (await client.get("/staff/", allow_redirects=False)).status == 303


async def test_session_cookie_flags(client):
    response = await _login(client)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(COOKIE_NAME + "=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie
    assert "Max-Age=28800" in cookie


async def test_session_cookie_is_secure_behind_https(aiohttp_client, db_url, engine, clock):
    app, _ = _app(db_url, engine, clock, secure=True)
    client = await aiohttp_client(app)
    response = await client.get("/staff/login")
    assert "Secure" in response.headers["Set-Cookie"]


def test_config_from_env():
    key = Fernet.generate_key().decode()
    config = StaffWebConfig.from_env({"SHOP_SESSION_SECRET": key}, "https://shop.example")
    assert config.session_secret == key and config.secure_cookie
    assert not StaffWebConfig.from_env({}, "http://localhost:8080").secure_cookie
    with pytest.raises(ValueError):
        StaffWebConfig("not a key").fernet()


async def test_the_shopper_sign_in_still_works(client):
    response = await client.post("/account/signin", data={"customer_id": "1", "next": "/"},
                                 allow_redirects=False)
    assert response.status == 303
    assert "shop_session" in response.headers["Set-Cookie"]


async def test_web_sign_in_locks_after_repeated_failures_and_logs_no_password(client, caplog):
    caplog.set_level("DEBUG")
    for _ in range(accounts.MAX_FAILED_LOGINS):
        assert (await _login(client, password="wrong password!!")).status == 401
    response = await _login(client)  # the right password, but locked now
    assert response.status == 401
    assert (await client.get("/staff/", allow_redirects=False)).status == 303
    assert PASSWORD not in caplog.text and "wrong password!!" not in caplog.text
