"""Log redaction (bot.logs): messages, arguments and tracebacks lose personal data before a
handler writes them, and every entry point installs the filter."""
import io
import logging
import subprocess
import sys

from bot.logs import RedactingFilter, install_redaction
from bot.settings import REPO_ROOT

CARD = "4111 1111 1111 1111"


def _logger(stream):
    logger = logging.getLogger(f"test-redaction-{id(stream)}")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger, handler


def test_messages_and_args_are_redacted():
    out = io.StringIO()
    logger, handler = _logger(out)
    assert install_redaction(logger) == 1
    assert install_redaction(logger) == 0  # once per handler
    logger.info("new subscriber %s, phone %s", "jo.bloggs@example.com", "07700 900123")
    logger.warning("paid with %s at 12 Acacia Avenue, SW1A 1AA", CARD)
    text = out.getvalue()
    assert "jo.bloggs@example.com" not in text and "07700 900123" not in text
    assert CARD not in text and "Acacia" not in text and "SW1A" not in text
    assert "new subscriber [email], phone [phone]" in text
    assert "[card]" in text and "[address]" in text and "[postcode]" in text


def test_tracebacks_are_redacted():
    out = io.StringIO()
    logger, handler = _logger(out)
    handler.addFilter(RedactingFilter())
    try:
        raise ValueError("duplicate key: jo.bloggs@example.com")
    except ValueError:
        logger.exception("insert failed for %s", "jo.bloggs@example.com")
    text = out.getvalue()
    assert "jo.bloggs@example.com" not in text
    assert "ValueError: duplicate key: [email]" in text


def test_a_bad_format_string_still_logs():
    out = io.StringIO()
    logger, handler = _logger(out)
    handler.addFilter(RedactingFilter())
    logger.info("%s %s", "only-one@example.com")
    assert "only-one@example.com" not in out.getvalue()


def test_python_m_bot_installs_it_on_the_root_handlers():
    # A command logs through the root handler that bot.cli.main configured.
    code = ("import logging, sys\n"
            "from bot import cli\n"
            "def handler(args):\n"
            "    logging.getLogger('x').warning('mail to %s', 'jo@example.com')\n"
            "    return 0\n"
            "def register(sub):\n"
            "    sub.add_parser('probe').set_defaults(handler=handler)\n"
            "sys.modules['probe_cmd'] = sys.modules[__name__]\n"
            "cli.COMMAND_MODULES = ('probe_cmd',)\n"
            "sys.exit(cli.main(['probe']))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "mail to [email]" in out.stderr and "jo@example.com" not in out.stderr


def test_every_entry_point_installs_it():
    # The action server, the storefront's own entry point and python -m bot (which runs the
    # worker, the needs follower and the storefront under `make run`).
    for path in ("actions/server.py", "bot/web/cli.py", "bot/cli.py"):
        assert "install_redaction()" in (REPO_ROOT / path).read_text(), path
