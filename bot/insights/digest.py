"""The weekly insights digest: top unmet demand by expected value and the emerging themes,
e-mailed to the people who may open ``/insights/``.

- **Who**: every active staff account whose role has the ``insights`` permission
  (:func:`bot.staff.accounts.can`): analysts and leads. Agents never get it.
- **What**: for the 7 days ending on ``as_of`` (included), the needs stated and the share
  unmet, the top :data:`TOP_UNMET` products of unmet demand ranked by expected value
  (:func:`bot.insights.unmet`, ``order="value"``) with their main reasons, and the emerging
  themes of the :data:`EMERGING_WEEKS` weeks up to ``as_of`` (:func:`bot.insights.emerging`),
  each with links to the pages. No shopper message is put in the mail (the pages, behind the
  sign-in, show them). Plain text and a simple HTML alternative (autoescaped Jinja templates in
  ``bot/insights/templates/``).
- **When**: ``as_of`` defaults to the Sunday before today, so the digest covers the last whole
  ISO week (Monday to Sunday) whatever day it goes out. Its key is the ISO week of ``as_of``
  (``2026-W23``). The worker (``bot.worker``, job ``insights_digest``) calls :func:`run_weekly`
  every hour; ``python -m bot insights digest [--as-of D] [--dry-run]`` does it by hand.
- **Once per week and person**: :func:`queue_digest` inserts an ``insights_digests`` row (unique
  week + staff id, ``INSERT ... ON CONFLICT DO NOTHING``) and queues the mail
  (:func:`bot.mail.queue`) in the same transaction; a person who already has that week's row is
  skipped. A restart, a second worker or the command run again therefore never sends a week's
  digest twice, and a mail is never queued without its row (nor the other way round). The
  worker's ``mail`` job delivers the queued mail over SMTP, with retries.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import jinja2

from bot import mail
from bot.insights import filters
from bot.insights.emerging import EmergingReport, emerging
from bot.insights.filters import InsightsError
from bot.insights.service import UnmetReport, unmet, volume
from bot.staff import accounts
from bot.store.models import InsightsDigest

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from bot.services import Services

log = logging.getLogger(__name__)

TOP_UNMET = 10
TOP_EMERGING = 10
EMERGING_WEEKS = 4
DIGEST_DAYS = 7
TEMPLATES = Path(__file__).resolve().parent / "templates"
REASON_WORDS = MappingProxyType({"not_stocked": "not stocked", "out_of_stock": "out of stock",
                                 "over_budget": "over budget", "size_or_colour": "size or colour",
                                 "other": "other"})


@dataclass(frozen=True)
class Digest:
    """One week's digest, the same for every recipient (only the greeting differs)."""

    as_of: date
    since: date
    needs: int  # needs stated in the 7 days
    unmet_needs: int
    unmet: UnmetReport
    emerging: EmergingReport

    @property
    def week(self) -> str:
        return week_key(self.as_of)

    @property
    def subject(self) -> str:
        return (f"Product insights for {_day(self.since)} to {_day(self.as_of)} "
                f"({self.week})")


@dataclass
class DigestResult:
    week: str
    as_of: date
    queued: list[str] = field(default_factory=list)  # e-mail addresses
    skipped: list[str] = field(default_factory=list)  # already had this week's digest

    def as_dict(self) -> dict:
        return {"week": self.week, "as_of": self.as_of.isoformat(), "queued": self.queued,
                "skipped": self.skipped}


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


