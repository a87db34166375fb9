"""``python -m bot worker``: the scheduled jobs of the shop, in one small long-running process
(``make run`` starts it beside the servers).

Jobs (APScheduler 3, in this process's threads; each is idempotent, so a second worker in the
cluster shape does no harm beyond duplicate work):

- ``mail``: every 5 s, send queued mail (:func:`bot.mail.deliver_queued`);
- ``agent_delivery``: every 5 s, deliver the staff console's agent messages that Rasa could not
  take when they were written (:func:`bot.console.delivery.deliver_pending`);
- ``agent_email``: every 5 s, e-mail signed-in shoppers the agent messages their widget never
  acknowledged (:func:`bot.console.delivery.email_unseen`; the mail job sends it);
- ``erasures``: every 30 s, erase the conversations of pending erasure requests that are quiet
  (:func:`bot.privacy.erasure.complete_pending`);
- ``retention``: daily (first run a minute after start), delete conversation events past the
  retention period and expired unconfirmed newsletter addresses
  (:func:`bot.privacy.retention.run_retention`);
- ``limits``: hourly, purge expired rate-limit windows (``services.limits.purge()``);
- ``needs_settle``: every minute, settle the pending needs of conversations quiet for
  ``SHOP_NEEDS_PENDING_MINUTES`` (:func:`bot.needs.records.settle_pending`; quiet also in Rasa's
  tracker store);
- ``needs_convert``: every 10 minutes, record the orders that fulfilled needs of the last
  :data:`CONVERT_LOOKBACK_DAYS` (:func:`bot.needs.reconcile.mark_converted`);
- ``back_in_stock``: every 5 minutes, tell the shoppers who asked when something that fits is in
  stock (:func:`bot.needs.back_in_stock.notify_back_in_stock`: a notice the ``agent_delivery``
  job delivers, and an e-mail the ``mail`` job sends).
- ``insights_digest``: hourly (first run two minutes after start), queue this week's insights
  digest for every analyst and lead who has not had it yet (:func:`bot.insights.digest.run_weekly`;
  one row per week and person in ``insights_digests`` makes it once a week, whatever the number
  of restarts or workers; the mail job sends it).

A failing job is logged and tried again at its next run; the process keeps going. Ctrl-C or
SIGTERM stops it after the running jobs finish.
"""
from __future__ import annotations

import logging
import signal
import time
from datetime import datetime, timedelta

log = logging.getLogger(__name__)

MAIL_SECONDS = 5
AGENT_SECONDS = 5
ERASURE_SECONDS = 30
LIMITS_SECONDS = 3600
RETENTION_FIRST_DELAY = timedelta(minutes=1)
NEEDS_SETTLE_SECONDS = 60
NEEDS_CONVERT_SECONDS = 600
BACK_IN_STOCK_SECONDS = 300
# Needs this recent are checked for conversion (twice the 30-day window: a worker that was
# down for a while still catches up).
CONVERT_LOOKBACK_DAYS = 60
DIGEST_SECONDS = 3600
DIGEST_FIRST_DELAY = timedelta(minutes=2)


def register(subparsers) -> None:
    worker = subparsers.add_parser("worker", help="run the scheduled jobs (retention, erasures, "
                                                  "mail, limits, agent messages, needs, "
                                                  "insights digest)")
    worker.add_argument("--database-url", help="shop database (default: DATABASE_URL)")
    worker.add_argument("--tracker-url", help="Rasa SQL tracker store (default: "
                                              "SHOP_TRACKER_URL or endpoints.yml)")
    worker.add_argument("--once", action="store_true",
                        help="run every job once now and exit")
    worker.set_defaults(handler=run)


class Jobs:
    """The worker's jobs over one process's services and tracker store."""

    def __init__(self, services, tracker, mailer, rasa=None):
        self.services = services
        self.tracker = tracker
        self.mailer = mailer
        self.rasa = rasa  # bot.console.delivery.RasaApi (None: from the settings)

    def _rasa(self):
        if self.rasa is None:
            from bot.console.delivery import RasaApi

            self.rasa = RasaApi.from_settings(self.services.settings)
        return self.rasa

    def mail(self) -> None:
        from bot.mail import deliver_queued

        stats = deliver_queued(self.services.engine, self.mailer, self.services.now())
        if stats.sent or stats.failed or stats.dropped:
            log.info("mail: %s sent, %s to retry, %s dropped", stats.sent, stats.failed,
                     stats.dropped)

    def agent_delivery(self) -> None:
        from bot.console.delivery import deliver_pending

        delivered = deliver_pending(self.services, self._rasa())
        if delivered:
            log.info("agent messages: %s delivered", delivered)

    def agent_email(self) -> None:
        from bot.console.delivery import email_unseen

        queued = email_unseen(self.services)
        if queued:
            log.info("agent messages: %s e-mails queued for shoppers who left", queued)

    def erasures(self) -> None:
        from bot.privacy.erasure import complete_pending

        for result in complete_pending(self.services, self.tracker):
            log.info("erasure %s done: %s", result.request_id, result.counts)

    def retention(self) -> None:
        from bot.privacy.retention import run_retention

        result = run_retention(self.services, self.tracker)
        log.info("retention: %s", result.as_dict())

    def limits(self) -> None:
        purged = self.services.limits.purge()
        if purged:
            log.info("limits: %s expired windows purged", purged)

    def needs_settle(self) -> None:
        from bot.needs.records import settle_pending

        def last_activity(conversation_id: str) -> float | None:
            return self.tracker.latest_timestamp([conversation_id])

        settings = self.services.settings
        settle_pending(self.services.engine, self.services.now(),
                       timedelta(minutes=settings.needs.pending_idle_minutes),
                       last_activity=last_activity)

    def needs_convert(self) -> None:
        from bot.needs.reconcile import mark_converted

        now = self.services.now()
        with self.services.unit_of_work() as session:
            converted = mark_converted(session, now,
                                       since=now - timedelta(days=CONVERT_LOOKBACK_DAYS))
        if converted:
            log.info("needs: %s converted by a later order", converted)

    def back_in_stock(self) -> None:
        from bot.needs.back_in_stock import notify_back_in_stock

        notify_back_in_stock(self.services.engine, self.services.settings, self.services.now())

    def insights_digest(self) -> None:
        from bot.insights.digest import run_weekly

        result = run_weekly(self.services)
        if result.queued:
            log.info("insights digest %s: queued for %s recipient(s)", result.week,
                     len(result.queued))

    def all(self) -> tuple[tuple[str, object], ...]:
        # back_in_stock before agent_delivery, agent_email and insights_digest before mail:
        # --once sends what they queue.
        return (("needs_settle", self.needs_settle), ("needs_convert", self.needs_convert),
                ("back_in_stock", self.back_in_stock),
                ("agent_delivery", self.agent_delivery), ("agent_email", self.agent_email),
                ("insights_digest", self.insights_digest),
                ("mail", self.mail), ("erasures", self.erasures),
                ("retention", self.retention), ("limits", self.limits))


