"""The fab cache: input hashes of the `make fab` steps, so that a step whose inputs did not change is skipped.

A step's record (its input hash over modules, files and tool versions; the sha256 of each output it wrote) is
committed in `fab-steps.json`: a fresh clone skips what is current, and reruns a step whose committed outputs
no longer match their record.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from . import project

RECORD_FILE = project.STEP_RECORDS  # in the repository root, committed with kicad/ and gerbers/
PACKAGE = "hwtools"
_TOOL_CACHE = ".fab/tools.json"  # tool version by the binary's identity: `kicad-cli version` costs ~0.5 s


def _module_file(name: str, root: Path) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#]*)", re.M)


@functools.cache
def _imports(path: Path, root: Path) -> frozenset[Path]:
    """The package's own module files that `path` imports anywhere (top level or inside functions).

    A scan of the import statements (ast is ten times slower, and the no-op `make fab` must stay quick); a
    line inside a string that looks like an import only adds a dependency, never hides one.
    """
    text = path.read_text(encoding="utf-8")
    package = ".".join(path.relative_to(root).parent.parts)  # what a relative import is relative to
    names = set()
    for dots, module, what in _FROM.findall(text):
        base = module
        if dots:
            anchor = package.split(".")
            anchor = anchor[:len(anchor) - (len(dots) - 1)]
            base = ".".join(anchor + ([module] if module else []))
        names.add(base)
        for item in what.strip("()").replace("\n", " ").split(","):  # `from . import fab`: a module
            word = item.split(" as ")[0].strip()
            if word:
                names.add(f"{base}.{word}")
    for what in _IMPORT.findall(text):
        names.update(item.split(" as ")[0].strip() for item in what.split(","))
    found = set()
    for name in names:
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # a module and the packages above it
                f = _module_file(".".join(parts[:i]), root)
                if f is not None:
                    found.add(f)
    return frozenset(found)


def module_files(entries, root: Path = project.ROOT) -> list[Path]:
    """Every module file of the package reachable from the entry modules ("hwtools.generate", …)."""
    todo = [f for f in (_module_file(e, root) for e in entries) if f is not None]
    seen = set()
    while todo:
        f = todo.pop()
        if f not in seen:
            seen.add(f)
            todo.extend(_imports(f, root) - seen)
    return sorted(seen)


def tool_version(exe: str, args=("--version",), root: Path = project.ROOT) -> str:
    """The first line of `exe args`, cached by the binary's path, size and time (a new package = a new binary)."""
    path = shutil.which(exe)
    if path is None:
        return f"{exe}: not installed"
    real = os.path.realpath(path)
    st = os.stat(real)
    key = f"{real} {st.st_size} {st.st_mtime_ns} {' '.join(args)}"
    cache_path = root / _TOOL_CACHE
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    if key not in cache:
        from . import procs

        proc = procs.run([path, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
        lines = (proc.stdout or proc.stderr).strip().splitlines()
        cache[key] = lines[0].strip() if lines else f"{exe}: exit {proc.returncode}"
        from .staging import atomic_write

        cache_path.parent.mkdir(exist_ok=True)
        atomic_write(cache_path, json.dumps(cache, indent=1))
    return cache[key]


def package_version(name: str) -> str:
    """An installed package's version from its dist-info folder name (importlib.metadata costs ~50 ms)."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return f"{name}: not installed"
    site = Path(list(spec.submodule_search_locations)[0]).parent
    found = sorted(p.name for p in site.glob("*.dist-info") if p.name.lower().startswith(name.lower() + "-"))
    return found[0].removesuffix(".dist-info") if found else f"{name}: version unknown"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Inputs:
    """What one step reads; `digest()` is its input hash."""

    def __init__(self, modules=(), files=(), tools=(), root: Path = project.ROOT):
        self.root = Path(root)
        self.modules = module_files(modules, self.root) if modules else []
        self.files = list(files)  # (label, path): label is stable (repository-relative), path may be staged
        self.tools = list(tools)

    def digest(self) -> str:
        h = hashlib.sha256()
        for f in self.modules:
            h.update(f"module {f.relative_to(self.root)} {sha256_file(f)}\n".encode())
        for label, path in sorted(self.files, key=lambda x: x[0]):
            digest = sha256_file(path) if Path(path).is_file() else "missing"
            h.update(f"file {label} {digest}\n".encode())
        for tool in self.tools:
            h.update(f"tool {tool}\n".encode())
        return h.hexdigest()


class Records:
    """The committed step records: {step: {"inputs": hash, "outputs": {repository path: sha256}}}."""

    def __init__(self, root: Path = project.ROOT):
        self.root = Path(root)
        self.path = self.root / RECORD_FILE
        try:
            self.steps = json.loads(self.path.read_text(encoding="utf-8")).get("steps", {})
        except (OSError, ValueError):
            self.steps = {}

    def current(self, step: str, digest: str) -> bool:
        """True when the step ran with these inputs and its committed outputs are still what it wrote."""
        rec = self.steps.get(step)
        if not rec or rec.get("inputs") != digest:
            return False
        return all((self.root / rel).is_file() and sha256_file(self.root / rel) == sha
                   for rel, sha in rec.get("outputs", {}).items())

    def set(self, step: str, digest: str, outputs: dict[str, Path]):
        """Record a step; `outputs` maps repository paths to the (staged) files it wrote."""
        self.steps[step] = {"inputs": digest,
                            "outputs": {rel: sha256_file(p) for rel, p in sorted(outputs.items())}}

    def prune(self, declared: set[str], built: set[str], known: set[str]):
        """Drop the records of steps that no longer exist: of a variant that is gone (`known`: every variant's
        name), or of a variant `built` this run that no longer `declared` them. A variant not built keeps its own."""
        def exists(step: str) -> bool:
            variant = step.split("/", 1)[0]
            return variant in known and (variant not in built or step in declared)

        self.steps = {step: rec for step, rec in self.steps.items() if exists(step)}

    def text(self) -> str:
        return json.dumps({"about": "input hashes of the `make fab` steps (hwtools/fab_cache.py); do not edit",
                           "steps": dict(sorted(self.steps.items()))}, indent=1, sort_keys=True) + "\n"
