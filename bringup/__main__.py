"""``python -m bringup``: the signal handlers first (bringup.interrupts), then the command line."""
import sys

from . import interrupts

try:
    interrupts.install()  # before the command line's imports: a Ctrl-C there is one line, not a traceback
    from .cli import main

    status = main()
except interrupts.Interrupted as e:
    status = interrupts.report(e, sys.argv[1:])
sys.exit(status)
