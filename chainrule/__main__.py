"""`python -m chainrule` runs the command-line program."""

import sys

from chainrule.cli import main

sys.exit(main())
