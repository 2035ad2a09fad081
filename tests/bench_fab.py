"""CPU of a forced full `make fab` (both variants) against the bare kicad-cli and ngspice calls it makes.

1. In a copy of the repository, `p1reader fab --force` runs once under a wrapper that hooks `record_call`
   into hwtools/procs.py (`CALL_HOOKS`): every kicad-cli and ngspice call is written down with a copy of its
   inputs. That build is not timed (its copying would count against it).
2. The recorded calls replayed from a plain shell script, one after another: the bare CPU.
3. `--rounds` (default 5) of a forced build, its CPU the user + system time of the whole process tree, and the
   bare replay after it; each round gives a ratio measured side by side, and the median round counts (on a
   shared VM two runs differ by 10-20 %, and not both sides alike).
Target: build ≤ 1.2 × bare. Not a pytest test: run `python -m tests.bench_fab`.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 1.2
TOOLS = {"kicad_cli": "kicad-cli", "ngspice": "ngspice"}  # figure name → the recorded tool it replays
REPO = Path(__file__).resolve().parents[1]
BUILD = ["-m", "p1reader", "fab", "--force"]
# `p1reader fab --force` with every tool call recorded into argv[1] (read before argv is replaced: the hook runs
# later, in worker processes too); this checkout goes last on the path, so hwtools is still the copy's (the
# working folder comes first)
RECORDING = f"""
import runpy, sys
sys.path.append({str(REPO)!r})
from tests.bench_fab import record_call
from hwtools import procs
record = sys.argv[1]
procs.CALL_HOOKS.append(lambda cmd, cwd: record_call(cmd, cwd, record))
sys.argv = ["p1reader", "fab", "--force"]
runpy.run_module("p1reader", run_name="__main__")
"""


def record_call(cmd, cwd, record: str):
    """Copy the call's inputs (its working folder, the folders of the files it names) into a fresh folder of
    the record and append the call, rewritten to those copies, to calls.jsonl; the bench replays them as a
    bare shell script. Runs in the build (a hook in hwtools.procs.CALL_HOOKS), in its worker processes too."""
    if Path(cmd[0]).name not in TOOLS.values():
        return
    call = Path(tempfile.mkdtemp(prefix="call-", dir=record))
    folders = {str(Path(cwd).absolute())} if cwd else set()
    folders |= {str(Path(a).absolute().parent) for a in map(str, cmd[1:]) if a.startswith("/") and Path(a).is_file()}
    mapping = {}
    for i, folder in enumerate(sorted(folders, key=len, reverse=True)):
        copy = call / f"d{i}"
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("p1s1", "*.raw"))
        mapping[folder] = str(copy)
    for i, arg in enumerate(map(str, cmd[1:])):  # outputs elsewhere: an empty folder of their own
        if arg.startswith("/") and not any(arg.startswith(f + "/") for f in mapping):
            folder = arg.rstrip("/") if arg.endswith("/") else str(Path(arg).parent)
            (call / f"o{i}").mkdir()
            mapping[folder] = str(call / f"o{i}")
    mapping = dict(sorted(mapping.items(), key=lambda kv: len(kv[0]), reverse=True))

    def moved(arg: str) -> str:
        for folder, copy in mapping.items():  # longest first
            if arg == folder or arg.startswith(folder + "/"):
                return copy + arg[len(folder):]
        return arg

    entry = {"argv": [Path(cmd[0]).name] + [moved(str(a)) for a in cmd[1:]], "cwd": moved(str(cwd)) if cwd else None}
    with open(Path(record) / "calls.jsonl", "a") as f:
        f.write(json.dumps(entry) + "\n")


def _cpu_of(cmd, **kw) -> tuple[float, float, subprocess.CompletedProcess]:
    """(CPU s of the child and everything it waited for, wall s, result)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, **kw)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall, proc


