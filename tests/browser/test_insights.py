"""The product insights pages in headless Chromium, against the real storefront process: an
analyst signs in, sees the charts drawn and their tables, drills into a number, downloads a CSV;
an agent is refused. A year of needs is logged relative to today (with a theme that took off in
the last weeks and a message written to break the page and a spreadsheet).

The screenshots it takes (artifacts/browser/insights-*.png) are the ones in docs/insights.md."""
from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from bot import servers as srv
from bot.services import Services
from bot.settings import Settings
from bot.staff import accounts
from tests.browser import harness
from tests.browser.harness import ARTIFACTS
from tests.insights.needlog import log, need_row

pytestmark = pytest.mark.browser

PASSWORD = "insights browser password"
ANALYST = "ana.insights@example.test"
AGENT = "sam.insights@example.test"
EVIL = '=cmd|" /C calc"!A0 <img src=x onerror="window.pwned=1"> snow boots'
SESSION_SECRET = "aW5zaWdodHNicm93c2VydGVzdHNlc3Npb25rZXkxMjM="
# (category, product, attributes, price, status weights: matched, not stocked, out of stock)
KINDS = (
    ("outerwear", "rain jacket", ["waterproof"], 120, (5, 2, 3)),
    ("footwear", "hiking boot", ["waterproof", "leather"], 95, (6, 1, 2)),
    ("kitchen", "teapot", [], 30, (8, 1, 1)),
    ("garden", "hose reel", [], 45, (4, 4, 1)),
    ("womens-clothing", "wool jumper", ["wool"], 60, (6, 2, 2)),
)
STATUSES = ("matched", "unmet:not_stocked", "unmet:out_of_stock")


def shot(page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"insights-{name}.png"), full_page=full_page)


def a_year_of_needs(today: datetime) -> list:
    rng = random.Random(13)
    rows = []
    for days_ago in range(1, 365):
        day = (today - timedelta(days=days_ago)).date().isoformat()
        for category, product, attributes, price, weights in KINDS:
            if rng.random() < 0.35:
                rows.append(need_row(day, category=category, product=product,
                                     attributes=attributes, price_max=price,
                                     status=rng.choices(STATUSES, weights)[0],
                                     propensity=round(rng.uniform(0.05, 0.6), 2),
                                     customer=rng.choice((None, 1, 2)),
                                     text=f"looking for a {product}", hour=rng.randint(0, 11)))
    for days_ago in range(1, 28):  # the theme that took off: new in the last four weeks
        day = (today - timedelta(days=days_ago)).date().isoformat()
        rows.append(need_row(day, category="pets", product="dog coat",
                             attributes=["insulated", "waterproof"], price_max=35,
                             status="unmet:not_stocked", text="an insulated waterproof dog coat"))
    rows.append(need_row((today - timedelta(days=2)).date().isoformat(), category="footwear",
                         product="snow boots", status="unmet:not_stocked", text=EVIL))
    return rows


@pytest.fixture(scope="module")
def insights_site(tmp_path_factory, live_shop_db, live_images_dir):
    """The storefront alone (the insights pages need no chat server) on the live shop DB, with
    an analyst, an agent and a year of needs."""
    services = Services(Settings(database_url=live_shop_db, identity_secret="x"))
    try:
        for email, name, role in ((ANALYST, "Ana Insights", "analyst"),
                                  (AGENT, "Sam Insights", "agent")):
            try:
                accounts.add(services, email=email, name=name, role=role, password=PASSWORD)
            except accounts.StaffExists:
                pass
        log(services.engine, a_year_of_needs(datetime.utcnow()))
    finally:
        services.close()
    work = tmp_path_factory.mktemp("insights-site")
    shop = harness.storefront(work, srv.free_port(), live_shop_db, "insights-secret",
                              "http://127.0.0.1:9", live_images_dir,
                              env={"SHOP_SESSION_SECRET": SESSION_SECRET}).start()
    try:
        yield shop.url
    finally:
        shop.stop()


def sign_in(page, url: str, email: str, next_path: str) -> None:
    page.goto(f"{url}/staff/login?next={next_path}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def nav(page, name: str) -> None:
    page.locator("nav.insights-nav").get_by_role("link", name=name, exact=True).click()
    expect(page.locator("nav.insights-nav a[aria-current=page]")).to_have_text(name)


def chart_drawn(page, canvas_id: str) -> bool:
    return page.evaluate("(id) => !!(window.Chart && window.Chart.getChart("
                         "document.getElementById(id)))", canvas_id)


def test_an_analyst_reads_drills_down_and_exports(insights_site, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, insights_site, ANALYST, "/insights/")
        expect(page.locator("h1")).to_have_text("Overview")
        expect(page.locator("#chart-volume")).to_be_visible()
        assert chart_drawn(page, "chart-volume")
        assert page.locator("#table-volume tbody tr").count() >= 52  # a year of weeks
        expect(page.locator("#table-categories")).to_contain_text("outerwear")
        shot(page, "overview", full_page=False)  # the chart; the table goes on

        nav(page, "Unmet demand")
        expect(page.locator("h1")).to_have_text("Unmet demand")
        assert chart_drawn(page, "chart-unmet")
        table = page.locator("#table-unmet")
        expect(table).to_contain_text("rain jacket")
        expect(table).to_contain_text(EVIL)  # as text
        assert page.locator("#table-unmet img").count() == 0
        shot(page, "unmet")

        nav(page, "Emerging")
        expect(page.locator("#table-emerging")).to_contain_text(
            "insulated + waterproof + dog coat")
        assert chart_drawn(page, "chart-emerging")
        shot(page, "emerging")

        # Drill into a number: the rain jackets out of stock.
        nav(page, "Unmet demand")
        row = page.locator("#table-unmet tbody tr", has_text="rain jacket")
        link = row.locator("td.reasons a", has_text="out of stock")
        count = int(link.inner_text().rsplit(":", 1)[1])
        link.click()
        expect(page.locator("h1")).to_have_text("Needs")
        expect(page.locator("#needs-summary")).to_contain_text(f"{count} need")
        expect(page.locator("#table-needs tbody tr")).to_have_count(min(count, 50))
        expect(page.locator("#table-needs tbody")).to_contain_text("unmet: out of stock")
        expect(page.locator("#table-needs tbody")).not_to_contain_text("unmet: not stocked")
        shot(page, "needs")

        # Download the unmet view as CSV: a spreadsheet shows the shopper's text as text.
        nav(page, "Unmet demand")
        with page.expect_download() as download:
            page.click("a.export-csv")
        path = tmp_path / "unmet.csv"
        download.value.save_as(path)
        assert download.value.suggested_filename.startswith("insights-unmet-")
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
        assert "expected_value" in rows[0] and "reason_out_of_stock" in rows[0]
        boots = next(r for r in rows if r["value"] == "snow boots")
        assert boots["examples"] == "'" + EVIL  # quoted: never run as a formula
        assert page.evaluate("() => window.pwned") is None
    finally:
        context.close()


def test_an_agent_is_refused(insights_site, page):
    sign_in(page, insights_site, AGENT, "/staff/")
    expect(page.locator("p.who")).to_contain_text(AGENT)
    assert page.locator('a[href="/insights/"]').count() == 0
    for path in ("/insights/", "/insights/unmet", "/insights/needs.csv"):
        response = page.goto(f"{insights_site}{path}")
        assert response.status == 403, path
        assert "rain jacket" not in page.content()
