"""`python -m meter.s1`: the old name of a `p1reader` command; says so, then runs it (p1reader/cli.py)."""
import sys

from p1reader.cli import old_name

sys.exit(old_name("python -m meter.s1"))
