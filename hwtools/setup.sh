#!/usr/bin/env bash
# Set-up for p1reader: system tools (KiCad 9, ngspice, socat, PostgreSQL and Chromium for the bring-up
# database and yield-page tests) and the Python venv.
# Idempotent and quick when done; never asks questions (CI has no stdin).
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=.venv
# Debian's python3 is the one that imports KiCad's pcbnew module; the venv sees it via system site-packages.
SYS_PY=/usr/bin/python3

need_apt=()
kicad_ok() { command -v kicad-cli >/dev/null && kicad-cli version 2>/dev/null | grep -q '^9\.'; }
kicad_ok || need_apt+=(kicad)
command -v ngspice >/dev/null || need_apt+=(ngspice)
command -v socat   >/dev/null || need_apt+=(socat)
# The bring-up results store is tested against a real PostgreSQL (a throw-away cluster, never the
# package's own) and the yield page in a real headless Chromium driven by Debian's chromedriver.
command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ] || need_apt+=(postgresql)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
[ -d /usr/share/kicad/symbols ] && [ -d /usr/share/kicad/footprints ] || need_apt+=(kicad-libs)

if [ ${#need_apt[@]} -gt 0 ]; then
  BACKPORTS=/etc/apt/sources.list.d/bookworm-backports.sources
  cmds=(
    "printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > $BACKPORTS"
    "apt-get update -qq"
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports kicad kicad-symbols kicad-footprints"
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ngspice socat python3-venv postgresql chromium chromium-driver"
  )
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing system tools (${need_apt[*]}). Run as root:" >&2
    printf '  %s\n' "${cmds[@]}" >&2
    exit 1
  fi
  echo "setup: installing system tools (${need_apt[*]}) ..."
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    eval "${cmds[0]}"
  fi
  for c in "${cmds[@]:1}"; do eval "$c" >/dev/null; done
  kicad_ok || { echo "setup: kicad-cli 9 still missing after install" >&2; exit 1; }
fi

# Python environment: recreate only when pyproject.toml changed since the last install.
stamp=$VENV/.installed
if [ ! -f $stamp ] || [ pyproject.toml -nt $stamp ]; then
  [ -x $VENV/bin/python ] || $SYS_PY -m venv --system-site-packages $VENV
  echo "setup: installing Python dependencies into $VENV ..."
  $VENV/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  $VENV/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
  touch $stamp
fi
