"""`p1reader review BASE [HEAD] -o DIR` — what changed between two revisions of the board, for each variant.

Exit 0: reviewed; 1: `--fail-on` found a regression (or a shrunk margin); 2: a side cannot be reviewed (an
unknown revision, no kicad/, a stale side without --allow-stale) — one line naming it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .. import project
from . import run


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument("base", metavar="BASE", help="a folder holding kicad/ and gerbers/, or a git revision")
    p.add_argument("head", metavar="HEAD", nargs="?", help="the same; default: the work tree")
    p.add_argument("-o", "--out", type=Path, default=Path("review"), help="where review.json, review.md and "
                   "index.html go (default: review/)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--rev", dest="force", action="store_const", const="rev",
                      help="BASE and HEAD are git revisions, even where a folder has the same name")
    kind.add_argument("--dir", dest="force", action="store_const", const="dir", help="BASE and HEAD are folders")
    p.add_argument("--repo", type=Path, default=project.ROOT, help="the git repository of the revisions "
                   "(default: this checkout)")
    p.add_argument("--allow-stale", action="store_true", help="review a side whose outputs are not what its "
                   "fab-steps.json records (say so in the review) instead of stopping")
    p.add_argument("--fail-on", choices=["regression", "margin"], help="exit 1 on a regression "
                   "(margin: also on a margin that shrank but still passes)")
    p.add_argument("--no-pictures", action="store_true", help="skip the crops (the change list and checks only)")
    p.add_argument("--no-cache", action="store_true", help="recompute each side instead of reading .review-cache/")
    p.add_argument("--cache", type=Path, default=project.ROOT / ".review-cache", help=argparse.SUPPRESS)
    return p


def main(argv=None, prog: str = "p1reader review") -> int:
    args = _parser(prog).parse_args(argv)
    start = time.monotonic()

    def log(message: str):
        print(f"[{time.monotonic() - start:6.1f} s] {message}", flush=True)

    review = run.review(args.base, args.head, args.out, repo=args.repo, force=args.force,
                        allow_stale=args.allow_stale, pictures=not args.no_pictures,
                        cache=None if args.no_cache else args.cache, log=log)
    failed = run.failures(review, args.fail_on)
    for f in failed:
        print(f"{f['verdict'].upper()}: {f['variant']} {f['figure']}: {f['before']} → {f['after']}")
    total = sum(len(v["changes"]) for v in review["variants"])
    print(f"review: {total} change(s), {len(failed)} failing figure(s) under --fail-on "
          f"{args.fail_on or '(none)'}; {args.out}/index.html in {time.monotonic() - start:.1f} s")
    return 1 if failed else 0
