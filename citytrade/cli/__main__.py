"""`python -m citytrade.cli`: the `citytrade` command."""

import sys

from citytrade.cli.main import main

sys.exit(main())
