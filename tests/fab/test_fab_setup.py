"""Set-up writes the backports source on the machine's own Debian mirror (fixture apt folders, never /etc)."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "fab"


def _setup_fn(call: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f'source "{REPO}/setup.sh" && {call}'], capture_output=True,
                          text=True, check=False)


@pytest.mark.parametrize("form, mirror", [("apt-deb822", "http://mirror.local:3142/debian"),
                                          ("apt-oneline", "http://proxy.lan:9999/debian")])
def test_backports_source_uses_the_machines_own_mirror(tmp_path, form, mirror):
    apt = tmp_path / "apt"
    shutil.copytree(DATA / form, apt)
    assert _setup_fn(f'debian_mirror_uri "{apt}"').stdout.strip() == mirror
    proc = _setup_fn(f'write_backports_source "{apt}"')
    assert proc.returncode == 0, proc.stderr
    written = (apt / "sources.list.d" / "bookworm-backports.sources").read_text()
    assert f"URIs: {mirror}\n" in written
    assert "Suites: bookworm-backports\n" in written and "Types: deb\n" in written
    assert "deb.debian.org" not in written


def test_no_debian_source_falls_back_to_the_public_mirror_and_says_so(tmp_path):
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list.d" / "other.sources").write_text("Types: deb\nURIs: http://x.invalid/ubuntu\nSuites: jammy\n")
    proc = _setup_fn(f'write_backports_source "{apt}"')
    assert proc.returncode == 0
    assert "no Debian bookworm source found" in proc.stderr
    assert "URIs: http://deb.debian.org/debian\n" in (apt / "sources.list.d" / "bookworm-backports.sources").read_text()


def test_sourcing_setup_runs_nothing():
    proc = _setup_fn("type write_backports_source >/dev/null && echo sourced")
    assert proc.stdout.strip() == "sourced" and "setup:" not in proc.stderr
