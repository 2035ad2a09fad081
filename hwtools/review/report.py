"""The review's three outputs: review.json (the data, `schema_version`, docs/review-schema.json), review.md (for
a design note) and index.html (jinja2; the change list grouped by kind, each entry linking to its crops)."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2

from ..staging import atomic_write
from . import ReviewError
from .diff import KINDS

TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("hwtools.review", "templates"), autoescape=True,
                               undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
SCHEMA = "docs/review-schema.json"


def write(review: dict, out: Path) -> list[Path]:
    files = {"review.json": json.dumps(review, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
             "review.md": markdown(review), "index.html": html(review)}
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            atomic_write(out / name, text, durable=False)
    except OSError as e:
        raise ReviewError(f"-o {out}: {e.strerror or e}") from e
    return [out / name for name in files]


def _what(c: dict) -> str:
    """A change in a few words."""
    kind, before, after = c["kind"], c.get("before"), c.get("after")
    if kind in ("value", "footprint", "side", "renamed", "net-renamed"):
        return f"{before} → {after}"
    if kind == "field":
        return f"{c['field']}: {before} → {after}"
    if kind == "moved":
        return f"Δx {c['dx_mm']:+g} mm, Δy {c['dy_mm']:+g} mm"
    if kind == "rotated":
        return f"Δθ {c['dtheta_deg']:+g}° ({before:g}° → {after:g}°)"
    if kind == "part-added":
        return f"{after['value']} ({after['footprint']})"
    if kind == "part-removed":
        return f"{before['value']} ({before['footprint']})"
    if kind == "net-rewired":
        return "; ".join(f"{m['pin']} {m['from'] or '—'} → {m['to'] or '—'}" for m in c["moves"])
    if kind in ("net-merged", "net-split"):
        return f"{', '.join(before) if isinstance(before, list) else before} → " \
               f"{', '.join(after) if isinstance(after, list) else after}"
    if kind == "routing":
        return _route(before, after)
    if kind in ("net-added", "net-removed"):
        return ", ".join(after or before)
    return f"{len(before or [])} item(s) gone, {len(after or [])} new"


def _route(before: dict, after: dict) -> str:
    return (f"length {before['length_mm']} → {after['length_mm']} mm, vias {before['vias']} → {after['vias']}, "
            f"segments {before['segments']} → {after['segments']}")


def _subject(c: dict) -> str:
    return c.get("ref") or c.get("net") or c.get("variant") or "board"


def rows(variant: dict) -> list[dict]:
    """The changes of a variant for the page and the note, by kind, each with its consequences and pictures."""
    routing = variant.get("routing", [])
    pictures = {p["change"]: p for p in variant.get("pictures", {}).get("crops", [])}
    out = []
    for c in sorted(variant["changes"], key=lambda c: (KINDS.index(c["kind"]) if c["kind"] in KINDS else -1,
                                                        _subject(c))):
        out.append({"change": c, "subject": _subject(c), "what": _what(c),
                    "routing": [{**r, "what": _route(r["before"], r["after"])} for r in routing
                                if r["caused_by"] == c["id"]],
                    "crop": pictures.get(c["id"])})
    return out


def markdown(review: dict) -> str:
    lines = [f"# Review: {review['base']['label']} → {review['head']['label']}", ""]
    for side in ("base", "head"):
        s = review[side]
        lines.append(f"- {side}: `{s['label']}`" + (f" (commit {s['revision'][:12]})" if s["revision"] else "")
                     + (f" — STALE: {'; '.join(s['stale'])}" if s["stale"] else ""))
    for v in review["variants"]:
        lines += ["", f"## {v['variant']}: {len(v['changes'])} change(s)", ""]
        if v["changes"]:
            lines += ["| kind | ref / net | change | routing it caused |", "|---|---|---|---|"]
            for r in rows(v):
                routed = "; ".join(f"{x['net']}: {x['what']}" for x in r["routing"]) or "—"
                lines.append(f"| {r['change']['kind']} | {r['subject']} | {r['what']} | {routed} |")
        else:
            lines.append("No change.")
        checks = [e for e in v.get("checks", []) if e["verdict"] not in ("same",)]
        lines += ["", f"### Checks ({len(v.get('checks', []))} figures; changed or not comparable below)", ""]
        lines += ["| figure | before | after | verdict |", "|---|---|---|---|"]
        lines += [f"| {e['figure']} | {_fig(e['before'])} | {_fig(e['after'])} | {e['verdict']} |" for e in checks]
        lines += _package(v.get("package", {}))
        pictures = v.get("pictures", {})
        if pictures:
            lines += ["", "### Pictures", ""]
            lines += [f"- {name}: {state}" for name, state in pictures["layers"].items()]
            lines += [f"- **{name}**: {flag}" for name, flag in pictures["flags"].items()]
    return "\n".join(lines) + "\n"


def _package(package: dict) -> list[str]:
    """The BOM lines, components.json entries and upload files that differ, if any."""
    lines = []
    for part, label in (("bom", "BOM lines"), ("components", "components.json"), ("upload", "upload zip")):
        for change, items in sorted(package.get(part, {}).items()):
            if items:
                lines.append(f"- {label} {change}: " + "; ".join(f"`{x}`" for x in items))
    return ["", "### Package", "", *lines] if lines else []


def _fig(f) -> str:
    if not isinstance(f, dict):
        return str(f if f is not None else "—")
    return f"{f['figure']} ({'PASS' if f['pass'] else 'FAIL'})"


def groups(items: list[dict]) -> list[tuple[str, list[dict]]]:
    """The rows of `rows()` grouped by kind, in their order."""
    out: list[tuple[str, list[dict]]] = []
    for r in items:
        if not out or out[-1][0] != r["change"]["kind"]:
            out.append((r["change"]["kind"], []))
        out[-1][1].append(r)
    return out


def html(review: dict) -> str:
    return TEMPLATES.get_template("index.html").render(review=review, rows=rows, groups=groups, fig=_fig)
