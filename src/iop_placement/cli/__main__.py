"""``python -m iop_placement.cli``: the same command line as ``iop-placement``."""

import sys

from iop_placement.cli import main

sys.exit(main())
