"""Run records: ``records/<board-serial>/<UTC time>.json``, claimed exclusively and rewritten atomically after
every step (a crash keeps what was measured); at the end the console log and, rendered from the final JSON
as read back from disk, the HTML report and the JUnit XML. A write error never stops the run: it is kept in
:attr:`RunRecord.write_error` for the final console line (bringup/README.md, "Records").
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

import jinja2

from hwtools.staging import atomic_write

from .errors import BringupError
from .measurement import Category, Outcome, StepResult

SCHEMA = 3  # 2: run_id, outcome ABORTED, record_error; 3: category, failed_step_index, failed_step_name
FILE_MODE = 0o644  # records are read by other users (the results database, a web server)
_SERIAL_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class RecordError(BringupError, ValueError):
    """A board serial or a record file that cannot be used (a ValueError, so the record schema can use
    :func:`check_serial` as its validator)."""


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_serial(board_serial: str) -> str:
    # fullmatch: `$` would also match before a trailing newline, which then splits the result line
    if not _SERIAL_OK.fullmatch(board_serial):
        raise RecordError(f"board serial {board_serial!r}: use letters, digits, '.', '_' or '-' (≤ 64)")
    return board_serial


def claim(directory: Path, stem: str, first: bytes, suffix: str = ".json") -> Path:
    """Create ``<stem><suffix>`` exclusively (``<stem>-1<suffix>``, … when taken) holding ``first``, and
    return its path. ``O_EXCL`` makes the check and the create one step, so two runs can never get the
    same path; if ``first`` cannot be written (a full disk) the file is removed again: never an empty
    record."""
    for k in range(10_000):
        path = directory / (f"{stem}{suffix}" if k == 0 else f"{stem}-{k}{suffix}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), FILE_MODE)  # the umask must not make it private
                f.write(first)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path
    raise RecordError(f"{directory}: 10,000 records named {stem}* already")


def check_folder(records_dir: str | Path, board_serial: str) -> None:
    """Can this board's records be written? Raises :class:`OSError` naming the folder if not. A small
    file is written, synced and removed in ``<records>/<serial>/`` (a full disk fails here, before a
    database is opened or anything powered); folders made for it are removed again: the check leaves
    the tree as it found it."""
    folder = Path(records_dir) / check_serial(board_serial)
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # innermost first
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=folder)
        try:
            os.write(fd, b"p1reader: can a record be written here?\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as e:
        raise OSError(e.errno, f"records folder {folder}: {e.strerror or e}") from e
    finally:
        for d in made:
            try:
                d.rmdir()
            except OSError:
                break


def side_files(record_path: str | Path) -> dict[str, Path]:
    """The files written beside a finished JSON record, by their record key."""
    stem = Path(record_path).with_suffix("")
    return {"console_log": stem.with_suffix(".console.log"), "html_report": stem.with_suffix(".html"),
            "junit": stem.with_suffix(".junit.xml")}


class RunRecord:
    """The JSON record of one run; call :meth:`save` after every change.

    Creating it raises :class:`OSError` when the records folder cannot be written (nothing has been
    powered yet then). Later write errors are kept in :attr:`write_error`, never raised."""

    def __init__(self, records_dir: str | Path, board_serial: str, station_name: str, meta: dict | None = None):
        check_serial(board_serial)
        self.dir = Path(records_dir) / board_serial
        self.dir.mkdir(parents=True, exist_ok=True)
        self.write_error: str | None = None
        self.data = {
            "schema": SCHEMA,
            "run_id": str(uuid.uuid4()),
            "board_serial": board_serial,
            "station": station_name,
            "started": utc_now(),
            "finished": None,
            "outcome": "RUNNING",
            "category": None,  # pass, fail, aborted or station error, once finished
            "failed_step_index": None,
            "failed_step_name": None,
            "failed_step": None,  # "<index> <name>", for people: code reads the two fields above
            "reason": "",
            "firmware": None,
            "supply_output_after": None,
            "steps": [],
            **(meta or {}),
        }
        # the record itself cannot be written: OSError, and no run starts
        self.path = claim(self.dir, datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"), self._json().encode())

    def _json(self) -> str:
        return json.dumps(self.data, indent=2, default=str) + "\n"

    @staticmethod
    def _write(path: Path, data: str | bytes) -> str | None:
        """Write `path` atomically; the error ("<path>: <error>") if that fails."""
        try:
            atomic_write(path, data, FILE_MODE)
        except OSError as e:
            return f"{path}: {e.strerror or e}"
        return None

    def save(self) -> None:
        """Write the JSON; on an error keep going (it is retried at the next save)."""
        self.write_error = self._write(self.path, self._json())

    def add_step(self, result: StepResult) -> None:
        self.data["steps"].append(result.to_dict())
        self.save()

    def finish(self, outcome: Outcome, category: Category, failed: StepResult | None,
               console_log: bytes = b"") -> None:
        """Final outcome (PASS, FAIL or ABORTED), its category and the failed step into the JSON, the console
        log beside it, then — only once the final JSON is on disk — the HTML and JUnit reports rendered from
        that file. Every write error is in :attr:`write_error` ("<path>: <error>", joined by "; ")."""
        self.data["finished"] = utc_now()
        self.data["outcome"] = {Category.PASS: "PASS", Category.ABORTED: "ABORTED"}.get(category, "FAIL")
        self.data["category"] = category.value
        self.data["marginal"] = outcome == Outcome.MARGINAL
        if failed is not None:
            self.data.update(failed_step_index=failed.index, failed_step_name=failed.name,
                             failed_step=f"{failed.index} {failed.name}", reason=failed.reason())
        sides = side_files(self.path)
        self.data.update({key: path.name for key, path in sides.items()})
        json_error = self._write(self.path, self._json())
        errors = [json_error, self._write(sides["console_log"], console_log)]
        if json_error is None:
            errors += self._write_reports(sides, console_log)
        self.write_error = "; ".join(e for e in errors if e) or None

    def _write_reports(self, sides: dict[str, Path], console_log: bytes) -> list[str | None]:
        """HTML and JUnit from the JSON record as it is on disk (so they say what it says); their errors."""
        try:
            written = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            return [f"{self.path}: cannot be read back ({e})"]
        reports = (("html_report", render_html(written, console_log)), ("junit", render_junit(written)))
        return [self._write(sides[key], text) for key, text in reports]


_COLOURS = {"PASS": "#1a7f37", "MARGINAL": "#9a6700", "FAIL": "#cf222e", "ERROR": "#cf222e", "SKIPPED": "#57606a",
            "ABORTED": "#cf222e"}

# bringup/templates: the run report here, the yield page (yield_report.py); every value autoescaped
TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("bringup", "templates"), autoescape=True,
                               undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _log_excerpt(log: bytes, limit: int = 200_000) -> str:
    text = log.decode("latin-1")  # byte-exact: one character per byte, never a replacement character
    if len(text) > limit:
        half = limit // 2
        text = text[:half] + f"\n… {len(text) - limit} characters left out …\n" + text[-half:]
    return text


def _limits(m: dict) -> str:
    if m["expect"] is not None:
        return f"= {m['expect']}"
    return f'{"" if m["low"] is None else m["low"]} … {"" if m["high"] is None else m["high"]}'


def render_html(d: dict, console_log: bytes) -> str:
    """The report page, from ``templates/report.html`` (jinja2, every value autoescaped)."""
    return TEMPLATES.get_template("report.html").render(
        d=d, colours=_COLOURS, limits=_limits, log=_log_excerpt(console_log), telegrams=d.get("telegrams") or [])


def render_junit(d: dict) -> str:
    outcomes = Counter(s["outcome"] for s in d["steps"])
    suite = ET.Element("testsuite", name=f"p1reader-bringup.{d['board_serial']}", timestamp=d["started"],
                       tests=str(len(d["steps"])), failures=str(outcomes["FAIL"]), errors=str(outcomes["ERROR"]),
                       skipped=str(outcomes["SKIPPED"]))
    props = ET.SubElement(suite, "properties")
    for key in ("run_id", "outcome", "category"):
        ET.SubElement(props, "property", name=key, value=str(d.get(key)))
    for s in d["steps"]:
        case = ET.SubElement(suite, "testcase", classname=f"bringup.{d['board_serial']}",
                             name=f"{s['index']}_{s['name']}", time=f"{s['duration_s']:.3f}")
        detail = "\n".join(f"{m['name']}: {m['value']} {m['unit']} [{m['outcome']}] {m['note']}" for m in s["measurements"])
        if s["outcome"] == "FAIL":
            ET.SubElement(case, "failure", message=s["error"] or "measurement out of limits").text = detail
        elif s["outcome"] == "ERROR":
            ET.SubElement(case, "error", message=s["error"]).text = detail
        elif s["outcome"] == "SKIPPED":
            ET.SubElement(case, "skipped", message=s["error"] or "earlier step failed")
        else:
            ET.SubElement(case, "system-out").text = detail
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
