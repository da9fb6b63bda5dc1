"""`python -m bot.tally FILE.pb`: the same as `meydan tally FILE.pb`."""

import sys

from bot.tally.cli import main

sys.exit(main())
