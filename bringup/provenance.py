"""What built the harness and the board a run tested: harness version, board revision and the design's
git commit, from the installed package's metadata ("unknown" when it does not say)."""
from __future__ import annotations

import json
from importlib import metadata

UNKNOWN = "unknown"


def provenance() -> dict[str, str]:
    try:
        dist = metadata.distribution("p1reader")
    except metadata.PackageNotFoundError:
        return {"harness_version": UNKNOWN, "board_revision": UNKNOWN, "design_commit": UNKNOWN}
    try:
        from hwtools.project import REVISION as board_revision  # shipped in the same package
    except ImportError:
        board_revision = UNKNOWN
    # PEP 610: an install from a VCS URL records the commit; a local or editable install does not.
    commit = UNKNOWN
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
        commit = direct.get("vcs_info", {}).get("commit_id") or UNKNOWN
    except (ValueError, AttributeError):
        pass
    return {"harness_version": dist.version, "board_revision": board_revision, "design_commit": commit}
