"""The revision review (`p1reader review BASE [HEAD]`): what changed between two revisions of the board, by part
and net, with pictures cropped to each change and every check's verdict before and after.

`sides` finds the two sides (folders or git revisions in temporary worktrees) and judges their staleness,
`model` reads a side's KiCad project, `diff` makes the typed change list, `record` is the checks.json `make fab`
writes and `checks` compares two of them, `pictures` renders and crops, `report` writes review.json, review.md
and index.html; `run` goes through the phases (and the cache), `cli` is the command line.
"""

from ..errors import HwtoolsError

SCHEMA_VERSION = 1  # of review.json (docs/review-schema.json)


class ReviewError(HwtoolsError):
    """A side cannot be reviewed: a missing folder or revision, a stale side, an unreadable file (exit 2)."""
