"""``python -m planner``: the command-line interface."""

import sys

from planner.cli import main

sys.exit(main())
