"""Set-up writes the backports source on the machine's own Debian mirror (fixture apt folders, never /etc)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "fab"


def _setup_fn(call: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f'source "{REPO}/setup.sh" && {call}'], capture_output=True,
                          text=True, check=False)


@pytest.mark.parametrize("form, mirror", [("apt-deb822", "http://mirror.example.invalid:3142/debian"),
                                          ("apt-oneline", "http://proxy.example.invalid:9999/debian")])
def test_backports_source_uses_the_machines_own_mirror(tmp_path, form, mirror):
    apt = tmp_path / "apt"
    shutil.copytree(DATA / form, apt)
    assert _setup_fn(f'debian_mirror_uri "{apt}"').stdout.strip() == mirror
    proc = _setup_fn(f'write_backports_source "{apt}"')
    assert proc.returncode == 0, proc.stderr
    written = (apt / "sources.list.d" / "bookworm-backports.sources").read_text()
    assert f"URIs: {mirror}\n" in written
    assert "Suites: bookworm-backports\n" in written and "Types: deb\n" in written


def test_no_debian_source_stops_set_up_and_says_so(tmp_path):
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list.d" / "other.sources").write_text("Types: deb\nURIs: http://x.invalid/ubuntu\nSuites: jammy\n")
    proc = _setup_fn(f'write_backports_source "{apt}"')
    assert proc.returncode == 2
    assert "no Debian bookworm source" in proc.stderr and "apt can install nothing" in proc.stderr
    assert sorted(p.name for p in (apt / "sources.list.d").iterdir()) == ["other.sources"]  # nothing written


def test_no_file_names_a_real_mirror_host():
    """Set-up uses the machine's own Debian mirror: no file of the repository names one (fixtures: *.invalid)."""
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    hosts = set()
    for rel in tracked:
        path = REPO / rel
        if path.suffix in (".png", ".zip", ".pdf", ".bin", ".gbr") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        hosts |= {(rel, h) for h in re.findall(r"(?:https?|ftp)://([A-Za-z0-9.-]+)[^\s\"')]*/debian", text)
                  if not h.endswith(".invalid")}
    assert hosts == set()


def test_sourcing_setup_runs_nothing():
    proc = _setup_fn("type write_backports_source >/dev/null && echo sourced")
    assert proc.stdout.strip() == "sourced" and "setup:" not in proc.stderr
