"""``python -m iop_placement`` runs the command line."""

import sys

from iop_placement.cli import main

sys.exit(main())
