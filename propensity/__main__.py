import sys

from propensity.cli import main

sys.exit(main())
