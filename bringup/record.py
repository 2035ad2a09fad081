"""Run records: ``records/<board-serial>/<UTC time>.json`` rewritten atomically after every step (a
crash keeps what was measured), plus at the end an HTML report (limits table, serial log), JUnit XML
for CI and the raw console log.
"""
from __future__ import annotations

import html
import json
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

from .measurement import Outcome, StepResult

SCHEMA = 1
_SERIAL_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class RecordError(Exception):
    pass


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_serial(board_serial: str) -> str:
    if not _SERIAL_OK.match(board_serial):
        raise RecordError(f"board serial {board_serial!r}: use letters, digits, '.', '_' or '-' (≤ 64)")
    return board_serial


def atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file in the same directory, fsync, then os.replace."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class RunRecord:
    """The JSON record of one run; call :meth:`save` after every change."""

    def __init__(self, records_dir: str | Path, board_serial: str, station_name: str, meta: dict | None = None):
        check_serial(board_serial)
        self.dir = Path(records_dir) / board_serial
        self.dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path, k = self.dir / f"{stamp}.json", 1
        while path.exists():
            path, k = self.dir / f"{stamp}-{k}.json", k + 1
        self.path = path
        self.data = {
            "schema": SCHEMA,
            "board_serial": board_serial,
            "station": station_name,
            "started": utc_now(),
            "finished": None,
            "outcome": "RUNNING",
            "failed_step": None,
            "reason": "",
            "firmware": None,
            "supply_output_after": None,
            "steps": [],
            **(meta or {}),
        }
        self.save()

    def stem(self) -> Path:
        return self.path.with_suffix("")

    def save(self) -> None:
        atomic_write(self.path, json.dumps(self.data, indent=2, default=str) + "\n")

    def add_step(self, result: StepResult) -> None:
        self.data["steps"].append(result.to_dict())
        self.save()

    def finish(self, outcome: Outcome, failed: StepResult | None, console_log: bytes = b"") -> None:
        self.data["finished"] = utc_now()
        self.data["outcome"] = "PASS" if outcome in (Outcome.PASS, Outcome.MARGINAL) else "FAIL"
        self.data["marginal"] = outcome == Outcome.MARGINAL
        if failed is not None:
            self.data["failed_step"] = f"{failed.index} {failed.name}"
            self.data["reason"] = failed.reason()
        log_path = self.stem().with_suffix(".console.log")
        log_path.write_bytes(console_log)
        self.data["console_log"] = log_path.name
        self.data["html_report"] = self.stem().with_suffix(".html").name
        self.data["junit"] = self.stem().with_suffix(".junit.xml").name
        self.save()
        atomic_write(self.stem().with_suffix(".html"), render_html(self.data, console_log))
        atomic_write(self.stem().with_suffix(".junit.xml"), render_junit(self.data))


_COLOURS = {"PASS": "#1a7f37", "MARGINAL": "#9a6700", "FAIL": "#cf222e", "ERROR": "#cf222e", "SKIPPED": "#57606a"}


def _log_excerpt(log: bytes, limit: int = 200_000) -> str:
    text = log.decode("latin-1")
    if len(text) > limit:
        half = limit // 2
        text = text[:half] + f"\n… {len(text) - limit} characters left out …\n" + text[-half:]
    return text


def render_html(d: dict, console_log: bytes) -> str:
    e = html.escape
    rows = []
    for s in d["steps"]:
        rows.append(f'<tr class="step"><th colspan="6">{s["index"]}. {e(s["title"])} — '
                    f'<span style="color:{_COLOURS.get(s["outcome"], "#000")}">{s["outcome"]}</span>'
                    f' ({s["duration_s"]:.2f} s){" — " + e(s["error"]) if s["error"] else ""}</th></tr>')
        for m in s["measurements"]:
            lim = ("= " + e(str(m["expect"]))) if m["expect"] is not None else (
                f'{"" if m["low"] is None else m["low"]} … {"" if m["high"] is None else m["high"]}')
            rows.append(f'<tr><td>{e(m["name"])}</td><td>{e(str(m["value"]))}</td><td>{e(m["unit"])}</td>'
                        f'<td>{lim}</td><td style="color:{_COLOURS.get(m["outcome"], "#000")}">{m["outcome"]}</td>'
                        f'<td>{e(m["note"])}</td></tr>')
    colour = _COLOURS.get(d["outcome"], "#000")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>p1reader bring-up {e(d["board_serial"])} {d["outcome"]}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:.25em .5em;text-align:left}}
tr.step th{{background:#f6f8fa}} pre{{background:#f6f8fa;padding:1em;max-height:40em;overflow:auto;font-size:85%}}</style></head>
<body><h1>p1reader bring-up: <span style="color:{colour}">{d["outcome"]}</span></h1>
<p>Board <b>{e(d["board_serial"])}</b> · station {e(d["station"])} · firmware {e(str(d.get("firmware")))} ·
started {e(d["started"])} · finished {e(str(d["finished"]))} · supply output after run: <b>{e(str(d["supply_output_after"]))}</b>
{"<br>Injected fault: " + e(d["inject"]) if d.get("inject") else ""}
{"<br>Failed at step " + e(d["failed_step"]) + ": " + e(d["reason"]) if d.get("failed_step") else ""}</p>
<h2>Measurements and limits</h2>
<table><tr><th>measurement</th><th>value</th><th>unit</th><th>limits</th><th>outcome</th><th>note</th></tr>
{chr(10).join(rows)}
</table>
<h2>Serial log (board console)</h2>
<pre>{e(_log_excerpt(console_log))}</pre>
</body></html>
"""


def render_junit(d: dict) -> str:
    suite = ET.Element("testsuite", name=f"p1reader-bringup.{d['board_serial']}",
                       timestamp=d["started"], tests="0", failures="0", errors="0", skipped="0")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for s in d["steps"]:
        case = ET.SubElement(suite, "testcase", classname=f"bringup.{d['board_serial']}",
                             name=f"{s['index']}_{s['name']}", time=f"{s['duration_s']:.3f}")
        counts["tests"] += 1
        detail = "\n".join(f"{m['name']}: {m['value']} {m['unit']} [{m['outcome']}] {m['note']}" for m in s["measurements"])
        if s["outcome"] == "FAIL":
            counts["failures"] += 1
            ET.SubElement(case, "failure", message=s["error"] or "measurement out of limits").text = detail
        elif s["outcome"] == "ERROR":
            counts["errors"] += 1
            ET.SubElement(case, "error", message=s["error"]).text = detail
        elif s["outcome"] == "SKIPPED":
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=s["error"] or "earlier step failed")
        else:
            ET.SubElement(case, "system-out").text = detail
    for k, v in counts.items():
        suite.set(k, str(v))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