def _script(calls: list[dict], tools) -> str:
    lines = ["set -e"]
    for c in calls:
        if c["argv"][0] in tools:
            cd = f"cd {shlex.quote(c['cwd'])} && " if c["cwd"] else ""
            lines.append(f"( {cd}{shlex.join(c['argv'])} ) >/dev/null 2>&1")
    return "\n".join(lines) + "\n"


def _build(repo: Path, record: Path | None = None) -> tuple[float, float]:
    cmd = [sys.executable, "-c", RECORDING, str(record)] if record else [sys.executable, *BUILD]
    cpu, wall, proc = _cpu_of(cmd, cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
        raise SystemExit(f"forced build failed (exit {proc.returncode})")
    return cpu, wall


def _bare(script: Path) -> float:
    cpu, _, res = _cpu_of(["bash", str(script)])
    if res.returncode != 0:
        raise SystemExit(f"the bare script failed (exit {res.returncode}): {script}")
    return cpu


def main(argv: list[str] | None = None) -> dict:
    from hwtools import fab_cache

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the work folder (recorded calls, scripts)")
    ap.add_argument("--rounds", type=int, default=5, choices=range(1, 10), metavar="1-9",
                    help="rounds of a build and its bare replay, side by side; the median round's ratio counts")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="p1reader-bench-fab-"))
    try:
        repo = work / "repo"
        for folder in ("p1reader", "hwtools", "kicad", "gerbers"):
            # the __pycache__ folders keep the bytecode and hwtools/ the router's compiled loops, as `make setup`
            # leaves them (copied with their times, so Python still sees them current)
            shutil.copytree(REPO / folder, repo / folder, ignore=shutil.ignore_patterns(".fab"))
        shutil.copyfile(REPO / fab_cache.RECORD_FILE, repo / fab_cache.RECORD_FILE)
        record = work / "record"
        record.mkdir()
        _build(repo, record)  # records the calls; not timed
        calls = [json.loads(line) for line in (record / "calls.jsonl").read_text().splitlines()]
        scripts = {}
        for name, tool in TOOLS.items():
            scripts[name] = work / f"bare-{name}.sh"
            scripts[name].write_text(_script(calls, (tool,)))
        builds, bares = [], {name: [] for name in scripts}
        for _ in range(args.rounds):  # the machine's load varies: rounds alternate, the median one counts
            builds.append(_build(repo))
            for name, script in scripts.items():
                bares[name].append(_bare(script))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work folder kept: {work}")
    rounds = list(zip(*bares.values()))  # per round: (kicad-cli CPU, ngspice CPU)
    ratios = [b / sum(r) for (b, _), r in zip(builds, rounds)]
    middle = sorted(range(len(ratios)), key=ratios.__getitem__)[len(ratios) // 2]  # the median round
    build, build_wall = builds[middle]
    cpu = dict(zip(bares, rounds[middle]))
    count = {name: sum(c["argv"][0] == tool for c in calls) for name, tool in TOOLS.items()}
    bare = sum(cpu.values())
    result = {
        "rounds": args.rounds,
        "build_cpu_s": round(build, 1), "build_wall_s": round(build_wall, 1),
        "build_cpu_s_each_round": [round(b, 1) for b, _ in builds],
        "ratio_each_round": [round(r, 2) for r in ratios],
        "bare_kicad_cli": {"calls": count["kicad_cli"], "cpu_s": round(cpu["kicad_cli"], 1)},
        "bare_ngspice": {"calls": count["ngspice"], "cpu_s": round(cpu["ngspice"], 1)},
        "bare_cpu_s": round(bare, 1),
        "bare_cpu_s_each_round": [round(sum(r), 1) for r in rounds],
        "python_overhead_cpu_s": round(build - bare, 1),
        "ratio": round(build / bare, 2),
        "ratio_vs_kicad_cli_alone": round(build / cpu["kicad_cli"], 2),
        "target_ratio": TARGET_RATIO,
        "meets_target": build / bare <= TARGET_RATIO,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["meets_target"] else 1)