def _guarded(name: str, job):
    def run_job() -> None:
        try:
            job()
        except Exception:  # noqa: BLE001 - one failing run must not stop the worker
            log.exception("job %s failed; it runs again at its next time", name)

    return run_job


def build_scheduler(jobs: Jobs, now: datetime | None = None):
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
    start = now or datetime.utcnow()
    scheduler.add_job(_guarded("mail", jobs.mail), "interval", seconds=MAIL_SECONDS,
                      id="mail", next_run_time=start)
    scheduler.add_job(_guarded("agent_delivery", jobs.agent_delivery), "interval",
                      seconds=AGENT_SECONDS, id="agent_delivery", next_run_time=start)
    scheduler.add_job(_guarded("agent_email", jobs.agent_email), "interval",
                      seconds=AGENT_SECONDS, id="agent_email", next_run_time=start)
    scheduler.add_job(_guarded("erasures", jobs.erasures), "interval", seconds=ERASURE_SECONDS,
                      id="erasures", next_run_time=start)
    scheduler.add_job(_guarded("retention", jobs.retention), "interval", days=1,
                      id="retention", next_run_time=start + RETENTION_FIRST_DELAY)
    scheduler.add_job(_guarded("limits", jobs.limits), "interval", seconds=LIMITS_SECONDS,
                      id="limits", next_run_time=start + timedelta(minutes=5))
    scheduler.add_job(_guarded("needs_settle", jobs.needs_settle), "interval",
                      seconds=NEEDS_SETTLE_SECONDS, id="needs_settle", next_run_time=start)
    scheduler.add_job(_guarded("needs_convert", jobs.needs_convert), "interval",
                      seconds=NEEDS_CONVERT_SECONDS, id="needs_convert",
                      next_run_time=start + timedelta(seconds=30))
    scheduler.add_job(_guarded("back_in_stock", jobs.back_in_stock), "interval",
                      seconds=BACK_IN_STOCK_SECONDS, id="back_in_stock",
                      next_run_time=start + timedelta(seconds=20))
    scheduler.add_job(_guarded("insights_digest", jobs.insights_digest), "interval",
                      seconds=DIGEST_SECONDS, id="insights_digest",
                      next_run_time=start + DIGEST_FIRST_DELAY)
    return scheduler


def run(args) -> int:
    from bot.mail import Mailer
    from bot.privacy.trackerstore import TrackerStore, tracker_url

    # Our jobs' INFO lines are the worker's log; APScheduler's per-run lines (every 5 s) are not.
    logging.getLogger().setLevel(logging.DEBUG if args.verbose else logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    services = args.services
    settings = services.settings
    if not settings.mail.host:
        log.warning("SMTP_HOST is not set: mail is written to %s instead of sent",
                    settings.mail.mail_dir)
    if not settings.console.rasa_jwt_secret:
        log.warning("RASA_JWT_SECRET is not set: agent messages cannot reach Rasa (they wait)")
    with TrackerStore(args.tracker_url or tracker_url(settings)) as tracker:
        jobs = Jobs(services, tracker, Mailer(settings.mail))
        if args.once:
            for name, job in jobs.all():
                _guarded(name, job)()
            return 0
        scheduler = build_scheduler(jobs)
        # The handler only notes the signal: calling into the scheduler from it could deadlock
        # on a lock the interrupted main thread holds.
        stopping: list[int] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda signum, _frame: stopping.append(signum))
        scheduler.start()
        log.info("worker started: mail and agent messages every %ss, erasures every %ss, "
                 "retention daily (%s days), insights digest weekly", MAIL_SECONDS,
                 ERASURE_SECONDS, settings.privacy.retention_days)
        while not stopping:
            time.sleep(0.5)
        log.info("worker stopping")
        scheduler.shutdown(wait=True)
    return 0