def week_key(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def default_as_of(today: date) -> date:
    """The Sunday before ``today`` (a Sunday's own week is not over yet)."""
    return today - timedelta(days=today.weekday() + 1)


def build(services: "Services", as_of=None) -> Digest:
    """The digest for the 7 days ending on ``as_of`` (default: :func:`default_as_of`).
    Raises :class:`InsightsError` for a malformed or future date."""
    today = services.now().date()
    day = filters.parse_date(as_of, "as_of") or default_as_of(today)
    if day > today:
        raise InsightsError(f"as_of ({day.isoformat()}) is in the future")
    since = day - timedelta(days=DIGEST_DAYS - 1)
    counts = volume(services, since=since, until=day, bucket="month")
    demand = unmet(services, by="product", since=since, until=day, order="value",
                   limit=TOP_UNMET, examples_per_row=0)
    rising = emerging(services, as_of=day, weeks=EMERGING_WEEKS, limit=TOP_EMERGING,
                      examples_per_row=0)
    return Digest(day, since, sum(p.needs for p in counts.totals),
                  sum(p.unmet for p in counts.totals), demand, rising)


def recipients(services: "Services") -> list[accounts.StaffView]:
    """Active accounts that may see the insights (analysts and leads), by email."""
    return [s for s in accounts.list_staff(services)
            if s.active and accounts.can(s.role, "insights")]


# --- the mail ---------------------------------------------------------------------------------

def _environment(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=autoescape,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def _money(value: float, currency: str) -> str:
    symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(currency, currency + " ")
    return f"{symbol}{value:,.2f}"


def _reasons(row) -> str:
    """The reasons of an unmet row, most frequent first: "out of stock 8, not stocked 4"."""
    found = sorted(((n, r) for r, n in row.reasons.items() if n), key=lambda x: (-x[0], x[1]))
    return ", ".join(f"{REASON_WORDS.get(r, r)} {n}" for n, r in found)


def links(digest: Digest, public_url: str) -> dict[str, str]:
    base = public_url.rstrip("/") + "/insights"
    span = {"since": digest.since.isoformat(), "until": digest.as_of.isoformat()}
    return {
        "overview": f"{base}/?" + urlencode(span),
        "unmet": f"{base}/unmet?" + urlencode({**span, "order": "value"}),
        "emerging": f"{base}/emerging?" + urlencode({"as_of": digest.as_of.isoformat(),
                                                     "weeks": EMERGING_WEEKS}),
    }


def row_link(digest: Digest, public_url: str, product: str) -> str:
    """The unmet needs behind one product of the digest."""
    return public_url.rstrip("/") + "/insights/needs?" + urlencode({
        "since": digest.since.isoformat(), "until": digest.as_of.isoformat(),
        "field": "product", "value": product, "status": "unmet"})


def render(digest: Digest, name: str, public_url: str) -> tuple[str, str]:
    """(plain text, HTML) of the digest for a recipient called ``name``."""
    context = {"d": digest, "name": name, "links": links(digest, public_url),
               "money": _money, "reasons": _reasons, "day": _day,
               "share": (digest.unmet_needs / digest.needs) if digest.needs else None,
               "row_link": lambda product: row_link(digest, public_url, product)}
    text = _environment(False).get_template("digest.txt").render(context)
    html = _environment(True).get_template("digest.html").render(context)
    return text, html


# --- once per week and person -----------------------------------------------------------------

def _claim(session, week: str, staff_id: int, as_of: date, now) -> bool:
    """Insert this week's row for ``staff_id`` unless there is one; whether this call did."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:  # pragma: no cover - the two databases we run on
        raise NotImplementedError(f"insights digest on {dialect}")
    result = session.execute(
        insert(InsightsDigest).values(week=week, staff_id=staff_id, as_of=as_of, queued_at=now)
        .on_conflict_do_nothing(index_elements=["week", "staff_id"]))
    return result.rowcount == 1


def queue_digest(services: "Services", digest: Digest) -> DigestResult:
    """Queue ``digest`` for every recipient who has not had this week's yet (module docstring)."""
    result = DigestResult(digest.week, digest.as_of)
    public_url = services.settings.public_url
    for person in recipients(services):
        text, html = render(digest, person.name, public_url)
        with services.unit_of_work(write=True) as session:
            now = services.now()
            if not _claim(session, digest.week, person.id, digest.as_of, now):
                result.skipped.append(person.email)
                continue
            mail.queue(session, mail.Mail(person.email, digest.subject, text, html), now)
        result.queued.append(person.email)
    return result


def sent_weeks(services: "Services", staff_id: int) -> list[str]:
    """The weeks whose digest was queued for ``staff_id`` (for tests and the command)."""
    from sqlalchemy import select

    with services.unit_of_work() as session:
        return list(session.execute(select(InsightsDigest.week)
                                    .where(InsightsDigest.staff_id == staff_id)
                                    .order_by(InsightsDigest.week)).scalars())


def run_weekly(services: "Services") -> DigestResult:
    """The worker's job: this week's digest (the last whole week) to whoever lacks it. Cheap
    when everybody has it: the figures are computed only if someone is still waiting."""
    as_of = default_as_of(services.now().date())
    week = week_key(as_of)
    waiting = [p for p in recipients(services) if week not in sent_weeks(services, p.id)]
    if not waiting:
        return DigestResult(week, as_of)
    return queue_digest(services, build(services, as_of))


# --- python -m bot insights digest ------------------------------------------------------------

def register(subparsers) -> None:
    """Add ``digest`` to the ``python -m bot insights`` commands (bot.cli loads this module
    after ``bot.insights.cli``); without them, an ``insights`` group of its own."""
    group = subparsers.choices.get("insights")
    if group is None:
        group = subparsers.add_parser("insights", help="product insights from the logged needs")
        commands = group.add_subparsers(dest="insights_command", metavar="ACTION",
                                        required=True)
    else:
        # argparse offers no public way back to a parser's sub-commands once added.
        found = [a for a in group._actions if isinstance(a, argparse._SubParsersAction)]
        if not found:
            log.warning("python -m bot insights has no sub-commands: no `insights digest`")
            return
        commands = found[0]
    parser = commands.add_parser(
        "digest", help="e-mail the weekly digest to analysts and leads",
        description="Queue this week's insights digest (top unmet demand by expected value, "
                    "emerging themes) for every active analyst and lead who has not had it, "
                    "then send the queued mail. Once per ISO week and person.")
    parser.add_argument("--as-of", default=None,
                        help="last day of the week it covers (default: last Sunday)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the digest and its recipients; queue and send nothing")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL (default: DATABASE_URL or var/shop.db)")
    parser.set_defaults(handler=_digest)


def _digest(args: argparse.Namespace) -> int:
    services = args.services
    try:
        digest = build(services, args.as_of)
    except InsightsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    people = recipients(services)
    if args.dry_run:
        if args.json:
            print(json.dumps({"week": digest.week, "as_of": digest.as_of.isoformat(),
                              "subject": digest.subject,
                              "recipients": [p.email for p in people],
                              "unmet": digest.unmet.as_dict(),
                              "emerging": digest.emerging.as_dict()}, default=str))
        else:
            text, _html = render(digest, "<name>", services.settings.public_url)
            print(f"Subject: {digest.subject}")
            print("To: " + (", ".join(p.email for p in people) or "(nobody: no active analyst "
                                                                   "or lead)"))
            print()
            print(text)
        return 0
    result = queue_digest(services, digest)
    stats = mail.deliver_queued(services.engine, mail.Mailer(services.settings.mail),
                                services.now()) if result.queued else None
    if args.json:
        print(json.dumps({**result.as_dict(),
                          "sent": stats.sent if stats else 0,
                          "to_retry": stats.failed if stats else 0}))
        return 0
    print(f"digest {result.week} (to {digest.as_of.isoformat()}): queued for "
          f"{len(result.queued)}, {len(result.skipped)} already had it")
    if stats is not None:
        print(f"mail: {stats.sent} sent, {stats.failed} to retry by the worker")
    return 0
