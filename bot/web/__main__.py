import sys

from bot.web.cli import main

sys.exit(main())
