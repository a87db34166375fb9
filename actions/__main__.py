import sys

from actions.server import main

sys.exit(main())
